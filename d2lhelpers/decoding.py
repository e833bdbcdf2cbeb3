"""Translating with a trained encoder-decoder: greedy `predict_seq2seq`, beam `predict_seq2seq_beam`.

Both cut or pad the source sentence to `num_steps` tokens, run the encoder
once, then decode one token at a time in eval mode without gradients, giving
every module its previous mode back.

Greedy search takes the most likely token at every step. Beam search (the
book has no code) decodes the live hypotheses together as one batch: at every
step each of them is extended by every token, scored by its summed
log-probability, and the best extensions are kept, as many as the beam has
room for: `beam_size` less the hypotheses already finished (one that chose
`<eos>` is finished), so the batch shrinks as hypotheses end and the search
stops when `beam_size` of them have. At the end the finished hypotheses and
those that reached `num_steps` are ranked by score / L**alpha (L: number of
scored tokens, `<eos>` included). The decoder state is reordered per
hypothesis along its batch axis, found on each call from the state of a batch
of 1 (compared with that of a batch of 2 where a tensor has several axes of
size 1), so the attention decoders of the next chapter work unchanged; a
decoder may also define `reorder_state(state, index)`.
Introduced in 11_modern_rnn.ipynb; reused by 12_attention.ipynb.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .metrics import eval_mode
from .nmt import truncate_pad
from .text import Vocab

__all__ = ["predict_seq2seq", "predict_seq2seq_beam"]

#: A decoder's state: tensors, possibly nested in lists and tuples (and None or other leaves).
DecoderState = Any
#: For each tensor of a state, the axis that indexes the batch (None: no such axis).
Axes = Any


def _source_indices(src_sentence: str, src_vocab: Vocab, num_steps: int) -> tuple[list[int], int]:
    """Token indices of the sentence plus <eos>, cut or padded to num_steps; and its valid length."""
    src_tokens = src_vocab[src_sentence.lower().split(" ")] + [src_vocab["<eos>"]]
    return truncate_pad(src_tokens, num_steps, src_vocab["<pad>"]), min(len(src_tokens), num_steps)


def _init_state(
    net: nn.Module, src: list[int], valid: int, batch: int, device: torch.device
) -> DecoderState:
    """The decoder's initial state for `batch` copies of the source sentence."""
    encoder: Any = net.encoder  # an Encoder: forward(X, *args)
    decoder: Any = net.decoder  # a Decoder: init_state(enc_outputs, *args), forward(X, state)
    enc_X = torch.tensor([src] * batch, dtype=torch.long, device=device)  # (batch, num_steps)
    enc_valid_len = torch.tensor([valid] * batch, device=device)
    return decoder.init_state(encoder(enc_X, enc_valid_len), enc_valid_len)


def predict_seq2seq(
    net: nn.Module,
    src_sentence: str,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    num_steps: int,
    device: torch.device | str,
    save_attention_weights: bool = False,
) -> tuple[str, list]:
    """Translate one sentence greedily, at most `num_steps` tokens, stopping at `<eos>`.

    Eval mode (no dropout) and no gradients; every module gets its mode back.
    Returns (translation, attention weights of each step when
    `save_attention_weights`, else []). A source longer than `num_steps` is
    cut and its valid length is `num_steps` (the book's stays longer).
    """
    device = torch.device(device)
    src, valid = _source_indices(src_sentence, src_vocab, num_steps)
    decoder: Any = net.decoder
    with eval_mode(net):
        dec_state = _init_state(net, src, valid, 1, device)
        dec_X = torch.tensor([[tgt_vocab["<bos>"]]], dtype=torch.long, device=device)  # (1, 1)
        output_seq, attention_weight_seq = [], []
        for _ in range(num_steps):
            Y, dec_state = decoder(dec_X, dec_state)  # Y: (1, 1, vocab_size)
            dec_X = Y.argmax(dim=2)
            pred = int(dec_X.squeeze(0).item())
            if save_attention_weights:
                attention_weight_seq.append(decoder.attention_weights)
            if pred == tgt_vocab["<eos>"]:
                break
            output_seq.append(pred)
    return " ".join(tgt_vocab.to_tokens(output_seq)), attention_weight_seq


def _tensors(state: DecoderState) -> list[torch.Tensor]:
    if isinstance(state, torch.Tensor):
        return [state]
    if isinstance(state, (list, tuple)):
        return [t for s in state for t in _tensors(s)]
    return []


def _axes_of_size_1(state: DecoderState) -> Axes:
    """Mirror of a batch-1 state: for each tensor, its axis of size 1 (None if it has none)."""
    if isinstance(state, torch.Tensor):
        return next((axis for axis, n in enumerate(state.shape) if n == 1), None)
    if isinstance(state, (list, tuple)):
        return [_axes_of_size_1(s) for s in state]
    return None


def _axes_grown(state1: DecoderState, state2: DecoderState) -> Axes:
    """Mirror of the state: for each tensor, the axis of size 1 in state1 and 2 in state2."""
    if isinstance(state1, torch.Tensor):
        for axis, (a, b) in enumerate(zip(state1.shape, state2.shape, strict=False)):
            if a == 1 and b == 2:
                return axis
        return None
    if isinstance(state1, (list, tuple)):
        return [_axes_grown(s1, s2) for s1, s2 in zip(state1, state2, strict=False)]
    return None


def _batch_axes(state: DecoderState, state_of_2: Callable[[], DecoderState]) -> Axes:
    """For each tensor of the state of a batch of 1, the axis that indexes the batch.

    It is the tensor's one axis of size 1. Where a tensor has several (a GRU
    state (num_layers=1, 1, num_hiddens)), the axis that grows to 2 in
    `state_of_2()`, the state of a batch of 2, which runs the encoder again and
    so is asked for only then. Found anew on every call: nothing is kept
    between calls, so a decoder whose state changes shape is followed.
    """
    if any(sum(n == 1 for n in t.shape) > 1 for t in _tensors(state)):
        return _axes_grown(state, state_of_2())
    return _axes_of_size_1(state)


def _reorder(state: DecoderState, axes: Axes, index: torch.Tensor) -> DecoderState:
    """Select hypotheses `index` along each tensor's batch axis (axis 0 for tensors added later)."""
    if isinstance(state, torch.Tensor):
        axis = axes if isinstance(axes, int) else 0
        return state.index_select(axis, index)
    if isinstance(state, (list, tuple)):
        axes = axes if isinstance(axes, list) else [None] * len(state)
        axes = axes + [None] * (len(state) - len(axes))
        return type(state)(_reorder(s, a, index) for s, a in zip(state, axes, strict=True))
    return state


def predict_seq2seq_beam(
    net: nn.Module,
    src_sentence: str,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    num_steps: int,
    device: torch.device | str,
    beam_size: int = 2,
    alpha: float = 0.75,
) -> tuple[str, float]:
    """Translate one sentence with beam search; return (translation, score / L**alpha).

    Hypotheses are batched on the decoder's batch axis: at step t the input is
    (num_live, 1) and the log-probabilities (num_live, vocab_size). Eval mode,
    no gradients, modes restored. `beam_size=1` is greedy decoding
    (`predict_seq2seq`); a beam at least as wide as the number of sequences
    of 1 to num_steps - 1 tokens, vocab_size + ... + vocab_size**(num_steps - 1),
    keeps every prefix and so finds what exhaustive search finds.
    """
    if isinstance(beam_size, bool) or not isinstance(beam_size, int) or beam_size < 1:
        raise ValueError(f"beam_size must be a whole number >= 1, got {beam_size!r}")
    device = torch.device(device)
    src, valid = _source_indices(src_sentence, src_vocab, num_steps)
    eos = tgt_vocab["<eos>"]
    decoder: Any = net.decoder
    with eval_mode(net):
        state = _init_state(net, src, valid, 1, device)
        reorder = getattr(decoder, "reorder_state", None)
        axes = None
        if reorder is None:
            axes = _batch_axes(state, lambda: _init_state(net, src, valid, 2, device))
        hyps: list[list[int]] = [[]]
        scores = torch.zeros(1, device=device)  # (num_live,) summed log-probabilities
        finished: list[tuple[list[int], float]] = []
        dec_X = torch.tensor([[tgt_vocab["<bos>"]]], dtype=torch.long, device=device)
        for _ in range(num_steps):
            Y, state = decoder(dec_X, state)  # Y: (num_live, 1, vocab_size)
            logits = Y[:, -1]
            if logits.dtype in (torch.float16, torch.bfloat16):
                logits = logits.float()
            log_p = F.log_softmax(logits, dim=-1)  # (num_live, vocab_size)
            vocab_size = log_p.shape[1]
            cand = (scores[:, None].to(log_p.dtype) + log_p).reshape(-1)  # (num_live * vocab_size,)
            room = beam_size - len(finished)  # the finished hypotheses keep their places
            top_scores, top_pos = cand.topk(min(room, cand.numel()))
            prev = torch.div(top_pos, vocab_size, rounding_mode="floor")  # hypothesis extended
            words = top_pos % vocab_size
            live = []
            for i, (p, w, s) in enumerate(
                zip(prev.tolist(), words.tolist(), top_scores.tolist(), strict=True)
            ):
                if w == eos:
                    finished.append((hyps[p], s))
                else:
                    live.append(i)
            if not live:
                break
            index = torch.tensor(live, device=device)
            hyps = [
                hyps[p] + [w]
                for p, w in zip(prev[index].tolist(), words[index].tolist(), strict=True)
            ]
            scores = top_scores[index]
            prev_live = prev[index]
            state = reorder(state, prev_live) if reorder else _reorder(state, axes, prev_live)
            dec_X = words[index].unsqueeze(1)  # (num_live, 1)
        else:  # num_steps reached: the live hypotheses end here, without <eos>
            finished += [(h, s) for h, s in zip(hyps, scores.tolist(), strict=True)]
    # L counts the scored tokens: the words, plus <eos> for a hypothesis that chose it
    ranked = []
    for h, s in finished:
        L = len(h) + (1 if len(h) < num_steps else 0)
        ranked.append((s / L**alpha, h))
    best_score, best = max(ranked, key=lambda x: x[0])
    return " ".join(tgt_vocab.to_tokens(best)), best_score
