"""The checker building blocks, on hand-made answers (d2lhelpers/checks/checkers.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from d2lhelpers.checks.checkers import band, choice, function, number, parts, tensor, value
from d2lhelpers.checks.core import Unanswered


def test_choice_single_and_multiple():
    one = choice("B", "ABC", explanation="why", hints={"A": "hint A"})
    assert one("b").passed and one(" B ").message == "why"
    assert one("A").message == "hint A"
    assert one("C").passed is False
    assert "只有一个" in one("AB").message
    assert "没有 D" in one("D").message
    assert "字符串" in one(2).message
    with pytest.raises(Unanswered):
        one("")
    many = choice("AC", "ABCD", hints={"AB": "not B"})
    assert many("CA").passed and many("A, C").passed
    assert many("A").passed is False and many("BA").message == "not B"


def test_number_with_tolerance_and_mistakes():
    check = number(0.25, rtol=1e-3, mistakes=[(0.5, "doubled")])
    assert (
        check(0.25).passed and check(torch.tensor(0.25)).passed and check(np.float32(0.25)).passed
    )
    assert check(0.2502).passed is True  # inside rtol
    assert check(0.26).passed is False
    assert check(0.5).message == "doubled"
    for wrong in ("0.25", [0.25], True, torch.ones(2)):
        v = check(wrong)
        assert v.passed is False and "请填写一个数" in v.message


def test_value_exact_shapes_and_strings():
    shape = value((14, 14), mistakes=[((13, 13), "off by one")])
    assert shape((14, 14)).passed and shape([14, 14]).passed and shape(torch.Size([14, 14])).passed
    assert shape(torch.empty(14, 14).shape).passed
    assert shape((13, 13)).message == "off by one"
    assert "元组" in shape(14).message
    flag = value(True)
    assert flag(True).passed and flag(torch.tensor(True)).passed
    assert flag(1).passed is False and "True 或 False" in flag(1).message
    assert value("ReLU")(" relu ").passed


def test_tensor_compares_values_shapes_types_and_devices():
    expected = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    check = tensor(expected, atol=1e-6, mistakes=[(expected.T, "transposed")])
    assert check(expected.clone()).passed
    assert check(expected.clone().requires_grad_()).passed
    assert check(expected.T).message == "transposed"
    assert "形状" in check(torch.zeros(3)).message
    assert "torch.tensor" in check([[1.0, 2.0], [3.0, 4.0]]).message
    assert "torch.Tensor" in check(expected.numpy()).message
    assert "浮点" in check(expected.long()).message
    assert "最大误差" in check(expected + 1e-3).message
    assert check(expected.double()).passed  # float64 is a float tensor: compared by value
    # a reference computed when checking
    assert tensor(lambda: torch.arange(3))(torch.arange(3)).passed
    assert tensor(lambda: torch.arange(3))(torch.arange(3) + 1).passed is False


def test_function_is_called_on_fresh_inputs():
    seen = []

    def make(gen):
        X = torch.randn(3, generator=gen)
        seen.append(X)
        return (X,)

    check = function(lambda X: X.exp(), make, mistakes=[(lambda X: X.exp() - 1, "minus one")])
    assert check(torch.exp).passed and len(seen) == 3
    assert check(torch.exp).passed and len(seen) == 6
    assert not torch.equal(seen[0], seen[3])  # fresh numbers for every check
    hard_coded = seen[0].exp()
    assert check(lambda X: hard_coded).passed is False  # a fixed result cannot pass
    assert check(lambda X: X.exp() - 1).message == "minus one"
    assert "形状" in check(lambda X: X.exp()[:2]).message
    assert "函数" in check(3).message
    with pytest.raises(Unanswered):
        check(lambda X: None)

    def todo(X):
        raise NotImplementedError

    with pytest.raises(Unanswered):
        check(todo)


def test_function_does_not_let_the_learner_change_the_reference_inputs():
    def sneaky(X):
        X.zero_()  # modifies its argument in place
        return X

    assert (
        function(lambda X: X.clone(), lambda g: (torch.randn(4, generator=g),))(sneaky).passed
        is False
    )


def test_band_reads_a_history_and_knows_quick_mode(monkeypatch):
    check = band(0.85, 0.9, minutes=3)
    assert check(0.87).passed
    assert check({"test_acc": [0.5, 0.88]}).passed
    low = check(0.7)
    assert low.passed is False and "0.85–0.9" in low.message and "3 分钟" in low.message
    assert check(0.95).passed is False
    assert check(1.7).passed is False and "0 到 1" in check(1.7).message
    assert check(float("nan")).passed is False
    assert "test_acc" in check({"loss": [1.0]}).message
    assert "空的" in check({"test_acc": []}).message
    assert check("0.87").passed is False
    monkeypatch.setenv("D2L_QUICK", "1")
    quick = check(0.3)
    assert quick.passed is True and "只适用于默认模式" in quick.message
    assert check(3.0).passed is False  # still a number in range


def test_parts_combines_sub_answers():
    check = parts(a=value(1), b=value(2), explanation="both")
    assert check({"a": 1, "b": 2}).passed and check({"a": 1, "b": 2}).message == "both"
    with pytest.raises(Unanswered):
        check({"a": None, "b": None})
    half = check({"a": 1, "b": None})
    assert half.passed is False and "(b) 尚未作答" in half.message
    assert "(a)" in check({"a": 3, "b": 2}).message
    assert "字典" in check([1, 2]).message
    assert "没有这些小题" in check({"a": 1, "b": 2, "c": 3}).message


def test_function_gives_each_side_its_own_copy_of_a_module():
    def make(gen):
        net = torch.nn.Linear(3, 1)
        with torch.no_grad():
            net.weight.copy_(torch.randn(1, 3, generator=gen))
        return (net, torch.randn(2, 3, generator=gen))

    def reference(net, X):
        return net(X).detach()

    def learner(net, X):  # changes the module it was given
        with torch.no_grad():
            net.weight.zero_()
        return torch.zeros(2, 1) + net.bias.detach()

    assert function(reference, make)(learner).passed is False
    assert function(reference, make)(reference).passed
