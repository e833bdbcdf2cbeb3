"""Exercises of 03_linear_algebra.ipynb (练习 03.1 to 03.5)."""

from __future__ import annotations

from typing import Any

import torch

from .checkers import band, choice, function, parts, value
from .core import exercise


def _square(gen: torch.Generator) -> tuple[torch.Tensor]:
    n = int(torch.randint(2, 7, (), generator=gen))
    return (torch.randn(n, n, generator=gen),)


def _matrix(gen: torch.Generator) -> tuple[torch.Tensor]:
    n, m = (int(v) for v in torch.randint(2, 7, (2,), generator=gen))
    return (torch.rand(n, m, generator=gen) + 0.1,)  # positive entries: row sums are not 0


exercise("03.1", "转置的性质：A + Aᵀ 总是对称的")(
    parts(
        a=function(
            lambda A: A + A.T,
            _square,
            mistakes=[
                (lambda A: A @ A.T, "这是 A Aᵀ：它也对称，但题目要的是 A 与 Aᵀ 的和。"),
                (lambda A: 2 * A, "A + A 不是 A + Aᵀ：别忘了转置。"),
            ],
        ),
        b=choice(
            "B",
            "ABC",
            hints={
                "A": "方阵不一定对称：试试 torch.tensor([[1., 2.], [3., 4.]])。",
                "C": "对角线相等只说明了对角线上的元素，对称要求所有 (i, j) 与 (j, i) 相等。",
            },
        ),
        explanation=(
            "(A + Aᵀ)ᵀ = Aᵀ + (Aᵀ)ᵀ = Aᵀ + A：转置对加法可分配，再转置一次回到原矩阵，"
            "所以 A + Aᵀ 等于它自己的转置。"
        ),
    )
)


exercise("03.2", "len(X) 对应哪个轴")(
    parts(
        a=value(
            2,
            mistakes=[
                (24, "24 是元素总数 X.numel()，len 只看一个轴。"),
                (4, "4 是最后一个轴的长度；len 看的是另一头。"),
                (3, "3 是中间那个轴的长度。"),
            ],
        ),
        b=value(0, mistakes=[(-1, "最后一个轴是 X.shape[-1]，len 不看它。")]),
        explanation="len(X) 等于 X.shape[0]：张量像嵌套列表，len 只数最外层有几个元素。",
    )
)


def _rows_normalised(A: torch.Tensor) -> torch.Tensor:
    return A / A.sum(dim=1, keepdim=True)


exercise("03.3", "按行归一化：A / A.sum(axis=1) 的陷阱")(
    parts(
        a=choice(
            "C",
            "ABC",
            hints={
                "A": "(5, 4) 除以 (5,)：先把两个形状右对齐，再看最后一维能否广播。",
                "B": "广播从最后一维开始对齐：(5, 4) 与 (5,) 的最后一维是 4 对 5。",
            },
        ),
        b=choice(
            "B",
            "AB",
            hints={"A": "形状 (4,) 会被当作一行，广播到每一行上：第 j 列除以的是第 j 行的和。"},
        ),
        c=function(
            _rows_normalised,
            _matrix,
            mistakes=[
                (lambda A: A / A.sum(axis=0, keepdims=True), "这是按列归一化：每列的和为 1。"),
                (lambda A: A / A.sum(), "这是除以所有元素的和，不是每一行自己的和。"),
            ],
        ),
        explanation=(
            "A.sum(axis=1) 的形状是 (5,)，与 (5, 4) 右对齐后 4 对 5 无法广播，于是报错；"
            "(4, 4) 时不报错，但 (4,) 被当成一行，第 j 列除以第 j 行的和。"
            "keepdims=True 得到 (n, 1)，每一行除以自己的和。"
        ),
    )
)


exercise("03.4", "沿各轴求和的形状与范数")(
    parts(
        axis0=value((3, 4), mistakes=[((2, 4), "沿轴 0 求和，消失的是长度为 2 的那个轴。")]),
        axis1=value((2, 4), mistakes=[((2, 3), "沿轴 1 求和，消失的是长度为 3 的轴。")]),
        axis2=value((2, 3), mistakes=[((3, 4), "沿轴 2 求和，消失的是最后一个轴。")]),
        same_norm=value(True, hint="用代码比较 vector_norm(X) 与 vector_norm(X.reshape(-1))。"),
        explanation=(
            "沿哪个轴求和，哪个轴就消失；torch.linalg.vector_norm 默认把任意形状的张量"
            "当作一个展平的向量求 L2 范数。"
        ),
    )
)


def _flops(n: Any, seconds: Any) -> float:
    return 2 * n**3 / seconds


def _two_small(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    n, k, m = (int(v) for v in torch.randint(1, 6, (3,), generator=gen))
    return torch.randn(n, k, generator=gen), torch.randn(k, m, generator=gen)


exercise("03.5", "三重循环与 torch.mm 的速度，每秒浮点运算次数", kind="experiment")(
    parts(
        loop_mm=function(
            lambda A, B: A @ B,
            _two_small,
            atol=1e-5,
            mistakes=[(lambda A, B: A * B.T, "这是逐元素乘积，不是矩阵乘法。")],
        ),
        flops=function(
            _flops,
            lambda gen: (
                int(torch.randint(10, 2000, (), generator=gen)),
                float(torch.rand((), generator=gen)) + 0.01,
            ),
            rtol=1e-9,
            mistakes=[
                (lambda n, s: n**3 / s, "矩阵乘法每个输出元素要做 n 次乘法和 n 次加法：2n³。"),
                (lambda n, s: 2 * n**3 * s, "每秒的运算次数是运算量除以秒数。"),
            ],
        ),
        speedup=band(
            50,
            what="三重循环比 torch.mm 慢的倍数",
            key=None,
            valid=(1.0, float("inf")),
            minutes=0.2,
            low_hint="循环要对 64×64×64 个元素逐一相乘，应该比 torch.mm 慢得多：计时的是同样大小的矩阵吗？",
        ),
        explanation=(
            "Python 循环每次乘加都要经过解释器和张量索引，torch.mm 调用优化过的矩阵乘法库"
            "（向量化指令、多线程、缓存分块）。"
        ),
    )
)
