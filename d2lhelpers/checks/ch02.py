"""Exercises of 02_pandas.ipynb (练习 02.1 to 02.5).

The learner's functions are called on small tables made afresh for every check (02.3's
on a Kaggle-like CSV written to a temporary folder), so no check reads a data set or
needs the network. Two answers are numbers of the book's Kaggle house-price files
(`kaggle_house_train`, `kaggle_house_test`, pinned by SHA-1 in the data hub); they
were measured with pandas 3.1 and are checked against the real files by the tests.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from .checkers import choice, number, parts, tensor, value
from .core import Unanswered, Verdict, exercise

Checker = Callable[[Any], Verdict]

# Measured on the book's files (tests/checks/test_ch02.py checks them where the files exist).
LOT_FRONTAGE_MEAN_MINUS_MEDIAN = 70.04995836802665 - 69.0  # train_data only
LOT_FRONTAGE_BOTH_SETS = 69.30579531442663 - 68.0  # train and test together (a mistake)
N_FEATURES_NONE_KEPT = 331  # keep_default_na=False, na_values=['NA']: 'None' is a category
N_FEATURES_DEFAULT = 330  # pandas >= 2 reads 'None' as missing
N_FEATURES_NA_AS_TEXT = 6606  # keep_default_na=False alone: 'NA' numbers become text
N_NUMERIC_NA_AS_TEXT = 25  # select_dtypes(include='number') of all_features, 'NA' as text
N_NUMERIC = 36


def _rng() -> np.random.Generator:
    """A generator of its own, so a check never moves the learner's random state."""
    return np.random.default_rng(secrets.randbits(63))


def _type_name(x: object) -> str:
    return type(x).__name__


# ----------------------------------------------------------------------------- tables


def _frame_problem(got: Any, expected: pd.DataFrame, what: str = "结果") -> str | None:
    """None when `got` equals `expected` (same columns, index and values, NaN where it
    has NaN, numbers within 1e-9); otherwise why not, as a hint."""
    if not isinstance(got, pd.DataFrame):
        extra = ""
        if isinstance(got, pd.Series):
            extra = "（一列的 Series？要返回整张表）"
        elif isinstance(got, torch.Tensor | np.ndarray):
            extra = "（这一步先不转换成张量）"
        return f"{what}应为 DataFrame，你的是 {_type_name(got)}{extra}。"
    want, have = [str(c) for c in expected.columns], [str(c) for c in got.columns]
    if want != have:
        missing = [c for c in want if c not in have]
        surplus = [c for c in have if c not in want]
        if not missing and not surplus:
            return f"{what}的列顺序变了：应为 {want}。"
        parts_ = [f"缺少列 {missing}"] if missing else []
        parts_ += [f"多出列 {surplus}"] if surplus else []
        return f"{what}：" + "，".join(parts_) + "。"
    if len(got) != len(expected):
        return f"{what}应有 {len(expected)} 行，你的有 {len(got)} 行。"
    if not got.index.equals(expected.index):
        return f"{what}的行索引变了（应为 {list(expected.index)[:8]}…）。"
    for col in expected.columns:
        e, g = expected[col], got[col]
        if pd.api.types.is_numeric_dtype(e) and not pd.api.types.is_bool_dtype(e):
            if not pd.api.types.is_numeric_dtype(g) or pd.api.types.is_bool_dtype(g):
                return f"列 {col!r} 应为数值列，你的 dtype 是 {g.dtype}。"
            ge, gg = e.to_numpy(dtype=float), g.to_numpy(dtype=float)
            if not np.array_equal(np.isnan(ge), np.isnan(gg)):
                return f"列 {col!r} 里缺失值（NaN）的位置不对。"
            if not np.allclose(gg, ge, rtol=1e-9, atol=1e-9, equal_nan=True):
                return f"列 {col!r} 的值不对。"
        else:
            if not np.array_equal(e.isna().to_numpy(), g.isna().to_numpy()):
                return f"列 {col!r} 里缺失值（NaN）的位置不对。"
            keep = e.notna().to_numpy()
            if [str(v) for v in g[keep]] != [str(v) for v in e[keep]]:
                return f"列 {col!r} 的值不对。"
    return None


def _result_problem(got: Any, expected: Any) -> str | None:
    """A DataFrame, or a tuple of them, compared with `_frame_problem`."""
    if isinstance(expected, tuple):
        if not isinstance(got, tuple | list) or len(got) != len(expected):
            return f"应返回含 {len(expected)} 张表的元组，你的是 {_type_name(got)}。"
        for k, (g, e) in enumerate(zip(got, expected, strict=True)):
            why = _frame_problem(g, e, f"第 {k} 个结果")
            if why:
                return why
        return None
    return _frame_problem(got, expected)


def _copies(args: tuple) -> tuple:
    return tuple(a.copy(deep=True) if isinstance(a, pd.DataFrame) else a for a in args)


def _table_function(
    reference: Callable[..., Any],
    make_inputs: Callable[[np.random.Generator], tuple],
    *,
    trials: int = 3,
    mistakes: Sequence[tuple[Callable[..., Any], str]] = (),
) -> Checker:
    """Like `checkers.function`, for functions of DataFrames that return DataFrames.

    Each trial calls the learner's function on fresh tables (copies: the originals stay
    for the reference). A function that returns None after changing its input (pandas'
    `inplace=True`) gets a hint of its own.
    """

    def check(answer: Any) -> Verdict:
        if not callable(answer):
            return Verdict(False, f"请给出一个函数（def ...），你给的是 {_type_name(answer)}。")
        rng = _rng()
        for trial in range(trials):
            args = make_inputs(rng)
            mine = _copies(args)
            got = answer(*mine)
            if got is None:
                changed = any(
                    isinstance(a, pd.DataFrame) and not a.equals(m)
                    for a, m in zip(args, mine, strict=True)
                )
                if changed:
                    return Verdict(
                        False,
                        "你的函数返回了 None，却改动了传入的表：inplace=True 的方法返回 None。"
                        "请 return 一张新表。",
                    )
                if trial == 0:
                    raise Unanswered
                return Verdict(False, "你的函数对新的输入返回了 None。")
            why = _result_problem(got, reference(*_copies(args)))
            if why is None:
                continue
            for wrong, hint in mistakes:
                try:
                    with (
                        warnings.catch_warnings()
                    ):  # a mistake's own warnings are not the learner's
                        warnings.simplefilter("ignore")
                        same = _result_problem(got, wrong(*_copies(args))) is None
                except Exception:
                    same = False
                if same:
                    return Verdict(False, hint)
            shape = " × ".join(str(s) for s in args[0].shape)
            return Verdict(False, f"对一张新的 {shape} 的表：{why}")
        return Verdict(True)

    return check


# ----------------------------------------------------------------------------- 02.1

_NUMERIC_NAMES = ["NumRooms", "LotFrontage", "GarageArea", "MasVnrArea", "BsmtFinSF1"]
_TEXT_NAMES = ["Alley", "PoolQC", "Fence"]


def _frame_with_gaps(rng: np.random.Generator) -> tuple[pd.DataFrame]:
    """3-5 columns (one of them text, most of the time), each with a different number of NaN."""
    n_rows, k = int(rng.integers(7, 12)), int(rng.integers(3, 6))
    names = list(rng.choice(_NUMERIC_NAMES, k - 1, replace=False))
    names.insert(int(rng.integers(0, k)), str(rng.choice(_TEXT_NAMES)))
    counts = rng.choice(np.arange(1, n_rows - 1), k, replace=False)  # distinct, never all NaN
    columns: dict[str, Any] = {}
    for name, n_missing in zip(names, counts, strict=True):
        values: np.ndarray
        if name in _TEXT_NAMES:
            values = rng.choice(np.array(["Pave", "Grvl", "Gd", "TA"], dtype=object), n_rows)
        else:
            values = rng.integers(1, 300, n_rows).astype(float)
        values[rng.choice(n_rows, int(n_missing), replace=False)] = np.nan
        columns[str(name)] = values
    return (pd.DataFrame(columns),)


def _drop_most_missing(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=df.isna().sum().idxmax())


def _house_tiny() -> pd.DataFrame:
    """The chapter's house_tiny.csv, as read_csv reads it (NA -> NaN)."""
    return pd.DataFrame(
        {
            "NumRooms": [3.0, np.nan, 2.0, 4.0, np.nan, 5.0],
            "Alley": ["Pave", np.nan, np.nan, "Grvl", "Pave", np.nan],
            "Price": [152000, 118500, 99000, 210000, 165000, 238000],
        }
    )


def _house_tiny_tensor() -> torch.Tensor:
    return torch.tensor(_drop_most_missing(_house_tiny()).to_numpy(dtype=float))


exercise("02.1", "删除缺失值最多的列，再转换为张量")(
    parts(
        drop=_table_function(
            _drop_most_missing,
            _frame_with_gaps,
            mistakes=[
                (
                    lambda df: df.drop(columns=df.isna().sum().idxmin()),
                    "你删掉的是缺失值最少的那一列。",
                ),
                (lambda df: df.drop(columns=df.count().idxmax()), "你删掉的是缺失值最少的那一列。"),
                (lambda df: df.dropna(), "dropna() 删除的是含缺失值的行；题目要删的是一列。"),
                (
                    lambda df: df.dropna(axis=1),
                    "dropna(axis=1) 删掉了所有含缺失值的列；题目只删缺失值最多的那一列。",
                ),
            ],
        ),
        tensor=tensor(
            _house_tiny_tensor,
            mistakes=[
                (
                    lambda: torch.tensor(
                        _drop_most_missing(_house_tiny()).fillna(3.5).to_numpy(dtype=float)
                    ),
                    "题目只要求删列和转换：缺失值先原样留在张量里（NaN）。",
                ),
            ],
        ),
        explanation=(
            "data.isna().sum() 数出每列的缺失个数，idxmax() 给出最多的那一列（Alley，3 个），"
            "drop(columns=...) 返回一张新表。剩下的 NumRooms 和 Price 都是数值，"
            "to_numpy(dtype=float) 之后就能转成张量；NumRooms 的 NaN 原样进了张量，训练前仍要插补。"
        ),
    )
)


# ----------------------------------------------------------------------------- 02.2


def _mixed_frame(rng: np.random.Generator) -> tuple[pd.DataFrame]:
    """2-4 numeric columns with NaN and one outlier each, and a text column with NaN."""
    n_rows, k = int(rng.integers(6, 11)), int(rng.integers(2, 5))
    columns: dict[str, Any] = {}
    for name in rng.choice(_NUMERIC_NAMES, k, replace=False):
        values = rng.integers(20, 120, n_rows).astype(float)
        values[int(rng.integers(0, n_rows))] *= (
            10  # an extreme value: the mean moves, the median barely
        )
        values[rng.choice(n_rows, int(rng.integers(1, n_rows // 2)), replace=False)] = np.nan
        columns[str(name)] = values
    text = rng.choice(np.array(["Pave", "Grvl"], dtype=object), n_rows)
    text[rng.choice(n_rows, 2, replace=False)] = np.nan
    columns["Alley"] = text
    return (pd.DataFrame(columns),)


exercise("02.2", "用中位数补全缺失值；均值与中位数谁更稳健")(
    parts(
        fill=_table_function(
            lambda df: df.fillna(df.median(numeric_only=True)),
            _mixed_frame,
            mistakes=[
                (
                    lambda df: df.fillna(df.mean(numeric_only=True)),
                    "这是用均值补全的，题目要中位数。",
                ),
                (
                    lambda df: df.fillna(0),
                    "缺失值被填成了 0（文本列里的 NaN 也被填了）：要用每个数值列自己的中位数。",
                ),
            ],
        ),
        gap=number(
            LOT_FRONTAGE_MEAN_MINUS_MEDIAN,
            atol=5e-3,
            mistakes=[
                (-LOT_FRONTAGE_MEAN_MINUS_MEDIAN, "符号反了：题目问的是均值减中位数。"),
                (
                    LOT_FRONTAGE_BOTH_SETS,
                    "这是训练集和测试集合在一起（raw_features）的结果；题目用训练集 train_data。",
                ),
            ],
            hint="用训练集 train_data 的 LotFrontage 列：它的 mean() 减去 median()（缺失值自动跳过）。",
        ),
        robust=choice(
            "B",
            "AB",
            hints={"A": "把一个值改成它的 10 倍，分别看均值和中位数变了多少。"},
        ),
        explanation=(
            "df.median(numeric_only=True) 与 mean 一样只对数值列计算，fillna 按列名对齐，文本列的 NaN "
            "原样留给 get_dummies。中位数只看排在中间的值：一个极端值可以把均值拉走很远，"
            "却几乎不动中位数。LotFrontage 右偏（最大 313），所以均值比中位数大约 1。"
        ),
    )
)


# ----------------------------------------------------------------------------- 02.3

_VENEERS = ["None", "BrkFace", "Stone", "NA"]


def _write_kaggle_like(folder: str, rng: np.random.Generator) -> str:
    """A small CSV in the Kaggle file's style: 'NA' for missing, the text 'None' a category."""
    n = int(rng.integers(6, 11))
    frontage = [str(int(v)) for v in rng.integers(21, 200, n)]
    veneer = [str(v) for v in rng.choice(_VENEERS, n)]
    alley = [str(v) for v in rng.choice(["Pave", "Grvl", "NA"], n)]
    i, j = rng.choice(n, 2, replace=False)
    veneer[i], veneer[j] = "None", "NA"  # at least one of each
    frontage[int(rng.integers(0, n))] = "NA"
    path = os.path.join(folder, "kaggle_like.csv")
    with open(path, "w", encoding="utf-8") as f:
        f.write("Id,LotFrontage,MasVnrType,Alley,SalePrice\n")
        for k in range(n):
            price = int(rng.integers(50, 500)) * 1000
            f.write(f"{k + 1},{frontage[k]},{veneer[k]},{alley[k]},{price}\n")
    return path


def _check_reader(answer: Any) -> Verdict:
    """`read_kaggle(path)` on fresh Kaggle-like CSVs written to a temporary folder."""
    if not callable(answer):
        return Verdict(False, f"请给出一个函数（def ...），你给的是 {_type_name(answer)}。")
    rng = _rng()
    with tempfile.TemporaryDirectory() as folder:
        for trial in range(3):
            path = _write_kaggle_like(folder, rng)
            got = answer(path)
            if got is None:
                if trial == 0:
                    raise Unanswered
                return Verdict(False, "你的函数对新的文件返回了 None。")
            why = _frame_problem(got, pd.read_csv(path, keep_default_na=False, na_values=["NA"]))
            if why is None:
                continue
            if _frame_problem(got, pd.read_csv(path)) is None:
                return Verdict(
                    False,
                    "文本 None 仍被读成了缺失值：pandas 2 起它在 read_csv 默认的缺失值列表里。",
                )
            if _frame_problem(got, pd.read_csv(path, keep_default_na=False)) is None:
                return Verdict(
                    False,
                    "'NA' 没被当作缺失值，于是 LotFrontage 成了文本列：还要告诉 read_csv 哪些文本算缺失。",
                )
            return Verdict(False, f"对一个新的 CSV 文件：{why}")
    return Verdict(True)


exercise("02.3", "让 MasVnrType 的 None 成为独立类别：331 个特征")(
    parts(
        reader=_check_reader,
        n_features=value(
            N_FEATURES_NONE_KEPT,
            mistakes=[
                (N_FEATURES_DEFAULT, "这是本章的列数：None 仍被并进了 MasVnrType_nan。"),
                (
                    N_FEATURES_NA_AS_TEXT,
                    "'NA' 没被当作缺失值：数值列成了文本列，独热编码把每个不同的数都变成了一列。",
                ),
                (79, "这是独热编码之前的列数。"),
                ((2919, N_FEATURES_NONE_KEPT), "只要列数：shape[1]。"),
            ],
            hint="按本章的步骤走一遍：拼接、标准化数值列、填 0、get_dummies(dummy_na=True)，再数列数。",
        ),
        n_numeric=value(
            N_NUMERIC_NA_AS_TEXT,
            mistakes=[
                (
                    N_NUMERIC,
                    "36 是加上 na_values=['NA'] 时的数值列数；这一问只写 keep_default_na=False。",
                ),
                (35, "像是只数了训练集（含 Id 和 SalePrice）：数拼接后的特征 all_features。"),
            ],
            hint="只写 keep_default_na=False 读两个文件，像本章一样拼接特征，再用 select_dtypes(include='number') 数。",
        ),
        explanation=(
            "keep_default_na=False 关掉 pandas 默认的缺失值列表（其中有 'NA'、'None'、'' 等），"
            "na_values=['NA'] 再只把 'NA' 当作缺失。于是 None 成了 MasVnrType 的一个类别，独热编码多出一列，"
            "共 331 列；数值列里的缺失也写作 'NA'，照样被识别，select_dtypes 仍选出 36 列。"
            "只关掉默认列表时，含 'NA' 的数值列成了文本列，只剩 25 个数值列。"
        ),
    )
)


# ----------------------------------------------------------------------------- 02.4


def _train_test(rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A training and a test table with the same numeric columns; the test set is shifted."""
    names = [str(c) for c in rng.choice(_NUMERIC_NAMES, int(rng.integers(2, 5)), replace=False)]

    def table(n: int, loc: float, scale: float) -> pd.DataFrame:
        data = rng.normal(loc, scale, (n, len(names)))
        data[rng.integers(0, n), rng.integers(0, len(names))] = np.nan
        return pd.DataFrame(data, columns=names)

    n_train, n_test = int(rng.integers(8, 13)), int(rng.integers(5, 9))
    return table(n_train, 100.0, 20.0), table(n_test, 130.0, 40.0)


def _standardize_with(train: pd.DataFrame, test: pd.DataFrame, mu: Any, sigma: Any) -> Any:
    return (train - mu) / sigma, (test - mu) / sigma


def _standardize_with_train(train: pd.DataFrame, test: pd.DataFrame) -> Any:
    return _standardize_with(train, test, train.mean(), train.std())


def _standardize_with_both(train: pd.DataFrame, test: pd.DataFrame) -> Any:
    both = pd.concat((train, test))
    return _standardize_with(train, test, both.mean(), both.std())


def _standardize_each(train: pd.DataFrame, test: pd.DataFrame) -> Any:
    return (train - train.mean()) / train.std(), (test - test.mean()) / test.std()


exercise("02.4", "只用训练集的统计量做标准化")(
    parts(
        standardize=_table_function(
            _standardize_with_train,
            _train_test,
            mistakes=[
                (
                    _standardize_with_both,
                    "这是训练集和测试集合在一起的均值和标准差（本章原来的做法）：题目只用训练集的。",
                ),
                (
                    _standardize_each,
                    "测试集用了它自己的均值和标准差：测试集也要减训练集的 μ、除以训练集的 σ。",
                ),
                (
                    lambda tr, te: _standardize_with(tr, te, tr.mean(), tr.std(ddof=0)),
                    "标准差的分母不对：本章用 pandas 的 std()，默认除以 n − 1（ddof=1）。",
                ),
            ],
        ),
        why=choice(
            "B",
            "ABCD",
            hints={
                "A": "样本多少不是关键：想想模型上线以后，一套新房子的数据到来时，你手上有哪些数据。",
                "C": "求特征的均值和标准差并不需要标签。",
                "D": "标准化只在训练前做一次，与训练的速度无关。",
            },
        ),
        explanation=(
            "预处理是模型的一部分：它的参数（μ、σ）和权重一样只能从训练数据学到，"
            "再原样用在测试集和以后的新数据上。部署时新数据一条条到来，根本没有“测试集的统计量”；"
            "评估时用了测试集的统计量，就让测试信息漏进了训练，评估结果偏乐观。"
        ),
    )
)


# ----------------------------------------------------------------------------- 02.5

_KAGGLE_COLUMNS = ["Id", "MSSubClass", "1stFlrSF", "2ndFlrSF", "GrLivArea", "SalePrice"]


def _kaggle_columns(rng: np.random.Generator) -> pd.DataFrame:
    names = [str(c) for c in rng.permutation(_KAGGLE_COLUMNS)]
    n = int(rng.integers(4, 8))
    return pd.DataFrame({c: rng.integers(300, 2000, n) for c in names})


def _code_of(f: Callable[..., Any]) -> tuple:
    code = getattr(f, "__code__", None)
    return (code.co_code, code.co_consts, code.co_names) if code is not None else (id(f),)


def _check_two_ways(answer: Any) -> Verdict:
    """Two functions, each returning the column 1stFlrSF of a fresh table, written differently."""
    if not isinstance(answer, tuple | list) or len(answer) != 2:
        return Verdict(
            False, f"请给出两个函数组成的元组 (way1, way2)，你给的是 {_type_name(answer)}。"
        )
    if not all(callable(f) for f in answer):
        return Verdict(False, "(way1, way2) 里的两项都应是函数。")
    rng = _rng()
    unanswered = 0
    for k, f in enumerate(answer, start=1):
        for trial in range(3):
            df = _kaggle_columns(rng)
            got = f(df.copy())
            if got is None:
                if trial == 0:
                    unanswered += 1
                    break
                return Verdict(False, f"way{k} 对新的表返回了 None。")
            if isinstance(got, pd.DataFrame):
                return Verdict(
                    False,
                    f"way{k} 返回的是 DataFrame：双层方括号 [['...']] 得到一列的表，要的是 Series。",
                )
            if not isinstance(got, pd.Series):
                return Verdict(False, f"way{k} 应返回一列（Series），你的是 {_type_name(got)}。")
            if len(got) == len(df) and np.array_equal(got.to_numpy(), df["1stFlrSF"].to_numpy()):
                continue
            if any(
                len(got) == len(df) and np.array_equal(got.to_numpy(), df[c].to_numpy())
                for c in df.columns
            ):
                return Verdict(
                    False,
                    f"way{k} 取到了另一列：按位置取列时，列在别的表里可能在别的位置，要按列名取。",
                )
            return Verdict(False, f"way{k} 返回的不是 1stFlrSF 这一列。")
    if unanswered == 2:
        raise Unanswered
    if unanswered == 1:
        return Verdict(False, "还有一个函数返回 None：要写出两种方法。")
    if _code_of(answer[0]) == _code_of(answer[1]):
        return Verdict(False, "两个函数是同一种写法：换一种按列名取列的方法。")
    return Verdict(True)


exercise("02.5", "train_data.1stFlrSF 为什么是语法错误；两种正确的写法")(
    parts(
        why=choice(
            "B",
            "ABCD",
            hints={
                "A": "报的是 SyntaxError：代码还没开始运行，pandas 还没机会去找这一列。",
                "C": "本章的 submission.Id 就是属性访问：pandas 允许它。问题出在这个列名上。",
                "D": "Python 的名字区分大小写，但混用大小写并不违法，比如 SalePrice。",
            },
        ),
        ways=_check_two_ways,
        explanation=(
            "Python 的名字（标识符）不能以数字开头：解析 train_data.1stFlrSF 时，1 被当作数字字面量的开头，"
            "后面紧跟字母就成了 SyntaxError，pandas 根本没有运行。按列名取列的写法都可以："
            "train_data['1stFlrSF']、train_data.loc[:, '1stFlrSF']、getattr(train_data, '1stFlrSF')。"
        ),
    )
)
