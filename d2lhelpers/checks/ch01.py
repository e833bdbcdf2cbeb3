"""Exercises of 01_tensors.ipynb (练习 01.1 to 01.5)."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Sequence
from typing import Any

import torch

from .checkers import choice, function, parts, tensor, value
from .core import Unanswered, Verdict, exercise

# The chapter's X and Y (section 逻辑运算): rebuilt here, never read from the notebook.
_X = torch.arange(12, dtype=torch.float32).reshape((3, 4))
_Y = torch.tensor([[1.0, 0, 2, 9], [4, 5, 6, 7], [0, 2, 1, 1]])


def _relations(X: torch.Tensor, Y: torch.Tensor) -> tuple[int, int, int]:
    return int((X < Y).sum()), int((X == Y).sum()), int((X > Y).sum())


def _small_ints(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two tensors of one random shape with values 0..3: some ties, and more of one
    strict relation than of the other (so swapped or non-strict counts never pass)."""
    while True:
        ndim = int(torch.randint(1, 4, (), generator=gen))
        shape = tuple(int(d) for d in torch.randint(2, 6, (ndim,), generator=gen))
        X = torch.randint(0, 4, shape, generator=gen).float()
        Y = torch.randint(0, 4, shape, generator=gen).float()
        less, equal, greater = _relations(X, Y)
        if equal > 0 and less != greater:
            return X, Y


exercise("01.1", "比较运算 X < Y、X > Y，数一数各有多少个 True")(
    parts(
        lt=tensor(
            _X < _Y,
            mistakes=[
                (_X > _Y, "这是 X > Y：方向反了。"),
                (_X <= _Y, "<= 把相等的位置也算成了 True；题目要的是严格小于。"),
            ],
        ),
        counts=function(
            _relations,
            _small_ints,
            mistakes=[
                (
                    lambda X, Y: _relations(X, Y)[::-1],
                    "顺序反了：依次返回 (X < Y, X == Y, X > Y) 的个数。",
                ),
                (
                    lambda X, Y: (int((X <= Y).sum()), int((X == Y).sum()), int((X >= Y).sum())),
                    "<= 和 >= 把相等的位置也数进去了：要用严格的 < 和 >。",
                ),
            ],
        ),
        nan=choice(
            "B",
            "ABC",
            hints={
                "A": "浮点数里有一个特殊的值和谁比较（包括它自己）都不相等、不小于也不大于。",
                "C": "每个位置最多满足 <、==、> 中的一个：总数会超过 numel 吗？",
            },
        ),
        explanation=(
            "比较运算和算术运算一样按元素进行，结果是同形状的 bool 张量；.sum() 把 True 当作 1 来数。"
            "对普通的数，每个位置恰好满足 <、==、> 之一，三个计数之和等于 numel()；"
            "NaN 与任何数（包括 NaN 自己）比较都得到 False，所以含 NaN 时三者之和小于 numel()。"
        ),
    )
)


# ----------------------------------------------------------------------------- 01.2


def _shape_or_error(expected: tuple[int, ...] | str, mistakes: Sequence[tuple[Any, str]]) -> Any:
    """A broadcast result: a shape (tuple, list, torch.Size) or the string 'error'.

    Unlike `value`, a wrong kind of answer (a shape where 'error' is expected, or the
    other way round) gets the same kind of hint as a wrong shape, so the form of the
    hint does not give away whether the pair broadcasts.
    """

    def norm(x: Any) -> Any:
        if isinstance(x, str):
            return x.strip().lower()
        if isinstance(x, torch.Size | tuple | list) and all(
            isinstance(d, int) and not isinstance(d, bool) for d in x
        ):
            return tuple(x)
        return None

    def check(answer: Any) -> Verdict:
        got = norm(answer)
        if got is None or (isinstance(got, str) and got != "error"):
            return Verdict(
                False,
                "请填写结果形状的元组，例如 (2, 3)，不能广播时填字符串 'error'"
                f"（你给的是 {answer!r}）。",
            )
        if got == norm(expected):
            return Verdict(True)
        for wrong, why in mistakes:
            if got == norm(wrong):
                return Verdict(False, why)
        return Verdict(False, "还不对：把两个形状右对齐、短的在左边补 1，再逐轴比较。")

    return check


exercise("01.2", "手算广播结果的形状")(
    parts(
        a=_shape_or_error(
            (2, 3, 4),
            [
                ((2, 1, 4), "长度为 1 的轴会被复制成另一方在这个轴上的长度。"),
                ((2, 3), "结果的轴数等于两者中较多的那个：短的形状在左边补 1。"),
                ((3, 4), "结果的轴数等于两者中较多的那个：短的形状在左边补 1。"),
                ("error", "右对齐后逐轴比较：每个轴上两个长度要么相等，要么有一个是 1。"),
            ],
        ),
        b=_shape_or_error(
            "error",
            [
                ((5, 5), "右对齐后最后一个轴是 4 对 5：它们相等吗？有一个是 1 吗？"),
                ((5, 4), "右对齐后最后一个轴是 4 对 5：它们相等吗？有一个是 1 吗？"),
                ((4, 5), "右对齐后最后一个轴是 4 对 5：它们相等吗？有一个是 1 吗？"),
            ],
        ),
        c=_shape_or_error(
            (8, 7, 6, 5),
            [
                ((8, 1, 6, 5), "第 1 轴是 1 对 7：长度 1 的一方被复制成 7。"),
                ((8, 7, 6, 1), "最后一个轴是 1 对 5：长度 1 的一方被复制成 5。"),
                ((7, 1, 5), "结果的轴数等于两者中较多的那个（4 个轴）。"),
                ("error", "先把 (7, 1, 5) 在左边补成 (1, 7, 1, 5)，再逐轴比较。"),
            ],
        ),
        explanation=(
            "(2, 1, 4) 与 (1, 3, 1) → (2, 3, 4)；(5, 4) 与 (4, 5) 右对齐后 4 对 5、5 对 4，"
            "都不相等也没有 1，不能广播；(8, 1, 6, 1) 与 (1, 7, 1, 5) → (8, 7, 6, 5)。"
            "每个轴取不为 1 的那个长度。"
        ),
    )
)


# ----------------------------------------------------------------------------- 01.3


def _positive_3d(gen: torch.Generator) -> tuple[torch.Tensor]:
    b, n, m = (int(v) for v in torch.randint(2, 6, (3,), generator=gen))
    n = n if n != b else b + 1  # so that T / T.sum(axis=1) fails as in the chapter
    return (torch.rand(b, n, m, generator=gen) + 0.1,)


exercise("01.3", "多轴求和、keepdims 与 cumsum 的形状；沿轴 1 归一化")(
    parts(
        sum02=value(
            (3,),
            mistakes=[
                ((2, 4), "沿轴 0 和轴 2 求和，消失的是这两个轴，留下的是第 1 轴。"),
                ((1, 3, 1), "不加 keepdims 时，被求和的轴会从形状里消失。"),
            ],
            hint="沿哪几个轴求和，哪几个轴就从形状里消失。",
        ),
        keep=value(
            (1, 3, 1),
            mistakes=[
                ((3,), "keepdims=True 时被求和的轴不消失，而是保留为长度 1。"),
                ((2, 1, 4), "被求和的是轴 0 和轴 2，保留下来的是第 1 轴的长度 3。"),
            ],
            hint="keepdims=True：被求和的轴保留为长度 1，其余轴不变。",
        ),
        cumsum=value(
            (2, 3, 4),
            mistakes=[
                ((2, 4), "cumsum 不降维：每个位置放的是到它为止的累积和。"),
                ((2, 1, 4), "cumsum 不降维，也不会把轴变成长度 1。"),
            ],
        ),
        why=choice(
            "A",
            "ABC",
            hints={
                "B": "整数张量也能用 / 相除（真除法，结果是浮点数），见“按元素运算”一节。",
                "C": "广播正是让形状不同的张量也能按元素运算的机制：问题出在哪个轴上？",
            },
        ),
        normalize=function(
            lambda T: T / T.sum(axis=1, keepdims=True),
            _positive_3d,
            mistakes=[
                (lambda T: T / T.sum(axis=2, keepdims=True), "这是沿轴 2（最后一个轴）归一化。"),
                (lambda T: T / T.sum(axis=0, keepdims=True), "这是沿轴 0 归一化。"),
                (lambda T: T / T.sum(), "这是除以全部元素的和，不是沿轴 1 的和。"),
            ],
        ),
        explanation=(
            "T.sum(axis=1) 的形状是 (2, 4)，与 (2, 3, 4) 右对齐后变成 (1, 2, 4)：倒数第二个轴 3 对 2，"
            "既不相等也没有 1，于是报错。keepdims=True 得到 (2, 1, 4)，长度 1 的轴沿轴 1 复制，"
            "每个 (i, :, k) 都除以它自己的和。"
        ),
    )
)


# ----------------------------------------------------------------------------- 01.4


exercise("01.4", "len(T)、遍历张量与 0 维张量")(
    parts(
        a=value(
            2,
            mistakes=[
                (24, "24 是元素总数 T.numel()，len 只看一个轴。"),
                (4, "4 是最后一个轴的长度；len 看的是另一头。"),
                (3, "3 是中间那个轴的长度。"),
            ],
        ),
        b=value(0, mistakes=[(-1, "最后一个轴是 T.shape[-1]，len 不看它。")]),
        each=value(
            (3, 4),
            mistakes=[
                ((2, 3), "遍历去掉的是第 0 轴，不是最后一个轴。"),
                ((4,), "每次取出的是第 0 轴上的一整块，它还有两个轴。"),
                ((2, 3, 4), "遍历时每次取出一块，它比 T 少一个轴。"),
            ],
        ),
        scalar=choice(
            "C",
            "ABC",
            hints={
                "A": "0 维张量的形状是 ()：它有“第 0 轴”吗？用代码试一试。",
                "B": "0 维张量的形状是 ()：它有“第 0 轴”吗？用代码试一试。",
            },
        ),
        explanation=(
            "张量像嵌套的列表：len 只数最外层，所以 len(T) == T.shape[0]；for t in T 依次取出"
            "第 0 轴上的每一块，形状是 T.shape[1:]。0 维张量没有轴，len 会抛出 TypeError"
            "（取它的值要用 .item()）。"
        ),
    )
)


# ----------------------------------------------------------------------------- 01.5

_OPS: list[tuple[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]] = [
    ("X.add_(Y)", lambda X, Y: X.add_(Y)),
    ("torch.add(X, Y, out=X)", lambda X, Y: torch.add(X, Y, out=X)),
    ("X.mul_(Y)", lambda X, Y: X.mul_(Y)),
    ("X.copy_(Y)", lambda X, Y: X.copy_(Y)),
    ("X.add(Y)", lambda X, Y: X.add(Y)),
    ("X + Y", lambda X, Y: X + Y),
    ("torch.mul(X, Y)", lambda X, Y: torch.mul(X, Y)),
    ("X.clone()", lambda X, Y: X.clone()),
]
_IN_PLACE = {"X.add_(Y)", "torch.add(X, Y, out=X)", "X.mul_(Y)", "X.copy_(Y)"}


def _check_reuses_memory(answer: Any) -> Verdict:
    """`reuses_memory(op, X, Y)` is called on every op of `_OPS`, in a random order."""
    if not callable(answer):
        return Verdict(False, f"请给出一个函数（def ...），你给的是 {type(answer).__name__}。")
    seed = secrets.randbits(63)  # local generators: the learner's random state is untouched
    ops = list(_OPS)
    random.Random(seed).shuffle(ops)
    gen = torch.Generator().manual_seed(seed)
    for k, (name, op) in enumerate(ops):
        X, Y = torch.rand(3, 4, generator=gen) + 1, torch.rand(3, 4, generator=gen) + 1
        got = answer(op, X, Y)
        if got is None:
            if k == 0:
                raise Unanswered
            return Verdict(False, f"对 op = {name}，你的函数返回了 None。")
        if isinstance(got, torch.Tensor):
            got = bool(got) if got.numel() == 1 else got
        if not isinstance(got, bool):
            return Verdict(False, f"请返回 True 或 False（对 op = {name}，你返回了 {got!r}）。")
        if got != (name in _IN_PLACE):
            return Verdict(
                False,
                f"对 op = {name} 判断错了：比较 op 返回的张量与调用前的 X 的 data_ptr()。",
            )
    return Verdict(True)


exercise("01.5", "用 data_ptr() 判断哪些写法是原地操作；as_tensor 是否共享内存")(
    parts(
        out=value(True, hint="用 data_ptr() 比较运算前后的 X。"),
        rebind=value(False, hint="X.add(Y) 先算出一个新张量，再让名字 X 指向它：比较 data_ptr()。"),
        as_tensor=value(True, hint="改完 torch.as_tensor(A) 的元素后打印 A 看一看。"),
        reuses_memory=_check_reuses_memory,
        explanation=(
            "torch.add(X, Y, out=X) 把结果写进 X 已有的内存；X = X.add(Y) 分配新内存，"
            "再让名字 X 指向新张量（旧内存没有别的引用时被回收）。torch.as_tensor(A) 与 "
            "torch.from_numpy(A) 一样，在 dtype 相同、都在 CPU 上时不复制数据，所以改它就是改 A；"
            "要类型转换（例如 dtype=torch.float32）或放到 GPU 上时它才复制。"
        ),
    )
)
