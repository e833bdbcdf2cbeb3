"""Exercises of 04_autograd: the solutions pass, typical mistakes get their hints."""

from __future__ import annotations

import torch

from .helpers import fails_with, passes, verdict


def control_flow(a, square=False):
    b = 2 * a
    while b.norm() < 1000:
        b = 2 * b
    if b.sum() > 0:
        return b
    return b * b if square else 100 * b


def grad_formula(a):
    d = control_flow(a, square=True)
    return d / a if a > 0 else 2 * d / a


def second_derivative(f, x):
    x = x.detach().clone().requires_grad_(True)
    (first,) = torch.autograd.grad(f(x).sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(first.sum(), x)
    return second


def norm_grad(x):
    return x / torch.linalg.vector_norm(x)


def test_04_1_vector_control_flow():
    passes("04.1", {"backward": "B", "same": True, "why": "A"})
    fails_with("04.1", {"backward": "A", "same": True, "why": "A"}, "会报错")
    fails_with("04.1", {"backward": "B", "same": False, "why": "A"}, "随机向量")
    fails_with("04.1", {"backward": "B", "same": True, "why": "B"}, "整个向量")


def test_04_2_new_derivative():
    passes("04.2", {"linear": False, "grad": grad_formula})
    # the old formula d / a is right for a > 0 only
    fails_with("04.2", {"linear": False, "grad": lambda a: control_flow(a, True) / a}, "c = b * b")
    # twice d / a on both sides: wrong for a > 0
    fails_with("04.2", {"linear": False, "grad": lambda a: 2 * control_flow(a, True) / a}, "没有改")
    fails_with("04.2", {"linear": True, "grad": grad_formula}, "b * b")


def test_04_2_a_hard_coded_number_cannot_pass():
    assert verdict("04.2", {"linear": False, "grad": lambda a: 2048.0}).passed is False


def test_04_3_second_derivative():
    passes("04.3", {"second": second_derivative, "cost": "A"})

    def first_only(f, x):
        x = x.detach().clone().requires_grad_(True)
        return torch.autograd.grad(f(x).sum(), x)[0]

    fails_with("04.3", {"second": first_only, "cost": "A"}, "一阶导数")

    def no_create_graph(f, x):
        x = x.detach().clone().requires_grad_(True)
        (first,) = torch.autograd.grad(f(x).sum(), x)
        return torch.autograd.grad(first.sum(), x)[0]

    fails_with("04.3", {"second": no_create_graph, "cost": "A"}, "create_graph=True")

    def as_tuple(f, x):
        return (second_derivative(f, x),)

    fails_with("04.3", {"second": as_tuple, "cost": "A"}, "元组")
    # the second derivative of sin only: the check calls it with other functions too
    fails_with("04.3", {"second": lambda f, x: -torch.sin(x), "cost": "A"}, "torch.exp")
    fails_with("04.3", {"second": second_derivative, "cost": "B"}, "差分")


def test_04_4_tangent_and_norm():
    good = {
        "slope": 4.0,
        "intercept": -4.0,
        "norm_grad": norm_grad,
        "at_zero": torch.zeros(3),
        "why": "A",
    }
    passes("04.4", good)
    fails_with("04.4", {**good, "slope": 2}, "+1/x²")
    fails_with("04.4", {**good, "intercept": 0}, "(x − 1)")
    fails_with("04.4", {**good, "norm_grad": lambda x: 2 * x}, "‖x‖²")
    fails_with("04.4", {**good, "at_zero": torch.full((3,), float("nan"))}, "sqrt")
    fails_with("04.4", {**good, "why": "B"}, "可微函数")


def test_04_5_relu_at_zero():
    passes("04.5", {"central": 0.5, "autograd": 0.0, "meaning": "B"})
    fails_with("04.5", {"central": 1.0, "autograd": 0.0, "meaning": "B"}, "向前差分")
    fails_with("04.5", {"central": 0.5, "autograd": 0.5, "meaning": "B"}, "backward()")
    fails_with("04.5", {"central": 0.5, "autograd": 0.0, "meaning": "C"}, "h 再小")


def test_none_and_wrong_types_get_a_verdict():
    for i in ("04.1", "04.2", "04.3", "04.4", "04.5"):
        assert verdict(i, None).passed is None
        for wrong in ("x", [1, 2], 3.0, torch.zeros(2)):
            assert verdict(i, wrong).passed is False
    # wrong types inside a part
    assert verdict("04.2", {"linear": False, "grad": 3.0}).passed is False
    assert verdict("04.4", {"at_zero": [0, 0, 0]}).passed is False
    assert verdict("04.3", {"second": lambda f, x: "x"}).passed is False
