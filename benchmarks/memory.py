"""Peak memory of each notebook's kernel, and whether it runs within Binder's 2 GB.

Run: `python benchmarks/memory.py [--limit-mb 2048] [notebooks/08_cnn.ipynb ...]`
(default: all notebooks, no limit).

Each notebook is executed in a fresh kernel, with a first cell that samples the
kernel's anonymous memory (what cannot be paged out: tensors, Python objects) and
a last cell that prints it with the peak resident set size (which also counts
the pages of shared libraries such as libtorch that were read). It runs in quick
mode, which keeps the book's batch sizes and input sizes (224x224 for AlexNet, ...)
and only trains fewer batches, so one training step needs what it needs in full
mode; the whole Fashion-MNIST set is loaded in both modes.

With `--limit-mb N` (Linux, as root) the driver and the kernel run inside a new
memory cgroup limited to N MB, as a Binder container is, so `d2l.available_memory()`
(and 09's `memory_options`) sees the limit as on Binder; the line then also gives the cgroup's peak usage
(page cache included) and says whether the kernel was killed for lack of memory.
The kernel inherits this process's environment, allocator variables included (`make lab` and
Binder set none since 2026-12-07; see bench_malloc.py).
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = """\
import sys as _sys, threading as _threading, time as _time
_peak_anon = [0]
def _sample_anon():
    while True:
        with open('/proc/self/status') as _f:
            for _line in _f:
                if _line.startswith('RssAnon'):
                    _peak_anon[0] = max(_peak_anon[0], int(_line.split()[1]))
        _time.sleep(0.01)
if _sys.platform == 'linux':
    _threading.Thread(target=_sample_anon, daemon=True).start()
"""
PEAK = """\
import resource, sys
_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print('PEAK_MB', _kb / 1024 if sys.platform != 'darwin' else _kb / 1024**2, _peak_anon[0] / 1024)"""


class MemoryCgroup:
    """A fresh memory cgroup (v1 or v2) holding this process and its children."""

    def __init__(self, limit_mb: int) -> None:
        v2 = Path("/sys/fs/cgroup/cgroup.controllers")
        if v2.exists():
            parent, self.limit, self.peak_file = Path("/sys/fs/cgroup"), "memory.max", "memory.peak"
        elif Path("/sys/fs/cgroup/memory").is_dir():
            parent = Path("/sys/fs/cgroup/memory")
            self.limit, self.peak_file = "memory.limit_in_bytes", "memory.max_usage_in_bytes"
        else:
            raise SystemExit("--limit-mb needs Linux with a cgroup v1 or v2 memory controller")
        self.path = parent / f"d2l-memory-{os.getpid()}-{time.monotonic_ns()}"
        self.home = parent / self._current(parent)
        try:
            self.path.mkdir()
            (self.path / self.limit).write_text(str(limit_mb * 2**20))
        except OSError as e:
            raise SystemExit(f"cannot create a memory cgroup ({e}); run as root") from None

    @staticmethod
    def _current(parent: Path) -> str:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controllers == "" or "memory" in controllers.split(","):
                return path.lstrip("/")
        return ""

    def __enter__(self) -> MemoryCgroup:
        (self.path / "cgroup.procs").write_text(str(os.getpid()))
        return self

    def __exit__(self, *exc) -> None:
        (self.home / "cgroup.procs").write_text(str(os.getpid()))
        for _ in range(50):  # the kernel process may take a moment to exit
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)

    def peak_mb(self) -> float:
        return int((self.path / self.peak_file).read_text()) / 2**20


def _said(nb: nbformat.NotebookNode) -> list[str]:
    """What the notebook printed about fitting a step into memory (09's `memory_options`)."""
    return [
        line
        for cell in nb.cells
        for o in cell.get("outputs", [])
        if o.output_type == "stream"
        for line in o.get("text", "").splitlines()
        if line.startswith("memory:")
    ]


def run(path: Path) -> tuple[str, float]:
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(SAMPLE))
    nb.cells.append(nbformat.v4.new_code_cell(PEAK))
    current = {"cell": None}
    start = time.perf_counter()
    client = NotebookClient(
        nb,
        timeout=1800,
        kernel_name="python3",
        resources={"metadata": {"path": str(ROOT)}},
        on_cell_execute=lambda cell, cell_index: current.update(cell=cell_index),
    )
    try:
        client.execute()
    except DeadKernelError:
        first = nb.cells[current["cell"]].source.splitlines()[0] if current["cell"] else "?"
        result = f"kernel died (out of memory?) in cell {current['cell']} ({first!r})"
    else:
        text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
        rss, anon = (float(v) for v in text.split("PEAK_MB")[1].split()[:2])
        result = f"peak kernel memory {rss:.0f} MB resident, {anon:.0f} MB anonymous"
    seconds = time.perf_counter() - start
    return result + "".join(f"\n    {line}" for line in _said(nb)), seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--limit-mb", type=int, help="run inside a memory cgroup of this size")
    args = parser.parse_args()
    os.environ.setdefault("D2L_QUICK", "1")
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        if args.limit_mb:
            with MemoryCgroup(args.limit_mb) as cgroup:
                result, seconds = run(path)
                usage = cgroup.peak_mb()
            result += f"; cgroup limit {args.limit_mb} MB, peak usage {usage:.0f} MB"
        else:
            result, seconds = run(path)
        print(f"{path.name}: {result} ({seconds:.0f} s, quick mode)", flush=True)


if __name__ == "__main__":
    main()
