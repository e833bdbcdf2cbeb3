"""Exercises of 07_deep_learning_computation: the solutions pass, typical mistakes get their hints."""

from __future__ import annotations

import copy

import torch
from torch import nn

from d2lhelpers.checks.ch07 import _usage_grads

from .helpers import fails_with, passes, verdict

# ----------------------------------------------------------------------------- 07.1


class ParallelSum(nn.Module):
    def __init__(self, *blocks):
        super().__init__()
        self.blocks = nn.ModuleList(blocks)

    def forward(self, X):
        return sum(block(X) for block in self.blocks)


class ListParallelSum(nn.Module):  # the branches in a plain list: not registered
    def __init__(self, *blocks):
        super().__init__()
        self.blocks = list(blocks)

    def forward(self, X):
        return sum(block(X) for block in self.blocks)


class MeanParallel(ParallelSum):
    def forward(self, X):
        return sum(block(X) for block in self.blocks) / len(self.blocks)


class FirstOnlyRegistered(ParallelSum):
    def __init__(self, *blocks):
        nn.Module.__init__(self)
        self.first = blocks[0]
        self.rest = list(blocks[1:])

    def forward(self, X):
        return self.first(X) + sum(block(X) for block in self.rest)


class Unfinished(nn.Module):  # the committed scaffold
    def __init__(self, *blocks):
        super().__init__()

    def forward(self, X):
        return None


GOOD_07_1 = {"optimizer": "B", "unseen": "ABC", "block": ParallelSum}


def test_07_1_parallel_sum():
    passes("07.1", GOOD_07_1)
    fails_with("07.1", {**GOOD_07_1, "block": ListParallelSum}, "普通 Python 列表")
    fails_with("07.1", {**GOOD_07_1, "block": MeanParallel}, "平均")
    fails_with("07.1", {**GOOD_07_1, "block": FirstOnlyRegistered}, "只找到了")
    fails_with("07.1", {**GOOD_07_1, "unseen": "ABCD"}, "前向传播")
    fails_with("07.1", {**GOOD_07_1, "unseen": "AB"}, "GPU")
    fails_with("07.1", {**GOOD_07_1, "optimizer": "A"}, "创建出来")


def test_07_1_scaffold_is_unanswered():
    assert verdict("07.1", {"optimizer": None, "unseen": None, "block": Unfinished}).passed is None


# ----------------------------------------------------------------------------- 07.2


class TensorReduction(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(in_features, in_features, out_features))

    def forward(self, X):
        return torch.einsum("ijk,ni,nj->nk", self.weight, X, X)


class DiagonalOnly(TensorReduction):
    def forward(self, X):
        return torch.einsum("iik,ni->nk", self.weight, X * X)


class DataReduction(TensorReduction):
    def forward(self, X):
        return torch.einsum("ijk,ni,nj->nk", self.weight.data, X, X)


class PlainTensorReduction(nn.Module):  # W as a plain tensor attribute: not a parameter
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = torch.randn(in_features, in_features, out_features)

    def forward(self, X):
        return torch.einsum("ijk,ni,nj->nk", self.weight, X, X)


class WrongShape(nn.Module):
    def __init__(self, in_features, out_features):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features, in_features))

    def forward(self, X):
        return torch.einsum("kij,ni,nj->nk", self.weight, X, X)


class SummedBatch(TensorReduction):
    def forward(self, X):
        return torch.einsum("ijk,ni,nj->k", self.weight, X, X)


def test_07_2_tensor_reduction():
    good = {"layer": TensorReduction, "num_params": 4000}
    passes("07.2", good)
    fails_with("07.2", {**good, "layer": DiagonalOnly}, "i = j")
    fails_with("07.2", {**good, "layer": DataReduction}, ".data")
    fails_with("07.2", {**good, "layer": PlainTensorReduction}, "nn.Parameter")
    fails_with("07.2", {**good, "layer": WrongShape}, "只有一个参数")
    fails_with("07.2", {**good, "layer": SummedBatch}, "每个样本一行")
    fails_with("07.2", {**good, "num_params": 400}, "输出维度")
    fails_with("07.2", {**good, "num_params": 200}, "三个下标")


# ----------------------------------------------------------------------------- 07.3


def usage_grads(net, X):
    """The notebook's way: an untied copy, one deep copy of the layer per position."""
    untied = copy.deepcopy(net)
    untied[4] = copy.deepcopy(net[4])
    untied(X).sum().backward()
    return untied[2].weight.grad, untied[4].weight.grad


def tied_total(net, X):
    net(X).sum().backward()
    return net[2].weight.grad


GOOD_07_3 = {"grads": usage_grads, "num_params": 121, "together": "A"}


def test_07_3_usage_gradients():
    passes("07.3", GOOD_07_3)
    both_total = {**GOOD_07_3, "grads": lambda net, X: (tied_total(net, X),) * 2}
    fails_with("07.3", both_total, "两处梯度之和")
    halves = {**GOOD_07_3, "grads": lambda net, X: (tied_total(net, X) / 2,) * 2}
    fails_with("07.3", halves, "平分")
    swapped = {**GOOD_07_3, "grads": lambda net, X: usage_grads(net, X)[::-1]}
    fails_with("07.3", swapped, "顺序反了")
    fails_with("07.3", {**GOOD_07_3, "num_params": 193}, "只有一份")
    fails_with("07.3", {**GOOD_07_3, "together": "B"}, "同一个对象")


def test_07_3_reference_sums_to_the_tied_gradient():
    """The checker's reference, against autograd on the tied net itself."""
    torch.manual_seed(0)
    shared = nn.Linear(5, 5)
    net = nn.Sequential(
        nn.Linear(3, 5), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(5, 1)
    )
    X = torch.randn(4, 3)
    g2, g4 = _usage_grads(net, X)
    net(X).sum().backward()
    torch.testing.assert_close(g2 + g4, shared.weight.grad)
    assert not torch.allclose(g2, g4)
    assert sum(p.numel() for p in _untied_notebook_net().parameters()) == 193
    tied = _tied_notebook_net()
    assert sum(p.numel() for p in tied.parameters()) == 121


def _tied_notebook_net():
    shared = nn.Linear(8, 8)
    return nn.Sequential(
        nn.Linear(4, 8), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(8, 1)
    )


def _untied_notebook_net():
    return nn.Sequential(
        nn.Linear(4, 8),
        nn.ReLU(),
        nn.Linear(8, 8),
        nn.ReLU(),
        nn.Linear(8, 8),
        nn.ReLU(),
        nn.Linear(8, 1),
    )


# ----------------------------------------------------------------------------- 07.4


def transfer(src, dst, path):
    keep = {k: v for k, v in src.state_dict().items() if k.startswith(("0.", "2."))}
    torch.save(keep, path)
    dst.load_state_dict(torch.load(path, weights_only=True), strict=False)
    return dst


def transfer_everything(src, dst, path):  # no filter: the output layer's shape differs
    torch.save(src.state_dict(), path)
    dst.load_state_dict(torch.load(path, weights_only=True), strict=False)
    return dst


def transfer_first_only(src, dst, path):
    keep = {k: v for k, v in src.state_dict().items() if k.startswith("0.")}
    torch.save(keep, path)
    dst.load_state_dict(torch.load(path, weights_only=True), strict=False)
    return dst


def transfer_without_file(src, dst, path):
    keep = {k: v for k, v in src.state_dict().items() if k.startswith(("0.", "2."))}
    dst.load_state_dict(keep, strict=False)
    return dst


def transfer_into_src(src, dst, path):
    keep = {k: v for k, v in dst.state_dict().items() if k.startswith(("0.", "2."))}
    torch.save(keep, path)
    src.load_state_dict(torch.load(path, weights_only=True), strict=False)
    return dst


GOOD_07_4 = {"transfer": transfer, "missing": ["4.weight", "4.bias"]}


def test_07_4_transfer_first_two_layers():
    passes("07.4", GOOD_07_4)
    passes("07.4", {**GOOD_07_4, "missing": ("4.bias", "4.weight")})
    fails_with("07.4", {**GOOD_07_4, "transfer": transfer_everything}, "size mismatch")
    fails_with("07.4", {**GOOD_07_4, "transfer": transfer_first_only}, "下标 2")
    fails_with("07.4", {**GOOD_07_4, "transfer": transfer_without_file}, "没有文件")
    fails_with("07.4", {**GOOD_07_4, "transfer": transfer_into_src}, "src 的参数被改动")
    fails_with("07.4", {**GOOD_07_4, "missing": []}, "missing_keys")
    fails_with("07.4", {**GOOD_07_4, "missing": ["0.weight", "4.weight", "4.bias"]}, "不算缺少")


def test_07_4_missing_keys_of_the_question():
    src = nn.Sequential(
        nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, 10)
    )
    dst = nn.Sequential(
        nn.Linear(20, 256), nn.ReLU(), nn.Linear(256, 64), nn.ReLU(), nn.Linear(64, 2)
    )
    keep = {k: v for k, v in src.state_dict().items() if k.startswith(("0.", "2."))}
    assert set(dst.load_state_dict(keep, strict=False).missing_keys) == {"4.weight", "4.bias"}


def test_07_4_scaffold_is_unanswered():
    assert (
        verdict("07.4", {"transfer": lambda src, dst, path: None, "missing": None}).passed is None
    )


# ----------------------------------------------------------------------------- 07.5


def test_07_5_item_ratio(monkeypatch):
    monkeypatch.delenv("D2L_QUICK", raising=False)
    good = {"ratio": 1.1, "gpu": "A"}
    passes("07.5", good)
    fails_with("07.5", {**good, "ratio": 0.5}, "低于默认模式的参考范围")
    fails_with("07.5", {**good, "ratio": 4.0}, "高于默认模式的参考范围")
    fails_with("07.5", {**good, "gpu": "B"}, "比例")
    monkeypatch.setenv("D2L_QUICK", "1")
    assert verdict("07.5", {**good, "ratio": 4.0}).passed is True  # the band is for default mode


def test_none_and_wrong_types_get_a_verdict():
    for i in ("07.1", "07.2", "07.3", "07.4", "07.5"):
        assert verdict(i, None).passed is None
        for wrong in ("x", [1, 2], 3.0, torch.zeros(2), {"a": 1}):
            assert verdict(i, wrong).passed is False, (i, wrong)
    for i, key in (("07.1", "block"), ("07.2", "layer"), ("07.3", "grads"), ("07.4", "transfer")):
        for wrong in ("x", 3, torch.zeros(2), nn.Linear(2, 2), lambda *a: "x"):
            assert verdict(i, {key: wrong}).passed is False, (i, wrong)
