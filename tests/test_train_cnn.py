import copy

import pytest
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
    batches = [(torch.rand(4, 1, 8, 8), torch.tensor([0, 1, 0, 1]))]
    d2l.train_ch6(net, batches, batches, 1, 0.1, "cpu")
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


def _layouts(net):
    """A function giving the layout of every training batch the net's first conv saw so far,
    True for channels-last. The hook keeps the inputs and their layout is read afterwards: a
    hook that asked during the forward pass would be a layout-dependent call itself."""
    inputs = []
    first = next(m for m in net.modules() if isinstance(m, nn.Conv2d))
    first.register_forward_pre_hook(lambda m, args: inputs.append(args[0]) if m.training else None)
    return lambda: [X.is_contiguous(memory_format=torch.channels_last) for X in inputs]


def _plain_sgd(net, batches, epochs, lr, seed=1):
    """The book's loop in the usual layout, after train_ch6's Xavier draws (same seed)."""
    torch.manual_seed(seed)
    for m in net.modules():
        if type(m) in (nn.Linear, nn.Conv2d):
            nn.init.xavier_uniform_(m.weight)
    opt = torch.optim.SGD(net.parameters(), lr=lr)
    for _ in range(epochs):
        net.train()
        for X, y in batches:
            opt.zero_grad()
            nn.functional.cross_entropy(net(X), y).backward()
            opt.step()


def test_channels_last_training_matches_a_plain_sgd_loop():
    X, y = _tiny_images(32)
    X = X.repeat(1, 2, 1, 1)  # two channels: with one, both layouts are the same
    torch.manual_seed(0)
    a = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 36, 2))
    b = copy.deepcopy(a)
    layouts = _layouts(a)
    torch.manual_seed(1)
    d2l.train_ch6(a, [(X, y)], [(X, y)], 4, 0.1, "cpu")
    assert layouts() == [False, False, True, True]  # watched on step 2, channels-last from step 3
    _plain_sgd(b, [(X, y)], 4, 0.1)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-5)
    assert all(p.is_contiguous() for p in a.parameters())  # handed back in the usual layout


class ViewNet(nn.Module):
    """A forward written as in PyTorch's tutorials: `.view` on a conv output."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 20, 3)  # wide enough for channels-last to pay with batch norm
        self.bn = nn.BatchNorm2d(20)
        self.fc = nn.Linear(20 * 36, 2)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv(x)))
        return self.fc(x.view(x.shape[0], -1))


def test_a_net_that_views_its_conv_output_stays_in_the_usual_layout(capsys, monkeypatch):
    X, y = _tiny_images(32)
    X = X.repeat(1, 2, 1, 1)  # two channels: with one, both layouts are the same
    torch.manual_seed(0)
    a = ViewNet()
    b = copy.deepcopy(a)
    layouts = _layouts(a)
    # the layout is decided without a copy of the net's state (the old retry cloned it all)
    monkeypatch.setattr(nn.Module, "state_dict", lambda *args, **kwargs: pytest.fail("a copy"))
    torch.manual_seed(1)
    d2l.train_ch6(a, [(X, y)], [(X, y)], 3, 0.1, "cpu")
    monkeypatch.undo()
    assert layouts() == [False, False, False]
    assert "layout" not in capsys.readouterr().out
    _plain_sgd(b, [(X, y)], 3, 0.1)
    for (k, u), (_, v) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.allclose(u.float(), v.float(), atol=1e-5), k  # running stats: 3 updates


class Inception(nn.Module):
    """A learner-written block: its own forward, only layout-free calls (as in 09_modern_cnn)."""

    def __init__(self):
        super().__init__()
        self.p1, self.p2 = nn.Conv2d(2, 4, 1), nn.Conv2d(2, 4, 3, padding=1)

    def forward(self, x):
        return torch.cat((torch.relu(self.p1(x)), torch.relu(self.p2(x))), dim=1)


def _bn_lenet(norm=nn.BatchNorm2d, channels=(6, 16)):
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(2, c1, 3), norm(c1), nn.Sigmoid(), nn.Conv2d(c1, c2, 3), norm(c2), nn.Sigmoid(),
        nn.Flatten(), nn.Linear(c2 * 16, 2),
    )  # fmt: skip


class BatchNorm(nn.Module):
    """The book's from-scratch batch norm over channels (by its name, as notebook 09 writes it)."""

    def __init__(self, n):
        super().__init__()
        self.gamma, self.beta = (
            nn.Parameter(torch.ones(1, n, 1, 1)),
            nn.Parameter(torch.zeros(1, n, 1, 1)),
        )

    def forward(self, X):
        mean, var = X.mean(dim=(0, 2, 3), keepdim=True), X.var(dim=(0, 2, 3), keepdim=True)
        return self.gamma * (X - mean) / torch.sqrt(var + 1e-5) + self.beta


@pytest.mark.parametrize(
    "make, pays",
    [
        (
            lambda: nn.Sequential(
                nn.Conv2d(2, 6, 3), nn.Sigmoid(), nn.Flatten(), nn.Linear(216, 2)
            ),
            True,
        ),
        (lambda: nn.Sequential(Inception(), nn.Flatten(), nn.Linear(8 * 64, 2)), True),
        (lambda: _bn_lenet(), False),  # BN-LeNet: batch norm outweighs small convolutions
        (lambda: _bn_lenet(BatchNorm), False),  # the from-scratch one too
        (lambda: _bn_lenet(channels=(16, 32)), True),  # a wider conv (ResNet, DenseNet) pays
        (lambda: nn.Sequential(nn.Flatten(), nn.Linear(128, 2)), False),  # no convolution
    ],
)
def test_the_layout_rule_on_representative_nets(make, pays):
    from d2lhelpers._layout import channels_last_pays

    X, y = _tiny_images(32)
    X = X.repeat(1, 2, 1, 1)
    net = make()
    assert channels_last_pays(net) is pays
    if not any(isinstance(m, nn.Conv2d) for m in net.modules()):
        return
    layouts = _layouts(net)
    d2l.train_ch6(net, [(X, y)], [(X, y)], 3, 0.1, "cpu")
    assert layouts() == [False, False, pays]  # train_ch6 follows the rule from its third step


def test_channels_last_can_be_forced_either_way():
    X, y = _tiny_images(16)
    X = X.repeat(1, 2, 1, 1)
    net = _bn_lenet()  # the rule keeps it in the usual layout
    layouts = _layouts(net)
    d2l.train_ch6(net, [(X, y)], [(X, y)], 2, 0.1, "cpu", channels_last=True)
    d2l.train_ch6(net, [(X, y)], [(X, y)], 3, 0.1, "cpu", channels_last=False)
    net = nn.Sequential(nn.Conv2d(2, 2, 3), nn.Flatten(), nn.Linear(2 * 36, 2))
    more = _layouts(net)
    d2l.train_ch6(net, [(X, y)], [(X, y)], 3, 0.1, "cpu", channels_last=False)
    assert layouts() == [True, True, False, False, False] and more() == [False] * 3


def test_a_learners_wrong_in_features_is_raised_once_as_it_is(capsys):
    import traceback

    X, y = _tiny_images(16)
    # LeNet's commonest mistake: the flattened conv output has 4 * 36 features, not 4 * 64
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 2))
    calls = []
    net[0].register_forward_pre_hook(lambda m, args: calls.append(1))
    with pytest.raises(RuntimeError, match="mat1 and mat2 shapes cannot be multiplied") as info:
        d2l.train_ch6(net, [(X, y)] * 3, [(X, y)], 2, 0.1, "cpu")
    assert info.value.__cause__ is None and info.value.__context__ is None  # one traceback
    assert calls == [1]  # raised on the first forward pass, never retried
    shown = "".join(traceback.format_exception(info.value))
    assert "_layout.py" not in shown  # the trainer's layout code is not on the way
    out = capsys.readouterr().out
    assert out == "training on cpu\n"  # nothing about layouts (or anything else)
    assert all(p.grad is None for p in net.parameters())


def test_train_ch6_prints_the_books_lines_and_returns_a_one_line_history(capsys):
    X, y = _tiny_images(32)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    history = d2l.train_ch6(net, [(X, y)], [(X, y)], 2, 0.1, "cpu")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "training on cpu"
    assert lines[-2].startswith("loss ") and lines[-1].endswith(" examples/sec on cpu")
    shown = repr(history)
    assert "\n" not in shown and shown.startswith("History(2 epochs") and "wall_time" in shown


def test_examples_per_sec_counts_training_steps_only():
    import time

    X, y = _tiny_images(32)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    pause = 0.2  # every evaluation batch sleeps: not part of the book's examples/sec

    class SlowTest:
        def __iter__(self):
            time.sleep(pause)
            yield X, y

    history = d2l.train_ch6(net, [(X, y)] * 2, SlowTest(), 3, 0.1, "cpu")
    step_time = 3 * 64 / history["examples_per_sec"]
    assert step_time < history["wall_time"] - 3 * pause


def test_train_ch6_changes_no_process_wide_setting(monkeypatch):
    import ctypes
    import os

    import matplotlib

    loaded = []  # a trainer must not reach into the C library (glibc's mallopt and friends)
    monkeypatch.setattr(ctypes, "CDLL", lambda *a, **k: loaded.append(a) or None)
    before = (
        torch.get_num_threads(),
        torch.get_default_dtype(),
        torch.are_deterministic_algorithms_enabled(),
        dict(os.environ),
        dict(matplotlib.rcParams),
    )
    X, y = _tiny_images(32)
    net = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 36, 2))
    d2l.train_ch6(net, [(X, y)], [(X, y)], 1, 0.1, "cpu", gradient_accumulation_steps=2)
    d2l.train_ch6(net, [(X, y)], [(X, y)], 1, 0.1, "cpu", checkpoint_activations=True)
    after = (
        torch.get_num_threads(),
        torch.get_default_dtype(),
        torch.are_deterministic_algorithms_enabled(),
        dict(os.environ),
        dict(matplotlib.rcParams),
    )
    assert loaded == [] and after == before and torch.is_grad_enabled()


def test_a_scheduler_sets_each_epochs_rate_as_in_a_plain_loop():
    X, y = _tiny_images(32)
    batches = [(X[:16], y[:16]), (X[16:], y[16:])]
    torch.manual_seed(0)
    a = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    b = copy.deepcopy(a)
    torch.manual_seed(1)
    halve = lambda opt: torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)  # noqa: E731
    d2l.train_ch6(a, batches, batches, 3, 0.4, "cpu", scheduler=halve)
    torch.manual_seed(1)
    nn.init.xavier_uniform_(b[1].weight)
    for lr in (0.4, 0.2, 0.1):  # the rate halves after each epoch, not after each batch
        for X_i, y_i in batches:
            b.zero_grad()
            nn.functional.cross_entropy(b(X_i), y_i).backward()
            with torch.no_grad():
                for p in b.parameters():
                    p -= lr * p.grad
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-6)


def test_a_scheduler_that_is_not_a_function_of_the_optimizer_is_refused():
    X, y = _tiny_images(16)
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 2))
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    made = torch.optim.lr_scheduler.StepLR(opt, step_size=1)
    with pytest.raises(TypeError, match="function of the optimizer"):
        d2l.train_ch6(net, [(X, y)], [(X, y)], 1, 0.1, "cpu", scheduler=made)
    with pytest.raises(TypeError, match="step\\(\\) method"):
        d2l.train_ch6(net, [(X, y)], [(X, y)], 1, 0.1, "cpu", scheduler=lambda opt: 0.5)
