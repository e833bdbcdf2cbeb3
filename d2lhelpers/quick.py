"""Quick mode: the same notebooks on a fraction of the data and epochs.

`D2L_QUICK=1` (set by `make test`, `make test-notebooks` and CI) makes the data
loaders use a fixed real subset and the trainers cap the number of epochs.
Notebook code keeps the book's settings; the helpers do the scaling.
"""

from __future__ import annotations

import os

__all__ = [
    "QUICK_FRACTION",
    "QUICK_MAX_EPOCHS",
    "is_quick",
    "quick_epochs",
    "quick_share_epochs",
    "show_mode",
]

#: Share of a data set kept in quick mode (Fashion-MNIST: 6,000 of 60,000 images).
QUICK_FRACTION = 0.1
#: Most epochs a trainer runs in quick mode.
QUICK_MAX_EPOCHS = 2

_FALSE = {"", "0", "false", "no", "off"}


def is_quick() -> bool:
    """True when the environment variable `D2L_QUICK` is set to a true value."""
    return os.environ.get("D2L_QUICK", "").strip().lower() not in _FALSE


def quick_epochs(num_epochs: int) -> int:
    """`num_epochs` in full mode, at most `QUICK_MAX_EPOCHS` in quick mode."""
    return min(num_epochs, QUICK_MAX_EPOCHS) if is_quick() else num_epochs


def quick_share_epochs(num_epochs: int, at_least: int = 10) -> int:
    """`num_epochs` in full mode; in quick mode `QUICK_FRACTION` of them (at least
    `at_least`), for trainers whose curves need more than two epochs to move
    (`train_ch8`, `train_seq2seq`)."""
    if not is_quick():
        return num_epochs
    return min(num_epochs, max(at_least, round(num_epochs * QUICK_FRACTION)))


def show_mode() -> bool:
    """Print one line saying whether quick mode is on and what it reduces.

    Every notebook calls this in its first code cell. Returns `is_quick()`.
    """
    if is_quick():
        pct = round(QUICK_FRACTION * 100)
        print(
            f"快速模式 quick mode (D2L_QUICK=1): data loaders use a fixed {pct}% real subset "
            f"(Fashion-MNIST {round(60000 * QUICK_FRACTION):,}/60,000 train, "
            f"{round(10000 * QUICK_FRACTION):,}/10,000 test; fewer at large resize) "
            f"and trainers run at most {QUICK_MAX_EPOCHS} epochs (train_ch8, train_seq2seq: a "
            "tenth); a smoke test, models learn too little to mean anything."
        )
    else:
        print(
            "完整模式 full mode: the book's data and settings where they fit this machine; a "
            "notebook states any laptop scale in its cells (D2L_QUICK=1: the CI smoke test)."
        )
    return is_quick()
