"""Wall-clock timing for training loops.

`Timer` is the book's stopwatch, with one fix: when a GPU is busy, its queued
kernels are waited for before the clock is read, so times are real.
Introduced in 03_linear_algebra.ipynb; used by every trainer.
"""

from __future__ import annotations

import time

import torch

__all__ = ["Timer"]


def _synchronize() -> None:
    """Wait for queued CUDA/MPS work, so the clock measures finished work."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        torch.mps.synchronize()


class Timer:
    """Record several running times.

    `start()` begins a lap, `stop()` ends it and returns its length in seconds.
    """

    def __init__(self) -> None:
        self.times: list[float] = []
        self._tik: float | None = None
        self.start()

    def start(self) -> None:
        """Start (or restart) the current lap."""
        _synchronize()
        self._tik = time.perf_counter()

    def stop(self) -> float:
        """End the current lap and return its length in seconds."""
        if self._tik is None:
            raise RuntimeError("Timer.stop() called before Timer.start()")
        _synchronize()
        self.times.append(time.perf_counter() - self._tik)
        self._tik = None
        return self.times[-1]

    def avg(self) -> float:
        """Average lap time in seconds (0.0 when no lap was recorded)."""
        return sum(self.times) / len(self.times) if self.times else 0.0

    def sum(self) -> float:
        """Total of all laps in seconds."""
        return sum(self.times)

    def cumsum(self) -> list[float]:
        """Running total after each lap, in seconds."""
        out, total = [], 0.0
        for t in self.times:
            total += t
            out.append(total)
        return out
