"""Attention scoring and pooling: masked softmax, additive and scaled dot-product
attention, multi-head attention and the sinusoidal positional encoding.

Differences from the book's versions, all in behaviour the book leaves wrong:
- `masked_softmax` gives a row whose valid length is 0 all-zero weights (the
  book's fills with -1e6 and so spreads the weight uniformly over padding), it
  works in float16 and bfloat16 (-1e6 is not a float16 number) and it never
  writes into its input (the book's `sequence_mask` did).
- `PositionalEncoding.P` is a buffer: it is in the `state_dict` and is moved
  and cast with the module by `.to()` / `.half()`; the book's is a plain
  attribute copied to the input's device on every call.
Introduced in 12_attention.ipynb.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

__all__ = [
    "masked_softmax",
    "AdditiveAttention",
    "DotProductAttention",
    "transpose_qkv",
    "transpose_output",
    "MultiHeadAttention",
    "PositionalEncoding",
]


def _valid_mask(valid_lens: torch.Tensor, shape: torch.Size, device: torch.device) -> torch.Tensor:
    """(batch, num_queries, num_keys) bool mask, True where key index < valid length."""
    batch, num_queries, num_keys = shape
    if valid_lens.dim() == 1:
        if valid_lens.shape[0] != batch:
            raise ValueError(
                f"masked_softmax: valid_lens has {valid_lens.shape[0]} entries for a batch of "
                f"{batch}; give one length per sequence, shape ({batch},), or one per query, "
                f"shape ({batch}, {num_queries})"
            )
        lens = valid_lens[:, None, None]
    elif valid_lens.dim() == 2:
        if tuple(valid_lens.shape) != (batch, num_queries):
            raise ValueError(
                f"masked_softmax: valid_lens has shape {tuple(valid_lens.shape)}; a 2-D valid_lens "
                f"gives one length per query, shape ({batch}, {num_queries})"
            )
        lens = valid_lens[:, :, None]
    else:
        raise ValueError(
            f"masked_softmax: valid_lens must be 1-D (batch,) or 2-D (batch, num_queries), "
            f"got shape {tuple(valid_lens.shape)}"
        )
    return torch.arange(num_keys, device=device) < lens.to(device)


def masked_softmax(X: torch.Tensor, valid_lens: torch.Tensor | None) -> torch.Tensor:
    """Softmax over the last axis of X that only looks at the first `valid_lens` keys.

    X: (batch, num_queries, num_keys) scores. valid_lens: None (plain softmax),
    (batch,) one length per sequence, or (batch, num_queries) one per query.
    Returns weights of X's shape and dtype: zero past each valid length, summing
    to 1 over the valid keys; a query with valid length 0 gets all-zero weights
    (its attention output is then 0), not the book's uniform weights over
    padding. Masked scores are replaced by the dtype's most negative number, so
    float16 and bfloat16 work. X is not modified.
    """
    if valid_lens is None:
        return nn.functional.softmax(X, dim=-1)
    if X.dim() != 3:
        raise ValueError(
            f"masked_softmax expects scores of shape (batch, num_queries, num_keys), "
            f"got shape {tuple(X.shape)}"
        )
    mask = _valid_mask(valid_lens, X.shape, X.device)
    filled = X.masked_fill(~mask, torch.finfo(X.dtype).min)
    # softmax gives exp(min - max) = 0 to masked keys whenever a row has a valid key;
    # multiplying by the mask turns rows without one from uniform into zeros
    return nn.functional.softmax(filled, dim=-1) * mask


class AdditiveAttention(nn.Module):
    """Additive attention: score a(q, k) = w_v^T tanh(W_q q + W_k k), no biases.

    forward(queries (batch, num_queries, query_size), keys (batch, num_kv, key_size),
    values (batch, num_kv, value_dim), valid_lens) -> (batch, num_queries, value_dim).
    `attention_weights` (batch, num_queries, num_kv) keeps the last call's weights.
    """

    def __init__(
        self, key_size: int, query_size: int, num_hiddens: int, dropout: float, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        valid_lens: torch.Tensor | None = None,
    ) -> torch.Tensor:
        queries, keys = self.W_q(queries), self.W_k(keys)  # (batch, nq, h), (batch, nk, h)
        # every query with every key: (batch, nq, 1, h) + (batch, 1, nk, h) -> (batch, nq, nk, h)
        features = torch.tanh(queries.unsqueeze(2) + keys.unsqueeze(1))
        scores = self.w_v(features).squeeze(-1)  # (batch, nq, nk)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)


class DotProductAttention(nn.Module):
    """Scaled dot-product attention: softmax(Q K^T / sqrt(d)) V.

    forward(queries (batch, num_queries, d), keys (batch, num_kv, d),
    values (batch, num_kv, value_dim), valid_lens) -> (batch, num_queries, value_dim).
    `attention_weights` (batch, num_queries, num_kv) keeps the last call's weights.
    """

    def __init__(self, dropout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        valid_lens: torch.Tensor | None = None,
    ) -> torch.Tensor:
        d = queries.shape[-1]
        scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(d)  # (batch, nq, nk)
        self.attention_weights = masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)


def transpose_qkv(X: torch.Tensor, num_heads: int) -> torch.Tensor:
    """Split the last axis into heads and fold the heads into the batch axis.

    (batch, n, num_hiddens) -> (batch * num_heads, n, num_hiddens / num_heads);
    rows b * num_heads + h hold head h of sequence b.
    """
    batch, n, num_hiddens = X.shape
    if num_hiddens % num_heads:
        raise ValueError(
            f"num_hiddens={num_hiddens} is not divisible by num_heads={num_heads}; "
            f"each head gets num_hiddens / num_heads features"
        )
    X = X.reshape(batch, n, num_heads, num_hiddens // num_heads)
    X = X.permute(0, 2, 1, 3)  # (batch, num_heads, n, num_hiddens / num_heads)
    return X.reshape(batch * num_heads, n, num_hiddens // num_heads)


def transpose_output(X: torch.Tensor, num_heads: int) -> torch.Tensor:
    """Undo `transpose_qkv`: (batch * num_heads, n, d_head) -> (batch, n, num_heads * d_head)."""
    X = X.reshape(-1, num_heads, X.shape[1], X.shape[2])
    X = X.permute(0, 2, 1, 3)  # (batch, n, num_heads, d_head)
    return X.reshape(X.shape[0], X.shape[1], -1)


class MultiHeadAttention(nn.Module):
    """Multi-head attention: num_heads scaled dot-product attentions on learned
    projections of width num_hiddens / num_heads, concatenated and projected by W_o.

    forward(queries (batch, nq, query_size), keys (batch, nk, key_size),
    values (batch, nk, value_size), valid_lens None, (batch,) or (batch, nq))
    -> (batch, nq, num_hiddens). The heads run as one batched attention
    (`transpose_qkv`); `attention.attention_weights` is (batch * num_heads, nq, nk).
    """

    def __init__(
        self,
        key_size: int,
        query_size: int,
        value_size: int,
        num_hiddens: int,
        num_heads: int,
        dropout: float,
        bias: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if num_hiddens % num_heads:
            raise ValueError(f"num_hiddens={num_hiddens} is not divisible by num_heads={num_heads}")
        self.num_heads = num_heads
        self.attention = DotProductAttention(dropout)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=bias)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=bias)
        self.W_v = nn.Linear(value_size, num_hiddens, bias=bias)
        self.W_o = nn.Linear(num_hiddens, num_hiddens, bias=bias)

    def forward(
        self,
        queries: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
        valid_lens: torch.Tensor | None = None,
    ) -> torch.Tensor:
        queries = transpose_qkv(self.W_q(queries), self.num_heads)
        keys = transpose_qkv(self.W_k(keys), self.num_heads)
        values = transpose_qkv(self.W_v(values), self.num_heads)
        if valid_lens is not None:
            # the same lengths for every head of a sequence: (batch * num_heads, ...)
            valid_lens = torch.repeat_interleave(valid_lens, repeats=self.num_heads, dim=0)
        output = self.attention(queries, keys, values, valid_lens)  # (batch * heads, nq, d_head)
        return self.W_o(transpose_output(output, self.num_heads))


class PositionalEncoding(nn.Module):
    """Add the sinusoidal position encoding P to X, then dropout.

    P[0, i, 2j] = sin(i / 10000**(2j/d)), P[0, i, 2j+1] = cos(i / 10000**(2j/d)),
    a buffer (1, max_len, num_hiddens): saved in the `state_dict`, moved and
    cast by `.to()` and `.half()`. forward(X (batch, num_steps, num_hiddens),
    offset=0) -> same shape: X's step t gets position offset + t (a decoder fed
    one token at a time passes the number of tokens before it); positions must
    stay below max_len.
    """

    P: torch.Tensor

    def __init__(self, num_hiddens: int, dropout: float, max_len: int = 1000) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        i = torch.arange(max_len, dtype=torch.float32).reshape(-1, 1)
        omega = torch.pow(
            10000, -torch.arange(0, num_hiddens, 2, dtype=torch.float32) / num_hiddens
        )
        angles = i * omega  # (max_len, ceil(num_hiddens / 2))
        P = torch.zeros(1, max_len, num_hiddens)
        P[0, :, 0::2] = torch.sin(angles)
        P[0, :, 1::2] = torch.cos(angles[:, : num_hiddens // 2])
        self.register_buffer("P", P)

    def forward(self, X: torch.Tensor, offset: int = 0) -> torch.Tensor:
        end = offset + X.shape[1]
        if end > self.P.shape[1]:
            raise ValueError(
                f"PositionalEncoding: positions up to {end - 1} are needed but max_len is "
                f"{self.P.shape[1]}; build it with max_len >= {end}"
            )
        return self.dropout(X + self.P[:, offset:end, :])
