"""train_ch6's memory layout on the CPU: its default against both layouts forced, on every net of 08-09.

For each net of notebooks 08 and 09 at the scale notebook 09 trains on a CPU
(`_cnn_nets.NETS`), `d2l.train_ch6` runs the same real Fashion-MNIST batches
(in memory: the loader is not what is measured) three ways: the default
(`channels_last=None`: the rule of d2lhelpers/_layout.py decides), channels-last
forced (True) and the usual layout forced (False), each timed by train_ch6's own
clock (training steps only). The default runs its first two steps in the usual
layout before it switches, a fixed cost that a short run would exaggerate, so
the figure is one epoch of the notebook (60,000 images), projected from the
measured steps: the first three as they were, every later one at the median
step time. Median over interleaved repeats (the order rotates, so a change of
machine load hits every way alike).
Goal: for every net the default is at least as fast as the better forced layout,
within noise (>= 0.95x); the script prints the rule's decision beside it.

On a busy machine wall-clock figures mostly measure the other programs:
`--cpu-time` runs torch on one thread and reads that thread's CPU time instead
(train_ch6's clock is swapped for `time.thread_time`), which other programs
barely change; it answers the same question for one thread.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import statistics
import time
import types

import torch
import torch.nn.functional as F
from _cnn_nets import NETS
from _common import machine

import d2lhelpers as d2l
from d2lhelpers import _reporting
from d2lhelpers._layout import channels_last_pays

EPOCH = 60_000  # training images per epoch in the notebooks
WAYS = {"default": None, "channels-last": True, "usual": False}


def batches(image_size: int, batch_size: int, num_batches: int) -> list:
    """The first num_batches * batch_size training images, as train_ch6 gets them."""
    X, y, _, _ = d2l.load_fashion_mnist_arrays()
    n = batch_size * num_batches
    X = X[:n].unsqueeze(1).float() / 255  # (n, 1, 28, 28)
    if image_size != 28:
        X = F.interpolate(X, size=(image_size, image_size), mode="bilinear")
    return [(X[i : i + batch_size], y[i : i + batch_size]) for i in range(0, n, batch_size)]


class _Report(_reporting.Report):
    """train_ch6's Report, kept so the benchmark can read the time of every step."""

    made: list[_reporting.Report] = []

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _Report.made.append(self)


def epoch_speed(make_net, data, channels_last, batch_size: int) -> float:
    """Examples/sec of one notebook epoch, projected from train_ch6's step times on `data`."""
    torch.manual_seed(0)
    with contextlib.redirect_stdout(io.StringIO()):
        # one test batch: train_ch6 refuses an empty test set; the steps' times are read
        d2l.train_ch6(make_net(), data, data[:1], 1, 0.01, "cpu", channels_last=channels_last)
    steps = _Report.made.pop().timer.times
    num_batches = EPOCH // batch_size
    seconds = sum(steps[:3]) + statistics.median(steps[3:]) * (num_batches - 3)
    return num_batches * batch_size / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30, help="training batches per run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument(
        "--nets", nargs="*", default=list(NETS), help="a subset of: " + ", ".join(NETS)
    )
    parser.add_argument(
        "--cpu-time", action="store_true", help="one thread, its CPU time (for a busy machine)"
    )
    args = parser.parse_args()
    importlib.import_module("d2lhelpers.train_cnn").Report = _Report  # type: ignore[attr-defined]
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.cpu_time:
        torch.set_num_threads(1)  # the work runs in this thread, whose CPU time is read
        thread_clock = types.SimpleNamespace(perf_counter=time.thread_time)
        importlib.import_module("d2lhelpers.timing").time = thread_clock  # type: ignore[attr-defined]
    clock = "CPU time of one thread" if args.cpu_time else "wall clock"
    print(f"machine: {machine()}; {clock}; load average before: {os.getloadavg()[0]:.2f}")
    print(
        f"examples/sec over one epoch, projected from {args.batches} measured steps per run; "
        f"median of {args.repeats} interleaved repeats"
    )
    header = f"{'net':20s}{'rule':>15s}{'default':>10s}{'ch.-last':>10s}{'usual':>10s}{'default/best':>14s}"
    print(header)
    worst = 1.0
    for name in args.nets:
        make_net, image_size, batch_size = NETS[name]
        data = batches(image_size, batch_size, args.batches)
        runs: dict[str, list[float]] = {way: [] for way in WAYS}
        order = list(WAYS)
        for r in range(args.repeats):
            for way in order[r % 3 :] + order[: r % 3]:
                runs[way].append(epoch_speed(make_net, data, WAYS[way], batch_size))
        med = {way: statistics.median(v) for way, v in runs.items()}
        ratio = med["default"] / max(med["channels-last"], med["usual"])
        worst = min(worst, ratio)
        rule = "channels-last" if channels_last_pays(make_net()) else "usual"
        print(
            f"{name:20s}{rule:>15s}{med['default']:>10.0f}{med['channels-last']:>10.0f}"
            f"{med['usual']:>10.0f}{ratio:>13.2f}x" + ("" if ratio >= 0.95 else "  <- below 0.95")
        )
    print(
        f"load average after: {os.getloadavg()[0]:.2f}; worst default/best {worst:.2f}x (goal >= 0.95)"
    )


if __name__ == "__main__":
    main()
