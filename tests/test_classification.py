"""train_epoch_ch3 / train_ch3 / predict_ch3 on a tiny, learnable, separable problem."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import d2lhelpers as d2l


def _blobs(n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    centers = torch.tensor([[3.0, 0.0], [-3.0, 0.0], [0.0, 3.0]])
    X = centers[y] + 0.5 * torch.randn(n, 2, generator=g)
    return X, y


def _iter(X, y, batch_size=20):
    return [(X[i : i + batch_size], y[i : i + batch_size]) for i in range(0, len(X), batch_size)]


def test_optimizer_path_matches_a_hand_written_epoch():
    X, y = _blobs()
    torch.manual_seed(0)
    net = nn.Linear(2, 3)
    ref = nn.Linear(2, 3)
    ref.load_state_dict(net.state_dict())
    loss = nn.CrossEntropyLoss(reduction="none")
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    train_loss, train_acc = d2l.train_epoch_ch3(net, _iter(X, y), loss, opt)
    ref_opt = torch.optim.SGD(ref.parameters(), lr=0.1)
    total, correct = 0.0, 0
    for Xb, yb in _iter(X, y):
        out = ref(Xb)
        l = nn.functional.cross_entropy(out, yb)
        total += l.item() * len(yb)
        correct += (out.argmax(1) == yb).sum().item()
        ref_opt.zero_grad()
        l.backward()
        ref_opt.step()
    assert train_loss == pytest.approx(total / len(y), rel=1e-5)
    assert train_acc == pytest.approx(correct / len(y))
    assert torch.allclose(net.weight, ref.weight, atol=1e-6)


def test_custom_updater_gets_the_batch_size_and_summed_gradients():
    X, y = _blobs(n=60)
    W = torch.zeros(2, 3, requires_grad=True)
    b = torch.zeros(3, requires_grad=True)
    seen = []

    def updater(batch_size):
        seen.append(batch_size)
        d2l.sgd([W, b], 0.1, batch_size)

    def net(X):
        return X @ W + b

    loss = nn.CrossEntropyLoss(reduction="none")
    d2l.train_epoch_ch3(net, _iter(X, y, 25), loss, updater)
    assert seen == [25, 25, 10]
    # the same updates through torch.optim on mean losses
    W2 = torch.zeros(2, 3, requires_grad=True)
    b2 = torch.zeros(3, requires_grad=True)
    opt = torch.optim.SGD([W2, b2], lr=0.1)
    for Xb, yb in _iter(X, y, 25):
        opt.zero_grad()
        loss(Xb @ W2 + b2, yb).mean().backward()
        opt.step()
    assert torch.allclose(W, W2, atol=1e-6) and torch.allclose(b, b2, atol=1e-6)


def test_mean_reduced_loss_reports_the_same_average():
    X, y = _blobs(n=40)
    torch.manual_seed(0)
    net = nn.Linear(2, 3)
    state = {k: v.clone() for k, v in net.state_dict().items()}
    a = d2l.train_epoch_ch3(
        net, _iter(X, y), nn.CrossEntropyLoss(), torch.optim.SGD(net.parameters(), 0.0)
    )
    net.load_state_dict(state)
    b = d2l.train_epoch_ch3(
        net,
        _iter(X, y),
        nn.CrossEntropyLoss(reduction="none"),
        torch.optim.SGD(net.parameters(), 0.0),
    )
    assert a == pytest.approx(b)


def test_train_ch3_learns_and_returns_the_history(capsys):
    X, y = _blobs()
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(2, 3))
    loss = nn.CrossEntropyLoss(reduction="none")
    history = d2l.train_ch3(
        net, _iter(X, y), _iter(*_blobs(seed=1)), loss, 5, torch.optim.SGD(net.parameters(), 0.1)
    )
    assert set(history) == {"train_loss", "train_acc", "test_acc"}
    assert all(len(v) == 5 for v in history.values())
    assert history["train_loss"][-1] < history["train_loss"][0]
    assert history["test_acc"][-1] > 0.9
    line = capsys.readouterr().out.strip()
    assert line.startswith("loss ") and ", train acc " in line and ", test acc " in line
    shown = repr(history)  # what Jupyter shows when the call ends a cell
    assert "\n" not in shown and len(shown) < 120 and shown.startswith("History(5 epochs")
    assert f"test_acc {history['test_acc'][-1]:.3f}" in shown


def test_train_ch3_caps_epochs_in_quick_mode(monkeypatch, capsys):
    monkeypatch.setenv("D2L_QUICK", "1")
    X, y = _blobs(n=40)
    net = nn.Linear(2, 3)
    history = d2l.train_ch3(
        net,
        _iter(X, y),
        _iter(X, y),
        nn.CrossEntropyLoss(reduction="none"),
        10,
        torch.optim.SGD(net.parameters(), 0.1),
    )
    assert len(history["train_loss"]) == 2
    assert "quick mode: 2 of 10 epochs" in capsys.readouterr().out


def test_predict_ch3_titles_images_with_true_and_predicted_labels_and_returns_nothing():
    X = torch.rand(8, 1, 28, 28)
    y = torch.arange(8)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with torch.no_grad():
        expected = d2l.get_fashion_mnist_labels(net(X).argmax(1))
    d2l.plt.close("all")
    assert d2l.predict_ch3(net, [(X, y)], n=6) is None  # as in the book: nothing under the cell
    titles = [ax.get_title() for ax in d2l.plt.gcf().axes]
    d2l.plt.close("all")
    trues = d2l.get_fashion_mnist_labels(y[:6])
    assert titles == [f"{t}\n{p}" for t, p in zip(trues, expected[:6], strict=True)]
