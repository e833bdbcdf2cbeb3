"""Exercises of 15_keys: the solutions pass, typical mistakes get their hints."""

from __future__ import annotations

import torch

from .helpers import fails_with, passes, verdict


def rows(x):
    return x.permute(2, 0, 1).reshape(x.shape[2], -1)


def distances(A, B):
    return ((A.unsqueeze(1) - B.unsqueeze(0)) ** 2).sum(-1).sqrt()


def sequence_mask(X, valid_len, value=0):
    mask = torch.arange(X.shape[1])[None, :] < valid_len[:, None]
    return X.masked_fill(~mask, value)


def mask_3d(X, valid_lens, value):
    lens = torch.repeat_interleave(valid_lens, X.shape[1])
    return sequence_mask(X.reshape(-1, X.shape[-1]), lens, value).reshape(X.shape)


def sequence_mask_inplace(X, valid_len, value=0):
    mask = torch.arange(X.shape[1])[None, :] < valid_len[:, None]
    X[~mask] = value
    return X


def bn_by_hand(bn, X):
    return (X - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias


def running_after(mu, momentum, k):
    r = 0.0
    for _ in range(k):
        r = (1 - momentum) * r + momentum * mu
    return r


SHEET = [
    [
        "`x.reshape(y.shape)`",
        "转为与 y 同形状",
        "[05 线性神经网络 · 模型](05_linear_networks.ipynb#a)",
    ],
    ["`torch.where(cond, a, b)`", "逐元素二选一", "本页"],
]
ROW = ["`x.T`", "二维张量的转置", "[03 线性代数 · 矩阵](03_linear_algebra.ipynb#矩阵-Matrices)"]

GOOD = {
    "15.1": {"rows": rows, "view": True},
    "15.2": distances,
    "15.3": {"copy": sequence_mask, "three_d": mask_3d, "in_place": sequence_mask_inplace},
    "15.4": {"by_hand": bn_by_hand, "running": running_after, "batches": 44},
    "15.5": {"row": ROW, "sheet": [*SHEET, ROW]},
}


def test_15_1_permute_reshape():
    good = GOOD["15.1"]
    passes("15.1", good)
    passes(
        "15.1",
        {**good, "rows": lambda x: torch.stack([x[:, :, i].flatten() for i in range(x.shape[2])])},
    )
    fails_with("15.1", {**good, "rows": lambda x: x.reshape(x.shape[2], -1)}, "只 reshape")
    fails_with(
        "15.1", {**good, "rows": lambda x: x.permute(2, 1, 0).reshape(x.shape[2], -1)}, "转置"
    )
    fails_with("15.1", {**good, "rows": lambda x: x.reshape(-1, x.shape[2])}, "每一列")
    fails_with("15.1", {**good, "view": False}, "不连续不等于不能 view")


def test_15_2_distance_matrix():
    passes("15.2", distances)
    passes("15.2", torch.cdist)
    fails_with("15.2", lambda A, B: ((A.unsqueeze(1) - B.unsqueeze(0)) ** 2).sum(-1), "平方")
    fails_with("15.2", lambda A, B: distances(B, A), "反了")
    fails_with("15.2", lambda A, B: (A.unsqueeze(1) - B.unsqueeze(0)).abs().sum(-1), "L1")
    fails_with(
        "15.2", lambda A, B: ((A - B) ** 2).sum(-1).sqrt(), "出错"
    )  # n != m: broadcasting fails


def test_15_3_sequence_mask():
    good = GOOD["15.3"]
    passes("15.3", good)
    fails_with("15.3", {**good, "copy": sequence_mask_inplace}, "改写了传入的 X")
    fails_with("15.3", {**good, "in_place": sequence_mask}, "没有被修改")
    fails_with(
        "15.3",
        {**good, "in_place": lambda X, v, value=0: sequence_mask_inplace(X, v, value).clone()},
        "return X",
    )

    def wrong_side(X, valid_len, value=0):
        mask = torch.arange(X.shape[1])[None, :] < valid_len[:, None]
        return X.masked_fill(mask, value)

    fails_with("15.3", {**good, "copy": wrong_side}, "反了")
    fails_with("15.3", {**good, "copy": lambda X, v, value=0: X.clone()}, "什么都没有替换")

    def repeat_not_interleave(X, valid_lens, value):
        lens = valid_lens.repeat(X.shape[1])
        return sequence_mask(X.reshape(-1, X.shape[-1]), lens, value).reshape(X.shape)

    fails_with("15.3", {**good, "three_d": repeat_not_interleave}, "repeat_interleave")


def test_15_4_batch_norm():
    good = GOOD["15.4"]
    passes("15.4", good)
    fails_with(
        "15.4",
        {
            **good,
            "by_hand": lambda bn, X: (
                (X - X.mean(0)) / torch.sqrt(X.var(0, unbiased=False) + bn.eps) * bn.weight
                + bn.bias
            ),
        },
        "训练模式",
    )
    fails_with(
        "15.4",
        {
            **good,
            "by_hand": lambda bn, X: (
                (X - bn.running_mean) / torch.sqrt(bn.running_var) * bn.weight + bn.bias
            ),
        },
        "eps",
    )
    fails_with(
        "15.4",
        {
            **good,
            "by_hand": lambda bn, X: (X - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps),
        },
        "γ",
    )
    fails_with("15.4", {**good, "by_hand": lambda bn, X: bn(X)}, "手工计算")
    fails_with("15.4", {**good, "running": lambda mu, m, k: mu * (1 - m**k)}, "正好相反")
    fails_with("15.4", {**good, "running": lambda mu, m, k: mu * m * k}, "固定一份")
    fails_with("15.4", {**good, "batches": 2}, "新小批量的权重")
    fails_with("15.4", {**good, "batches": 43}, "向上取整")


def test_15_5_new_row():
    good = GOOD["15.5"]
    passes("15.5", good)
    fails_with(
        "15.5",
        {"row": ["x.T", "转置", ROW[2]], "sheet": [*SHEET, ["x.T", "转置", ROW[2]]]},
        "反引号",
    )
    fails_with("15.5", {"row": ROW[:2], "sheet": SHEET}, "三个字符串")
    no_link = [ROW[0], ROW[1], "03 线性代数"]
    fails_with("15.5", {"row": no_link, "sheet": [*SHEET, no_link]}, "链接")
    bad_nb = [ROW[0], ROW[1], "[x](16_more.ipynb#a)"]
    fails_with("15.5", {"row": bad_nb, "sheet": [*SHEET, bad_nb]}, "没有这个 notebook")
    fails_with("15.5", {"row": ROW, "sheet": SHEET}, "SHEET.append")
    fails_with("15.5", {"row": ROW, "sheet": [*SHEET, ROW, ROW]}, "不止一次")
    dup = ["`torch.where(cond, a, b)`", "二选一", ROW[2]]
    fails_with("15.5", {"row": dup, "sheet": [*SHEET, dup]}, "已经在总表里")


def test_none_and_wrong_types_get_a_verdict():
    for i, good in GOOD.items():
        assert verdict(i, None).passed is None
        for wrong in ("x", [1, 2], 3.0, torch.zeros(2)):
            assert verdict(i, wrong).passed is False, (i, wrong)
        if isinstance(good, dict):
            assert verdict(i, {k: None for k in good}).passed is None
            for key in good:
                for wrong in ("x", [1, 2], torch.zeros(2), print):
                    assert verdict(i, {**good, key: wrong}).passed is False, (i, key, wrong)
