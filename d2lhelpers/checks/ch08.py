"""Exercises of 08_cnn.ipynb (练习 08.1 to 08.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from .checkers import (
    band,
    choice,
    fresh_generator,
    function,
    number,
    parts,
    plain,
    randint,
    tensor,
    type_name,
)
from .core import Unanswered, Verdict, exercise

Pair = tuple[int, int]


# ----------------------------------------------------------------------------- 08.1

_EYE = torch.eye(8)


def _vertical_edges(X: torch.Tensor) -> torch.Tensor:
    """corr2d(X, [[1, -1]]): each pixel minus its right neighbour."""
    return X[:, :-1] - X[:, 1:]


def _horizontal_edges(X: torch.Tensor) -> torch.Tensor:
    """corr2d(X, [[1], [-1]]): each pixel minus the one below it."""
    return X[:-1, :] - X[1:, :]


_SIGN = "符号反了：卷积核 [1, -1] 算的是“左边的像素减右边的像素”。"

exercise("08.1", "对角线边缘：卷积核 [1, -1] 与它的转置")(
    parts(
        eye=tensor(
            _vertical_edges(_EYE),
            mistakes=[
                (-_vertical_edges(_EYE), _SIGN),
                (
                    _horizontal_edges(_EYE),
                    "这是转置后的卷积核 [[1], [-1]] 的结果：(a) 用的是 [1, -1]。",
                ),
            ],
        ),
        eye_t=tensor(
            _vertical_edges(_EYE.t()),
            mistakes=[(-_vertical_edges(_EYE.t()), _SIGN)],
        ),
        kernel_t=tensor(
            _horizontal_edges(_EYE),
            mistakes=[
                (
                    -_horizontal_edges(_EYE),
                    "符号反了：[[1], [-1]] 算的是“上面的像素减下面的像素”。",
                ),
                (_vertical_edges(_EYE), "这是 [1, -1] 本身的结果：(c) 要把卷积核转置，K.t()。"),
            ],
        ),
        why=choice(
            "B",
            "ABC",
            hints={
                "A": "看看 (a) 的结果：它全是 0 吗？",
                "C": "看看 (a) 的结果：没有转置的 [1, -1] 是否也在对角线旁给出了非零值？",
            },
        ),
        explanation=(
            "沿对角线，像素值既在水平方向上变化（(i, i) 与 (i, i+1)），也在竖直方向上变化"
            "（(i, i) 与 (i+1, i)），所以 [1, -1] 与它的转置都能检测到：对角线上是 1，紧挨着"
            "的一条斜线上是 −1。torch.eye(8) 是对称矩阵，X.t() 就是 X 本身，(a) 与 (b) 相同。"
            "只有与卷积核方向平行的边缘（[1, -1] 之于水平边缘）才完全看不见。"
        ),
    )
)

# ----------------------------------------------------------------------------- 08.2


def _descend(
    X: torch.Tensor,
    Y: torch.Tensor,
    K0: torch.Tensor,
    lr: float,
    num_iters: int,
    *,
    mean: bool = False,
    keep_grad: bool = False,
) -> torch.Tensor:
    """Gradient descent on the kernel of a bias-free 1-in 1-out convolution, squared error.

    Written with the windows as rows of a matrix A (the loss is |A k - y|², its gradient
    2 Aᵀ(A k - y)), so the reference does not use the convolution it checks. `mean` and
    `keep_grad` plant two typical mistakes (the mean instead of the sum, gradients never zeroed).
    """
    k_h, k_w = K0.shape
    A = X.to(torch.float64).unfold(0, k_h, 1).unfold(1, k_w, 1).reshape(-1, k_h * k_w)
    y = Y.to(torch.float64).reshape(-1)
    k = K0.to(torch.float64).reshape(-1)
    total = torch.zeros_like(k)
    for _ in range(num_iters):
        grad = 2 * A.T @ (A @ k - y) / (len(y) if mean else 1)
        total = total + grad if keep_grad else grad
        k = k - lr * total
    return k.reshape(k_h, k_w).to(X.dtype)


def _learn_kernel(
    X: torch.Tensor, Y: torch.Tensor, K0: torch.Tensor, lr: float, num_iters: int
) -> torch.Tensor:
    return _descend(X, Y, K0, lr, num_iters)


def _kernel_problem(
    gen: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float, int]:
    """Fresh X (h, w), target Y, starting kernel K0, a stable learning rate and 3 to 6 steps."""
    kernels = [(1, 2), (2, 1), (2, 2), (1, 3), (3, 1)]
    k_h, k_w = kernels[randint(0, len(kernels) - 1, gen)]
    h, w = randint(4, 8, gen), randint(4, 8, gen)
    X = torch.rand(h, w, generator=gen)
    Y = torch.rand(h - k_h + 1, w - k_w + 1, generator=gen)
    K0 = 0.5 * torch.randn(k_h, k_w, generator=gen)
    lr = 0.001 + 0.003 * float(torch.rand((), generator=gen))  # below 2 / λ_max on every draw
    return X, Y, K0, lr, randint(3, 6, gen)


exercise("08.2", "学习 (2, 1) 的卷积核：学习率太大、太小与临界学习率")(
    parts(
        learn=function(
            _learn_kernel,
            _kernel_problem,
            rtol=1e-4,
            atol=1e-5,
            mistakes=[
                (
                    lambda X, Y, K0, lr, n: _descend(X, Y, K0, lr, n, mean=True),
                    "损失是平方误差之和（.sum()），与章节的循环相同，不是平均。",
                ),
                (
                    lambda X, Y, K0, lr, n: _descend(X, Y, K0, lr, n, keep_grad=True),
                    "梯度在累加：每次 backward() 之前要把上一步的梯度清零（zero_grad）。",
                ),
                (
                    lambda X, Y, K0, lr, n: _descend(X, Y, K0, lr, n - 1),
                    "少走了一步：num_iters 步梯度下降。",
                ),
                (
                    lambda X, Y, K0, lr, n: _descend(X, Y, K0, lr, n + 1),
                    "多走了一步：num_iters 步梯度下降。",
                ),
                (
                    lambda X, Y, K0, lr, n: _descend(X, Y, K0, -lr, n),
                    "方向反了：梯度下降沿梯度的反方向走，K ← K − lr · 梯度。",
                ),
            ],
        ),
        large=choice(
            "B",
            "ABC",
            hints={
                "A": "把每一步的损失打印出来看看：它在变小吗？",
                "C": "把每一步的损失打印出来，与 3e-2 的比一比。",
            },
        ),
        small=choice(
            "B",
            "ABC",
            hints={
                "A": "损失在变大吗？把每一步的损失打印出来看看。",
                "C": "打印学到的卷积核：10 步之后它离 [1, -1]ᵀ 还有多远？",
            },
        ),
        critical=number(
            1 / 30,
            rtol=0.01,
            mistakes=[
                (1 / 60, "这是 1/λ_max：梯度下降在学习率小于 2/λ_max 时收敛。"),
                (1 / 6, "用的是最小的特征值：最陡的方向最先发散，看最大的那个。"),
                (42 / 30, "这是平均损失的临界值：章节的循环对平方误差求和（.sum()）。"),
            ],
            hint="损失是卷积核的二次函数：求它的 Hessian（torch.autograd.functional.hessian），"
            "梯度下降在学习率小于 2/λ_max 时收敛。",
        ),
        explanation=(
            "平方误差之和是卷积核的二次函数，Hessian 为 2AᵀA（A 的每一行是一个 2×1 窗口），"
            "特征值为 12 和 60。梯度下降在学习率小于 2/60 = 1/30 ≈ 0.033 时收敛："
            "3e-2 刚好在临界值以下（最陡方向上每步乘以 |1 − 0.03·60| = 0.8，来回振荡着收敛），"
            "3e-1 远远超过它，误差每步放大约 17 倍；3e-3 很稳，但平缓的方向每步只缩小到 "
            "1 − 0.003·12 ≈ 0.96 倍，10 步远远不够：这个方向正是 [1, −1]ᵀ 本身，"
            "从 0 附近的初值出发，大部分误差都在这个方向上。"
        ),
    )
)

# ----------------------------------------------------------------------------- 08.3


def _out_shape(n: Pair, k: Pair, p: Pair, s: Pair) -> Pair:
    """nn.Conv2d's output height and width; p is the padding on each side."""
    return (
        (n[0] - k[0] + 2 * p[0] + s[0]) // s[0],
        (n[1] - k[1] + 2 * p[1] + s[1]) // s[1],
    )


def _each(f: Callable[[int, int, int, int], int]) -> Callable[[Pair, Pair, Pair, Pair], Pair]:
    def both(n: Pair, k: Pair, p: Pair, s: Pair) -> Pair:
        return f(n[0], k[0], p[0], s[0]), f(n[1], k[1], p[1], s[1])

    return both


_SHAPE_MISTAKES: list[tuple[Callable[[Pair, Pair, Pair, Pair], Pair], str]] = [
    (
        _each(lambda n, k, p, s: (n - k + p + s) // s),
        "nn.Conv2d 的 padding 是每一侧的填充，公式里的 p_h 是两侧一共的 2p。",
    ),
    (
        _each(lambda n, k, p, s: n - k + 2 * p + 1),
        "步幅呢？窗口每次跳 s 格，要用带步幅的公式。",
    ),
    (
        _each(lambda n, k, p, s: -(-(n - k + 2 * p + s) // s)),
        "公式里是向下取整 ⌊·⌋：最后一个放不下的窗口不算。",
    ),
]
#: (n - k + 2p) / s + 1 without rounding down: a float wherever s does not divide n - k + 2p.
_FLOAT_DIVISION = _each(lambda n, k, p, s: (n - k + 2 * p) / s + 1)  # type: ignore[arg-type, return-value]


def _shape_config(gen: torch.Generator) -> tuple[Pair, Pair, Pair, Pair]:
    """(n, k, p, s) pairs on which every planted mistake gives another shape."""
    while True:
        n = (randint(5, 32, gen), randint(5, 32, gen))
        k = (randint(1, 7, gen), randint(1, 7, gen))
        p = (randint(0, 3, gen), randint(0, 3, gen))
        s = (randint(1, 4, gen), randint(1, 4, gen))
        right = _out_shape(n, k, p, s)
        planted = [m(n, k, p, s) for m, _ in _SHAPE_MISTAKES] + [_FLOAT_DIVISION(n, k, p, s)]
        # every mistake gives another shape than the right one and than each other (its own hint)
        if min(right) >= 1 and right not in planted and len(set(planted)) == len(planted):
            return n, k, p, s


def _check_out_shape(answer: Any) -> Verdict:
    """conv_out_shape(n, k, p, s) on three fresh configurations: `输出形状应为 (14, 14)，你的是 ...`."""
    if not callable(answer):
        return Verdict(False, f"请给出一个函数（def ...），你给的是 {type_name(answer)}。")
    gen = fresh_generator()
    for trial in range(3):
        n, k, p, s = _shape_config(gen)
        got = answer(n, k, p, s)
        if got is None:
            if trial == 0:
                raise Unanswered
            return Verdict(False, "你的函数有时返回 None。")
        got = plain(got)
        right = _out_shape(n, k, p, s)
        if got == right:
            continue
        where = f"输入 {n}、卷积核 {k}、每侧填充 {p}、步幅 {s}"
        if not isinstance(got, tuple) or len(got) != 2:
            return Verdict(False, f"对{where}：应返回 (高, 宽) 两个数的元组，你的是 {got!r:.60}。")
        told = f"对{where}：输出形状应为 {right}，你的是 {got}。"
        for mistake, hint in _SHAPE_MISTAKES:
            if got == mistake(n, k, p, s):
                return Verdict(False, f"{told}{hint}")
        if any(isinstance(v, float) and not float(v).is_integer() for v in got):
            return Verdict(False, f"{told}形状是整数：用整除 // 向下取整。")
        return Verdict(False, told)
    return Verdict(True)


_PADDINGS, _STRIDES = range(3), range(1, 5)


def _check_pairs(answer: Any) -> Verdict:
    """Every (p, s) with p in 0..2, s in 1..4 that turns 28x28 into 14x14 under a 5x5 kernel."""
    items = plain(answer) if isinstance(answer, list | tuple | set) else None
    if isinstance(answer, set):
        items = tuple(plain(list(answer)))
    if items is None:
        return Verdict(
            False, f"请给出 (p, s) 组合的列表，例如 [(0, 1)]；你给的是 {type_name(answer)}。"
        )
    if len(items) == 2 and all(isinstance(v, int) for v in items):
        return Verdict(False, "请给出 (p, s) 组合的列表，哪怕只有一个也写成 [(p, s)]。")
    if not all(isinstance(v, tuple) and len(v) == 2 for v in items):
        return Verdict(False, "列表里的每一项应是一个 (p, s) 元组。")
    chosen = set(items)
    right = {
        (p, s)
        for p in _PADDINGS
        for s in _STRIDES
        if _out_shape((28, 28), (5, 5), (p, p), (s, s)) == (14, 14)
    }
    outside = sorted(v for v in chosen if v[0] not in _PADDINGS or v[1] not in _STRIDES)
    if outside:
        return Verdict(
            False, f"题目只考虑 p ∈ {{0, 1, 2}}、s ∈ {{1, 2, 3, 4}}；{outside} 不在其中。"
        )
    wrong = sorted(chosen - right)
    if wrong:
        p, s = wrong[0]
        shape = _out_shape((28, 28), (5, 5), (p, p), (s, s))
        return Verdict(False, f"(p, s) = ({p}, {s}) 的输出是 {shape}，不是 (14, 14)。")
    if chosen != right:
        return Verdict(False, "还有别的组合：把 12 种组合都代入公式试一遍。")
    return Verdict(True)


exercise("08.3", "输出形状：写出公式，找出 28×28 → 14×14 的填充与步幅")(
    parts(
        shape=_check_out_shape,
        pairs=_check_pairs,
        explanation=(
            "输出的高为 ⌊(n_h − k_h + 2p_h + s_h)/s_h⌋（nn.Conv2d 的 padding 是每侧的，总填充为 2p）。"
            "28×28、5×5 卷积核：步幅 1 时输出至少 24；步幅 2 时为 ⌊(25 + 2p)/2⌋，只有 p = 2 "
            "得到 14（这正是“p = (k − 1)/2、步幅 2，高宽减半”）；步幅 3、4 时 p ≤ 2 太小。"
        ),
    )
)

# ----------------------------------------------------------------------------- 08.4


def _mults(shape: tuple, kernel: tuple, padding: Pair, stride: Pair) -> int:
    """Multiplications of one forward pass: every output element is a c_i x k_h x k_w dot product."""
    c_i, h, w = shape
    c_o, _, k_h, k_w = kernel
    out_h, out_w = _out_shape((h, w), (k_h, k_w), padding, stride)
    return c_o * c_i * k_h * k_w * out_h * out_w


def _with_output(f: Callable[..., int]) -> Callable[[tuple, tuple, Pair, Pair], int]:
    """A wrong count written with the output height and width (right or per-side-padding)."""

    def count(shape: tuple, kernel: tuple, padding: Pair, stride: Pair) -> int:
        c_i, h, w = shape
        c_o, _, k_h, k_w = kernel
        return f(c_i, h, w, c_o, k_h, k_w, _out_shape((h, w), (k_h, k_w), padding, stride))

    return count


_MULT_MISTAKES: list[tuple[Callable[[tuple, tuple, Pair, Pair], int], str]] = [
    (
        _with_output(lambda c_i, h, w, c_o, k_h, k_w, out: c_o * c_i * k_h * k_w * h * w),
        "乘法按输出的每个元素计数：用输出的高和宽（带填充和步幅的公式），不是输入的。",
    ),
    (
        _with_output(lambda c_i, h, w, c_o, k_h, k_w, out: c_o * k_h * k_w * out[0] * out[1]),
        "每个输出元素要在全部 c_i 个输入通道的 k_h×k_w 窗口上求和：别漏了 c_i。",
    ),
    (
        _with_output(lambda c_i, h, w, c_o, k_h, k_w, out: c_i * k_h * k_w * out[0] * out[1]),
        "每个输出通道有自己的卷积核，要各算一遍：别漏了 c_o。",
    ),
    (
        _with_output(
            lambda c_i, h, w, c_o, k_h, k_w, out: 2 * c_o * c_i * k_h * k_w * out[0] * out[1]
        ),
        "只数乘法：这是乘法加加法（约 2 倍）。",
    ),
    (
        lambda shape, kernel, padding, stride: (
            kernel[0]
            * shape[0]
            * kernel[2]
            * kernel[3]
            * ((shape[1] - kernel[2] + padding[0] + stride[0]) // stride[0])
            * ((shape[2] - kernel[3] + padding[1] + stride[1]) // stride[1])
        ),
        "输出形状算错了：padding 是每一侧的填充，总填充是 2p。",
    ),
]


def _conv_config(gen: torch.Generator) -> tuple[tuple, tuple, Pair, Pair]:
    """((c_i, h, w), (c_o, c_i, k_h, k_w), padding, stride) separating every planted mistake."""
    while True:
        c_i, c_o = randint(2, 8, gen), randint(2, 8, gen)
        h, w = randint(4, 20, gen), randint(4, 20, gen)
        k_h, k_w = randint(1, 5, gen), randint(1, 5, gen)
        padding = (randint(0, 2, gen), randint(0, 2, gen))
        stride = (randint(1, 3, gen), randint(1, 3, gen))
        args = ((c_i, h, w), (c_o, c_i, k_h, k_w), padding, stride)
        out = _out_shape((h, w), (k_h, k_w), padding, stride)
        right = _mults(*args)
        planted = [m(*args) for m, _ in _MULT_MISTAKES]
        # every mistake gives another count than the right one and than each other (c_i == c_o
        # makes "forgot c_i" and "forgot c_o" equal: the hint would name the wrong one)
        if min(out) >= 1 and right not in planted and len(set(planted)) == len(planted):
            return args


exercise("08.4", "卷积层前向传播的乘法次数：1×1 与 3×3")(
    parts(
        mults=function(_mults, _conv_config, rtol=0, atol=0, mistakes=_MULT_MISTAKES),
        mults_1x1=number(
            64 * 256 * 28 * 28,
            mistakes=[(64 * 256, "这是参数量（不计偏置）：每个输出位置都要再乘一遍。")],
            hint="把 256 通道、28×28 的输入和 (64, 256, 1, 1) 的卷积核代入你的函数。",
        ),
        ratio=number(
            9,
            rtol=1e-6,
            mistakes=[
                (1 / 9, "倒过来了：题目问 3×3 的乘法次数是 1×1 的几倍。"),
                (9 * 26 * 26 / (28 * 28), "3×3 卷积每侧填充 1，输出仍是 28×28：两者的输出一样大。"),
            ],
        ),
        explanation=(
            "每个输出元素是 c_i·k_h·k_w 个乘积之和，输出共有 c_o·⌊…⌋·⌊…⌋ 个元素，所以乘法次数为 "
            "c_o·c_i·k_h·k_w·out_h·out_w。输出形状相同时，3×3 卷积的乘法是 1×1 的 9 倍："
            "256 → 64 通道、28×28 时约 1,284 万次对 1.16 亿次。NiN、GoogLeNet、ResNet 先用 1×1 "
            "卷积把通道数降下来，再做 3×3 卷积，就是为了省下这些乘法。"
        ),
    )
)

# ----------------------------------------------------------------------------- 08.5

exercise("08.5", "ReLU 与最大汇聚的 LeNet（学习率 0.1）", kind="experiment")(
    parts(
        history=band(
            0.84,  # measured 0.864 and 0.874 (seeds 0, 1); adjacent epochs differ by ~1.5 points
            0.91,
            minutes=2,
            what="ReLU + 最大汇聚的 LeNet 训练 10 轮后的测试准确率",
            low_hint="四个 nn.Sigmoid 都换成了 nn.ReLU、两个 nn.AvgPool2d 都换成了 nn.MaxPool2d 吗？"
            "学习率是 0.1、训练 10 轮吗？",
        ),
        first_epoch=band(
            0.6,
            0.85,
            minutes=2,
            what="第 1 轮后的测试准确率",
            key=None,
            low_hint="填的是同一次训练的 History['test_acc'][0] 吗？",
        ),
        why=choice(
            "A",
            "ABC",
            hints={
                "B": "汇聚层没有参数：换成最大汇聚，参数量变了吗？",
                "C": "学习率从 0.9 降到了 0.1：同样的梯度，步子更小。快的原因在梯度本身。",
            },
        ),
        explanation=(
            "sigmoid 的导数最大只有 0.25，输入离 0 稍远就趋于 0，梯度逐层相乘后到前面的层已经"
            "很小，所以 sigmoid 的 LeNet 第 1 轮还停在损失 2.3 附近；ReLU 在正半轴导数为 1，"
            "不饱和，梯度能传回前面的层，第一轮就学到了很多。最大汇聚保留窗口里最强的响应，"
            "与 ReLU 搭配得更好。下一章的现代卷积网络都用 ReLU 和最大汇聚。"
        ),
    )
)
