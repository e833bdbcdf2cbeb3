"""Exercises of 08_cnn: the solutions pass, typical mistakes get their hints."""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from d2lhelpers.checks.ch08 import _learn_kernel, _mults, _out_shape

from .helpers import fails_with, passes, verdict


def corr2d(X, K):
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


# ----------------------------------------------------------------------------- 08.1

K = torch.tensor([[1.0, -1.0]])
EYE = torch.eye(8)
GOOD_08_1 = {
    "eye": corr2d(EYE, K),
    "eye_t": corr2d(EYE.t(), K),
    "kernel_t": corr2d(EYE, K.t()),
    "why": "B",
}


def test_08_1_diagonal_edges():
    passes("08.1", GOOD_08_1)
    fails_with("08.1", {**GOOD_08_1, "eye": corr2d(EYE, -K)}, "符号反了")
    fails_with("08.1", {**GOOD_08_1, "kernel_t": corr2d(EYE, K)}, "K.t()")
    fails_with("08.1", {**GOOD_08_1, "eye": corr2d(EYE, K.t())}, "转置后的卷积核")
    fails_with("08.1", {**GOOD_08_1, "why": "A"}, "全是 0")
    fails_with("08.1", {**GOOD_08_1, "eye": corr2d(EYE, K).tolist()}, "torch.Tensor")


def test_08_1_reference_is_the_cross_correlation():
    X = torch.randn(6, 7)
    expected = F.conv2d(X[None, None], K[None, None])[0, 0]
    torch.testing.assert_close(corr2d(X, K), expected)
    torch.testing.assert_close(GOOD_08_1["eye"], F.conv2d(EYE[None, None], K[None, None])[0, 0])


# ----------------------------------------------------------------------------- 08.2


def learn_kernel(X, Y, K0, lr, num_iters, *, zero_grad=True, loss="sum"):
    """The chapter's loop with nn.Conv2d, started from K0."""
    conv2d = nn.Conv2d(1, 1, kernel_size=tuple(K0.shape), bias=False)
    with torch.no_grad():
        conv2d.weight.copy_(K0.reshape(conv2d.weight.shape))
    X, Y = X.reshape(1, 1, *X.shape), Y.reshape(1, 1, *Y.shape)
    for _ in range(num_iters):
        l = (conv2d(X) - Y) ** 2
        if zero_grad:
            conv2d.zero_grad()
        getattr(l, loss)().backward()
        with torch.no_grad():
            conv2d.weight -= lr * conv2d.weight.grad
    return conv2d.weight.detach().reshape(K0.shape)


GOOD_08_2 = {"learn": learn_kernel, "large": "B", "small": "B", "critical": 1 / 30}


def test_08_2_learn_a_kernel():
    passes("08.2", GOOD_08_2)
    passes("08.2", {**GOOD_08_2, "critical": 0.0333})
    fails_with("08.2", {**GOOD_08_2, "learn": lambda *a: learn_kernel(*a, loss="mean")}, ".sum()")
    fails_with("08.2", {**GOOD_08_2, "learn": lambda *a: learn_kernel(*a, zero_grad=False)}, "清零")
    fails_with(
        "08.2",
        {**GOOD_08_2, "learn": lambda X, Y, K0, lr, n: learn_kernel(X, Y, K0, lr, n - 1)},
        "少走了一步",
    )
    fails_with(
        "08.2",
        {**GOOD_08_2, "learn": lambda X, Y, K0, lr, n: learn_kernel(X, Y, K0, -lr, n)},
        "方向反了",
    )
    fails_with("08.2", {**GOOD_08_2, "critical": 1 / 60}, "2/λ_max")
    fails_with("08.2", {**GOOD_08_2, "critical": 1.4}, "平均损失")
    fails_with("08.2", {**GOOD_08_2, "large": "A"}, "变小")
    fails_with("08.2", {**GOOD_08_2, "small": "C"}, "还有多远")


def test_08_2_reference_against_autograd_and_the_question():
    """The checker's closed-form descent equals the nn.Conv2d loop; the question's numbers."""
    gen = torch.Generator().manual_seed(3)
    X, Y, K0 = (
        torch.rand(6, 5, generator=gen),
        torch.rand(5, 5, generator=gen),
        torch.randn(2, 1, generator=gen),
    )
    torch.testing.assert_close(_learn_kernel(X, Y, K0, 0.004, 5), learn_kernel(X, Y, K0, 0.004, 5))
    # X.t() of the edge image and its horizontal edges: Hessian eigenvalues 12 and 60
    image = torch.ones(6, 8)
    image[:, 2:6] = 0
    Xt, Yt = image.t(), corr2d(image.t(), K.t())

    def loss(k):
        return ((F.conv2d(Xt[None, None], k.reshape(1, 1, 2, 1))[0, 0] - Yt) ** 2).sum()

    H = torch.autograd.functional.hessian(loss, torch.zeros(2, 1)).reshape(2, 2)
    torch.testing.assert_close(torch.linalg.eigvalsh(H), torch.tensor([12.0, 60.0]))
    K0 = torch.randn(2, 1, generator=gen)
    start = float(loss(K0))
    losses = {lr: float(loss(_learn_kernel(Xt, Yt, K0, lr, 10))) for lr in (0.3, 0.03, 0.003)}
    assert losses[0.3] > 1e6 * start  # diverges
    assert losses[0.03] < 0.1 * losses[0.003] < 0.1 * start  # 0.003 still far from 0
    assert float(loss(K.t())) == 0


# ----------------------------------------------------------------------------- 08.3


def out_shape(n, k, p, s):
    return tuple((n[i] - k[i] + 2 * p[i] + s[i]) // s[i] for i in range(2))


PAIRS = [
    (p, s)
    for p in range(3)
    for s in range(1, 5)
    if out_shape((28, 28), (5, 5), (p, p), (s, s)) == (14, 14)
]


def test_08_3_output_shape():
    assert PAIRS == [(2, 2)]
    passes("08.3", {"shape": out_shape, "pairs": PAIRS})
    passes("08.3", {"shape": lambda *a: torch.Size(out_shape(*a)), "pairs": {(2, 2)}})
    per_side = {
        "shape": lambda n, k, p, s: tuple((n[i] - k[i] + p[i] + s[i]) // s[i] for i in range(2))
    }
    fails_with("08.3", {**per_side, "pairs": PAIRS}, "每一侧")
    fails_with("08.3", {**per_side, "pairs": PAIRS}, "输出形状应为 (")
    ceil = {
        "shape": lambda n, k, p, s: tuple(
            math.ceil((n[i] - k[i] + 2 * p[i] + s[i]) / s[i]) for i in range(2)
        )
    }
    fails_with("08.3", {**ceil, "pairs": PAIRS}, "向下取整")
    no_stride = {"shape": lambda n, k, p, s: tuple(n[i] - k[i] + 2 * p[i] + 1 for i in range(2))}
    fails_with("08.3", {**no_stride, "pairs": PAIRS}, "步幅")
    true_division = {
        "shape": lambda n, k, p, s: tuple((n[i] - k[i] + 2 * p[i]) / s[i] + 1 for i in range(2))
    }
    fails_with("08.3", {**true_division, "pairs": PAIRS}, "整除")
    fails_with("08.3", {"shape": out_shape, "pairs": [(1, 2)]}, "(13, 13)")
    fails_with("08.3", {"shape": out_shape, "pairs": (2, 2)}, "哪怕只有一个")
    fails_with("08.3", {"shape": out_shape, "pairs": []}, "还有别的组合")
    fails_with("08.3", {"shape": out_shape, "pairs": [(2, 2), (8, 3)]}, "只考虑")


def test_08_3_reference_matches_nn_conv2d():
    for n, k, p, s in itertools.product((5, 8, 13), (1, 2, 5), (0, 1, 3), (1, 2, 4)):
        if k > n + 2 * p:
            continue
        conv = nn.Conv2d(1, 1, kernel_size=(k, 3), padding=(p, 1), stride=(s, 2))
        with torch.no_grad():
            shape = tuple(conv(torch.zeros(1, 1, n, 9)).shape[2:])
        assert shape == _out_shape((n, 9), (k, 3), (p, 1), (s, 2))


# ----------------------------------------------------------------------------- 08.4


def mults(shape, kernel, padding, stride):
    c_i, h, w = shape
    c_o, _, k_h, k_w = kernel
    out_h, out_w = out_shape((h, w), (k_h, k_w), padding, stride)
    return c_o * c_i * k_h * k_w * out_h * out_w


GOOD_08_4 = {"mults": mults, "mults_1x1": 12_845_056, "ratio": 9}


def test_08_4_multiplications():
    passes("08.4", GOOD_08_4)
    c = {"mults": lambda shape, kernel, p, s: mults(shape, kernel, p, s) // shape[0]}
    fails_with("08.4", {**GOOD_08_4, **c}, "c_i")
    c = {"mults": lambda shape, kernel, p, s: mults(shape, kernel, p, s) // kernel[0]}
    fails_with("08.4", {**GOOD_08_4, **c}, "c_o")
    c = {
        "mults": lambda shape, kernel, p, s: (
            kernel[0] * shape[0] * kernel[2] * kernel[3] * shape[1] * shape[2]
        )
    }
    fails_with("08.4", {**GOOD_08_4, **c}, "不是输入的")
    fails_with("08.4", {**GOOD_08_4, "mults": lambda *a: 2 * mults(*a)}, "只数乘法")
    fails_with("08.4", {**GOOD_08_4, "ratio": 1 / 9}, "倒过来了")
    fails_with("08.4", {**GOOD_08_4, "mults_1x1": 64 * 256}, "参数量")


def test_08_4_reference_counts_what_torch_counts():
    """torch's FLOP counter counts a convolution's multiply-adds as 2 operations each."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(10):
        c_i, c_o, h, w = (int(v) for v in torch.randint(1, 9, (4,), generator=gen) + 3)
        k_h, k_w = (int(v) for v in torch.randint(1, 4, (2,), generator=gen))
        padding = tuple(int(v) for v in torch.randint(0, 2, (2,), generator=gen))
        stride = tuple(int(v) for v in torch.randint(1, 3, (2,), generator=gen))
        conv = nn.Conv2d(c_i, c_o, (k_h, k_w), padding=padding, stride=stride, bias=False)
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            conv(torch.zeros(1, c_i, h, w))
        assert counter.get_total_flops() == 2 * _mults(
            (c_i, h, w), (c_o, c_i, k_h, k_w), padding, stride
        )


# ----------------------------------------------------------------------------- 08.5


def test_08_5_relu_lenet(monkeypatch):
    monkeypatch.delenv("D2L_QUICK", raising=False)
    history = {"test_acc": [0.78, 0.84, 0.88], "train_loss": [0.9, 0.5, 0.3]}
    good = {"history": history, "first_epoch": 0.78, "why": "A"}
    passes("08.5", good)
    passes("08.5", {**good, "history": 0.88})
    # the sigmoid LeNet's result (0.77-0.82): the activations were not replaced
    fails_with("08.5", {**good, "history": {"test_acc": [0.1, 0.6, 0.8]}}, "低于默认模式的参考范围")
    fails_with("08.5", {**good, "first_epoch": 0.1}, "低于默认模式的参考范围")
    fails_with("08.5", {**good, "why": "B"}, "没有参数")
    fails_with("08.5", {**good, "history": {"test_acc": []}}, "空的")
    monkeypatch.setenv("D2L_QUICK", "1")
    assert (
        verdict("08.5", {**good, "history": {"test_acc": [0.3]}, "first_epoch": 0.2}).passed is True
    )


def test_none_and_wrong_types_get_a_verdict():
    for i in ("08.1", "08.2", "08.3", "08.4", "08.5"):
        assert verdict(i, None).passed is None
        for wrong in ("x", [1, 2], 3.0, torch.zeros(2), {"a": 1}):
            assert verdict(i, wrong).passed is False, (i, wrong)
    for i, key in (
        ("08.1", "eye"),
        ("08.2", "learn"),
        ("08.3", "shape"),
        ("08.3", "pairs"),
        ("08.4", "mults"),
    ):
        for wrong in (
            "x",
            3,
            torch.zeros(2),
            [1, 2],
            lambda *a: "x",
            torch.zeros(8, 7, device="meta"),
        ):
            assert verdict(i, {key: wrong}).passed is False, (i, key, wrong)
