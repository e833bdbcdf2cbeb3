"""Small generated stand-ins for the book's data files, so data tests run on any laptop.

Each writer makes a file in the real file's format (IDX for Fashion-MNIST, the
airfoil table's tab-separated columns, plain text) from a fixed seed and returns
what a test needs to register it (checksums). Tests that also have the real file
(Debian's Fashion-MNIST, ../shared/data) run against it as well; the behaviour is
covered by these fixtures either way.

`real_data_or_skip` is how a test asks for a real file: it skips with the way to get
it, and fails instead when `D2L_REQUIRE_REAL_DATA=1` (CI sets it where the files exist).
"""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

FASHION_STEMS = [
    f"{p}-{k}" for p in ("train", "t10k") for k in ("images-idx3-ubyte", "labels-idx1-ubyte")
]


def real_data_or_skip(paths: list[Path], how: str) -> None:
    """Skip the calling test unless every path exists (fail under D2L_REQUIRE_REAL_DATA=1)."""
    missing = [str(p) for p in paths if not p.is_file()]
    if not missing:
        return
    more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
    message = f"real data missing ({missing[0]}{more}): {how}"
    if os.environ.get("D2L_REQUIRE_REAL_DATA", "") not in ("", "0"):
        pytest.fail(message + " [D2L_REQUIRE_REAL_DATA=1]")
    pytest.skip(message)


def idx_bytes(array: np.ndarray) -> bytes:
    """`array` (uint8) in the IDX format: magic (0, 0, 0x08 = ubyte, ndim), big-endian dims, data."""
    assert array.dtype == np.uint8
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape
    )
    return header + array.tobytes()


def write_fashion_mnist(
    folder: Path, n_train: int = 1200, n_test: int = 400, seed: int = 0
) -> dict[str, tuple[str, str]]:
    """Four gzipped IDX files in Fashion-MNIST's layout (28x28 uint8 images, labels 0-9).

    Returns {stem: (MD5 of the raw IDX bytes, MD5 of the .gz file)}, the shape of
    `fashion_mnist._FILES`, to register them in place of the real checksums.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        # images: a label-dependent bright bar on noise, so the classes differ
        images = rng.integers(0, 60, size=(n, 28, 28), dtype=np.uint8)
        for i, c in enumerate(labels):
            images[i, 2 * c + 4 : 2 * c + 8, 3:25] = 255 - rng.integers(0, 40, dtype=np.uint8)
        for stem, array in ((f"{prefix}-images-idx3-ubyte", images),
                            (f"{prefix}-labels-idx1-ubyte", labels)):  # fmt: skip
            raw = idx_bytes(array)
            packed = gzip.compress(raw, mtime=0)
            (folder / f"{stem}.gz").write_bytes(packed)
            files[stem] = (hashlib.md5(raw).hexdigest(), hashlib.md5(packed).hexdigest())
    return files


def write_airfoil(path: Path, rows: int = 1503, seed: int = 0) -> str:
    """A table shaped like airfoil_self_noise.dat: `rows` x 6 tab-separated numbers.

    Five inputs in the real columns' ranges (frequency, angle, chord, velocity,
    thickness) and a sound level that depends linearly on them plus noise, so a
    linear model has something to fit but cannot fit it exactly. Returns its SHA-1.
    """
    rng = np.random.default_rng(seed)
    X = np.column_stack([
        rng.choice([200, 500, 1000, 2000, 4000, 8000], rows),
        rng.uniform(0, 22, rows).round(1),
        rng.choice([0.0254, 0.0508, 0.1016, 0.1524, 0.2286, 0.3048], rows),
        rng.choice([31.7, 39.6, 55.5, 71.3], rows),
        rng.uniform(0.0004, 0.058, rows).round(6),
    ])  # fmt: skip
    w = np.array([-0.0012, -0.4, -35.0, 0.1, -150.0])
    y = 132 + X @ w + rng.normal(0, 6.1, rows)  # about half the variance, as in the real table
    table = np.column_stack([X, y.round(3)])
    path.write_text("\n".join("\t".join(f"{v:g}" for v in row) for row in table) + "\n")
    return hashlib.sha1(path.read_bytes()).hexdigest()


# A made-up text in the Time Machine file's form: a title line with digits and
# brackets, blank lines, a chapter numeral, punctuation, quotes, capitals and
# sentences broken across lines.
TEXT = """The Clock Garden, by A. N. Author [2024]


I


The gardener (as we shall call her) kept a clock in the garden, and the
clock kept the garden. Each morning the gardener wound the clock; each
evening the clock wound down, and the garden slept.

"A clock in a garden is a strange thing," said the visitor, "and a garden
in a clock is stranger still." The gardener laughed and wound the clock.

II

In the garden the hours were flowers: the first hour a daisy, the second
hour a rose, the third hour a daisy again. The visitor counted the hours
and the flowers, and the count of the one was the count of the other.
"""


def write_text(path: Path, text: str = TEXT) -> str:
    """Write `text` as utf-8 and return its SHA-1."""
    path.write_text(text, encoding="utf-8")
    return hashlib.sha1(path.read_bytes()).hexdigest()


# English-French pairs in fra.txt's form (English, tab, French, one pair a line), with
# the file's narrow no-break spaces before ! and ?, and a repeated word or two per side
# so that min_freq=2 keeps some.
FRA = (
    "Go.\tVa !\n"
    "Hi.\tSalut !\n"
    "Run!\tCours\u202f!\n"
    "Run!\tCourez\u202f!\n"
    "Who?\tQui ?\n"
    "I see.\tJe vois.\n"
    "I try.\tJ'essaye.\n"
    "I won!\tJ'ai gagn\u00e9\u202f!\n"
    "Be calm.\tSois calme.\n"
    "Be fair.\tSois juste.\n"
)


def write_fra_eng(mirror: Path, text: str = FRA) -> None:
    """`mirror/fra-eng/fra.txt`: an extracted fra-eng archive, found in a file:// mirror."""
    (mirror / "fra-eng").mkdir(parents=True, exist_ok=True)
    (mirror / "fra-eng" / "fra.txt").write_text(text, encoding="utf-8")
