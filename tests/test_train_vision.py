"""`train_batch_ch13` and `train_ch13` (d2lhelpers.train_vision) on tiny CPU problems."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import d2lhelpers as d2l
from d2lhelpers import train_vision


def _tiny_images(n=64, seed=0):
    """Two classes of 8x8 images: a bright left half or a bright right half."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    X = 0.1 * torch.rand(n, 1, 8, 8, generator=g)
    X[y == 0, :, :, :4] += 1
    X[y == 1, :, :, 4:] += 1
    return X, y


def _net():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(256, 2)
    )


def test_train_ch13_lowers_the_loss_on_a_tiny_set(capsys):
    torch.manual_seed(0)
    X, y = _tiny_images()
    batches = [(X[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]
    net = _net()
    loss = nn.CrossEntropyLoss(reduction="none")
    with torch.no_grad():
        before = loss(net.eval()(X), y).mean().item()
    trainer = torch.optim.SGD(net.parameters(), lr=0.01)
    history = d2l.train_ch13(net, batches, batches, loss, trainer, 5, [torch.device("cpu")])
    with torch.no_grad():
        after = loss(net.eval()(X), y).mean().item()
    assert after < before / 2 and history["test_acc"][-1] == 1.0
    assert isinstance(history, d2l.History) and len(history["train_loss"]) == 5
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["examples_per_sec"] > 0 and history["device"] == "cpu"
    assert history["wall_time"] > 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith("loss ") and ", train acc " in out[-2] and ", test acc " in out[-2]
    assert out[-1].endswith("examples/sec on cpu")


def test_train_batch_ch13_is_one_sgd_step_on_the_summed_loss():
    torch.manual_seed(1)
    X, y = _tiny_images(8)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    ref = copy.deepcopy(net)
    loss = nn.CrossEntropyLoss(reduction="none")
    l_sum, correct = d2l.train_batch_ch13(
        net, X, y, loss, torch.optim.SGD(net.parameters(), lr=0.1), ["cpu"]
    )
    # the same step written out with plain torch
    out = ref(X)
    expected_loss = nn.functional.cross_entropy(out, y, reduction="sum")
    expected_loss.backward()
    with torch.no_grad():
        for p in ref.parameters():
            p -= 0.1 * p.grad
    for p, q in zip(net.parameters(), ref.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6)
    assert l_sum == pytest.approx(expected_loss.item(), rel=1e-6)
    assert correct == float((out.argmax(1) == y).sum())


def test_a_mean_loss_is_reported_per_example():
    X, y = _tiny_images(8)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    with torch.no_grad():
        mean = nn.functional.cross_entropy(net(X), y).item()
    l_sum, _ = d2l.train_batch_ch13(
        net, X, y, nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), lr=0.0), ["cpu"]
    )
    assert l_sum == pytest.approx(mean * 8, rel=1e-5)


def test_train_batch_ch13_accepts_a_list_of_inputs():
    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, X):
            return self.fc(X[0] + X[1])

    net = TwoInputs()
    X, y = [torch.rand(6, 4), torch.rand(6, 4)], torch.tensor([0, 1, 0, 1, 0, 1])
    loss = nn.CrossEntropyLoss(reduction="none")
    with torch.no_grad():  # the report is about the batch before the step, computed by hand
        out = net.fc(X[0] + X[1])
        expected = float(nn.functional.cross_entropy(out, y, reduction="sum"))
        expected_correct = float((out.argmax(1) == y).sum())
    l_sum, correct = d2l.train_batch_ch13(
        net, X, y, loss, torch.optim.SGD(net.parameters(), lr=0.1), [torch.device("cpu")]
    )
    assert l_sum == pytest.approx(expected, rel=1e-6) and correct == expected_correct


def test_devices_are_chosen_when_called(monkeypatch):
    calls = []
    monkeypatch.setattr(train_vision, "try_all_gpus", lambda: calls.append(1) or [d2l.cpu()])
    X, y = _tiny_images(16)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    trainer = torch.optim.SGD(net.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss(reduction="none")
    history = d2l.train_ch13(net, [(X, y)], [(X, y)], loss, trainer, 1)
    assert calls == [1] and history["device"] == "cpu"


def test_data_parallel_only_with_several_gpus(monkeypatch):
    net = nn.Linear(2, 2)
    assert train_vision._place(net, [torch.device("cpu")]) is net
    assert train_vision._place(net, [torch.device("cpu"), torch.device("cpu")]) is net

    class FakeDataParallel(nn.Module):
        def __init__(self, module, device_ids):
            super().__init__()
            self.module, self.device_ids = module, device_ids

        def to(self, device):
            return self

    monkeypatch.setattr(nn, "DataParallel", FakeDataParallel)
    gpus = [torch.device("cuda:0"), torch.device("cuda:1")]
    wrapped = train_vision._place(net, gpus)
    assert isinstance(wrapped, FakeDataParallel) and wrapped.device_ids == gpus


def test_frozen_features_stay_in_eval_mode(monkeypatch):
    class Frozen(nn.Module):
        """Features whose train() keeps them in eval mode (BatchNorm statistics fixed)."""

        def __init__(self, body):
            super().__init__()
            self.body = body.eval().requires_grad_(False)

        def train(self, mode=True):
            return self

        def forward(self, X):
            return self.body(X)

    torch.manual_seed(2)
    X, y = _tiny_images(32)
    body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten())
    frozen_state = copy.deepcopy(body.state_dict())
    net = nn.Sequential(Frozen(body), nn.Linear(256, 2))
    trainer = torch.optim.SGD(net[1].parameters(), lr=0.01)
    loss = nn.CrossEntropyLoss(reduction="none")
    d2l.train_ch13(net, [(X, y)], [(X, y)], loss, trainer, 3, ["cpu"])
    assert not body.training and net[1].training  # evaluation gave each module its mode back
    for key, value in body.state_dict().items():  # running statistics unchanged
        assert torch.equal(value, frozen_state[key]), key


def test_quick_mode_caps_epochs(monkeypatch, capsys):
    monkeypatch.setenv("D2L_QUICK", "1")
    X, y = _tiny_images(16)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    trainer = torch.optim.SGD(net.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss(reduction="none")
    history = d2l.train_ch13(net, [(X, y)], [(X, y)], loss, trainer, 10, ["cpu"])
    assert len(history["test_acc"]) == 2
    assert "(quick mode: 2 of 10 epochs)" in capsys.readouterr().out


def test_train_ch13_refuses_empty_inputs():
    net = nn.Linear(2, 2)
    trainer = torch.optim.SGD(net.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="no batches"):
        d2l.train_ch13(net, [], [], nn.CrossEntropyLoss(), trainer, 1, ["cpu"])
    with pytest.raises(ValueError, match="devices is empty"):
        d2l.train_ch13(net, [(torch.rand(2, 2), torch.tensor([0, 1]))], [], None, trainer, 1, [])
