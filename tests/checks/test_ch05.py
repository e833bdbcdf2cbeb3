"""Exercises of 05_linear_networks: the solutions pass, typical mistakes get their hints."""

from __future__ import annotations

import math

import torch
from torch import nn

from .helpers import fails_with, passes, verdict


def step_with(lr_of_batch):
    """A `sum_loss_step` whose learning rate is `lr_of_batch(len(X))`."""

    def step(net, X, y):
        trainer = torch.optim.SGD(net.parameters(), lr=lr_of_batch(len(X)))
        loss = nn.MSELoss(reduction="sum")(net(X), y)
        trainer.zero_grad()
        loss.backward()
        trainer.step()
        return net

    return step


def laplace_nll(w, b, x, y):
    return len(x) * math.log(2) + (y - w * x - b).abs().sum()


def second(o):
    p = torch.softmax(o, dim=1)
    return p * (1 - p)


def test_05_1_critical_learning_rates(monkeypatch):
    monkeypatch.delenv("D2L_QUICK", raising=False)
    good = {"critical_10": 1.9, "critical_100": 2.0, "why": "B"}
    passes("05.1", good)
    fails_with("05.1", {**good, "why": "A"}, "batch_size")
    # batch size 100 tried at 10x the rate: outside the measured band
    fails_with("05.1", {**good, "critical_100": 3.9}, "高于默认模式的参考范围")
    # the first lr that did NOT diverge, one grid step too early
    fails_with("05.1", {**good, "critical_10": 0.5}, "低于默认模式的参考范围")
    monkeypatch.setenv("D2L_QUICK", "1")
    assert verdict("05.1", {**good, "critical_100": 3.9}).passed is True  # default mode only


def test_05_2_sum_reduction():
    good = {"lr": 0.003, "step": step_with(lambda n: 0.03 / n)}
    passes("05.2", good)
    fails_with("05.2", {**good, "lr": 0.3}, "变小")
    fails_with("05.2", {**good, "lr": 0.0015}, "½")
    # a fixed 0.003 is right for batch size 10 only
    fails_with("05.2", {**good, "step": step_with(lambda n: 0.003)}, "批量大小为 20")
    fails_with("05.2", {**good, "step": step_with(lambda n: 0.03)}, "还是 0.03")
    fails_with("05.2", {**good, "step": step_with(lambda n: 0.03 * n)}, "除以批量大小")


def test_05_2_a_step_that_returns_nothing_is_unanswered():
    def no_return(net, X, y):
        step_with(lambda n: 0.03 / n)(net, X, y)

    assert verdict("05.2", {"lr": None, "step": no_return}).passed is None


def test_05_3_laplace():
    good = {"nll": laplace_nll, "loss": "B", "fit": (1.9529, 0.9953)}
    passes("05.3", good)
    fails_with("05.3", {**good, "nll": lambda w, b, x, y: (y - w * x - b).abs().sum()}, "log 2")
    fails_with(
        "05.3",
        {**good, "nll": lambda w, b, x, y: len(x) * math.log(2) + (y - w * x - b).abs().mean()},
        "不是平均",
    )
    # the least-squares line (normal noise): b differs from the L1 line by 0.02
    fails_with("05.3", {**good, "fit": (1.9468, 0.9719)}, "最小二乘")
    fails_with("05.3", {**good, "fit": 1.95}, "(w, b)")
    fails_with("05.3", {**good, "loss": "A"}, "绝对值")


def test_05_4_second_derivative():
    good = {"row_sum": "A", "second": second, "depends_on_label": False}
    passes("05.4", good)
    fails_with("05.4", {**good, "second": lambda o: torch.softmax(o, dim=1)}, "softmax 本身")
    fails_with("05.4", {**good, "second": lambda o: -second(o)}, "符号反了")
    fails_with("05.4", {**good, "second": lambda o: second(o).T}, "形状")
    fails_with("05.4", {**good, "depends_on_label": True}, "线性函数")
    fails_with("05.4", {**good, "row_sum": "B"}, "任何分数")


def test_05_5_loaders(monkeypatch):
    monkeypatch.delenv("D2L_QUICK", raising=False)
    good = {"per_image_ratio": 1.2, "speedup": 40.0, "overhead": "AB", "why": "A"}
    passes("05.5", good)
    # the ratio of the time per batch, not of the same number of images: 1.2 / 16
    fails_with("05.5", {**good, "per_image_ratio": 1.2 / 16}, "同样多张图片")
    fails_with("05.5", {**good, "speedup": 1 / 40}, "低于默认模式的参考范围")
    fails_with("05.5", {**good, "overhead": "A"}, "漏了一项")
    fails_with("05.5", {**good, "overhead": "ABC"}, "一样快")
    fails_with("05.5", {**good, "why": "B"}, "返回 0")


def test_none_and_wrong_types_get_a_verdict():
    for i in ("05.1", "05.2", "05.3", "05.4", "05.5"):
        assert verdict(i, None).passed is None
        for wrong in ("x", [1, 2], 3.0, torch.zeros(2)):
            assert verdict(i, wrong).passed is False
    assert verdict("05.1", {"critical_10": "1.9"}).passed is False
    assert verdict("05.2", {"step": lambda net, X, y: "net"}).passed is False
    assert verdict("05.3", {"fit": torch.zeros(2)}).passed is False
    assert verdict("05.4", {"second": lambda o: o.tolist()}).passed is False
