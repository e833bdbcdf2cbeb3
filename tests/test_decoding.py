"""Decoding (d2lhelpers/decoding.py) and the layering of the training and decoding modules."""

from __future__ import annotations

import ast
import inspect
import math
from pathlib import Path

import pytest
import torch

import d2lhelpers as d2l
from d2lhelpers import decoding

PACKAGE = Path(d2l.__file__).parent
RESERVED = ["<pad>", "<bos>", "<eos>"]


def _imports(module: str) -> list[tuple[str, str]]:
    """(module, name) of every `from .module import name` in d2lhelpers/<module>.py."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    return [
        (node.module or "", alias.name)
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1
        for alias in node.names
    ]


def test_greedy_and_beam_decoding_live_in_one_module():
    assert (
        d2l.predict_seq2seq.__module__
        == d2l.predict_seq2seq_beam.__module__
        == "d2lhelpers.decoding"
    )
    assert not (PACKAGE / "beam_search.py").exists()


TRAINING = [
    "classification",
    "train_cnn",
    "train_rnn",
    "train_seq2seq",
    "train_vision",
    "optimization",
]


@pytest.mark.parametrize("module", [*TRAINING, "decoding", "gradients", "timing"])
def test_shared_pieces_sit_below_the_modules_that_use_them(module):
    imported = _imports(module)
    # no private name from another public module (beam search took _source_indices from
    # the training module); underscore modules (_reporting, _layout) are the shared internals
    for source, name in imported:
        assert not (name.startswith("_") and not source.startswith("_")), (module, source, name)
    # no trainer takes a piece from another trainer (train_seq2seq took grad_clipping from
    # train_rnn), and decoding needs no trainer
    if module in TRAINING or module == "decoding":
        assert not any(source in TRAINING for source, _ in imported), (module, imported)
    if module in ("train_rnn", "train_seq2seq"):
        assert ("gradients", "grad_clipping") in imported


def test_grad_clipping_is_one_function_for_both_recurrent_trainers():
    import importlib

    rnn, s2s, grads = (
        importlib.import_module(f"d2lhelpers.{m}")
        for m in ("train_rnn", "train_seq2seq", "gradients")
    )  # `from d2lhelpers import train_seq2seq` would give the function of that name
    assert d2l.grad_clipping is grads.grad_clipping
    assert rnn.grad_clipping is s2s.grad_clipping is grads.grad_clipping


class _TableEncoder(d2l.Encoder):
    def forward(self, X, *args):
        return X  # (batch_size, num_steps): only its batch size matters


class _PrefixDecoder(d2l.Decoder):
    """Next-token log-probabilities from a fixed function of the generated prefix.

    Its state is the prefix, (batch_size, t); with `time_major` it is stored as (t, batch_size)
    instead, as a learner might change a decoder in a live kernel.
    """

    def __init__(self, table, bos):
        super().__init__()
        self.table, self.bos, self.time_major = table, bos, False

    def init_state(self, enc_outputs, *args):
        state = enc_outputs[:, :0]  # (batch_size, 0)
        return state.T if self.time_major else state

    def forward(self, X, state):
        prefix = state.T if self.time_major else state  # (batch_size, t)
        if X[0, 0].item() != self.bos:
            prefix = torch.cat([prefix, X], 1)
        last = [p[-1] if p else 7 for p in prefix.tolist()]
        Y = torch.log(self.table[last]).unsqueeze(1)  # (batch_size, 1, vocab_size)
        return Y, (prefix.T if self.time_major else prefix)


def _table_net():
    vocab = d2l.Vocab([["A", "B", "C", "D"]], reserved_tokens=RESERVED)  # 7 tokens
    g = torch.Generator().manual_seed(0)
    table = torch.softmax(torch.randn(8, 7, generator=g, dtype=torch.float64), 1)
    return vocab, d2l.EncoderDecoder(_TableEncoder(), _PrefixDecoder(table, vocab["<bos>"]))


def test_beam_search_follows_a_decoder_whose_state_layout_changes():
    vocab, net = _table_net()
    before = d2l.predict_seq2seq_beam(net, "A", vocab, vocab, 4, "cpu", beam_size=3)
    net.decoder.time_major = True  # the same decoder object, its batch axis now 1
    after = d2l.predict_seq2seq_beam(net, "A", vocab, vocab, 4, "cpu", beam_size=3)
    assert after == before  # a per-decoder cache of the batch axes went stale here
    state = [
        k
        for k, v in vars(decoding).items()
        if not k.startswith("__") and isinstance(v, dict | list | set)
    ]
    assert state == []  # no module-level cache


def test_beam_size_must_be_a_positive_whole_number():
    vocab, net = _table_net()
    for beam_size in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="beam_size"):
            d2l.predict_seq2seq_beam(net, "A", vocab, vocab, 4, "cpu", beam_size=beam_size)


def test_decoding_documents_where_it_is_used():
    doc = inspect.getdoc(decoding)
    assert "11_modern_rnn" in doc and "predict_seq2seq_beam" in doc


class _ExplicitDecoder(d2l.Seq2SeqDecoder):
    """The same decoder, reordering its state itself: [enc_output (num_steps, batch_size,
    num_hiddens), hidden state (num_layers, batch_size, num_hiddens)]."""

    def reorder_state(self, state, index):
        return [s.index_select(1, index) for s in state]


def _gru_net(vocab_size, num_layers, decoder=d2l.Seq2SeqDecoder):
    torch.manual_seed(1)
    return d2l.EncoderDecoder(
        d2l.Seq2SeqEncoder(vocab_size, 8, 16, num_layers),
        decoder(vocab_size, 8, 16, num_layers),
    )


@pytest.mark.parametrize("num_layers, encoder_runs", [(2, [1]), (1, [1, 2])])
def test_the_batch_axis_is_read_from_the_state_and_probed_only_when_ambiguous(
    num_layers, encoder_runs
):
    vocab = d2l.Vocab([["a", "b", "c", "d", "e"]], reserved_tokens=RESERVED)
    net = _gru_net(len(vocab), num_layers)
    reference = _gru_net(len(vocab), num_layers, _ExplicitDecoder)  # the same weights
    runs = []
    net.encoder.register_forward_hook(lambda m, args, out: runs.append(args[0].shape[0]))
    for src in ["a", "a b c", "e d c b a"]:
        runs.clear()
        beam = d2l.predict_seq2seq_beam(net, src, vocab, vocab, 6, "cpu", beam_size=3)
        # hidden state (num_layers, 1, 16): with 2 layers axis 1 is its one axis of size 1;
        # with one layer (1, 1, 16) is ambiguous, and a batch of 2 shows which axis grows
        assert runs == encoder_runs
        expected = d2l.predict_seq2seq_beam(reference, src, vocab, vocab, 6, "cpu", beam_size=3)
        assert beam[0] == expected[0] and math.isclose(beam[1], expected[1], rel_tol=1e-6)
