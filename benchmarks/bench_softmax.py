"""Concise softmax regression (batch 256, lr 0.1, 10 epochs): d2lhelpers against the book.

The baseline trains the same model with the book's pipeline (torchvision
`FashionMNIST` + `ToTensor` + `DataLoader(num_workers=4)`) and a d2l-style epoch
loop; both runs use the same real data in the same process. Prints the wall
times, their ratio and both test accuracies (book: 0.828).
Goal on a 2-core machine: >= 10x faster, test accuracy within 0.01 of 0.828.
"""

from __future__ import annotations

import argparse

import torch
from _common import d2l_loaders, machine, timed, torchvision_root
from torch import nn

import d2lhelpers as d2l


def make_net() -> nn.Sequential:
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    nn.init.normal_(net[1].weight, std=0.01)
    return net


def d2l_style(net, train_iter, test_iter, num_epochs, lr) -> float:
    """The book's train_ch3 with its train_epoch_ch3 (Accumulator of loss and accuracy)."""
    loss = nn.CrossEntropyLoss(reduction="none")
    updater = torch.optim.SGD(net.parameters(), lr=lr)
    test_acc = 0.0
    for _ in range(num_epochs):
        net.train()
        metric = d2l.Accumulator(3)
        for X, y in train_iter:
            y_hat = net(X)
            l = loss(y_hat, y)
            updater.zero_grad()
            l.mean().backward()
            updater.step()
            metric.add(float(l.sum()), d2l.accuracy(y_hat, y), y.numel())
        test_acc = d2l.evaluate_accuracy(net, test_iter)
    return test_acc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    batch_size, lr = 256, 0.1
    root = torchvision_root()

    def ours():
        train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)
        net = make_net()
        loss = nn.CrossEntropyLoss(reduction="none")
        history = d2l.train_ch3(
            net, train_iter, test_iter, loss, args.epochs, torch.optim.SGD(net.parameters(), lr)
        )
        return history["test_acc"][-1]

    def book():
        train_iter, test_iter = d2l_loaders(root, batch_size)
        return d2l_style(make_net(), train_iter, test_iter, args.epochs, lr)

    torch.manual_seed(0)
    acc_ours, t_ours = timed(ours)  # includes reading the IDX files
    torch.manual_seed(0)
    acc_book, t_book = timed(book)
    print(f"machine: {machine()}")
    print(f"softmax regression, {args.epochs} epochs: d2lhelpers {t_ours:.1f} s (test acc {acc_ours:.3f}), "
          f"d2l pipeline {t_book:.1f} s (test acc {acc_book:.3f}), ratio {t_book / t_ours:.1f}x; book test acc 0.828")  # fmt: skip


if __name__ == "__main__":
    main()
