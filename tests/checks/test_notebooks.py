"""Every chapter's 练习 section is answerable and checked, with a worked solution.

Static checks of the committed notebooks (the nbval run executes them): one answer and one
check cell per registered exercise, in order, after the `## 练习` heading; the first code
cell prints the learner's progress; the section links to `solutions/NN_name.ipynb`, whose
check cells are the same.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import d2lhelpers as d2l

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHECK = re.compile(r"""^d2l\.check\("(\d{2}\.\d+)", (answer_\d{2}_\d+)\)$""")


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


def _checks(cells: list[dict]) -> list[tuple[str, str]]:
    found = []
    for c in cells:
        if c["cell_type"] == "code" and "d2l.check(" in _source(c):
            match = CHECK.match(_source(c).strip())
            assert match, f'a check cell is exactly d2l.check("NN.k", answer_NN_k): {_source(c)!r}'
            found.append(match.groups())
    return found


def test_every_notebook_is_covered():
    assert len(NOTEBOOKS) == 15


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_exercise_section(path):
    number = int(path.name[:2])
    ids = [e.id for e in d2l.exercises(number)]
    assert len(ids) >= 5, "every notebook keeps (at least) its five exercises"
    cells = _cells(path)
    heading = next(i for i, c in enumerate(cells) if _source(c).startswith("## 练习"))
    assert not _checks(cells[:heading]), "check cells belong to the 练习 section"
    checks = _checks(cells[heading:])
    assert [i for i, _ in checks] == ids, "one check cell per exercise, in order"
    for exercise_id, name in checks:
        assert exercise_id.replace(".", "_") == name[len("answer_") :]
        assert any(name in _source(c) and "=" in _source(c) for c in cells[heading:]), name
    solution = ROOT / "solutions" / path.name
    assert f"../solutions/{path.name}" in _source(cells[heading]), "the section links its solutions"
    assert solution.is_file(), f"{solution} is missing"
    assert _checks(_cells(solution)) == checks, "the solution checks the same answers"
    first_code = next(c for c in cells if c["cell_type"] == "code")
    assert f"d2l.progress({number})" in _source(first_code)


def test_solutions_have_a_chapter_each():
    solutions = sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))
    assert solutions == [p.name for p in NOTEBOOKS]
