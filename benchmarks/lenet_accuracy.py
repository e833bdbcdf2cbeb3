"""How much LeNet's test accuracy varies with the seed, in both pipelines.

LeNet with sigmoid activations and lr 0.9 is sensitive to its initialisation and
data order, so one run says little about whether a pipeline matches the book's
0.779. This trains LeNet as the book does (10 epochs, lr 0.9, batch 256) for
several seeds, with `d2l.train_ch6` and with the book's pipeline (`_common.py`),
and prints every accuracy, the mean and the standard deviation of each.

Run: `python benchmarks/lenet_accuracy.py [--seeds 5] [--first-seed 0] [--epochs 10]` (slow: about
an hour on a 2-core CPU for 5 seeds; timings are not the point here).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import statistics

import torch
from _common import d2l_loaders, d2l_train_ch6, lenet, machine, torchvision_root

import d2lhelpers as d2l

BOOK_ACC = 0.779


def summary(name: str, accs: list[float]) -> str:
    mean, std = statistics.mean(accs), statistics.stdev(accs) if len(accs) > 1 else 0.0
    runs = ", ".join(f"{a:.3f}" for a in accs)
    return (
        f"{name}: mean {mean:.3f}, std {std:.3f}, min {min(accs):.3f}, max {max(accs):.3f}, "
        f"mean - book {mean - BOOK_ACC:+.3f} ({runs})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5, help="how many seeds")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    batch_size, lr = 256, 0.9
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size)
    book_train, book_test = d2l_loaders(torchvision_root(), batch_size)
    ours, book = [], []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        torch.manual_seed(seed)
        with contextlib.redirect_stdout(io.StringIO()):  # train_ch6's own summary lines
            history = d2l.train_ch6(lenet(), train_iter, test_iter, args.epochs, lr, d2l.cpu())
        ours.append(history["test_acc"][-1])
        torch.manual_seed(seed)
        book.append(d2l_train_ch6(lenet(), book_train, book_test, args.epochs, lr, d2l.cpu()))
        print(f"seed {seed}: d2lhelpers {ours[-1]:.3f}, d2l pipeline {book[-1]:.3f}", flush=True)
    print(f"machine: {machine()}")
    print(summary("d2lhelpers.train_ch6", ours))
    print(summary("d2l pipeline        ", book))
    print(f"book: {BOOK_ACC}")


if __name__ == "__main__":
    main()
