"""Exercises of 03_linear_algebra: the solutions pass, typical mistakes get their hints."""

from __future__ import annotations

import torch

from .helpers import fails_with, passes, verdict


def rows(A):
    return A / A.sum(axis=1, keepdims=True)


def test_03_1_symmetrize():
    passes("03.1", {"a": lambda A: A + A.T, "b": "B"})
    fails_with("03.1", {"a": lambda A: A @ A.T, "b": "B"}, "A Aᵀ")
    fails_with("03.1", {"a": lambda A: A + A, "b": "B"}, "别忘了转置")
    fails_with("03.1", {"a": lambda A: A + A.T, "b": "A"}, "方阵不一定对称")


def test_03_2_len():
    passes("03.2", {"a": 2, "b": 0})
    fails_with("03.2", {"a": 24, "b": 0}, "numel")
    fails_with("03.2", {"a": 4, "b": -1}, "最后一个轴")


def test_03_3_row_normalisation():
    passes("03.3", {"a": "C", "b": "B", "c": rows})
    fails_with(
        "03.3", {"a": "C", "b": "B", "c": lambda A: A / A.sum(axis=0, keepdims=True)}, "按列"
    )
    # without keepdims: raises on (n, m) with n != m, wrong rows on a square matrix
    fails_with("03.3", {"a": "C", "b": "B", "c": lambda A: A / A.sum(axis=1)}, "")
    fails_with("03.3", {"a": "C", "b": "B", "c": lambda A: A / A.sum()}, "所有元素的和")
    fails_with("03.3", {"a": "A", "b": "A", "c": rows}, "右对齐")


def test_03_4_sum_shapes():
    passes(
        "03.4", {"axis0": (3, 4), "axis1": (2, 4), "axis2": torch.Size([2, 3]), "same_norm": True}
    )
    fails_with(
        "03.4", {"axis0": (2, 4), "axis1": (2, 4), "axis2": (2, 3), "same_norm": True}, "长度为 2"
    )
    fails_with(
        "03.4", {"axis0": (3, 4), "axis1": (2, 4), "axis2": (2, 3), "same_norm": 1}, "True 或 False"
    )


def test_03_5_flops_and_speed(monkeypatch):
    good = {"loop_mm": lambda A, B: A @ B, "flops": lambda n, s: 2 * n**3 / s, "speedup": 400.0}
    passes("03.5", good)
    fails_with("03.5", {**good, "flops": lambda n, s: n**3 / s}, "2n³")
    fails_with("03.5", {**good, "loop_mm": lambda A, B: -(A @ B)}, "值不对")
    fails_with("03.5", {**good, "speedup": 2.0}, "低于默认模式的参考范围")
    monkeypatch.setenv("D2L_QUICK", "1")
    assert verdict("03.5", {**good, "speedup": 2.0}).passed is True  # the band is for default mode


def test_none_and_wrong_types_get_a_verdict():
    for i in ("03.1", "03.2", "03.3", "03.4", "03.5"):
        assert verdict(i, None).passed is None
        for wrong in ("x", [1, 2], 3.0, torch.zeros(2)):
            assert verdict(i, wrong).passed is False
