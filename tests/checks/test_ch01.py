"""Exercises of 01_tensors: the solutions pass, typical mistakes get their hints."""

from __future__ import annotations

import numpy as np
import torch

from .helpers import fails_with, passes, verdict

X = torch.arange(12, dtype=torch.float32).reshape((3, 4))
Y = torch.tensor([[1.0, 0, 2, 9], [4, 5, 6, 7], [0, 2, 1, 1]])


def counts(X, Y):
    return int((X < Y).sum()), int((X == Y).sum()), int((X > Y).sum())


def test_01_1_comparisons():
    good = {"lt": X < Y, "counts": counts, "nan": "B"}
    passes("01.1", good)
    # hand-counted on the chapter's X and Y: 2 less, 5 equal, 5 greater
    assert counts(X, Y) == (2, 5, 5)
    passes("01.1", {**good, "lt": (X < Y).float()})  # 0/1 floats are the same answer
    passes(
        "01.1",
        {**good, "counts": lambda X, Y: ((X < Y).sum(), (X == Y).sum(), (X > Y).sum())},
    )
    fails_with("01.1", {**good, "lt": X > Y}, "方向反了")
    fails_with("01.1", {**good, "lt": X <= Y}, "严格小于")
    fails_with("01.1", {**good, "counts": lambda X, Y: counts(X, Y)[::-1]}, "顺序反了")
    fails_with(
        "01.1",
        {**good, "counts": lambda X, Y: (int((X <= Y).sum()), 0, int((X >= Y).sum()))},
        "",
    )
    fails_with("01.1", {**good, "nan": "A"}, "特殊的值")
    fails_with("01.1", {**good, "lt": [[True]]}, "torch.Tensor")


def test_01_1_the_nan_answer_is_true():
    # the fact behind choice B: with a NaN, the three counts miss that position
    a, b = torch.tensor([1.0, float("nan"), 3.0]), torch.tensor([2.0, 2.0, 3.0])
    assert sum(counts(a, b)) == a.numel() - 1


def test_01_2_broadcast_by_hand():
    good = {"a": (2, 3, 4), "b": "error", "c": (8, 7, 6, 5)}
    passes("01.2", good)
    passes("01.2", {"a": torch.Size([2, 3, 4]), "b": " Error ", "c": [8, 7, 6, 5]})
    # the answers are torch's
    assert tuple(torch.broadcast_shapes((2, 1, 4), (3, 1))) == good["a"]
    assert tuple(torch.broadcast_shapes((8, 1, 6, 1), (7, 1, 5))) == good["c"]
    fails_with("01.2", {**good, "a": (2, 1, 4)}, "复制成另一方")
    fails_with("01.2", {**good, "b": (5, 5)}, "4 对 5")
    fails_with("01.2", {**good, "c": (8, 1, 6, 5)}, "1 对 7")
    fails_with("01.2", {**good, "c": "error"}, "补成 (1, 7, 1, 5)")
    # a wrong kind of answer gets the same hint whether or not the pair broadcasts
    a_no, b_no = verdict("01.2", {**good, "a": "no"}), verdict("01.2", {**good, "b": "no"})
    assert a_no.message.removeprefix("(a) ") == b_no.message.removeprefix("(b) ")


def test_01_3_sums_and_normalisation():
    T = torch.arange(24).reshape(2, 3, 4)
    good = {
        "sum02": tuple(T.sum(axis=[0, 2]).shape),
        "keep": tuple(T.sum(axis=[0, 2], keepdims=True).shape),
        "cumsum": tuple(T.cumsum(axis=1).shape),
        "why": "A",
        "normalize": lambda T: T / T.sum(axis=1, keepdims=True),
    }
    assert (good["sum02"], good["keep"], good["cumsum"]) == ((3,), (1, 3, 1), (2, 3, 4))
    passes("01.3", good)
    fails_with("01.3", {**good, "keep": (3,)}, "保留为长度 1")
    fails_with("01.3", {**good, "cumsum": (2, 4)}, "不降维")
    fails_with("01.3", {**good, "why": "C"}, "广播正是")
    fails_with("01.3", {**good, "normalize": lambda T: T / T.sum(axis=2, keepdims=True)}, "沿轴 2")
    fails_with("01.3", {**good, "normalize": lambda T: T / T.sum(axis=1)}, "RuntimeError")


def test_01_4_len_and_iteration():
    T = torch.arange(24).reshape(2, 3, 4)
    good = {"a": len(T), "b": 0, "each": tuple(next(iter(T)).shape), "scalar": "C"}
    passes("01.4", good)
    fails_with("01.4", {**good, "a": T.numel()}, "numel")
    fails_with("01.4", {**good, "b": -1}, "最后一个轴")
    fails_with("01.4", {**good, "each": (2, 3)}, "第 0 轴")
    fails_with("01.4", {**good, "scalar": "A"}, "0 维张量")


def reuses_memory(op, X, Y):
    before = X.data_ptr()
    return op(X, Y).data_ptr() == before


def test_01_5_in_place():
    good = {"out": True, "rebind": False, "as_tensor": True, "reuses_memory": reuses_memory}
    passes("01.5", good)
    passes("01.5", {**good, "reuses_memory": lambda op, X, Y: op(X, Y) is X})
    # the facts behind the booleans
    A = np.arange(4)
    T = torch.as_tensor(A)
    T[0] = 100
    assert A[0] == 100

    def after_the_op(op, X, Y):  # compares X with itself: always True
        before = X.data_ptr()
        op(X, Y)
        return X.data_ptr() == before

    fails_with("01.5", {**good, "reuses_memory": after_the_op}, "判断错了")
    fails_with("01.5", {**good, "reuses_memory": lambda op, X, Y: True}, "判断错了")
    fails_with("01.5", {**good, "rebind": True}, "新张量")
    fails_with("01.5", {**good, "reuses_memory": lambda op, X, Y: "yes"}, "True 或 False")


def test_01_5_leaves_the_learners_random_state_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    good = {"out": True, "rebind": False, "as_tensor": True, "reuses_memory": reuses_memory}
    passes("01.5", good)
    passes("01.1", {"lt": X < Y, "counts": counts, "nan": "B"})
    assert torch.equal(torch.rand(3), expected)


def test_scaffold_functions_are_unanswered():
    assert verdict("01.1", {"lt": None, "counts": lambda X, Y: None, "nan": None}).passed is None
    assert verdict("01.5", {"reuses_memory": lambda op, X, Y: None}).passed is None


def test_none_and_wrong_types_get_a_verdict():
    for i in ("01.1", "01.2", "01.3", "01.4", "01.5"):
        assert verdict(i, None).passed is None
        for wrong in ("x", [1, 2], 3.0, torch.zeros(2), {"a": object()}):
            assert verdict(i, wrong).passed is False
