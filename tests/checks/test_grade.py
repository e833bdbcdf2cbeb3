"""`make grade`: a folder of small submissions of notebook 03 gives the expected CSV."""

from __future__ import annotations

import csv

import nbformat
import pytest

from d2lhelpers.checks.grade import grade_folder

SOLVED = {
    "03.1": '{"a": lambda A: A + A.T, "b": "B"}',
    "03.2": '{"a": 2, "b": 0}',
    "03.3": '{"a": "C", "b": "B", "c": lambda A: A / A.sum(axis=1, keepdims=True)}',
    "03.4": '{"axis0": (3, 4), "axis1": (2, 4), "axis2": (2, 3), "same_norm": True}',
    "03.5": '{"loop_mm": lambda A, B: A @ B, "flops": lambda n, s: 2 * n**3 / s, "speedup": 300}',
}


def _notebook(path, answers, before=(), after=(), checks=None):
    """A notebook shaped like 03's exercise section: answer cell, then check cell."""
    cells = [nbformat.v4.new_code_cell("import d2lhelpers as d2l")]
    cells += [nbformat.v4.new_code_cell(src) for src in before]
    for i, answer in answers.items():
        name = "answer_" + i.replace(".", "_")
        cells.append(nbformat.v4.new_code_cell(f"{name} = {answer}"))
        cells.append(nbformat.v4.new_code_cell((checks or {}).get(i, f'd2l.check("{i}", {name})')))
    cells += [nbformat.v4.new_code_cell(src) for src in after]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


@pytest.fixture(scope="module")
def grades(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    blank = dict.fromkeys(SOLVED, "None")
    _notebook(folder / "solution_03_linear_algebra.ipynb", SOLVED)
    _notebook(folder / "blank_03_linear_algebra.ipynb", blank)
    _notebook(
        folder / "forged_03_linear_algebra.ipynb",
        blank,
        before=['print("✓ 03.1 正确")', 'd2l.check = lambda i, a: print(f"✓ {i} 正确")'],
        checks={"03.2": 'd2l.check("03.2", {"a": 2, "b": 0})'},
    )
    _notebook(folder / "edited_03_linear_algebra.ipynb", SOLVED, checks={"03.4": 'print("skip")'})
    _notebook(folder / "loops_03_linear_algebra.ipynb", SOLVED, before=["while True:\n    pass"])
    _notebook(  # a cell past its limit that prints nothing, as an idle kernel nbclient missed
        folder / "deaf_03_linear_algebra.ipynb",
        SOLVED,
        before=[
            "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\ntime.sleep(20)"
        ],
    )
    _notebook(
        folder / "raises_03_linear_algebra.ipynb", SOLVED, before=['raise ValueError("boom")']
    )
    _notebook(folder / "dies_03_linear_algebra.ipynb", SOLVED, after=["import os\nos._exit(1)"])
    (folder / "junk_03.ipynb").write_text("this is not a notebook")
    out = grade_folder(folder, quick=True, timeout=120, cell_timeout=15, jobs=2)
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    return {(r["file"].split("_")[0], r["exercise"]): (r["verdict"], r["detail"]) for r in rows}


def test_a_solution_passes_everything(grades):
    assert all(grades["solution", i][0] == "passed" for i in SOLVED)


def test_a_blank_copy_is_unanswered(grades):
    assert all(grades["blank", i] == ("unanswered", "") for i in SOLVED)


def test_a_forged_copy_is_caught(grades):
    verdict, detail = grades["forged", "03.1"]
    assert verdict == "not-checked" and "printed ✓ without a passing check" in detail
    verdict, detail = grades["forged", "03.2"]  # d2l.check was replaced: nothing recorded
    assert verdict == "not-checked" and "check cell edited" in detail


def test_a_removed_check_cell_is_named(grades):
    assert grades["edited", "03.4"] == ("not-checked", "check cell deleted")
    assert grades["edited", "03.1"][0] == "passed"


def test_a_loop_is_interrupted_and_the_rest_graded(grades):
    assert all(grades["loops", i][0] == "passed" for i in SOLVED)
    assert grades["loops", "*"][1] == "cell 1 ran past 15 s and was interrupted"


def test_a_cell_past_its_limit_is_noted_even_when_it_prints_nothing(grades):
    assert all(grades["deaf", i][0] == "passed" for i in SOLVED)
    assert grades["deaf", "*"][1] == "cell 1 ran past 15 s"


def test_an_exception_is_noted_and_the_rest_graded(grades):
    assert all(grades["raises", i][0] == "passed" for i in SOLVED)
    assert "ValueError: boom" in grades["raises", "*"][1]


def test_a_dead_kernel_and_a_broken_file_never_stop_the_grader(grades):
    assert "kernel died" in grades["dies", "*"][1]
    assert grades["dies", "03.1"][0] == "error"
    assert grades["junk", "*"][0] == "error"


def test_the_command_line_as_make_grade_runs_it(tmp_path):
    import subprocess
    import sys

    _notebook(tmp_path / "03_linear_algebra.ipynb", {"03.2": '{"a": 2, "b": 0}'})
    done = subprocess.run(
        [sys.executable, "-m", "d2lhelpers.checks.grade", str(tmp_path), "--cell-timeout", "60"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "03_linear_algebra.ipynb: 1/5 passed" in done.stdout
    rows = list(csv.reader((tmp_path / "grades.csv").open(encoding="utf-8")))
    assert ["03_linear_algebra.ipynb", "03.2", "passed", ""] in rows
    assert ["03_linear_algebra.ipynb", "03.1", "not-checked", "check cell deleted"] in rows
