import copy

import torch
from torch import nn

import d2lhelpers as d2l


def _tiny_images(n=64, seed=0):
    """Two classes of 8x8 images: a bright left half or a bright right half."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    X = 0.1 * torch.rand(n, 1, 8, 8, generator=g)
    X[y == 0, :, :, :4] += 1
    X[y == 1, :, :, 4:] += 1
    return X, y


def test_train_ch6_lowers_the_loss_on_a_learnable_set(capsys):
    torch.manual_seed(0)
    X, y = _tiny_images()
    batches = [(X[i : i + 16], y[i : i + 16]) for i in range(0, 64, 16)]
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 2)
    )
    before = nn.functional.cross_entropy(net(X), y).item()
    history = d2l.train_ch6(net, batches, batches, 5, 0.1, d2l.cpu())
    after = nn.functional.cross_entropy(net(X), y).item()
    assert after < before / 2 and history["test_acc"][-1] == 1.0
    assert len(history["train_loss"]) == 5 and history["train_loss"][-1] < history["train_loss"][0]
    assert history["examples_per_sec"] > 0 and history["device"] == "cpu"
    assert all(p.is_contiguous() for p in net.parameters())  # usual layout after training
    out = capsys.readouterr().out
    assert "examples/sec on cpu" in out and "test acc" in out


def test_train_ch6_uses_xavier_initialisation(monkeypatch):
    calls = []
    real = nn.init.xavier_uniform_
    monkeypatch.setattr(
        nn.init, "xavier_uniform_", lambda w: calls.append(tuple(w.shape)) or real(w)
    )
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 36, 2), nn.ReLU())
    d2l.train_ch6(net, [(torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 0, 1]))], [], 1, 0.1, "cpu")
    assert calls == [(2, 1, 3, 3), (2, 72)]


def test_train_ch6_quick_mode_caps_epochs(monkeypatch):
    monkeypatch.setenv("D2L_QUICK", "1")
    X, y = _tiny_images(16)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    history = d2l.train_ch6(net, [(X, y)], [(X, y)], 10, 0.1, "cpu")
    assert len(history["test_acc"]) == 2


def test_train_ch6_prints_a_time_estimate_in_full_mode_on_cpu(capsys):
    X, y = _tiny_images(16 * 12)
    batches = [(X[i : i + 16], y[i : i + 16]) for i in range(0, len(X), 16)]
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 36, 2))
    d2l.train_ch6(net, batches, batches[:1], 3, 0.1, "cpu")
    out = capsys.readouterr().out
    assert out.count("estimated training time on cpu") == 1 and "for 3 epochs" in out


def test_channels_last_training_matches_a_plain_sgd_loop():
    X, y = _tiny_images(32)
    torch.manual_seed(0)
    a = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 36, 2))
    b = copy.deepcopy(a)
    torch.manual_seed(1)
    d2l.train_ch6(a, [(X, y)], [], 3, 0.1, "cpu")  # channels-last inside, on the CPU
    torch.manual_seed(1)  # the same Xavier draws, in the same order
    nn.init.xavier_uniform_(b[0].weight)
    nn.init.xavier_uniform_(b[3].weight)
    opt = torch.optim.SGD(b.parameters(), lr=0.1)
    for _ in range(3):
        opt.zero_grad()
        nn.functional.cross_entropy(b(X), y).backward()
        opt.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-5)
