"""Machine-translation data: a tiny hand-written fra.txt served from a temp mirror folder."""

from __future__ import annotations

import pytest
import torch

import d2lhelpers as d2l

FRA = "Go.\tVa !\nHi.\tSalut !\nRun!\tCours\u202f!\nRun!\tCourez\u202f!\nWho?\tQui ?\nWow!\tÇa alors\u202f!\n"


@pytest.fixture
def tiny_fra(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    (mirror / "fra-eng").mkdir(parents=True)
    (mirror / "fra-eng" / "fra.txt").write_text(FRA, encoding="utf-8")
    monkeypatch.setenv("D2L_DATA_URL", mirror.as_uri())
    return FRA


def test_read_data_nmt_returns_the_file(tiny_fra):
    assert d2l.read_data_nmt() == tiny_fra


def test_preprocess_nmt_spaces_punctuation_and_lowers():
    assert d2l.preprocess_nmt("Go.\tVa !") == "go .\tva !"
    assert d2l.preprocess_nmt("Run!\tCours\u202f!") == "run !\tcours !"
    assert d2l.preprocess_nmt("Hi,\xa0you?") == "hi , you ?"


def test_tokenize_nmt_keeps_exactly_num_examples_pairs(tiny_fra):
    text = d2l.preprocess_nmt(tiny_fra)
    source, target = d2l.tokenize_nmt(text)
    assert len(source) == len(target) == 6  # the trailing empty line is skipped
    assert source[0] == ["go", "."] and target[0] == ["va", "!"]
    for n in (0, 1, 3, 6, 10):
        s, t = d2l.tokenize_nmt(text, n)
        assert len(s) == len(t) == min(n, 6)


def test_truncate_pad():
    assert d2l.truncate_pad([47, 4], 10, 1) == [47, 4, 1, 1, 1, 1, 1, 1, 1, 1]
    assert d2l.truncate_pad([1, 2, 3, 4], 3, 0) == [1, 2, 3]
    assert d2l.truncate_pad([5, 6, 7], 3, 0) == [5, 6, 7]


def test_build_array_nmt_appends_eos_and_counts_valid_tokens():
    vocab = d2l.Vocab([["a", "b"]], reserved_tokens=["<pad>", "<bos>", "<eos>"])
    # indices: <unk> 0, <pad> 1, <bos> 2, <eos> 3, a 4, b 5
    array, valid_len = d2l.build_array_nmt([["a"], ["b", "a", "b", "a"], ["z"]], vocab, 4)
    assert array.tolist() == [[4, 3, 1, 1], [5, 4, 5, 4], [0, 3, 1, 1]]
    assert valid_len.tolist() == [2, 4, 2]


def test_load_data_nmt_vocab_and_batches(tiny_fra):
    data_iter, src_vocab, tgt_vocab = d2l.load_data_nmt(batch_size=2, num_steps=5, num_examples=4)
    # source tokens of the 4 pairs: go . hi . run ! run ! -> "." twice, "run" twice, "!" twice
    assert src_vocab.idx_to_token[:4] == ["<unk>", "<pad>", "<bos>", "<eos>"]
    assert sorted(src_vocab.idx_to_token[4:]) == ["!", ".", "run"]
    assert sorted(tgt_vocab.idx_to_token[4:]) == ["!"]  # only "!" appears twice in French
    batches = list(data_iter)
    assert len(batches) == 2
    X, X_valid_len, Y, Y_valid_len = batches[0]
    assert X.shape == Y.shape == (2, 5)
    assert X_valid_len.shape == (2,)
    assert sorted(torch.cat([b[1] for b in batches]).tolist()) == [3, 3, 3, 3]


def test_show_list_len_pair_hist_draws_two_bar_sets_and_leaves_rcparams_alone():
    import matplotlib

    rc = dict(matplotlib.rcParams)
    matplotlib.rcParams["figure.figsize"] = (6.0, 4.0)  # a learner's own setting
    try:
        xs, ys = [[1], [1, 2], [1, 2]], [[1, 2, 3]]
        ax = d2l.show_list_len_pair_hist(["src", "tgt"], "len", "count", xs, ys)
        assert matplotlib.rcParams["figure.figsize"] == [6.0, 4.0]  # not reset to the book's size
        assert tuple(ax.figure.get_size_inches()) == (3.5, 2.5)  # the book's size, on the figure
        src, tgt = ax.containers
        assert sum(p.get_height() for p in src) == 3 and sum(p.get_height() for p in tgt) == 1
        assert {p.get_hatch() for p in tgt} == {"/"} and {p.get_hatch() for p in src} == {None}
        assert ax.get_xlabel() == "len" and ax.get_ylabel() == "count"
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["src", "tgt"]
    finally:
        matplotlib.rcParams.update(rc)
        d2l.plt.close("all")
