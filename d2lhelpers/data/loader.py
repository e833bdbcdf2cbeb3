"""An in-memory batch iterator that behaves like a DataLoader, without workers.

For data that fits in memory (Fashion-MNIST is 47 MB as uint8), indexing a
tensor per batch is far cheaper than the book's per-image PIL pipeline with
worker processes. Every batch is a new tensor, as a DataLoader's are: changing
one in place changes neither the loader's data nor a later batch.
Used by `load_data_fashion_mnist`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import torch

__all__ = ["BatchLoader"]


class BatchLoader:
    """Iterate over minibatches of in-memory tensors.

    tensors: tensors sharing their first dimension (num_examples, ...).
    transform: applied to each batch's tuple, e.g. uint8 images -> float.
    Re-shuffles every epoch when `shuffle`; `seed` makes the order repeatable,
    otherwise torch's global generator (see `set_seed`) decides. Batches are
    copies: a training step may modify them in place without side effects.
    """

    def __init__(
        self,
        tensors: tuple[torch.Tensor, ...],
        batch_size: int,
        shuffle: bool = False,
        transform: Callable[..., tuple[torch.Tensor, ...]] | None = None,
        seed: int | None = None,
        drop_last: bool = False,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        n = len(tensors[0])
        if any(len(t) != n for t in tensors):
            raise ValueError("all tensors must have the same number of examples")
        self._tensors = tuple(tensors)  # private: the Fashion-MNIST loaders share one cache
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.transform = transform
        self.drop_last = drop_last
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    @property
    def num_examples(self) -> int:
        return len(self._tensors[0])

    def __len__(self) -> int:
        n, b = self.num_examples, self.batch_size
        return n // b if self.drop_last else math.ceil(n / b)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = self.num_examples
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
        else:
            order = None
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            if order is None:  # a slice is a view: copy it, so the batch is the caller's own
                batch = tuple(t[start : start + self.batch_size].clone() for t in self._tensors)
            else:  # indexing with a tensor already copies
                idx = order[start : start + self.batch_size]
                batch = tuple(t[idx] for t in self._tensors)
            yield self.transform(*batch) if self.transform else batch
