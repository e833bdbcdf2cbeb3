"""The Transformer as the book trains it: d2lhelpers' classes against the book's, and
multi-head attention from scratch against torch's fused scaled_dot_product_attention.

Both sides train the chapter's Transformer on the same data with the same
settings (load_data_nmt(64, 10): 600 pairs; num_hiddens 32, 2 layers, 4 heads,
FFN 64, dropout 0.1; Adam, lr 0.005; 200 epochs; CPU), from the same seed, in
one process:
- book: the book's masked_softmax (-1e6 written into the scores in place by
  sequence_mask), DotProductAttention, MultiHeadAttention, PositionalEncoding
  (a plain tensor copied to the input's device on every call), AddNorm,
  PositionWiseFFN, EncoderBlock, TransformerEncoder, and the DecoderBlock /
  TransformerDecoder of its notebook (causal mask only when `self.training`;
  every token of step-by-step prediction encoded at position 0), rebuilt below
  from the book's published algorithm, trained by the book's train_seq2seq and
  decoded by its predict_seq2seq (both from bench_seq2seq.py);
- d2lhelpers: d2l.TransformerEncoder / TransformerDecoder with d2l.train_seq2seq
  and d2l.predict_seq2seq.
Training as in bench_seq2seq.py: epoch by epoch in turn (--sequential: one
side after the other); throughput = all training target tokens / all time in
the epochs' batch loops.
Then the forward and backward pass of one multi-head attention layer on a batch
of the book's shapes (64 sequences, 10 steps, 32 hiddens, 4 heads, valid
lengths masked): d2l.MultiHeadAttention (its DotProductAttention written out)
against the same layer whose heads call F.scaled_dot_product_attention; the two
outputs are checked equal first.
Goal: tokens/sec ratio d2lhelpers / book >= 1.0; mean BLEU of the four
sentences >= the book pipeline's.
"""

from __future__ import annotations

import math
import statistics
import time

import torch
from _common import machine
from bench_seq2seq import (
    ENGS,
    BookEncoderDecoder,
    book_predict_seq2seq,
    book_sequence_mask,
    parse_args,
    train_both,
    translations,
)
from torch import nn
from torch.nn import functional as F

import d2lhelpers as d2l

# --- the book's Transformer, rebuilt from its published algorithm ----------------------------


def book_masked_softmax(X, valid_lens):
    """Scores past the valid length become -1e6 (in place, through a reshaped view), then softmax."""
    if valid_lens is None:
        return F.softmax(X, dim=-1)
    shape = X.shape
    if valid_lens.dim() == 1:
        valid_lens = torch.repeat_interleave(valid_lens, shape[1])
    else:
        valid_lens = valid_lens.reshape(-1)
    X = book_sequence_mask(X.reshape(-1, shape[-1]), valid_lens, value=-1e6)
    return F.softmax(X.reshape(shape), dim=-1)


class BookDotProductAttention(nn.Module):
    def __init__(self, dropout):
        super().__init__()
        self.dropout = nn.Dropout(dropout)

    def forward(self, queries, keys, values, valid_lens=None):
        scores = torch.bmm(queries, keys.transpose(1, 2)) / math.sqrt(queries.shape[-1])
        self.attention_weights = book_masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)


class BookMultiHeadAttention(nn.Module):
    def __init__(
        self, key_size, query_size, value_size, num_hiddens, num_heads, dropout, bias=False
    ):
        super().__init__()
        self.num_heads = num_heads
        self.attention = BookDotProductAttention(dropout)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=bias)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=bias)
        self.W_v = nn.Linear(value_size, num_hiddens, bias=bias)
        self.W_o = nn.Linear(num_hiddens, num_hiddens, bias=bias)

    def forward(self, queries, keys, values, valid_lens):
        queries = d2l.transpose_qkv(self.W_q(queries), self.num_heads)
        keys = d2l.transpose_qkv(self.W_k(keys), self.num_heads)
        values = d2l.transpose_qkv(self.W_v(values), self.num_heads)
        if valid_lens is not None:
            valid_lens = torch.repeat_interleave(valid_lens, repeats=self.num_heads, dim=0)
        output = self.attention(queries, keys, values, valid_lens)
        return self.W_o(d2l.transpose_output(output, self.num_heads))


class BookPositionalEncoding(nn.Module):
    """P is a plain attribute: not in the state_dict, copied to X's device on every call."""

    def __init__(self, num_hiddens, dropout, max_len=1000):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.P = torch.zeros((1, max_len, num_hiddens))
        angles = torch.arange(max_len, dtype=torch.float32).reshape(-1, 1) / torch.pow(
            10000, torch.arange(0, num_hiddens, 2, dtype=torch.float32) / num_hiddens
        )
        self.P[:, :, 0::2] = torch.sin(angles)
        self.P[:, :, 1::2] = torch.cos(angles)

    def forward(self, X):
        return self.dropout(X + self.P[:, : X.shape[1], :].to(X.device))


class BookEncoderBlock(nn.Module):
    def __init__(self, num_hiddens, ffn_num_hiddens, num_heads, dropout):
        super().__init__()
        h = num_hiddens
        self.attention = BookMultiHeadAttention(h, h, h, h, num_heads, dropout)
        self.addnorm1 = d2l.AddNorm([h], dropout)
        self.ffn = d2l.PositionWiseFFN(h, ffn_num_hiddens, h)
        self.addnorm2 = d2l.AddNorm([h], dropout)

    def forward(self, X, valid_lens):
        Y = self.addnorm1(X, self.attention(X, X, X, valid_lens))
        return self.addnorm2(Y, self.ffn(Y))


class BookTransformerEncoder(nn.Module):
    def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens, num_heads, num_layers, dropout):
        super().__init__()
        self.num_hiddens = num_hiddens
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = BookPositionalEncoding(num_hiddens, dropout)
        self.blks = nn.Sequential(
            *[
                BookEncoderBlock(num_hiddens, ffn_num_hiddens, num_heads, dropout)
                for _ in range(num_layers)
            ]
        )

    def forward(self, X, valid_lens, *args):
        X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens))
        for blk in self.blks:
            X = blk(X, valid_lens)
        return X


class BookDecoderBlock(nn.Module):
    """The notebook's decoder block: the causal mask exists only in training mode."""

    def __init__(self, num_hiddens, ffn_num_hiddens, num_heads, dropout, i):
        super().__init__()
        h, self.i = num_hiddens, i
        self.attention1 = BookMultiHeadAttention(h, h, h, h, num_heads, dropout)
        self.addnorm1 = d2l.AddNorm([h], dropout)
        self.attention2 = BookMultiHeadAttention(h, h, h, h, num_heads, dropout)
        self.addnorm2 = d2l.AddNorm([h], dropout)
        self.ffn = d2l.PositionWiseFFN(h, ffn_num_hiddens, h)
        self.addnorm3 = d2l.AddNorm([h], dropout)

    def forward(self, X, state):
        enc_outputs, enc_valid_lens = state[0], state[1]
        if state[2][self.i] is None:
            key_values = X
        else:
            key_values = torch.cat((state[2][self.i], X), dim=1)
        state[2][self.i] = key_values
        if self.training:
            batch_size, num_steps, _ = X.shape
            dec_valid_lens = torch.arange(1, num_steps + 1, device=X.device).repeat(batch_size, 1)
        else:
            dec_valid_lens = None
        Y = self.addnorm1(X, self.attention1(X, key_values, key_values, dec_valid_lens))
        Z = self.addnorm2(Y, self.attention2(Y, enc_outputs, enc_outputs, enc_valid_lens))
        return self.addnorm3(Z, self.ffn(Z)), state


class BookTransformerDecoder(nn.Module):
    def __init__(self, vocab_size, num_hiddens, ffn_num_hiddens, num_heads, num_layers, dropout):
        super().__init__()
        self.num_hiddens, self.num_layers = num_hiddens, num_layers
        self.embedding = nn.Embedding(vocab_size, num_hiddens)
        self.pos_encoding = BookPositionalEncoding(num_hiddens, dropout)
        self.blks = nn.Sequential(
            *[
                BookDecoderBlock(num_hiddens, ffn_num_hiddens, num_heads, dropout, i)
                for i in range(num_layers)
            ]
        )
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def init_state(self, enc_outputs, enc_valid_lens, *args):
        return [enc_outputs, enc_valid_lens, [None] * self.num_layers]

    def forward(self, X, state):
        X = self.pos_encoding(self.embedding(X) * math.sqrt(self.num_hiddens))
        for blk in self.blks:
            X, state = blk(X, state)
        return self.dense(X), state


# --- multi-head attention: written out against the fused kernel ------------------------------


class SDPAMultiHeadAttention(d2l.MultiHeadAttention):
    """d2l.MultiHeadAttention whose heads call F.scaled_dot_product_attention (no dropout, no weights kept)."""

    def forward(self, queries, keys, values, valid_lens=None):
        q = d2l.transpose_qkv(self.W_q(queries), self.num_heads)
        k = d2l.transpose_qkv(self.W_k(keys), self.num_heads)
        v = d2l.transpose_qkv(self.W_v(values), self.num_heads)
        mask = None
        if valid_lens is not None:
            lens = torch.repeat_interleave(valid_lens, repeats=self.num_heads, dim=0)
            mask = torch.arange(k.shape[1])[None, None, :] < lens[:, None, None]
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.W_o(d2l.transpose_output(out, self.num_heads))


def time_attention(repeats: int) -> dict[str, float]:
    """Median seconds of one forward + backward of each layer, interleaved over repeats."""
    torch.manual_seed(0)
    h, heads = 32, 4
    written = d2l.MultiHeadAttention(h, h, h, h, heads, 0.0)
    fused = SDPAMultiHeadAttention(h, h, h, h, heads, 0.0)
    fused.load_state_dict(written.state_dict())
    X = torch.randn(64, 10, h, requires_grad=True)
    valid_lens = torch.randint(1, 11, (64,))
    assert torch.allclose(written(X, X, X, valid_lens), fused(X, X, X, valid_lens), atol=1e-5)
    layers = {"written out": written, "fused SDPA": fused}
    samples = {name: [] for name in layers}
    for _ in range(repeats):
        for name, layer in layers.items():
            start = time.perf_counter()
            layer(X, X, X, valid_lens).sum().backward()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) for name, s in samples.items()}


def main() -> None:
    args = parse_args(__doc__.split("\n")[0], 200, 300, "multi-head attention timings")
    print(f"machine: {machine()}")
    num_hiddens, num_layers, dropout, batch_size, num_steps = 32, 2, 0.1, 64, 10
    lr, ffn_num_hiddens, num_heads = 0.005, 64, 4
    train_iter, src_vocab, tgt_vocab = d2l.load_data_nmt(batch_size, num_steps)
    device = torch.device("cpu")
    h = num_hiddens

    def book_model():
        d2l.set_seed(0)
        return BookEncoderDecoder(
            BookTransformerEncoder(
                len(src_vocab), h, ffn_num_hiddens, num_heads, num_layers, dropout
            ),
            BookTransformerDecoder(
                len(tgt_vocab), h, ffn_num_hiddens, num_heads, num_layers, dropout
            ),
        )

    def our_model():
        d2l.set_seed(0)
        sizes = (h, h, h, h, [h], h, ffn_num_hiddens, num_heads, num_layers, dropout)
        return d2l.EncoderDecoder(
            d2l.TransformerEncoder(len(src_vocab), *sizes),
            d2l.TransformerDecoder(len(tgt_vocab), *sizes),
        )

    print(f"{args.epochs} epochs, 600 pairs, batch {batch_size}, {num_steps} steps")
    book, ours = train_both(
        book_model, our_model, train_iter, lr, args.epochs, tgt_vocab, device, args.sequential
    )

    book_out = translations(
        lambda s: book_predict_seq2seq(book, s, src_vocab, tgt_vocab, num_steps, device)
    )
    our_out = translations(
        lambda s: d2l.predict_seq2seq(ours, s, src_vocab, tgt_vocab, num_steps, device)[0]
    )
    for eng, (bp, bb), (op, ob) in zip(ENGS, book_out, our_out, strict=True):
        print(f"  {eng:12s} book: {bp:22s} bleu {bb:.3f} | d2lhelpers: {op:22s} bleu {ob:.3f}")
    book_mean = statistics.mean(b for _, b in book_out)
    our_mean = statistics.mean(b for _, b in our_out)
    verdict = "met" if our_mean >= book_mean else "not met"
    print(f"mean BLEU: book {book_mean:.3f}, d2lhelpers {our_mean:.3f} (goal >= book: {verdict})")

    times = time_attention(args.repeats)
    written, fused = times["written out"], times["fused SDPA"]
    print(
        f"multi-head attention, forward + backward on (64, 10, 32), 4 heads: written out "
        f"{written * 1e3:.3f} ms, fused SDPA {fused * 1e3:.3f} ms (fused / written {fused / written:.2f})"
    )


if __name__ == "__main__":
    main()
