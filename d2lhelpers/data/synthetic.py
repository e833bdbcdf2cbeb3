"""Synthetic regression data and the book's `load_array`.

Introduced in 05_linear_networks.ipynb (linear regression).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.utils import data

__all__ = ["synthetic_data", "load_array"]


def synthetic_data(
    w: torch.Tensor, b: float, num_examples: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generate y = Xw + b + noise, with X ~ N(0, 1) and noise ~ N(0, 0.01^2).

    w: (num_inputs,) or (num_inputs, 1). Returns X: (num_examples, num_inputs) and
    y: (num_examples, 1).
    """
    w = torch.as_tensor(w, dtype=torch.float32)
    if w.dim() == 2 and w.shape[1] == 1:
        w = w.reshape(-1)  # the book also passes column vectors, shape (num_inputs, 1)
    if w.dim() != 1:
        raise ValueError(
            f"w must hold one weight per feature, shape (num_inputs,) or (num_inputs, 1); "
            f"got shape {tuple(w.shape)}"
        )
    X = torch.normal(0, 1, (num_examples, len(w)))
    y = X @ w + b
    y += torch.normal(0, 0.01, y.shape)
    return X, y.reshape((-1, 1))


def load_array(
    data_arrays: Sequence[torch.Tensor], batch_size: int, is_train: bool = True
) -> data.DataLoader:
    """A PyTorch DataLoader over tensors sharing their first dimension.

    Shuffles when `is_train`. data_arrays: a tuple such as (features, labels).
    """
    dataset = data.TensorDataset(*data_arrays)
    return data.DataLoader(dataset, batch_size, shuffle=is_train)
