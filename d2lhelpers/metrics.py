"""Counting what a model gets right: accumulators, accuracy, evaluation loops.

Introduced in 05_linear_networks.ipynb (softmax regression); the GPU-aware
evaluation comes with 08_cnn.ipynb.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator

import torch
from torch import nn

__all__ = [
    "Accumulator",
    "accuracy",
    "eval_mode",
    "evaluate_accuracy",
    "evaluate_accuracy_gpu",
    "evaluate_loss",
]


class Accumulator:
    """Sum `n` running totals: `add(a, b, ...)` adds one value to each."""

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"Accumulator needs at least one slot, got n={n}")
        self.data = [0.0] * n

    def add(self, *args: float) -> None:
        if len(args) != len(self.data):
            raise ValueError(f"Accumulator.add expects {len(self.data)} values, got {len(args)}")
        self.data = [a + float(b) for a, b in zip(self.data, args, strict=True)]

    def reset(self) -> None:
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx: int) -> float:
        return self.data[idx]

    def __len__(self) -> int:
        return len(self.data)


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """Number of correct predictions (a count, not a fraction).

    y_hat: (batch_size, num_classes) scores, or (batch_size,) predicted labels.
    y: (batch_size,) true labels.
    """
    if y_hat.dim() > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


@contextlib.contextmanager
def eval_mode(net: Callable | nn.Module) -> Iterator[None]:
    """Run the block in eval mode without gradients, then restore every module's mode.

    Each submodule gets back its own mode, so a part the user froze in eval mode
    (a BatchNorm while fine-tuning) stays in eval mode. `net` may be a plain
    function (from-scratch models), which has no mode.
    """
    modes = [(m, m.training) for m in net.modules()] if isinstance(net, nn.Module) else []
    if isinstance(net, nn.Module):
        net.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, training in modes:
            m.training = training


def _mean(metric: Accumulator) -> float:
    """metric[0] / metric[1]; no example at all is an error, not an accuracy or a loss of 0."""
    if not metric[1]:
        raise ValueError(
            "data_iter gave no batches; check the data loader (is the data set empty, or "
            "smaller than one batch?), or a one-shot iterator (a generator, iter(loader)) is "
            "used up after one pass; pass the loader itself or a list of batches"
        )
    return metric[0] / metric[1]


def evaluate_accuracy(net: Callable | nn.Module, data_iter: Iterable) -> float:
    """Accuracy of `net` over `data_iter`, in eval mode and without gradients.

    `net` may be a plain function (the from-scratch models) or an `nn.Module`,
    whose previous train/eval mode is restored afterwards.
    A `data_iter` that gives no example is an error (ValueError), not an accuracy of 0.
    """
    metric = Accumulator(2)  # correct predictions, predictions
    with eval_mode(net):
        for X, y in data_iter:
            metric.add(accuracy(net(X), y), y.numel())
    return _mean(metric)


def evaluate_accuracy_gpu(
    net: Callable | nn.Module, data_iter: Iterable, device: torch.device | str | None = None
) -> float:
    """Accuracy of `net` over `data_iter`, computed on `device`.

    device: where to compute; by default the device of the net's first parameter.
    Restores the net's previous train/eval mode. Introduced in 08_cnn.ipynb.
    """
    if device is None:
        params = list(net.parameters()) if isinstance(net, nn.Module) else []
        device = params[0].device if params else torch.device("cpu")
    metric = Accumulator(2)  # correct predictions, predictions
    with eval_mode(net):
        for X, y in data_iter:
            if isinstance(X, list):  # BERT-style inputs
                X = [x.to(device) for x in X]
            else:
                X = X.to(device)
            y = y.to(device)
            metric.add(accuracy(net(X), y), y.numel())
    return _mean(metric)


def evaluate_loss(net: Callable | nn.Module, data_iter: Iterable, loss: Callable) -> float:
    """Average loss of `net` over `data_iter`, in eval mode and without gradients.

    `loss` must return per-example losses (`reduction='none'`); y is reshaped to
    the output's shape, as the book's regression models need.
    """
    metric = Accumulator(2)  # sum of losses, number of examples
    with eval_mode(net):
        for X, y in data_iter:
            out = net(X)
            l = loss(out, y.reshape(out.shape))
            metric.add(float(l.sum()), l.numel())
    return _mean(metric)
