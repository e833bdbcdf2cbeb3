"""Bahdanau attention: the GRU decoder whose context is an additive-attention
pooling of the encoder states. Its interface, `AttentionDecoder`, is in seq2seq.py
(imported here too, so `from d2lhelpers.bahdanau import AttentionDecoder` works).

The book defines `Seq2SeqAttentionDecoder` in its notebook only; it is here so
that the benchmark and the tests use the notebook's model.
Introduced in 12_attention.ipynb.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .attention import AdditiveAttention
from .seq2seq import AttentionDecoder

__all__ = ["Seq2SeqAttentionDecoder"]


class Seq2SeqAttentionDecoder(AttentionDecoder):
    """GRU decoder with Bahdanau (additive) attention over the encoder's outputs.

    At decoding step t' the query is the top layer of the previous hidden state
    s_{t'-1}; the keys and values are the encoder's top-layer outputs h_1..h_T
    (padding masked by enc_valid_lens); the context c_{t'} is fed to the GRU
    with the token's embedding. State: (enc_outputs (batch, T, num_hiddens),
    hidden_state (num_layers, batch, num_hiddens), enc_valid_lens (batch,)).
    `attention_weights`: one (batch, 1, T) tensor per step of the last call.
    """

    def __init__(
        self,
        vocab_size: int,
        embed_size: int,
        num_hiddens: int,
        num_layers: int,
        dropout: float = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.attention = AdditiveAttention(num_hiddens, num_hiddens, num_hiddens, dropout)
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
        self.dense = nn.Linear(num_hiddens, vocab_size)
        self._attention_weights: list[torch.Tensor] = []

    def init_state(
        self,
        enc_outputs: tuple[torch.Tensor, torch.Tensor],
        enc_valid_lens: torch.Tensor | None = None,
        *args: Any,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        outputs, hidden_state = enc_outputs
        # (T, batch, H) -> (batch, T, H): keys and values for the attention
        return (outputs.permute(1, 0, 2), hidden_state, enc_valid_lens)

    def forward(
        self, X: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]]:
        """X: (batch, num_steps) -> output (batch, num_steps, vocab_size), new state."""
        enc_outputs, hidden_state, enc_valid_lens = state
        X = self.embedding(X).permute(1, 0, 2)  # (num_steps, batch, embed_size)
        outputs, self._attention_weights = [], []
        for x in X:  # x: (batch, embed_size)
            query = hidden_state[-1].unsqueeze(1)  # (batch, 1, num_hiddens)
            context = self.attention(query, enc_outputs, enc_outputs, enc_valid_lens)
            x = torch.cat((context, x.unsqueeze(1)), dim=-1)  # (batch, 1, H + embed_size)
            out, hidden_state = self.rnn(x.permute(1, 0, 2), hidden_state)
            outputs.append(out)
            self._attention_weights.append(self.attention.attention_weights)
        outputs = self.dense(torch.cat(outputs, dim=0))  # (num_steps, batch, vocab_size)
        return outputs.permute(1, 0, 2), (enc_outputs, hidden_state, enc_valid_lens)

    @property
    def attention_weights(self) -> list[torch.Tensor]:
        return self._attention_weights
