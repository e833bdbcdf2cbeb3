"""Exercises of 13_computer_vision: the solutions pass, typical mistakes get their hints."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision.transforms.functional as TF

from d2lhelpers.checks.ch13 import _assign, _iou_matrix, _shift_inputs, _shift_one
from d2lhelpers.detection import assign_anchor_to_bbox, box_iou

from .helpers import fails_with, passes, verdict

# ----------------------------------------------------------------------------- 13.1


def mean_asymmetry(X):
    m = X.double().mean(dim=0)
    return float((m - m.flip(-1)).norm() / m.norm())


GOOD_13_1 = {"asymmetry": mean_asymmetry, "digits": "B", "shoes": "B"}


def test_13_1_audit():
    passes("13.1", GOOD_13_1)
    up_down = {**GOOD_13_1, "asymmetry": lambda X: mean_asymmetry(X.transpose(-1, -2))}
    fails_with("13.1", up_down, "上下翻转")
    unnormalised = {
        **GOOD_13_1,
        "asymmetry": lambda X: float((X.mean(0) - X.mean(0).flip(-1)).norm()),
    }
    fails_with("13.1", unnormalised, "范数")
    per_image = {**GOOD_13_1, "asymmetry": lambda X: float((X - X.flip(-1)).norm() / X.norm())}
    fails_with("13.1", per_image, "先对所有图像取平均")
    fails_with("13.1", {**GOOD_13_1, "digits": "C"}, "6 上下翻转")
    fails_with("13.1", {**GOOD_13_1, "shoes": "A"}, "标签没有变")


def test_13_1_reference_hand_value():
    # one image [[1, 0]]: |[1, -1]| / |[1, 0]| = sqrt(2)
    assert mean_asymmetry(torch.tensor([[[1.0, 0.0]]])) == pytest.approx(math.sqrt(2))


# ----------------------------------------------------------------------------- 13.2


def shift_image(x, dy, dx):
    """The solution: pad with zeros, then crop where the content lands."""
    h, w = x.shape[-2:]
    s = max(abs(dy), abs(dx))
    return TF.crop(TF.pad(x, [s]), s - dy, s - dx, h, w)


GOOD_13_2 = {"shift": shift_image, "offsets": 81}


def test_13_2_shift():
    passes("13.2", GOOD_13_2)
    rolled = {**GOOD_13_2, "shift": lambda x, dy, dx: torch.roll(x, (dy, dx), dims=(-2, -1))}
    fails_with("13.2", rolled, "torch.roll")
    fails_with(
        "13.2", {**GOOD_13_2, "shift": lambda x, dy, dx: shift_image(x, -dy, -dx)}, "方向反了"
    )
    fails_with("13.2", {**GOOD_13_2, "shift": lambda x, dy, dx: shift_image(x, dx, dy)}, "交换")
    fails_with("13.2", {**GOOD_13_2, "offsets": 64}, "别忘了 0")
    fails_with("13.2", {**GOOD_13_2, "offsets": 80}, "不平移")


def test_13_2_reference_moves_content_down_and_right():
    x = torch.arange(1.0, 10.0).reshape(1, 3, 3)
    expected = torch.tensor([[[0.0, 0.0, 0.0], [0.0, 1.0, 2.0], [0.0, 4.0, 5.0]]])
    assert torch.equal(_shift_one(x, 1, 1), expected)
    assert torch.equal(shift_image(x, 1, 1), expected)
    assert torch.equal(_shift_one(x, -1, 0), torch.tensor([[[4.0, 5, 6], [7, 8, 9], [0, 0, 0]]]))


def test_13_2_inputs_never_shift_by_zero():
    for seed in range(200):
        _, dy, dx = _shift_inputs(torch.Generator().manual_seed(seed))
        assert dy != 0 and dx != 0 and abs(dy) != abs(dx)


# ----------------------------------------------------------------------------- 13.3

GOOD_13_3 = {"std_of_mean": 1 / math.sqrt(8), "frozen_params": 325, "lr_fc": "A"}


def test_13_3_batchnorm_and_parameters():
    passes("13.3", GOOD_13_3)
    passes("13.3", {**GOOD_13_3, "std_of_mean": 0.354})
    fails_with("13.3", {**GOOD_13_3, "std_of_mean": 1 / 8}, "开平方")
    fails_with("13.3", {**GOOD_13_3, "frozen_params": 320}, "偏置")
    fails_with("13.3", {**GOOD_13_3, "frozen_params": 650}, "5 类")
    fails_with("13.3", {**GOOD_13_3, "lr_fc": "C"}, "没有批量规范化")


def test_13_3_values_from_torch():
    torch.manual_seed(0)
    means = torch.randn(200_000, 8).mean(dim=1)
    assert float(means.std()) == pytest.approx(GOOD_13_3["std_of_mean"], rel=0.01)
    fc = torch.nn.Linear(64, 5)
    assert sum(p.numel() for p in fc.parameters()) == GOOD_13_3["frozen_params"]


# ----------------------------------------------------------------------------- 13.4


def assign(ious, iou_threshold):
    """The solution: the notes' three steps."""
    n_a, n_b = ious.shape
    result = torch.full((n_a,), -1, dtype=torch.long)
    X = ious.clone()
    for _ in range(n_b):
        k = int(X.argmax())
        i, j = k // n_b, k % n_b
        result[i] = j
        X[i, :] = -1
        X[:, j] = -1
    best, j = ious.max(dim=1)
    return torch.where((result == -1) & (best >= iou_threshold), j, result)


GOOD_13_4 = {"assign": assign, "below_threshold": "B"}


def test_13_4_assignment():
    passes("13.4", GOOD_13_4)

    def threshold_only(ious, t):
        best, j = ious.max(dim=1)
        return torch.where(best >= t, j, -1)

    def greedy_only(ious, t):
        return assign(ious, 2.0)

    fails_with("13.4", {**GOOD_13_4, "assign": threshold_only}, "只用阈值")
    fails_with("13.4", {**GOOD_13_4, "assign": greedy_only}, "第 3 步")
    fails_with("13.4", {**GOOD_13_4, "below_threshold": "A"}, "不看阈值")


def test_13_4_reference_agrees_with_the_library_on_boxes():
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        xy = torch.rand(9, 2, generator=g)
        anchors = torch.cat([xy, xy + 0.1 + 0.4 * torch.rand(9, 2, generator=g)], dim=1)
        xy = torch.rand(3, 2, generator=g)
        gt = torch.cat([xy, xy + 0.1 + 0.4 * torch.rand(3, 2, generator=g)], dim=1)
        ious = box_iou(anchors, gt)
        expected = assign_anchor_to_bbox(gt, anchors, iou_threshold=0.3)
        assert torch.equal(_assign(ious, 0.3), expected)


def test_13_4_inputs_separate_both_mistakes():
    for seed in range(200):
        ious, t = _iou_matrix(torch.Generator().manual_seed(seed))
        right = _assign(ious, t)
        best, j = ious.max(dim=1)
        assert not torch.equal(right, torch.where(best >= t, j, -1))
        assert not torch.equal(right, _assign(ious, 2.0))


# ----------------------------------------------------------------------------- 13.5


def count_anchors(fmap_shapes, num_sizes, num_ratios):
    return sum(h * w for h, w in fmap_shapes) * (num_sizes + num_ratios - 1)


GOOD_13_5 = {"per_centre": 7, "count": count_anchors, "deep_only": "A"}


def test_13_5_anchors():
    passes("13.5", GOOD_13_5)
    fails_with("13.5", {**GOOD_13_5, "per_centre": 15}, "n × m")
    n_times_m = {**GOOD_13_5, "count": lambda f, n, m: sum(h * w for h, w in f) * n * m}
    fails_with("13.5", n_times_m, "n + m - 1")
    square = {**GOOD_13_5, "count": lambda f, n, m: sum(h * h for h, w in f) * (n + m - 1)}
    fails_with("13.5", square, "正方形")
    fails_with("13.5", {**GOOD_13_5, "deep_only": "C"}, "相隔多少像素")


def test_13_5_reference_matches_multibox_prior():
    from d2lhelpers.detection import multibox_prior

    sizes, ratios = [0.2, 0.3, 0.4], [1, 2, 0.5, 3]
    total = sum(
        multibox_prior(torch.zeros(1, 1, h, w), sizes, ratios).shape[1] for h, w in [(8, 8), (3, 5)]
    )
    assert count_anchors([(8, 8), (3, 5)], 3, 4) == total


# ----------------------------------------------------------------------------- all


def test_none_and_wrong_types_get_a_verdict():
    for i in ("13.1", "13.2", "13.3", "13.4", "13.5"):
        assert verdict(i, None).passed is None
        for wrong in ("x", [1, 2], 3.0, torch.zeros(2)):
            assert verdict(i, wrong).passed is False
    wrong_types = {
        "13.1": {"asymmetry": 0.5, "digits": 2, "shoes": None},
        "13.2": {"shift": "roll", "offsets": "81"},
        "13.3": {"std_of_mean": "0.35", "frozen_params": [325], "lr_fc": 1},
        "13.4": {"assign": torch.zeros(3), "below_threshold": ["B"]},
        "13.5": {"per_centre": 7.5, "count": 320, "deep_only": None},
    }
    for i, answer in wrong_types.items():
        assert verdict(i, answer).passed is False
