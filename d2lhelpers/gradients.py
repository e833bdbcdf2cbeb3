"""Gradient clipping, shared by the recurrent trainers: `grad_clipping`.

`train_ch8` (train_rnn.py) and `train_seq2seq` (train_seq2seq.py) clip the
gradients to norm 1 after every backward pass; both import it from here.
Introduced in 10_rnn.ipynb.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import torch
from torch import nn

__all__ = ["grad_clipping"]


class HasParams(Protocol):
    """A from-scratch model: its parameters are a list `params` (`RNNModelScratch`)."""

    params: Iterable[torch.Tensor]


def _parameters(net: nn.Module | HasParams) -> list[torch.Tensor]:
    if isinstance(net, nn.Module):
        return [p for p in net.parameters() if p.requires_grad]
    return list(net.params)


def grad_clipping(net: nn.Module | HasParams, theta: float) -> float:
    """Scale all gradients together so that their global L2 norm is at most `theta`.

    g <- min(1, theta / ||g||) g, where g joins the gradients of every parameter
    of `net` (an `nn.Module`, or a scratch model's `net.params`). Parameters
    without a gradient are skipped. Returns the norm before clipping.
    """
    grads = [p.grad for p in _parameters(net) if p.grad is not None]
    if not grads:
        return 0.0
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    if norm > theta:
        scale = theta / norm
        for g in grads:
            g.mul_(scale)
    return float(norm)
