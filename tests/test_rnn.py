"""Recurrent models and their training loop, checked against torch's own layers
(nn.RNN with copied weights, clip_grad_norm_) and hand-computed perplexities."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import d2lhelpers as d2l

V, H = 7, 5  # vocabulary size, hidden units


def get_params(vocab_size, num_hiddens, device):
    g = torch.Generator().manual_seed(0)
    shapes = [(vocab_size, num_hiddens), (num_hiddens, num_hiddens), (num_hiddens,)]
    shapes += [(num_hiddens, vocab_size), (vocab_size,)]
    return [(torch.randn(s, generator=g) * 0.5).to(device).requires_grad_() for s in shapes]


def init_rnn_state(batch_size, num_hiddens, device):
    return (torch.zeros((batch_size, num_hiddens), device=device),)


def rnn(inputs, state, params):
    """H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h), O_t = H_t W_hq + b_q, step by step."""
    W_xh, W_hh, b_h, W_hq, b_q = params
    (H,) = state
    outputs = []
    for X in inputs:
        H = torch.tanh(X @ W_xh + H @ W_hh + b_h)
        outputs.append(H @ W_hq + b_q)
    return torch.cat(outputs, dim=0), (H,)


def _scratch():
    return d2l.RNNModelScratch(V, H, d2l.cpu(), get_params, init_rnn_state, rnn)


def _torch_copy(net):
    """nn.RNN + nn.Linear holding the scratch model's weights (nn.RNN stores them transposed)."""
    W_xh, W_hh, b_h, W_hq, b_q = (p.detach() for p in net.params)
    layer, linear = nn.RNN(V, H), nn.Linear(H, V)
    with torch.no_grad():
        layer.weight_ih_l0.copy_(W_xh.T)
        layer.weight_hh_l0.copy_(W_hh.T)
        layer.bias_ih_l0.copy_(b_h)
        layer.bias_hh_l0.zero_()
        linear.weight.copy_(W_hq.T)
        linear.bias.copy_(b_q)
    return layer, linear


def test_scratch_rnn_matches_nn_rnn_with_the_same_weights():
    net = _scratch()
    X = torch.randint(0, V, (3, 4))  # (batch_size, num_steps)
    state = net.begin_state(batch_size=3, device=d2l.cpu())
    assert state[0].shape == (3, H) and torch.count_nonzero(state[0]) == 0
    Y, (H_T,) = net(X, state)
    layer, linear = _torch_copy(net)
    with torch.no_grad():
        out, h_n = layer(F.one_hot(X.T, V).float())  # (num_steps, batch_size, H)
        expected = linear(out).reshape(-1, V)  # time-major rows: step 0 of every sequence first
    assert Y.shape == (4 * 3, V)
    assert torch.allclose(Y, expected, atol=1e-5)
    assert torch.allclose(H_T, h_n[0], atol=1e-5)


def test_rnn_model_matches_the_scratch_model_with_copied_weights():
    scratch = _scratch()
    layer, linear = _torch_copy(scratch)
    net = d2l.RNNModel(layer, V)
    net.linear.load_state_dict(linear.state_dict())
    X = torch.randint(0, V, (2, 6))
    state = net.begin_state(device=d2l.cpu(), batch_size=2)
    assert state.shape == (1, 2, H)
    Y, new_state = net(X, state)
    Y_scratch, (H_scratch,) = scratch(X, scratch.begin_state(2, d2l.cpu()))
    assert torch.allclose(Y, Y_scratch, atol=1e-5)
    assert torch.allclose(new_state[0], H_scratch, atol=1e-5)


@pytest.mark.parametrize(
    "layer",
    [
        nn.GRU(V, H),
        nn.LSTM(V, H),
        nn.LSTM(V, H, num_layers=2),
        nn.GRU(V, H, bidirectional=True),
        nn.LSTM(V, H, num_layers=2, bidirectional=True),
    ],
    ids=["gru", "lstm", "lstm-2", "bigru", "bilstm-2"],
)
def test_rnn_model_with_gru_lstm_and_bidirectional_layers(layer):
    torch.manual_seed(0)
    net = d2l.RNNModel(layer, V)
    directions = 2 if layer.bidirectional else 1
    assert net.linear.in_features == directions * H
    batch_size, num_steps = 3, 4
    state = net.begin_state(device=d2l.cpu(), batch_size=batch_size)
    shape = (directions * layer.num_layers, batch_size, H)
    if isinstance(layer, nn.LSTM):
        assert isinstance(state, tuple) and [s.shape for s in state] == [shape, shape]
    else:
        assert state.shape == shape
    assert all(
        torch.count_nonzero(s) == 0 for s in (state if isinstance(state, tuple) else [state])
    )
    X = torch.randint(0, V, (batch_size, num_steps))
    Y, new_state = net(X, state)
    assert Y.shape == (num_steps * batch_size, V)
    with torch.no_grad():
        out, _ = layer(F.one_hot(X.T, V).float(), state)
        expected = out @ net.linear.weight.T + net.linear.bias  # (num_steps, batch_size, V)
    assert torch.allclose(Y, expected.reshape(-1, V), atol=1e-5)
    # row t * batch_size + b belongs to sequence b at step t: run sequence 1 alone
    one_state = net.begin_state(device=d2l.cpu(), batch_size=1)
    Y1, _ = net(X[1:2], one_state)
    assert torch.allclose(Y.reshape(num_steps, batch_size, V)[:, 1], Y1, atol=1e-5)


def _random_grads(params, scale, seed=0):
    g = torch.Generator().manual_seed(seed)
    for p in params:
        p.grad = torch.randn(p.shape, generator=g) * scale


@pytest.mark.parametrize("scale", [10.0, 0.01])
def test_grad_clipping_matches_clip_grad_norm(scale):
    net = nn.Sequential(nn.Linear(4, 3), nn.Tanh(), nn.Linear(3, 2))
    _random_grads(net.parameters(), scale)
    reference = copy.deepcopy(net)
    for p, q in zip(net.parameters(), reference.parameters(), strict=True):
        q.grad = p.grad.clone()
    total = torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm=1.0)
    norm = d2l.grad_clipping(net, 1)
    assert math.isclose(norm, float(total), rel_tol=1e-6)
    for p, q in zip(net.parameters(), reference.parameters(), strict=True):
        assert torch.allclose(p.grad, q.grad, rtol=1e-5, atol=1e-7)  # torch divides by norm + 1e-6
    clipped = torch.linalg.vector_norm(torch.cat([p.grad.flatten() for p in net.parameters()]))
    assert float(clipped) <= 1.0 + 1e-5


def test_grad_clipping_on_a_scratch_model_and_parameters_without_gradient():
    net = _scratch()
    _random_grads(net.params[:4], 3.0)  # b_q gets no gradient
    assert net.params[4].grad is None
    reference = [nn.Parameter(p.detach().clone()) for p in net.params[:4]]
    for r, p in zip(reference, net.params[:4], strict=True):
        r.grad = p.grad.clone()
    torch.nn.utils.clip_grad_norm_(reference, 0.5)
    d2l.grad_clipping(net, 0.5)
    for p, r in zip(net.params[:4], reference, strict=True):
        assert torch.allclose(p.grad, r.grad, rtol=1e-5, atol=1e-7)
    assert net.params[4].grad is None
    frozen = nn.Linear(2, 2)
    frozen.weight.requires_grad_(False)
    assert d2l.grad_clipping(frozen, 1) == 0.0  # no gradient anywhere: nothing to do


class _Next(nn.Module):
    """A model that always predicts token (x + 1) mod V and counts its steps in the state."""

    def forward(self, X, state):
        logits = F.one_hot((X.T.reshape(-1) + 1) % V, V).float() * 100
        return logits, state + X.shape[1]

    def begin_state(self, device, batch_size=1):
        return torch.zeros(batch_size, device=device)


def test_predict_ch8_warms_up_on_the_prefix_then_predicts():
    vocab = d2l.Vocab([list("abcdef")])  # <unk> 0, a 1, ..., f 6
    net = _Next()
    assert d2l.predict_ch8("ab", 3, net, vocab, d2l.cpu()) == "abcde"
    assert d2l.predict_ch8("ca", 2, net, vocab, d2l.cpu()) == "cabc"  # warm-up keeps 'a'
    assert net.training  # predict_ch8 restores the mode


def test_evaluate_perplexity_best_and_uniform_cases():
    corpus = torch.arange(200) % V
    assert math.isclose(d2l.evaluate_perplexity(_Next(), corpus, d2l.cpu()), 1.0, rel_tol=1e-4)

    class Uniform(_Next):
        def forward(self, X, state):
            return torch.zeros(X.numel(), V), state

    ppl = d2l.evaluate_perplexity(Uniform(), corpus, d2l.cpu(), num_steps=7, num_streams=3)
    assert math.isclose(ppl, V, rel_tol=1e-6)  # uniform over V tokens: perplexity V


class _Spy(nn.Module):
    """Wraps an RNNModel and records the state each minibatch starts from."""

    def __init__(self, net):
        super().__init__()
        self.net, self.seen = net, []

    def forward(self, X, state):
        self.seen.append(state)
        return self.net(X, state)

    def begin_state(self, device, batch_size=1):
        return self.net.begin_state(device, batch_size)


@pytest.mark.parametrize("use_random_iter", [False, True])
def test_train_epoch_ch8_state_handling(use_random_iter):
    torch.manual_seed(0)
    net = _Spy(d2l.RNNModel(nn.RNN(V, H), V))
    corpus = (torch.arange(400) % V).tolist()
    batches = list(d2l.seq_data_iter_sequential(corpus, 4, 5))[:3]
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    ppl, speed = d2l.train_epoch_ch8(
        net, batches, nn.CrossEntropyLoss(), optimizer, d2l.cpu(), use_random_iter
    )
    assert ppl > 1 and speed > 0
    assert torch.count_nonzero(net.seen[0]) == 0
    for state in net.seen[1:]:
        assert state.grad_fn is None  # detached: backpropagation stops at the batch boundary
        assert (torch.count_nonzero(state) == 0) == use_random_iter


def test_train_ch8_lowers_the_perplexity_on_a_tiny_corpus(capsys):
    torch.manual_seed(0)
    vocab = d2l.Vocab([list("abcdef")])
    corpus = [vocab[c] for c in "abcdef" * 60]
    batches = list(d2l.seq_data_iter_sequential(corpus, 4, 6))
    heldout = torch.tensor(corpus[:100])
    net = d2l.RNNModel(nn.RNN(len(vocab), 16), len(vocab))
    history = d2l.train_ch8(net, batches, vocab, 1, 40, d2l.cpu(), heldout=heldout)
    assert isinstance(history, d2l.History) and history.epochs == 40
    assert history["perplexity"][0] > 2 and history["perplexity"][-1] < 1.1
    assert history["heldout_epoch"] == [4 * k for k in range(1, 11)]
    assert history["heldout_perplexity"][-1] < 1.5
    assert history["tokens_per_sec"] > 0 and history["device"] == "cpu"
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("perplexity 1.") and out[0].endswith("tokens/sec on cpu")
    assert out[1].startswith("held-out perplexity")
    assert len(out) == 4 and "abcdefabcdefabcdef" in out[3]  # it learned the cycle
    assert "\n" not in repr(history)


def test_train_ch8_trains_a_scratch_model_and_caps_epochs_in_quick_mode(monkeypatch, capsys):
    monkeypatch.setenv("D2L_QUICK", "1")
    assert d2l.quick.quick_share_epochs(500) == 50 and d2l.quick.quick_share_epochs(30) == 10
    net = _scratch()
    before = [p.detach().clone() for p in net.params]
    vocab = d2l.Vocab([list("abcdef")])
    corpus = [vocab[c] for c in "abcdef" * 20]
    batches = list(d2l.seq_data_iter_random(corpus, 2, 5))
    history = d2l.train_ch8(net, batches, vocab, 0.5, 100, "cpu", use_random_iter=True)
    assert len(history["perplexity"]) == 10 and "heldout_perplexity" not in history
    assert all(not torch.equal(a, p) for a, p in zip(before, net.params, strict=True))
    assert "(quick mode: 10 of 100 epochs)" in capsys.readouterr().out
