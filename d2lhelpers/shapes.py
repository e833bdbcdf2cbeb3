"""Layer-by-layer output shapes, the book's `for layer in net` pattern for any net.

Forward hooks record each sub-module's output during one forward pass, so nested
blocks (a `Sequential` of `Residual`s, an Inception block) work too.
Introduced in 08_cnn.ipynb (LeNet); used for every architecture after it.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .metrics import eval_mode

__all__ = ["layer_summary"]


def _shape(out: object) -> str:
    if isinstance(out, torch.Tensor):
        return str(tuple(out.shape))
    if isinstance(out, tuple | list):
        return ", ".join(_shape(o) for o in out)
    return type(out).__name__


class LayerRows(list[tuple[str, str, str, int]]):
    """The rows of `layer_summary`; its repr is one line, so a cell that ends with
    the call shows the printed table and nothing else."""

    def __repr__(self) -> str:
        if not self:
            return "LayerRows([])"
        _, kind, shape, total = self[-1]
        return f"LayerRows({len(self) - 1} layers of {kind}; output {shape}; {total:,} parameters)"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


def layer_summary(net: nn.Module, X: torch.Tensor, depth: int = 1, show: bool = True) -> LayerRows:
    """Run `X` through `net` and list (name, layer type, output shape, parameters).

    depth: how many levels of nesting to list (1: the net's direct children, as
    the book's loop does; 2: also the layers inside each block, indented).
    Runs in eval mode without gradients and restores the previous mode.
    A module listed under several names (tied weights) gets a row under each name,
    in the order the net declares them.
    Prints a table when `show` and returns its rows; the last row is the whole net
    (its parameters count shared ones once).
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    # Every (name, module) to list, in the order the net declares them. A module that
    # appears under several names (tied weights) is listed under each of them.
    names = _preorder(net, depth)
    names_of: dict[int, list[str]] = {}
    for name, module in names:
        names_of.setdefault(id(module), []).append(name)
    calls: dict[str, tuple[str, str, int]] = {}  # name -> (type, output shape, parameters)
    seen: dict[int, int] = {}  # module id -> calls so far

    def hook(mod: nn.Module, inp: tuple, out: object) -> None:
        # counted after the forward pass, so lazy layers have their real shapes
        n_params = sum(p.numel() for p in mod.parameters() if not _lazy(p))
        i = seen.get(id(mod), 0)
        seen[id(mod)] = i + 1
        own = names_of[id(mod)]
        # the i-th call of a shared module is its i-th name (a module called more
        # often than it is listed, e.g. in a loop, gets extra rows under its last name)
        name = own[i] if i < len(own) else f"{own[-1]} (call {i + 1})"
        calls[name] = (type(mod).__name__, _shape(out), n_params)

    hooks = [m.register_forward_hook(hook) for m in {id(m): m for _, m in names}.values()]
    try:
        with eval_mode(net):
            out = net(X)
    finally:
        for h in hooks:
            h.remove()
    # hooks fire when a module finishes, so parents come after their children:
    # list the rows in the net's declared order instead
    order = [n for n, _ in names] + sorted(set(calls) - {n for n, _ in names})
    rows = LayerRows()
    for name in order:
        if name in calls:
            level = name.split(" ")[0].count(".")
            rows.append(("  " * level + name, *calls[name]))
    total = sum(p.numel() for p in net.parameters())  # shared parameters counted once
    rows.append(("total", type(net).__name__, _shape(out), total))
    if show:
        w = max(len("layer"), *(len(r[0]) for r in rows))
        t = max(len("type"), *(len(r[1]) for r in rows))
        s = max(len("output shape"), *(len(r[2]) for r in rows))
        print(f"{'layer':<{w}}  {'type':<{t}}  {'output shape':<{s}}  params")
        for name, kind, shape, n in rows:
            print(f"{name:<{w}}  {kind:<{t}}  {shape:<{s}}  {n:,}")
    return rows


def _lazy(p: torch.Tensor) -> bool:
    return isinstance(p, nn.parameter.UninitializedParameter)


def _preorder(
    module: nn.Module, depth: int, prefix: str = "", level: int = 1
) -> list[tuple[str, nn.Module]]:
    """(name, module) down to `depth` levels, parents before children. Reads `_modules`
    itself: `named_children` would skip the second name of a shared module."""
    found = []
    for name, child in module._modules.items():
        if child is None:
            continue
        full = f"{prefix}{name}"
        found.append((full, child))
        if level < depth:
            found += _preorder(child, depth, full + ".", level + 1)
    return found
