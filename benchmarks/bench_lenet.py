"""LeNet as the book trains it (10 epochs, lr 0.9, batch 256): d2lhelpers against the book.

Three timings in one process, on the same real data, whole wall time with evaluation:
- `d2l.train_ch6` with `d2l.load_data_fashion_mnist`;
- the book's pipeline (torchvision `FashionMNIST` + `ToTensor` + `DataLoader(num_workers=4)`)
  with a d2l-style training loop;
- pure model compute: the same forward/backward steps and evaluation passes on
  batches already in memory, no loader at all, in the channels-last layout that
  train_ch6 uses on the CPU (and, for reference, in the default layout).
Goal on a 2-core machine: >= 2.5x faster than the book, within 15% of pure compute,
test accuracy within 0.02 of the book's 0.779.
"""

from __future__ import annotations

import argparse

import torch
from _common import d2l_loaders, d2l_train_ch6, lenet, machine, timed, torchvision_root
from torch import nn

import d2lhelpers as d2l


def pure_compute(train_batches, test_batches, num_epochs, lr, channels_last) -> None:
    """The same steps as train_ch6 on batches already in memory (same memory layout)."""
    net = lenet()
    for m in net.modules():
        if type(m) in (nn.Linear, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    net.to(memory_format=fmt)
    train_batches = [(X.contiguous(memory_format=fmt), y) for X, y in train_batches]
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    for _ in range(num_epochs):
        net.train()
        for X, y in train_batches:
            optimizer.zero_grad()
            loss(net(X), y).backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            for X, _ in test_batches:
                net(X)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    batch_size, lr = 256, 0.9
    root = torchvision_root()
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)
    train_batches, test_batches = list(train_iter), list(test_iter)  # in memory, for pure compute

    torch.manual_seed(0)
    history, t_ours = timed(
        lambda: d2l.train_ch6(lenet(), train_iter, test_iter, args.epochs, lr, d2l.cpu())
    )
    torch.manual_seed(0)
    book_train, book_test = d2l_loaders(root, batch_size)
    acc_book, t_book = timed(
        lambda: d2l_train_ch6(lenet(), book_train, book_test, args.epochs, lr, d2l.cpu())
    )
    torch.manual_seed(0)
    _, t_pure = timed(lambda: pure_compute(train_batches, test_batches, args.epochs, lr, True))
    torch.manual_seed(0)
    _, t_pure_nchw = timed(
        lambda: pure_compute(train_batches, test_batches, args.epochs, lr, False)
    )
    print(f"machine: {machine()}")
    print(f"LeNet, {args.epochs} epochs: d2lhelpers {t_ours:.1f} s (test acc {history['test_acc'][-1]:.3f}), "
          f"d2l pipeline {t_book:.1f} s (test acc {acc_book:.3f}), pure compute {t_pure:.1f} s "
          f"(channels-last as train_ch6 uses on the CPU; {t_pure_nchw:.1f} s in the default layout)")  # fmt: skip
    print(f"train_ch6 training steps: {history['examples_per_sec']:.1f} examples/sec "
          f"(the book's quantity); wall time {history['wall_time']:.1f} s")  # fmt: skip
    print(f"ratio vs d2l pipeline {t_book / t_ours:.2f}x; overhead over pure compute {100 * (t_ours / t_pure - 1):.1f}%; "
          f"book test acc 0.779")  # fmt: skip


if __name__ == "__main__":
    main()
