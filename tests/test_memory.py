"""Fitting a training step into memory: d2lhelpers.memory and its use in train_ch6."""

import copy
import gc
import re
import subprocess
import sys
import weakref

import pytest
import torch
from torch import nn

import d2lhelpers as d2l
from d2lhelpers import memory
from d2lhelpers.memory import available_memory, checkpoint_blocks, checkpointed, plan_step, probe

GiB, MiB = 2**30, 2**20


# ---------------------------------------------------------------- available_memory
def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_available_memory_reads_a_cgroup_v1_limit_of_a_parent(tmp_path):
    proc, cg = tmp_path / "proc", tmp_path / "cg"
    _write(proc / "meminfo", "MemTotal:  16000000 kB\nMemAvailable:   8000000 kB\n")
    _write(proc / "self" / "cgroup", "5:cpu:/\n4:memory:/a/b\n0::/\n")
    _write(cg / "memory" / "a" / "b" / "memory.limit_in_bytes", "9223372036854771712\n")  # none
    _write(cg / "memory" / "a" / "memory.limit_in_bytes", f"{2 * GiB}\n")
    _write(cg / "memory" / "a" / "memory.usage_in_bytes", f"{GiB}\n")
    _write(cg / "memory" / "a" / "memory.stat", f"cache 1\ntotal_inactive_file {256 * MiB}\n")
    # 2 GiB - (1 GiB used - 256 MiB reclaimable page cache) = 1.25 GiB, below MemAvailable
    assert available_memory(proc, cg) == 2 * GiB - (GiB - 256 * MiB)


def test_available_memory_reads_cgroup_v2_and_takes_the_smaller_value(tmp_path):
    proc, cg = tmp_path / "proc", tmp_path / "cg"
    _write(proc / "meminfo", f"MemAvailable: {2 * GiB // 1024} kB\n")
    _write(proc / "self" / "cgroup", "0::/user.slice/job\n")
    _write(cg / "user.slice" / "job" / "memory.max", "max\n")
    _write(cg / "user.slice" / "memory.max", f"{4 * GiB}\n")
    _write(cg / "user.slice" / "memory.current", f"{GiB}\n")
    assert available_memory(proc, cg) == 2 * GiB  # MemAvailable < 4 - 1 GiB of the cgroup
    _write(cg / "user.slice" / "memory.current", f"{3 * GiB + 512 * MiB}\n")
    assert available_memory(proc, cg) == 512 * MiB


def test_available_memory_is_none_where_nothing_can_be_read(tmp_path):
    assert available_memory(tmp_path / "no-proc", tmp_path / "no-cgroup") is None


# ---------------------------------------------------------------- probe
def test_probe_counts_the_activations_autograd_keeps():
    net = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3))
    X = torch.randn(8, 4)
    found = probe(net, X)
    # hand count: the first Linear keeps X (8x4 floats), ReLU keeps its output (8x5),
    # which the second Linear keeps too (same storage); weights are parameters, not counted
    assert found.saved_bytes_per_example == (8 * 4 + 8 * 5) * 4 / 8
    assert not found.batch_coupled


def test_probe_of_a_slice_counts_only_the_slice():
    net = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 64, 2)
    )
    X = torch.randn(64, 1, 8, 8)
    sliced = probe(net, X[:8]).saved_bytes_per_example
    assert sliced == probe(net, X[:8].clone()).saved_bytes_per_example
    # hand count per example: the conv input (64 floats), the ReLU output (4 * 64), which
    # Flatten's view and the Linear layer share
    assert sliced == (64 + 4 * 64) * 4


class BookBatchNorm(nn.Module):
    """Like the book's from-scratch BatchNorm: moving statistics as plain attributes."""

    def __init__(self, n):
        super().__init__()
        self.gamma, self.beta = nn.Parameter(torch.ones(n)), nn.Parameter(torch.zeros(n))
        self.moving_mean = torch.zeros(n)

    def forward(self, X):
        mean = X.mean(dim=0)
        self.moving_mean = 0.9 * self.moving_mean + 0.1 * mean.detach()
        return self.gamma * (X - mean) / (X.var(dim=0, unbiased=False) + 1e-5).sqrt() + self.beta


@pytest.mark.parametrize("norm", [nn.BatchNorm1d, BookBatchNorm])
def test_probe_finds_batch_statistics_and_leaves_net_and_rng_alone(norm):
    net = nn.Sequential(nn.Linear(4, 6), norm(6), nn.Dropout(0.5), nn.Linear(6, 2))
    state = copy.deepcopy(net.state_dict())
    moving = net[1].moving_mean.clone() if norm is BookBatchNorm else None
    X = torch.randn(8, 4)
    torch.manual_seed(3)
    found = probe(net, X)
    after_probe = torch.rand(3)
    torch.manual_seed(3)
    assert torch.equal(after_probe, torch.rand(3))  # the dropout draws did not move the RNG
    assert found.batch_coupled
    for k, v in net.state_dict().items():
        assert torch.equal(v, state[k])
    if moving is not None:
        assert torch.equal(net[1].moving_mean, moving)


# ---------------------------------------------------------------- checkpoint blocks
def test_checkpoint_blocks_are_the_smallest_blocks_of_leaves():
    conv_block = nn.Sequential(nn.BatchNorm2d(2), nn.ReLU(), nn.Conv2d(2, 2, 3, padding=1))
    res = d2l.Residual(2, 2)
    net = nn.Sequential(conv_block, nn.Sequential(res, nn.ReLU()), nn.Flatten(), nn.Linear(8, 2))
    assert checkpoint_blocks(net) == [conv_block, res]


def test_checkpoint_blocks_never_take_the_whole_net():
    flat = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.ReLU())
    assert checkpoint_blocks(flat) == []


def test_checkpointed_restores_forward():
    block = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    with checkpointed([block]):
        assert "forward" in vars(block)
    assert "forward" not in vars(block)


def test_plan_step_rejects_a_non_positive_budget():
    with pytest.raises(ValueError, match="memory budget must be positive"):
        plan_step(nn.Linear(2, 2), torch.randn(4, 2), budget=0)


def test_plan_step_keeps_the_books_step_when_it_fits():
    plan = plan_step(nn.Linear(2, 2), torch.randn(4, 2), budget=GiB)
    assert plan.micro_batch is None and plan.blocks == [] and plan.reason == ""


# ---------------------------------------------------------------- train_ch6 under a budget
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


def _conv_net():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(8 * 64, 2),
    )  # fmt: skip


def test_train_ch6_splits_a_batch_that_does_not_fit_and_takes_the_same_step(capsys):
    X, y = _images(64)
    batches = [(X[i : i + 32], y[i : i + 32]) for i in range(0, 64, 32)]
    torch.manual_seed(0)
    a = _conv_net()
    b, c = copy.deepcopy(a), copy.deepcopy(a)
    per_example = probe(a, X[:8]).saved_bytes_per_example
    budget = int(per_example * 5)  # about 5 examples' activations (channels-last keeps more)
    tracked = SavedTracker(a)
    eval_sizes = []  # batch sizes the net sees in eval mode
    a.register_forward_pre_hook(
        lambda m, args: None if m.training else eval_sizes.append(len(args[0]))
    )
    torch.manual_seed(1)
    with tracked.hooks():
        history = d2l.train_ch6(a, batches, batches, 2, 0.1, "cpu", memory_budget=budget)
    out = capsys.readouterr().out
    micro = int(re.search(r"micro-batches of (\d+)", out).group(1))
    assert 1 <= micro <= 5 and "gradient accumulation" in out
    assert eval_sizes and max(eval_sizes) == micro  # evaluation in chunks too
    torch.manual_seed(1)
    _reference_sgd(b, batches, 2, 0.1)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-5)
    assert all(p.grad is None for p in a.parameters())  # train_ch6 frees the gradients
    # evaluated in chunks: the accuracy is the plain count over whole batches (within one
    # example: the two nets agree only up to float rounding)
    assert abs(history["test_acc"][-1] - d2l.evaluate_accuracy_gpu(b, batches)) <= 1 / 64
    whole = SavedTracker(c)
    torch.manual_seed(1)
    with whole.hooks():
        d2l.train_ch6(c, batches, batches, 2, 0.1, "cpu", memory_budget=GiB)
    assert "micro-batches" not in capsys.readouterr().out
    assert tracked.peak < whole.peak / 4  # at most 5 of 32 examples at a time


@pytest.mark.parametrize("norm", [nn.BatchNorm2d, None])
def test_train_ch6_checkpoints_a_batchnorm_net_and_takes_the_same_step(capsys, norm):
    X, y = _images(64)
    batches = [(X[i : i + 32], y[i : i + 32]) for i in range(0, 64, 32)]
    torch.manual_seed(0)
    bn = norm(8) if norm else nn.Identity()
    a = nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), bn, nn.ReLU()),
        nn.Sequential(nn.Conv2d(8, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()),
        nn.Flatten(), nn.Linear(8 * 64, 2),
    )  # fmt: skip
    b = copy.deepcopy(a)
    budget = int(probe(a, X[:8]).saved_bytes_per_example * 5)
    calls = []  # forward passes of a layer inside a block, in training mode
    a[1][0].register_forward_hook(lambda m, args, out: calls.append(1) if m.training else None)
    torch.manual_seed(1)
    history = d2l.train_ch6(a, batches, batches, 2, 0.1, "cpu", memory_budget=budget)
    assert "2 blocks recompute their activations" in capsys.readouterr().out
    # 2 epochs x 2 batches, each forward pass run twice, plus once in the probe's copy of the net
    assert len(calls) == 2 * 2 * 2 + 1
    torch.manual_seed(1)
    _reference_sgd(b, batches, 2, 0.1)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.allclose(p, q, atol=1e-5)
    for (k, u), (_, v) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.allclose(u.float(), v.float(), atol=1e-5), k  # running statistics once
    assert not any("forward" in vars(m) for m in a.modules())
    assert abs(history["test_acc"][-1] - d2l.evaluate_accuracy_gpu(b, batches)) <= 1 / 64


def _unpack(b):
    return b.t if isinstance(b, _Box) else b


def _live_tensors():
    gc.collect()
    return sum(isinstance(o, torch.Tensor) for o in gc.get_objects())


def test_probe_leaves_no_copy_of_the_net_behind():
    net = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3), nn.Sigmoid())
    X = torch.randn(8, 4)
    before = _live_tensors()
    for _ in range(3):
        probe(net, X)
    assert _live_tensors() == before


def test_default_budget_is_a_quarter_of_what_is_left_after_the_gradients(monkeypatch):
    net = nn.Linear(1000, 250)  # 250,250 parameters: 1,001,000 bytes of gradients
    monkeypatch.setattr(memory, "available_memory", lambda: 401_001_000)
    assert memory.default_budget(net) == (401_001_000 - 1_001_000) // 4
    monkeypatch.setattr(memory, "available_memory", lambda: 5_001_000)
    assert memory.default_budget(net) == 64 * MiB  # a floor, not micro-batches of 1
    monkeypatch.setattr(memory, "available_memory", lambda: None)
    assert memory.default_budget(net) is None
    assert plan_step(net, torch.randn(4, 1000)).reason == ""  # unknown memory: the book's step


_FRAGMENT = """
import sys, torch
from d2lhelpers import memory
def anon_mb():
    with open("/proc/self/status") as f:
        return int(next(l for l in f if l.startswith("RssAnon")).split()[1]) / 1024
torch.ones(24 * 2**20 // 4)  # freeing a 24 MB mapped block makes glibc keep blocks up to 24 MB
if sys.argv[1] == "on":
    assert memory.map_large_blocks()
before = anon_mb()
Xs, keep = [], []
for _ in range(8):  # 64 MB in 8 MB tensors, each followed by a small tensor that stays
    Xs.append(torch.ones(8 * 2**20 // 4))
    keep.append(torch.ones(1024))
grown = anon_mb() - before
del Xs
print(round(grown), round(anon_mb() - before))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_map_large_blocks_returns_freed_tensors_to_the_system():
    def run(mode):
        out = subprocess.run(
            [sys.executable, "-c", _FRAGMENT, mode], capture_output=True, text=True, check=True
        )
        return [int(v) for v in out.stdout.split()]

    grown, kept = run("on")
    assert grown >= 60 and kept <= 4  # the 64 MB left with the tensors
    # (with run("off"), glibc's default, the heap may keep them between the small tensors:
    # 16 to 64 MB here, depending on the heap's state)
