"""Exercises of 15_keys.ipynb (练习 15.1 to 15.5)."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from . import NOTEBOOKS as _TITLES
from .checkers import fresh_generator, function, parts, same, type_name, value
from .core import Unanswered, Verdict, exercise

Checker = Callable[[Any], Verdict]


def _ints(gen: torch.Generator, low: int, high: int, n: int = 1) -> list[int]:
    """n integers in [low, high]."""
    return [int(v) for v in torch.randint(low, high + 1, (n,), generator=gen)]


# ----------------------------------------------------------------------------- 15.1


def _three_axes(gen: torch.Generator) -> tuple[torch.Tensor]:
    a, b, c = _ints(gen, 2, 5, 3)
    c += c == a * b  # a·b = c would make reshape(c, -1) and reshape(-1, c) the same tensor
    return (torch.randn(a, b, c, generator=gen),)


exercise(
    "15.1", "permute + reshape：第 i 行是 x[:, :, i] 拉平；view 能代替 reshape 吗", kind="compute"
)(
    parts(
        rows=function(
            lambda x: x.permute(2, 0, 1).reshape(x.shape[2], -1),
            _three_axes,
            mistakes=[
                (
                    lambda x: x.reshape(x.shape[2], -1),
                    "只 reshape 不 permute：reshape 按内存顺序重新切分，第 i 行不是 x[:, :, i]。",
                ),
                (
                    lambda x: x.permute(2, 1, 0).reshape(x.shape[2], -1),
                    "第 i 行是 x[:, :, i] 的转置拉平后的结果：其余两个轴的顺序要保持 (0, 1)。",
                ),
                (
                    lambda x: x.reshape(-1, x.shape[2]),
                    "这是 (a·b, c)：每一列才是 x[:, :, i]，题目要的是每一行。",
                ),
            ],
        ),
        view=value(
            True,
            hint="不连续不等于不能 view：在代码里试一试 x.permute(2, 0, 1).view(4, 6)。",
        ),
        explanation=(
            "permute 把最后一个轴换到最前面，其余两个轴保持原来的顺序，于是 reshape 后第 i 行"
            "就是 x[:, :, i] 按行拉平。permute 的结果不连续，但 view 只要求被合并的轴在内存里"
            "首尾相接：轴 0、1 的步长是 b·c 和 c，合并成一个步长为 c 的轴正好可以，所以这里 view 也行；"
            "permute(2, 1, 0) 之后就不行了。不确定时用 reshape，它在必要时复制一份。"
        ),
    )
)


# ----------------------------------------------------------------------------- 15.2


def _two_sets(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    n, extra, d = _ints(gen, 2, 5, 3)
    return torch.randn(n, d, generator=gen), torch.randn(n + extra, d, generator=gen)


exercise("15.2", "用 unsqueeze 和广播计算欧氏距离矩阵", kind="compute")(
    function(
        torch.cdist,
        _two_sets,
        rtol=1e-4,
        atol=1e-5,
        mistakes=[
            (
                lambda A, B: torch.cdist(A, B) ** 2,
                "这是距离的平方：最后还要开方。",
            ),
            (
                lambda A, B: torch.cdist(B, A),
                "行和列反了：结果的第 i 行第 j 列是 A[i] 与 B[j] 的距离，形状 (n, m)。",
            ),
            (
                lambda A, B: (A.unsqueeze(1) - B.unsqueeze(0)).abs().sum(-1),
                "这是 L1 距离（绝对值之和）：欧氏距离是差的平方和再开方。",
            ),
        ],
        explanation=(
            "A.unsqueeze(1) 的形状是 (n, 1, d)，B.unsqueeze(0) 是 (1, m, d)，相减时广播成 (n, m, d)，"
            "沿最后一维求平方和再开方，得到 (n, m)。它要一块 n·m·d 的中间张量；torch.cdist 不用。"
        ),
    )
)


# ----------------------------------------------------------------------------- 15.3


def _reference_mask(X: torch.Tensor, valid_len: torch.Tensor, value: float) -> torch.Tensor:
    mask = torch.arange(X.shape[-1])[None, :] < valid_len[:, None]
    return X.masked_fill(~mask, value)


def _mask_inputs(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    n, T = _ints(gen, 2, 5), _ints(gen, 3, 6)
    X = torch.rand(n[0], T[0], generator=gen) + 1.0  # never equal to value (which is <= 0)
    valid_len = torch.randint(0, T[0], (n[0],), generator=gen)  # every row has padding
    value = -float(torch.randint(0, 10, (), generator=gen))
    return X, valid_len, value


def _mask_3d_inputs(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    B, Q, K = _ints(gen, 2, 4), _ints(gen, 2, 4), _ints(gen, 4, 7)  # K >= B: distinct lengths
    X = torch.rand(B[0], Q[0], K[0], generator=gen) + 1.0
    valid_lens = torch.randperm(K[0], generator=gen)[
        : B[0]
    ]  # distinct: repeat != repeat_interleave
    return X, valid_lens, -1e6


def _reference_3d(X: torch.Tensor, valid_lens: torch.Tensor, value: float) -> torch.Tensor:
    rows = torch.repeat_interleave(valid_lens, X.shape[1])
    return _reference_mask(X.reshape(-1, X.shape[-1]), rows, value).reshape(X.shape)


def _mask_check(
    reference: Callable[..., torch.Tensor],
    make_inputs: Callable[[torch.Generator], tuple],
    *,
    in_place: bool,
    mistakes: list[tuple[Callable[..., Any], str]],
) -> Checker:
    """The learner's masking function on fresh inputs: the right values, and X either left
    alone (in_place=False) or changed in place and returned (in_place=True)."""

    def check(answer: Any) -> Verdict:
        if not callable(answer):
            return Verdict(False, f"请给出一个函数（def ...），你给的是 {type_name(answer)}。")
        for trial in range(3):
            X, valid_len, val = make_inputs(fresh_generator())
            mine, before = X.clone(), X.clone()
            got = answer(mine, valid_len.clone(), val)
            if got is None:
                if trial == 0:
                    raise Unanswered
                return Verdict(False, "你的函数返回了 None：请返回掩蔽后的张量。")
            expected = reference(X.clone(), valid_len, val)
            why = same(got, expected, 0.0, 0.0)
            if why is not None:
                for wrong, hint in mistakes:
                    try:
                        if same(got, wrong(X.clone(), valid_len.clone(), val), 0.0, 0.0) is None:
                            return Verdict(False, hint)
                    except Exception:
                        pass
                return Verdict(
                    False, f"对形状 {tuple(X.shape)} 的 X、valid_len = {valid_len.tolist()}：{why}"
                )
            changed = not torch.equal(mine, before)
            if not in_place and changed:
                return Verdict(
                    False,
                    "你的函数改写了传入的 X：先 X = X.clone()，或者用不改输入的 masked_fill。",
                )
            if in_place and not changed:
                return Verdict(
                    False, "传入的 X 没有被修改：这一问要的是原地修改的版本（X[~mask] = value）。"
                )
            if in_place and got.data_ptr() != mine.data_ptr():
                return Verdict(False, "请返回被修改的 X 本身（return X），它与传入的张量共享内存。")
        return Verdict(True)

    return check


def _no_mask(X: torch.Tensor, valid_len: torch.Tensor, value: float) -> torch.Tensor:
    return X


def _mask_wrong_side(X: torch.Tensor, valid_len: torch.Tensor, value: float) -> torch.Tensor:
    mask = torch.arange(X.shape[-1])[None, :] < valid_len[:, None]
    return X.masked_fill(mask, value)


def _mask_3d_repeat(X: torch.Tensor, valid_lens: torch.Tensor, value: float) -> torch.Tensor:
    rows = valid_lens.repeat(X.shape[1])  # whole tensor repeated, not each element
    return _reference_mask(X.reshape(-1, X.shape[-1]), rows, value).reshape(X.shape)


_MASK_MISTAKES = [
    (_mask_wrong_side, "掩蔽的位置反了：有效的是前 valid_len 个位置，要替换的是其余的（~mask）。"),
    (_no_mask, "什么都没有替换：填充位置（第 valid_len 个之后）要换成 value。"),
]

exercise(
    "15.3", "sequence_mask：不改输入的版本、三维输入与 repeat_interleave、原地版本", kind="compute"
)(
    parts(
        copy=_mask_check(_reference_mask, _mask_inputs, in_place=False, mistakes=_MASK_MISTAKES),
        three_d=_mask_check(
            _reference_3d,
            _mask_3d_inputs,
            in_place=False,
            mistakes=[
                (
                    _mask_3d_repeat,
                    "x.repeat 把整个张量重复，每一批的有效长度要重复 Q 次、挨在一起：repeat_interleave。",
                ),
            ],
        ),
        in_place=_mask_check(_reference_mask, _mask_inputs, in_place=True, mistakes=_MASK_MISTAKES),
        explanation=(
            "mask = arange(T)[None, :] < valid_len[:, None] 标出每行的有效位置，~mask 是填充位置。"
            "X.masked_fill(~mask, value) 返回新张量；X[~mask] = value 原地改写调用者的张量"
            "（返回的 X 与传入的共享同一块内存，data_ptr() 相同）。三维输入 (B, Q, K) 的每一批"
            "有 Q 行，用 repeat_interleave(valid_lens, Q) 把每批的长度重复 Q 次，再当作 B·Q 行处理。"
        ),
    )
)


# ----------------------------------------------------------------------------- 15.4


class _HandsOff(nn.BatchNorm1d):
    """A BatchNorm1d whose forward refuses to run: the answer computes it by hand."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("这道题要用 running_mean、running_var 手工计算，不要调用 bn(X)")


def _bn_inputs(gen: torch.Generator) -> tuple[nn.BatchNorm1d, torch.Tensor]:
    d, n = _ints(gen, 2, 6)[0], _ints(gen, 3, 8)[0]
    bn = _HandsOff(d, eps=float(10 ** (-5 + 2 * torch.rand((), generator=gen))))
    assert bn.running_mean is not None and bn.running_var is not None
    X = torch.randn(n, d, generator=gen)
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(d, generator=gen))
        bn.running_var.copy_(10 ** (-3 + 4 * torch.rand(d, generator=gen)))
        bn.weight.copy_(torch.randn(d, generator=gen))
        bn.bias.copy_(torch.randn(d, generator=gen))
        # feature 0 shows every mistake: a small variance (eps matters), gamma 2, |x - mean| >= 1
        bn.running_var[0], bn.weight[0] = 1e-3, 2.0
        X[:, 0] = bn.running_mean[0] + 1 + torch.rand(n, generator=gen)
    bn.eval()
    return bn, X


def _bn_eval(bn: nn.BatchNorm1d, X: torch.Tensor) -> torch.Tensor:
    """Evaluation mode in float64 (float32 rounding would eat into the tolerance)."""
    assert bn.running_mean is not None and bn.running_var is not None
    d = torch.float64
    out = F.batch_norm(
        X.to(d),
        bn.running_mean.to(d),
        bn.running_var.to(d),
        bn.weight.to(d),
        bn.bias.to(d),
        training=False,
        eps=bn.eps,
    )
    return out.float()


def _bn_batch_stats(bn: nn.BatchNorm1d, X: torch.Tensor) -> torch.Tensor:
    mean, var = X.mean(0), X.var(0, unbiased=False)
    return (X - mean) / torch.sqrt(var + bn.eps) * bn.weight + bn.bias


def _running_after(mu: float, momentum: float, k: int) -> float:
    return mu * (1 - (1 - momentum) ** k)


def _running_inputs(gen: torch.Generator) -> tuple[float, float, int]:
    mu = float(torch.empty(()).uniform_(0.5, 3.0, generator=gen))
    momentum = float(torch.empty(()).uniform_(0.05, 0.45, generator=gen))
    return mu, momentum, _ints(gen, 2, 10)[0]  # k = 1 would not tell m·k from the answer


BATCHES_TO_99 = math.ceil(math.log(0.01) / math.log(0.9))  # 44 with the default momentum 0.1

exercise("15.4", "BatchNorm1d 的评估模式与 running_mean、running_var、momentum", kind="compute")(
    parts(
        by_hand=function(
            _bn_eval,
            _bn_inputs,
            rtol=1e-4,
            atol=1e-4,
            mistakes=[
                (
                    _bn_batch_stats,
                    "这是训练模式的算法（用这个小批量的均值和方差）：评估模式用移动平均。",
                ),
                (
                    lambda bn, X: (
                        (X - bn.running_mean) / torch.sqrt(bn.running_var) * bn.weight + bn.bias
                    ),
                    "分母里少了 bn.eps：是 √(running_var + eps)。",
                ),
                (
                    lambda bn, X: (X - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps),
                    "规范化之后还要乘以 bn.weight（γ）、加上 bn.bias（β）。",
                ),
                (
                    lambda bn, X: (
                        (X - bn.running_mean) / (bn.running_var + bn.eps) * bn.weight + bn.bias
                    ),
                    "running_var 是方差：要除以它的平方根。",
                ),
            ],
        ),
        running=function(
            _running_after,
            _running_inputs,
            rtol=1e-6,
            atol=0.0,
            mistakes=[
                (
                    lambda mu, m, k: mu * (1 - m**k),
                    "BatchNorm 的 momentum 是新小批量的权重：running = (1 − momentum)·running + momentum·batch，"
                    "与优化器里 β 的含义正好相反。",
                ),
                (
                    lambda mu, m, k: mu * (1 - m) ** k,
                    "从 0 出发，每一步向 μ 走剩下距离的 momentum 倍。",
                ),
                (
                    lambda mu, m, k: mu * m * k,
                    "每一步走的是剩下距离的 momentum 倍，不是 μ 的固定一份。",
                ),
            ],
        ),
        batches=value(
            BATCHES_TO_99,
            mistakes=[
                (2, "momentum = 0.1 是新小批量的权重，不是旧值的权重：每一步只走剩下距离的 10%。"),
                (43, "差一步：要第一次达到 99% 的 k，向上取整。"),
            ],
            hint="从 0 出发，k 个小批量后 running_mean = μ(1 − 0.9ᵏ)：解 1 − 0.9ᵏ ≥ 0.99。",
        ),
        explanation=(
            "评估模式的输出是 (X − running_mean)/√(running_var + eps)·γ + β，与小批量无关。"
            "训练模式下每个小批量把 running_mean 更新为 (1 − momentum)·running_mean + momentum·batch_mean"
            "（running_var 用无偏方差），momentum 越大越看重新的小批量；默认 0.1 时要 44 个小批量才走完 99%。"
        ),
    )
)


# ----------------------------------------------------------------------------- 15.5

# the notebook files a row may link to: the titles of d2l.progress() without their Chinese
NOTEBOOKS = {title.split()[0] for title in _TITLES.values()}
_LINK = re.compile(r"\]\((\d\d_[a-z0-9_]+)\.ipynb(?:#[^)\s]+)?\)")


def _check_row(answer: Any) -> Verdict:
    if not isinstance(answer, dict):
        return Verdict(
            False,
            f"请给出字典 {{'row': new_row, 'sheet': SHEET}}（你给的是 {type_name(answer)}）。",
        )
    row, sheet = answer.get("row"), answer.get("sheet")
    if row is None:
        raise Unanswered
    if (
        not isinstance(row, list | tuple)
        or len(row) != 3
        or not all(isinstance(c, str) for c in row)
    ):
        return Verdict(
            False,
            "new_row 应是三个字符串的列表：[写法, 说明, 课程中讲它的地方]，与 SHEET 的每一行相同。",
        )
    idiom, text, where = (c.strip() for c in row)
    if not (len(idiom) > 2 and idiom.startswith("`") and idiom.endswith("`")):
        return Verdict(False, "写法一栏要用反引号括起来，例如 '`x.T`'，与总表里的写法相同。")
    if not text:
        return Verdict(False, "说明一栏是空的：用一句话说清它做什么。")
    targets = _LINK.findall(where)
    if not targets:
        return Verdict(
            False,
            "第三栏要链接到讲它的地方，写成 [01 张量 · 改变形状](01_tensors.ipynb#改变形状-reshape-Reshaping) 的形式。",
        )
    unknown = sorted(set(targets) - NOTEBOOKS)
    if unknown:
        return Verdict(
            False,
            f"没有这个 notebook：{', '.join(unknown)}.ipynb（课程的 notebook 是 01_tensors 到 15_keys）。",
        )
    if not isinstance(sheet, list) or not all(isinstance(r, list | tuple) for r in sheet):
        return Verdict(False, "'sheet' 应是追加了新行的 SHEET（一个列表）。")
    found = [r for r in sheet if list(r) == list(row)]
    if not found:
        return Verdict(False, "SHEET 里没有 new_row：先 SHEET.append(new_row)，搜索框才找得到它。")
    if len(found) > 1:
        return Verdict(
            False, "new_row 在 SHEET 里出现了不止一次：只追加一次（重复运行单元格会重复追加）。"
        )
    same = [r for r in sheet if r and str(r[0]).strip() == idiom]
    if len(same) > 1:
        return Verdict(False, f"{idiom} 已经在总表里了：先用搜索框搜一搜，挑一个找不到的写法。")
    return Verdict(
        True,
        f"{idiom} 已在 SHEET 里，搜索框能找到它。链接的小节是否存在，可以用本 notebook 第二个代码单元的"
        "方法核对（它按 JupyterLab 的规则生成标题锚点）；别忘了写一个 assert 单元说明它的行为。",
    )


exercise("15.5", "给速查表加一行：格式、链接和搜索", kind="compute")(_check_row)
