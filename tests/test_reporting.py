"""The reporting skeleton every chapter trainer shares (d2lhelpers/_reporting.py).

Each of the seven trainers (train_ch3, train_ch6, train_ch13, train_ch8,
train_seq2seq, train_ch11, train_concise_ch11) runs here on tiny data; the tests
check that they agree on what they share: the plot cadence, the last plotted
point, the quick-mode note, the throughput, 0 epochs and empty iterators.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import d2lhelpers as d2l
from d2lhelpers import _reporting

RESERVED = ["<pad>", "<bos>", "<eos>"]


def _images(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 2, (n,), generator=g)
    X = 0.1 * torch.rand(n, 1, 8, 8, generator=g)
    X[y == 0, :, :, :4] += 1
    return X, y


def _batches(n=40, size=4):
    X, y = _images(n)
    return [(X[i : i + size], y[i : i + size]) for i in range(0, n, size)]  # 10 batches


def _classifier():
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 2))


def ch3(num_epochs, data=None, test=None):
    net = _classifier()
    data = _batches() if data is None else data
    updater = torch.optim.SGD(net.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss(reduction="none")
    test = _batches()[:1] if test is None else test
    return d2l.train_ch3(net, data, test, loss, num_epochs, updater)


def ch6(num_epochs, data=None, test=None):
    data = _batches() if data is None else data
    test = _batches()[:1] if test is None else test
    return d2l.train_ch6(_classifier(), data, test, num_epochs, 0.1, "cpu")


def ch13(num_epochs, data=None, test=None):
    net = _classifier()
    data = _batches() if data is None else data
    trainer = torch.optim.SGD(net.parameters(), lr=0.1)
    loss = nn.CrossEntropyLoss(reduction="none")
    test = _batches()[:1] if test is None else test
    return d2l.train_ch13(net, data, test, loss, trainer, num_epochs, ["cpu"])


def _text():
    vocab = d2l.Vocab([list("abcdef")])
    corpus = [vocab[c] for c in "abcdef" * 10]
    return vocab, corpus


def ch8(num_epochs, data=None):
    vocab, corpus = _text()
    data = list(d2l.seq_data_iter_sequential(corpus, 2, 5)) if data is None else data
    torch.manual_seed(0)
    net = d2l.RNNModel(nn.RNN(len(vocab), 8), len(vocab))
    heldout = torch.tensor(corpus[:30])
    return d2l.train_ch8(net, data, vocab, 1, num_epochs, "cpu", heldout=heldout)


def _pairs():
    vocab = d2l.Vocab([["a", "b", "c"]], reserved_tokens=RESERVED)
    X, X_valid_len = d2l.build_array_nmt([["a", "b"], ["c"], ["b", "c", "a"], ["a"]], vocab, 4)
    return vocab, [(X, X_valid_len, X, X_valid_len)]


def seq2seq(num_epochs, data=None):
    vocab, pairs = _pairs()
    torch.manual_seed(0)
    net = d2l.EncoderDecoder(
        d2l.Seq2SeqEncoder(len(vocab), 4, 8, 1), d2l.Seq2SeqDecoder(len(vocab), 4, 8, 1)
    )
    return d2l.train_seq2seq(net, pairs if data is None else data, 0.01, num_epochs, vocab, "cpu")


def _rows():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(150, 5, generator=g)  # 150 rows: the last evaluation falls between two
    return d2l.load_array((X, X @ torch.ones(5) + 0.1 * torch.randn(150, generator=g)), 10)


def _sgd(params, states, hyperparams):
    for p in params:
        p.data.sub_(hyperparams["lr"] * p.grad)
        p.grad.data.zero_()


def ch11(num_epochs, data=None):
    torch.manual_seed(0)
    return d2l.train_ch11(
        _sgd, None, {"lr": 0.05}, _rows() if data is None else data, 5, num_epochs
    )


def concise_ch11(num_epochs, data=None):
    torch.manual_seed(0)
    data = _rows() if data is None else data
    return d2l.train_concise_ch11(torch.optim.SGD, {"lr": 0.05}, data, num_epochs)


TRAINERS = [ch3, ch6, ch13, ch8, seq2seq, ch11, concise_ch11]
# the start of each trainer's first closing line: the book's line (ch6 prints `training on` before)
FIRST_LINE = {
    ch3: "loss ",
    ch6: "loss ",
    ch13: "loss ",
    ch8: "perplexity ",
    seq2seq: "loss ",
    ch11: "loss: ",
    concise_ch11: "loss: ",
}


@pytest.fixture
def animators(monkeypatch):
    """Every Animator a trainer makes, kept to read its points."""
    made = []

    class Recording(d2l.Animator):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(_reporting, "Animator", Recording)
    return made


@pytest.mark.parametrize("trainer", TRAINERS, ids=lambda f: f.__name__)
def test_every_trainer_refuses_zero_epochs_before_training(trainer, capsys):
    with pytest.raises(ValueError, match="num_epochs must be at least 1, got 0"):
        trainer(0)  # train_seq2seq raised IndexError here, after an empty plot
    assert capsys.readouterr().out == ""
    with pytest.raises(TypeError, match="whole number"):
        trainer(2.5)


@pytest.mark.parametrize("trainer", TRAINERS, ids=lambda f: f.__name__)
def test_every_trainer_names_an_empty_iterator(trainer):
    with pytest.raises(ValueError, match="gave no batches|has no batches"):
        trainer(2, data=[])


def test_a_used_up_iterator_is_named_as_such():
    vocab, pairs = _pairs()
    with pytest.raises(ValueError, match="no batches in epoch 2.*one-shot iterator"):
        seq2seq(3, data=iter(pairs))  # a generator gives its batches to the first epoch only


def _one_shot(trainer):
    """The trainer's usual training data, as an iterator that runs dry after one epoch."""
    if trainer is ch8:
        _, corpus = _text()
        return iter(list(d2l.seq_data_iter_sequential(corpus, 2, 5)))
    if trainer is seq2seq:
        return iter(_pairs()[1])
    if trainer in (ch11, concise_ch11):
        return iter(list(_rows()))
    return iter(_batches())


@pytest.mark.parametrize("trainer", TRAINERS, ids=lambda f: f.__name__)
def test_every_trainer_names_a_one_shot_training_iterator(trainer):
    # train_ch13 said "object of type 'list_iterator' has no len()"; train_concise_ch11 ate
    # the first batch to read the feature size, then "object of type 'generator' has no len()"
    with pytest.raises((TypeError, ValueError), match="one-shot iterator"):
        trainer(3, data=_one_shot(trainer))


@pytest.mark.parametrize("trainer", [ch3, ch6, ch13], ids=lambda f: f.__name__)
def test_every_classifier_names_an_empty_or_used_up_test_iterator(trainer, capsys):
    # an empty test set printed `test acc 0.000`, as if the model had learnt nothing
    with pytest.raises(ValueError, match="test_iter has no batches"):
        trainer(2, test=[])
    assert "test acc" not in capsys.readouterr().out
    with pytest.raises(ValueError, match="no batches.*one-shot iterator"):
        trainer(2, test=iter(_batches()[:1]))  # epoch 2 evaluated on nothing


@pytest.mark.parametrize("evaluate", ["evaluate_accuracy", "evaluate_accuracy_gpu"])
def test_an_evaluation_on_no_examples_is_an_error_not_a_zero(evaluate):
    with pytest.raises(ValueError, match="data_iter gave no batches"):
        getattr(d2l, evaluate)(_classifier(), [])
    with pytest.raises(ValueError, match="data_iter gave no batches"):
        d2l.evaluate_loss(nn.Linear(5, 1), [], nn.MSELoss(reduction="none"))


@pytest.mark.parametrize("trainer", TRAINERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("num_epochs", [3, 25])
def test_every_trainer_plots_its_last_epoch(trainer, num_epochs, animators, monkeypatch):
    monkeypatch.delenv("D2L_QUICK", raising=False)
    if trainer in (ch11, concise_ch11) and num_epochs == 25:
        num_epochs = 5  # 150 rows: evaluations at 200, 400, ... never at the end of epoch 5
    trainer(num_epochs)
    (animator,) = animators
    # the browser test reads that the curves reach the number of epochs printed
    assert [xs[-1] for xs in animator.X] == [pytest.approx(num_epochs)] * len(animator.X)


@pytest.mark.parametrize("trainer", TRAINERS, ids=lambda f: f.__name__)
def test_a_one_epoch_run_ends_at_the_plots_right_edge(trainer, animators, monkeypatch):
    # an autoscaled x axis adds a 5% margin: a one-epoch plot ended short of its right edge
    monkeypatch.delenv("D2L_QUICK", raising=False)
    trainer(1)
    (animator,) = animators
    xlim = animator._axes_args[2]
    assert xlim is not None and xlim[1] == 1
    assert xlim[0] <= min(min(xs) for xs in animator.X if xs)


@pytest.mark.parametrize("trainer", [ch3, ch8, seq2seq], ids=lambda f: f.__name__)
def test_the_epoch_cadence_is_shared(trainer, animators):
    # every epoch for short runs; every tenth of the run (at most 10) for long ones, the last too
    for num_epochs, plotted in [(3, [1, 2, 3]), (25, [*range(2, 25, 2), 25])]:
        trainer(num_epochs)
        assert animators[-1].X[0] == plotted


@pytest.mark.parametrize("trainer", [ch6, ch13], ids=lambda f: f.__name__)
def test_five_training_points_per_epoch_while_every_epoch_is_plotted(trainer, animators):
    # 10 batches per epoch: the book's five points per epoch in short runs (ch13 used to stop at
    # 10 epochs, ch6 never did); in long runs one per plotted epoch, like the test accuracy
    for num_epochs, train_x, test_x in [
        (3, [e + i / 5 for e in range(3) for i in range(1, 6)], [1, 2, 3]),
        (25, [*range(2, 25, 2), 25], [*range(2, 25, 2), 25]),
    ]:
        history = trainer(num_epochs)
        train_loss, train_acc, test_acc = animators[-1].X
        assert train_loss == pytest.approx(train_x) and test_acc == test_x
        assert len(history["test_acc"]) == num_epochs  # the History keeps every epoch


@pytest.mark.parametrize("trainer", TRAINERS, ids=lambda f: f.__name__)
def test_every_trainer_notes_quick_mode_on_its_first_closing_line(trainer, monkeypatch, capsys):
    monkeypatch.setenv("D2L_QUICK", "1")
    num_epochs = 40
    trainer(num_epochs)
    lines = capsys.readouterr().out.splitlines()
    noted = [line for line in lines if "quick mode" in line]
    ran = 10 if trainer in (ch8, seq2seq) else 2  # a tenth, at least 10; or at most 2
    assert len(noted) == 1 and noted[0].endswith(f" (quick mode: {ran} of {num_epochs} epochs)")
    assert noted[0].startswith(FIRST_LINE[trainer])
    assert noted[0] == next(line for line in lines if line.startswith(FIRST_LINE[trainer]))


@pytest.mark.parametrize("trainer", TRAINERS, ids=lambda f: f.__name__)
def test_no_note_when_quick_mode_runs_every_epoch(trainer, monkeypatch, capsys):
    monkeypatch.setenv("D2L_QUICK", "1")
    trainer(2)
    assert "quick mode" not in capsys.readouterr().out


@pytest.mark.parametrize("trainer", [ch6, ch13, ch8, seq2seq], ids=lambda f: f.__name__)
def test_throughput_is_what_was_trained_on_over_the_timed_steps(trainer, capsys):
    if trainer in (ch6, ch13):
        unit, data, per_epoch = "examples", _batches(), 40
    elif trainer is ch8:
        vocab, corpus = _text()
        data = list(d2l.seq_data_iter_sequential(corpus, 2, 5))
        unit, per_epoch = "tokens", sum(Y.numel() for _, Y in data)
    else:
        _, data = _pairs()
        unit, per_epoch = "tokens", 3 + 2 + 4 + 2  # real target tokens, <eos> included
    history = trainer(3, data=data)
    rate = history[f"{unit}_per_sec"]
    assert rate * history["seconds"] == pytest.approx(3 * per_epoch)
    assert 0 < history["seconds"] <= history["wall_time"]
    assert f"{rate:.1f} {unit}/sec on cpu" in capsys.readouterr().out


def test_plot_every_matches_the_books_cadence_for_long_runs():
    assert [_reporting.plot_every(n) for n in (1, 10, 19, 20, 35, 100, 300, 500)] == [
        1, 1, 1, 2, 3, 10, 10, 10,
    ]  # fmt: skip
    assert math.isclose(_reporting.POINTS_PER_EPOCH, 5)
