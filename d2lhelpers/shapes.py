"""Layer-by-layer output shapes, the book's `for layer in net` pattern for any net.

Forward hooks record each sub-module's output during one forward pass, so nested
blocks (a `Sequential` of `Residual`s, an Inception block) work too.
Introduced in 08_cnn.ipynb (LeNet); used for every architecture after it.
"""

from __future__ import annotations

import torch
from torch import nn

from .metrics import eval_mode

__all__ = ["layer_summary"]


def _shape(out) -> str:
    if isinstance(out, torch.Tensor):
        return str(tuple(out.shape))
    if isinstance(out, tuple | list):
        return ", ".join(_shape(o) for o in out)
    return type(out).__name__


def layer_summary(
    net: nn.Module, X: torch.Tensor, depth: int = 1, show: bool = True
) -> list[tuple]:
    """Run `X` through `net` and list (name, layer type, output shape, parameters).

    depth: how many levels of nesting to list (1: the net's direct children, as
    the book's loop does; 2: also the layers inside each block, indented).
    Runs in eval mode without gradients and restores the previous mode.
    Prints a table when `show` and returns its rows; the last row is the whole net.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    rows: list[tuple] = []
    hooks = []

    def visit(module: nn.Module, prefix: str, level: int) -> None:
        for name, child in module.named_children():
            full = f"{prefix}{name}"

            def hook(mod, inp, out, full=full, level=level):
                # counted after the forward pass, so lazy layers have their real shapes
                n_params = sum(p.numel() for p in mod.parameters() if not _lazy(p))
                rows.append(("  " * (level - 1) + full, type(mod).__name__, _shape(out), n_params))

            hooks.append(child.register_forward_hook(hook))
            if level < depth:
                visit(child, full + ".", level + 1)

    visit(net, "", 1)
    try:
        with eval_mode(net):
            out = net(X)
    finally:
        for h in hooks:
            h.remove()
    # Hooks fire when a module finishes, so parents come after their children:
    # sort by order of first appearance of each name prefix (stable on names).
    order = {name: i for i, name in enumerate(_preorder(net, depth))}
    rows.sort(key=lambda r: order.get(r[0].strip(), len(order)))
    total = sum(p.numel() for p in net.parameters())
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


def _preorder(module: nn.Module, depth: int, prefix: str = "", level: int = 1) -> list[str]:
    names = []
    for name, child in module.named_children():
        full = f"{prefix}{name}"
        names.append(full)
        if level < depth:
            names += _preorder(child, depth, full + ".", level + 1)
    return names
