import pytest
import torch
from torch import nn

import d2lhelpers as d2l


def test_accumulator_adds_resets_and_indexes():
    acc = d2l.Accumulator(3)
    acc.add(1, 2.5, torch.tensor(3))
    acc.add(1, 0.5, 1)
    assert acc[0] == 2 and acc[1] == 3.0 and acc[2] == 4.0 and len(acc) == 3
    acc.reset()
    assert acc.data == [0.0, 0.0, 0.0]
    with pytest.raises(ValueError, match="expects 3 values"):
        acc.add(1, 2)
    with pytest.raises(ValueError):
        d2l.Accumulator(0)


def test_accuracy_counts_correct_predictions_by_hand():
    y_hat = torch.tensor([[0.1, 0.3, 0.6], [0.3, 0.2, 0.5], [0.9, 0.05, 0.05]])
    y = torch.tensor([2, 0, 0])
    assert d2l.accuracy(y_hat, y) == 2.0  # rows 0 and 2 are right
    assert d2l.accuracy(torch.tensor([1, 0, 0]), y) == 2.0  # labels directly


def _batches(X, y, batch_size):
    return [(X[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(X), batch_size)]


def test_evaluate_accuracy_matches_a_hand_count_and_restores_mode():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
    X, y = torch.randn(50, 4), torch.randint(0, 3, (50,))
    net.eval()
    with torch.no_grad():
        expected = (net(X).argmax(1) == y).float().mean().item()
    net.train()
    got = d2l.evaluate_accuracy(net, _batches(X, y, 16))
    assert got == pytest.approx(expected)  # dropout off: eval mode was used
    assert net.training  # previous mode restored
    net.eval()
    d2l.evaluate_accuracy(net, _batches(X, y, 16))
    assert not net.training


def test_evaluate_accuracy_accepts_a_plain_function():
    W = torch.eye(3)
    X = torch.eye(3)
    y = torch.tensor([0, 1, 0])
    assert d2l.evaluate_accuracy(lambda X: X @ W, [(X, y)]) == pytest.approx(2 / 3)


def test_evaluate_accuracy_gpu_hand_count_on_the_nets_device():
    net = nn.Linear(2, 2, bias=False)
    with torch.no_grad():
        net.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    X = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, 4.0], [1.0, 9.0]])
    y = torch.tensor([0, 1, 1, 0])  # predictions are 0, 1, 0, 1: two right
    net.train()
    assert d2l.evaluate_accuracy_gpu(net, [(X[:3], y[:3]), (X[3:], y[3:])]) == 0.5
    assert net.training
    assert d2l.evaluate_accuracy_gpu(net, [(X, y)], device=torch.device("cpu")) == 0.5


def test_evaluate_loss_is_the_mean_per_example_loss():
    net = nn.Linear(1, 1)
    with torch.no_grad():
        net.weight.fill_(2.0)
        net.bias.fill_(0.0)
    X = torch.tensor([[1.0], [2.0], [3.0]])
    y = torch.tensor([1.0, 1.0, 1.0])  # reshaped to (3, 1) by evaluate_loss
    # squared errors: (2-1)^2, (4-1)^2, (6-1)^2 = 1, 9, 25 -> mean 35/3
    got = d2l.evaluate_loss(net, [(X[:2], y[:2]), (X[2:], y[2:])], nn.MSELoss(reduction="none"))
    assert got == pytest.approx(35 / 3)


def test_evaluate_accuracy_gpu_accepts_a_plain_function():
    X = torch.eye(3)
    y = torch.tensor([0, 1, 1])
    assert d2l.evaluate_accuracy_gpu(lambda X: X, [(X, y)]) == pytest.approx(2 / 3)


def test_eval_mode_disables_grad_and_restores_the_mode_even_on_error():
    net = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    net.train()
    with d2l.eval_mode(net):
        assert not net.training and not net[1].training
        assert not net(torch.ones(1, 2)).requires_grad
    assert net.training and torch.is_grad_enabled()
    with pytest.raises(RuntimeError, match="boom"), d2l.eval_mode(net):
        raise RuntimeError("boom")
    assert net.training
    net.eval()
    with d2l.eval_mode(net):
        pass
    assert not net.training  # an eval-mode net stays in eval mode
    with d2l.eval_mode(lambda X: X):  # plain functions have no mode
        assert not torch.is_grad_enabled()


def test_eval_mode_leaves_a_frozen_submodule_in_eval_mode():
    net = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Dropout(0.5))
    net.train()
    net[1].eval()  # frozen, as when fine-tuning a pretrained net
    with d2l.eval_mode(net):
        assert not any(m.training for m in net.modules())
    assert net.training and net[2].training and not net[1].training
    d2l.evaluate_accuracy_gpu(net, [(torch.randn(4, 2), torch.tensor([0, 1, 0, 1]))])
    d2l.layer_summary(net, torch.randn(4, 2), show=False)
    assert net.training and not net[1].training
