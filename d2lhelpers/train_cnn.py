"""Training on an accelerator: `train_ch6` (chapter 6, convolutional networks).

Introduced in 08_cnn.ipynb; reused by 09_modern_cnn.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch
from torch import nn

from ._trainer import epoch_animator, finish, new_history, record
from .activations import checkpointed_forward
from .history import History
from .metrics import Accumulator, accuracy, evaluate_accuracy_gpu
from .quick import is_quick, quick_epochs
from .timing import Timer

__all__ = ["train_ch6"]

_ESTIMATE_AFTER = 10  # batches timed for the full-mode CPU estimate (after one warm-up batch)


def _xavier(m: nn.Module) -> None:
    if type(m) in (nn.Linear, nn.Conv2d):
        nn.init.xavier_uniform_(m.weight)


def _micro_batches(X: torch.Tensor, y: torch.Tensor, k: int) -> Iterator[tuple]:
    """Split a batch into k micro-batches (fewer when the batch has fewer than k examples)."""
    for X_k, y_k in zip(X.tensor_split(k), y.tensor_split(k), strict=True):
        if len(X_k):
            yield X_k, y_k


class _Split:
    """`data_iter` with each batch split into k parts (re-iterable, for evaluation)."""

    def __init__(self, data_iter: Iterable, k: int) -> None:
        self.data_iter, self.k = data_iter, k

    def __iter__(self) -> Iterator[tuple]:
        for X, y in self.data_iter:
            yield from _micro_batches(X, y, self.k)


def _check_options(
    net: nn.Module, train_iter: Iterable, k: int, checkpoint_activations: bool
) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"gradient_accumulation_steps must be a whole number >= 1, got {k!r}")
    if checkpoint_activations and not isinstance(net, nn.Sequential):
        raise TypeError(
            f"checkpoint_activations=True needs an nn.Sequential net, got {type(net).__name__}"
        )
    if len(train_iter) == 0:
        raise ValueError("train_iter has no batches; check the data loader")


def _note_batch_norm(net: nn.Module, k: int) -> None:
    if k > 1 and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules()):
        print(
            f"note: with BatchNorm, each of the {k} micro-batches is normalised with its own "
            "statistics, so the step differs from the whole batch's; "
            "checkpoint_activations=True saves memory without changing the step"
        )


def train_ch6(
    net: nn.Module,
    train_iter: Iterable,
    test_iter: Iterable,
    num_epochs: int,
    lr: float,
    device: torch.device | str,
    *,
    gradient_accumulation_steps: int = 1,
    checkpoint_activations: bool = False,
    channels_last: bool | None = None,
    scheduler: Callable[[torch.optim.Optimizer], object] | None = None,
) -> History:
    """Train a classifier on `device` with SGD and cross-entropy, as the book does.

    As in the book, the weights of every `nn.Linear` and `nn.Conv2d` are first
    re-initialised with Xavier-uniform (biases keep PyTorch's default). Prints
    `training on cpu`, draws train loss/acc five times per epoch and test acc per
    epoch, then prints `loss 0.470, train acc 0.823, test acc 0.772` and
    `N examples/sec on cpu`, where N counts the time of the training steps (as the
    book does; evaluation, plotting and data loading are not in it). In full mode
    on a CPU it first prints a time estimate measured on the first batches; in
    quick mode the epochs are capped.

    Options that change how a step runs, not what it computes (see
    `d2lhelpers.activations` and 09_modern_cnn.ipynb for choosing them):
    gradient_accumulation_steps: run each batch as this many micro-batches and
        step once on their summed gradients (less memory; with BatchNorm the step
        changes, and a note says so); evaluation then runs on the same parts.
    checkpoint_activations: for an `nn.Sequential` net, keep only each block's
        input and recompute its activations in the backward pass (less memory,
        slower, the same step for every net).
    channels_last: train conv nets in the channels-last memory layout, faster on
        the CPU with the same values. None (default): on the CPU for nets with
        `nn.Conv2d`; if the net's forward rejects that layout on the first step
        (e.g. a `.view` of a conv output), training goes on in the usual layout
        and one line says so. The net is handed back in the usual layout.

    An option that changes what is computed (off by default, as in the book):
    scheduler: called once with the SGD optimizer, returns a learning-rate scheduler
        whose `step()` runs after each epoch, e.g.
        `lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, num_epochs)`
        lowers the rate from `lr` towards 0 along a cosine over the epochs.

    Gradients are freed at the end. Returns a `History` with per-epoch
    'train_loss', 'train_acc', 'test_acc', and 'examples_per_sec' (training steps),
    'wall_time' (seconds, all included) and 'device'.
    """
    k = gradient_accumulation_steps
    _check_options(net, train_iter, k, checkpoint_activations)
    epochs = quick_epochs(num_epochs)
    device = torch.device(device)
    net.apply(_xavier)
    print("training on", device)
    _note_batch_norm(net, k)
    net.to(device)
    try_layout = channels_last is None
    if try_layout:
        channels_last = device.type == "cpu" and any(
            isinstance(m, nn.Conv2d) for m in net.modules()
        )
    if channels_last:
        net.to(memory_format=torch.channels_last)
    forward = (lambda X: checkpointed_forward(net, X)) if checkpoint_activations else net
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    lr_scheduler = _make_scheduler(scheduler, optimizer)
    loss = nn.CrossEntropyLoss()
    animator = epoch_animator(epochs)
    history = new_history()
    timer, wall, num_batches, num_examples = Timer(), Timer(), len(train_iter), 0
    wall.start()
    # full mode on a CPU: estimate the total time from batches 1..estimate_at
    estimate_at = min(_ESTIMATE_AFTER, num_batches - 1)
    estimate = device.type == "cpu" and not is_quick() and estimate_at > 0
    try:
        for epoch in range(epochs):
            metric = Accumulator(3)  # sum of losses, correct predictions, examples
            net.train()
            for i, (X, y) in enumerate(train_iter):
                timer.start()
                X, y = X.to(device), y.to(device)
                first = epoch == 0 and i == 0
                state = _snapshot(net) if first and try_layout and channels_last else None
                optimizer.zero_grad()
                try:
                    y_hat, l = _step(forward, loss, X, y, k, channels_last)
                except RuntimeError as e:
                    if state is None:
                        raise
                    channels_last = _drop_channels_last(net, state, e)
                    optimizer.zero_grad()
                    y_hat, l = _step(forward, loss, X, y, k, channels_last)
                optimizer.step()
                metric.add(l * X.shape[0], accuracy(y_hat, y), X.shape[0])
                timer.stop()
                train_l, train_acc = metric[0] / metric[2], metric[1] / metric[2]
                if (i + 1) % max(1, num_batches // 5) == 0 or i == num_batches - 1:
                    animator.add(epoch + (i + 1) / num_batches, (train_l, train_acc, None))
                if epoch == 0 and i == estimate_at and estimate:
                    _print_estimate(sum(timer.times[1:]) / estimate_at, num_batches, epochs)
            test_acc = evaluate_accuracy_gpu(net, _Split(test_iter, k), device)
            num_examples += metric[2]
            animator.add(epoch + 1, (None, None, test_acc))
            record(history, train_l, train_acc, test_acc)
            if lr_scheduler is not None:
                lr_scheduler.step()
    finally:
        for p in net.parameters():
            p.grad = None  # a finished model need not keep a second copy of its weights' size
        if channels_last:
            net.to(memory_format=torch.contiguous_format)
    finish(history, num_epochs, num_examples, timer, wall, str(device))
    return history


def _make_scheduler(scheduler, optimizer: torch.optim.Optimizer):
    if scheduler is None:
        return None
    if not callable(scheduler):
        raise TypeError(
            "scheduler must be a function of the optimizer, e.g. "
            "lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, num_epochs); "
            f"got {type(scheduler).__name__}"
        )
    made = scheduler(optimizer)
    if not callable(getattr(made, "step", None)):
        raise TypeError(
            f"scheduler(optimizer) must return an object with a step() method "
            f"(a torch.optim.lr_scheduler), got {type(made).__name__}"
        )
    return made


def _step(forward, loss, X, y, k: int, channels_last: bool) -> tuple[torch.Tensor, float]:
    """Forward and backward on the batch X (B, ...) as k micro-batches; returns y_hat (B, q)
    and the batch's mean loss. Micro-batch j's mean loss is weighted by B_j / B, so the
    gradients add up to the gradient of the batch's mean loss."""
    if channels_last and X.dim() == 4:
        X = X.contiguous(memory_format=torch.channels_last)  # (B, C, H, W), NHWC in memory
    y_hats, total = [], 0.0
    for X_j, y_j in _micro_batches(X, y, k):
        y_hat_j = forward(X_j)
        l = loss(y_hat_j, y_j) * (X_j.shape[0] / X.shape[0])
        l.backward()
        y_hats.append(y_hat_j.detach())
        total += float(l.detach())
    return torch.cat(y_hats) if len(y_hats) > 1 else y_hats[0], total


def _snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in net.state_dict().items()}


def _drop_channels_last(net: nn.Module, state: dict, error: RuntimeError) -> bool:
    """The forward pass rejected channels-last: restore the net and go on without it."""
    net.to(memory_format=torch.contiguous_format)
    net.load_state_dict(state)  # undo running statistics the failed pass may have updated
    reason = str(error).strip().splitlines()[0][:120]
    print(
        f"channels-last layout dropped: the net's forward rejected it ({reason}); "
        "training in the usual layout"
    )
    return False


def _print_estimate(per_batch: float, num_batches: int, epochs: int) -> None:
    minutes = per_batch * num_batches * epochs * 1.1 / 60  # +10% for evaluation
    print(
        f"estimated training time on cpu: roughly {minutes:.1f} min for {epochs} epochs "
        f"({per_batch:.2f} s per batch, from the first batches; other busy programs "
        f"slow it down); set D2L_QUICK=1 or use a GPU to go faster"
    )
