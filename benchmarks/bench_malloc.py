"""glibc's MALLOC_MMAP_THRESHOLD_=1048576 against glibc's default, on train_ch6 steps of notebook 09.

Until 2026-12-07 `make lab`, `make site` and Binder's start file ran the kernels with
`MALLOC_MMAP_THRESHOLD_=1048576`: every block of 1 MB or more is then mapped fresh from the
system and handed back when freed, so the heap never holds big freed blocks. The price is a
page fault for every page of every activation, in every step. This script measures both sides:
each run is a child process (the variable is read once, when the process starts) that trains
the same net of `_cnn_nets.NETS` on the same in-memory batches through `d2l.train_ch6`, and
prints its wall time and its peak resident memory. Runs alternate between the two settings,
the order flipping each repeat, so a change of machine load hits both alike.

    python benchmarks/bench_malloc.py                   # DenseNet, 30 steps, 2 repeats
    python benchmarks/bench_malloc.py --net NiN --steps 60 --repeats 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

from _common import machine

HERE = Path(__file__).resolve().parent
WAYS = {"MALLOC_MMAP_THRESHOLD_=1048576": "1048576", "glibc's default": None}

CHILD = """
import contextlib, io, resource, sys, time
import torch
import d2lhelpers as d2l
from _cnn_nets import NETS
from bench_layout import batches

name, steps = sys.argv[1], int(sys.argv[2])
make, image_size, batch_size = NETS[name]
data = batches(image_size, batch_size, steps)
torch.manual_seed(0)
net = make()
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    d2l.train_ch6(net, data, data[:1], 1, 0.05, torch.device("cpu"))
seconds = time.perf_counter() - start
print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def run(net: str, steps: int, threshold: str | None) -> tuple[float, float]:
    """(seconds, peak MB) of one child process."""
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_MMAP_THRESHOLD_"}
    if threshold is not None:
        env["MALLOC_MMAP_THRESHOLD_"] = threshold
    done = subprocess.run(
        [sys.executable, "-c", CHILD, net, str(steps)],
        env=env,
        cwd=HERE,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"the {net} child failed:\n{done.stderr[-2000:]}")
    seconds, peak_mb = done.stdout.split()[-2:]
    return float(seconds), float(peak_mb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--net", default="DenseNet")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(machine())
    results: dict[str, list[tuple[float, float]]] = {way: [] for way in WAYS}
    for r in range(args.repeats):
        for way in list(WAYS)[:: 1 if r % 2 == 0 else -1]:
            results[way].append(run(args.net, args.steps, WAYS[way]))
            print(f"  {way}: {results[way][-1][0]:.2f} s, peak {results[way][-1][1]:.0f} MB")
    median = {w: statistics.median(s for s, _ in v) for w, v in results.items()}
    peak = {w: max(p for _, p in v) for w, v in results.items()}
    fixed, default = WAYS
    print(
        f"{args.net}, {args.steps} train_ch6 steps, median of {args.repeats}: "
        f"{fixed} {median[fixed]:.2f} s (peak {peak[fixed]:.0f} MB), "
        f"{default} {median[default]:.2f} s (peak {peak[default]:.0f} MB): "
        f"the fixed threshold takes {median[fixed] / median[default]:.2f}x the time"
    )


if __name__ == "__main__":
    main()
