"""Training with any loss and optimizer on one or more devices: `train_ch13` (computer vision).

Unlike `train_ch6`, the caller chooses the loss and the optimizer (`trainer`) and
the weights are not re-initialised, so a fine-tuned model keeps what it copied.
The devices are chosen when the function is called (the book's default argument
probed the GPUs at import), and `nn.DataParallel` wraps the net only when there is
more than one GPU. Introduced in 13_computer_vision.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import torch
from torch import nn

from ._reporting import Report, accuracy_line, check_loader, loss_sum
from .devices import try_all_gpus
from .history import History
from .metrics import Accumulator, accuracy, evaluate_accuracy_gpu

__all__ = ["train_batch_ch13", "train_ch13"]


def _to(
    X: torch.Tensor | list[torch.Tensor], device: torch.device
) -> torch.Tensor | list[torch.Tensor]:
    return [x.to(device) for x in X] if isinstance(X, list) else X.to(device)


def train_batch_ch13(
    net: nn.Module,
    X: torch.Tensor | list[torch.Tensor],
    y: torch.Tensor,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    trainer: torch.optim.Optimizer,
    devices: Sequence[torch.device | str],
) -> tuple[float, float]:
    """One optimisation step on the minibatch X (batch_size, ...) or a list of inputs, y (batch_size,).

    Puts the net in training mode (a submodule that overrides `train` to stay in
    eval mode, such as frozen features, stays so), back-propagates the *sum* of
    the per-example losses as the book does (pass `reduction='none'`), and returns
    (sum of the batch's losses, number of correct predictions).
    """
    device = torch.device(devices[0])
    X, y = _to(X, device), y.to(device)
    net.train()
    trainer.zero_grad()
    pred = net(X)
    l = loss(pred, y)
    l.sum().backward()
    trainer.step()
    # a loss with reduction='mean' returns one number: scale it to a sum for the report
    return loss_sum(l.detach(), y.shape[0]), accuracy(pred.detach(), y)


def _place(net: nn.Module, devices: list[torch.device]) -> nn.Module:
    """The net on devices[0], wrapped in nn.DataParallel only for several CUDA GPUs."""
    if len(devices) > 1 and all(d.type == "cuda" for d in devices):
        return nn.DataParallel(net, device_ids=devices).to(devices[0])
    return net.to(devices[0])


def train_ch13(
    net: nn.Module,
    train_iter: Iterable,
    test_iter: Iterable,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    trainer: torch.optim.Optimizer,
    num_epochs: int,
    devices: Sequence[torch.device | str] | None = None,
) -> History:
    """Train `net` with `loss` and `trainer` for `num_epochs` (capped in quick mode).

    Batches are X: (batch_size, ...) and y: (batch_size,). devices: a list of
    devices, by default `d2l.try_all_gpus()` evaluated now (the CPU when there is
    no accelerator); with several GPUs the batch is split by `nn.DataParallel`.
    Draws train loss/acc five times per epoch and test acc per epoch (one point
    per plotted epoch in runs of 20 epochs or more), prints
    `loss 0.173, train acc 0.941, test acc 0.854` and `N examples/sec on cpu`,
    where N counts the time of the training steps only, as the book does.
    Returns a `History` with per-epoch 'train_loss', 'train_acc', 'test_acc',
    and 'examples_per_sec', 'seconds' (training steps), 'wall_time' (seconds,
    all included) and 'device'.
    """
    devs = [torch.device(d) for d in (try_all_gpus() if devices is None else devices)]
    if not devs:
        raise ValueError("devices is empty; pass e.g. [torch.device('cpu')]")
    check_loader(train_iter, "train_iter", sized=True)
    check_loader(test_iter, "test_iter")
    report = Report(num_epochs, ["train loss", "train acc", "test acc"], device=devs)
    model = _place(net, devs)
    num_batches = len(train_iter)  # type: ignore[arg-type]
    for epoch in range(report.epochs):
        metric = Accumulator(4)  # sum of losses, correct predictions, examples, predictions
        for i, (features, labels) in enumerate(train_iter):
            report.timer.start()
            l, acc = train_batch_ch13(model, features, labels, loss, trainer, devs)
            metric.add(l, acc, labels.shape[0], labels.numel())
            report.timer.stop()
            train_l, train_acc = metric[0] / metric[2], metric[1] / metric[3]
            if report.batch_due(epoch, i, num_batches):
                report.plot(epoch + (i + 1) / num_batches, (train_l, train_acc, None))
        report.trained_on(metric[2], epoch)
        test_acc = evaluate_accuracy_gpu(model, test_iter, devs[0])
        report.record(train_loss=train_l, train_acc=train_acc, test_acc=test_acc)
        if report.epoch_due(epoch):
            report.plot(epoch + 1, (None, None, test_acc))
    throughput = report.finish("examples", ", ".join(str(d) for d in devs))
    return report.close(accuracy_line(report.history), throughput)
