"""English-French machine-translation data: read, clean, tokenize, pad, batch.

`load_data_nmt` turns the Tatoeba `fra-eng` pairs into a shuffled minibatch
iterator of padded index arrays plus their valid lengths, with one vocabulary
per language (`min_freq=2`, reserved `<pad> <bos> <eos>`).
Introduced in 11_modern_rnn.ipynb; reused by the attention chapter.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import cast

import torch
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from torch.utils.data import DataLoader

from .data import download_extract, load_array
from .plotting import plt
from .text import Vocab

__all__ = [
    "read_data_nmt",
    "preprocess_nmt",
    "tokenize_nmt",
    "show_list_len_pair_hist",
    "truncate_pad",
    "build_array_nmt",
    "load_data_nmt",
]


def read_data_nmt() -> str:
    """The raw `fra.txt` text: one `English<TAB>French` pair per line (downloaded once)."""
    data_dir = download_extract("fra-eng")
    with open(os.path.join(data_dir, "fra.txt"), encoding="utf-8") as f:
        return f.read()


def _no_space(char: str, prev_char: str) -> bool:
    return char in set(",.!?") and prev_char != " "


def preprocess_nmt(text: str) -> str:
    """Lower-case, turn non-breaking spaces into spaces, put a space before , . ! ?"""
    text = text.replace("\u202f", " ").replace("\xa0", " ").lower()
    out = [" " + c if i > 0 and _no_space(c, text[i - 1]) else c for i, c in enumerate(text)]
    return "".join(out)


def tokenize_nmt(
    text: str, num_examples: int | None = None
) -> tuple[list[list[str]], list[list[str]]]:
    """Split preprocessed text into word tokens: (source, target), one list per pair.

    Keeps exactly `num_examples` pairs when given (the book's loop keeps one
    more, `num_examples + 1`); lines without a tab are skipped.
    """
    source: list[list[str]] = []
    target: list[list[str]] = []
    for line in text.split("\n"):
        if num_examples is not None and len(source) >= num_examples:
            break
        parts = line.split("\t")
        if len(parts) >= 2:
            source.append(parts[0].split(" "))
            target.append(parts[1].split(" "))
    return source, target


def show_list_len_pair_hist(
    legend: Sequence[str], xlabel: str, ylabel: str, xlist: Sequence, ylist: Sequence
) -> Axes:
    """Histogram of the lengths of two lists of sequences, side by side; returns the axes.

    Draws on a new 3.5 x 2.5 inch figure (the book's `set_figsize()` default); the
    book's version sets that size in `plt.rcParams`, for every later figure too.
    """
    _, ax = plt.subplots(figsize=(3.5, 2.5))
    _, _, bars = ax.hist([[len(l) for l in xlist], [len(l) for l in ylist]])
    for patch in cast(list[BarContainer], bars)[1]:  # one bar set per list
        patch.set_hatch("/")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(legend)
    return ax


def truncate_pad(line: Sequence[int], num_steps: int, padding_token: int) -> list[int]:
    """Cut `line` to `num_steps` tokens, or pad it with `padding_token` up to that length."""
    line = list(line)
    if len(line) > num_steps:
        return line[:num_steps]
    return line + [padding_token] * (num_steps - len(line))


def build_array_nmt(
    lines: Sequence[Sequence[str]], vocab: Vocab, num_steps: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Index arrays (num_examples, num_steps) with `<eos>` appended, and valid lengths (num_examples,).

    The valid length counts the tokens that are not `<pad>` (`<eos>` included).
    """
    rows = [vocab[list(l)] + [vocab["<eos>"]] for l in lines]
    array = torch.tensor([truncate_pad(r, num_steps, vocab["<pad>"]) for r in rows])
    valid_len = (array != vocab["<pad>"]).type(torch.int32).sum(1)
    return array, valid_len


def load_data_nmt(
    batch_size: int, num_steps: int, num_examples: int = 600
) -> tuple[DataLoader, Vocab, Vocab]:
    """Iterator over (X, X_valid_len, Y, Y_valid_len) and the two vocabularies.

    X, Y: (batch_size, num_steps); valid lengths: (batch_size,). Shuffled.
    Returns (data_iter, src_vocab, tgt_vocab). The first `num_examples` pairs
    are used (600 is already small, so quick mode uses the same data).
    """
    text = preprocess_nmt(read_data_nmt())
    source, target = tokenize_nmt(text, num_examples)
    reserved = ["<pad>", "<bos>", "<eos>"]
    src_vocab = Vocab(source, min_freq=2, reserved_tokens=reserved)
    tgt_vocab = Vocab(target, min_freq=2, reserved_tokens=reserved)
    src_array, src_valid_len = build_array_nmt(source, src_vocab, num_steps)
    tgt_array, tgt_valid_len = build_array_nmt(target, tgt_vocab, num_steps)
    data_arrays = (src_array, src_valid_len, tgt_array, tgt_valid_len)
    data_iter = load_array(data_arrays, batch_size)
    return data_iter, src_vocab, tgt_vocab
