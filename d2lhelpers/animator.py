"""Live training curves that redraw one figure in place.

The book's `Animator` calls `display` and `clear_output` on every point, which
flickers and piles up figures outside classic Notebook. This one keeps one
IPython display handle and updates it, so JupyterLab, VS Code and classic
Notebook show a single figure that grows, and a headless run (nbval, nbclient)
stores exactly one final figure. Outside IPython it only records the points.
Introduced in 05_linear_networks.ipynb; used by every trainer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from .plotting import DEFAULT_FMTS, set_axes

__all__ = ["Animator"]


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return False
    return get_ipython() is not None


class Animator:
    """Plot data incrementally: `add(x, y)` appends one point to each line.

    After training, `X[i]` and `Y[i]` hold the x and y values of line i, so the
    recorded curves stay readable (`animator.Y[0][-1]` is the last value).
    """

    def __init__(
        self,
        xlabel: str | None = None,
        ylabel: str | None = None,
        legend: Sequence[str] | None = None,
        xlim: tuple[float, float] | list[float] | None = None,
        ylim: tuple[float, float] | list[float] | None = None,
        xscale: str = "linear",
        yscale: str = "linear",
        fmts: Sequence[str] = DEFAULT_FMTS,
        nrows: int = 1,
        ncols: int = 1,
        figsize: tuple[float, float] = (3.5, 2.5),
    ) -> None:
        self.legend = list(legend) if legend else []
        self.fmts = tuple(fmts)
        self._axes_args = (xlabel, ylabel, xlim, ylim, xscale, yscale, self.legend)
        self._layout = (nrows, ncols, figsize)
        self.X: list[list[float]] = []
        self.Y: list[list[float]] = []
        self.fig: Figure | None = None
        self.axes: Any = None  # the figure's axes, flattened (nrows * ncols,)
        self._handle: Any = None

    def _ensure_figure(self) -> None:
        if self.fig is not None:
            return
        nrows, ncols, figsize = self._layout
        self.fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
        self.axes = axes.flatten()
        # Take the figure away from pyplot so the inline backend does not show
        # it a second time at the end of the cell; we display it ourselves.
        plt.close(self.fig)

    def add(
        self, x: float | Sequence[float | None], y: float | None | Sequence[float | None]
    ) -> None:
        """Append one point per line: `y` is a number or a sequence of numbers.

        `x` is one number shared by every line, or a sequence with one per line.
        A `None` in `y` leaves that line without a point at this x.
        """
        ys: list[Any] = list(cast(Sequence, y)) if hasattr(y, "__len__") else [y]
        n = len(ys)
        xs: list[Any] = list(cast(Sequence, x)) if hasattr(x, "__len__") else [x] * n
        if len(xs) != n:
            raise ValueError(f"Animator.add got {len(xs)} x values for {n} y values")
        if not self.X:
            self.X = [[] for _ in range(n)]
            self.Y = [[] for _ in range(n)]
        if n != len(self.Y):
            raise ValueError(f"Animator.add got {n} y values, but earlier calls had {len(self.Y)}")
        for i, (a, b) in enumerate(zip(xs, ys, strict=True)):
            if a is not None and b is not None:
                self.X[i].append(float(a))
                self.Y[i].append(float(b))
        if _in_ipython():
            self._redraw()

    def _redraw(self) -> None:
        from IPython.display import display

        self._ensure_figure()
        ax = self.axes[0]
        ax.cla()
        for i, (x, y) in enumerate(zip(self.X, self.Y, strict=True)):
            ax.plot(x, y, self.fmts[i % len(self.fmts)])
        set_axes(ax, *self._axes_args)
        if self._handle is None:
            self._handle = display(self.fig, display_id=True)
        else:
            self._handle.update(self.fig)
