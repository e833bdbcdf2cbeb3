"""Peak memory of each notebook's kernel (Binder allows 2 GB).

Run: `python benchmarks/memory.py [notebooks/08_cnn.ipynb ...]` (default: all).
Each notebook is executed in a fresh kernel with a last cell appended that reads
the kernel's peak resident set size. It runs in quick mode, which keeps the
book's batch sizes and input sizes (224x224 for AlexNet, ...) and only trains
fewer batches, so the peak per training step is the one full mode reaches; the
whole Fashion-MNIST set is loaded in both modes.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
PEAK = (
    "import resource, sys\n"
    "_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
    "print('PEAK_MB', _kb / 1024 if sys.platform != 'darwin' else _kb / 1024**2)"
)


def peak_mb(path: Path) -> tuple[float, float]:
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PEAK))
    start = time.perf_counter()
    NotebookClient(
        nb, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    ).execute()
    seconds = time.perf_counter() - start
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    return float(text.split("PEAK_MB")[1].split()[0]), seconds


def main() -> None:
    os.environ.setdefault("D2L_QUICK", "1")
    paths = [Path(p) for p in sys.argv[1:]] or sorted((ROOT / "notebooks").glob("*.ipynb"))
    for path in paths:
        mb, seconds = peak_mb(path)
        print(
            f"{path.name}: peak kernel memory {mb:.0f} MB ({seconds:.0f} s, quick mode)", flush=True
        )


if __name__ == "__main__":
    main()
