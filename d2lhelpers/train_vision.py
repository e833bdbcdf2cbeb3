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

from ._trainer import epoch_animator, finish, loss_sum, new_history, record
from .devices import try_all_gpus
from .history import History
from .metrics import Accumulator, accuracy, evaluate_accuracy_gpu
from .quick import quick_epochs
from .timing import Timer

__all__ = ["train_batch_ch13", "train_ch13"]


def _to(X: torch.Tensor | list[torch.Tensor], device: torch.device):
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
    Draws train loss/acc five times per epoch (once per epoch for more than 10
    epochs) and test acc per epoch, prints
    `loss 0.173, train acc 0.941, test acc 0.854` and `N examples/sec on cpu`,
    where N counts the time of the training steps only, as the book does.
    Returns a `History` with per-epoch 'train_loss', 'train_acc', 'test_acc',
    and 'examples_per_sec', 'wall_time' (seconds, all included) and 'device'.
    """
    devices = [torch.device(d) for d in (try_all_gpus() if devices is None else devices)]
    if not devices:
        raise ValueError("devices is empty; pass e.g. [torch.device('cpu')]")
    if len(train_iter) == 0:
        raise ValueError("train_iter has no batches; check the data loader")
    epochs = quick_epochs(num_epochs)
    model = _place(net, devices)
    animator = epoch_animator(epochs)
    history = new_history()
    timer, wall, num_batches, num_examples = Timer(), Timer(), len(train_iter), 0
    # the book's five points per epoch; one per epoch for long runs, so the plot stays cheap
    every = max(1, num_batches // 5) if epochs <= 10 else num_batches
    wall.start()
    for epoch in range(epochs):
        # sum of losses, correct predictions, examples, predictions
        metric = Accumulator(4)
        for i, (features, labels) in enumerate(train_iter):
            timer.start()
            l, acc = train_batch_ch13(model, features, labels, loss, trainer, devices)
            metric.add(l, acc, labels.shape[0], labels.numel())
            timer.stop()
            if (i + 1) % every == 0 or i == num_batches - 1:
                animator.add(
                    epoch + (i + 1) / num_batches,
                    (metric[0] / metric[2], metric[1] / metric[3], None),
                )
        test_acc = evaluate_accuracy_gpu(model, test_iter, devices[0])
        animator.add(epoch + 1, (None, None, test_acc))
        record(history, metric[0] / metric[2], metric[1] / metric[3], test_acc)
        num_examples += metric[2]
    finish(history, num_epochs, num_examples, timer, wall, ", ".join(str(d) for d in devices))
    return history
