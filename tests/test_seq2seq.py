"""Seq2seq: masks and loss against torch, BLEU by hand, decoding against greedy and brute force."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import nn

import d2lhelpers as d2l

RESERVED = ["<pad>", "<bos>", "<eos>"]


def test_sequence_mask_book_example_and_input_untouched():
    X = torch.tensor([[1, 2, 3], [4, 5, 6]])
    before = X.clone()
    assert d2l.sequence_mask(X, torch.tensor([1, 2])).tolist() == [[1, 0, 0], [4, 5, 0]]
    assert torch.equal(X, before)
    Y = torch.ones(2, 3, 4)
    out = d2l.sequence_mask(Y, torch.tensor([1, 2]), value=-1)
    assert out[0, 1:].eq(-1).all() and out[0, 0].eq(1).all() and out[1, :2].eq(1).all()
    assert Y.eq(1).all()


def test_masked_softmax_ce_loss_book_example():
    loss = d2l.MaskedSoftmaxCELoss()
    l = loss(torch.ones(3, 4, 10), torch.ones((3, 4), dtype=torch.long), torch.tensor([4, 2, 0]))
    assert torch.allclose(l, torch.tensor([math.log(10), math.log(10) / 2, 0.0]), atol=1e-4)


def test_masked_loss_equals_cross_entropy_on_unpadded_tokens():
    torch.manual_seed(0)
    pred, label = torch.randn(4, 6, 9), torch.randint(0, 9, (4, 6))
    valid_len = torch.tensor([6, 3, 1, 4])
    l = d2l.MaskedSoftmaxCELoss()(pred, label, valid_len)
    ce = nn.CrossEntropyLoss(reduction="sum")
    for i, v in enumerate(valid_len.tolist()):
        expected = ce(pred[i, :v], label[i, :v]) / 6  # the book's mean over all num_steps
        assert torch.allclose(l[i], expected, atol=1e-5)
    per_token = (l * 6).sum() / valid_len.sum()
    real = torch.cat([label[i, :v] for i, v in enumerate(valid_len.tolist())])
    logits = torch.cat([pred[i, :v] for i, v in enumerate(valid_len.tolist())])
    assert torch.allclose(per_token, nn.CrossEntropyLoss()(logits, real), atol=1e-5)


def test_encoder_decoder_shapes_as_in_the_book():
    encoder = d2l.Seq2SeqEncoder(vocab_size=10, embed_size=8, num_hiddens=16, num_layers=2)
    decoder = d2l.Seq2SeqDecoder(vocab_size=10, embed_size=8, num_hiddens=16, num_layers=2)
    X = torch.zeros((4, 7), dtype=torch.long)
    output, state = encoder(X)
    assert output.shape == (7, 4, 16) and state.shape == (2, 4, 16)
    out, dec_state = decoder(X, decoder.init_state(encoder(X)))
    assert out.shape == (4, 7, 10) and dec_state[1].shape == (2, 4, 16)


def _gru_cells(gru: nn.GRU) -> list[nn.GRUCell]:
    """One nn.GRUCell per layer of `gru`, with that layer's weights."""
    cells = []
    for k in range(gru.num_layers):
        cell = nn.GRUCell(gru.input_size if k == 0 else gru.hidden_size, gru.hidden_size)
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).data.copy_(getattr(gru, f"{name}_l{k}"))
        cells.append(cell)
    return cells


def test_encoder_and_decoder_step_by_step_by_hand():
    # the book's model, one time step and one layer at a time: the encoder's GRU over the
    # embedded source; the decoder starts from the encoder's final state and feeds every
    # step [embedding of the target token; context = the encoder's top layer at its last
    # step] (a context from the first step, the two halves swapped or a zero initial state
    # keep every shape and fail here)
    torch.manual_seed(0)
    encoder, decoder = d2l.Seq2SeqEncoder(12, 8, 16, 2), d2l.Seq2SeqDecoder(12, 8, 16, 2)
    X, Y = torch.randint(0, 12, (3, 5)), torch.randint(0, 12, (3, 6))
    with torch.no_grad():
        output, state = encoder(X)
        out, _ = decoder(Y, decoder.init_state((output, state)))
        h = [torch.zeros(3, 16) for _ in range(2)]
        tops = []
        for t in range(X.shape[1]):
            x = encoder.embedding(X[:, t])
            for k, cell in enumerate(_gru_cells(encoder.rnn)):
                h[k] = x = cell(x, h[k])
            tops.append(x)
        assert torch.allclose(output, torch.stack(tops), atol=1e-5)  # (num_steps, batch, hiddens)
        assert torch.allclose(state, torch.stack(h), atol=1e-5)
        context, expected = tops[-1], []
        for t in range(Y.shape[1]):
            x = torch.cat((decoder.embedding(Y[:, t]), context), 1)
            for k, cell in enumerate(_gru_cells(decoder.rnn)):
                h[k] = x = cell(x, h[k])
            expected.append(decoder.dense(x))
    assert torch.allclose(out, torch.stack(expected, 1), atol=1e-5)  # (batch, num_steps, vocab)


def test_decoder_context_is_the_same_whether_fed_at_once_or_step_by_step():
    torch.manual_seed(0)
    encoder = d2l.Seq2SeqEncoder(12, 8, 16, 2)
    decoder = d2l.Seq2SeqDecoder(12, 8, 16, 2)
    X, Y = torch.randint(0, 12, (3, 5)), torch.randint(0, 12, (3, 6))
    enc_outputs = encoder(X)
    whole, _ = decoder(Y, decoder.init_state(enc_outputs))
    state, steps = decoder.init_state(enc_outputs), []
    for t in range(Y.shape[1]):
        out, state = decoder(Y[:, t : t + 1], state)
        steps.append(out)
    assert torch.allclose(whole, torch.cat(steps, 1), atol=1e-5)


@pytest.mark.parametrize(
    ("pred", "label", "k", "expected"),
    [
        ("va !", "va !", 2, 1.0),
        ("va", "va !", 2, math.exp(-1)),  # shorter than k: only unigrams, brevity penalty e^-1
        ("a b c d", "a b c e", 2, 0.75**0.5 * (2 / 3) ** 0.25),
        ("a a a", "a b c", 1, (1 / 3) ** 0.5),  # a label n-gram is matched at most once
        ("x y", "a b c", 2, 0.0),
        ("", "a b", 2, 0.0),
        (
            "je suis en retard ?",
            "je suis chez moi .",
            2,
            math.exp(0) * (2 / 5) ** 0.5 * (1 / 4) ** 0.25,
        ),
    ],
)
def test_bleu_hand_values(pred, label, k, expected):
    assert math.isclose(d2l.bleu(pred, label, k), expected, rel_tol=1e-9, abs_tol=1e-12)


def _tiny_net(vocab_size=9, dropout=0.0):
    torch.manual_seed(1)
    encoder = d2l.Seq2SeqEncoder(vocab_size, 8, 16, 2, dropout)
    decoder = d2l.Seq2SeqDecoder(vocab_size, 8, 16, 2, dropout)
    return d2l.EncoderDecoder(encoder, decoder)


def _copy_vocab():
    return d2l.Vocab([["a", "b", "c", "d", "e"]], reserved_tokens=RESERVED)  # 9 tokens


def test_predict_seq2seq_restores_mode_and_uses_no_dropout():
    vocab = _copy_vocab()
    net = _tiny_net(len(vocab), dropout=0.5)
    net.train()
    outs = {d2l.predict_seq2seq(net, "a b c", vocab, vocab, 6, "cpu")[0] for _ in range(5)}
    assert len(outs) == 1  # dropout off: the same translation every time
    assert net.training and net.decoder.rnn.training
    net.eval()
    d2l.predict_seq2seq(net, "a b", vocab, vocab, 6, "cpu")
    assert not net.training


def test_beam_size_1_equals_greedy():
    vocab = _copy_vocab()
    net = _tiny_net(len(vocab))
    for src in ["a", "a b c", "e d c b a", "b b"]:
        greedy, _ = d2l.predict_seq2seq(net, src, vocab, vocab, 7, "cpu")
        beam, _ = d2l.predict_seq2seq_beam(net, src, vocab, vocab, 7, "cpu", beam_size=1)
        assert beam == greedy


class _TableEncoder(d2l.Encoder):
    def forward(self, X, *args):
        return X  # (batch_size, num_steps): only its batch size matters


class _TableDecoder(d2l.Decoder):
    """next-token probabilities from a fixed function of the prefix (without <bos>)."""

    def __init__(self, probs, bos):
        super().__init__()
        self.probs, self.bos = probs, bos

    def init_state(self, enc_outputs, *args):
        return enc_outputs[:, :0]  # (batch_size, 0): the generated prefix

    def forward(self, X, state):
        if X[0, 0].item() != self.bos:
            state = torch.cat([state, X], 1)
        rows = [self.probs(tuple(p)) for p in state.tolist()]
        return torch.log(torch.tensor(rows, dtype=torch.float64)).unsqueeze(1), state


def _brute_force(probs, eos, vocab_size, num_steps, alpha):
    best = (-math.inf, None)
    for T in range(1, num_steps + 1):
        for seq in itertools.product(range(vocab_size), repeat=T):
            if eos in seq[:-1]:
                continue
            logp = sum(math.log(probs(seq[:t])[seq[t]]) for t in range(T))
            words = list(seq[:-1]) if seq[-1] == eos else list(seq)
            best = max(best, (logp / T**alpha, words))
    return best


@pytest.mark.parametrize(("num_steps", "beam_size"), [(2, 7), (3, 7 + 49)])
def test_wide_beam_equals_exhaustive_search(num_steps, beam_size):
    vocab = d2l.Vocab([["A", "B", "C", "D"]], reserved_tokens=RESERVED)  # 7 tokens
    g = torch.Generator().manual_seed(0)
    table = torch.distributions.Dirichlet(torch.ones(7)).sample((8,)).double()
    table = torch.softmax(torch.log(table) + torch.randn(8, 7, generator=g, dtype=torch.float64), 1)
    probs = lambda prefix: table[prefix[-1] if prefix else 7].tolist()  # Markov in the last token
    net = d2l.EncoderDecoder(_TableEncoder(), _TableDecoder(probs, vocab["<bos>"]))
    for alpha in (0.0, 0.75):
        score, words = _brute_force(probs, vocab["<eos>"], 7, num_steps, alpha)
        out, s = d2l.predict_seq2seq_beam(
            net, "A", vocab, vocab, num_steps, "cpu", beam_size, alpha
        )
        assert out == " ".join(vocab.to_tokens(words))
        assert math.isclose(s, score, rel_tol=1e-9)


def test_book_example_greedy_0048_beam_0054():
    vocab = d2l.Vocab([["A", "B", "C"]], reserved_tokens=RESERVED)  # A 4, B 5, C 6, <eos> 3
    A, B, C, E = 4, 5, 6, 3

    def row(**p):
        r = [0.0] * 7
        for name, v in p.items():
            r[{"A": A, "B": B, "C": C, "E": E}[name]] = v
        return r

    table = {
        (): row(A=0.5, B=0.2, C=0.2, E=0.1),
        (A,): row(A=0.1, B=0.4, C=0.3, E=0.2),
        (A, B): row(A=0.2, B=0.2, C=0.4, E=0.2),
        (A, C): row(A=0.1, B=0.6, C=0.2, E=0.1),
        (A, B, C): row(A=0.1, B=0.1, C=0.2, E=0.6),
        (A, C, B): row(A=0.1, B=0.1, C=0.2, E=0.6),
    }
    probs = lambda prefix: table.get(prefix, row(A=0.25, B=0.25, C=0.25, E=0.25))
    net = d2l.EncoderDecoder(_TableEncoder(), _TableDecoder(probs, vocab["<bos>"]))
    greedy, s1 = d2l.predict_seq2seq_beam(net, "A", vocab, vocab, 4, "cpu", beam_size=1, alpha=0)
    beam, s2 = d2l.predict_seq2seq_beam(net, "A", vocab, vocab, 4, "cpu", beam_size=2, alpha=0)
    assert (greedy, beam) == ("A B C", "A C B")
    assert math.isclose(math.exp(s1), 0.048) and math.isclose(math.exp(s2), 0.054)


def test_train_seq2seq_lowers_the_loss_on_a_copy_task(capsys):
    vocab = _copy_vocab()
    g = torch.Generator().manual_seed(0)
    src = [
        torch.randint(4, 9, (int(n),), generator=g).tolist()
        for n in torch.randint(1, 4, (64,), generator=g)
    ]
    X, X_valid_len = d2l.build_array_nmt([vocab.to_tokens(s) for s in src], vocab, 5)
    data_iter = [
        (X[i : i + 16], X_valid_len[i : i + 16], X[i : i + 16], X_valid_len[i : i + 16])
        for i in range(0, 64, 16)
    ]
    net = _tiny_net(len(vocab))
    history = d2l.train_seq2seq(net, data_iter, 0.02, 40, vocab, "cpu")
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert math.isclose(history["book_loss"][-1] * 5, history["loss"][-1], rel_tol=1e-9)
    assert "per real token" in capsys.readouterr().out
    assert repr(history).count("\n") == 0


def test_the_attention_decoder_interface_sits_below_the_models_that_use_it():
    import ast
    import inspect

    from d2lhelpers import bahdanau, seq2seq, transformer

    assert d2l.AttentionDecoder is seq2seq.AttentionDecoder is bahdanau.AttentionDecoder
    assert issubclass(d2l.AttentionDecoder, d2l.Decoder)
    assert issubclass(d2l.Seq2SeqAttentionDecoder, d2l.AttentionDecoder)
    assert issubclass(d2l.TransformerDecoder, d2l.AttentionDecoder)
    # the Transformer takes its interface from seq2seq, not from another model's module
    imported = {
        node.module
        for node in ast.walk(ast.parse(inspect.getsource(transformer)))
        if isinstance(node, ast.ImportFrom)
    }
    assert "bahdanau" not in imported and "seq2seq" in imported
    with pytest.raises(NotImplementedError):
        _ = d2l.AttentionDecoder().attention_weights
