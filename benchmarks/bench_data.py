"""Fashion-MNIST loading: d2lhelpers' in-memory batches against the book's pipeline.

Run: `python benchmarks/bench_data.py` (or `make bench`). Prints one epoch of
iteration and one epoch of LeNet training (lr 0.9, batch 256) for both, on the
same real data in the same process, and their ratios.
Goal on a 2-core machine: iteration >= 10x faster, LeNet epoch >= 2.5x faster.
"""

from __future__ import annotations

import torch
from _common import d2l_loaders, d2l_train_ch6, lenet, machine, timed, torchvision_root

import d2lhelpers as d2l


def iterate(loader) -> int:
    n = 0
    for X, _ in loader:
        n += X.shape[0]
    return n


def main() -> None:
    batch_size = 256
    root = torchvision_root()
    d2l.load_fashion_mnist_arrays()  # read the files once, as a notebook does at its first loader
    ours_train, ours_test = d2l.load_data_fashion_mnist(batch_size)
    book_train, book_test = d2l_loaders(root, batch_size)
    n1, t_ours = timed(lambda: iterate(ours_train))
    n2, t_book = timed(lambda: iterate(book_train))
    assert n1 == n2 == 60000
    print(f"machine: {machine()}")
    print(
        f"one epoch of iteration: d2lhelpers {t_ours:.2f} s, d2l pipeline {t_book:.2f} s, ratio {t_book / t_ours:.1f}x"
    )

    torch.manual_seed(0)
    _, t_ours = timed(lambda: d2l.train_ch6(lenet(), ours_train, ours_test, 1, 0.9, d2l.cpu()))
    torch.manual_seed(0)
    _, t_book = timed(lambda: d2l_train_ch6(lenet(), book_train, book_test, 1, 0.9, d2l.cpu()))
    print(
        f"one LeNet epoch (with evaluation): d2lhelpers {t_ours:.1f} s, d2l pipeline {t_book:.1f} s, ratio {t_book / t_ours:.1f}x"
    )


if __name__ == "__main__":
    main()
