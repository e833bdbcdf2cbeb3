"""The RNN chapter as the book trains it: d2lhelpers' train_ch8 against the book's pipeline.

Both sides train the same model code on the same data with the same settings
(The Time Machine, first 10,000 characters, batch 32, 35 steps, lr 1, sequential
partitioning, 500 epochs), from the same seed, in one process:
- scratch: the book's get_params / init_rnn_state / rnn (512 hidden units), in
  the book's RNNModelScratch and train_ch8 (rebuilt below from the book's
  published algorithm), and in d2l.RNNModelScratch with d2l.train_ch8;
- concise: nn.RNN(28, 256), in the book's RNNModel and train_ch8, and in
  d2l.RNNModel with d2l.train_ch8;
- fast: the notebook's rnn_fast (the input and output products of all time
  steps done at once) with d2l.train_ch8, against the plain rnn.
Throughput on both sides = all training tokens / all training time (the book
prints the last epoch's only). d2l.train_ch8 also measures the held-out
perplexity every 10 epochs; that is outside its tokens/sec.
Each side trains its model in two calls of half the epochs (neither trainer keeps
state between calls: plain SGD, no re-initialisation), in the order book,
d2lhelpers, d2lhelpers, book, so that a load rising or falling during the run
hits both sides alike (one side after the other gave ratios from 0.74 to 1.41
for the same code on this shared 2-core machine).
Goal: tokens/sec ratio >= 1.0 for scratch and concise, final training
perplexity within 10% of the book pipeline's.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import math
import random
import re
import time

import torch
from _common import machine
from torch import nn
from torch.nn import functional as F

import d2lhelpers as d2l

# --- the book's pipeline, rebuilt from its published algorithm ---------------------------


class BookVocab:
    """Tokens sorted by frequency, <unk> first (the book's Vocab)."""

    def __init__(self, tokens):
        counter = collections.Counter(t for line in tokens for t in line)
        self.token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)
        self.idx_to_token = ["<unk>"]
        self.token_to_idx = {"<unk>": 0}
        for token, _ in self.token_freqs:
            if token not in self.token_to_idx:
                self.idx_to_token.append(token)
                self.token_to_idx[token] = len(self.idx_to_token) - 1

    def __len__(self):
        return len(self.idx_to_token)

    def __getitem__(self, token):
        return self.token_to_idx.get(token, 0)


def book_data(max_tokens=10000):
    """The book's load_corpus_time_machine: readlines, regex, char tokens, a Python list."""
    with open(d2l.download("time_machine")) as f:
        lines = [re.sub("[^A-Za-z]+", " ", line).strip().lower() for line in f.readlines()]
    tokens = [list(line) for line in lines]
    vocab = BookVocab(tokens)
    corpus = [vocab[token] for line in tokens for token in line][:max_tokens]
    return corpus, vocab


class BookSeqLoader:
    """The book's SeqDataLoader with sequential partitioning."""

    def __init__(self, corpus, batch_size, num_steps):
        self.corpus, self.batch_size, self.num_steps = corpus, batch_size, num_steps

    def __iter__(self):
        offset = random.randint(0, self.num_steps)
        num_tokens = ((len(self.corpus) - offset - 1) // self.batch_size) * self.batch_size
        Xs = torch.tensor(self.corpus[offset : offset + num_tokens])
        Ys = torch.tensor(self.corpus[offset + 1 : offset + 1 + num_tokens])
        Xs, Ys = Xs.reshape(self.batch_size, -1), Ys.reshape(self.batch_size, -1)
        num_batches = Xs.shape[1] // self.num_steps
        for i in range(0, self.num_steps * num_batches, self.num_steps):
            yield Xs[:, i : i + self.num_steps], Ys[:, i : i + self.num_steps]


class BookRNNModelScratch:
    def __init__(self, vocab_size, num_hiddens, device, get_params, init_state, forward_fn):
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = get_params(vocab_size, num_hiddens, device)
        self.init_state, self.forward_fn = init_state, forward_fn

    def __call__(self, X, state):
        X = F.one_hot(X.T, self.vocab_size).type(torch.float32)
        return self.forward_fn(X, state, self.params)

    def begin_state(self, batch_size, device):
        return self.init_state(batch_size, self.num_hiddens, device)


class BookRNNModel(nn.Module):
    def __init__(self, rnn_layer, vocab_size):
        super().__init__()
        self.rnn, self.vocab_size = rnn_layer, vocab_size
        self.num_hiddens = self.rnn.hidden_size
        self.linear = nn.Linear(self.num_hiddens, self.vocab_size)

    def forward(self, inputs, state):
        X = F.one_hot(inputs.T.long(), self.vocab_size).to(torch.float32)
        Y, state = self.rnn(X, state)
        return self.linear(Y.reshape((-1, Y.shape[-1]))), state

    def begin_state(self, device, batch_size=1):
        return torch.zeros((self.rnn.num_layers, batch_size, self.num_hiddens), device=device)


def book_predict(prefix, num_preds, net, vocab, device):
    state = net.begin_state(batch_size=1, device=device)
    outputs = [vocab[prefix[0]]]
    get_input = lambda: torch.tensor([outputs[-1]], device=device).reshape((1, 1))
    for y in prefix[1:]:
        _, state = net(get_input(), state)
        outputs.append(vocab[y])
    for _ in range(num_preds):
        y, state = net(get_input(), state)
        outputs.append(int(y.argmax(dim=1).reshape(1)))
    return "".join(vocab.idx_to_token[i] for i in outputs)


def book_grad_clipping(net, theta):
    params = (
        [p for p in net.parameters() if p.requires_grad]
        if isinstance(net, nn.Module)
        else net.params
    )
    norm = torch.sqrt(sum(torch.sum(p.grad**2) for p in params))
    if norm > theta:
        for param in params:
            param.grad[:] *= theta / norm


def book_sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


def book_train_epoch(net, train_iter, loss, updater, device, record):
    """The book's train_epoch_ch8 (sequential partitioning); appends (tokens, seconds) to record."""
    state, start = None, time.perf_counter()
    total, tokens = 0.0, 0
    for X, Y in train_iter:
        if state is None:
            state = net.begin_state(batch_size=X.shape[0], device=device)
        elif isinstance(net, nn.Module) and not isinstance(state, tuple):
            state.detach_()
        else:
            for s in state:
                s.detach_()
        y = Y.T.reshape(-1)
        X, y = X.to(device), y.to(device)
        y_hat, state = net(X, state)
        l = loss(y_hat, y.long()).mean()
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.backward()
            book_grad_clipping(net, 1)
            updater.step()
        else:
            l.backward()
            book_grad_clipping(net, 1)
            updater(batch_size=1)
        total += float(l * y.numel())
        tokens += y.numel()
    seconds = time.perf_counter() - start
    record.append((tokens, seconds))
    return math.exp(total / tokens), tokens / seconds


def book_train_ch8(net, train_iter, vocab, lr, num_epochs, device):
    """The book's train_ch8 without its plot: predictions every 10 epochs, as the book makes them."""
    loss = nn.CrossEntropyLoss()
    if isinstance(net, nn.Module):
        updater = torch.optim.SGD(net.parameters(), lr)
    else:
        updater = lambda batch_size: book_sgd(net.params, lr, batch_size)
    record, ppl = [], math.nan
    for epoch in range(num_epochs):
        ppl, _ = book_train_epoch(net, train_iter, loss, updater, device, record)
        if (epoch + 1) % 10 == 0:
            book_predict("time traveller", 50, net, vocab, device)
    tokens, seconds = map(sum, zip(*record, strict=True))
    return ppl, tokens, seconds


# --- the model code both sides train (the book's scratch RNN) -------------------------------


def get_params(vocab_size, num_hiddens, device):
    normal = lambda shape: torch.randn(size=shape, device=device) * 0.01
    params = [
        normal((vocab_size, num_hiddens)),
        normal((num_hiddens, num_hiddens)),
        torch.zeros(num_hiddens, device=device),
        normal((num_hiddens, vocab_size)),
        torch.zeros(vocab_size, device=device),
    ]
    for param in params:
        param.requires_grad_(True)
    return params


def init_rnn_state(batch_size, num_hiddens, device):
    return (torch.zeros((batch_size, num_hiddens), device=device),)


def rnn(inputs, state, params):
    W_xh, W_hh, b_h, W_hq, b_q = params
    (H,) = state
    outputs = []
    for X in inputs:
        H = torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)
        outputs.append(torch.mm(H, W_hq) + b_q)
    return torch.cat(outputs, dim=0), (H,)


def rnn_fast(inputs, state, params):
    """The notebook's arrangement: input and output products for all time steps at once."""
    W_xh, W_hh, b_h, W_hq, b_q = params
    (H,) = state
    Hs = []
    for xw in inputs @ W_xh + b_h:  # (num_steps, batch_size, num_hiddens)
        H = torch.tanh(xw + H @ W_hh)
        Hs.append(H)
    return torch.cat(Hs, 0) @ W_hq + b_q, (H,)


def ours(net, train_iter, vocab, epochs, device):
    """d2l.train_ch8 with its printing silenced; returns (final ppl, tokens, seconds, held-out ppl)."""
    with contextlib.redirect_stdout(io.StringIO()):
        h = d2l.train_ch8(net, train_iter, vocab, 1, epochs, device)
    return (
        h["perplexity"][-1],
        h["tokens_per_sec"] * h["seconds"],
        h["seconds"],
        h["heldout_perplexity"][-1],
    )


def abba(book_half, our_half):
    """book, ours, ours, book: each side trains its model for two halves of the epochs.

    The trainers keep no state between calls (plain SGD, no re-initialisation), so two
    halves are one run; a load that rises or falls during the benchmark hits both sides
    alike. Returns {side: (final ppl, tokens/sec, seconds, held-out ppl or None)}.
    """
    totals = {"book": [0.0, 0.0], "ours": [0.0, 0.0]}
    last = {}
    for side, half in [
        ("book", book_half),
        ("ours", our_half),
        ("ours", our_half),
        ("book", book_half),
    ]:
        out = half()
        totals[side][0] += out[1]
        totals[side][1] += out[2]
        last[side] = out
    return {
        side: (
            last[side][0],
            tokens / seconds,
            seconds,
            last[side][3] if len(last[side]) > 3 else None,
        )
        for side, (tokens, seconds) in totals.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=500)
    parser.add_argument("--runs", default="scratch,concise,fast", help="comma-separated subset")
    args = parser.parse_args()
    runs, epochs, device = args.runs.split(","), args.epochs, d2l.cpu()
    half = epochs // 2
    batch_size, num_steps = 32, 35
    corpus, book_vocab = book_data()
    train_iter, vocab = d2l.load_data_time_machine(batch_size, num_steps)
    assert corpus == train_iter.corpus and book_vocab.idx_to_token == vocab.idx_to_token
    book_iter = BookSeqLoader(corpus, batch_size, num_steps)
    print(f"machine: {machine()}; {2 * half} epochs, {len(corpus):,} training characters")
    print("each side trains in two halves, in the order book, d2lhelpers, d2lhelpers, book")
    results = {}

    def seeded(make):
        d2l.set_seed(0)
        return make()

    def compare(kind, book_net, our_net):
        out = abba(
            lambda: book_train_ch8(book_net, book_iter, book_vocab, 1, half, device),
            lambda: ours(our_net, train_iter, vocab, half, device),
        )
        results[f"book {kind}"], results[f"d2lhelpers {kind}"] = out["book"], out["ours"]

    if "scratch" in runs:
        compare(
            "scratch",
            seeded(
                lambda: BookRNNModelScratch(
                    len(vocab), 512, device, get_params, init_rnn_state, rnn
                )
            ),
            seeded(
                lambda: d2l.RNNModelScratch(
                    len(vocab), 512, device, get_params, init_rnn_state, rnn
                )
            ),
        )
    if "fast" in runs:
        # the notebook's arrangement against the plain loop, both trained by d2l.train_ch8
        plain = seeded(
            lambda: d2l.RNNModelScratch(len(vocab), 512, device, get_params, init_rnn_state, rnn)
        )
        fast = seeded(
            lambda: d2l.RNNModelScratch(
                len(vocab), 512, device, get_params, init_rnn_state, rnn_fast
            )
        )
        out = abba(
            lambda: ours(plain, train_iter, vocab, half, device),
            lambda: ours(fast, train_iter, vocab, half, device),
        )
        results["d2lhelpers scratch, rnn"] = out["book"]
        results["d2lhelpers scratch, rnn_fast"] = out["ours"]
    if "concise" in runs:
        compare(
            "concise",
            seeded(lambda: BookRNNModel(nn.RNN(len(vocab), 256), len(vocab))),
            seeded(lambda: d2l.RNNModel(nn.RNN(len(vocab), 256), len(vocab))),
        )
    for name, (ppl, speed, seconds, heldout) in results.items():
        held = f", held-out perplexity {heldout:.2f}" if heldout is not None else ""
        print(
            f"{name:30s} perplexity {ppl:.3f}, {speed:9.1f} tokens/sec, {seconds:6.1f} s training{held}"
        )
    for kind in ("scratch", "concise"):
        if f"book {kind}" in results:
            book, mine = results[f"book {kind}"], results[f"d2lhelpers {kind}"]
            print(f"{kind}: tokens/sec ratio d2lhelpers / book {mine[1] / book[1]:.2f} (goal >= 1.0); "
                  f"perplexity difference {100 * (mine[0] / book[0] - 1):+.1f}% (goal within 10%)")  # fmt: skip
    if "d2lhelpers scratch, rnn_fast" in results:
        fast, plain = results["d2lhelpers scratch, rnn_fast"], results["d2lhelpers scratch, rnn"]
        print(f"rnn_fast / rnn tokens/sec ratio {fast[1] / plain[1]:.2f}")


if __name__ == "__main__":
    main()
