"""The root conftest.py makes nbval enforce the exercise verdicts.

A worked solution (under solutions/) fails on any check that does not pass; a chapter
notebook (under notebooks/) fails on a check that passes, since it is committed with
every answer at None. Run end to end, as `make test-notebooks` runs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
SETUP = "import d2lhelpers as d2l"
GOOD = 'answer_03_2 = {"a": 2, "b": 0}\nd2l.check("03.2", answer_03_2)'
WRONG = 'answer_03_2 = {"a": 24, "b": 0}\nd2l.check("03.2", answer_03_2)'
BLANK = 'answer_03_2 = None\nd2l.check("03.2", answer_03_2)'


def _notebook(path: Path, *cells: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells]), path
    )


def test_solutions_must_pass_and_chapters_must_stay_blank(tmp_path):
    shutil.copy(ROOT / "conftest.py", tmp_path / "conftest.py")
    _notebook(tmp_path / "notebooks" / "03_ok.ipynb", SETUP, BLANK)
    _notebook(tmp_path / "notebooks" / "03_answered.ipynb", SETUP, GOOD)
    _notebook(tmp_path / "solutions" / "03_ok.ipynb", SETUP, GOOD)
    _notebook(tmp_path / "solutions" / "03_wrong.ipynb", SETUP, WRONG)
    _notebook(tmp_path / "solutions" / "03_blank.ipynb", SETUP, BLANK)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p",
         "no:cacheprovider", "-rA", "--color=no", "notebooks", "solutions"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "D2L_PROGRESS_FILE": str(tmp_path / "progress.json")},
    )  # fmt: skip
    out = run.stdout + run.stderr
    assert "PASSED notebooks/03_ok.ipynb::Cell 1" in out, out
    assert "PASSED solutions/03_ok.ipynb::Cell 1" in out, out
    assert "FAILED notebooks/03_answered.ipynb::Cell 1" in out, out
    assert "passes exercise 03.2: a chapter notebook is committed with every answer" in out
    assert "FAILED solutions/03_wrong.ipynb::Cell 1" in out
    assert "does not pass exercise 03.2: ✗ 03.2" in out
    assert "FAILED solutions/03_blank.ipynb::Cell 1" in out
    assert "does not pass exercise 03.2: 03.2 尚未作答" in out
    assert "3 failed, 7 passed" in out
