"""Checkers for the common kinds of answer: build one, register it with `@exercise`.

Every checker is a function of the learner's answer that returns a `Verdict`; it never
raises on a wrong type or shape (a hint says what was expected), and a function answer is
called on fresh random inputs, so a hard-coded result cannot pass.

    choice("B", explanation=..., hints={"A": ...})     one (or several) option letters
    number(0.25, rtol=1e-3, mistakes=[(0.5, hint)])     a number, with known wrong values
    value((14, 14), mistakes=[((13, 13), hint)])        exact: ints, tuples, shapes, strings
    tensor(expected, atol=1e-5)                         a tensor compared with a reference
    function(reference, make_inputs)                    a function called on fresh inputs
    band(0.85, 0.89, minutes=3)                         an experiment's reported result
    parts(a=number(...), b=choice(...))                 a dict of sub-answers

A chapter's own checker (chNN.py) builds on the same pieces: `type_name` (how a wrong answer
is named in a hint), `as_number`, `plain`, `same` (tensor comparison with a hint), and
`fresh_generator` / `randint` for new random inputs that leave the learner's random state alone.
"""

from __future__ import annotations

import copy
import math
import numbers
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch

from d2lhelpers.quick import is_quick  # absolute: the grader loads this package afresh

from .core import Unanswered, Verdict

__all__ = ["band", "choice", "function", "number", "parts", "tensor", "value"]

Checker = Callable[[Any], Verdict]
Mistake = tuple[Any, str]


def type_name(x: object) -> str:
    if isinstance(x, torch.Tensor):
        return f"dtype 为 {x.dtype}、形状为 {tuple(x.shape)} 的张量"
    return type(x).__name__


def fresh_generator() -> torch.Generator:
    """A generator with a fresh random seed: new inputs for every check, and the learner's
    global random state untouched."""
    return torch.Generator().manual_seed(secrets.randbits(63))


def randint(low: int, high: int, gen: torch.Generator) -> int:
    """An int in [low, high] (both included), drawn with `gen`."""
    return int(torch.randint(low, high + 1, (), generator=gen))


def _pass(explanation: str) -> Verdict:
    return Verdict(True, explanation)


# ----------------------------------------------------------------------------- choices


def choice(
    correct: str,
    options: str = "ABCD",
    *,
    explanation: str = "",
    hints: Mapping[str, str] | None = None,
    hint: str = "还不对，再读一遍题目里的每个选项。",
) -> Checker:
    """One option letter ('B'), or several for a multiple-answer question ('AC').

    `hints` maps a wrong letter (or a wrong set, written 'AB') to a hint that does not give
    the answer away; `hint` is used for any other wrong choice.
    """
    correct_set = frozenset(correct.upper())
    hints = {k.upper(): v for k, v in (hints or {}).items()}

    def check(answer: Any) -> Verdict:
        if not isinstance(answer, str):
            return Verdict(
                False, f"请填写选项字母的字符串，例如 'B'（你给的是 {type_name(answer)}）。"
            )
        letters = answer.upper().replace(",", "").replace(" ", "")
        if not letters:
            raise Unanswered
        unknown = sorted(set(letters) - set(options))
        if unknown:
            return Verdict(False, f"选项只有 {', '.join(options)}，没有 {', '.join(unknown)}。")
        if len(correct_set) == 1 and len(letters) > 1:
            return Verdict(False, "这道题只有一个正确选项，请只填一个字母。")
        if frozenset(letters) == correct_set:
            return _pass(explanation)
        key = "".join(sorted(set(letters)))
        return Verdict(False, hints.get(key, hint))

    return check


# ----------------------------------------------------------------------------- numbers


def as_number(answer: Any) -> float | None:
    """A real number from an int, float, numpy scalar or one-element tensor; else None."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, torch.Tensor):
        return float(answer.detach().cpu().reshape(())) if answer.numel() == 1 else None
    if isinstance(answer, numbers.Real):
        return float(answer)
    return None


def _close(a: float, b: float, rtol: float, atol: float) -> bool:
    return math.isclose(a, b, rel_tol=rtol, abs_tol=atol)


def number(
    expected: float,
    *,
    rtol: float = 1e-6,
    atol: float = 0.0,
    explanation: str = "",
    mistakes: Sequence[Mistake] = (),
    hint: str = "还不对。",
) -> Checker:
    """A number within `rtol`/`atol` of `expected`; `mistakes` pairs a typical wrong value
    with its hint (matched with the same tolerance)."""

    def check(answer: Any) -> Verdict:
        x = as_number(answer)
        if x is None:
            return Verdict(False, f"请填写一个数（int 或 float），你给的是 {type_name(answer)}。")
        if _close(x, expected, rtol, atol):
            return _pass(explanation)
        for wrong, why in mistakes:
            if _close(x, float(wrong), rtol, atol):
                return Verdict(False, why)
        return Verdict(False, hint)

    return check


# ----------------------------------------------------------------------------- exact values


def plain(x: Any) -> Any:
    """torch.Size, lists and tensors of ints -> tuples, so (14, 14) == torch.Size([14, 14])."""
    if isinstance(x, torch.Tensor) and x.dim() == 0:
        return x.item()
    if isinstance(x, torch.Tensor | list | tuple):
        return tuple(plain(v) for v in (x.tolist() if isinstance(x, torch.Tensor) else x))
    return x


def value(
    expected: Any,
    *,
    explanation: str = "",
    mistakes: Sequence[Mistake] = (),
    hint: str = "还不对。",
) -> Checker:
    """Exact equality for ints, strings, booleans, tuples and shapes (lists, tuples and
    torch.Size compare alike); a string compares without surrounding spaces and case."""

    def norm(x: Any) -> Any:
        x = plain(x)
        return x.strip().lower() if isinstance(x, str) else x

    target = norm(expected)

    def check(answer: Any) -> Verdict:
        got = norm(answer)
        if isinstance(target, tuple) and not isinstance(got, tuple):
            return Verdict(False, f"请给出一个元组，例如 (2, 3)（你给的是 {type_name(answer)}）。")
        if type(target) is bool and type(got) is not bool:
            return Verdict(False, f"请填写 True 或 False（你给的是 {type_name(answer)}）。")
        if got == target:
            return _pass(explanation)
        for wrong, why in mistakes:
            if got == norm(wrong):
                return Verdict(False, why)
        return Verdict(False, hint)

    return check


# ----------------------------------------------------------------------------- tensors


def _compare_tensors(
    got: Any, expected: torch.Tensor, rtol: float, atol: float, what: str = "结果"
) -> str | None:
    """None when `got` matches `expected`; otherwise why not, as a hint."""
    if not isinstance(got, torch.Tensor):
        extra = "：可以用 torch.tensor(...) 转换" if isinstance(got, list | tuple) else ""
        return f"{what}应为 torch.Tensor，你的是 {type_name(got)}{extra}。"
    if tuple(got.shape) != tuple(expected.shape):
        return f"{what}的形状应为 {tuple(expected.shape)}，你的是 {tuple(got.shape)}。"
    got = got.detach().cpu()
    if expected.dtype.is_floating_point and not (got.dtype.is_floating_point or got.is_complex()):
        return f"{what}应为浮点张量，你的 dtype 是 {got.dtype}（整数运算会截断）。"
    if expected.dtype == torch.bool or not expected.dtype.is_floating_point:
        if not torch.equal(got.to(expected.dtype), expected):
            return f"{what}的值不对。"
        return None
    got64, exp64 = got.to(torch.float64), expected.to(torch.float64)
    if not torch.allclose(got64, exp64, rtol=rtol, atol=atol, equal_nan=True):
        diff = (got64 - exp64).abs().nan_to_num(float("inf")).max().item()
        return f"{what}的值不对（最大误差 {diff:.3g}，容差 atol={atol:g}, rtol={rtol:g}）。"
    return None


def _matches(got: Any, wrong: Any, args: tuple, rtol: float, atol: float) -> bool:
    """Whether `got` equals a typical wrong answer: a value, or `wrong(*args)` (which may raise
    on inputs it does not fit: then it is not this mistake)."""
    try:
        reference = wrong(*_clone(args)) if callable(wrong) else wrong
        return same(got, reference, rtol, atol) is None
    except Exception:
        return False


def same(got: Any, expected: Any, rtol: float, atol: float, what: str = "结果") -> str | None:
    """None when `got` equals `expected` (tensors within tolerance, numbers, tuples)."""
    if isinstance(expected, torch.Tensor):
        return _compare_tensors(got, expected, rtol, atol, what)
    if isinstance(expected, tuple | list) and not isinstance(expected, torch.Size):
        if not isinstance(got, tuple | list) or len(got) != len(expected):
            return f"{what}应为含 {len(expected)} 个元素的元组，你的是 {type_name(got)}。"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            why = same(g, e, rtol, atol, f"{what}的第 {i} 个元素")
            if why:
                return why
        return None
    if isinstance(expected, numbers.Real) and not isinstance(expected, bool):
        x = as_number(got)
        if x is None:
            return f"{what}应为一个数，你的是 {type_name(got)}。"
        return None if _close(x, float(expected), rtol, atol) else f"{what}的值不对。"
    return None if plain(got) == plain(expected) else f"{what}不对。"


def tensor(
    expected: torch.Tensor | Callable[[], torch.Tensor],
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    explanation: str = "",
    mistakes: Sequence[Mistake] = (),
) -> Checker:
    """A tensor equal to `expected` (or to what `expected()` computes) within tolerance.

    Other devices are compared on the CPU; a list, an array or a wrong shape or dtype gets a
    hint. `mistakes` pairs a typical wrong tensor (or a function computing it) with its hint.
    """

    def check(answer: Any) -> Verdict:
        reference = expected() if callable(expected) else expected
        why = same(answer, reference, rtol, atol)
        if why is None:
            return _pass(explanation)
        for wrong, hint in mistakes:
            if _matches(answer, wrong, (), rtol, atol):
                return Verdict(False, hint)
        return Verdict(False, why)

    return check


# ----------------------------------------------------------------------------- functions


def _clone(args: tuple) -> tuple:
    """A private copy of each argument (tensors, modules, lists...), so neither the learner's
    function nor the reference can change what the other one sees."""
    return tuple(_copy(a) for a in args)


def _copy(a: Any) -> Any:
    if isinstance(a, torch.Tensor):
        return a.clone()
    try:
        return copy.deepcopy(a)
    except Exception:  # not copyable (a generator, a file): shared as it is
        return a


def _describe_inputs(args: tuple) -> str:
    return ", ".join(
        f"形状 {tuple(a.shape)} 的张量" if isinstance(a, torch.Tensor) else repr(a) for a in args
    )


def function(
    reference: Callable[..., Any],
    make_inputs: Callable[[torch.Generator], tuple],
    *,
    trials: int = 3,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    explanation: str = "",
    mistakes: Sequence[tuple[Callable[..., Any], str]] = (),
) -> Checker:
    """The learner's function, called on `trials` fresh random inputs, agrees with `reference`.

    `make_inputs(generator)` returns the argument tuple (draw with `generator=` so every
    check sees new numbers). A function that returns None or raises NotImplementedError
    counts as not answered; `mistakes` pairs a typical wrong function with its hint.
    """

    def check(answer: Any) -> Verdict:
        if not callable(answer):
            return Verdict(False, f"请给出一个函数（def ...），你给的是 {type_name(answer)}。")
        for trial in range(trials):
            gen = fresh_generator()
            args = make_inputs(gen)
            try:
                got = answer(*_clone(args))
            except NotImplementedError:
                raise Unanswered from None
            if got is None:
                if trial == 0:
                    raise Unanswered
                return Verdict(False, f"对输入（{_describe_inputs(args)}），你的函数返回了 None。")
            why = same(got, reference(*_clone(args)), rtol, atol)
            if why is None:
                continue
            for wrong, hint in mistakes:
                if _matches(got, wrong, args, rtol, atol):
                    return Verdict(False, hint)
            return Verdict(False, f"对输入（{_describe_inputs(args)}）：{why}")
        return _pass(explanation)

    return check


# ----------------------------------------------------------------------------- experiments


def band(
    low: float,
    high: float | None = None,
    *,
    minutes: float,
    what: str = "测试准确率",
    key: str | None = "test_acc",
    valid: tuple[float, float] = (0.0, 1.0),
    explanation: str = "",
    low_hint: str = "",
) -> Checker:
    """An experiment's result within the band measured in default mode on a 2-core CPU.

    The answer is the number, or the `History` (or dict) a trainer returned, whose `key`
    (its last epoch) is read; `key=None` for a result that no trainer returns. In quick mode the band does not apply: the check only makes
    sure the result is a number in `valid` and says so. `minutes` is the default-mode time.
    """
    span = f"{low:g}–{high:g}" if high is not None else f"≥ {low:g}"
    reference = f"默认模式的参考范围 {span}（2 核 CPU 上实测，运行约 {minutes:g} 分钟）"
    asked = f"{what}（一个数）" + ("或训练函数返回的 History" if key else "")

    def check(answer: Any) -> Verdict:
        result = answer
        if key and isinstance(answer, Mapping):
            if key not in answer:
                return Verdict(False, f"这个字典里没有 '{key}'：请传入训练函数返回的 History。")
            result = answer[key]
            if isinstance(result, list | tuple):
                if not result:
                    return Verdict(False, f"History 里的 '{key}' 是空的：训练跑完了吗？")
                result = result[-1]
        x = as_number(result)
        if x is None:
            return Verdict(False, f"请填写{asked}，你给的是 {type_name(answer)}。")
        if math.isnan(x) or not (valid[0] <= x <= valid[1]):
            return Verdict(False, f"{what}应在 {valid[0]:g} 到 {valid[1]:g} 之间，你的是 {x:g}。")
        if is_quick():
            return Verdict(
                True, f"已记录 {x:.3g}。快速模式只检查结果的形式：{reference}只适用于默认模式。"
            )
        if x < low:
            return Verdict(
                False, f"{what} {x:.3g} 低于{reference}。{low_hint or '检查设置是否与题目一致。'}"
            )
        if high is not None and x > high:
            return Verdict(False, f"{what} {x:.3g} 高于{reference}：设置与题目一致吗？")
        return _pass(f"{what} {x:.3g}，落在{reference}内。{explanation}".strip())

    return check


# ----------------------------------------------------------------------------- several parts


def parts(explanation: str = "", **checkers: Checker) -> Checker:
    """A dict of sub-answers {'a': ..., 'b': ...}, each with its own checker.

    All parts None: not answered. Passes when every part passes; otherwise each failing or
    missing part gets its hint.
    """

    def check(answer: Any) -> Verdict:
        if not isinstance(answer, Mapping):
            keys = ", ".join(repr(k) for k in checkers)
            return Verdict(False, f"请给出一个字典，键为 {keys}（你给的是 {type_name(answer)}）。")
        unknown = sorted(set(answer) - set(checkers), key=str)
        if unknown:
            return Verdict(
                False,
                f"没有这些小题：{', '.join(map(repr, unknown))}；小题为 {', '.join(checkers)}。",
            )
        verdicts: dict[str, Verdict] = {}
        for name, part in checkers.items():
            sub = answer.get(name)
            if sub is None or sub is Ellipsis:
                verdicts[name] = Verdict(None)
                continue
            try:
                verdicts[name] = part(sub)
            except Unanswered:
                verdicts[name] = Verdict(None)
        if all(v.passed is None for v in verdicts.values()):
            raise Unanswered
        if all(v.passed for v in verdicts.values()):
            notes = [f"({k}) {v.message}" for k, v in verdicts.items() if v.message]
            return _pass("\n".join([*notes, explanation]).strip())
        problems = [
            f"({k}) " + ("尚未作答" if v.passed is None else v.message or "还不对")
            for k, v in verdicts.items()
            if not v.passed
        ]
        return Verdict(False, "；".join(problems))

    return check
