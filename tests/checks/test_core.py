"""d2l.check, d2l.exercises and d2l.progress as a learner uses them."""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest
import torch

import d2lhelpers as d2l
from d2lhelpers.checks import core
from d2lhelpers.checks.progress import passed_ids, progress_file, record_pass

GOOD_03_2 = {"a": 2, "b": 0}


def test_unanswered_prints_and_never_raises(capsys):
    result = d2l.check("03.2", None)
    assert result.passed is None
    assert capsys.readouterr().out.strip().startswith("03.2 尚未作答")
    assert not progress_file().exists()


def test_pass_prints_a_tick_with_the_explanation_and_is_remembered(capsys):
    result = d2l.check("03.2", GOOD_03_2)
    out = capsys.readouterr().out
    assert result.passed is True and out.startswith("✓ 03.2 正确\n")
    assert "shape[0]" in out  # the explanation follows a pass
    assert "03.2" in passed_ids()
    assert core.ANSWERS["03.2"] is GOOD_03_2 and core.RESULTS["03.2"] == result


def test_fail_prints_a_cross_with_a_hint(capsys):
    result = d2l.check("03.2", {"a": 24, "b": 0})
    assert result.passed is False
    assert (
        capsys.readouterr().out.strip() == "✗ 03.2: (a) 24 是元素总数 X.numel()，len 只看一个轴。"
    )
    assert "03.2" not in passed_ids()


@pytest.mark.parametrize("answer", [None, "abc", [1, 2], 3.5, object(), torch.ones(2, 2), ...])
def test_any_answer_gets_a_verdict_not_a_traceback(answer, capsys):
    for exercise in d2l.exercises(3):
        result = d2l.check(exercise.id, answer)
        assert result.passed in (None, False)
        assert capsys.readouterr().out.strip()


def test_the_learners_error_is_named_with_its_line(capsys):
    def normalize_rows(A):
        return A.sum(axis=7)

    d2l.check("03.3", {"a": "C", "b": "B", "c": normalize_rows})
    out = capsys.readouterr().out
    assert out.startswith("✗ 03.3: ") and "IndexError" in out and "test_core.py" in out


def test_a_call_ending_a_cell_shows_only_the_printed_verdict():
    from IPython.core.formatters import DisplayFormatter

    result = d2l.check("03.2", None)
    assert DisplayFormatter().format(result) == ({}, {})  # what Jupyter shows under the cell
    assert "passed=None" in repr(result)


def test_bad_ids_are_clear_errors():
    with pytest.raises(ValueError, match="'08.3'"):
        d2l.check("3.1", 1)
    with pytest.raises(ValueError, match="notebook 03 has: 03.1"):
        d2l.check("03.9", 1)
    with pytest.raises(ValueError, match="01 to 15"):
        d2l.check("16.1", 1)
    with pytest.raises(ValueError, match="1 to 15"):
        d2l.exercises(0)


def test_exercises_lists_ids_with_titles():
    listing = d2l.exercises("03")
    assert [e.id for e in listing] == ["03.1", "03.2", "03.3", "03.4", "03.5"]
    assert repr(listing).splitlines()[1].startswith("03.2  [计算] len(X)")
    assert d2l.exercises(3) == d2l.exercises("03_linear_algebra")


def test_progress_table_and_one_line(capsys):
    d2l.check("03.2", GOOD_03_2)
    capsys.readouterr()
    table = d2l.progress()
    row = next(r for r in table if r[0].startswith("03_"))
    assert row[1:] == (1, 5)
    assert "03_linear_algebra" in repr(table) and "<table>" in table._repr_html_()
    assert d2l.progress(3) is None
    assert "本章 1/5" in capsys.readouterr().out


# ----------------------------------------------------------------------------- progress file


def test_progress_file_location(monkeypatch, tmp_path):
    monkeypatch.delenv("D2L_PROGRESS_FILE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    if os.name == "posix" and not os.uname().sysname == "Darwin":
        assert progress_file() == tmp_path / "d2lhelpers" / "progress.json"


def test_a_pass_is_written_atomically(monkeypatch):
    record_pass("03.1")
    path = progress_file()
    before = path.read_text()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    record_pass("03.2")  # the write fails: one line, no exception, old file intact
    assert path.read_text() == before
    assert [p.name for p in path.parent.iterdir() if p.suffix == ".tmp"] == []


def test_a_corrupt_file_is_reported_set_aside_and_replaced(capsys):
    path = progress_file()
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    record_pass("03.4")
    out = capsys.readouterr().out
    assert "损坏" in out and "corrupt" in out
    assert list(passed_ids()) == ["03.4"]
    assert len(list(path.parent.glob("progress.json.corrupt-*"))) == 1
    path.write_text(json.dumps({"passed": ["03.1"]}))  # valid JSON, wrong shape
    assert passed_ids() == {}


def test_a_deleted_file_resets_progress():
    record_pass("03.1")
    progress_file().unlink()
    assert passed_ids() == {}


def _pass_many(path: str, start: int) -> None:
    os.environ["D2L_PROGRESS_FILE"] = path
    for k in range(start, start + 20):
        record_pass(f"99.{k}")


def test_two_kernels_writing_at_once_keep_every_pass():
    path = str(progress_file())
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_pass_many, args=(path, start)) for start in (0, 100)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert all(w.exitcode == 0 for w in workers)
    assert len(passed_ids()) == 40
