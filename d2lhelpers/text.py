"""Text pipeline for language models: read, tokenize, build a vocabulary, batch.

The book's functions for *The Time Machine* (chapter 8 of the book): read the
lines (utf-8, so it also works on Windows), split them into word or character
tokens, map tokens to indices with `Vocab`, and cut the index sequence into
minibatches of subsequences by random sampling or sequential partitioning.
`SeqDataLoader` also keeps a held-out slice of the book (its last
`HELDOUT_TOKENS` characters, never part of the training text) so that
`train_ch8` can report a perplexity on text the model has not seen.
In quick mode (`D2L_QUICK=1`) `load_data_time_machine` trains on a shorter text.
Introduced in 10_rnn.ipynb; the machine-translation data of 11 sits beside it.
"""

from __future__ import annotations

import collections
import random
import re
from collections.abc import Hashable, Iterator, Sequence
from typing import Any

import torch

from .data.hub import download
from .quick import QUICK_FRACTION, is_quick

__all__ = [
    "HELDOUT_TOKENS",
    "read_time_machine",
    "tokenize",
    "count_corpus",
    "Vocab",
    "load_corpus_time_machine",
    "seq_data_iter_random",
    "seq_data_iter_sequential",
    "SeqDataLoader",
    "load_data_time_machine",
]

#: Characters at the end of The Time Machine kept as held-out text by `SeqDataLoader`.
HELDOUT_TOKENS = 10_000


def read_time_machine() -> list[str]:
    """The Time Machine as 3,221 lines of lower-case letters and single spaces.

    Every run of non-letters becomes one space; lines are stripped. The file is
    fetched once with `download('time_machine')` (SHA-1 checked) and read as utf-8.
    """
    with open(download("time_machine"), encoding="utf-8") as f:
        lines = f.readlines()
    return [re.sub("[^A-Za-z]+", " ", line).strip().lower() for line in lines]


def tokenize(lines: Sequence[str], token: str = "word") -> list[list[str]]:
    """Split every line into tokens: words (`token='word'`) or characters (`'char'`)."""
    if token == "word":
        return [line.split() for line in lines]
    if token == "char":
        return [list(line) for line in lines]
    raise ValueError(f"unknown token type {token!r}: use 'word' or 'char'")


def count_corpus(tokens: Sequence) -> collections.Counter:
    """Count token frequencies; `tokens` is a list of tokens or a list of token lists."""
    if len(tokens) == 0 or isinstance(tokens[0], list):
        tokens = [token for line in tokens for token in line]
    return collections.Counter(tokens)


class Vocab:
    """Map tokens to indices 0, 1, ...: `<unk>` first, then the reserved tokens,
    then the other tokens from the most to the least frequent.

    Tokens seen fewer than `min_freq` times are left out (they map to `<unk>`).
    Ties keep the order of first appearance. `vocab[token]` and
    `vocab[[t1, t2]]` give indices; `to_tokens` goes back.
    """

    def __init__(
        self,
        tokens: Sequence | None = None,
        min_freq: int = 0,
        reserved_tokens: Sequence[str] | None = None,
    ) -> None:
        tokens = [] if tokens is None else tokens
        reserved_tokens = [] if reserved_tokens is None else list(reserved_tokens)
        counter = count_corpus(tokens)
        self._token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)
        # tokens are strings, or tuples of them for n-grams
        self.idx_to_token: list[Hashable] = ["<unk>", *reserved_tokens]
        self.token_to_idx: dict[Hashable, int] = {t: i for i, t in enumerate(self.idx_to_token)}
        for token, freq in self._token_freqs:
            if freq < min_freq:
                break  # sorted by frequency: every later token is rarer
            if token not in self.token_to_idx:
                self.token_to_idx[token] = len(self.idx_to_token)
                self.idx_to_token.append(token)

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __getitem__(self, tokens: Hashable | list | tuple) -> Any:
        """The index of a token (`unk` if unknown), or a list of indices for a list/tuple."""
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self[token] for token in tokens]

    def to_tokens(self, indices: int | list[int] | tuple[int, ...] | torch.Tensor) -> Any:
        """The token of an index, or a list of tokens for a list, tuple or 1-D tensor."""
        if isinstance(indices, torch.Tensor):
            indices = indices.tolist()
        if not isinstance(indices, (list, tuple)):
            return self.idx_to_token[indices]
        return [self.idx_to_token[index] for index in indices]

    @property
    def unk(self) -> int:
        """Index of the unknown token `<unk>`: 0."""
        return 0

    @property
    def token_freqs(self) -> list[tuple[Hashable, int]]:
        """(token, count) pairs of the corpus, most frequent first."""
        return self._token_freqs

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self.idx_to_token[:6])
        more = ", ..." if len(self) > 6 else ""
        return f"Vocab({len(self)} tokens: {head}{more})"


def load_corpus_time_machine(max_tokens: int = -1) -> tuple[list[int], Vocab]:
    """The Time Machine as character indices: (corpus, vocab), 170,580 tokens, vocab 28.

    The vocabulary is built from the whole book; with `max_tokens > 0` only the
    first `max_tokens` indices are returned.
    """
    lines = read_time_machine()
    tokens = tokenize(lines, "char")
    vocab = Vocab(tokens)
    corpus = [vocab[token] for line in tokens for token in line]
    if max_tokens > 0:
        corpus = corpus[:max_tokens]
    return corpus, vocab


def seq_data_iter_random(
    corpus: Sequence[int], batch_size: int, num_steps: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Minibatches of subsequences taken at random: X, Y of shape (batch_size, num_steps).

    The corpus is cut, after a random offset in [0, num_steps - 1], into
    non-overlapping subsequences of `num_steps` tokens, visited in random order;
    Y is X shifted by one token. Two consecutive minibatches are not adjacent in
    the text. Uses Python's `random` (seeded by `set_seed`).
    """
    corpus = corpus[random.randint(0, num_steps - 1) :]
    num_subseqs = (len(corpus) - 1) // num_steps  # the last token is only a label
    initial_indices = list(range(0, num_subseqs * num_steps, num_steps))
    random.shuffle(initial_indices)
    data = torch.as_tensor(corpus)
    offsets = torch.arange(num_steps)
    num_batches = num_subseqs // batch_size
    for i in range(0, batch_size * num_batches, batch_size):
        starts = torch.tensor(initial_indices[i : i + batch_size])
        index = starts[:, None] + offsets  # (batch_size, num_steps)
        yield data[index], data[index + 1]


def seq_data_iter_sequential(
    corpus: Sequence[int], batch_size: int, num_steps: int
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Minibatches by sequential partitioning: X, Y of shape (batch_size, num_steps).

    After a random offset in [0, num_steps], the corpus is laid out as
    `batch_size` parallel rows; minibatch i holds columns i*num_steps ...
    (i+1)*num_steps - 1, so row j of minibatch i+1 continues row j of
    minibatch i in the text. Y is X shifted by one token. X and Y are copies:
    changing them in place changes neither the corpus nor another minibatch.
    """
    offset = random.randint(0, num_steps)
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    data = torch.as_tensor(corpus)
    Xs = data[offset : offset + num_tokens].reshape(batch_size, -1)  # (batch_size, columns)
    Ys = data[offset + 1 : offset + 1 + num_tokens].reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        # slices of Xs and Ys are views of one tensor (Y overlaps X shifted by one), and of
        # `corpus` itself when it is a tensor: copies keep an in-place edit in its batch
        yield Xs[:, i : i + num_steps].clone(), Ys[:, i : i + num_steps].clone()


def _quick_max_tokens(max_tokens: int) -> int:
    """In quick mode, a shorter training text (at least 4,000 characters); else unchanged."""
    if not is_quick() or max_tokens <= 0:
        return max_tokens
    return min(max_tokens, max(4_000, round(max_tokens * QUICK_FRACTION)))


class SeqDataLoader:
    """Iterate over minibatches (X, Y) of The Time Machine, each (batch_size, num_steps).

    Each `iter()` draws a new random offset (and, with `use_random_iter`, a new
    order). Attributes: `corpus` (the training indices), `vocab`, and `heldout`:
    a 1-D tensor of the book's last `HELDOUT_TOKENS` characters, or None when
    the training text reaches into them (`max_tokens=-1`).
    """

    def __init__(
        self, batch_size: int, num_steps: int, use_random_iter: bool, max_tokens: int
    ) -> None:
        self.data_iter_fn = seq_data_iter_random if use_random_iter else seq_data_iter_sequential
        full, self.vocab = load_corpus_time_machine()
        self.corpus = full[:max_tokens] if max_tokens > 0 else full
        start = len(full) - HELDOUT_TOKENS
        self.heldout = torch.tensor(full[start:]) if len(self.corpus) <= start else None
        self.batch_size, self.num_steps = batch_size, num_steps

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return self.data_iter_fn(self.corpus, self.batch_size, self.num_steps)

    def __len__(self) -> int:
        """Number of minibatches per epoch (it can be one less after a large offset)."""
        return (len(self.corpus) - 1) // (self.batch_size * self.num_steps)


def load_data_time_machine(
    batch_size: int, num_steps: int, use_random_iter: bool = False, max_tokens: int = 10000
) -> tuple[SeqDataLoader, Vocab]:
    """(train_iter, vocab) for The Time Machine at character level: the first
    `max_tokens` characters (10,000 as in the book).

    In quick mode the text is shorter: a tenth of `max_tokens`, at least 4,000
    characters (so a batch of 32 x 35 still fits several times).
    """
    data_iter = SeqDataLoader(batch_size, num_steps, use_random_iter, _quick_max_tokens(max_tokens))
    return data_iter, data_iter.vocab
