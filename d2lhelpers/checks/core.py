"""The exercise registry and `check`: one verdict per answer, never a traceback.

Each notebook's exercises live in their own module (`ch08.py` for 08_cnn.ipynb), loaded
the first time one of its ids is checked. A module registers each exercise with
`@exercise("08.3", "title")` on a checker: a function of the learner's answer that
returns a `Verdict`. `checkers.py` builds the common checkers (choices, numbers,
tensors, functions called on fresh inputs, experiment bands). Inside this package, import
siblings relatively (`from .checkers import ...`) and the rest of the library absolutely
(`from d2lhelpers.cnn import corr2d`): the grader loads this package afresh under another
name, where `..` does not exist.

`check` prints one line (and an explanation after a pass), records the answer for the
grader, remembers a pass in the progress file, and returns a `CheckResult`.
Introduced in every notebook's 练习 section; instructors grade with `grade.py`.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import progress as _progress

__all__ = [
    "CheckResult",
    "Exercise",
    "ExerciseList",
    "Unanswered",
    "Verdict",
    "check",
    "exercise",
    "exercises",
]

KINDS = {
    "compute": "计算",
    "choice": "选择",
    "number": "数值",
    "experiment": "实验",
}
NOTEBOOKS = range(1, 16)
_ID = re.compile(r"^(\d{2})\.(\d+)$")


@dataclass(frozen=True)
class Verdict:
    """What a checker returns: passed (None: not answered) and the text shown with it.

    After a pass, `message` is the explanation; after a failure, a hint that does not give
    the answer away.
    """

    passed: bool | None
    message: str = ""


class Unanswered(Exception):
    """Raised inside a checker when the answer (or a function's result) is still empty."""


@dataclass(frozen=True)
class Exercise:
    """One registered exercise: its id ("08.3"), one-line title, kind and checker."""

    id: str
    title: str
    kind: str
    checker: Callable[[Any], Verdict]


@dataclass(frozen=True)
class CheckResult:
    """What `check` returns. `passed` is True, False, or None (not answered yet).

    The verdict was printed by `check`, so a cell ending with `d2l.check(...)` shows
    nothing more; `repr` stays informative.
    """

    exercise_id: str
    passed: bool | None
    message: str = ""

    def _ipython_display_(self) -> None:  # the printed verdict is the whole output
        pass


_REGISTRY: dict[str, Exercise] = {}
_LOADED: set[int] = set()
#: The last answer and result of each id in this kernel, read by the grader (grade.py).
ANSWERS: dict[str, Any] = {}
RESULTS: dict[str, CheckResult] = {}


def exercise(exercise_id: str, title: str, *, kind: str = "compute") -> Callable:
    """Decorator registering `checker(answer) -> Verdict` as exercise `exercise_id`."""
    if not _ID.match(exercise_id):
        raise ValueError(f"exercise ids look like '08.3', got {exercise_id!r}")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {sorted(KINDS)}, got {kind!r}")

    def register(checker: Callable[[Any], Verdict]) -> Callable[[Any], Verdict]:
        _REGISTRY[exercise_id] = Exercise(exercise_id, title, kind, checker)
        return checker

    return register


def notebook_number(notebook: int | str) -> int:
    """8, "8", "08" or "08_cnn" -> 8; a clear ValueError otherwise."""
    text = str(notebook).strip()
    match = re.match(r"^0*(\d{1,2})(?:_\w*)?$", text)
    number = int(match.group(1)) if match else -1
    if number not in NOTEBOOKS:
        raise ValueError(f"notebooks are numbered 1 to 15 (e.g. 8 or '08'), got {notebook!r}")
    return number


def _load(number: int) -> None:
    if number not in _LOADED:
        importlib.import_module(f"{__package__}.ch{number:02d}")
        _LOADED.add(number)


def registered(number: int) -> list[Exercise]:
    """The exercises of notebook `number`, in order of their ids."""
    _load(number)
    prefix = f"{number:02d}."
    found = [e for e in _REGISTRY.values() if e.id.startswith(prefix)]
    return sorted(found, key=lambda e: int(e.id.split(".")[1]))


def _lookup(exercise_id: object) -> Exercise:
    match = _ID.match(str(exercise_id)) if isinstance(exercise_id, str) else None
    if match is None:
        raise ValueError(
            f"exercise ids are strings like '08.3' (notebook 08, exercise 3), got {exercise_id!r}"
        )
    number = int(match.group(1))
    if number not in NOTEBOOKS:
        raise ValueError(f"there is no notebook {match.group(1)}; notebooks are 01 to 15")
    _load(number)
    if exercise_id not in _REGISTRY:
        ids = ", ".join(e.id for e in registered(number)) or "none"
        raise ValueError(f"no exercise {exercise_id!r}; notebook {number:02d} has: {ids}")
    return _REGISTRY[exercise_id]


def _describe(error: BaseException) -> str:
    """`TypeError: ... (your cell, line 3)`: the error and the learner's innermost line."""
    where = ""
    tb = error.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if _is_learner_code(name):
            where = f"（出错位置：{_short(name)} 第 {tb.tb_lineno} 行）"
        tb = tb.tb_next
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}{where}" if text else f"{type(error).__name__}{where}"


def _is_learner_code(filename: str) -> bool:
    """A notebook cell or a file of the learner's, not the library, torch or Python."""
    if "ipykernel_" in filename or filename.startswith("<"):
        return True
    parts = filename.replace("\\", "/").split("/")
    return not {"d2lhelpers", "site-packages", "dist-packages"} & set(parts) and not (
        filename.startswith(sys.base_prefix)
    )


def _short(filename: str) -> str:
    if "ipykernel_" in filename or filename.startswith("<ipython-input"):
        return "你的单元格"
    return filename.replace("\\", "/").rsplit("/", 1)[-1]


def run_checker(ex: Exercise, answer: Any) -> Verdict:
    """The checker's verdict on `answer`; no answer, learner errors and odd types included."""
    if answer is None or answer is Ellipsis:
        return Verdict(None)
    try:
        verdict = ex.checker(answer)
    except Unanswered:
        return Verdict(None)
    except Exception as error:  # the learner's function raised, or the answer is malformed
        return Verdict(False, f"检查时出错：{_describe(error)}。请检查答案的类型和形状。")
    if not isinstance(verdict, Verdict):
        raise TypeError(f"the checker of {ex.id} returned {verdict!r}, not a Verdict")
    return verdict


def format_verdict(exercise_id: str, verdict: Verdict) -> str:
    """`✓ 08.3 正确` (+ explanation), `✗ 08.3: hint`, or `08.3 尚未作答`."""
    if verdict.passed is None:
        return f"{exercise_id} 尚未作答：在上面的单元格里填写答案，再运行这一格。"
    if verdict.passed:
        return f"✓ {exercise_id} 正确" + (f"\n{verdict.message}" if verdict.message else "")
    return f"✗ {exercise_id}: {verdict.message or '还不对，再想想。'}"


def check(exercise_id: str, answer: Any) -> CheckResult:
    """Check `answer` to exercise `exercise_id` ("08.3") and print one verdict.

    `None` (the committed scaffold) means not answered yet: it prints `08.3 尚未作答` and
    never raises. A pass is remembered in the progress file (see `d2l.progress()`).
    Returns a `CheckResult` whose `passed` is True, False or None.
    """
    ex = _lookup(exercise_id)
    verdict = run_checker(ex, answer)
    result = CheckResult(ex.id, verdict.passed, verdict.message)
    ANSWERS[ex.id] = answer
    RESULTS[ex.id] = result
    print(format_verdict(ex.id, verdict))
    if verdict.passed:
        _progress.record_pass(ex.id)
    sys.stdout.flush()
    return result


class ExerciseList(list):
    """`exercises(8)`: a list of `Exercise`; shows as one line per id with its title."""

    def __repr__(self) -> str:
        return "\n".join(f"{e.id}  [{KINDS[e.kind]}] {e.title}" for e in self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(repr(self))


def exercises(notebook: int | str) -> ExerciseList:
    """The exercises of one notebook (8 or "08"): ids, one-line titles and kinds."""
    return ExerciseList(registered(notebook_number(notebook)))
