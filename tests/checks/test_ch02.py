"""Exercises of 02_pandas: the solutions pass, typical mistakes get their hints.

The checks call the learner's functions on generated tables (02.3 on a Kaggle-like CSV
in a temporary folder); the numbers measured on the book's Kaggle files are checked
against those files where they exist (../shared/data).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from data_fixtures import real_data_or_skip

from d2lhelpers.checks import ch02

from .helpers import fails_with, passes, verdict

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
TRAIN, TEST = SHARED / "kaggle_house_pred_train.csv", SHARED / "kaggle_house_pred_test.csv"


def house_tiny() -> pd.DataFrame:
    return ch02._house_tiny()


def drop_most_missing(df):
    return df.drop(columns=df.isna().sum().idxmax())


@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_02_1_drop_and_convert():
    data = house_tiny()
    t = torch.tensor(drop_most_missing(data).to_numpy(dtype=float))
    good = {"drop": drop_most_missing, "tensor": t}
    passes("02.1", good)
    # hand-made: Alley has 3 NaN, NumRooms 2, Price 0
    assert list(drop_most_missing(data).columns) == ["NumRooms", "Price"]
    assert t.shape == (6, 2) and int(torch.isnan(t).sum()) == 2
    passes("02.1", {**good, "tensor": t.float()})
    fails_with(
        "02.1", {**good, "drop": lambda df: df.drop(columns=df.isna().sum().idxmin())}, "最少"
    )
    fails_with("02.1", {**good, "drop": lambda df: df.dropna()}, "行")
    fails_with("02.1", {**good, "drop": lambda df: df.dropna(axis=1)}, "所有含缺失值的列")
    fails_with("02.1", {**good, "drop": lambda df: df}, "多出列")

    def in_place(df):  # deprecated in pandas 3.1, still what many tutorials show
        df.drop(columns=df.isna().sum().idxmax(), inplace=True)

    fails_with("02.1", {**good, "drop": in_place}, "inplace=True")
    fails_with("02.1", {**good, "tensor": t.nan_to_num(3.5)}, "原样留在张量里")
    fails_with("02.1", {**good, "tensor": t.tolist()}, "torch.Tensor")


def fill_median(df):
    return df.fillna(df.median(numeric_only=True))


def test_02_2_median():
    good = {"fill": fill_median, "gap": 1.05, "robust": "B"}
    passes("02.2", good)
    fails_with(
        "02.2", {**good, "fill": lambda df: df.fillna(df.mean(numeric_only=True))}, "均值补全"
    )
    fails_with("02.2", {**good, "fill": lambda df: df.fillna(df.median())}, "TypeError")
    fails_with("02.2", {**good, "fill": lambda df: df.select_dtypes("number").fillna(0)}, "缺少列")
    fails_with("02.2", {**good, "gap": -1.05}, "符号反了")
    fails_with("02.2", {**good, "gap": 1.31}, "raw_features")
    fails_with("02.2", {**good, "gap": 1.0}, "mean() 减去 median()")
    fails_with("02.2", {**good, "robust": "A"}, "10 倍")


def test_02_2_the_generated_tables_tell_mean_from_median():
    rng = np.random.default_rng(0)
    for _ in range(20):
        (df,) = ch02._mixed_frame(rng)
        assert not fill_median(df).equals(df.fillna(df.mean(numeric_only=True)))
        assert fill_median(df)["Alley"].isna().sum() == 2  # text NaN left for get_dummies


def read_kaggle(path):
    return pd.read_csv(path, keep_default_na=False, na_values=["NA"])


def test_02_3_reader_and_counts():
    good = {"reader": read_kaggle, "n_features": 331, "n_numeric": 25}
    passes("02.3", good)
    fails_with("02.3", {**good, "reader": pd.read_csv}, "None 仍被读成了缺失值")
    fails_with(
        "02.3",
        {**good, "reader": lambda p: pd.read_csv(p, keep_default_na=False)},
        "LotFrontage 成了文本列",
    )
    fails_with(
        "02.3",
        {**good, "reader": lambda p: pd.read_csv(p, dtype=str, na_filter=False)},
        "应为数值列",
    )
    fails_with("02.3", {**good, "n_features": 330}, "MasVnrType_nan")
    fails_with("02.3", {**good, "n_features": 6606}, "文本列")
    fails_with("02.3", {**good, "n_numeric": 36}, "na_values")


def test_02_3_the_csv_is_written_in_a_temporary_folder_and_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    seen = []
    reader = lambda p: seen.append(p) or read_kaggle(p)  # noqa: E731
    passes("02.3", {"reader": reader, "n_features": 331, "n_numeric": 25})
    assert seen and all(Path(p).is_relative_to(tmp_path) for p in seen)
    assert not any(Path(p).exists() for p in seen)


def standardize_with_train(train, test):
    mu, sigma = train.mean(), train.std()
    return (train - mu) / sigma, (test - mu) / sigma


def test_02_4_train_statistics():
    good = {"standardize": standardize_with_train, "why": "B"}
    passes("02.4", good)
    both = pd.concat  # the chapter's way: statistics of train and test together

    def with_both(train, test):
        all_ = both((train, test))
        return (train - all_.mean()) / all_.std(), (test - all_.mean()) / all_.std()

    fails_with("02.4", {**good, "standardize": with_both}, "合在一起")
    fails_with(
        "02.4",
        {
            **good,
            "standardize": lambda tr, te: (
                (tr - tr.mean()) / tr.std(),
                (te - te.mean()) / te.std(),
            ),
        },
        "它自己的",
    )
    fails_with(
        "02.4",
        {
            **good,
            "standardize": lambda tr, te: (
                (tr - tr.mean()) / tr.std(ddof=0),
                (te - tr.mean()) / tr.std(ddof=0),
            ),
        },
        "n − 1",
    )
    fails_with(
        "02.4", {**good, "standardize": lambda tr, te: standardize_with_train(tr, te)[0]}, "元组"
    )
    fails_with("02.4", {**good, "why": "A"}, "新房子")


def test_02_5_attribute_access():
    good = {
        "why": "B",
        "ways": (lambda df: df["1stFlrSF"], lambda df: df.loc[:, "1stFlrSF"]),
    }
    passes("02.5", good)
    passes(
        "02.5", {**good, "ways": (lambda df: df["1stFlrSF"], lambda df: getattr(df, "1stFlrSF"))}
    )
    fails_with(
        "02.5",
        {**good, "ways": (lambda df: df["1stFlrSF"], lambda df: df["1stFlrSF"])},
        "同一种写法",
    )
    fails_with(
        "02.5", {**good, "ways": (lambda df: df[["1stFlrSF"]], good["ways"][1])}, "双层方括号"
    )
    fails_with("02.5", {**good, "ways": (lambda df: df.iloc[:, 2], good["ways"][1])}, "按列名")
    fails_with("02.5", {**good, "ways": (good["ways"][0], lambda df: None)}, "两种方法")
    fails_with("02.5", {**good, "why": "A"}, "SyntaxError")
    # the fact behind choice B
    try:
        compile("train_data.1stFlrSF", "<cell>", "eval")
        raise AssertionError("expected a SyntaxError")
    except SyntaxError:
        pass


def test_scaffold_functions_are_unanswered():
    none = lambda *a: None  # noqa: E731
    assert verdict("02.1", {"drop": none, "tensor": None}).passed is None
    assert verdict("02.2", {"fill": none, "gap": None, "robust": None}).passed is None
    assert verdict("02.3", {"reader": none, "n_features": None, "n_numeric": None}).passed is None
    assert verdict("02.4", {"standardize": none, "why": None}).passed is None
    assert verdict("02.5", {"why": None, "ways": (none, none)}).passed is None


def test_checks_leave_the_learners_random_state_alone():
    np.random.seed(0)
    torch.manual_seed(0)
    expected = np.random.rand(3), torch.rand(3)
    np.random.seed(0)
    torch.manual_seed(0)
    passes("02.1", {"drop": drop_most_missing, "tensor": ch02._house_tiny_tensor()})
    passes("02.4", {"standardize": standardize_with_train, "why": "B"})
    assert np.array_equal(np.random.rand(3), expected[0])
    assert torch.equal(torch.rand(3), expected[1])


def test_none_and_wrong_types_get_a_verdict():
    for i in ("02.1", "02.2", "02.3", "02.4", "02.5"):
        assert verdict(i, None).passed is None
        for wrong in ("x", [1, 2], 3.0, torch.zeros(2), pd.DataFrame({"a": [1]})):
            assert verdict(i, wrong).passed is False
    for wrong in ("x", 3, pd.Series([1.0])):
        assert verdict("02.1", {"drop": wrong, "tensor": None}).passed is False
        assert verdict("02.5", {"ways": wrong}).passed is False


# ----------------------------------------------------------------------------- real files


def _pipeline(train: pd.DataFrame, test: pd.DataFrame) -> pd.DataFrame:
    """The chapter's preprocessing, step by step."""
    features = pd.concat((train.iloc[:, 1:-1], test.iloc[:, 1:]))
    numeric = features.select_dtypes(include="number").columns
    features[numeric] = features[numeric].apply(lambda x: (x - x.mean()) / x.std())
    features[numeric] = features[numeric].fillna(0)
    return pd.get_dummies(features, dummy_na=True)


def test_the_measured_numbers_on_the_book_files():
    real_data_or_skip([TRAIN, TEST], "the offline copy in ../shared/data")
    train = pd.read_csv(TRAIN)
    lot = train["LotFrontage"]
    assert np.isclose(lot.mean() - lot.median(), ch02.LOT_FRONTAGE_MEAN_MINUS_MEDIAN)
    both = pd.concat((train, pd.read_csv(TEST)))["LotFrontage"]
    assert np.isclose(both.mean() - both.median(), ch02.LOT_FRONTAGE_BOTH_SETS)
    for options, n_features, n_numeric in [
        ({}, ch02.N_FEATURES_DEFAULT, ch02.N_NUMERIC),
        (
            {"keep_default_na": False, "na_values": ["NA"]},
            ch02.N_FEATURES_NONE_KEPT,
            ch02.N_NUMERIC,
        ),
        ({"keep_default_na": False}, ch02.N_FEATURES_NA_AS_TEXT, ch02.N_NUMERIC_NA_AS_TEXT),
    ]:
        tr, te = pd.read_csv(TRAIN, **options), pd.read_csv(TEST, **options)
        features = pd.concat((tr.iloc[:, 1:-1], te.iloc[:, 1:]))
        assert len(features.select_dtypes(include="number").columns) == n_numeric, options
        assert _pipeline(tr, te).shape == (2919, n_features), options
