"""The channels-last memory layout of `train_ch6`: used where it is known to work and to pay.

A batch of images (batch_size, channels, height, width) is usually stored row
by row of each channel (NCHW). Stored channels-last (NHWC: the channels of a
pixel side by side), the same tensor has the same values and shape, and the
CPU's convolutions run faster on it. `train_ch6(channels_last=None)` uses it
on the CPU when both of these hold, decided without running any step twice,
without copying the net and without catching any error:

1. It pays for this net (`channels_last_pays`): the net has an `nn.Conv2d`, and
   either no batch norm or a convolution with more than 16 output channels.
   Batch norm runs slower channels-last on the CPU; in a net as small as the
   book's BN-LeNet (6 and 16 channels) that outweighs what the convolutions
   gain (a step 1.2x to 2.4x slower on a 2-core machine), in ResNet and
   DenseNet it does not. `benchmarks/bench_layout.py` checks this rule on every
   net of 08_cnn.ipynb and 09_modern_cnn.ipynb.
2. The net's forward does not depend on the layout (`LayoutWatch`): the first
   two training steps run in the usual layout, the second while every call
   whose result depends on the layout is noted (`.view`, which fails on a
   channels-last conv output, `.stride()`, `.data_ptr()`, ...). A net whose
   forward made none goes channels-last from the third step on; any other net
   keeps the usual layout. The first step is not watched, so a learner's error
   (the commonest: an `nn.Linear` with the wrong `in_features`) is raised from
   the plain step, exactly as without this option.

Internal module of `train_cnn.py`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

#: Tensor methods whose result depends on the memory layout, not only on the values.
LAYOUT_DEPENDENT = frozenset(
    {
        torch.Tensor.view,  # a channels-last conv output cannot be viewed as (batch_size, -1)
        torch.Tensor.view_as,
        torch.Tensor.as_strided,
        torch.Tensor.stride,
        torch.Tensor.is_contiguous,
        torch.Tensor.data_ptr,
        torch.Tensor.storage,
        torch.Tensor.untyped_storage,
        torch.Tensor.set_,
    }
)

#: The most output channels of the convolutions of a batch-norm net that stays in the usual layout.
SMALL_CONV_CHANNELS = 16


def _is_batch_norm(m: nn.Module) -> bool:
    # torch's BatchNorm1d/2d/3d, and a from-scratch one named as in the book (`BatchNorm`)
    return isinstance(m, nn.modules.batchnorm._BatchNorm) or "BatchNorm" in type(m).__name__


def channels_last_pays(net: nn.Module) -> bool:
    """Is a CPU training step of `net` faster channels-last? The rule bench_layout.py checks.

    True for a net with an `nn.Conv2d` and no batch norm (LeNet, AlexNet, VGG,
    NiN, GoogLeNet) or with a convolution of more than 16 output channels
    (ResNet, DenseNet); False for BN-LeNet and for nets without convolutions.
    """
    convs = [m.out_channels for m in net.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        return False
    has_batch_norm = any(_is_batch_norm(m) for m in net.modules())
    return not has_batch_norm or max(convs) > SMALL_CONV_CHANNELS


class LayoutWatch(TorchFunctionMode):
    """While active, notes the layout-dependent calls (`LAYOUT_DEPENDENT`) torch functions see.

    It only watches: every call runs as it would without it, errors included.
    """

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        if func in LAYOUT_DEPENDENT:
            self.seen.append(func.__name__)
        return func(*args, **(kwargs or {}))


class ChannelsLast:
    """`train_ch6`'s layout: `layout(X)` gives X in the layout the net runs in now.

    choice: True (channels-last from the first step), False (never), or None:
    on the CPU for a net where it pays, from the third step on if the second
    step's forward, run in the usual layout inside `watch()`, made no
    layout-dependent call. `restore()` gives the net back in the usual layout.
    """

    def __init__(self, net: nn.Module, device: torch.device, choice: bool | None) -> None:
        self.net = net
        self.on = False  # weights (and from now on inputs) channels-last
        self.steps = 0
        self._watch: LayoutWatch | None = None
        if choice:
            self._switch()
        elif choice is None and device.type == "cpu" and channels_last_pays(net):
            self._watch = LayoutWatch()

    def __call__(self, X: torch.Tensor) -> torch.Tensor:
        if self.on and X.dim() == 4:
            return X.contiguous(memory_format=torch.channels_last)  # (B, C, H, W), NHWC in memory
        return X

    def watch(self) -> contextlib.AbstractContextManager:
        """Around the forward pass: on the second step (choice None), note layout-dependent calls."""
        if self._watch is None or self.steps != 1:
            return contextlib.nullcontext()
        return self._watch

    def step_done(self) -> None:
        """After a training step: the second one decides (choice None)."""
        self.steps += 1
        if self._watch is not None and self.steps == 2:
            if not self._watch.seen:
                self._switch()
            self._watch = None

    def _switch(self) -> None:
        self.net.to(memory_format=torch.channels_last)  # the same Parameter objects, new strides
        self.on = True

    def restore(self) -> None:
        if self.on:
            self.net.to(memory_format=torch.contiguous_format)
            self.on = False
