"""Exercises of 12_attention: the solutions pass, typical mistakes get their hints.

The learner's classes are written here as the notebook's solution writes them (on top of the
library's modules, which the notebook checks equal to the learner's own).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

import d2lhelpers as d2l

from .helpers import fails_with, passes, verdict


def f(x):
    return 2 * torch.sin(x) + x**0.8


def nw_loss(w, x, y, exclude_self=True):
    scores = -(((x.reshape(-1, 1) - x.reshape(1, -1)) * w) ** 2) / 2
    if exclude_self:
        scores = scores.masked_fill(torch.eye(len(x), dtype=torch.bool), float("-inf"))
    return ((F.softmax(scores, dim=1) @ y - y) ** 2).sum()


def curvature_at_zero(x, y):
    return torch.autograd.functional.hessian(lambda w: nw_loss(w, x, y), torch.tensor(0.0))


def seed18_multiplier():
    gen = torch.Generator().manual_seed(18)
    x, _ = torch.sort(torch.rand(50, generator=gen) * 5)
    y = f(x) + torch.normal(0.0, 0.5, (50,), generator=gen)
    return 1 - 0.5 * float(curvature_at_zero(x, y))


GOOD_1 = {
    "loss": nw_loss,
    "no_self": "A",
    "n500": "B",
    "curvature": curvature_at_zero,
    "multiplier": seed18_multiplier(),
}


def test_12_1_nadaraya_watson():
    passes("12.1", GOOD_1)
    assert -1.3 < GOOD_1["multiplier"] < -1.1  # the notebook's claim: lr times curvature > 2
    fails_with("12.1", {**GOOD_1, "loss": lambda w, x, y, e: nw_loss(w, x, y, e) / len(x)}, "平均")
    fails_with("12.1", {**GOOD_1, "loss": lambda w, x, y, e: nw_loss(w, x, y, False)}, "去掉它自己")
    fails_with("12.1", {**GOOD_1, "loss": lambda w, x, y, e: nw_loss(w, x, y, True)}, "包括它自己")
    fails_with("12.1", {**GOOD_1, "loss": lambda w, x, y, e: nw_loss(w * 2, x, y, e)}, "")
    fails_with("12.1", {**GOOD_1, "no_self": "B"}, "平均汇聚")
    fails_with("12.1", {**GOOD_1, "n500": "A"}, "500")

    def slope(x, y):
        w = torch.tensor(0.0, requires_grad=True)
        return torch.autograd.grad(nw_loss(w, x, y), w)[0]

    fails_with("12.1", {**GOOD_1, "curvature": slope}, "一阶导数")
    fails_with(
        "12.1",
        {
            **GOOD_1,
            "curvature": lambda x, y: torch.autograd.functional.hessian(
                lambda w: nw_loss(w, x, y, False), torch.tensor(0.0)
            ),
        },
        "不排除",
    )
    c = (1 - GOOD_1["multiplier"]) / 0.5
    fails_with("12.1", {**GOOD_1, "multiplier": 1 - c}, "学习率")
    fails_with("12.1", {**GOOD_1, "multiplier": 1 + 0.5 * c}, "减去梯度")
    partial = verdict("12.1", {"loss": nw_loss})
    assert partial.passed is False and "尚未作答" in partial.message


class UnscaledDotProductAttention(d2l.DotProductAttention):
    def forward(self, queries, keys, values, valid_lens=None):
        scores = torch.bmm(queries, keys.transpose(1, 2))
        self.attention_weights = d2l.masked_softmax(scores, valid_lens)
        return torch.bmm(self.dropout(self.attention_weights), values)


class IgnoresValidLens(d2l.DotProductAttention):
    def forward(self, queries, keys, values, valid_lens=None):
        weights = torch.softmax(torch.bmm(queries, keys.transpose(1, 2)), dim=-1)
        return torch.bmm(weights, values)


class DividedByD(d2l.DotProductAttention):
    def forward(self, queries, keys, values, valid_lens=None):
        scores = torch.bmm(queries, keys.transpose(1, 2)) / queries.shape[-1]
        return torch.bmm(d2l.masked_softmax(scores, valid_lens), values)


def largest_weight(n=1000):
    attention = UnscaledDotProductAttention(0)
    q, K = torch.randn(n, 1, 64), torch.randn(n, 10, 64)
    attention(q, K, K)
    return float(attention.attention_weights.max(dim=-1).values.mean())


GOOD_2 = {"cls": UnscaledDotProductAttention, "variance": 64, "largest": 0.86, "why": "A"}


def test_12_2_unscaled_attention():
    passes("12.2", GOOD_2)
    passes("12.2", {**GOOD_2, "largest": largest_weight()})
    fails_with("12.2", {**GOOD_2, "cls": d2l.DotProductAttention}, "√d")
    fails_with("12.2", {**GOOD_2, "cls": IgnoresValidLens}, "有效长度")
    fails_with("12.2", {**GOOD_2, "cls": DividedByD}, "值不对")
    fails_with("12.2", {**GOOD_2, "cls": UnscaledDotProductAttention(0)}, "类本身")
    fails_with("12.2", {**GOOD_2, "variance": 256}, "num_hiddens / num_heads")
    fails_with("12.2", {**GOOD_2, "variance": 8}, "标准差")
    fails_with("12.2", {**GOOD_2, "largest": 0.32}, "缩放")
    fails_with("12.2", {**GOOD_2, "why": "B"}, "溢出")


def test_12_2_leaves_the_global_random_numbers_alone():
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    passes("12.2", GOOD_2)
    assert torch.equal(torch.rand(3), expected)


class DotProductAttentionDecoder(d2l.Seq2SeqAttentionDecoder):
    def __init__(self, vocab_size, embed_size, num_hiddens, num_layers, dropout=0, **kwargs):
        super().__init__(vocab_size, embed_size, num_hiddens, num_layers, dropout, **kwargs)
        self.attention = d2l.DotProductAttention(dropout)


class DotIgnoresPadding(DotProductAttentionDecoder):
    def init_state(self, enc_outputs, enc_valid_lens, *args):
        return super().init_state(enc_outputs, None)


class DotRenamed(DotProductAttentionDecoder):
    def __init__(self, *args):
        super().__init__(*args)
        self.out = self.dense
        del self.dense


def count(module):
    return sum(p.numel() for p in module.parameters())


GOOD_3 = {"cls": DotProductAttentionDecoder, "fewer": 2080, "why": "A"}


def test_12_3_dot_product_bahdanau():
    passes("12.3", GOOD_3)
    fewer = count(d2l.Seq2SeqAttentionDecoder(201, 32, 32, 2)) - count(
        DotProductAttentionDecoder(201, 32, 32, 2)
    )
    passes("12.3", {**GOOD_3, "fewer": fewer})
    fails_with("12.3", {**GOOD_3, "cls": d2l.Seq2SeqAttentionDecoder}, "W_q、W_k、w_v")
    fails_with("12.3", {**GOOD_3, "cls": DotIgnoresPadding}, "填充")
    fails_with("12.3", {**GOOD_3, "cls": DotRenamed}, "名字或形状")
    fails_with("12.3", {**GOOD_3, "fewer": 2048}, "w_v")
    fails_with("12.3", {**GOOD_3, "why": "B"}, "键和值是同一个张量")


def test_12_4_book_decoder_block():
    good = {"keys": 10, "loss": "C", "same": True}
    passes("12.4", good)
    fails_with("12.4", {**good, "keys": 1}, "None")
    fails_with("12.4", {**good, "loss": "A"}, "见过未来的位置")
    fails_with("12.4", {**good, "loss": "B"}, "掩码不同")
    fails_with("12.4", {**good, "same": False}, "缓存")
    fails_with("12.4", {**good, "same": "yes"}, "True 或 False")


class LearnedPositionalEncoding(nn.Module):
    def __init__(self, num_hiddens, dropout, max_len=1000):
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.P = nn.Parameter(torch.zeros(1, max_len, num_hiddens))

    def forward(self, X, offset=0):
        return self.dropout(X + self.P[:, offset : offset + X.shape[1], :])


class AsBuffer(LearnedPositionalEncoding):
    def __init__(self, num_hiddens, dropout, max_len=1000):
        nn.Module.__init__(self)
        self.dropout = nn.Dropout(dropout)
        self.register_buffer("P", torch.zeros(1, max_len, num_hiddens))


class NoOffset(LearnedPositionalEncoding):
    def forward(self, X):
        return X + self.P[:, : X.shape[1], :]


class IgnoresOffset(LearnedPositionalEncoding):
    def forward(self, X, offset=0):
        return X + self.P[:, : X.shape[1], :]


class RandomStart(LearnedPositionalEncoding):
    def __init__(self, num_hiddens, dropout, max_len=1000):
        super().__init__(num_hiddens, dropout, max_len)
        self.P = nn.Parameter(torch.randn(1, max_len, num_hiddens))


GOOD_5 = {"cls": LearnedPositionalEncoding, "count": 32_000, "permuted": True}


def test_12_5_learned_positions():
    passes("12.5", GOOD_5)
    pe = LearnedPositionalEncoding(32, 0.1)
    assert count(pe) == GOOD_5["count"]
    fails_with("12.5", {**GOOD_5, "cls": AsBuffer}, "parameters()")
    fails_with("12.5", {**GOOD_5, "cls": NoOffset}, "offset 参数")
    fails_with("12.5", {**GOOD_5, "cls": IgnoresOffset}, "offset 被忽略")
    fails_with("12.5", {**GOOD_5, "cls": RandomStart}, "全 0")
    fails_with("12.5", {**GOOD_5, "cls": d2l.PositionalEncoding}, "parameters()")
    fails_with("12.5", {**GOOD_5, "count": 320}, "max_len")
    fails_with("12.5", {**GOOD_5, "count": 64_000}, "编码器")
    fails_with("12.5", {**GOOD_5, "permuted": False}, "打乱")


def test_permuting_without_positions_permutes_the_outputs():
    # the fact behind 12.5 (permuted): an encoder block alone is permutation-equivariant
    torch.manual_seed(0)
    blk = d2l.EncoderBlock(16, 16, 16, 16, [16], 16, 32, 4, 0.0)
    blk.eval()
    X, perm = torch.randn(1, 5, 16), torch.tensor([3, 0, 4, 1, 2])
    out = blk(X, None)
    assert torch.allclose(blk(X[:, perm], None), out[:, perm], atol=1e-5)
    assert math.isfinite(float(out.detach().sum()))


def test_none_and_wrong_types_get_a_verdict():
    for i in ("12.1", "12.2", "12.3", "12.4", "12.5"):
        assert verdict(i, None).passed is None
        assert verdict(i, {}).passed is None
        for wrong in ("x", [1, 2], 3.0, torch.zeros(2)):
            assert verdict(i, wrong).passed is False
    for part, ex in (("cls", "12.2"), ("cls", "12.3"), ("cls", "12.5"), ("loss", "12.1")):
        for wrong in ("x", 3, torch.zeros(2), [1]):
            assert verdict(ex, {part: wrong}).passed is False
