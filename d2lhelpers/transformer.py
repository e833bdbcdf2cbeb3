"""The Transformer: position-wise FFN, add & norm, encoder and decoder blocks, encoder and decoder.

The decoder differs from the book's notebook in two places, both decided by
what the decoder is given rather than by `self.training`:
- causal masking: a block attends from each given token to the tokens cached
  from earlier calls and the given tokens up to itself, in training and in eval
  mode alike (the book masks only when `self.training`, so a teacher-forced
  loss computed in `eval()` sees the future);
- positions: the tokens given now are encoded at positions that follow the
  cached ones (the book encodes every token of step-by-step prediction at
  position 0, while training used positions 0, 1, 2, ...).
So decoding one token at a time gives the same outputs as decoding the whole
sequence at once. Introduced in 12_attention.ipynb.
"""

from __future__ import annotations

import math
from typing import Any, cast

import torch
from torch import nn

from .attention import MultiHeadAttention, PositionalEncoding
from .seq2seq import AttentionDecoder, Encoder

__all__ = [
    "PositionWiseFFN",
    "AddNorm",
    "EncoderBlock",
    "TransformerEncoder",
    "DecoderBlock",
    "TransformerDecoder",
]


class PositionWiseFFN(nn.Module):
    """The same two-layer MLP at every position: (batch, n, ffn_num_input) -> (batch, n, ffn_num_outputs)."""

    def __init__(
        self, ffn_num_input: int, ffn_num_hiddens: int, ffn_num_outputs: int, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.dense1 = nn.Linear(ffn_num_input, ffn_num_hiddens)
        self.relu = nn.ReLU()
        self.dense2 = nn.Linear(ffn_num_hiddens, ffn_num_outputs)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.dense2(self.relu(self.dense1(X)))


class AddNorm(nn.Module):
    """Residual connection then layer norm: LayerNorm(dropout(Y) + X); X, Y of the same shape."""

    def __init__(
        self, normalized_shape: int | list[int] | torch.Size, dropout: float, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.dropout = nn.Dropout(dropout)
        self.ln = nn.LayerNorm(normalized_shape)

    def forward(self, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
        return self.ln(self.dropout(Y) + X)


class EncoderBlock(nn.Module):
    """Multi-head self-attention and a position-wise FFN, each followed by add & norm.

    forward(X (batch, n, num_hiddens), valid_lens (batch,) or None) -> (batch, n, num_hiddens).
    """

    def __init__(
        self,
        key_size: int,
        query_size: int,
        value_size: int,
        num_hiddens: int,
        norm_shape: int | list[int] | torch.Size,
        ffn_num_input: int,
        ffn_num_hiddens: int,
        num_heads: int,
        dropout: float,
        use_bias: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.attention = MultiHeadAttention(
            key_size, query_size, value_size, num_hiddens, num_heads, dropout, use_bias
        )
        self.addnorm1 = AddNorm(norm_shape, dropout)
        self.ffn = PositionWiseFFN(ffn_num_input, ffn_num_hiddens, num_hiddens)
        self.addnorm2 = AddNorm(norm_shape, dropout)

    def forward(self, X: torch.Tensor, valid_lens: torch.Tensor | None) -> torch.Tensor:
        Y = self.addnorm1(X, self.attention(X, X, X, valid_lens))
        return self.addnorm2(Y, self.ffn(Y))


class TransformerEncoder(Encoder):
    """Embedding scaled by sqrt(num_hiddens), positional encoding, num_layers encoder blocks.

    forward(X (batch, n) token indices, valid_lens (batch,)) -> (batch, n, num_hiddens).
    `attention_weights[i]`: block i's self-attention weights, (batch * num_heads, n, n).
    """

    def __init__(
        self,
        vocab_size: int,
        key_size: int,
        query_size: int,
        value_size: int,
        num_hiddens: int,
        norm_shape: int | list[int] | torch.Size,
        ffn_num_input: int,
        ffn_num_hiddens: int,
        num_heads: int,
        num_layers: int,
        dropout: float,
        use_bias: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_hiddens = num_hiddens
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
        self.blks = nn.Sequential()
        for i in range(num_layers):
            self.blks.add_module(
                f"block{i}",
                EncoderBlock(
                    key_size,
                    query_size,
                    value_size,
                    num_hiddens,
                    norm_shape,
                    ffn_num_input,
                    ffn_num_hiddens,
                    num_heads,
                    dropout,
                    use_bias,
                ),
            )
        self.attention_weights: list[torch.Tensor | None] = [None] * num_layers

    def forward(self, X: torch.Tensor, valid_lens: torch.Tensor | None, *args: Any) -> torch.Tensor:
        # the embedding is scaled up so that it is not drowned by the encoding in [-1, 1]
        X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens))
        for i, blk in enumerate(self.blks):
            X = blk(X, valid_lens)
            self.attention_weights[i] = cast(
                EncoderBlock, blk
            ).attention.attention.attention_weights
        return X


def _cached_len(cache: torch.Tensor | None) -> int:
    return 0 if cache is None else cache.shape[1]


class DecoderBlock(nn.Module):
    """The i-th decoder block: masked self-attention, encoder-decoder attention, FFN,
    each followed by add & norm.

    forward(X (batch, n, num_hiddens), state) -> (output (batch, n, num_hiddens), state).
    state = [enc_outputs (batch, T, num_hiddens), enc_valid_lens (batch,),
    cache], where cache[i] holds this block's inputs of earlier calls
    (batch, c, num_hiddens) or None. The given tokens attend to the c cached
    ones and to the given ones up to themselves (causal mask in every mode);
    the given tokens are appended to cache[i].
    """

    def __init__(
        self,
        key_size: int,
        query_size: int,
        value_size: int,
        num_hiddens: int,
        norm_shape: int | list[int] | torch.Size,
        ffn_num_input: int,
        ffn_num_hiddens: int,
        num_heads: int,
        dropout: float,
        i: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.i = i
        self.attention1 = MultiHeadAttention(
            key_size, query_size, value_size, num_hiddens, num_heads, dropout
        )
        self.addnorm1 = AddNorm(norm_shape, dropout)
        self.attention2 = MultiHeadAttention(
            key_size, query_size, value_size, num_hiddens, num_heads, dropout
        )
        self.addnorm2 = AddNorm(norm_shape, dropout)
        self.ffn = PositionWiseFFN(ffn_num_input, ffn_num_hiddens, num_hiddens)
        self.addnorm3 = AddNorm(norm_shape, dropout)

    def forward(self, X: torch.Tensor, state: list) -> tuple[torch.Tensor, list]:
        enc_outputs, enc_valid_lens = state[0], state[1]
        cache = state[2][self.i]
        num_cached = _cached_len(cache)
        key_values = X if cache is None else torch.cat((cache, X), dim=1)
        state[2][self.i] = key_values
        batch_size, num_given, _ = X.shape
        # given token j (0-based) sees the cached tokens and given tokens 0..j
        dec_valid_lens = num_cached + torch.arange(1, num_given + 1, device=X.device)
        dec_valid_lens = dec_valid_lens.repeat(batch_size, 1)  # (batch, num_given)
        X2 = self.attention1(X, key_values, key_values, dec_valid_lens)
        Y = self.addnorm1(X, X2)
        # encoder-decoder attention: queries from the self-attention sublayer
        Y2 = self.attention2(Y, enc_outputs, enc_outputs, enc_valid_lens)
        Z = self.addnorm2(Y, Y2)
        return self.addnorm3(Z, self.ffn(Z)), state


class TransformerDecoder(AttentionDecoder):
    """Embedding scaled by sqrt(num_hiddens), positional encoding, num_layers decoder blocks, dense.

    init_state(enc_outputs, enc_valid_lens) -> [enc_outputs, enc_valid_lens, [None] * num_layers].
    forward(X (batch, n), state) -> (output (batch, n, vocab_size), state); the n
    tokens are placed after those of earlier calls on the same state, so feeding
    a sequence whole or one token at a time gives the same outputs.
    `attention_weights`: [self-attention weights per block, encoder-decoder
    weights per block], each (batch * num_heads, n, keys).
    """

    def __init__(
        self,
        vocab_size: int,
        key_size: int,
        query_size: int,
        value_size: int,
        num_hiddens: int,
        norm_shape: int | list[int] | torch.Size,
        ffn_num_input: int,
        ffn_num_hiddens: int,
        num_heads: int,
        num_layers: int,
        dropout: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.num_hiddens = num_hiddens
        self.num_layers = num_layers
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = PositionalEncoding(num_hiddens, dropout)
        self.blks = nn.Sequential()
        for i in range(num_layers):
            self.blks.add_module(
                f"block{i}",
                DecoderBlock(
                    key_size,
                    query_size,
                    value_size,
                    num_hiddens,
                    norm_shape,
                    ffn_num_input,
                    ffn_num_hiddens,
                    num_heads,
                    dropout,
                    i,
                ),
            )
        self.dense = nn.Linear(num_hiddens, vocab_size)
        self._attention_weights: list[list[torch.Tensor | None]] = [
            [None] * num_layers for _ in range(2)
        ]

    def init_state(
        self, enc_outputs: torch.Tensor, enc_valid_lens: torch.Tensor | None = None, *args: Any
    ) -> list:
        return [enc_outputs, enc_valid_lens, [None] * self.num_layers]

    def forward(self, X: torch.Tensor, state: list) -> tuple[torch.Tensor, list]:
        offset = _cached_len(state[2][0])  # tokens given in earlier calls
        X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens), offset)
        self._attention_weights = [[None] * len(self.blks) for _ in range(2)]
        for i, blk in enumerate(self.blks):
            X, state = blk(X, state)
            block = cast(DecoderBlock, blk)
            self._attention_weights[0][i] = block.attention1.attention.attention_weights
            self._attention_weights[1][i] = block.attention2.attention.attention_weights
        return self.dense(X), state

    @property
    def attention_weights(self) -> list[list[torch.Tensor | None]]:
        return self._attention_weights
