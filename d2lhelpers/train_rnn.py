"""Training recurrent language models: `grad_clipping`, `train_epoch_ch8`, `train_ch8`.

`train_ch8` trains an `RNNModel` or an `RNNModelScratch` with SGD, cross-entropy
and gradient clipping, as the book does, draws the perplexity live, prints the
book's lines and returns a `History`. Beyond the book it also measures the
perplexity on held-out text (the end of The Time Machine, never trained on),
so memorising the 10,000 training characters (perplexity near 1) can be told
from modelling English, and its tokens/sec covers every epoch, not just the last.
Introduced in 10_rnn.ipynb; reused by 11_modern_rnn.ipynb.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
from torch import nn
from torch.nn import functional as F

from .animator import Animator
from .history import History
from .linear import sgd
from .metrics import Accumulator, eval_mode
from .quick import quick_share_epochs
from .rnn import State, predict_ch8
from .text import Vocab
from .timing import Timer

__all__ = ["grad_clipping", "train_epoch_ch8", "evaluate_perplexity", "train_ch8"]


def _parameters(net) -> list[torch.Tensor]:
    if isinstance(net, nn.Module):
        return [p for p in net.parameters() if p.requires_grad]
    return list(net.params)


def grad_clipping(net, theta: float) -> float:
    """Scale all gradients together so that their global L2 norm is at most `theta`.

    g <- min(1, theta / ||g||) g, where g joins the gradients of every parameter
    of `net` (an `nn.Module`, or a scratch model's `net.params`). Parameters
    without a gradient are skipped. Returns the norm before clipping.
    """
    grads = [p.grad for p in _parameters(net) if p.grad is not None]
    if not grads:
        return 0.0
    norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
    if norm > theta:
        scale = theta / norm
        for g in grads:
            g.mul_(scale)
    return float(norm)


def _detach(state: State) -> State:
    """Cut the graph at the state: gradients stop at the start of the minibatch."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(s.detach() for s in state)


def train_epoch_ch8(
    net,
    train_iter: Iterable,
    loss: Callable,
    updater: torch.optim.Optimizer | Callable[..., None],
    device: torch.device,
    use_random_iter: bool,
) -> tuple[float, float]:
    """Train one epoch; return (training perplexity, tokens per second).

    X, Y: (batch_size, num_steps). With random sampling the state starts at zero
    for every minibatch; with sequential partitioning it carries over, detached
    (truncated backpropagation through time). Gradients are clipped to norm 1.
    """
    ppl, num_tokens, seconds = _train_epoch(net, train_iter, loss, updater, device, use_random_iter)
    return ppl, num_tokens / seconds if seconds else 0.0


def _train_epoch(net, train_iter, loss, updater, device, use_random_iter):
    """One epoch of `train_epoch_ch8`; returns (perplexity, tokens, seconds)."""
    state, timer = None, Timer()
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
            grad_clipping(net, 1)
            updater.step()
        else:
            l.backward()
            grad_clipping(net, 1)
            updater(batch_size=1)  # the loss is already a mean
        metric.add(float(l.detach()) * y.numel(), y.numel())
    seconds = timer.stop()
    ppl = math.exp(metric[0] / metric[1]) if metric[1] else math.nan
    return ppl, metric[1], seconds


def evaluate_perplexity(
    net, corpus: torch.Tensor, device: torch.device, num_steps: int = 35, num_streams: int = 50
) -> float:
    """Perplexity of `net` on a token sequence, read from left to right.

    corpus: 1-D tensor of token indices, cut into `num_streams` contiguous
    streams read side by side, `num_steps` tokens at a time, the state carried
    along (as in sequential partitioning). Eval mode, no gradients.
    """
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
        self._handle = None

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
    net,
    train_iter: Iterable,
    vocab: Vocab,
    lr: float,
    num_epochs: int,
    device: torch.device,
    use_random_iter: bool = False,
    *,
    heldout: torch.Tensor | None = None,
) -> History:
    """Train a character-level language model with SGD, cross-entropy and clipping.

    `net` is an `RNNModel` (trained with `torch.optim.SGD`) or an
    `RNNModelScratch` (the book's `sgd`). Every 10 epochs (every tenth of the
    run when shorter) it plots the training perplexity and, when there is
    held-out text (`heldout`, else `train_iter.heldout`: the end of the book),
    the held-out perplexity; a line under the plot shows the latest sample.
    Prints the book's `perplexity 1.0, 67212.6 tokens/sec on cuda:0` (training
    perplexity of the last epoch; tokens/sec over the training time of all
    epochs), the last held-out perplexity, and the continuations of
    'time traveller' and 'traveller'. In quick mode it runs a tenth of the epochs.
    Returns a `History`: 'perplexity' (per epoch), 'heldout_perplexity' at the
    epochs 'heldout_epoch', 'tokens_per_sec', 'seconds' (training) and 'device'.
    """
    epochs = quick_share_epochs(num_epochs)
    device = torch.device(device)
    if heldout is None:
        heldout = getattr(train_iter, "heldout", None)
    loss = nn.CrossEntropyLoss()
    legend = ["train"] if heldout is None else ["train", "held-out"]
    step = max(1, min(10, epochs // 10))  # epochs between plotted points (the book: 10)
    xlim = [step, epochs] if epochs > step else None
    animator = Animator(xlabel="epoch", ylabel="perplexity", legend=legend, xlim=xlim)
    sample = _LiveText()
    if isinstance(net, nn.Module):
        updater = torch.optim.SGD(net.parameters(), lr)
    else:
        updater = lambda batch_size: sgd(net.params, lr, batch_size)
    predict = lambda prefix: predict_ch8(prefix, 50, net, vocab, device)
    history = History(perplexity=[])
    if heldout is not None:
        history.update(heldout_perplexity=[], heldout_epoch=[])
    tokens, seconds = 0.0, 0.0
    for epoch in range(epochs):
        ppl, n, t = _train_epoch(net, train_iter, loss, updater, device, use_random_iter)
        tokens, seconds = tokens + n, seconds + t
        history["perplexity"].append(ppl)
        if (epoch + 1) % step == 0 or epoch + 1 == epochs:
            point = [ppl]
            if heldout is not None:
                point.append(evaluate_perplexity(net, heldout, device))
                history["heldout_perplexity"].append(point[-1])
                history["heldout_epoch"].append(epoch + 1)
            animator.add(epoch + 1, point)
            sample.update(f"epoch {epoch + 1}: {predict('time traveller')}")
    history.update(tokens_per_sec=tokens / seconds if seconds else 0.0, seconds=seconds)
    history["device"] = str(device)
    if not epochs:
        return history
    note = f" (quick mode: {epochs} of {num_epochs} epochs)" if epochs < num_epochs else ""
    print(
        f"perplexity {history['perplexity'][-1]:.1f}, "
        f"{history['tokens_per_sec']:.1f} tokens/sec on {device}{note}"
    )
    if heldout is not None:
        print(
            f"held-out perplexity {history['heldout_perplexity'][-1]:.1f} (text never trained on)"
        )
    print(predict("time traveller"))
    print(predict("traveller"))
    return history
