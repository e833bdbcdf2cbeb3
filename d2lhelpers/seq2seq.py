"""Sequence to sequence: the encoder-decoder interfaces, the GRU seq2seq model,
the masked loss and BLEU.

The interfaces (`Encoder`, `Decoder`, `AttentionDecoder`, `EncoderDecoder`) live
here, below every model that implements them (this file, bahdanau.py,
transformer.py) and the trainers and decoders that drive them.

`Seq2SeqDecoder` feeds the encoder's final top-layer state as the context at
every decoding step, in training and in prediction alike (the book's decoder
took the context from its own state, which drifts while predicting one token
at a time; d2l-en issue 2134). `sequence_mask` returns a new tensor (the
book's writes into its input). `bleu` is defined for predictions of any length.
Introduced in 11_modern_rnn.ipynb; the attention chapter builds on it.
"""

from __future__ import annotations

import collections
import math
from typing import Any

import torch
from torch import nn

__all__ = [
    "Encoder",
    "Decoder",
    "AttentionDecoder",
    "EncoderDecoder",
    "Seq2SeqEncoder",
    "Seq2SeqDecoder",
    "sequence_mask",
    "MaskedSoftmaxCELoss",
    "bleu",
]


class Encoder(nn.Module):
    """The encoder interface: a variable-length input to an encoded state."""

    def forward(self, X: torch.Tensor, *args: Any) -> Any:
        raise NotImplementedError


class Decoder(nn.Module):
    """The decoder interface: `init_state` from the encoder's outputs, then `forward(X, state)`.

    The state's form is each decoder's own (a tensor, a list, a tuple); `forward`
    returns (output (batch_size, num_steps, vocab_size), new state).
    """

    def init_state(self, enc_outputs: Any, *args: Any) -> Any:
        raise NotImplementedError

    def forward(self, X: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        raise NotImplementedError


class AttentionDecoder(Decoder):
    """The decoder interface of the attention chapter: a decoder that also reports
    its attention weights (of its last call, for plotting). Introduced in 12_attention.ipynb."""

    @property
    def attention_weights(self) -> Any:
        raise NotImplementedError


class EncoderDecoder(nn.Module):
    """An encoder and a decoder: `net(enc_X, dec_X, *args)` returns the decoder's output and state."""

    def __init__(self, encoder: Encoder, decoder: Decoder, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder

    def forward(
        self, enc_X: torch.Tensor, dec_X: torch.Tensor, *args: Any
    ) -> tuple[torch.Tensor, Any]:
        enc_outputs = self.encoder(enc_X, *args)
        dec_state = self.decoder.init_state(enc_outputs, *args)
        return self.decoder(dec_X, dec_state)


class Seq2SeqEncoder(Encoder):
    """Embedding, then a multi-layer GRU.

    X: (batch_size, num_steps) token indices. Returns (output, state):
    output (num_steps, batch_size, num_hiddens) is the top layer at every step,
    state (num_layers, batch_size, num_hiddens) is every layer at the last step.
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
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size, num_hiddens, num_layers, dropout=dropout)

    def forward(self, X: torch.Tensor, *args: Any) -> tuple[torch.Tensor, torch.Tensor]:
        X = self.embedding(X).permute(1, 0, 2)  # (num_steps, batch_size, embed_size)
        output, state = self.rnn(X)
        return output, state


class Seq2SeqDecoder(Decoder):
    """Embedding, a GRU fed [embedding; context] at every step, and a dense output layer.

    The context is the encoder's top layer at its last step, `enc_output[-1]`
    (batch_size, num_hiddens); it is kept in the state, so it stays the same
    at every step, whether the whole target is fed at once (training) or one
    token at a time (prediction). The GRU starts from the encoder's final state.
    State: [enc_output (num_steps, batch_size, num_hiddens),
    hidden_state (num_layers, batch_size, num_hiddens)].
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
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = nn.GRU(embed_size + num_hiddens, num_hiddens, num_layers, dropout=dropout)
        self.dense = nn.Linear(num_hiddens, vocab_size)

    def init_state(
        self, enc_outputs: tuple[torch.Tensor, torch.Tensor], *args: Any
    ) -> list[torch.Tensor]:
        enc_output, hidden_state = enc_outputs
        return [enc_output, hidden_state]

    def forward(
        self, X: torch.Tensor, state: list[torch.Tensor]
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """X: (batch_size, num_steps) -> output (batch_size, num_steps, vocab_size), new state."""
        enc_output, hidden_state = state
        embs = self.embedding(X).permute(1, 0, 2)  # (num_steps, batch_size, embed_size)
        context = enc_output[-1].repeat(embs.shape[0], 1, 1)  # (num_steps, batch_size, num_hiddens)
        output, hidden_state = self.rnn(torch.cat((embs, context), 2), hidden_state)
        output = self.dense(output).permute(1, 0, 2)  # (batch_size, num_steps, vocab_size)
        return output, [enc_output, hidden_state]


def sequence_mask(X: torch.Tensor, valid_len: torch.Tensor, value: float = 0) -> torch.Tensor:
    """A copy of X with the entries past each row's valid length set to `value`.

    X: (batch_size, num_steps, ...); valid_len: (batch_size,). X is not modified.
    """
    maxlen = X.size(1)
    mask = (
        torch.arange(maxlen, device=X.device)[None, :] < valid_len[:, None]
    )  # (batch_size, num_steps)
    mask = mask.reshape(mask.shape + (1,) * (X.dim() - 2))
    return torch.where(mask, X, torch.as_tensor(value, dtype=X.dtype, device=X.device))


class MaskedSoftmaxCELoss(nn.CrossEntropyLoss):
    """Softmax cross-entropy that ignores padding, with the book's averaging.

    pred: (batch_size, num_steps, vocab_size); label: (batch_size, num_steps);
    valid_len: (batch_size,). Returns (batch_size,): for each sequence the sum
    of the cross-entropies of its real tokens divided by `num_steps` (the
    book's `.mean(dim=1)`: padded steps weigh 0 but are still counted).
    Multiply by num_steps / valid_len to get the mean over real tokens.
    """

    # the book's signature takes valid_len as a third argument: not CrossEntropyLoss's
    def forward(  # type: ignore[override]
        self, pred: torch.Tensor, label: torch.Tensor, valid_len: torch.Tensor
    ) -> torch.Tensor:
        weights = sequence_mask(torch.ones_like(label, dtype=pred.dtype), valid_len)
        unweighted = nn.functional.cross_entropy(
            pred.permute(0, 2, 1), label.long(), reduction="none"
        )
        return (unweighted * weights).mean(dim=1)


def bleu(pred_seq: str, label_seq: str, k: int) -> float:
    """BLEU of a space-separated prediction against one label, n-grams up to k.

    exp(min(0, 1 - len_label / len_pred)) * prod_n p_n ** (1 / 2**n), where
    p_n is the share of the prediction's n-grams found in the label (each label
    n-gram matched at most once). n-grams longer than the prediction are
    skipped (the book divides by zero there); an empty prediction scores 0.
    """
    pred_tokens, label_tokens = pred_seq.split(), label_seq.split()
    len_pred, len_label = len(pred_tokens), len(label_tokens)
    if len_pred == 0:
        return 0.0
    score = math.exp(min(0.0, 1 - len_label / len_pred))
    for n in range(1, min(k, len_pred) + 1):
        label_ngrams = collections.Counter(
            tuple(label_tokens[i : i + n]) for i in range(len_label - n + 1)
        )
        num_matches = 0
        for i in range(len_pred - n + 1):
            ngram = tuple(pred_tokens[i : i + n])
            if label_ngrams[ngram] > 0:
                num_matches += 1
                label_ngrams[ngram] -= 1
        score *= (num_matches / (len_pred - n + 1)) ** (0.5**n)
    return score
