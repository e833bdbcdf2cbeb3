"""Grade a folder of learner notebooks: `python -m d2lhelpers.checks.grade FOLDER`.

`make grade SUBMISSIONS=folder` calls this. Each notebook runs headless in its own
process and kernel, in a temporary folder, with a time limit per cell and per notebook
(quick mode unless `--default-mode`). After the learner's cells, the grader runs a cell of
its own that re-checks every recorded answer with a fresh copy of the checkers; grades come
from that structured record, never from printed text. It writes `grades.csv` (file,
exercise, verdict, detail) and prints one summary line per notebook.

Verdicts: passed, failed, unanswered, not-checked (the check cell did not run, or
`d2l.check` was replaced), timeout, error. Details flag a deleted or edited check cell, a
"✓" printed without a passing check, cells that raised, and cells that ran too long. A
submission that loops, raises, kills its kernel or is not a notebook gets rows saying so
and never stops the grader.

Limits: the re-check runs in the learner's kernel, so a learner who deliberately patches
torch or the checker internals at run time can fool it, as with any in-process grader.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

__all__ = ["grade_folder", "main"]

_MARK = "<<<D2L-GRADES>>>"
_CHECK_CALL = re.compile(r"""check\(\s*["'](\d{2}\.\d+)["']""")
_PRINTED_PASS = re.compile(r"✓\s*(\d{2}\.\d+)")

# Runs in the learner's kernel after their cells: re-check each recorded answer with the
# checkers loaded afresh from their files (under a private package name).
_GRADER_CELL = r"""
def _d2l_grade(ids):
    import importlib.util, json, sys
    from pathlib import Path
    import d2lhelpers.checks as _ex
    folder = Path(_ex.__file__).parent
    name = "_d2l_grader_checks"
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)])
    fresh = importlib.util.module_from_spec(spec)
    sys.modules[name] = fresh
    spec.loader.exec_module(fresh)
    core = sys.modules[name + ".core"]
    recorded = dict(sys.modules["d2lhelpers.checks.core"].ANSWERS)
    rows = {}
    for i in ids:
        if i not in recorded:
            rows[i] = ["not-checked", ""]
            continue
        verdict = core.run_checker(core._lookup(i), recorded[i])
        state = {True: "passed", False: "failed", None: "unanswered"}[verdict.passed]
        rows[i] = [state, "" if verdict.passed else verdict.message]
    print(%r + json.dumps(rows))
_d2l_grade(%r)
"""


# ----------------------------------------------------------------------------- one notebook


def _notebook_number(path: Path, sources: Sequence[str]) -> int | None:
    """From the file name ('08_cnn.ipynb', 'alice-08_cnn.ipynb') or else its check calls."""
    match = re.search(r"(?<!\d)(\d{2})_", path.name)
    if match and 1 <= int(match.group(1)) <= 15:
        return int(match.group(1))
    found = Counter(i.split(".")[0] for s in sources for i in _CHECK_CALL.findall(s))
    return int(found.most_common(1)[0][0]) if found else None


def _static_notes(ids: Sequence[str], cells: Sequence[Any]) -> dict[str, list[str]]:
    """Per id: 'check cell deleted' or 'check cell edited' from the notebook's sources."""
    notes: dict[str, list[str]] = {i: [] for i in ids}
    for i in ids:
        pattern = re.compile(
            rf"""^d2l\.check\(\s*(["']){re.escape(i)}\1\s*,\s*[A-Za-z_]\w*\s*\)$"""
        )
        calls = [c.source.strip() for c in cells if c.cell_type == "code" and i in c.source]
        calls = [s for s in calls if re.search(rf"""check\(\s*["']{re.escape(i)}["']""", s)]
        if not calls:
            notes[i].append("check cell deleted")
        elif not any(pattern.match(s) for s in calls):
            notes[i].append("check cell edited")
    return notes


def _output_text(cell: Any) -> str:
    texts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream":
            texts.append(out.get("text", ""))
        elif "data" in out:
            texts.append(str(out["data"].get("text/plain", "")))
    return "".join(texts)


def grade_one(path: Path, *, quick: bool, cell_timeout: int) -> list[list[str]]:
    """Rows [exercise, verdict, detail] for one notebook (run in its own process)."""
    import nbformat
    from nbclient.exceptions import DeadKernelError

    from .client import PollingNotebookClient
    from .core import registered

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as error:
        return [["*", "error", f"not a readable notebook: {type(error).__name__}: {error}"]]
    number = _notebook_number(path, [c.source for c in nb.cells])
    if number is None:
        return [
            ["*", "error", "cannot tell which notebook this is (no NN_ in the name, no checks)"]
        ]
    ids = [e.id for e in registered(number)]
    notes = _static_notes(ids, nb.cells)

    workdir = tempfile.mkdtemp(prefix="d2l-grade-")
    env = {
        **os.environ,
        "D2L_PROGRESS_FILE": str(Path(workdir) / "progress.json"),  # never the learner's own
        "D2L_QUICK": "1" if quick else "0",
    }
    client = PollingNotebookClient(
        nb,
        timeout=cell_timeout,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeout", "evalue": f"ran past {cell_timeout} s"},
        kernel_name="python3",
        resources={"metadata": {"path": workdir}},
    )
    general: list[str] = []
    index, n_learner = -1, len(nb.cells)
    grades: dict[str, list[str]] = {}
    with client.setup_kernel(env=env):
        try:
            for index, cell in enumerate(nb.cells):
                start = time.monotonic()
                client.execute_cell(cell, index)
                timed_out = time.monotonic() - start >= cell_timeout
                interrupted = False
                for out in cell.get("outputs", []):
                    if out.get("output_type") != "error":
                        continue
                    if out.get("ename") == "KeyboardInterrupt" and timed_out:
                        interrupted = True  # interrupt_on_timeout's own error
                        continue
                    raised = f"{out.get('ename')}: {out.get('evalue', '')[:80]}"
                    general.append(f"cell {index} raised {raised}")
                if timed_out:  # with or without an output saying so
                    how = " and was interrupted" if interrupted else ""
                    general.append(f"cell {index} ran past {cell_timeout} s{how}")
            grader = nbformat.v4.new_code_cell(_GRADER_CELL % (_MARK, ids))
            nb.cells.append(grader)
            client.execute_cell(grader, len(nb.cells) - 1)
            text = _output_text(grader)
            if _MARK in text:
                grades = json.loads(text.split(_MARK, 1)[1].strip().splitlines()[0])
            else:
                general.append("the grader's own cell failed: " + text[-200:].replace("\n", " "))
        except DeadKernelError:
            general.append(f"the kernel died at cell {index}")
    learner_cells = nb.cells[:n_learner]
    printed = {i for c in learner_cells for i in _PRINTED_PASS.findall(_output_text(c))}
    rows = []
    for i in ids:
        verdict, detail = grades.get(i, ["error", "not graded: " + "; ".join(general[-1:])])
        flags = list(notes[i])
        if i in printed and i in grades and verdict != "passed":
            flags.append("printed ✓ without a passing check")
        rows.append([i, verdict, "; ".join(x for x in [detail, *flags] if x)])
    rows += [["*", "note", g] for g in general]
    return rows


# ----------------------------------------------------------------------------- the folder


def _run_child(path: Path, quick: bool, timeout: int, cell_timeout: int) -> list[list[str]]:
    """grade_one in a child process with its own session, killed whole after `timeout`."""
    cmd = [
        sys.executable,
        "-m",
        "d2lhelpers.checks.grade",
        "--one",
        str(path),
        "--cell-timeout",
        str(cell_timeout),
    ]
    cmd += [] if quick else ["--default-mode"]
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    ) as child:
        try:
            out, err = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)  # the kernel too: same session
            child.communicate()
            return [["*", "timeout", f"the notebook ran past {timeout} s and was stopped"]]
    if _MARK not in out:
        last = (err.strip().splitlines() or ["no output"])[-1]
        return [["*", "error", f"the grader failed on this file: {last[:200]}"]]
    return json.loads(out.split(_MARK, 1)[1])


def _summary(name: str, rows: list[list[str]]) -> str:
    counts = Counter(verdict for ex, verdict, _ in rows if ex != "*")
    total = sum(counts.values())
    parts = [f"{counts['passed']}/{total} passed"] + [
        f"{n} {v}" for v, n in sorted(counts.items()) if v != "passed"
    ]
    trouble = [d for ex, v, d in rows if ex == "*" and v in {"timeout", "error"}]
    return f"{name}: " + ", ".join(parts if total else trouble or ["no exercises found"])


def grade_folder(
    folder: Path,
    *,
    quick: bool = True,
    timeout: int | None = None,
    cell_timeout: int | None = None,
    jobs: int = 2,
    out: Path | None = None,
) -> Path:
    """Grade every .ipynb under `folder`; write grades.csv and print a summary per file."""
    timeout = timeout or (900 if quick else 3 * 3600)
    cell_timeout = cell_timeout or min(timeout, 300 if quick else 1800)
    files = sorted(p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not files:
        raise SystemExit(f"no .ipynb files under {folder}")
    mode = "quick mode" if quick else "default mode"
    print(f"grading {len(files)} notebooks in {mode}, {jobs} at a time, {timeout} s each at most")
    start = time.monotonic()

    def grade(path: Path) -> tuple[Path, list[list[str]]]:
        try:
            return path, _run_child(path, quick, timeout, cell_timeout)
        except Exception as error:  # one broken submission never stops the others
            return path, [["*", "error", f"{type(error).__name__}: {error}"]]

    out = out or folder / "grades.csv"
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(grade, files))
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["file", "exercise", "verdict", "detail"])
        for path, rows in results:
            for row in rows:
                writer.writerow([str(path.relative_to(folder)), *row])
    os.replace(tmp, out)
    for path, rows in results:
        print(_summary(str(path.relative_to(folder)), rows))
    print(f"wrote {out} ({time.monotonic() - start:.0f} s)")
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m d2lhelpers.checks.grade", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("folder", nargs="?", type=Path, help="folder of submitted notebooks")
    parser.add_argument("--default-mode", action="store_true", help="run in default mode (slow)")
    parser.add_argument(
        "--timeout", type=int, help="seconds per notebook (quick 900, default 10800)"
    )
    parser.add_argument(
        "--cell-timeout", type=int, help="seconds per cell before it is interrupted"
    )
    parser.add_argument("--jobs", type=int, default=2, help="notebooks graded at once (default 2)")
    parser.add_argument("--out", type=Path, help="CSV to write (default FOLDER/grades.csv)")
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = not args.default_mode
    if args.one is not None:  # the child process of _run_child
        rows = grade_one(args.one, quick=quick, cell_timeout=args.cell_timeout or 300)
        print(_MARK + json.dumps(rows))
        return
    if args.folder is None or not args.folder.is_dir():
        parser.error(f"give a folder of notebooks (got {args.folder})")
    grade_folder(
        args.folder,
        quick=quick,
        timeout=args.timeout,
        cell_timeout=args.cell_timeout,
        jobs=args.jobs,
        out=args.out,
    )


if __name__ == "__main__":
    main()
