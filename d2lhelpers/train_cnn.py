"""Training on an accelerator: `train_ch6` (chapter 6, convolutional networks).

Introduced in 08_cnn.ipynb; reused by 09_modern_cnn.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import cast

import torch
from torch import nn

from ._layout import ChannelsLast
from ._reporting import Report, accuracy_line, check_loader
from .activations import checkpointed_forward
from .history import History
from .metrics import Accumulator, accuracy, evaluate_accuracy_gpu
from .quick import is_quick

__all__ = ["train_ch6"]

_ESTIMATE_AFTER = 10  # batches timed for the full-mode CPU estimate (after one warm-up batch)

Scheduler = Callable[[torch.optim.Optimizer], object]


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
    scheduler: Scheduler | None = None,
) -> History:
    """Train a classifier on `device` with SGD and cross-entropy, as the book does.

    As in the book, the weights of every `nn.Linear` and `nn.Conv2d` are first
    re-initialised with Xavier-uniform (biases keep PyTorch's default). Prints
    `training on cpu`, draws train loss/acc five times per epoch and test acc per
    epoch (one point per plotted epoch in runs of 20 epochs or more), then prints
    `loss 0.470, train acc 0.823, test acc 0.772` and `N examples/sec on cpu`,
    where N counts the time of the training steps (as the book does; evaluation,
    plotting and data loading are not in it). In full mode on a CPU it first
    prints a time estimate measured on the first batches; in quick mode the
    epochs are capped and the first closing line says so.

    Options that change how a step runs, not what it computes (see
    `d2lhelpers.activations` and 09_modern_cnn.ipynb for choosing them):
    gradient_accumulation_steps: run each batch as this many micro-batches and
        step once on their summed gradients (less memory; with BatchNorm the step
        changes, and a note says so); evaluation then runs on the same parts.
    checkpoint_activations: for an `nn.Sequential` net, keep only each block's
        input and recompute its activations in the backward pass (less memory,
        slower, the same step for every net).
    channels_last: store images and weights channels-last, which the CPU's
        convolutions run faster on, with the same values. True or False forces
        it; None (default) uses it on the CPU where it is known to work and to
        pay: for nets with `nn.Conv2d` and no batch norm or a convolution of more
        than 16 channels (not BN-LeNet, where it is slower), from the third step
        on, if the second step's forward made no call that depends on the layout
        (such as `.view` of a conv output). The net is handed back in the usual
        layout. See `d2lhelpers/_layout.py`.

    An option that changes what is computed (off by default, as in the book):
    scheduler: called once with the SGD optimizer, returns a learning-rate scheduler
        whose `step()` runs after each epoch, e.g.
        `lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, num_epochs)`
        lowers the rate from `lr` towards 0 along a cosine over the epochs.

    Errors in the net (a layer of the wrong size, say) are raised as they are.
    Gradients are freed at the end. Returns a `History` with per-epoch
    'train_loss', 'train_acc', 'test_acc', and 'examples_per_sec' (training steps),
    'seconds' (training steps), 'wall_time' (seconds, all included) and 'device'.
    """
    k = gradient_accumulation_steps
    _check_options(net, train_iter, k, checkpoint_activations, scheduler)
    check_loader(test_iter, "test_iter")
    device = torch.device(device)
    report = Report(num_epochs, ["train loss", "train acc", "test acc"], device=device)
    net.apply(_xavier)
    print("training on", device)
    _note_batch_norm(net, k)
    net.to(device)
    layout = ChannelsLast(net, device, channels_last)
    forward = (lambda X: checkpointed_forward(net, X)) if checkpoint_activations else net
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    lr_scheduler = scheduler(optimizer) if scheduler is not None else None
    _check_scheduler(lr_scheduler)
    loss = nn.CrossEntropyLoss()
    num_batches = len(train_iter)  # type: ignore[arg-type]  # checked by _check_options
    estimate_at = min(_ESTIMATE_AFTER, num_batches - 1)  # full mode on a CPU: from batches 1..
    estimate = device.type == "cpu" and not is_quick() and estimate_at > 0
    try:
        for epoch in range(report.epochs):
            metric = Accumulator(3)  # sum of losses, correct predictions, examples
            net.train()
            for i, (X, y) in enumerate(train_iter):
                report.timer.start()
                optimizer.zero_grad()
                X, y = layout(X.to(device)), y.to(device)
                for X_k, y_k in _micro_batches(X, y, k):  # one (X, y) unless accumulating
                    with layout.watch():
                        y_hat = forward(X_k)
                    l = loss(y_hat, y_k) * (len(X_k) / len(X))  # micro-batch's share of the mean
                    l.backward()
                    metric.add(l.item() * len(X), accuracy(y_hat, y_k), len(X_k))
                optimizer.step()
                layout.step_done()
                report.timer.stop()
                train_l, train_acc = metric[0] / metric[2], metric[1] / metric[2]
                if report.batch_due(epoch, i, num_batches):
                    report.plot(epoch + (i + 1) / num_batches, (train_l, train_acc, None))
                if estimate and epoch == 0 and i == estimate_at:
                    _print_estimate(report.timer.times[1:], num_batches, report.epochs)
            report.trained_on(metric[2], epoch)
            test_acc = evaluate_accuracy_gpu(net, _Split(test_iter, k), device)
            report.record(train_loss=train_l, train_acc=train_acc, test_acc=test_acc)
            if report.epoch_due(epoch):
                report.plot(epoch + 1, (None, None, test_acc))
            if lr_scheduler is not None:
                lr_scheduler.step()  # type: ignore[attr-defined]  # checked by _check_scheduler
    finally:
        for p in net.parameters():
            p.grad = None  # a finished model need not keep a second copy of its weights' size
        layout.restore()
    throughput = report.finish("examples", str(device))
    return report.close(accuracy_line(report.history), throughput)


def _xavier(m: nn.Module) -> None:
    if type(m) in (nn.Linear, nn.Conv2d):  # exactly these types, as in the book
        nn.init.xavier_uniform_(cast(torch.Tensor, m.weight))


def _micro_batches(
    X: torch.Tensor, y: torch.Tensor, k: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Split a batch into k micro-batches (fewer when the batch has fewer than k examples)."""
    if k == 1:
        yield X, y
        return
    for X_k, y_k in zip(X.tensor_split(k), y.tensor_split(k), strict=True):
        if len(X_k):
            yield X_k, y_k


class _Split:
    """`data_iter` with each batch split into k parts (re-iterable, for evaluation)."""

    def __init__(self, data_iter: Iterable, k: int) -> None:
        self.data_iter, self.k = data_iter, k

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for X, y in self.data_iter:
            yield from _micro_batches(X, y, self.k)


def _check_options(
    net: nn.Module,
    train_iter: Iterable,
    k: int,
    checkpoint_activations: bool,
    scheduler: Scheduler | None,
) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"gradient_accumulation_steps must be a whole number >= 1, got {k!r}")
    if checkpoint_activations and not isinstance(net, nn.Sequential):
        raise TypeError(
            f"checkpoint_activations=True needs an nn.Sequential net, got {type(net).__name__}"
        )
    if scheduler is not None and not callable(scheduler):
        raise TypeError(
            "scheduler must be a function of the optimizer, e.g. "
            "lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, num_epochs); "
            f"got {type(scheduler).__name__}"
        )
    check_loader(train_iter, "train_iter", sized=True)


def _check_scheduler(made: object) -> None:
    if made is not None and not callable(getattr(made, "step", None)):
        raise TypeError(
            f"scheduler(optimizer) must return an object with a step() method "
            f"(a torch.optim.lr_scheduler), got {type(made).__name__}"
        )


def _note_batch_norm(net: nn.Module, k: int) -> None:
    if k > 1 and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules()):
        print(
            f"note: with BatchNorm, each of the {k} micro-batches is normalised with its own "
            "statistics, so the step differs from the whole batch's; "
            "checkpoint_activations=True saves memory without changing the step"
        )


def _print_estimate(times: list[float], num_batches: int, epochs: int) -> None:
    per_batch = sum(times) / len(times)
    minutes = per_batch * num_batches * epochs * 1.1 / 60  # +10% for evaluation
    print(
        f"estimated training time on cpu: roughly {minutes:.1f} min for {epochs} epochs "
        f"({per_batch:.2f} s per batch, from the first batches; other busy programs "
        f"slow it down); set D2L_QUICK=1 or use a GPU to go faster"
    )
