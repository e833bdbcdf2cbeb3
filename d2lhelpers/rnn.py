"""Recurrent language models: `RNNModelScratch`, `RNNModel` and `predict_ch8`.

`RNNModelScratch` wraps from-scratch parameters and a step function (the GRU
and LSTM of chapter 11 reuse it with their own); `RNNModel` wraps a `torch.nn`
recurrent layer (RNN, GRU, LSTM, several layers, bidirectional). Both map
X (batch_size, num_steps) of token indices to logits (num_steps * batch_size,
vocab_size) and a new state. Trained by `train_ch8` (train_rnn.py).
Introduced in 10_rnn.ipynb; reused by 11_modern_rnn.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch
from torch import nn
from torch.nn import functional as F

from .metrics import eval_mode
from .text import Vocab

__all__ = ["RNNModelScratch", "RNNModel", "predict_ch8"]

#: A recurrent state: one tensor, or a tuple of them (scratch models, LSTM (h, c)).
State = torch.Tensor | tuple[torch.Tensor, ...]


class LanguageModel(Protocol):
    """What `predict_ch8` needs of a model: `RNNModelScratch`, `RNNModel` or one of their own."""

    def __call__(self, X: torch.Tensor, state: State, /) -> tuple[torch.Tensor, State]: ...

    def begin_state(self, *, batch_size: int, device: torch.device) -> State: ...


class RNNModelScratch:
    """A recurrent network from scratch: parameters from `get_params`, a step function.

    get_params(vocab_size, num_hiddens, device) -> list of tensors;
    init_state(batch_size, num_hiddens, device) -> tuple of (batch_size, num_hiddens) tensors;
    forward_fn(inputs, state, params) -> (outputs, state), with inputs one-hot
    (num_steps, batch_size, vocab_size) and outputs (num_steps * batch_size, vocab_size).
    Calling the model on X (batch_size, num_steps) of token indices one-hot encodes X.T.
    """

    def __init__(
        self,
        vocab_size: int,
        num_hiddens: int,
        device: torch.device,
        get_params: Callable,
        init_state: Callable,
        forward_fn: Callable,
    ) -> None:
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = get_params(vocab_size, num_hiddens, device)
        self.init_state, self.forward_fn = init_state, forward_fn

    def __call__(self, X: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        # (batch_size, num_steps) -> (num_steps, batch_size, vocab_size)
        X = F.one_hot(X.T, self.vocab_size).type(torch.float32)
        return self.forward_fn(X, state, self.params)

    def begin_state(self, batch_size: int, device: torch.device) -> State:
        """The initial state for a batch of `batch_size` sequences."""
        return self.init_state(batch_size, self.num_hiddens, device)

    def parameters(self) -> list[torch.Tensor]:
        """The parameter tensors (so that `grad_clipping` and optimisers find them)."""
        return self.params


class RNNModel(nn.Module):
    """A language model around a `torch.nn` recurrent layer: one-hot in, logits out.

    rnn_layer: `nn.RNN`, `nn.GRU` or `nn.LSTM` (sequence-first), any number of
    layers, possibly bidirectional. X (batch_size, num_steps) -> outputs
    (num_steps * batch_size, vocab_size) and the new state.
    """

    def __init__(self, rnn_layer: nn.RNNBase, vocab_size: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.num_hiddens = self.rnn.hidden_size
        self.num_directions = 2 if self.rnn.bidirectional else 1
        self.linear = nn.Linear(self.num_hiddens * self.num_directions, self.vocab_size)

    def forward(self, inputs: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        X = F.one_hot(inputs.T.long(), self.vocab_size).type(torch.float32)  # (T, B, vocab_size)
        Y, state = self.rnn(X, state)  # Y: (T, B, num_directions * num_hiddens)
        output = self.linear(Y.reshape((-1, Y.shape[-1])))  # (T * B, vocab_size)
        return output, state

    def begin_state(self, device: torch.device, batch_size: int = 1) -> State:
        """Zeros of shape (num_directions * num_layers, batch_size, num_hiddens);
        a pair (h, c) of them for an LSTM."""
        shape = (self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens)
        if isinstance(self.rnn, nn.LSTM):
            return (torch.zeros(shape, device=device), torch.zeros(shape, device=device))
        return torch.zeros(shape, device=device)


def predict_ch8(
    prefix: str, num_preds: int, net: LanguageModel, vocab: Vocab, device: torch.device
) -> str:
    """Continue `prefix` by `num_preds` characters, always taking the most likely one.

    The prefix first warms the state up (its predictions are ignored). Runs in
    eval mode without gradients.
    """
    with eval_mode(net):
        state = net.begin_state(batch_size=1, device=device)
        outputs = [vocab[prefix[0]]]
        for y in prefix[1:]:  # warm-up: update the state, keep the true next character
            _, state = net(torch.tensor([[outputs[-1]]], device=device), state)
            outputs.append(vocab[y])
        for _ in range(num_preds):  # predict num_preds steps
            logits, state = net(torch.tensor([[outputs[-1]]], device=device), state)
            outputs.append(int(logits.argmax(dim=1).reshape(1)))
    return "".join(vocab.idx_to_token[i] for i in outputs)
