"""Exercises of 14_optimization.ipynb (练习 14.1 to 14.5)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from .checkers import as_number, choice, function, number, parts, type_name
from .core import Unanswered, Verdict, exercise

Checker = Callable[[Any], Verdict]


def _uniform(gen: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=gen, dtype=torch.float64))


def _measured(
    low: float, high: float, *, what: str, source: str, hints: list[tuple[float, float, str]]
) -> Checker:
    """A reported result of a small experiment that runs the same in quick and default mode:
    within [low, high] (measured, `source` says how); `hints` are (lo, hi, hint) ranges of
    typical mistakes."""

    def check(answer: Any) -> Verdict:
        x = as_number(answer)
        if x is None:
            return Verdict(False, f"请填写{what}（一个数），你给的是 {type_name(answer)}。")
        if math.isnan(x):
            return Verdict(False, f"{what}是 nan：运行出错了吗？")
        span = f"{low:g}–{high:g}（{source}；这个实验在快速模式和默认模式下相同）"
        if low <= x <= high:
            return Verdict(True, f"{what} {x:.3g}，落在参考范围 {span}内。")
        for lo, hi, hint in hints:
            if lo <= x <= hi:
                return Verdict(False, f"{what} {x:.3g} 不在参考范围 {span}内：{hint}")
        return Verdict(False, f"{what} {x:.3g} 不在参考范围 {span}内：设置与题目一致吗？")

    return check


# ----------------------------------------------------------------------------- 14.1


def _gd_distance(eta: float, lam1: float, lam2: float, steps: int) -> float:
    """Distance to the origin after `steps` steps of gradient descent from (-5, -2) on
    f = lam1 / 2 x1^2 + lam2 / 2 x2^2 (each coordinate shrinks by 1 - eta * lam)."""
    return math.hypot(5 * (1 - eta * lam1) ** steps, 2 * (1 - eta * lam2) ** steps)


def _gd_inputs(gen: torch.Generator) -> tuple[float, float, float, int]:
    return (
        _uniform(gen, 0.01, 0.6),
        _uniform(gen, 0.1, 2.0),
        _uniform(gen, 2.0, 5.0),
        int(torch.randint(2, 31, (), generator=gen)),
    )


def _best_eta(lam1: float, lam2: float) -> float:
    grid = torch.linspace(0.001, 0.6, 59901, dtype=torch.float64)
    d = torch.hypot(5 * (1 - grid * lam1) ** 20, 2 * (1 - grid * lam2) ** 20)
    return float(grid[d.argmin()])


BEST_ETA_ROUND = _best_eta(2.0, 4.0)  # about 0.335 for x1^2 + 2 x2^2
BEST_ETA_ILL = _best_eta(0.2, 4.0)  # about 0.470 for 0.1 x1^2 + 2 x2^2

_COARSE = "控件的 η 刻度（对数刻度、步长 0.05）太粗：用 gd_distance 在更细的网格上找。"

exercise("14.1", "梯度下降 20 步后离原点最近的学习率，与 2/L 和两个方向的曲率", kind="number")(
    parts(
        distance=function(
            _gd_distance,
            _gd_inputs,
            rtol=1e-6,
            atol=0.0,
            mistakes=[
                (
                    lambda eta, l1, l2, s: math.hypot(
                        5 * (1 - eta * l1 / 2) ** s, 2 * (1 - eta * l2 / 2) ** s
                    ),
                    "曲率是二阶导数：f = λ/2·x² 的梯度是 λx，每一步 x 乘以 1 − ηλ。",
                ),
                (
                    lambda eta, l1, l2, s: _gd_distance(eta, l1, l2, s + 1),
                    "多走了一步：走 steps 步，每个坐标乘 steps 次。",
                ),
                (
                    lambda eta, l1, l2, s: _gd_distance(eta, l1, l2, s - 1),
                    "少走了一步：走 steps 步，每个坐标乘 steps 次。",
                ),
                (
                    lambda eta, l1, l2, s: _gd_distance(eta, l1, l2, s) ** 2,
                    "这是距离的平方：距离是 √(x1² + x2²)。",
                ),
            ],
        ),
        best_eta_round=number(
            BEST_ETA_ROUND,
            atol=0.003,
            mistakes=[
                (0.5, "η = 2/L = 0.5 时 x2 方向每步乘以 −1，根本不收缩。"),
                (0.25, "η = 1/λ_max = 0.25 让 x2 一步归零，但 x1 方向每步只乘 0.5。"),
                (0.316, _COARSE),
            ],
            hint="在 0.01 到 0.6 之间用步长 0.001 的网格算 gd_distance(η, 2, 4, 20)，取最小的那个。",
        ),
        best_eta_ill=number(
            BEST_ETA_ILL,
            atol=0.003,
            mistakes=[
                (0.5, "η = 2/L = 0.5 时 x2 方向每步乘以 −1，根本不收缩。"),
                (0.25, "η = 1/λ_max = 0.25 让 x2 一步归零，但 x1 方向每步只乘 0.95。"),
                (0.447, _COARSE),
            ],
            hint="病态函数的曲率是 (0.2, 4)：算 gd_distance(η, 0.2, 4, 20) 在细网格上的最小值。",
        ),
        why=choice(
            "B",
            "ABC",
            hints={
                "A": "把你找到的两个 η 与 2/L = 0.5 比一比：它们明显更小。η = 2/L 时 x2 方向不收缩。",
                "C": "1/λ_max = 0.25 让 x2 一步到位，可是 x1 方向还很慢：你找到的 η 比它大。",
            },
        ),
        explanation=(
            "每个方向每步乘以 1 − ηλ。最好的 η 让两个方向收缩得一样快："
            "|1 − ηλ_min| = |1 − ηλ_max|，即 η = 2/(λ_min + λ_max)（1/3 和 0.476）；"
            "20 步、从 (−5, −2) 出发时最优点略有偏移（0.335 和 0.470）。"
            "病态问题上这时 x1 每步仍只乘 1 − 0.47 × 0.2 ≈ 0.91：学习率受 x2 方向的稳定性限制，"
            "x1 方向只能慢慢走，这就是条件数 κ = λ_max/λ_min 大的代价。"
        ),
    )
)


# ----------------------------------------------------------------------------- 14.2


def _quadratic(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    d = int(torch.randint(2, 6, (), generator=gen))
    A = torch.randn(d, d, generator=gen, dtype=torch.float64)
    Q = A @ A.T + 0.5 * torch.eye(d, dtype=torch.float64)  # symmetric positive definite
    b = torch.randn(d, generator=gen, dtype=torch.float64)
    x = torch.randn(d, generator=gen, dtype=torch.float64)
    return Q, b, x


def _precond_inputs(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    return (*_quadratic(gen), _uniform(gen, 0.1, 1.0))


def _precond_step(Q: torch.Tensor, b: torch.Tensor, x: torch.Tensor, eta: float) -> torch.Tensor:
    return x - eta * (Q @ x + b) / torch.diagonal(Q)


def _newton_step(Q: torch.Tensor, b: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return x - torch.linalg.solve(Q, Q @ x + b)


exercise("14.2", "Hessian 不是对角阵时：对角预处理与牛顿法", kind="compute")(
    parts(
        precond=function(
            _precond_step,
            _precond_inputs,
            rtol=1e-5,
            atol=1e-6,
            mistakes=[
                (
                    lambda Q, b, x, eta: x - eta * (Q @ x + b),
                    "这是普通的梯度下降：预处理要把梯度的每个分量除以 Hessian 对角线上对应的元素。",
                ),
                (
                    lambda Q, b, x, eta: x - eta * (Q @ x + b) * torch.diagonal(Q),
                    "是除以 diag(H)，不是乘以它。",
                ),
                (
                    lambda Q, b, x, eta: x - eta * (Q @ x) / torch.diagonal(Q),
                    "梯度是 Qx + b：别漏了 b。",
                ),
            ],
        ),
        newton=function(
            _newton_step,
            lambda gen: _quadratic(gen),
            rtol=1e-5,
            atol=1e-6,
            mistakes=[
                (
                    lambda Q, b, x: _precond_step(Q, b, x, 1.0),
                    "这是对角预处理（只用了 H 的对角线）：牛顿法解的是整个 H ε = −∇f。",
                ),
                (
                    lambda Q, b, x: x + torch.linalg.solve(Q, Q @ x + b),
                    "符号反了：ε = −H⁻¹∇f。",
                ),
                (
                    lambda Q, b, x: x - torch.linalg.solve(Q, Q @ x),
                    "梯度是 Qx + b：别漏了 b。",
                ),
            ],
        ),
        one_step=choice(
            "B",
            "ABCD",
            hints={
                "A": "用你的 precond 从 (−5, −2) 走一步，再算一算那里的梯度：是 0 吗？",
                "C": "用你的两个函数各走一步，再算一算梯度：哪一个真的是 0？",
                "D": "对二次函数，二阶泰勒展开是精确的：用你的 newton 走一步后算一算梯度。",
            },
        ),
        kappa=number(
            20.0,
            rtol=1e-3,
            mistakes=[
                (1.0, "如果对角预处理把旋转后的问题完全修好了，条件数才是 1：用代码算一算特征值。"),
            ],
            hint="条件数是对称矩阵 D^(-1/2) Q D^(-1/2) 最大与最小特征值之比，D = diag(Q)。",
        ),
        explanation=(
            "牛顿法用整个 Hessian：对任何正定二次函数一步到达最小值。对角预处理只看 diag(H)，"
            "H 不是对角阵时一步到不了。把 diag(0.2, 4) 旋转 45° 后，Q 的对角线两项都是 2.1："
            "对角预处理只是把学习率乘以同一个数，条件数仍是 20，一点也没有改善。"
            "预处理能修正的是坐标轴方向上的尺度不匹配，修正不了被旋转过的病态。"
        ),
    )
)


# ----------------------------------------------------------------------------- 14.3


def _piecewise(t: int) -> float:
    return 0.5 ** (t // 20)


def _check_piecewise(answer: Any) -> Verdict:
    """Every t from 0 to 200: the schedule is a function of an integer, checked exhaustively."""
    if not callable(answer):
        return Verdict(False, f"请给出一个函数（def ...），你给的是 {type_name(answer)}。")
    first = answer(0)
    if first is None:
        raise Unanswered
    for t in range(201):
        got = as_number(answer(t))
        if got is None:
            return Verdict(False, f"piecewise({t}) 应返回一个数，你的是 {type_name(answer(t))}。")
        if not math.isclose(got, _piecewise(t), rel_tol=1e-9):
            if all(math.isclose(as_number(answer(s)) or 0.0, 0.5 ** (s / 20)) for s in (1, 7, 33)):
                return Verdict(
                    False, "这是平滑的 0.5^(t/20)，即指数衰减；分段常数要用整除 t // 20。"
                )
            if t % 20 == 0:
                return Verdict(
                    False, f"t = {t} 时应当正好减半（0.5^{t // 20}），你的是 {got:g}：检查边界。"
                )
            return Verdict(
                False, f"piecewise({t}) 应为 0.5^{t // 20} = {_piecewise(t):g}，你的是 {got:g}。"
            )
    return Verdict(True)


REMAINING_PIECEWISE = sum(0.1 * _piecewise(k + 1) for k in range(51, 1001))  # 0.70
REMAINING_EXPONENTIAL = sum(0.1 * math.exp(-0.1 * (k + 1)) for k in range(51, 1001))  # 0.0058

exercise(
    "14.3", "分段常数学习率，与指数衰减、多项式衰减比较；指数衰减为什么冻住", kind="experiment"
)(
    parts(
        piecewise=_check_piecewise,
        remaining=number(
            REMAINING_PIECEWISE,
            rtol=1e-3,
            mistakes=[
                (REMAINING_EXPONENTIAL, "这是指数衰减的余量：要算的是分段常数的。"),
                (
                    0.725,
                    "多算了一步或 t 差了 1：第 k 步用 t = k + 1，求和从第 51 步（rates[50]）开始。",
                ),
                (
                    0.75,
                    "多算了一步或 t 差了 1：第 k 步用 t = k + 1，求和从第 51 步（rates[50]）开始。",
                ),
            ],
            hint="仿照上面的 rates：rates = [eta * piecewise(k + 1) for k in range(1, 1001)]，再求 sum(rates[50:])。",
        ),
        distance=_measured(
            0.005,
            0.15,
            what="1000 步后离原点的距离",
            source="20 个种子 0–19 实测 0.010–0.096",
            hints=[
                (5.0, 6.0, "参数几乎没动：调用 train_2d 之前把全局变量 t 重新设为 1 了吗？"),
                (0.6, 1.2, "这是指数衰减的结果：lr 换成分段常数的 piecewise_lr 了吗？"),
            ],
        ),
        why=choice(
            "B",
            "ABC",
            hints={
                "A": "噪声的大小在三种调度下完全一样，差别只在学习率。",
                "C": "梯度在最小值处才为 0，而指数衰减停下的地方离最小值还远（x1 ≈ −1）。",
            },
        ),
        explanation=(
            "从第 51 步起，分段常数的学习率加起来还有 0.70，指数衰减只有 0.0058："
            "参数还能移动的总距离大约是学习率之和乘以梯度，指数衰减在走到最小值之前就把这份“预算”用完了。"
            "分段常数每 20 步减半，减得也不慢，但它先用常数学习率走了一段，在 1000 步后离原点只有约 0.01–0.1；"
            "多项式衰减的学习率之和发散，理论上永远不会冻住。"
        ),
    )
)


# ----------------------------------------------------------------------------- 14.4


def _spectral_radius(beta: float, eta: float, lam: float) -> float:
    R = torch.tensor([[beta, lam], [-eta * beta, 1 - eta * lam]], dtype=torch.float64)
    return float(torch.linalg.eigvals(R).abs().max())


def _worst_radius(eta: float, beta: float) -> float:
    return max(_spectral_radius(beta, eta, 0.2), _spectral_radius(beta, eta, 4.0))


KAPPA = 20.0
BETA_STAR = ((math.sqrt(KAPPA) - 1) / (math.sqrt(KAPPA) + 1)) ** 2  # 0.4026
RATE_GD = (KAPPA - 1) / (KAPPA + 1)  # 0.905, the best gradient descent can do
SPEEDUP = math.log(math.sqrt(BETA_STAR)) / math.log(RATE_GD)  # 4.55
BEST_RADIUS = math.sqrt(BETA_STAR)  # 0.6345
GOOD_ENOUGH = 0.68  # the widget's grid (steps of 0.05) reaches 0.671 at eta 0.6, beta 0.45


def _check_best(answer: Any) -> Verdict:
    if not isinstance(answer, tuple | list) or len(answer) != 2:
        return Verdict(False, f"请给出一个二元组 (eta, beta)，你给的是 {type_name(answer)}。")
    eta, beta = (as_number(v) for v in answer)
    if eta is None or beta is None:
        return Verdict(False, "eta 和 beta 都应是数。")
    if not (0 < eta < 5 and 0 <= beta < 1):
        return Verdict(False, f"应有 0 < eta 且 0 ≤ beta < 1，你的是 ({eta:g}, {beta:g})。")
    worst = _worst_radius(eta, beta)
    if worst <= GOOD_ENOUGH:
        return Verdict(True, f"在 ({eta:g}, {beta:g}) 处较大的谱半径是 {worst:.3f}。")
    if beta == 0:
        return Verdict(False, f"β = 0 就是梯度下降，较大的谱半径至少 {RATE_GD:.3f}：加上动量。")
    return Verdict(
        False,
        f"在 ({eta:g}, {beta:g}) 处较大的谱半径是 {worst:.3f}，还能小于 {GOOD_ENOUGH}：继续找。",
    )


exercise("14.4", "动量法的最优 (η, β)：谱半径与理论值比较", kind="number")(
    parts(
        best=_check_best,
        beta_theory=number(
            BETA_STAR,
            rtol=1e-3,
            mistakes=[
                (BEST_RADIUS, "这是 (√κ − 1)/(√κ + 1)，公式里还要平方。"),
                (RATE_GD, "这是 (κ − 1)/(κ + 1)：梯度下降的最佳收缩率，公式里用的是 √κ。"),
            ],
            hint="κ = 20：β = ((√κ − 1)/(√κ + 1))²。",
        ),
        speedup=number(
            SPEEDUP,
            rtol=0.02,
            mistakes=[
                (RATE_GD / BEST_RADIUS, "这是两个收缩率之比：要比较的是步数，对收缩率取对数。"),
                (1 / SPEEDUP, "倒过来了：动量法的一步抵得上梯度下降的几步？"),
            ],
            hint="误差每步乘以谱半径 ρ：n 步乘以 ρⁿ。梯度下降的最佳 ρ 是 (κ − 1)/(κ + 1)。",
        ),
        explanation=(
            f"最优 β = ((√κ − 1)/(√κ + 1))² ≈ {BETA_STAR:.3f}，η = (2/(√λ_max + √λ_min))² ≈ 0.668；"
            f"这时两个方向的特征值都是复数，模都是 √β ≈ {BEST_RADIUS:.3f}（R 的行列式恰好是 β）。"
            f"梯度下降最好也只有 (κ − 1)/(κ + 1) ≈ {RATE_GD:.3f}：动量法的一步抵得上约 {SPEEDUP:.1f} 步，"
            "收敛速度由 κ 变成了 √κ 的函数。"
        ),
    )
)


# ----------------------------------------------------------------------------- 14.5


def _step_ratio(g: float) -> float:
    return math.sqrt(g * g + 1e-6) / (abs(g) + 1e-10)


def _check_diff(answer: Any) -> Verdict:
    x = as_number(answer)
    if x is None:
        return Verdict(
            False, f"请填写两次最终损失之差的绝对值（一个数），你给的是 {type_name(answer)}。"
        )
    if math.isnan(x) or x < 0:
        return Verdict(False, f"差的绝对值应当 ≥ 0，你的是 {x:g}。")
    if x <= 1e-4:
        return Verdict(True, f"差别 {x:.1e}：看不出来（6 个种子实测都在 1e-7 以下）。")
    return Verdict(
        False,
        f"差别 {x:.1e} 不止 ε 的影响：两次训练前都用 d2l.set_seed(同一个种子) 了吗？"
        "不同的初始权重和小批量顺序本身就会让最终损失差几千分之一。",
    )


exercise("14.5", "ε 放在根号里面还是外面：airfoil 上的差别与小梯度", kind="experiment")(
    parts(
        loss=_measured(
            0.240,
            0.248,
            what="ε 放在根号外面的 AdaGrad 的最终损失",
            source="6 个种子 0–5 实测 0.2421–0.2437",
            hints=[(0.248, 1.0, "学习率是 0.1 吗？训练了 2 个 epoch 吗？")],
        ),
        diff=_check_diff,
        ratio=function(
            _step_ratio,
            lambda gen: (
                float(torch.sign(torch.randn((), generator=gen))) * 10 ** _uniform(gen, -6.0, 1.0),
            ),
            rtol=1e-6,
            atol=0.0,
            mistakes=[
                (
                    lambda g: 1 / _step_ratio(g),
                    "倒过来了：要的是 PyTorch 放法的步长除以书中放法的步长。",
                ),
                (
                    lambda g: math.sqrt(abs(g) + 1e-6) / (abs(g) + 1e-10),
                    "第一步时 s₁ = g²：根号里是 g² + ε，不是 |g| + ε。",
                ),
            ],
        ),
        when=choice(
            "B",
            "ABC",
            hints={
                "A": "用你的 ratio 算一算 g = 1 和 g = 1e-4 时的比值：哪一个离 1 远？",
                "C": "用你的 ratio 算一算 g = 1e-4 时的比值。",
            },
        ),
        explanation=(
            "g² 远大于 ε 时两种放法几乎一样（airfoil 上每个坐标的梯度平方都远大于 ε，所以最终损失一样）；"
            "g² 与 ε 相当或更小时差别很大：g = 1e-4 时 PyTorch 的放法步长约大 10 倍，g = 1e-6 时约 1000 倍。"
            "很少出现的稀疏特征、被缩小的损失（章节自检里乘以 1e-4）、训练后期梯度很小的坐标，都会落进这个区域。"
        ),
    )
)
