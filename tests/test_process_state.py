"""No public helper changes what a notebook's process shares, except where documented.

Every public name of d2lhelpers is classified below. Helpers that draw, train, decode
or load data are called on tiny inputs between two snapshots of process-wide state
(matplotlib's rcParams, backend and interactive mode; torch's threads, default dtype
and device, grad, inference and anomaly modes, deterministic and backend flags, print
options and seed; NumPy's print and error options; pandas' display options; the
environment, warnings filters, working directory, import path, logging, socket
timeout and SIGINT handler; and the caller's random states). A helper may draw from
the random generators listed beside it (the book's trainers initialise weights and
shuffle with torch's global generator, which `set_seed` seeds); nothing else may
change. The three helpers whose job is to change such state say so and are checked
to change only that. A name in no group fails `test_every_public_name_is_classified`.

Drawing runs as in Jupyter: `IPython.get_ipython` reports a shell, so the Animator
draws and displays its figure (printed here) instead of only recording points.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import data_fixtures
import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
from IPython.core.interactiveshell import InteractiveShell
from torch import nn

import d2lhelpers as d2l

PY, NP, TORCH = "python random", "numpy random", "torch random"


def _snapshot() -> dict[str, Any]:
    """Everything a helper could change for the rest of the process."""
    np_state = np.random.get_state()
    cudnn = torch.backends.cudnn
    return {
        "rcParams": dict(matplotlib.rcParams),
        "matplotlib backend": matplotlib.get_backend(),
        "matplotlib interactive": matplotlib.is_interactive(),
        "torch threads": (torch.get_num_threads(), torch.get_num_interop_threads()),
        "torch default dtype": torch.get_default_dtype(),
        "torch default device": torch.empty(()).device,  # get_default_device: torch >= 2.3
        "grad mode": torch.is_grad_enabled(),
        "inference mode": torch.is_inference_mode_enabled(),
        "anomaly mode": torch.is_anomaly_enabled(),
        "deterministic algorithms": (
            torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
        ),
        "backend flags": (
            cudnn.enabled,
            cudnn.benchmark,
            cudnn.deterministic,
            cudnn.allow_tf32,
            torch.backends.cuda.matmul.allow_tf32,
            torch.backends.mkldnn.enabled,
            torch.get_float32_matmul_precision(),
        ),
        "torch print options": dict(vars(torch._tensor_str.PRINT_OPTS)),
        "torch seed": torch.initial_seed(),
        "numpy options": (np.get_printoptions(), np.geterr()),
        "pandas options": {
            key: pd.get_option(key)
            for key in ("display.max_rows", "display.max_columns", "display.width")
        },
        "environment": dict(os.environ),
        "warnings filters": list(warnings.filters),
        "working directory": os.getcwd(),
        "sys.path": list(sys.path),
        "logging": (logging.getLogger().level, list(logging.getLogger().handlers)),
        "socket timeout": socket.getdefaulttimeout(),
        "SIGINT handler": signal.getsignal(signal.SIGINT),
        "recursion limit": sys.getrecursionlimit(),
        "interpreter hooks": (sys.displayhook, sys.excepthook),
        "IPython shell": InteractiveShell.initialized(),
        PY: random.getstate(),
        NP: (np_state[0], np_state[1].tobytes(), *np_state[2:]),
        TORCH: torch.get_rng_state().tolist(),
    }


def _changed(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    return {key for key in before if before[key] != after[key]}


# --- tiny inputs ---------------------------------------------------------------------------


def _images(n: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 1, 8, 8, generator=g), torch.randint(0, 2, (n,), generator=g)


def _cnn() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2 * 36, 2))


def _char_model() -> tuple[d2l.RNNModel, d2l.Vocab, list]:
    vocab = d2l.Vocab([list("abcdef")])
    corpus = [vocab[c] for c in "abcdef" * 20]
    batches = [(X.clone(), Y.clone()) for X, Y in d2l.seq_data_iter_sequential(corpus, 2, 5)]
    return d2l.RNNModel(nn.RNN(len(vocab), 8), len(vocab)), vocab, batches


def _seq2seq(attention: bool = False) -> tuple[d2l.EncoderDecoder, d2l.Vocab, list]:
    vocab = d2l.Vocab([list("abcd")], reserved_tokens=["<pad>", "<bos>", "<eos>"])
    X, valid_len = d2l.build_array_nmt([["a", "b"], ["c"], ["d", "a", "b"], ["b"]], vocab, 5)
    decoder = d2l.Seq2SeqAttentionDecoder if attention else d2l.Seq2SeqDecoder
    net = d2l.EncoderDecoder(d2l.Seq2SeqEncoder(len(vocab), 4, 8, 1), decoder(len(vocab), 4, 8, 1))
    return net, vocab, [(X, valid_len, X, valid_len)]


def _regression() -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(40, 5, generator=g)
    return list(zip(X.split(10), (X.sum(1) + 0.1).split(10), strict=True))


def _mirror(env: Env) -> Path:
    mirror = env.tmp_path / "mirror"
    mirror.mkdir(exist_ok=True)
    env.monkeypatch.setenv("D2L_DATA_URL", mirror.as_uri())
    return mirror


class Env:
    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.tmp_path, self.monkeypatch = tmp_path, monkeypatch


# --- the helpers that draw, train, decode or load data, with the generators they use ---

#: name -> (random generators it may draw from, setup(env) -> the call to check)
EXERCISED: dict[str, tuple[set[str], Callable[[Env], Callable[[], object]]]] = {}


def exercised(name: str, *draws_from: str) -> Callable:
    def register(setup: Callable[[Env], Callable[[], object]]) -> Callable:
        EXERCISED[name] = (set(draws_from), setup)
        return setup

    return register


@exercised("plot")
def _(env):
    x = torch.arange(1.0, 6.0)
    return lambda: d2l.plot(x, [x**2, 2 * x], "x", "y", ["a", "b"], [1, 5], yscale="log")


@exercised("set_axes")
def _(env):
    def run():
        fig, ax = d2l.plt.subplots()
        d2l.set_axes(ax, "x", "y", [0, 1], [0.1, 1], "linear", "log", ["a"])

    return run


@exercised("show_images")
def _(env):
    X, _ = _images(6)
    return lambda: d2l.show_images(X.squeeze(1), 2, 3, titles=list("abcdef"))


@exercised("show_heatmaps")
def _(env):
    matrices = torch.rand(2, 2, 3, 4)
    return lambda: d2l.show_heatmaps(matrices, "keys", "queries", ["a", "b"])


@exercised("Animator")
def _(env):
    def run():
        animator = d2l.Animator(xlabel="epoch", legend=["a", "b"], xlim=[1, 3], yscale="log")
        for epoch in (1, 2, 3):
            animator.add(epoch, (1 / epoch, None if epoch == 2 else 0.5))
        assert animator.fig is not None  # it drew, as in Jupyter

    return run


@exercised("show_list_len_pair_hist")
def _(env):
    return lambda: d2l.show_list_len_pair_hist(["s", "t"], "n", "count", [[1], [1, 2]], [[1]])


@exercised("show_bboxes")
def _(env):
    def run():
        fig, ax = d2l.plt.subplots()
        d2l.show_bboxes(ax, torch.tensor([[0.1, 0.1, 0.5, 0.6], [0.2, 0.3, 0.9, 0.8]]), ["a", "b"])

    return run


@exercised("annotate")
def _(env):
    def run():
        d2l.plt.figure()
        d2l.annotate("minimum", (0, 0), (0.5, 0.5))

    return run


def _gd_2d(x1: float, x2: float, s1: float, s2: float) -> tuple[float, float, float, float]:
    return x1 - 0.2 * x1, x2 - 0.4 * x2, 0.0, 0.0


@exercised("train_2d")
def _(env):
    return lambda: d2l.train_2d(_gd_2d, steps=5)


@exercised("show_trace_2d")
def _(env):
    results = d2l.train_2d(_gd_2d, steps=5)
    return lambda: d2l.show_trace_2d(lambda x1, x2: x1**2 + 2 * x2**2, results)


@exercised("predict_ch3")
def _(env):
    X = torch.rand(8, 1, 28, 28)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    return lambda: d2l.predict_ch3(net, [(X, torch.arange(8))], n=6)


@exercised("train_epoch_ch3")
def _(env):
    net, (X, y) = nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), _images()
    opt = torch.optim.SGD(net.parameters(), 0.1)
    return lambda: d2l.train_epoch_ch3(net, [(X, y)], nn.CrossEntropyLoss(reduction="none"), opt)


@exercised("train_ch3")
def _(env):
    net, (X, y) = nn.Sequential(nn.Flatten(), nn.Linear(64, 2)), _images()
    opt = torch.optim.SGD(net.parameters(), 0.1)
    loss = nn.CrossEntropyLoss(reduction="none")
    return lambda: d2l.train_ch3(net, [(X, y)], [(X, y)], loss, 2, opt)


@exercised("train_ch6", TORCH)  # Xavier initialisation, as the book's
def _(env):
    net, data = _cnn(), [_images()]
    return lambda: d2l.train_ch6(net, data, data, 2, 0.1, "cpu")


@exercised("evaluate_accuracy")
def _(env):
    net, data = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(64, 2)), [_images()]
    return lambda: d2l.evaluate_accuracy(net, data)


@exercised("evaluate_accuracy_gpu")
def _(env):
    net, data = nn.Sequential(nn.Flatten(), nn.Dropout(0.5), nn.Linear(64, 2)), [_images()]
    return lambda: d2l.evaluate_accuracy_gpu(net, data, "cpu")


@exercised("evaluate_loss")
def _(env):
    net = nn.Linear(5, 1)
    return lambda: d2l.evaluate_loss(net, _regression(), nn.MSELoss(reduction="none"))


@exercised("eval_mode")
def _(env):
    net = nn.Sequential(nn.Linear(5, 5), nn.Dropout(0.5))

    def run():
        with d2l.eval_mode(net):
            net(torch.ones(2, 5))

    return run


@exercised("train_batch_ch13")
def _(env):
    net, (X, y) = _cnn(), _images()
    opt = torch.optim.SGD(net.parameters(), 0.1)
    return lambda: d2l.train_batch_ch13(
        net, X, y, nn.CrossEntropyLoss(reduction="none"), opt, ["cpu"]
    )


@exercised("train_ch13")
def _(env):
    net, data = _cnn(), [_images()]
    opt = torch.optim.SGD(net.parameters(), 0.1)
    loss = nn.CrossEntropyLoss(reduction="none")
    return lambda: d2l.train_ch13(net, data, data, loss, opt, 2, ["cpu"])


@exercised("checkpointed_forward", TORCH)  # dropout masks, drawn once and replayed
def _(env):
    net, (X, _) = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Dropout(0.5), nn.ReLU()), _images(4)
    # torch.utils.checkpoint's first use imports torch._dynamo, which sets
    # TORCHINDUCTOR_CACHE_DIR in os.environ and adds a warnings filter: torch's doing,
    # once per process, so it happens here, before the snapshot
    d2l.checkpointed_forward(net, X).sum().backward()
    return lambda: d2l.checkpointed_forward(net, X).sum().backward()


@exercised("saved_activation_bytes")
def _(env):
    net, (X, _) = _cnn(), _images(4)
    return lambda: d2l.saved_activation_bytes(net, X)


@exercised("layer_summary")
def _(env):
    net, (X, _) = _cnn(), _images(4)
    return lambda: d2l.layer_summary(net, X)


@exercised("sgd")
def _(env):
    w = torch.ones(3, requires_grad=True)
    (w**2).sum().backward()
    return lambda: d2l.sgd([w], 0.1, 2)


@exercised("grad_clipping")
def _(env):
    net, (X, y) = _cnn(), _images(4)
    nn.functional.cross_entropy(net(X), y).backward()
    return lambda: d2l.grad_clipping(net, 0.01)


@exercised("train_epoch_ch8")
def _(env):
    net, _, batches = _char_model()
    opt = torch.optim.SGD(net.parameters(), 1)
    return lambda: d2l.train_epoch_ch8(net, batches, nn.CrossEntropyLoss(), opt, "cpu", False)


@exercised("train_ch8")
def _(env):
    net, vocab, batches = _char_model()
    return lambda: d2l.train_ch8(net, batches, vocab, 1, 3, "cpu")


@exercised("predict_ch8")
def _(env):
    net, vocab, _ = _char_model()
    return lambda: d2l.predict_ch8("ab", 5, net, vocab, "cpu")


@exercised("evaluate_perplexity")
def _(env):
    net, vocab, _ = _char_model()
    corpus = torch.tensor([vocab[c] for c in "abcdef" * 10])
    return lambda: d2l.evaluate_perplexity(net, corpus, "cpu", num_steps=5, num_streams=2)


@exercised("train_seq2seq", TORCH)  # Xavier initialisation, as the book's
def _(env):
    net, vocab, data = _seq2seq()
    return lambda: d2l.train_seq2seq(net, data, 0.01, 2, vocab, "cpu")


@exercised("predict_seq2seq")
def _(env):
    net, vocab, _ = _seq2seq(attention=True)
    return lambda: d2l.predict_seq2seq(net, "a b", vocab, vocab, 5, "cpu", True)


@exercised("predict_seq2seq_beam")
def _(env):
    net, vocab, _ = _seq2seq()
    return lambda: d2l.predict_seq2seq_beam(net, "a b", vocab, vocab, 5, "cpu", beam_size=2)


@exercised("train_ch11", TORCH)  # w ~ N(0, 0.01), as the book's
def _(env):
    def sgd(params, states, hyperparams):
        for p in params:
            p.data.sub_(hyperparams["lr"] * p.grad)
            p.grad.data.zero_()

    return lambda: d2l.train_ch11(sgd, None, {"lr": 0.01}, _regression(), 5, 1)


@exercised("train_concise_ch11", TORCH)  # weights ~ N(0, 0.01), as the book's
def _(env):
    data = d2l.load_array(tuple(torch.cat(t) for t in zip(*_regression(), strict=True)), 10)
    return lambda: d2l.train_concise_ch11(torch.optim.SGD, {"lr": 0.01}, data, 1)


# data helpers: downloads, readers and loaders


@exercised("download")
def _(env):
    sha1 = data_fixtures.write_text(_mirror(env) / "timemachine.txt")
    env.monkeypatch.setitem(d2l.DATA_HUB, "time_machine", (d2l.DATA_URL + "timemachine.txt", sha1))
    return lambda: d2l.download("time_machine")


@exercised("load_data_time_machine", PY)  # the random offset of every epoch
def _(env):
    sha1 = data_fixtures.write_text(_mirror(env) / "timemachine.txt")
    env.monkeypatch.setitem(d2l.DATA_HUB, "time_machine", (d2l.DATA_URL + "timemachine.txt", sha1))
    return lambda: next(iter(d2l.load_data_time_machine(2, 5, max_tokens=200)[0]))


@exercised("load_data_nmt", TORCH)  # a shuffling DataLoader, as the book's
def _(env):
    data_fixtures.write_fra_eng(_mirror(env))
    return lambda: next(iter(d2l.load_data_nmt(2, 5, num_examples=8)[0]))


@exercised("get_data_ch11", TORCH)  # a shuffling DataLoader, as the book's
def _(env):
    mirror = _mirror(env)
    sha1 = data_fixtures.write_airfoil(mirror / "airfoil_self_noise.dat", rows=60)
    url = d2l.DATA_URL + "airfoil_self_noise.dat"
    env.monkeypatch.setitem(d2l.DATA_HUB, "airfoil", (url, sha1))
    return lambda: next(iter(d2l.get_data_ch11(10, 50)[0]))


@exercised("load_data_fashion_mnist", TORCH)  # reshuffled every epoch, as a DataLoader
def _(env):
    from d2lhelpers.data import fashion_mnist as fm

    folder = env.tmp_path / "fashion-mnist"
    env.monkeypatch.setattr(fm, "_FILES", data_fixtures.write_fashion_mnist(folder, 64, 32))
    env.monkeypatch.setattr(fm, "DEBIAN_DIR", folder)
    env.monkeypatch.setattr(fm, "_CACHE", {})
    return lambda: next(iter(d2l.load_data_fashion_mnist(16, resize=14)[0]))


@exercised("make_shapes")  # its own generator, seeded by an argument
def _(env):
    return lambda: d2l.make_shapes(4, image_size=32, min_size=6)


@exercised("load_data_shapes")  # its own generators: images by seed, batches by BatchLoader
def _(env):
    return lambda: next(iter(d2l.load_data_shapes(2, num_train=4, num_test=2, image_size=32)[0]))


@exercised("synthetic_data", TORCH)  # X and the noise are drawn, as in the book
def _(env):
    return lambda: d2l.synthetic_data(torch.tensor([2.0, -3.4]), 4.2, 10)


#: helpers whose job is to change process-wide state: what each changes
DOCUMENTED: dict[str, set[str]] = {
    "set_figsize": {"rcParams"},  # the book's: the default figure size for later figures
    "set_seed": {PY, NP, TORCH, "torch seed"},
    "use_svg_display": set(),  # changes IPython's inline figure format; nothing outside it
}

#: public names that neither draw nor train: classes a learner builds and calls, pure
#: functions on tensors or text, constants, readers without randomness, small utilities
NEITHER = {
    # classes (their methods run inside the trainers exercised above)
    "Accumulator", "AddNorm", "AdditiveAttention", "AttentionDecoder", "BatchLoader",
    "Decoder", "DecoderBlock", "DotProductAttention", "DownloadError", "Encoder",
    "EncoderBlock", "EncoderDecoder", "History", "LossCurve", "MaskedSoftmaxCELoss",
    "MultiHeadAttention", "PositionWiseFFN", "PositionalEncoding", "RNNModel",
    "RNNModelScratch", "Residual", "Seq2SeqAttentionDecoder", "Seq2SeqDecoder",
    "Seq2SeqEncoder", "SeqDataLoader", "Timer", "Trajectory", "TransformerDecoder",
    "TransformerEncoder", "Vocab",
    # constants and modules
    "DATA_HUB", "DATA_URL", "FASHION_MNIST_LABELS", "HELDOUT_TOKENS", "QUICK_FRACTION",
    "QUICK_MAX_EPOCHS", "plt",
    # pure functions
    "SHAPE_CLASSES", "accuracy", "assign_anchor_to_bbox", "average_precision", "batched_nms", "bbox_to_rect", "bleu",
    "box_center_to_corner", "box_corner_to_center", "box_iou", "build_array_nmt", "corr2d",
    "count_corpus", "linreg", "masked_softmax", "multibox_detection", "multibox_prior",
    "multibox_target", "nms", "offset_boxes", "offset_inverse", "preprocess_nmt",
    "sequence_mask", "squared_loss", "tokenize", "tokenize_nmt", "transpose_output",
    "transpose_qkv", "truncate_pad", "resnet18", "get_fashion_mnist_labels",
    # readers, paths and settings read from the environment
    "data_dir", "download_all", "download_extract", "load_array", "load_corpus_time_machine",
    "load_fashion_mnist_arrays", "read_data_nmt", "read_time_machine",
    "seq_data_iter_random", "seq_data_iter_sequential", "torchvision_fashion_mnist_root",
    "get_dataloader_workers", "available_memory", "is_quick", "quick_epochs",
    "quick_share_epochs", "show_mode",
    # devices
    "cpu", "gpu", "num_gpus", "try_all_gpus", "try_gpu",
    # checkable exercises (their own tests: tests/checks)
    "check", "exercises", "progress",
}  # fmt: skip


def test_every_public_name_is_classified():
    groups = [set(EXERCISED), set(DOCUMENTED), NEITHER]
    for i, a in enumerate(groups):
        for b in groups[i + 1 :]:
            assert not a & b, f"{sorted(a & b)} are in two groups"
    unclassified = set(d2l.__all__) - set().union(*groups)
    assert not unclassified, (
        f"new public names {sorted(unclassified)}: add each to EXERCISED (it draws, trains, "
        "decodes or loads data), DOCUMENTED or NEITHER in tests/test_process_state.py"
    )
    assert not set().union(*groups) - set(d2l.__all__), "a listed name is no longer public"


class _Shell:
    """Enough of an IPython shell for `get_ipython()` callers (d2lhelpers, pyplot)."""

    class events:  # noqa: N801 - IPython's attribute name
        @staticmethod
        def register(*args: object) -> None:
            pass


@pytest.fixture
def env(tmp_path, monkeypatch):
    import IPython
    import matplotlib.pyplot

    shell = _Shell()
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)  # draw as in Jupyter
    # pyplot remembers the shell it hooked into: forget it after the test
    monkeypatch.setattr(matplotlib.pyplot, "_REPL_DISPLAYHOOK", matplotlib.pyplot._REPL_DISPLAYHOOK)
    yield Env(tmp_path, monkeypatch)
    d2l.plt.close("all")


@pytest.mark.parametrize("name", sorted(EXERCISED))
def test_helper_changes_no_process_wide_state(name, env, capsys):
    draws_from, setup = EXERCISED[name]
    run = setup(env)
    torch.manual_seed(1234)  # a learner's seeded run: the states below are the learner's
    before = _snapshot()
    run()
    changed = _changed(before, _snapshot())
    assert changed <= draws_from, f"{name} changed {sorted(changed - draws_from)}"


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_state_setters_change_only_what_they_document(name, monkeypatch):
    rc = dict(matplotlib.rcParams)
    try:
        matplotlib.rcParams["figure.figsize"] = (6.4, 4.8)  # matplotlib's default, not the book's
        before = _snapshot()
        getattr(d2l, name)()
        changed = _changed(before, _snapshot())
    finally:
        matplotlib.rcParams.update(rc)
    assert changed == DOCUMENTED[name] or (name == "set_seed" and changed <= DOCUMENTED[name])


def test_the_check_catches_a_helper_that_changes_state(monkeypatch):
    """The harness itself: a drawing helper that writes rcParams is caught."""
    before = _snapshot()
    try:
        d2l.set_figsize((5, 3))  # what nmt.show_list_len_pair_hist used to do
        assert _changed(before, _snapshot()) == {"rcParams"}
        matplotlib.rcParams.update(before["rcParams"])
        torch.set_num_threads(torch.get_num_threads() + 1)
        assert "torch threads" in _changed(before, _snapshot())
    finally:
        matplotlib.rcParams.update(before["rcParams"])
        torch.set_num_threads(before["torch threads"][0])
