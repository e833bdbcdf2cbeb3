"""Wall-clock timing for training loops.

`Timer` is the book's stopwatch, with one fix: told the device whose work it
times (`Timer(device)`), it waits for that device's queued kernels before
reading the clock, so a GPU's times are real. It waits for nothing else: a
Timer of CPU work (the default, as in the book) never touches CUDA or MPS.
Introduced in 03_linear_algebra.ipynb; used by every trainer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import torch

__all__ = ["Timer"]

#: What a Timer may be told: one device, its name, a list of them (several GPUs), or None (CPU).
Devices = torch.device | str | Sequence[torch.device | str] | None


def _accelerators(device: Devices) -> tuple[torch.device, ...]:
    """The devices among `device` whose work runs asynchronously (all but the CPU)."""
    if device is None:
        return ()
    devices = [device] if isinstance(device, (torch.device, str)) else list(device)
    return tuple(d for d in map(torch.device, devices) if d.type not in ("cpu", "meta"))


def synchronize(device: torch.device) -> None:
    """Wait until `device` (cuda, mps, xpu, ...) has finished the work queued on it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
    else:  # other accelerators follow the same pattern: torch.xpu.synchronize(device), ...
        backend = getattr(torch, device.type, None)
        if backend is not None and hasattr(backend, "synchronize"):
            backend.synchronize(device)


class Timer:
    """Record several running times.

    `start()` begins a lap, `stop()` ends it and returns its length in seconds.
    device: the device (or list of devices) whose work is timed; before reading
    the clock the Timer waits for the work queued there. None (the default) or
    the CPU: nothing to wait for, as in the book.
    """

    def __init__(self, device: Devices = None) -> None:
        self.devices = _accelerators(device)
        self.times: list[float] = []
        self._tik: float | None = None
        self.start()

    def _wait(self) -> None:
        for device in self.devices:
            synchronize(device)

    def start(self) -> None:
        """Start (or restart) the current lap."""
        self._wait()
        self._tik = time.perf_counter()

    def stop(self) -> float:
        """End the current lap and return its length in seconds."""
        if self._tik is None:
            raise RuntimeError("Timer.stop() called before Timer.start()")
        self._wait()
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
