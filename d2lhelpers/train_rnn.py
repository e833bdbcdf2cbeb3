"""Training recurrent language models: `train_epoch_ch8`, `train_ch8`, `evaluate_perplexity`.

`train_ch8` trains an `RNNModel` or an `RNNModelScratch` with SGD, cross-entropy
and gradient clipping (`grad_clipping`, gradients.py), as the book does, draws
the perplexity live, prints the book's lines and returns a `History`. Beyond
the book it also measures the perplexity on held-out text (the end of The Time
Machine, never trained on), so memorising the 10,000 training characters
(perplexity near 1) can be told from modelling English, and its tokens/sec
covers every epoch, not just the last.
Introduced in 10_rnn.ipynb; reused by 11_modern_rnn.ipynb.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ._reporting import Report, no_batches
from .gradients import grad_clipping
from .history import History
from .linear import sgd
from .metrics import Accumulator, eval_mode
from .rnn import LanguageModel, State, predict_ch8
from .text import Vocab
from .timing import Timer

__all__ = ["train_epoch_ch8", "evaluate_perplexity", "train_ch8"]

Updater = torch.optim.Optimizer | Callable[..., None]


def _detach(state: State) -> State:
    """Cut the graph at the state: gradients stop at the start of the minibatch."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(s.detach() for s in state)


def train_epoch_ch8(
    net: LanguageModel,
    train_iter: Iterable,
    loss: Callable,
    updater: Updater,
    device: torch.device,
    use_random_iter: bool,
) -> tuple[float, float]:
    """Train one epoch; return (training perplexity, tokens per second).

    X, Y: (batch_size, num_steps). With random sampling the state starts at zero
    for every minibatch; with sequential partitioning it carries over, detached
    (truncated backpropagation through time). Gradients are clipped to norm 1.
    """
    timer = Timer(device)
    ppl, num_tokens = _train_epoch(net, train_iter, loss, updater, device, use_random_iter, timer)
    if not num_tokens:
        raise no_batches("train_iter")
    return ppl, num_tokens / timer.sum()


def _train_epoch(
    net: LanguageModel,
    train_iter: Iterable,
    loss: Callable,
    updater: Updater,
    device: torch.device,
    use_random_iter: bool,
    timer: Timer,
) -> tuple[float, float]:
    """One epoch of training, timed by `timer` as one lap; returns (perplexity, tokens)."""
    timer.start()
    state: State | None = None
    metric = Accumulator(2)  # sum of training losses, number of tokens
    if isinstance(net, nn.Module):
        net.train()
    for X, Y in train_iter:
        if state is None or use_random_iter:
            state = net.begin_state(batch_size=X.shape[0], device=device)
        else:
            state = _detach(state)
        y = Y.T.reshape(-1)  # (num_steps * batch_size,), time-major like the outputs
        X, y = X.to(device), y.to(device)
        y_hat, state = net(X, state)
        l = loss(y_hat, y.long()).mean()
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.backward()
            grad_clipping(net, 1)  # type: ignore[arg-type]  # an nn.Module or a scratch model
            updater.step()
        else:
            l.backward()
            grad_clipping(net, 1)  # type: ignore[arg-type]
            updater(batch_size=1)  # the loss is already a mean
        metric.add(l.item() * y.numel(), y.numel())
    timer.stop()
    ppl = math.exp(metric[0] / metric[1]) if metric[1] else math.nan
    return ppl, metric[1]


def evaluate_perplexity(
    net: LanguageModel,
    corpus: torch.Tensor,
    device: torch.device | str,
    num_steps: int = 35,
    num_streams: int = 50,
) -> float:
    """Perplexity of `net` on a token sequence, read from left to right.

    corpus: 1-D tensor of token indices, cut into `num_streams` contiguous
    streams read side by side, `num_steps` tokens at a time, the state carried
    along (as in sequential partitioning); fewer streams for a text shorter than
    num_streams + 1 tokens. Eval mode, no gradients.
    """
    if len(corpus) < 2:
        raise ValueError(f"corpus has {len(corpus)} tokens; the perplexity needs at least 2")
    device = torch.device(device)
    num_streams = min(num_streams, len(corpus) - 1)
    n = (len(corpus) - 1) // num_streams * num_streams
    Xs = corpus[:n].reshape(num_streams, -1).to(device)  # (num_streams, n / num_streams)
    Ys = corpus[1 : n + 1].reshape(num_streams, -1).to(device)
    total, count = 0.0, 0
    with eval_mode(net):
        state = net.begin_state(batch_size=num_streams, device=device)
        for i in range(0, Xs.shape[1], num_steps):
            y_hat, state = net(Xs[:, i : i + num_steps], state)
            y = Ys[:, i : i + num_steps].T.reshape(-1)  # time-major like y_hat
            total += float(F.cross_entropy(y_hat, y.long(), reduction="sum"))
            count += y.numel()
    return math.exp(total / count)


class _LiveText:
    """One line of text shown under the plot and updated in place (only in IPython)."""

    def __init__(self) -> None:
        self._handle: Any = None

    def update(self, text: str) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import Pretty, display
        except ImportError:  # pragma: no cover
            return
        if get_ipython() is None:
            return
        if self._handle is None:
            self._handle = display(Pretty(text), display_id=True)
        else:
            self._handle.update(Pretty(text))


def train_ch8(
    net: LanguageModel,
    train_iter: Iterable,
    vocab: Vocab,
    lr: float,
    num_epochs: int,
    device: torch.device | str,
    use_random_iter: bool = False,
    *,
    heldout: torch.Tensor | None = None,
) -> History:
    """Train a character-level language model with SGD, cross-entropy and clipping.

    `net` is an `RNNModel` (trained with `torch.optim.SGD`) or an
    `RNNModelScratch` (the book's `sgd`). Every 10 epochs (every tenth of the
    run when shorter, every epoch below 20; always the last) it plots the
    training perplexity and, when there is held-out text (`heldout`, else
    `train_iter.heldout`: the end of the book), the held-out perplexity; a line
    under the plot shows the latest sample. Prints the book's
    `perplexity 1.0, 67212.6 tokens/sec on cuda:0` (training perplexity of the
    last epoch; tokens/sec over the training time of all epochs), the last
    held-out perplexity, and the continuations of 'time traveller' and
    'traveller'. In quick mode it runs a tenth of the epochs (at least 10), and
    the first line says so. Returns a `History`: 'perplexity' (per epoch),
    'heldout_perplexity' at the epochs 'heldout_epoch', 'tokens_per_sec',
    'seconds' (training), 'wall_time' and 'device'.
    """
    device = torch.device(device)
    if heldout is None:
        heldout = getattr(train_iter, "heldout", None)
    legend = ["train"] if heldout is None else ["train", "held-out"]
    report = Report(num_epochs, legend, ylabel="perplexity", device=device, share=True)
    loss = nn.CrossEntropyLoss()
    sample = _LiveText()
    updater: Updater
    if isinstance(net, nn.Module):
        updater = torch.optim.SGD(net.parameters(), lr)
    else:
        updater = lambda batch_size: sgd(net.params, lr, batch_size)  # type: ignore[attr-defined]
    predict = lambda prefix: predict_ch8(prefix, 50, net, vocab, device)
    for epoch in range(report.epochs):
        ppl, n = _train_epoch(net, train_iter, loss, updater, device, use_random_iter, report.timer)
        report.trained_on(n, epoch)
        report.record(perplexity=ppl)
        if report.epoch_due(epoch):
            point = [ppl]
            if heldout is not None:
                point.append(evaluate_perplexity(net, heldout, device))
                report.record(heldout_perplexity=point[-1], heldout_epoch=epoch + 1)
            report.plot(epoch + 1, point)
            sample.update(f"epoch {epoch + 1}: {predict('time traveller')}")
    throughput = report.finish("tokens", str(device))
    lines = []
    if heldout is not None:
        held = report.history["heldout_perplexity"][-1]
        lines.append(f"held-out perplexity {held:.1f} (text never trained on)")
    lines += [predict("time traveller"), predict("traveller")]
    return report.close(f"perplexity {ppl:.1f}, {throughput}", *lines)
