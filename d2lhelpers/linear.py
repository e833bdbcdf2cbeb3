"""The from-scratch pieces of linear regression: model, loss, optimiser.

Introduced in 05_linear_networks.ipynb; reused by the weight-decay section of
06_mlp.ipynb.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

__all__ = ["linreg", "squared_loss", "sgd"]


def linreg(X: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """The linear model Xw + b: X (batch_size, num_inputs), w (num_inputs, 1) -> (batch_size, 1)."""
    return torch.matmul(X, w) + b


def squared_loss(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example squared loss (y_hat - y)^2 / 2; y is reshaped to y_hat's shape."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


def sgd(params: Iterable[torch.Tensor], lr: float, batch_size: int) -> None:
    """One minibatch SGD step in place: p -= lr * p.grad / batch_size; then zero the grads.

    The loss was summed over the batch, hence the division by batch_size.
    """
    with torch.no_grad():
        for param in params:
            if param.grad is None:
                raise ValueError(
                    f"sgd: a parameter of shape {tuple(param.shape)} has no gradient; create it "
                    "with requires_grad=True and call l.sum().backward() before sgd"
                )
            param -= lr * param.grad / batch_size
            param.grad.zero_()
