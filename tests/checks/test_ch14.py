"""Exercises of 14_optimization: the solutions pass, typical mistakes get their hints."""

from __future__ import annotations

import math

import pytest
import torch

from .helpers import fails_with, passes, verdict


def gd_distance(eta, lam1, lam2, steps):
    x1, x2 = -5.0, -2.0
    for _ in range(steps):
        x1, x2 = x1 - eta * lam1 * x1, x2 - eta * lam2 * x2
    return math.hypot(x1, x2)


def best_eta(lam1, lam2):
    grid = [0.01 + 0.001 * i for i in range(591)]
    return min(grid, key=lambda eta: gd_distance(eta, lam1, lam2, 20))


def precond(Q, b, x, eta):
    return x - eta * (Q @ x + b) / torch.diag(Q)


def newton(Q, b, x):
    return x - torch.linalg.inv(Q) @ (Q @ x + b)


def piecewise(t):
    return 0.5 ** (t // 20)


def ratio(g):
    book = g / math.sqrt(g**2 + 1e-6)
    torch_step = g / (math.sqrt(g**2) + 1e-10)
    return torch_step / book


GOOD = {
    "14.1": {
        "distance": gd_distance,
        "best_eta_round": best_eta(2, 4),
        "best_eta_ill": best_eta(0.2, 4),
        "why": "B",
    },
    "14.2": {"precond": precond, "newton": newton, "one_step": "B", "kappa": 20.000001},
    "14.3": {"piecewise": piecewise, "remaining": 0.7, "distance": 0.0102, "why": "B"},
    "14.4": {"best": (0.665, 0.405), "beta_theory": 0.40261, "speedup": 4.52},
    "14.5": {"loss": 0.2425, "diff": 3e-8, "ratio": ratio, "when": "B"},
}


def test_14_1_best_learning_rate():
    good = GOOD["14.1"]
    assert abs(good["best_eta_round"] - 0.335) < 0.002 and abs(good["best_eta_ill"] - 0.47) < 0.002
    passes("14.1", good)
    fails_with(
        "14.1",
        {**good, "distance": lambda e, a, b, s: gd_distance(e, a / 2, b / 2, s)},
        "二阶导数",
    )
    fails_with(
        "14.1", {**good, "distance": lambda e, a, b, s: gd_distance(e, a, b, s + 1)}, "多走了一步"
    )
    fails_with(
        "14.1", {**good, "distance": lambda e, a, b, s: gd_distance(e, a, b, s) ** 2}, "平方"
    )
    fails_with("14.1", {**good, "best_eta_round": 0.5}, "不收缩")
    fails_with("14.1", {**good, "best_eta_ill": 10**-0.35}, "太粗")
    fails_with("14.1", {**good, "why": "A"}, "2/L = 0.5")


def test_14_2_preconditioning_and_newton():
    good = GOOD["14.2"]
    passes("14.2", good)
    fails_with(
        "14.2", {**good, "precond": lambda Q, b, x, eta: x - eta * (Q @ x + b)}, "普通的梯度下降"
    )
    fails_with(
        "14.2", {**good, "precond": lambda Q, b, x, eta: x - eta * Q @ x / torch.diag(Q)}, "漏了 b"
    )
    fails_with("14.2", {**good, "newton": lambda Q, b, x: precond(Q, b, x, 1.0)}, "对角预处理")
    fails_with("14.2", {**good, "newton": lambda Q, b, x: 2 * x - newton(Q, b, x)}, "符号反了")
    fails_with("14.2", {**good, "one_step": "A"}, "梯度")
    fails_with("14.2", {**good, "kappa": 1}, "完全修好")


def test_14_3_piecewise_schedule():
    good = GOOD["14.3"]
    passes("14.3", good)
    fails_with("14.3", {**good, "piecewise": lambda t: 0.5 ** (t / 20)}, "指数衰减")
    fails_with("14.3", {**good, "piecewise": lambda t: 0.5 ** ((t - 1) // 20)}, "边界")
    fails_with("14.3", {**good, "piecewise": lambda t: 0.5 ** (t // 10)}, "应为")
    fails_with("14.3", {**good, "remaining": 0.0058}, "指数衰减的余量")
    fails_with("14.3", {**good, "remaining": 0.75}, "t = k + 1")
    fails_with("14.3", {**good, "distance": math.hypot(5, 2)}, "重新设为 1")
    fails_with("14.3", {**good, "distance": 0.82}, "指数衰减的结果")
    fails_with("14.3", {**good, "why": "C"}, "离最小值还远")


def test_14_4_momentum_optimum():
    good = GOOD["14.4"]
    passes("14.4", good)
    passes("14.4", {**good, "best": (0.6, 0.45)})  # the best point of the widget's grid
    fails_with("14.4", {**good, "best": (0.6, 0.5)}, "继续找")
    fails_with("14.4", {**good, "best": (0.476, 0.0)}, "梯度下降")
    fails_with("14.4", {**good, "beta_theory": 0.6345}, "还要平方")
    fails_with("14.4", {**good, "speedup": 0.905 / 0.6345}, "取对数")
    fails_with("14.4", {**good, "speedup": 1 / 4.545}, "倒过来")


@pytest.mark.parametrize("quick", ["", "1"])
def test_14_5_epsilon_placement(monkeypatch, quick):
    monkeypatch.setenv("D2L_QUICK", quick)  # the airfoil runs are the same in both modes
    good = GOOD["14.5"]
    passes("14.5", good)
    fails_with("14.5", {**good, "loss": 0.30}, "学习率是 0.1")
    fails_with("14.5", {**good, "diff": 0.0021}, "set_seed")
    fails_with("14.5", {**good, "ratio": lambda g: 1 / ratio(g)}, "倒过来")
    fails_with(
        "14.5", {**good, "ratio": lambda g: math.sqrt(abs(g) + 1e-6) / (abs(g) + 1e-10)}, "g² + ε"
    )
    fails_with("14.5", {**good, "when": "A"}, "g = 1e-4")


def test_none_and_wrong_types_get_a_verdict():
    for i in GOOD:
        assert verdict(i, None).passed is None
        assert verdict(i, {k: None for k in GOOD[i]}).passed is None
        for wrong in ("x", [1, 2], 3.0, torch.zeros(2)):
            assert verdict(i, wrong).passed is False
        for key in GOOD[i]:
            for wrong in ("x", [1, 2], torch.zeros(2), print):
                assert verdict(i, {**GOOD[i], key: wrong}).passed is False, (i, key, wrong)
