"""What a step keeps for the backward pass, and the memory options of train_ch6."""

import copy
import gc
import weakref

import pytest
import torch
from torch import nn

import d2lhelpers as d2l
from d2lhelpers.activations import checkpointed_forward, saved_activation_bytes


# ---------------------------------------------------------------- saved_activation_bytes
def test_saved_activation_bytes_counts_what_autograd_keeps_by_hand():
    net = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    # the first Linear keeps X (8x4 floats), ReLU keeps its output (8x5), which the
    # second Linear keeps too (same storage); weights are parameters, not counted
    assert saved_activation_bytes(net, torch.randn(8, 4)) == (8 * 4 + 8 * 5) * 4


def test_saved_activation_bytes_of_a_slice_counts_only_the_slice():
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 2)
    )
    X = torch.randn(64, 1, 8, 8)
    # per example: the conv input (64 floats) and the ReLU output (4 * 64), which
    # Flatten's view and the Linear layer share
    assert saved_activation_bytes(net, X[:8]) == 8 * (64 + 4 * 64) * 4


class BookBatchNorm(nn.Module):
    """Like the book's from-scratch BatchNorm: moving statistics as plain attributes."""

    def __init__(self, n):
        super().__init__()
        self.gamma, self.beta = nn.Parameter(torch.ones(n)), nn.Parameter(torch.zeros(n))
        self.moving_mean = torch.zeros(n)

    def forward(self, X):
        if not torch.is_grad_enabled():
            return self.gamma * (X - self.moving_mean) + self.beta
        mean = X.mean(dim=0)
        self.moving_mean = 0.9 * self.moving_mean + 0.1 * mean.detach()
        return self.gamma * (X - mean) / (X.var(dim=0, unbiased=False) + 1e-5).sqrt() + self.beta


@pytest.mark.parametrize("norm", [nn.BatchNorm1d, BookBatchNorm])
def test_saved_activation_bytes_leaves_net_and_rng_alone(norm):
    net = nn.Sequential(nn.Linear(4, 6), norm(6), nn.Dropout(0.5), nn.Linear(6, 2))
    state = copy.deepcopy(net.state_dict())
    moving = net[1].moving_mean.clone() if norm is BookBatchNorm else None
    torch.manual_seed(3)
    saved_activation_bytes(net, torch.randn(8, 4))
    after = torch.rand(3)
    torch.manual_seed(3)
    torch.randn(8, 4)
    assert torch.equal(after, torch.rand(3))  # the dropout draws did not move the RNG
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k])
    if moving is not None:
        assert torch.equal(net[1].moving_mean, moving)


def _live_tensors():
    gc.collect()
    return sum(isinstance(o, torch.Tensor) for o in gc.get_objects())


def test_saved_activation_bytes_leaves_no_copy_of_the_net_behind():
    net = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3), nn.Sigmoid())
    X = torch.randn(8, 4)
    saved_activation_bytes(net, X)
    before = _live_tensors()
    for _ in range(3):
        saved_activation_bytes(net, X)
    assert _live_tensors() == before


# ---------------------------------------------------------------- checkpointed_forward
def test_checkpointed_forward_gives_the_same_gradients_and_statistics():
    torch.manual_seed(0)
    a = nn.Sequential(
        nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU()),
        nn.Dropout(0.3),
        nn.Linear(6, 2),
    )
    b = copy.deepcopy(a)
    X = torch.randn(16, 4)
    torch.manual_seed(1)
    checkpointed_forward(a, X).square().sum().backward()
    torch.manual_seed(1)
    b(X).square().sum().backward()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, atol=1e-6)
    for (k, u), (_, v) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(u, v), k  # running statistics updated once, not twice


def test_checkpointed_forward_recomputes_in_the_backward_pass():
    inner = nn.Linear(4, 4)
    net = nn.Sequential(nn.Sequential(inner, nn.Tanh()), nn.Linear(4, 1))
    calls = []
    inner.register_forward_hook(lambda m, args, out: calls.append(1))
    checkpointed_forward(net, torch.randn(3, 4)).sum().backward()
    assert len(calls) == 2  # the forward pass, and again in the backward pass


def test_checkpointed_forward_runs_a_shared_block_at_each_place():
    shared = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3), nn.ReLU())
    a = nn.Sequential(nn.Linear(2, 3), shared, nn.ReLU(), shared, nn.Linear(3, 1))
    b = copy.deepcopy(a)
    X = torch.randn(8, 2)
    checkpointed_forward(a, X).sum().backward()
    checkpointed_forward(a, X).sum().backward()  # a second step: nothing left patched
    b(X).sum().backward()
    b(X).sum().backward()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, atol=1e-5)
    assert torch.allclose(a[1][1].running_mean, b[1][1].running_mean)
    assert a[1][1].num_batches_tracked == b[1][1].num_batches_tracked == 4


def test_checkpointed_forward_needs_a_sequential():
    with pytest.raises(TypeError, match="nn.Sequential"):
        checkpointed_forward(d2l.Residual(1, 1), torch.randn(1, 1, 4, 4))


# ---------------------------------------------------------------- train_ch6's options
def _images(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    X = 0.1 * torch.rand(n, 1, 8, 8, generator=g)
    X[y == 0, :, :, :4] += 1
    return X, y


def _reference_sgd(net, batches, epochs, lr):
    """The book's step, whole batches, default layout: the reference to compare with."""
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


class SavedTracker:
    """Peak bytes of activations alive in autograd graphs (parameters excluded)."""

    def __init__(self, net):
        self.params = {p.untyped_storage().data_ptr() for p in net.parameters()}
        self.live = self.peak = 0

    def _free(self, n):
        self.live -= n

    def pack(self, t):
        if t.untyped_storage().data_ptr() in self.params:
            return t
        n = t.untyped_storage().nbytes()
        self.live += n
        self.peak = max(self.peak, self.live)
        return _Box(t.detach(), self, n)  # freed (and counted out) with its graph

    def hooks(self):
        return torch.autograd.graph.saved_tensors_hooks(self.pack, _unpack)


class _Box:
    def __init__(self, t, tracker, n):
        self.t = t
        weakref.finalize(self, tracker._free, n)


def _unpack(b):
    return b.t if isinstance(b, _Box) else b


def _conv_net():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(8 * 64, 2),
    )  # fmt: skip


def test_gradient_accumulation_takes_the_same_step_with_less_memory(capsys):
    X, y = _images(64)
    batches = [(X[i : i + 32], y[i : i + 32]) for i in range(0, 64, 32)]
    torch.manual_seed(0)
    a = _conv_net()
    b, c = copy.deepcopy(a), copy.deepcopy(a)
    tracked = SavedTracker(a)
    sizes = {True: [], False: []}  # batch sizes the net sees, by training mode
    a.register_forward_pre_hook(lambda m, args: sizes[m.training].append(len(args[0])))
    torch.manual_seed(1)
    with tracked.hooks():
        history = d2l.train_ch6(a, batches, batches, 2, 0.1, "cpu", gradient_accumulation_steps=4)
    assert sizes[True] == [8] * 16 and sizes[False] == [8] * 16  # 2 epochs x 2 batches x 4
    torch.manual_seed(1)
    _reference_sgd(b, batches, 2, 0.1)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-5)
    assert all(p.grad is None for p in a.parameters())  # train_ch6 frees the gradients
    assert abs(history["test_acc"][-1] - d2l.evaluate_accuracy_gpu(b, batches)) <= 1 / 64
    whole = SavedTracker(c)
    torch.manual_seed(1)
    with whole.hooks():
        d2l.train_ch6(c, batches, batches, 2, 0.1, "cpu")
    assert tracked.peak <= whole.peak / 3  # 8 of 32 examples at a time
    assert "micro-batches" not in capsys.readouterr().out  # no BatchNorm: no note


def test_gradient_accumulation_with_batch_norm_says_the_step_changes(capsys):
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))
    X, y = _images(16)
    d2l.train_ch6(net, [(X, y)], [(X, y)], 1, 0.1, "cpu", gradient_accumulation_steps=2)
    assert "each of the 2 micro-batches is normalised with its own" in capsys.readouterr().out


@pytest.mark.parametrize("steps", [0, -1, 1.5, True])
def test_gradient_accumulation_steps_must_be_a_positive_whole_number(steps):
    with pytest.raises(ValueError, match="gradient_accumulation_steps"):
        d2l.train_ch6(nn.Linear(2, 2), [], [], 1, 0.1, "cpu", gradient_accumulation_steps=steps)


@pytest.mark.parametrize("norm", [nn.BatchNorm2d, BookBatchNorm])
def test_checkpoint_activations_takes_the_same_step_for_a_batchnorm_net(norm):
    X, y = _images(64)
    batches = [(X[i : i + 32], y[i : i + 32]) for i in range(0, 64, 32)]
    torch.manual_seed(0)
    if norm is BookBatchNorm:  # a norm over the flattened features, on shared blocks
        block = nn.Sequential(nn.Linear(16, 16), BookBatchNorm(16), nn.ReLU())
        a = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), block, block, nn.Linear(16, 2))
    else:
        a = nn.Sequential(
            nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()),
            nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()),
            nn.Flatten(), nn.Linear(8 * 64, 2),
        )  # fmt: skip
    b = copy.deepcopy(a)
    torch.manual_seed(1)
    history = d2l.train_ch6(a, batches, batches, 2, 0.1, "cpu", checkpoint_activations=True)
    torch.manual_seed(1)
    _reference_sgd(b, batches, 2, 0.1)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-5)
    for (k, u), (_, v) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.allclose(u.float(), v.float(), atol=1e-5), k  # running statistics once
    if norm is BookBatchNorm:
        assert torch.allclose(a[2][1].moving_mean, b[2][1].moving_mean, atol=1e-5)
    assert abs(history["test_acc"][-1] - d2l.evaluate_accuracy_gpu(b, batches)) <= 1 / 64


def test_checkpoint_activations_keeps_less():
    X, y = _images(32)
    torch.manual_seed(0)
    # a block of four layers keeps only its input; a single layer (as in _conv_net) would keep
    # just what it keeps anyway, so checkpointing one layer at a time saves nothing
    a = nn.Sequential(nn.Sequential(*_conv_net()[:4]), nn.Flatten(), nn.Linear(8 * 64, 2))
    b = copy.deepcopy(a)
    less, whole = SavedTracker(a), SavedTracker(b)
    with less.hooks():
        d2l.train_ch6(a, [(X, y)], [(X, y)], 1, 0.1, "cpu", checkpoint_activations=True)
    with whole.hooks():
        d2l.train_ch6(b, [(X, y)], [(X, y)], 1, 0.1, "cpu")
    assert less.peak < whole.peak


def test_checkpoint_activations_needs_a_sequential_net():
    with pytest.raises(TypeError, match="nn.Sequential"):
        d2l.train_ch6(d2l.Residual(1, 1), [], [], 1, 0.1, "cpu", checkpoint_activations=True)
