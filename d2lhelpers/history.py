"""What a trainer returns: `History`, per-epoch measurements with a one-line repr.

A trainer call often ends a book cell (`d2l.train_ch6(net, ...)`); Jupyter then
shows the return value under the figure. A plain dict of lists would print
dozens of numbers there; a `History` shows one short line and is still a dict
(`history['test_acc'][-1]`, `history['examples_per_sec']`).
Introduced in 05_linear_networks.ipynb; returned by every chapter trainer.
"""

from __future__ import annotations

from typing import Any

__all__ = ["History"]


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:.1f}"
    return str(value)


class History(dict):
    """A dict of per-epoch lists (`'train_loss': [...]`) and run-level scalars.

    Lists hold one value per epoch; other entries (`'examples_per_sec'`,
    `'device'`, ...) describe the whole run. `repr` is one line: the number of
    epochs, the last value of every list and every scalar.
    """

    @property
    def epochs(self) -> int:
        """Number of epochs recorded (the length of the longest per-epoch list)."""
        return max((len(v) for v in self.values() if isinstance(v, list)), default=0)

    def __repr__(self) -> str:
        last = [f"{k} {_fmt(v[-1])}" for k, v in self.items() if isinstance(v, list) and v]
        runs = [f"{k} {_fmt(v)}" for k, v in self.items() if not isinstance(v, list)]
        n = self.epochs
        head = f"{n} epoch{'s' if n != 1 else ''}"
        parts = [head, ", ".join(last), ", ".join(runs)]
        return f"History({'; '.join(part for part in parts if part)})"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython: same one line
        p.text(repr(self))
