"""Shared pieces of the benchmarks: the book's d2l pipeline, rebuilt as a baseline.

The baseline is what `d2l` 0.17 does on every machine: torchvision's
`FashionMNIST` with per-image `ToTensor` (and `Resize`) transforms, a
`DataLoader` with 4 worker processes, and the book's training loops. Both
sides read the same real files (Debian's `dataset-fashion-mnist`).
"""

from __future__ import annotations

import gzip
import platform
import shutil
import tempfile
import time
from pathlib import Path

import torch
import torchvision
from torch import nn
from torch.utils import data
from torchvision import transforms

import d2lhelpers as d2l
from d2lhelpers.data.fashion_mnist import DEBIAN_DIR

STEMS = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def machine() -> str:
    return (
        f"{platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}"
    )


def torchvision_root() -> Path:
    """A temporary torchvision root with the real IDX files uncompressed in FashionMNIST/raw."""
    root = Path(tempfile.mkdtemp(prefix="d2l-bench-"))
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in STEMS:
        src = DEBIAN_DIR / f"{stem}.gz"
        if not src.is_file():
            raise SystemExit(f"{src} is missing: apt-get install dataset-fashion-mnist")
        with gzip.open(src) as f, open(raw / stem, "wb") as g:
            shutil.copyfileobj(f, g)
    return root


def d2l_loaders(root: Path, batch_size: int, resize=None):
    """The book's `load_data_fashion_mnist`: PIL transforms per image, 4 workers."""
    trans = [transforms.ToTensor()]
    if resize:
        trans.insert(0, transforms.Resize(resize))
    trans = transforms.Compose(trans)
    train = torchvision.datasets.FashionMNIST(
        root=root, train=True, transform=trans, download=False
    )
    test = torchvision.datasets.FashionMNIST(
        root=root, train=False, transform=trans, download=False
    )
    return (
        data.DataLoader(train, batch_size, shuffle=True, num_workers=4),
        data.DataLoader(test, batch_size, shuffle=False, num_workers=4),
    )


def lenet() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10),
    )  # fmt: skip


def d2l_train_ch6(net, train_iter, test_iter, num_epochs, lr, device) -> float:
    """The book's train_ch6 loop (without its plot); returns the final test accuracy."""

    def init_weights(m):
        if type(m) in (nn.Linear, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)

    net.apply(init_weights)
    net.to(device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.CrossEntropyLoss()
    test_acc = 0.0
    for _ in range(num_epochs):
        net.train()
        for X, y in train_iter:
            optimizer.zero_grad()
            X, y = X.to(device), y.to(device)
            l = loss(net(X), y)
            l.backward()
            optimizer.step()
        test_acc = d2l.evaluate_accuracy_gpu(net, test_iter)
    return test_acc


def timed(fn):
    """Run fn() and return (result, seconds)."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start
