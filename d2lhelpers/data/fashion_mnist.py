"""Fashion-MNIST: read the real IDX files once, serve batches from memory.

The four IDX files are looked up, in order, under `<data root>/fashion-mnist/`
(gz or raw), in Debian's package folder `/usr/share/datasets/fashion-mnist/`
(`apt-get install dataset-fashion-mnist`), and finally downloaded from the
upstream mirror torchvision uses (MD5 checked). Images stay uint8 in memory;
each batch is converted to float and resized on its own, so `resize=224` never
materialises the whole set at 224x224. Introduced in 05_linear_networks.ipynb.
`torchvision_fashion_mnist_root` lays the same files out for the book's
`torchvision.datasets.FashionMNIST`, so the book's loading code runs offline too.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from ..quick import QUICK_FRACTION, is_quick
from .hub import data_dir, fetch_verified
from .loader import BatchLoader

__all__ = [
    "FASHION_MNIST_LABELS",
    "get_fashion_mnist_labels",
    "load_fashion_mnist_arrays",
    "load_data_fashion_mnist",
    "get_dataloader_workers",
    "torchvision_fashion_mnist_root",
]

FASHION_MNIST_LABELS = (
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle boot",
)  # fmt: skip

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
MIRROR = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
# stem -> (MD5 of the uncompressed IDX file, MD5 of the upstream .gz file)
_FILES = {
    "train-images-idx3-ubyte": (
        "f4a8712d7a061bf5bd6d2ca38dc4d50a",
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    ),
    "train-labels-idx1-ubyte": (
        "9018921c3c673c538a1fc5bad174d6f9",
        "25c81989df183df01b3e8a0aad5dffbe",
    ),
    "t10k-images-idx3-ubyte": (
        "8181f5470baa50b63fa0f6fddb340f0a",
        "bef4ecab320f06d8554ea6380940ec79",
    ),
    "t10k-labels-idx1-ubyte": (
        "15d484375f8d13e6eb1aabb0c3f46965",
        "bb300cfdad3c16e7a12a480ee83cd310",
    ),
}
_CACHE: dict[str, tuple[torch.Tensor, ...]] = {}


def get_fashion_mnist_labels(labels: Iterable[int] | torch.Tensor) -> list[str]:
    """Text labels for numeric labels: a (n,) tensor or a list of ints."""
    return [FASHION_MNIST_LABELS[int(i)] for i in labels]


def get_dataloader_workers() -> int:
    """Worker processes for a DataLoader: 0 here, since batches come from memory."""
    return 0


def _download_gz(stem: str, folder: Path) -> Path:
    target = folder / f"{stem}.gz"
    hint = (
        f"It was not found under {folder} or {DEBIAN_DIR} either. Offline, install Debian's "
        f"'dataset-fashion-mnist' package or copy the four IDX files into {folder}."
    )
    fetch_verified(
        MIRROR + target.name,
        target,
        ("md5", _FILES[stem][1]),
        f"Fashion-MNIST file {target.name}",
        hint,
    )
    return target


def _find(stem: str, root: Path) -> Path:
    for folder in (root / "fashion-mnist", DEBIAN_DIR):
        for name in (f"{stem}.gz", stem):
            if (folder / name).is_file():
                return folder / name
    return _download_gz(stem, root / "fashion-mnist")


def _read_idx(path: Path, stem: str) -> torch.Tensor:
    """Parse one IDX file (gz or raw) into a uint8 tensor, after checking its MD5."""
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    md5 = hashlib.md5(raw).hexdigest()
    if md5 != _FILES[stem][0]:
        raise ValueError(
            f"{path} is not the original Fashion-MNIST file (MD5 {md5}); delete it so "
            "it can be found again or downloaded"
        )
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    data = torch.frombuffer(bytearray(raw[4 + 4 * ndim :]), dtype=torch.uint8)
    return data.reshape(dims)


def _arrays(root: str | os.PathLike | None) -> tuple[torch.Tensor, ...]:
    """The four tensors, read once per process and data root: never handed out."""
    root = data_dir(root)
    key = str(root)
    if key not in _CACHE:
        out = []
        for prefix in ("train", "t10k"):
            images = _read_idx(
                _find(f"{prefix}-images-idx3-ubyte", root), f"{prefix}-images-idx3-ubyte"
            )
            labels = _read_idx(
                _find(f"{prefix}-labels-idx1-ubyte", root), f"{prefix}-labels-idx1-ubyte"
            )
            out += [images, labels.long()]
        _CACHE[key] = tuple(out)
    return _CACHE[key]


def load_fashion_mnist_arrays(
    root: str | os.PathLike | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The whole real data set as uint8 images and int64 labels.

    Returns (train_images (60000, 28, 28), train_labels (60000,),
    test_images (10000, 28, 28), test_labels (10000,)). The files are read once
    per process; each call returns new copies (about 55 MB, a few milliseconds),
    so changing them in place changes no loader and no later call.
    """
    train_X, train_y, test_X, test_y = (t.clone() for t in _arrays(root))
    return train_X, train_y, test_X, test_y


def torchvision_fashion_mnist_root(root: str | os.PathLike | None = None) -> Path:
    """A root for `torchvision.datasets.FashionMNIST(root=..., download=True)` that works offline.

    Writes the four real IDX files, uncompressed and MD5-checked, into
    `<data root>/torchvision/FashionMNIST/raw/` (once; later calls only check them),
    taking them from where `load_fashion_mnist_arrays` finds them (downloading only
    when no copy exists). torchvision then finds its files and downloads nothing.
    Returns `<data root>/torchvision`. Introduced in 05_linear_networks.ipynb.
    """
    tv_root = data_dir(root) / "torchvision"
    raw_dir = tv_root / "FashionMNIST" / "raw"
    for stem, (md5, _) in _FILES.items():
        target = raw_dir / stem
        if target.is_file() and hashlib.md5(target.read_bytes()).hexdigest() == md5:
            continue
        raw = _find(stem, data_dir(root)).read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        if hashlib.md5(raw).hexdigest() != md5:
            raise ValueError(f"the copy of {stem} found for torchvision is not the original file")
        raw_dir.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + ".part")
        part.write_bytes(raw)
        os.replace(part, target)  # never leave a half-written file under its final name
    return tv_root


def _resize_hw(resize: int | Sequence[int] | None) -> tuple[int, int] | None:
    if resize is None:
        return None
    size = (resize, resize) if isinstance(resize, int) else tuple(int(s) for s in resize)
    if len(size) != 2 or min(size) < 1:
        raise ValueError(f"resize must be a positive int or (height, width), got {resize!r}")
    return size[0], size[1]


def _quick_count(n: int, size: tuple[int, int] | None, batch_size: int) -> int:
    """Examples kept in quick mode: 10%, fewer for larger images (same compute)."""
    pixels = 28 * 28 if size is None else size[0] * size[1]
    keep = math.floor(n * QUICK_FRACTION * min(1.0, 28 * 28 / pixels))
    return min(n, max(keep, min(batch_size, math.floor(n * QUICK_FRACTION))))


def load_data_fashion_mnist(
    batch_size: int,
    resize: int | Sequence[int] | None = None,
    *,
    seed: int | None = None,
    root: str | os.PathLike | None = None,
) -> tuple[BatchLoader, BatchLoader]:
    """Fashion-MNIST as (train_iter, test_iter) of minibatches.

    Each batch is X: (batch_size, 1, 28, 28) float32 in [0, 1] (or resized to
    `resize`, an int or (height, width)) and y: (batch_size,) int64 labels.
    The training iterator is re-shuffled every epoch (repeatably with `seed`).
    In quick mode a fixed real subset is used: the first 10% of each split,
    scaled down for large `resize` so every model costs about the same.
    """
    size = _resize_hw(resize)
    # the shared cache itself, no copy: the loaders hand out a new tensor per batch
    train_X, train_y, test_X, test_y = _arrays(root)
    if is_quick():
        n_train = _quick_count(len(train_X), size, batch_size)
        n_test = _quick_count(len(test_X), size, batch_size)
        train_X, train_y = train_X[:n_train], train_y[:n_train]
        test_X, test_y = test_X[:n_test], test_y[:n_test]

    def to_float(X: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        X = X.unsqueeze(1).float().div_(255)  # (B, 1, 28, 28)
        if size is not None and size != (28, 28):
            X = F.interpolate(X, size=size, mode="bilinear", align_corners=False)  # (B, 1, H, W)
        return X, y

    train_iter = BatchLoader(
        (train_X, train_y), batch_size, shuffle=True, transform=to_float, seed=seed
    )
    test_iter = BatchLoader((test_X, test_y), batch_size, shuffle=False, transform=to_float)
    return train_iter, test_iter
