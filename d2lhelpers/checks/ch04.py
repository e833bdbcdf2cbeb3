"""Exercises of 04_autograd.ipynb (练习 04.1 to 04.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .checkers import choice, function, number, parts, tensor, value
from .core import Verdict, exercise

exercise("04.1", "控制流的例子换成向量 a：怎样反向传播，a.grad 还等于 d / a 吗", kind="choice")(
    parts(
        backward=choice(
            "B",
            "ABC",
            hints={
                "A": "d 是向量：对非标量直接调用 backward() 会报错（见“为什么需要参数”一节）。",
                "C": "传入的 v 是某个标量对 d 的梯度，v = a 算的是 ∇(aᵀd)，不是各分量的导数。",
            },
        ),
        same=value(True, hint="用 torch.allclose(a.grad, d / a) 在几个随机向量上试一试。"),
        why=choice(
            "A",
            "ABC",
            hints={
                "B": "循环只有一个：条件 b.norm() < 1000 看的是整个向量，不是某一个分量。",
                "C": "自动微分算的是真实的导数，它等于 d / a 是因为 f 的形式，不是因为某种约定。",
            },
        ),
        explanation=(
            "while 的条件 b.norm() 和 if 的条件 b.sum() 都看整个向量，所以整个向量乘的是同一个"
            "常数 k（2 的幂，或再乘 100）：d = k a，d_i = k a_i。对 d.sum() 求导，每个分量的导数"
            "都是 k = d_i / a_i。"
        ),
    )
)


def _f_square(a: torch.Tensor) -> torch.Tensor:
    """The control-flow function with the branch `c = b * b` instead of `c = 100 * b`."""
    b = 2 * a
    while b.norm() < 1000:
        b = 2 * b
    return b if b.sum() > 0 else b * b


def _autograd_grad(a: torch.Tensor) -> float:
    a = a.detach().clone().requires_grad_(True)
    _f_square(a).backward()
    assert a.grad is not None
    return float(a.grad)


def _scalar(sign: float) -> Callable[[torch.Generator], tuple[torch.Tensor]]:
    def make(gen: torch.Generator) -> tuple[torch.Tensor]:
        magnitude = 10 ** (3 * float(torch.rand((), generator=gen)) - 2)  # 0.01 to 10
        return (torch.tensor(sign * magnitude),)

    return make


def _old_formula(a: torch.Tensor) -> float:
    with torch.no_grad():
        return float(_f_square(a) / a)


def _grad_formula_checker() -> Callable[[Any], Verdict]:
    mistakes = [
        (
            _old_formula,
            "负数走 c = b * b 那一支：c 不再是 a 的常数倍。b = 2ⁿa，c = 4ⁿa²，对 a 求导是多少？",
        ),
        (
            lambda a: 2 * _old_formula(a),
            "正数走 c = b 那一支，这一支没有改，导数仍是 d / a。",
        ),
    ]
    positive = function(_autograd_grad, _scalar(1.0), mistakes=mistakes)
    negative = function(_autograd_grad, _scalar(-1.0), mistakes=mistakes)

    def check(answer: Any) -> Verdict:
        verdict = positive(answer)  # both branches: a formula right on one sign only fails
        return negative(answer) if verdict.passed else verdict

    return check


exercise("04.2", "把 c = 100 * b 改成 c = b * b：新的导数公式")(
    parts(
        linear=value(
            False,
            hint="b 是 a 的常数倍，那么 b * b 是 a 的什么函数？",
        ),
        grad=_grad_formula_checker(),
        explanation=(
            "b = 2ⁿa（n 由循环决定）。a > 0 时 c = b = 2ⁿa，导数 2ⁿ = d / a；a < 0 时 "
            "c = b·b = 4ⁿa²，导数 2·4ⁿa = 2d / a。负数一侧是二次函数，f 不再分段线性，"
            "a.grad == d / a 只在正数一侧成立。"
        ),
    )
)


class _Fn:
    """A function with its first and second derivatives; shows its name in hints."""

    def __init__(
        self,
        name: str,
        f: Callable[[torch.Tensor], torch.Tensor],
        d1: Callable[[torch.Tensor], torch.Tensor],
        d2: Callable[[torch.Tensor], torch.Tensor],
    ) -> None:
        self.name, self.f, self.d1, self.d2 = name, f, d1, d2

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return self.f(x)

    def __repr__(self) -> str:
        return self.name


def _sech2(x: torch.Tensor) -> torch.Tensor:
    return 1 - torch.tanh(x) ** 2


_FUNCTIONS = [
    _Fn("torch.sin", torch.sin, torch.cos, lambda x: -torch.sin(x)),
    _Fn("torch.exp", torch.exp, torch.exp, torch.exp),
    _Fn("torch.tanh", torch.tanh, _sech2, lambda x: -2 * torch.tanh(x) * _sech2(x)),
    _Fn("lambda x: x**3", lambda x: x**3, lambda x: 3 * x**2, lambda x: 6 * x),
    _Fn(
        "lambda x: x * torch.sin(x)",
        lambda x: x * torch.sin(x),
        lambda x: torch.sin(x) + x * torch.cos(x),
        lambda x: 2 * torch.cos(x) - x * torch.sin(x),
    ),
]


def _second_derivative_checker() -> Callable[[Any], Verdict]:
    mistakes: list[tuple[Callable[..., Any], str]] = [
        (lambda fn, x: fn.d1(x), "这是一阶导数：对一阶导数（每个点上的值）再求一次导。"),
        (lambda fn, x: -fn.d2(x), "符号反了。"),
        (lambda fn, x: (fn.d2(x),), "torch.autograd.grad 返回一个元组：取它的第 0 个元素。"),
    ]

    def inputs_for(fn: _Fn) -> Callable[[torch.Generator], tuple[_Fn, torch.Tensor]]:
        def make(gen: torch.Generator) -> tuple[_Fn, torch.Tensor]:
            n = int(torch.randint(3, 12, (), generator=gen))
            return fn, 2 * torch.randn(n, generator=gen, dtype=torch.float64)

        return make

    checks = [
        function(
            lambda fn, x: fn.d2(x),
            inputs_for(fn),
            trials=1,
            rtol=1e-6,
            atol=1e-9,
            mistakes=mistakes,
        )
        for fn in _FUNCTIONS
    ]

    def check(answer: Any) -> Verdict:
        for one in checks:  # every function once: a hard-coded -sin(x) cannot pass
            try:
                verdict = one(answer)
            except RuntimeError as error:
                if "does not require grad" not in str(error):
                    raise  # reported by `check` as the learner's error
                first_line = str(error).strip().splitlines()[0]
                return Verdict(
                    False,
                    f"RuntimeError: {first_line}。第二次求导时，一阶导数没有计算图："
                    "第一次调用 torch.autograd.grad 时传 create_graph=True 了吗？",
                )
            if not verdict.passed:
                return verdict
        return verdict

    return check


exercise("04.3", "用 torch.autograd.grad(create_graph=True) 求二阶导数")(
    parts(
        second=_second_derivative_checker(),
        cost=choice(
            "A",
            "ABC",
            hints={
                "B": "PyTorch 不会改用差分：二阶导数同样是精确的（只差浮点舍入）。",
                "C": "float32 与 float64 都能求二阶导数；想想 create_graph=True 让 PyTorch 多记录了什么。",
            },
        ),
        explanation=(
            "create_graph=True 让 PyTorch 把第一次反向传播本身也记录成计算图，于是可以对"
            "一阶导数再求导；代价是多存一张（更大的）图，第二次反向传播要走过前向和第一次"
            "反向的全部运算，时间和内存都更多。"
        ),
    )
)


exercise("04.4", "x³ − 1/x 在 x = 1 处的切线；‖x‖₂ 的梯度与 x = 0")(
    parts(
        slope=number(
            4,
            mistakes=[
                (2, "−1/x 的导数是 +1/x²，不是 −1/x²。"),
                (3, "别忘了 −1/x 这一项的导数。"),
            ],
        ),
        intercept=number(
            -4,
            mistakes=[
                (0, "切线是 y = f(1) + f'(1)(x − 1)：展开 (x − 1) 之后截距是多少？"),
                (4, "截距的符号反了。"),
            ],
        ),
        norm_grad=function(
            lambda x: x / torch.linalg.vector_norm(x),
            lambda gen: (torch.randn(int(torch.randint(2, 8, (), generator=gen)), generator=gen),),
            mistakes=[
                (lambda x: 2 * x, "2x 是 ‖x‖² 的梯度；‖x‖ = √(‖x‖²)，再用一次链式法则。"),
                (lambda x: x, "还差一个因子：√u 的导数是 1 / (2√u)。"),
                (
                    lambda x: x / torch.linalg.vector_norm(x) ** 2,
                    "分母多了一次方：√u 的导数是 1 / (2√u)。",
                ),
            ],
        ),
        at_zero=tensor(
            torch.zeros(3),
            mistakes=[
                (
                    torch.full((3,), float("nan")),
                    "nan 是手写 sqrt((x**2).sum()) 的结果；题目要的是 torch.linalg.vector_norm。",
                )
            ],
        ),
        why=choice(
            "A",
            "ABC",
            hints={
                "B": "“最小值点梯度为 0”只对可微函数成立；沿任一方向 u，‖t·u‖ = |t|，两侧斜率是 ±1。",
                "C": "0 不是错误，而是一个约定，想想 ReLU 在 0 处的导数。",
            },
        ),
        explanation=(
            "f'(x) = 3x² + 1/x²，f(1) = 0、f'(1) = 4，切线 y = 4x − 4。‖x‖ 的梯度是 x / ‖x‖，"
            "长度总是 1；在 0 处 ‖x‖ 像圆锥的尖，不可导，x / ‖x‖ 是 0/0。PyTorch 的 "
            "vector_norm 在这里约定梯度为 0（一个次梯度，和 ReLU 在 0 处取 0 一样），"
            "手写的 sqrt(sum(x²)) 则按链式法则算出 ∞·0 = nan。"
        ),
    )
)


exercise("04.5", "ReLU 在 x = 0 处：中心差分与自动微分")(
    parts(
        central=number(
            0.5,
            atol=1e-6,
            mistakes=[
                (1, "1 是向前差分 (relu(h) − relu(0)) / h；题目要的是中心差分。"),
                (0, "0 是自动微分给出的值；中心差分用的是 relu(h) 和 relu(−h)。"),
            ],
        ),
        autograd=number(
            0,
            atol=1e-9,
            mistakes=[
                (0.5, "0.5 是中心差分的结果；用 backward() 求一下 x = 0 处的 x.grad。"),
                (1, "PyTorch 在 x = 0 处不取右导数 1：用 backward() 求一下。"),
            ],
        ),
        meaning=choice(
            "B",
            "ABC",
            hints={
                "A": "两边都没有算错：ReLU 在 0 处的左导数和右导数各是多少？",
                "C": "relu(h) − relu(−h) = h，对任何 h > 0 差分都是 0.5，h 再小也一样。",
            },
        ),
        explanation=(
            "ReLU 在 0 处左导数 0、右导数 1，不可导。中心差分 (relu(h) − relu(−h)) / 2h = h / 2h "
            "= 0.5 是两者的平均；PyTorch 约定取 0。[0, 1] 之间的数都是次梯度，训练中几乎不会"
            "恰好落在 0 上，所以约定无关紧要；但做梯度检查时要避开这种不可导点（本章的自检因此"
            "取偶数个点，不让任何点落在 0 上）。"
        ),
    )
)
