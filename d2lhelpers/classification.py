"""Training loops for classifiers from chapter 3: `train_epoch_ch3`, `train_ch3`.

They accept both a `torch.optim` optimiser and the book's from-scratch updater
(a function of the batch size), draw live curves with `Animator`, print one
summary line and return what they measured. They never assert on results.
Introduced in 05_linear_networks.ipynb; reused by 06_mlp.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from ._reporting import Report, accuracy_line, check_loader, loss_sum, no_batches
from .data.fashion_mnist import get_fashion_mnist_labels
from .history import History
from .metrics import Accumulator, accuracy, eval_mode, evaluate_accuracy
from .plotting import show_images

__all__ = ["train_epoch_ch3", "train_ch3", "predict_ch3"]


def train_epoch_ch3(
    net: Callable | nn.Module,
    train_iter: Iterable,
    loss: Callable,
    updater: torch.optim.Optimizer | Callable[[int], None],
) -> tuple[float, float]:
    """Train `net` for one epoch; return (average training loss, training accuracy).

    updater: a `torch.optim.Optimizer` (the loss is averaged, `mean().backward()`),
    or the book's function of the batch size such as `lambda n: sgd(params, lr, n)`
    (the loss is summed, `sum().backward()`, and the updater divides by n).
    X: (batch_size, ...) inputs, y: (batch_size,) labels. A `train_iter` that
    gives no batch is an error (ValueError) rather than a division by zero.
    """
    if isinstance(net, nn.Module):
        net.train()
    metric = Accumulator(3)  # sum of losses, correct predictions, examples
    for X, y in train_iter:
        y_hat = net(X)
        l = loss(y_hat, y)
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.mean().backward()
            updater.step()
        else:
            l.sum().backward()
            updater(X.shape[0])
        metric.add(loss_sum(l.detach(), y.numel()), accuracy(y_hat.detach(), y), y.numel())
    if not metric[2]:
        raise no_batches("train_iter")
    return metric[0] / metric[2], metric[1] / metric[2]


def train_ch3(
    net: Callable | nn.Module,
    train_iter: Iterable,
    test_iter: Iterable,
    loss: Callable,
    num_epochs: int,
    updater: torch.optim.Optimizer | Callable[[int], None],
) -> History:
    """Train a classifier, drawing train loss, train acc and test acc per epoch.

    In quick mode the number of epochs is capped (see `quick_epochs`) and the
    printed line says so. Prints `loss 0.447, train acc 0.848, test acc 0.829`
    and returns a `History` with 'train_loss', 'train_acc' and 'test_acc', one
    value per epoch (its repr is one line, so a cell ending with this call shows
    no list of numbers). num_epochs must be at least 1.
    """
    check_loader(train_iter, "train_iter")
    check_loader(test_iter, "test_iter")
    report = Report(num_epochs, ["train loss", "train acc", "test acc"])
    for epoch in range(report.epochs):
        train_loss, train_acc = train_epoch_ch3(net, train_iter, loss, updater)
        test_acc = evaluate_accuracy(net, test_iter)
        report.record(train_loss=train_loss, train_acc=train_acc, test_acc=test_acc)
        if report.epoch_due(epoch):
            report.plot(epoch + 1, (train_loss, train_acc, test_acc))
    return report.close(accuracy_line(report.history))


def predict_ch3(net: Callable | nn.Module, test_iter: Iterable, n: int = 6) -> None:
    """Show the first `n` test images titled with their true and predicted labels.

    As in the book it returns nothing; the labels are the axes' titles
    (`"true\npredicted"`).
    """
    batch = next(iter(test_iter), None)
    if batch is None:
        raise no_batches("test_iter")
    X, y = batch
    with eval_mode(net):
        preds = get_fashion_mnist_labels(net(X).argmax(dim=1))
    trues = get_fashion_mnist_labels(y)
    titles = [t + "\n" + p for t, p in zip(trues, preds, strict=True)]
    n = min(n, len(X))
    show_images(X[:n].reshape((n, *X.shape[-2:])), 1, n, titles=titles[:n])
