"""Device choice: CUDA, then Apple MPS, then CPU.

Everything is decided when a function is called, never at import, so importing
`d2lhelpers` touches no GPU. Introduced in 07_deep_learning_computation.ipynb.
"""

from __future__ import annotations

import torch

__all__ = ["cpu", "gpu", "num_gpus", "try_gpu", "try_all_gpus"]


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def cpu() -> torch.device:
    """The CPU device."""
    return torch.device("cpu")


def gpu(i: int = 0) -> torch.device:
    """The i-th CUDA device (it need not exist; see `try_gpu`)."""
    return torch.device(f"cuda:{i}")


def num_gpus() -> int:
    """Number of usable accelerators: CUDA devices, else 1 for Apple MPS, else 0."""
    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return 1 if _mps_available() else 0


def try_gpu(i: int = 0) -> torch.device:
    """The i-th accelerator if it exists (CUDA, then MPS for i == 0), else the CPU."""
    if torch.cuda.is_available() and torch.cuda.device_count() >= i + 1:
        return gpu(i)
    if i == 0 and not torch.cuda.is_available() and _mps_available():
        return torch.device("mps")
    return cpu()


def try_all_gpus() -> list[torch.device]:
    """All accelerators, or `[cpu()]` when there is none."""
    if torch.cuda.is_available() and torch.cuda.device_count() > 0:
        return [gpu(i) for i in range(torch.cuda.device_count())]
    if _mps_available():
        return [torch.device("mps")]
    return [cpu()]
