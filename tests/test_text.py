"""The text pipeline on hand-made texts with hand-computed answers, and the book's
printed facts on the real Time Machine when the offline copy is present."""

from __future__ import annotations

import collections
import hashlib
import random
from pathlib import Path

import data_fixtures
import pytest
import torch

import d2lhelpers as d2l
from d2lhelpers import text

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
TEXT = "The Time Machine, by H. G. Wells [1898]\n\n\nI\nThe Time Traveller (for so it will be\n"


@pytest.fixture
def tiny_book(tmp_path, monkeypatch):
    """A hand-made `timemachine.txt` served from a local mirror, its SHA-1 in DATA_HUB."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "timemachine.txt").write_text(TEXT, encoding="utf-8")
    sha1 = hashlib.sha1(TEXT.encode()).hexdigest()
    monkeypatch.setitem(d2l.DATA_HUB, "time_machine", (d2l.DATA_URL + "timemachine.txt", sha1))
    monkeypatch.setenv("D2L_DATA_URL", mirror.as_uri())
    return TEXT


def test_read_time_machine_keeps_lower_case_letters_and_single_spaces(tiny_book):
    assert d2l.read_time_machine() == [
        "the time machine by h g wells",
        "",
        "",
        "i",
        "the time traveller for so it will be",
    ]


def test_read_time_machine_reads_utf8(tmp_path, monkeypatch):
    body = "Caf\u00e9 na\u00efve \u2014 done\n"
    mirror = tmp_path / "m"
    mirror.mkdir()
    (mirror / "timemachine.txt").write_bytes(body.encode("utf-8"))
    sha1 = hashlib.sha1(body.encode("utf-8")).hexdigest()
    monkeypatch.setitem(d2l.DATA_HUB, "time_machine", (d2l.DATA_URL + "timemachine.txt", sha1))
    monkeypatch.setenv("D2L_DATA_URL", mirror.as_uri())
    assert d2l.read_time_machine() == ["caf na ve done"]


def test_tokenize_words_and_characters():
    lines = ["the time", "", "a b"]
    assert d2l.tokenize(lines) == [["the", "time"], [], ["a", "b"]]
    assert d2l.tokenize(lines, "char") == [list("the time"), [], list("a b")]
    with pytest.raises(ValueError, match="unknown token type"):
        d2l.tokenize(lines, "byte")


def test_count_corpus_flattens_lists_of_lines():
    assert d2l.count_corpus([["a", "b"], ["a"]]) == {"a": 2, "b": 1}
    assert d2l.count_corpus(["x", "y", "x"]) == {"x": 2, "y": 1}
    assert d2l.count_corpus([]) == {}


TOKENS = [["b", "a", "c", "a"], ["a", "b", "d"]]  # a: 3, b: 2, c: 1, d: 1 (c seen before d)


def test_vocab_orders_by_frequency_then_first_appearance():
    vocab = d2l.Vocab(TOKENS)
    assert vocab.idx_to_token == ["<unk>", "a", "b", "c", "d"]
    assert vocab.token_to_idx == {"<unk>": 0, "a": 1, "b": 2, "c": 3, "d": 4}
    assert len(vocab) == 5 and vocab.unk == 0
    assert vocab.token_freqs == [("a", 3), ("b", 2), ("c", 1), ("d", 1)]


def test_vocab_lookups_in_both_directions():
    vocab = d2l.Vocab(TOKENS)
    assert vocab["b"] == 2 and vocab["zzz"] == 0
    assert vocab[["d", "a", "zzz"]] == [4, 1, 0]
    assert vocab[("a", ["b", "c"])] == [1, [2, 3]]
    assert vocab.to_tokens(3) == "c"
    assert vocab.to_tokens([1, 0, 4]) == ["a", "<unk>", "d"]
    assert vocab.to_tokens(torch.tensor([2, 1])) == ["b", "a"]


def test_vocab_min_freq_and_reserved_tokens():
    reserved = ["<pad>", "<bos>", "<eos>"]
    vocab = d2l.Vocab(TOKENS, min_freq=2, reserved_tokens=reserved)
    assert vocab.idx_to_token == ["<unk>", "<pad>", "<bos>", "<eos>", "a", "b"]
    assert vocab["c"] == vocab["d"] == vocab.unk == 0
    # a reserved token that also occurs in the text is not listed twice
    vocab = d2l.Vocab([["<eos>", "x", "<eos>"]], reserved_tokens=["<eos>"])
    assert vocab.idx_to_token == ["<unk>", "<eos>", "x"]
    assert len(d2l.Vocab()) == 1  # only <unk>


def test_load_corpus_time_machine_is_character_level(tiny_book):
    corpus, vocab = d2l.load_corpus_time_machine()
    chars = "".join(d2l.read_time_machine())  # lines are joined without separators
    assert len(corpus) == len(chars) == 29 + 1 + 36
    assert "".join(vocab.to_tokens(corpus)) == chars
    assert vocab.idx_to_token[1] == " " and len(vocab) == 1 + len(set(chars))
    short, vocab2 = d2l.load_corpus_time_machine(max_tokens=10)
    assert short == corpus[:10] and vocab2.idx_to_token == vocab.idx_to_token


def _starts(X):
    return X[:, 0].tolist()


@pytest.mark.parametrize("seed", range(8))
def test_random_sampling_covers_disjoint_subsequences(seed):
    random.seed(seed)
    corpus, batch_size, num_steps = list(range(35)), 2, 5
    batches = list(d2l.seq_data_iter_random(corpus, batch_size, num_steps))
    starts = [s for X, _ in batches for s in _starts(X)]
    offset = starts[0] % num_steps
    assert 0 <= offset <= num_steps - 1
    num_subseqs = (35 - offset - 1) // num_steps
    assert len(batches) == num_subseqs // batch_size
    assert len(set(starts)) == len(starts)  # no subsequence twice: they do not overlap
    assert all(s % num_steps == offset for s in starts)  # on the grid after the offset
    for X, Y in batches:
        assert X.shape == Y.shape == (batch_size, num_steps)
        assert torch.equal(X[:, 1:], X[:, :-1] + 1)  # contiguous pieces of the text
        assert torch.equal(Y, X + 1)  # labels: the next token
        assert int(X.max()) < 34


def test_random_sampling_consecutive_batches_need_not_be_adjacent():
    adjacent_always = True
    for seed in range(10):
        random.seed(seed)
        batches = list(d2l.seq_data_iter_random(list(range(35)), 2, 5))
        for (X1, _), (X2, _) in zip(batches, batches[1:], strict=False):
            adjacent_always &= torch.equal(X2[:, 0], X1[:, -1] + 1)
    assert not adjacent_always


@pytest.mark.parametrize("seed", range(8))
def test_sequential_partitioning_keeps_rows_adjacent(seed):
    random.seed(seed)
    corpus, batch_size, num_steps = list(range(35)), 2, 5
    batches = list(d2l.seq_data_iter_sequential(corpus, batch_size, num_steps))
    offset = int(batches[0][0][0, 0])
    assert 0 <= offset <= num_steps
    row_len = (35 - offset - 1) // batch_size
    assert len(batches) == row_len // num_steps
    for X, Y in batches:
        assert X.shape == Y.shape == (batch_size, num_steps)
        assert torch.equal(Y, X + 1)
        assert torch.equal(X[:, 1:], X[:, :-1] + 1)
        assert torch.equal(X[1] - X[0], torch.full((num_steps,), row_len))  # rows one row apart
    for (X1, _), (X2, _) in zip(batches, batches[1:], strict=False):
        assert torch.equal(X2[:, 0], X1[:, -1] + 1)  # row j continues in the next batch


def test_book_example_sequential_with_seed_zero():
    random.seed(0)  # random.randint(0, 5) gives 3 after seed 0
    X = [X.tolist() for X, _ in d2l.seq_data_iter_sequential(list(range(35)), 2, 5)]
    assert X == [
        [[3, 4, 5, 6, 7], [18, 19, 20, 21, 22]],
        [[8, 9, 10, 11, 12], [23, 24, 25, 26, 27]],
        [[13, 14, 15, 16, 17], [28, 29, 30, 31, 32]],
    ]


def test_seq_data_loader_holds_out_the_end_of_the_book(tiny_book, monkeypatch):
    monkeypatch.setattr(text, "HELDOUT_TOKENS", 20)
    full, _ = d2l.load_corpus_time_machine()
    train_iter, vocab = d2l.load_data_time_machine(2, 3, max_tokens=30)
    assert train_iter.corpus == full[:30] and train_iter.vocab is vocab
    assert train_iter.heldout.tolist() == full[-20:]  # positions 46..65: after the training text
    X, Y = next(iter(train_iter))
    assert X.shape == Y.shape == (2, 3)
    assert len(train_iter) == (30 - 1) // 6
    # training text reaching into the end: no held-out text
    assert d2l.load_data_time_machine(2, 3, max_tokens=-1)[0].heldout is None
    assert d2l.load_data_time_machine(2, 3, max_tokens=50)[0].heldout is None


def test_seq_data_loader_random_iter_and_quick_mode(tiny_book, monkeypatch):
    train_iter, _ = d2l.load_data_time_machine(2, 3, use_random_iter=True, max_tokens=60)
    assert train_iter.data_iter_fn is d2l.seq_data_iter_random
    monkeypatch.setenv("D2L_QUICK", "1")
    assert text._quick_max_tokens(10_000) == 4_000
    assert text._quick_max_tokens(100_000) == 10_000
    assert text._quick_max_tokens(-1) == -1 and text._quick_max_tokens(60) == 60


def test_sequential_minibatches_are_copies_a_step_may_change_in_place():
    corpus = torch.arange(40)
    random.seed(1)
    batches = [(X.clone(), Y.clone()) for X, Y in d2l.seq_data_iter_sequential(corpus, 2, 4)]
    random.seed(1)
    for (X, Y), (X0, Y0) in zip(d2l.seq_data_iter_sequential(corpus, 2, 4), batches, strict=True):
        assert torch.equal(X, X0) and torch.equal(Y, Y0)  # Y not changed through X before it
        X.fill_(-1)  # e.g. a learner's in-place preprocessing
    assert torch.equal(corpus, torch.arange(40))  # nor the corpus a learner passed in


def _letters_only(line: str) -> str:
    """The reference for read_time_machine, written without a regular expression."""
    return " ".join(
        "".join(c if c.isascii() and c.isalpha() else " " for c in line).split()
    ).lower()


def test_the_pipeline_on_a_generated_book(monkeypatch, tmp_path):
    """What the real-text test below checks, on a made-up text in the same form."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    sha1 = data_fixtures.write_text(mirror / "timemachine.txt")
    monkeypatch.setitem(d2l.DATA_HUB, "time_machine", (d2l.DATA_URL + "timemachine.txt", sha1))
    monkeypatch.setenv("D2L_DATA_URL", mirror.as_uri())
    lines = d2l.read_time_machine()
    assert lines == [_letters_only(line) for line in data_fixtures.TEXT.splitlines()]
    assert len(lines) == 18 and lines[0] == "the clock garden by a n author"
    tokens = d2l.tokenize(lines)
    words = [w for line in tokens for w in line]
    counts = collections.Counter(words).most_common()  # equal counts: first seen first
    vocab = d2l.Vocab(tokens)
    assert vocab.idx_to_token == ["<unk>", *(w for w, _ in counts)]
    assert vocab.token_freqs[:3] == [("the", 24), ("a", 10), ("clock", 8)]  # counted by hand
    assert vocab[tokens[0]] == [1, 3, 4, vocab["by"], 2, vocab["n"], vocab["author"]]
    assert len(words) == 116
    corpus, char_vocab = d2l.load_corpus_time_machine()
    assert "".join(char_vocab.to_tokens(corpus)) == "".join(lines)
    assert len(char_vocab) == 1 + len(set("".join(lines)))
    bigrams = d2l.Vocab(list(zip(words[:-1], words[1:], strict=False)))
    assert bigrams.token_freqs[:3] == [
        (("the", "clock"), 5),
        (("the", "garden"), 4),
        (("and", "the"), 4),
    ]
    trigrams = d2l.Vocab(list(zip(words[:-2], words[1:-1], words[2:], strict=False)))
    assert trigrams.token_freqs[0] == (("a", "clock", "in"), 2)


REAL = SHARED / "timemachine.txt"


def test_the_books_printed_facts_on_the_real_text(monkeypatch):
    data_fixtures.real_data_or_skip([REAL], "the offline copy of the book's data in ../shared/data")
    monkeypatch.setenv("D2L_DATA_URL", SHARED.as_uri())
    lines = d2l.read_time_machine()
    assert len(lines) == 3221 and lines[0] == "the time machine by h g wells"
    tokens = d2l.tokenize(lines)
    vocab = d2l.Vocab(tokens)
    assert list(vocab.token_to_idx.items())[:4] == [("<unk>", 0), ("the", 1), ("i", 2), ("and", 3)]
    assert vocab[tokens[0]] == [1, 19, 50, 40, 2183, 2184, 400]
    assert len(vocab) == 4580 and sum(map(len, tokens)) == 32775
    assert vocab.token_freqs[:3] == [("the", 2261), ("i", 1267), ("and", 1245)]
    corpus, char_vocab = d2l.load_corpus_time_machine()
    assert (len(corpus), len(char_vocab)) == (170580, 28)
    words = [w for line in tokens for w in line]
    bigrams = d2l.Vocab(list(zip(words[:-1], words[1:], strict=False)))
    assert bigrams.token_freqs[:3] == [
        (("of", "the"), 309),
        (("in", "the"), 169),
        (("i", "had"), 130),
    ]
    trigrams = d2l.Vocab(list(zip(words[:-2], words[1:-1], words[2:], strict=False)))
    assert trigrams.token_freqs[0] == (("the", "time", "traveller"), 59)
