"""What the exercise tests share: a verdict without printing, recording or progress."""

from __future__ import annotations

from typing import Any

from d2lhelpers.checks import core


def verdict(exercise_id: str, answer: Any) -> core.Verdict:
    """The checker's verdict on `answer`, as `d2l.check` computes it."""
    return core.run_checker(core._lookup(exercise_id), answer)


def fails_with(exercise_id: str, answer: Any, hint: str) -> None:
    """Assert the answer fails and the hint contains `hint`."""
    v = verdict(exercise_id, answer)
    assert v.passed is False, f"{exercise_id}: {answer!r} should fail, got {v}"
    assert hint in v.message, f"{exercise_id}: expected a hint with {hint!r}, got {v.message!r}"


def passes(exercise_id: str, answer: Any) -> None:
    v = verdict(exercise_id, answer)
    assert v.passed is True, f"{exercise_id}: the solution should pass, got {v}"
