"""Exercises of 05_linear_networks.ipynb (练习 05.1 to 05.5)."""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .checkers import as_number, band, choice, function, number, parts, tensor, value
from .core import Verdict, exercise

# ----------------------------------------------------------------------------- 05.1

exercise("05.1", "学习率从多大开始发散：批量大小 10 与 100", kind="experiment")(
    parts(
        critical_10=band(
            1.7,
            2.1,
            minutes=0.1,
            what="批量大小 10 的临界学习率",
            key=None,
            valid=(0.5, 4.0),
            low_hint="网格从 0.5 开始、步长 0.1，并且按题目的判据判断发散：最后的损失比训练前大，或不是有限数。",
        ),
        critical_100=band(
            1.8,
            2.2,
            minutes=0.1,
            what="批量大小 100 的临界学习率",
            key=None,
            valid=(0.5, 4.0),
            low_hint="改的是 train_linreg 的 batch_size=100 吗？",
        ),
        why=choice(
            "B",
            "ABC",
            hints={
                "A": "用你测到的两个数核对一下：真的差 10 倍吗？再想想 sgd 里为什么要除以 batch_size。",
                "C": "用你测到的两个数核对一下：批量 100 的临界值是批量 10 的一半吗？",
            },
        ),
        explanation=(
            "sgd 用的是小批量的平均梯度，所以稳定性由平均损失的曲率决定：它的 Hessian 是 "
            "(x₁, x₂, 1) 的二阶矩矩阵，特征是标准正态、彼此独立，这个矩阵约等于单位阵，"
            "最大特征值约为 1，学习率超过 2/1 = 2 左右就发散，与批量大小基本无关。"
            "小批量的曲率围绕它波动，批量越小波动越大，偶尔很陡的一步让批量 10 略早一点发散。"
        ),
    )
)

# ----------------------------------------------------------------------------- 05.2


def _step(net: nn.Module, X: torch.Tensor, y: torch.Tensor, lr: float, reduction: str) -> nn.Module:
    """One SGD step of `nn.MSELoss(reduction=...)` with learning rate `lr`; returns `net`."""
    trainer = torch.optim.SGD(net.parameters(), lr=lr)
    loss = nn.MSELoss(reduction=reduction)(net(X), y)
    trainer.zero_grad()
    loss.backward()
    trainer.step()
    return net


def _params_after(step: Callable[..., Any]) -> Callable[..., Any]:
    """Run `step(net, X, y)` on a copy of `net`; its parameters afterwards (None: unanswered)."""

    def run(net: nn.Module, X: torch.Tensor, y: torch.Tensor) -> Any:
        net = copy.deepcopy(net)
        if step(net, X, y) is None:
            return None
        return tuple(p.detach().clone() for p in net.parameters())

    return run


def _regression_batch(size: int) -> Callable[[torch.Generator], tuple]:
    def make(gen: torch.Generator) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
        net = nn.Sequential(nn.Linear(2, 1))
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))
        return net, torch.randn(size, 2, generator=gen), torch.randn(size, 1, generator=gen)

    return make


def _sum_step_checker() -> Callable[[Any], Verdict]:
    reference = _params_after(lambda net, X, y: _step(net, X, y, 0.03, "mean"))
    checks = [
        function(
            lambda *args: reference(*args),
            _regression_batch(size),
            trials=1,
            mistakes=[
                (
                    _params_after(lambda net, X, y: _step(net, X, y, 0.03, "sum")),
                    "学习率还是 0.03：求和的损失比取平均的大了“批量大小”倍，梯度也是。",
                ),
                (
                    _params_after(lambda net, X, y: _step(net, X, y, 0.003, "sum")),
                    f"批量大小为 {size} 时不对：等价的学习率与批量大小有关，用 len(X) 算出来。",
                ),
                (
                    _params_after(lambda net, X, y: _step(net, X, y, 0.03 * len(X), "sum")),
                    "学习率应该除以批量大小，而不是乘以它。",
                ),
            ],
        )
        for size in (10, 20, 5)
    ]

    def check(answer: Any) -> Verdict:
        if not callable(answer):
            return Verdict(False, f"请给出一个函数（def ...），你给的是 {type(answer).__name__}。")
        learner = _params_after(answer)
        for one in checks:  # batch sizes 10, 20 and 5: a fixed 0.003 only fits the first
            verdict = one(learner)
            if not verdict.passed:
                return verdict
        return verdict

    return check


exercise("05.2", "nn.MSELoss(reduction='sum') 的等价学习率")(
    parts(
        lr=number(
            0.003,
            rtol=1e-6,
            mistakes=[
                (0.3, "求和的损失更大、梯度更大，学习率应当变小而不是变大。"),
                (0.0015, "两种写法都用 nn.MSELoss，都没有 ½：只差 reduction 一处。"),
                (0.03, "reduction='sum' 时梯度是取平均时的“批量大小”倍。"),
            ],
        ),
        step=_sum_step_checker(),
        explanation=(
            "reduction='sum' 的损失是 'mean' 的 |B| 倍，梯度也是 |B| 倍；学习率除以 |B| 就"
            "抵消了：批量大小 10 时是 0.03 / 10 = 0.003。等价的学习率随批量大小变化，"
            "这正是书中 sgd 里写 lr * grad / batch_size 的原因。"
        ),
    )
)

# ----------------------------------------------------------------------------- 05.3


def _laplace_nll(w: Any, b: Any, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return -torch.distributions.Laplace(w * x + b, 1.0).log_prob(y).sum()


def _nll_inputs(gen: torch.Generator) -> tuple[float, float, torch.Tensor, torch.Tensor]:
    n = int(torch.randint(5, 50, (), generator=gen))
    w, b = (float(v) for v in torch.randn(2, generator=gen))
    x = torch.randn(n, generator=gen, dtype=torch.float64)
    return w, b, x, 2 * x + 1 + torch.randn(n, generator=gen, dtype=torch.float64)


def _mle_data() -> tuple[torch.Tensor, torch.Tensor]:
    """The 200 examples of the notebook's maximum-likelihood cell (its own generator, seed 1)."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(200, generator=gen)
    return x, 2.0 * x + 1.0 + 0.5 * torch.randn(200, generator=gen)


def _least_absolute_deviations() -> tuple[float, float]:
    """The exact minimiser of sum |y - w x - b|: a line through two of the points."""
    x, y = _mle_data()
    i, j = torch.triu_indices(len(x), len(x), 1)
    w = (y[i] - y[j]) / (x[i] - x[j])
    b = y[i] - w * x[i]
    k = (y[None] - w[:, None] * x[None] - b[:, None]).abs().sum(1).argmin()
    return float(w[k]), float(b[k])


def _least_squares() -> tuple[float, float]:
    x, y = _mle_data()
    A = torch.stack([x, torch.ones_like(x)], dim=1)
    w, b = torch.linalg.lstsq(A, y[:, None]).solution.flatten().tolist()
    return w, b


@functools.cache
def _fit_reference() -> Callable[[Any], Verdict]:
    return tensor(
        torch.tensor(_least_absolute_deviations()),
        atol=0.01,
        rtol=0,
        mistakes=[
            (
                torch.tensor(_least_squares()),
                "这是最小二乘（正态噪声）的解：把 Normal 换成 Laplace 之后重新优化了吗？",
            )
        ],
    )


def _fit_checker(answer: Any) -> Verdict:
    """(w, b) within 0.01 of the exact least-absolute-deviations line of the notebook's data."""
    numbers = [as_number(v) for v in answer] if isinstance(answer, tuple | list) else []
    if len(numbers) != 2 or None in numbers:
        return Verdict(False, f"请给出两个数的元组 (w, b)，你给的是 {answer!r:.40}。")
    return _fit_reference()(torch.tensor(numbers))


exercise("05.3", "拉普拉斯噪声的负对数似然")(
    parts(
        nll=function(
            _laplace_nll,
            _nll_inputs,
            rtol=1e-6,
            atol=1e-6,
            mistakes=[
                (
                    lambda w, b, x, y: (y - w * x - b).abs().sum(),
                    "还差一项：每个样本的 −log(1/2) = log 2。它不影响最优的 w, b，但它是负对数似然的一部分。",
                ),
                (
                    lambda w, b, x, y: len(x) * math.log(2) + (y - w * x - b).abs().mean(),
                    "负对数似然是各样本之和，不是平均。",
                ),
                (
                    lambda w, b, x, y: len(x) * math.log(2) + ((y - w * x - b) ** 2).sum() / 2,
                    "拉普拉斯分布的指数里是 |ε|，不是 ε² / 2。",
                ),
            ],
        ),
        loss=choice(
            "B",
            "ABC",
            hints={
                "A": "指数里是 |ε|：对应的损失是误差的绝对值，还是平方？",
                "C": "交叉熵对应类别标签上的分布；这里的标签是实数。",
            },
        ),
        fit=_fit_checker,
        explanation=(
            "−log P = n log 2 + Σ|y⁽ⁱ⁾ − wᵀx⁽ⁱ⁾ − b|：拉普拉斯噪声对应绝对值损失（L1 损失）。"
            "最小化它的 w, b 与最小二乘的不同：平方损失的最优解像均值，绝对值损失的像中位数，"
            "对离群点不那么敏感。"
        ),
    )
)

# ----------------------------------------------------------------------------- 05.4


def _logits(gen: torch.Generator) -> tuple[torch.Tensor]:
    n, q = int(torch.randint(1, 6, (), generator=gen)), int(torch.randint(2, 8, (), generator=gen))
    return (2 * torch.randn(n, q, generator=gen, dtype=torch.float64),)


def _diag_hessian(o: torch.Tensor) -> torch.Tensor:
    p = torch.softmax(o, dim=1)
    return p * (1 - p)


exercise("05.4", "交叉熵梯度的行和与二阶导数")(
    parts(
        row_sum=choice(
            "A",
            "ABC",
            hints={
                "B": "行和为 0 对任何分数 o 都成立，训练开始时（远离最小值）也一样：用 o.grad.sum(1) 在随机分数上看看。",
                "C": "softmax(o) − y 的每个分量一般都不是 0，是它们的和为 0。",
            },
        ),
        second=function(
            _diag_hessian,
            _logits,
            rtol=1e-6,
            atol=1e-9,
            mistakes=[
                (
                    lambda o: torch.softmax(o, dim=1),
                    "这是 softmax 本身；对 softmax(o)_j 再对 o_j 求导。",
                ),
                (lambda o: -_diag_hessian(o), "符号反了：二阶导数 ŷ_j(1 − ŷ_j) 总是非负的。"),
                (
                    lambda o: torch.softmax(o, dim=1) ** 2,
                    "对 exp(o_j) / Σ exp(o_k) 用除法法则时，分子和分母都含 o_j。",
                ),
            ],
        ),
        depends_on_label=value(
            False,
            hint="l = log Σ exp(o_k) − Σ y_j o_j 里，含 y 的那一项是 o 的线性函数：求两次导之后还剩什么？",
        ),
        explanation=(
            "∂l/∂o_j = softmax(o)_j − y_j，对 j 求和得 1 − 1 = 0。再求一次导：∂/∂o_j softmax(o)_j "
            "= ŷ_j − ŷ_j² = ŷ_j(1 − ŷ_j)，y 在一阶导数里只是常数，二阶导数与标签无关。"
            "ŷ_j(1 − ŷ_j) 正是“类别 j 是否出现”这个伯努利变量的方差：曲率在模型最没把握的"
            "地方（ŷ_j = 1/2）最大。"
        ),
    )
)

# ----------------------------------------------------------------------------- 05.5

exercise("05.5", "工作进程、批量大小与两种加载器的速度", kind="experiment")(
    parts(
        per_image_ratio=band(
            0.5,
            2.0,
            minutes=0.5,
            what="书中管线读同样多张图片的用时之比（批量 64 / 批量 1024）",
            key=None,
            valid=(0.0, float("inf")),
            low_hint="两种批量读的是同样多张图片吗（5120 张：64 × 80 批，1024 × 5 批）？",
        ),
        speedup=band(
            10,
            minutes=0.5,
            what="d2l 加载器比书中管线（num_workers=0）快的倍数",
            key=None,
            valid=(0.0, float("inf")),
            low_hint="两边都读 20 个批量 256 张的图片、都在一个线程上计时吗？",
        ),
        overhead=choice(
            "AB",
            "ABC",
            hints={
                "A": "还漏了一项：批量在哪个进程里做好，又在哪个进程里用？",
                "B": "还漏了一项：每次 iter(loader)，也就是每一轮开始时，要先做什么？",
                "C": "每张图片的转换在工作进程里和在主进程里一样快。",
                "ABC": "有一项不是开销：每张图片的转换在工作进程里和在主进程里一样快。",
            },
            hint="想想工作进程从哪里来、它们做好的批量怎样交给主进程。",
        ),
        why=choice(
            "A",
            "ABC",
            hints={
                "B": "d2l.get_dataloader_workers() 返回 0：它的加载器在主进程里读。",
                "C": "工作进程是为准备数据而设的，与用 CPU 还是 GPU 训练无关。",
            },
        ),
        explanation=(
            "书中的管线对每张图片建一个 PIL 图像再单独 ToTensor，耗时与图片张数成正比，"
            "批量大小几乎不起作用；工作进程能把这些逐张的工作分给几个核，但每一轮都要重新"
            "启动进程，批量还要从工作进程传回主进程，核又只有两个，读的批量少时往往得不偿失。"
            "d2l 的加载器每批只做一次索引和一次 .float() / 255，本身就只要一两毫秒，没有值得"
            "分出去的工作。"
        ),
    )
)
