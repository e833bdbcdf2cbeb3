"""Attention: masked softmax, scoring functions and multi-head attention against torch
and hand computations; the positional encoding against its formula."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import d2lhelpers as d2l


def _reference_softmax(X, valid_lens):
    """torch.softmax with -inf past each valid length; all-masked rows -> 0."""
    batch, nq, nk = X.shape
    lens = valid_lens[:, None].expand(batch, nq) if valid_lens.dim() == 1 else valid_lens
    keep = torch.arange(nk)[None, None, :] < lens[:, :, None]
    out = torch.softmax(X.float().masked_fill(~keep, float("-inf")), dim=-1)
    return torch.nan_to_num(out, nan=0.0)


@pytest.mark.parametrize(
    "valid_lens",
    [torch.tensor([2, 3, 4]), torch.tensor([[1, 4], [2, 3], [4, 4]]), torch.tensor([0, 1, 4])],
)
def test_masked_softmax_against_torch_softmax_with_minus_inf(valid_lens):
    torch.manual_seed(0)
    X = torch.randn(3, 2, 4) * 3
    before = X.clone()
    out = d2l.masked_softmax(X, valid_lens)
    assert torch.allclose(out, _reference_softmax(X, valid_lens), atol=1e-6)
    assert torch.equal(X, before)  # the caller's scores are left alone


def test_masked_softmax_valid_length_zero_gives_zero_weights_and_finite_gradients():
    X = torch.randn(2, 3, 5, requires_grad=True)
    out = d2l.masked_softmax(X, torch.tensor([0, 2]))
    assert out[0].eq(0).all()  # the book's gives 1/5 everywhere here
    assert torch.allclose(out[1].sum(-1), torch.ones(3))
    (out * torch.randn_like(out)).sum().backward()
    assert torch.isfinite(X.grad).all() and X.grad[0].eq(0).all()


def test_masked_softmax_without_lengths_is_softmax():
    X = torch.randn(2, 3, 4)
    assert torch.allclose(d2l.masked_softmax(X, None), torch.softmax(X, dim=-1))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_masked_softmax_half_precision(dtype):
    torch.manual_seed(0)
    X = torch.randn(4, 3, 6) * 4
    valid_lens = torch.tensor([0, 1, 3, 6])
    out = d2l.masked_softmax(X.to(dtype), valid_lens)
    assert out.dtype == dtype and torch.isfinite(out).all()
    ref = _reference_softmax(X.to(dtype).float(), valid_lens)
    assert torch.allclose(out.float(), ref, atol=1e-2)
    assert out[0].eq(0).all() and out[1, :, 1:].eq(0).all()


def test_masked_softmax_rejects_lengths_of_the_wrong_shape():
    X = torch.randn(2, 3, 4)
    with pytest.raises(ValueError, match=r"valid_lens has 3 entries for a batch of 2"):
        d2l.masked_softmax(X, torch.tensor([1, 2, 3]))
    with pytest.raises(ValueError, match=r"one length per query, shape \(2, 3\)"):
        d2l.masked_softmax(X, torch.ones(2, 4, dtype=torch.long))


def _book_demo_inputs(query_size):
    torch.manual_seed(0)
    queries = torch.normal(0, 1, (2, 1, query_size))
    keys = torch.ones((2, 10, 2))
    values = torch.arange(40, dtype=torch.float32).reshape(1, 10, 4).repeat(2, 1, 1)
    return queries, keys, values, torch.tensor([2, 6])


def test_scoring_functions_on_the_books_deterministic_demo():
    expected = torch.tensor([[[2.0, 3.0, 4.0, 5.0]], [[10.0, 11.0, 12.0, 13.0]]])
    additive = d2l.AdditiveAttention(key_size=2, query_size=20, num_hiddens=8, dropout=0.1)
    additive.eval()
    with torch.no_grad():
        out = additive(*_book_demo_inputs(20))
    assert torch.allclose(out, expected, atol=1e-5)
    dot = d2l.DotProductAttention(dropout=0.5)
    dot.eval()
    out = dot(*_book_demo_inputs(2))
    assert torch.allclose(out, expected, atol=1e-5)
    # identical keys: uniform weights over the first 2 and the first 6 keys
    assert torch.allclose(dot.attention_weights[0, 0, :2], torch.full((2,), 0.5))
    assert torch.allclose(dot.attention_weights[1, 0, :6], torch.full((6,), 1 / 6))


def test_additive_attention_against_a_hand_loop():
    torch.manual_seed(1)
    att = d2l.AdditiveAttention(key_size=3, query_size=5, num_hiddens=4, dropout=0.0)
    q, k, v = torch.randn(2, 2, 5), torch.randn(2, 3, 3), torch.randn(2, 3, 6)
    out = att(q, k, v, torch.tensor([3, 2]))
    W_q, W_k, w_v = att.W_q.weight, att.W_k.weight, att.w_v.weight[0]
    for b, n in enumerate([3, 2]):
        for i in range(2):
            scores = torch.stack(
                [w_v @ torch.tanh(W_q @ q[b, i] + W_k @ k[b, j]) for j in range(n)]
            )
            expected = torch.softmax(scores, 0) @ v[b, :n]
            assert torch.allclose(out[b, i], expected, atol=1e-6)


def test_dot_product_attention_against_scaled_dot_product_attention():
    torch.manual_seed(2)
    q, k, v = torch.randn(3, 4, 8), torch.randn(3, 5, 8), torch.randn(3, 5, 6)
    valid_lens = torch.tensor([[1, 2, 3, 5], [5, 5, 5, 5], [2, 2, 4, 4]])
    mask = torch.arange(5)[None, None, :] < valid_lens[:, :, None]
    out = d2l.DotProductAttention(0.0)(q, k, v, valid_lens)
    assert torch.allclose(out, F.scaled_dot_product_attention(q, k, v, attn_mask=mask), atol=1e-5)
    # the scale: q.k / sqrt(d), by hand for one entry
    s = (q[0, 3] @ k[0].T) / math.sqrt(8)
    assert torch.allclose(out[0, 3], torch.softmax(s, 0) @ v[0], atol=1e-6)


def test_transpose_qkv_and_output_are_inverse_and_split_heads():
    X = torch.arange(2 * 3 * 8, dtype=torch.float32).reshape(2, 3, 8)
    Y = d2l.transpose_qkv(X, 4)
    assert Y.shape == (8, 3, 2)
    assert torch.equal(Y[1 * 4 + 2], X[1, :, 4:6])  # sequence 1, head 2: features 4..5
    assert torch.equal(d2l.transpose_output(Y, 4), X)
    with pytest.raises(ValueError, match="not divisible by num_heads=3"):
        d2l.transpose_qkv(X, 3)


def test_multi_head_attention_against_torch_multihead_attention():
    torch.manual_seed(3)
    num_hiddens, num_heads = 20, 4
    mine = d2l.MultiHeadAttention(
        num_hiddens, num_hiddens, num_hiddens, num_hiddens, num_heads, 0.5
    )
    mine.eval()
    ref = nn.MultiheadAttention(num_hiddens, num_heads, dropout=0.5, bias=False, batch_first=True)
    ref.eval()
    with torch.no_grad():
        ref.in_proj_weight.copy_(torch.cat([mine.W_q.weight, mine.W_k.weight, mine.W_v.weight]))
        ref.out_proj.weight.copy_(mine.W_o.weight)
    q, kv = torch.randn(2, 4, num_hiddens), torch.randn(2, 6, num_hiddens)
    valid_lens = torch.tensor([3, 2])
    out = mine(q, kv, kv, valid_lens)
    padding = torch.arange(6)[None, :] >= valid_lens[:, None]  # True = ignore
    expected, weights = ref(q, kv, kv, key_padding_mask=padding, average_attn_weights=False)
    assert out.shape == (2, 4, num_hiddens)
    assert torch.allclose(out, expected, atol=1e-5)
    assert torch.allclose(mine.attention.attention_weights.reshape(2, num_heads, 4, 6), weights)


def test_multi_head_attention_book_shapes():
    att = d2l.MultiHeadAttention(100, 100, 100, 100, 5, 0.5)
    att.eval()
    X, Y = torch.ones((2, 4, 100)), torch.ones((2, 6, 100))
    assert att(X, Y, Y, torch.tensor([3, 2])).shape == (2, 4, 100)
    assert all(m.bias is None for m in (att.W_q, att.W_k, att.W_v, att.W_o))


def test_positional_encoding_values_from_the_formula():
    pe = d2l.PositionalEncoding(32, 0)
    for i, j in [(0, 0), (5, 3), (59, 15), (999, 7)]:
        omega = 1 / 10000 ** (2 * j / 32)
        assert math.isclose(pe.P[0, i, 2 * j].item(), math.sin(i * omega), abs_tol=1e-5)
        assert math.isclose(pe.P[0, i, 2 * j + 1].item(), math.cos(i * omega), abs_tol=1e-5)
    X = torch.zeros(1, 60, 32)
    assert torch.equal(pe(X), pe.P[:, :60])
    assert torch.equal(pe(X[:, :1], offset=7), pe.P[:, 7:8])
    odd = d2l.PositionalEncoding(5, 0, max_len=10)  # odd widths work: 3 sines, 2 cosines
    assert math.isclose(odd.P[0, 3, 4].item(), math.sin(3 / 10000 ** (4 / 5)), abs_tol=1e-6)


def test_positional_encoding_is_a_buffer_saved_moved_and_cast():
    pe = d2l.PositionalEncoding(8, 0.1, max_len=50)
    assert "P" in pe.state_dict() and pe.state_dict()["P"].shape == (1, 50, 8)
    assert pe.half().P.dtype == torch.float16
    assert pe.to(torch.float64).P.dtype == torch.float64
    assert pe.to(torch.device("meta")).P.device.type == "meta"
    with pytest.raises(ValueError, match="max_len >= 51"):
        d2l.PositionalEncoding(8, 0, max_len=50)(torch.zeros(1, 51, 8))
