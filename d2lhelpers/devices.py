"""Device choice: CUDA, then Apple MPS, then CPU.

The accelerators are the CUDA devices when there are any, else the one Apple MPS
device, else none; `num_gpus`, `gpu`, `try_gpu` and `try_all_gpus` all describe that
same list. Everything is decided when a function is called, never at import, so
importing `d2lhelpers` touches no GPU. Introduced in 07_deep_learning_computation.ipynb.
"""

from __future__ import annotations

import torch

__all__ = ["cpu", "gpu", "num_gpus", "try_gpu", "try_all_gpus"]


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def _mps_only() -> bool:
    """True when Apple MPS is the accelerator: no CUDA, MPS available."""
    return not torch.cuda.is_available() and _mps_available()


def cpu() -> torch.device:
    """The CPU device."""
    return torch.device("cpu")


def gpu(i: int = 0) -> torch.device:
    """The i-th accelerator: `cuda:i`, or `mps` for i == 0 on a Mac without CUDA.

    Like the book's `gpu`, it does not check that the device exists (see `try_gpu`).
    """
    if i == 0 and _mps_only():
        return torch.device("mps")
    return torch.device(f"cuda:{i}")


def num_gpus() -> int:
    """Number of accelerators: the CUDA devices, else 1 for Apple MPS, else 0.

    `gpu(i)` for `i < num_gpus()` names each of them.
    """
    if torch.cuda.is_available():
        return torch.cuda.device_count()
    return 1 if _mps_available() else 0


def try_gpu(i: int = 0) -> torch.device:
    """`gpu(i)` if `0 <= i < num_gpus()`, else the CPU."""
    return gpu(i) if 0 <= i < num_gpus() else cpu()


def try_all_gpus() -> list[torch.device]:
    """`[gpu(i) for i in range(num_gpus())]`, or `[cpu()]` when there is no accelerator."""
    return [gpu(i) for i in range(num_gpus())] or [cpu()]
