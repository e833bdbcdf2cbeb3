"""The Bahdanau decoder and the Transformer: the book's shapes, causal masking in every
mode, one-token-at-a-time decoding equal to whole-sequence decoding, training on a copy task."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import d2lhelpers as d2l

RESERVED = ["<pad>", "<bos>", "<eos>"]


def test_position_wise_ffn_and_add_norm():
    ffn = d2l.PositionWiseFFN(4, 4, 8)
    assert ffn(torch.ones((2, 3, 4))).shape == (2, 3, 8)
    # the same MLP at every position: equal inputs give equal outputs
    out = ffn(torch.ones((2, 3, 4)))
    assert torch.allclose(out[0, 0], out[1, 2])
    add_norm = d2l.AddNorm([3, 4], 0.5)
    add_norm.eval()
    X, Y = torch.randn(2, 3, 4), torch.randn(2, 3, 4)
    Z = X + Y
    expected = (Z - Z.mean((1, 2), keepdim=True)) / torch.sqrt(
        Z.var((1, 2), unbiased=False, keepdim=True) + 1e-5
    )
    assert torch.allclose(add_norm(X, Y), expected, atol=1e-5)


def test_layer_norm_and_batch_norm_on_the_books_example():
    X = torch.tensor([[1, 2], [2, 3]], dtype=torch.float32)
    ln, bn = nn.LayerNorm(2), nn.BatchNorm1d(2)
    assert torch.allclose(ln(X), torch.tensor([[-1.0, 1.0], [-1.0, 1.0]]), atol=1e-4)
    assert torch.allclose(bn(X), torch.tensor([[-1.0, -1.0], [1.0, 1.0]]), atol=1e-4)


def test_encoder_and_decoder_shapes_as_the_book_prints_them():
    valid_lens = torch.tensor([3, 2])
    X = torch.ones((2, 100, 24))
    blk = d2l.EncoderBlock(24, 24, 24, 24, [100, 24], 24, 48, 8, 0.5)
    blk.eval()
    assert blk(X, valid_lens).shape == (2, 100, 24)
    encoder = d2l.TransformerEncoder(200, 24, 24, 24, 24, [100, 24], 24, 48, 8, 2, 0.5)
    encoder.eval()
    enc = encoder(torch.ones((2, 100), dtype=torch.long), valid_lens)
    assert enc.shape == (2, 100, 24)
    assert len(encoder.attention_weights) == 2
    assert encoder.attention_weights[0].shape == (2 * 8, 100, 100)
    dec_blk = d2l.DecoderBlock(24, 24, 24, 24, [100, 24], 24, 48, 8, 0.5, 0)
    dec_blk.eval()
    state = [enc, valid_lens, [None]]
    assert dec_blk(X, state)[0].shape == (2, 100, 24)


def test_bahdanau_decoder_shapes_as_the_book_prints_them():
    encoder = d2l.Seq2SeqEncoder(vocab_size=10, embed_size=8, num_hiddens=16, num_layers=2)
    decoder = d2l.Seq2SeqAttentionDecoder(vocab_size=10, embed_size=8, num_hiddens=16, num_layers=2)
    encoder.eval()
    decoder.eval()
    X = torch.zeros((4, 7), dtype=torch.long)
    state = decoder.init_state(encoder(X), None)
    output, state = decoder(X, state)
    assert (output.shape, len(state), state[0].shape, len(state[1]), state[1][0].shape) == (
        (4, 7, 10),
        3,
        (4, 7, 16),
        2,
        (4, 16),
    )
    assert len(decoder.attention_weights) == 7
    assert decoder.attention_weights[0].shape == (4, 1, 7)
    with pytest.raises(NotImplementedError):
        _ = d2l.AttentionDecoder().attention_weights


def _transformer(vocab_size=9, dropout=0.0, seed=0):
    torch.manual_seed(seed)
    h, heads = 16, 4
    encoder = d2l.TransformerEncoder(vocab_size, h, h, h, h, [h], h, 32, heads, 2, dropout)
    decoder = d2l.TransformerDecoder(vocab_size, h, h, h, h, [h], h, 32, heads, 2, dropout)
    return d2l.EncoderDecoder(encoder, decoder)


def _decode_all(net, enc_X, enc_valid, dec_X):
    state = net.decoder.init_state(net.encoder(enc_X, enc_valid), enc_valid)
    return net.decoder(dec_X, state)[0]


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_decoder_output_at_a_position_ignores_later_target_tokens(mode):
    net = _transformer()
    net.train(mode == "train")  # dropout 0: training mode is deterministic too
    g = torch.Generator().manual_seed(1)
    enc_X, enc_valid = torch.randint(3, 9, (3, 6), generator=g), torch.tensor([6, 4, 2])
    dec_X = torch.randint(3, 9, (3, 7), generator=g)
    out = _decode_all(net, enc_X, enc_valid, dec_X)
    for t in range(6):
        changed = dec_X.clone()
        changed[:, t + 1 :] = torch.randint(3, 9, changed[:, t + 1 :].shape, generator=g)
        out2 = _decode_all(net, enc_X, enc_valid, changed)
        assert torch.allclose(out[:, : t + 1], out2[:, : t + 1], atol=1e-5)
        assert not torch.allclose(out[:, t + 1 :], out2[:, t + 1 :])


def test_decoding_one_token_at_a_time_equals_decoding_the_whole_sequence():
    net = _transformer()
    net.eval()
    g = torch.Generator().manual_seed(2)
    enc_X, enc_valid = torch.randint(3, 9, (2, 5), generator=g), torch.tensor([5, 3])
    dec_X = torch.randint(3, 9, (2, 6), generator=g)
    whole = _decode_all(net, enc_X, enc_valid, dec_X)
    state = net.decoder.init_state(net.encoder(enc_X, enc_valid), enc_valid)
    steps = []
    for t in range(6):
        Y, state = net.decoder(dec_X[:, t : t + 1], state)
        steps.append(Y)
    assert torch.allclose(torch.cat(steps, 1), whole, atol=1e-5)
    assert state[2][0].shape == (2, 6, 16)  # each block cached its inputs of all 6 steps


def _copy_data(vocab, n=64, num_steps=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    src = [
        torch.randint(4, len(vocab), (int(k),), generator=g).tolist()
        for k in torch.randint(1, 4, (n,), generator=g)
    ]
    X, X_valid_len = d2l.build_array_nmt([vocab.to_tokens(s) for s in src], vocab, num_steps)
    return [
        (X[i : i + 16], X_valid_len[i : i + 16], X[i : i + 16], X_valid_len[i : i + 16])
        for i in range(0, n, 16)
    ]


def _copy_vocab():
    return d2l.Vocab([["a", "b", "c", "d", "e"]], reserved_tokens=RESERVED)  # 9 tokens


def test_transformer_training_lowers_the_loss_on_a_copy_task_and_decodes(capsys):
    vocab = _copy_vocab()
    net = _transformer(len(vocab))
    history = d2l.train_seq2seq(net, _copy_data(vocab), 0.005, 100, vocab, "cpu")
    assert history["loss"][-1] < 0.15 * history["loss"][0]
    assert "per real token" in capsys.readouterr().out
    # greedy decoding copies short sequences, and beam size 1 is greedy
    copied = 0
    for src in ["a b", "c", "d e a", "b b"]:
        greedy, _ = d2l.predict_seq2seq(net, src, vocab, vocab, 5, "cpu")
        beam, _ = d2l.predict_seq2seq_beam(net, src, vocab, vocab, 5, "cpu", beam_size=1)
        assert beam == greedy
        copied += greedy == src
    assert copied >= 2
    net.train()
    translation, attention = d2l.predict_seq2seq(
        net, "a b", vocab, vocab, 5, "cpu", save_attention_weights=True
    )
    assert net.training and net.decoder.blks[1].attention2.training  # modes given back
    # per step: [self-attention per block, encoder-decoder per block]
    assert len(attention[0]) == 2 and attention[0][1][0].shape == (4, 1, 5)


def test_bahdanau_training_lowers_the_loss_and_beam_1_is_greedy(capsys):
    vocab = _copy_vocab()
    torch.manual_seed(0)
    encoder = d2l.Seq2SeqEncoder(len(vocab), 8, 16, 1)
    decoder = d2l.Seq2SeqAttentionDecoder(len(vocab), 8, 16, 1)
    net = d2l.EncoderDecoder(encoder, decoder)
    history = d2l.train_seq2seq(net, _copy_data(vocab), 0.02, 30, vocab, "cpu")
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    for src in ["a b", "e d c"]:
        greedy, weights = d2l.predict_seq2seq(
            net, src, vocab, vocab, 5, "cpu", save_attention_weights=True
        )
        beam, _ = d2l.predict_seq2seq_beam(net, src, vocab, vocab, 5, "cpu", beam_size=1)
        assert beam == greedy
        # one (1, 1, num_steps) weight row per step; zero on the padded source positions
        row = weights[0][0][0, 0]
        n = len(src.split()) + 1
        assert math.isclose(row[:n].sum().item(), 1, rel_tol=1e-5) and row[n:].eq(0).all()


def _attention_into(mha: nn.MultiheadAttention, ours) -> None:
    """torch's packed projections from a d2l MultiHeadAttention (no biases)."""
    mha.in_proj_weight.copy_(torch.cat([ours.W_q.weight, ours.W_k.weight, ours.W_v.weight]))
    mha.out_proj.weight.copy_(ours.W_o.weight)
    mha.in_proj_bias.zero_()
    mha.out_proj.bias.zero_()


def _ffn_and_norms_into(layer: nn.Module, blk, addnorms) -> None:
    layer.linear1.load_state_dict(blk.ffn.dense1.state_dict())
    layer.linear2.load_state_dict(blk.ffn.dense2.state_dict())
    for k, addnorm in enumerate(addnorms, start=1):
        addnorm.ln.weight.uniform_(0.5, 1.5)  # away from PyTorch's 1 and 0: a swap shows
        addnorm.ln.bias.uniform_(-0.5, 0.5)
        getattr(layer, f"norm{k}").load_state_dict(addnorm.ln.state_dict())


def test_encoder_block_equals_torchs_transformer_encoder_layer():
    # the same post-norm block: a missing residual, the FFN fed the block's input instead
    # of the attention sublayer's output, or unmasked padding each change the output
    torch.manual_seed(0)
    d, heads, ffn = 16, 4, 32
    blk = d2l.EncoderBlock(d, d, d, d, d, d, ffn, heads, 0.0)
    layer = nn.TransformerEncoderLayer(d, heads, ffn, dropout=0.0, batch_first=True)
    with torch.no_grad():
        _attention_into(layer.self_attn, blk.attention)
        _ffn_and_norms_into(layer, blk, [blk.addnorm1, blk.addnorm2])
    X, valid_lens = torch.randn(3, 5, d), torch.tensor([5, 3, 1])
    padding = torch.arange(5)[None, :] >= valid_lens[:, None]  # True: a key not attended to
    blk.train(), layer.train()  # dropout 0; training mode keeps torch off its fused path
    expected = layer(X, src_key_padding_mask=padding)
    assert torch.allclose(blk(X, valid_lens), expected, atol=1e-5)


def test_decoder_block_equals_torchs_transformer_decoder_layer():
    # causal self-attention, then attention to the encoder's valid outputs with queries
    # from the first sublayer, then the FFN, each followed by add & norm
    torch.manual_seed(0)
    d, heads, ffn = 16, 4, 32
    blk = d2l.DecoderBlock(d, d, d, d, d, d, ffn, heads, 0.0, 0)
    layer = nn.TransformerDecoderLayer(d, heads, ffn, dropout=0.0, batch_first=True)
    with torch.no_grad():
        _attention_into(layer.self_attn, blk.attention1)
        _attention_into(layer.multihead_attn, blk.attention2)
        _ffn_and_norms_into(layer, blk, [blk.addnorm1, blk.addnorm2, blk.addnorm3])
    X, enc_outputs, enc_valid_lens = (
        torch.randn(3, 5, d),
        torch.randn(3, 6, d),
        torch.tensor([6, 4, 2]),
    )
    causal = torch.ones(5, 5, dtype=torch.bool).triu(1)  # True: a later token, not attended to
    padding = torch.arange(6)[None, :] >= enc_valid_lens[:, None]
    blk.train(), layer.train()
    expected = layer(X, enc_outputs, tgt_mask=causal, memory_key_padding_mask=padding)
    out, _ = blk(X, [enc_outputs, enc_valid_lens, [None]])
    assert torch.allclose(out, expected, atol=1e-5)
