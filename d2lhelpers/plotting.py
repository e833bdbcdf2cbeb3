"""Static plots in the book's style: curves, image grids, heat maps.

`plot` draws one or more curves on one axes; `show_images` lays images out in a
grid. Importing this module changes no matplotlib setting; `use_svg_display`
and `set_figsize` do, when a learner calls them. Introduced in 04_autograd.ipynb.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes

__all__ = [
    "plt",
    "use_svg_display",
    "set_figsize",
    "set_axes",
    "plot",
    "show_images",
    "show_heatmaps",
]

DEFAULT_FMTS = ("-", "m--", "g-.", "r:")


def use_svg_display() -> None:
    """Render inline figures as SVG (sharper in JupyterLab). Does nothing outside IPython."""
    from IPython import get_ipython

    if get_ipython() is None:  # matplotlib-inline would create an IPython shell for the process
        return
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    set_matplotlib_formats("svg")


def set_figsize(figsize: tuple[float, float] = (3.5, 2.5)) -> None:
    """Set the default figure size in inches, as `(width, height)`."""
    plt.rcParams["figure.figsize"] = figsize


def set_axes(
    axes: Axes,
    xlabel: str | None,
    ylabel: str | None,
    xlim: tuple[float, float] | list[float] | None,
    ylim: tuple[float, float] | list[float] | None,
    xscale: str,
    yscale: str,
    legend: Sequence[str] | None,
) -> None:
    """Label, limit and scale one matplotlib axes; add a legend when given."""
    axes.set_xlabel("" if xlabel is None else xlabel)  # what matplotlib makes of None
    axes.set_ylabel("" if ylabel is None else ylabel)
    axes.set_xscale(xscale)
    axes.set_yscale(yscale)
    axes.set_xlim(None if xlim is None else (xlim[0], xlim[1]))  # None: keep autoscaling
    axes.set_ylim(None if ylim is None else (ylim[0], ylim[1]))
    if legend:
        axes.legend(legend)
    axes.grid()


def _to_numpy(a: Any) -> Any:
    if isinstance(a, torch.Tensor):
        return a.detach().cpu().numpy()
    return a


def _has_one_axis(X: Any) -> bool:
    """True if X is a single 1-D series (a 1-D array/tensor or a flat list)."""
    return (hasattr(X, "ndim") and X.ndim == 1) or (
        isinstance(X, list) and not hasattr(X[0], "__len__")
    )


def plot(
    X: Any,
    Y: Any = None,
    xlabel: str | None = None,
    ylabel: str | None = None,
    legend: Sequence[str] | None = None,
    xlim: tuple[float, float] | list[float] | None = None,
    ylim: tuple[float, float] | list[float] | None = None,
    xscale: str = "linear",
    yscale: str = "linear",
    fmts: Sequence[str] = DEFAULT_FMTS,
    figsize: tuple[float, float] = (3.5, 2.5),
    axes: Axes | None = None,
) -> None:
    """Plot data points: one curve per row of `Y` against `X`.

    X: a series of x values, or a list of series (one per curve).
    Y: a series or a list of series; when omitted, X is plotted against its index.
    Tensors are accepted (detached and moved to the CPU). Returns nothing, as in
    the book; pass `axes` to draw on an axes of your own (`plt.gca()` gets the current one).
    """
    if X is None:
        raise ValueError("plot needs data: X is None")
    X, Y = _to_numpy(X), _to_numpy(Y)
    if isinstance(X, list | tuple):
        X = [_to_numpy(x) for x in X]
    if isinstance(Y, list | tuple):
        Y = [_to_numpy(y) for y in Y]
    if _has_one_axis(X):
        X = [X]
    if Y is None:
        X, Y = [[]] * len(X), X
    elif _has_one_axis(Y):
        Y = [Y]
    if len(X) != len(Y):
        X = X * len(Y)
    if axes is None:
        axes = plt.figure(figsize=figsize).gca()
    axes.cla()
    for x, y, fmt in zip(X, Y, _cycle(fmts, len(Y)), strict=False):
        if len(x):
            axes.plot(x, y, fmt)
        else:
            axes.plot(y, fmt)
    set_axes(axes, xlabel, ylabel, xlim, ylim, xscale, yscale, legend)


def _cycle(fmts: Sequence[str], n: int) -> list[str]:
    return [fmts[i % len(fmts)] for i in range(n)]


def show_images(
    imgs: Any,
    num_rows: int,
    num_cols: int,
    titles: Sequence[str] | None = None,
    scale: float = 1.5,
) -> np.ndarray:
    """Show a grid of images and return the array of axes.

    imgs: (n, H, W) or (n, H, W, C) tensor/array, or a list of such images or PIL
    images, with n <= num_rows * num_cols. titles: optional list of n strings.
    """
    if len(imgs) > num_rows * num_cols:
        raise ValueError(
            f"show_images got {len(imgs)} images for a {num_rows}x{num_cols} grid; "
            "pass fewer images or a larger grid"
        )
    figsize = (num_cols * scale, num_rows * scale)
    _, axes = plt.subplots(num_rows, num_cols, figsize=figsize, squeeze=False)
    axes = axes.flatten()
    for i, (ax, img) in enumerate(zip(axes, imgs, strict=False)):
        img = _to_numpy(img)
        ax.imshow(img, cmap="gray" if np.ndim(img) == 2 else None)
        ax.axes.get_xaxis().set_visible(False)
        ax.axes.get_yaxis().set_visible(False)
        if titles is not None and i < len(titles):
            ax.set_title(titles[i])
    for ax in axes[len(imgs) :]:
        ax.axis("off")
    return axes


def show_heatmaps(
    matrices: Any,
    xlabel: str,
    ylabel: str,
    titles: Sequence[str] | None = None,
    figsize: tuple[float, float] = (2.5, 2.5),
    cmap: str = "Reds",
) -> np.ndarray:
    """Show a grid of heat maps.

    matrices: (num_rows, num_cols, n_queries, n_keys) tensor; titles one per column.
    """
    matrices = _to_numpy(matrices)
    if np.ndim(matrices) != 4:
        raise ValueError(
            f"show_heatmaps expects a 4-D (rows, cols, queries, keys) array, got shape {np.shape(matrices)}"
        )
    num_rows, num_cols = matrices.shape[:2]
    fig, axes = plt.subplots(
        num_rows, num_cols, figsize=figsize, sharex=True, sharey=True, squeeze=False
    )
    pcm = None
    for i in range(num_rows):
        for j in range(num_cols):
            ax = axes[i, j]
            pcm = ax.imshow(matrices[i, j], cmap=cmap)
            if i == num_rows - 1:
                ax.set_xlabel(xlabel)
            if j == 0:
                ax.set_ylabel(ylabel)
            if titles:
                ax.set_title(titles[j])
    if pcm is not None:  # None only for an empty grid
        fig.colorbar(pcm, ax=axes, shrink=0.6)
    return axes
