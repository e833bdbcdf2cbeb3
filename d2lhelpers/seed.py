"""Reproducibility: one call seeds every random generator a notebook uses.

Learners call `set_seed` themselves; importing the package seeds nothing.
"""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["set_seed"]


def set_seed(seed: int = 0) -> None:
    """Seed Python's `random`, NumPy and torch (CPU and all GPUs) with `seed`."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"set_seed expects a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
