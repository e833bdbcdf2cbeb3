"""What one training step keeps for the backward pass, and keeping less of it.

At the book's settings one SGD step keeps a lot of activations: VGG-11/4 on a
batch of 128 images of 224x224 keeps about 1.5 GB, DenseNet on 256 images of
96x96 about 1.4 GB. `saved_activation_bytes` measures it. Two remedies, both
options of `train_ch6` that a learner turns on explicitly:

- `gradient_accumulation_steps=k`: the batch runs as k micro-batches whose
  gradients add up to the batch's gradient. The same step for nets whose
  examples do not interact (no BatchNorm); dropout draws its masks per micro-batch.
- `checkpoint_activations=True` (`checkpointed_forward`): each block of an
  `nn.Sequential` keeps only its input and recomputes its activations during the
  backward pass. The same step for any net, BatchNorm included; slower.

Introduced in 09_modern_cnn.ipynb.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

__all__ = ["saved_activation_bytes", "checkpointed_forward"]


def _params_storages(net: nn.Module) -> set[int]:
    return {p.untyped_storage().data_ptr() for p in net.parameters()}


def saved_activation_bytes(net: nn.Module, X: torch.Tensor) -> int:
    """Bytes that autograd keeps for the backward pass of `net(X)` in training mode.

    X: (batch_size, ...) inputs. Counts each distinct storage that a forward pass
    saves for the backward pass, except the parameters; multiply by
    `full_batch / X.shape[0]` to estimate a larger batch. A backward pass needs
    about as much again for the activations' gradients. Runs a copy of `net`, so
    neither the net (running statistics) nor the CPU's random generator changes.
    """
    X = X.detach().clone()  # a slice of a batch would otherwise count the whole batch's storage
    with torch.random.fork_rng(devices=[]):
        net_copy = copy.deepcopy(net).train()
        params = _params_storages(net_copy)
        saved: dict[int, int] = {}

        def pack(t: torch.Tensor) -> torch.Tensor:
            storage = t.untyped_storage()
            if storage.data_ptr() not in params:
                saved[storage.data_ptr()] = storage.nbytes()
            # detached: an output saved by its own node would otherwise keep a cycle
            # through autograd's graph alive after this function returns
            return t.detach()

        with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            net_copy(X)
    return sum(saved.values())


def _state_tensors(block: nn.Module) -> list[tuple[nn.Module, str, torch.Tensor]]:
    """Buffers and plain tensor attributes (the book's from-scratch BatchNorm keeps its
    moving statistics as attributes) of every module in `block`."""
    found = []
    for m in block.modules():
        for k, v in list(vars(m).items()) + list(m._buffers.items()):
            if isinstance(v, torch.Tensor):
                found.append((m, k, v))
    return found


@contextlib.contextmanager
def _keep_state(block: nn.Module) -> Iterator[None]:
    """Undo what a recomputed forward pass does to running statistics."""
    saved = [(m, k, v, v.detach().clone()) for m, k, v in _state_tensors(block)]
    try:
        yield
    finally:
        with torch.no_grad():
            for m, k, v, value in saved:
                setattr(m, k, v)  # an attribute the forward pass replaced
                v.copy_(value)  # a buffer it updated in place


def checkpointed_forward(net: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """`net(X)` where each block of `net` keeps only its input for the backward pass.

    net: an `nn.Sequential`; its blocks run in order (a block listed twice runs
    twice, as in `net(X)`). During the backward pass each block runs its forward
    pass again (`torch.utils.checkpoint`, with the same dropout masks) to get the
    activations it did not keep; running statistics are left as the first pass
    left them, so a BatchNorm net takes the same step as without checkpointing.
    Outside training (no gradient needed) it is plain `net(X)`.
    """
    if not isinstance(net, nn.Sequential):
        raise TypeError(
            f"checkpoint_activations needs an nn.Sequential net (its blocks are checkpointed "
            f"one by one), got {type(net).__name__}; wrap the blocks in nn.Sequential or "
            f"train without checkpoint_activations"
        )
    if not torch.is_grad_enabled():
        return net(X)
    for block in net:  # iterating a Sequential does not skip a block that appears twice
        X = checkpoint(block, X, use_reentrant=False, context_fn=_contexts(block))
    return X


def _contexts(
    block: nn.Module,
) -> Callable[[], tuple[contextlib.AbstractContextManager, contextlib.AbstractContextManager]]:
    """checkpoint's context_fn: nothing around the forward pass, `_keep_state` around its rerun."""
    return lambda: (contextlib.nullcontext(), _keep_state(block))
