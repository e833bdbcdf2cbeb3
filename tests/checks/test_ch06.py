"""Exercises of 06_mlp: the solutions pass, typical mistakes get their hints."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from .helpers import fails_with, passes, verdict


def num_params(h):
    return 784 * h + h + h * 10 + 10


def exact_fit_losses(train_features, test_features, train_labels, test_labels):
    w = torch.linalg.lstsq(train_features, train_labels.reshape(-1, 1)).solution
    mse = nn.MSELoss()
    return (
        mse(train_features @ w, train_labels.reshape(-1, 1)).item(),
        mse(test_features @ w, test_labels.reshape(-1, 1)).item(),
    )


def normal_equations(train_features, test_features, train_labels, test_labels):
    """Another correct route: the normal equations (float64, as given; in float32 they square
    the condition number and can miss rtol=1e-4), returning 0-dim tensors."""
    X, Xt = train_features, test_features
    w = torch.linalg.solve(X.T @ X, X.T @ train_labels)
    return ((X @ w - train_labels) ** 2).mean(), ((Xt @ w - test_labels) ** 2).mean()


def backward_tanh(x, y, W1, b1, W2, lambd, dphi=None, reg=True):
    z = W1 @ x + b1
    h = torch.tanh(z)
    o = W2 @ h
    dJ_do = torch.softmax(o, dim=0) - F.one_hot(y, len(o))
    lam = lambd if reg else 0.0
    dJ_dW2 = torch.outer(dJ_do, h) + lam * W2
    dJ_dz = (W2.T @ dJ_do) * (1 - h**2 if dphi is None else dphi(z))
    return torch.outer(dJ_dz, x) + lam * W1, dJ_dz, dJ_dW2


def test_06_1_hidden_units_and_sigmoid(monkeypatch):
    monkeypatch.delenv("D2L_QUICK", raising=False)
    good = {"num_params": num_params, "acc_sigmoid": 0.81, "why": "B"}
    passes("06.1", good)
    fails_with("06.1", {**good, "num_params": lambda h: 784 * h + h * 10}, "偏置")
    fails_with("06.1", {**good, "num_params": lambda h: 784 * h + h + h * 10}, "10 个")  # rtol=0
    fails_with("06.1", {**good, "num_params": lambda h: 203530}, "值不对")  # h = 256 hard-coded
    # the band, measured in default mode (seeds 0 and 1 of bands06, the solution: 0.808 to 0.810)
    fails_with("06.1", {**good, "acc_sigmoid": 0.845}, "高于")  # ReLU's 10-epoch result
    fails_with("06.1", {**good, "acc_sigmoid": 0.113}, "低于")  # 2 epochs on a tenth of the data
    fails_with("06.1", {**good, "acc_sigmoid": {"test_acc": [0.5, 0.6]}}, "低于")  # a History
    passes("06.1", {**good, "acc_sigmoid": {"test_acc": [0.7, 0.809]}})
    fails_with("06.1", {**good, "acc_sigmoid": 1.5}, "0 到 1")
    fails_with("06.1", {**good, "why": "C"}, "参数个数")


def test_06_1_quick_mode_only_checks_the_form(monkeypatch):
    monkeypatch.setenv("D2L_QUICK", "1")
    good = {"num_params": num_params, "acc_sigmoid": 0.113, "why": "B"}
    v = verdict("06.1", good)
    assert v.passed is True and "只适用于默认模式" in v.message


def k_fold_errors(k, X, y, fit, error):
    fold_size = X.shape[0] // k
    train_sum, valid_sum = 0.0, 0.0
    for i in range(k):
        parts = [(X[j * fold_size : (j + 1) * fold_size], y[j * fold_size : (j + 1) * fold_size])
                 for j in range(k)]  # fmt: skip
        X_valid, y_valid = parts.pop(i)
        X_train = torch.cat([p[0] for p in parts])
        y_train = torch.cat([p[1] for p in parts])
        model = fit(X_train, y_train)
        train_sum += error(model, X_train, y_train)
        valid_sum += error(model, X_valid, y_valid)
    return train_sum / k, valid_sum / k


def test_06_2_k_fold():
    good = {"k_fold": k_fold_errors, "by_train": "A"}
    passes("06.2", good)

    def last_fold_only(k, X, y, fit, error):
        n = X.shape[0] // k
        model = fit(X[: (k - 1) * n], y[: (k - 1) * n])
        return (error(model, X[: (k - 1) * n], y[: (k - 1) * n]),
                error(model, X[(k - 1) * n : k * n], y[(k - 1) * n : k * n]))  # fmt: skip

    def validated_on_training_rows(k, X, y, fit, error):
        return k_fold_errors(k, X, y, lambda X_tr, y_tr: fit(X, y), error)

    def rest_kept(k, X, y, fit, error):  # np.array_split-like folds: the left-over rows are used
        folds = list(zip(torch.tensor_split(X, k), torch.tensor_split(y, k), strict=True))
        train_sum = valid_sum = 0.0
        for i, (X_valid, y_valid) in enumerate(folds):
            X_train = torch.cat([f[0] for j, f in enumerate(folds) if j != i])
            y_train = torch.cat([f[1] for j, f in enumerate(folds) if j != i])
            model = fit(X_train, y_train)
            train_sum += error(model, X_train, y_train)
            valid_sum += error(model, X_valid, y_valid)
        return train_sum / k, valid_sum / k

    def summed(*args):
        train, valid = k_fold_errors(*args)
        return train * args[0], valid * args[0]

    fails_with("06.2", {**good, "k_fold": last_fold_only}, "只算了一折")
    fails_with("06.2", {**good, "k_fold": validated_on_training_rows}, "验证折不能参与拟合")
    fails_with("06.2", {**good, "k_fold": rest_kept}, "余下不足一折的行丢掉")
    fails_with("06.2", {**good, "k_fold": summed}, "不是总和")
    fails_with("06.2", {**good, "k_fold": lambda *a: k_fold_errors(*a)[::-1]}, "顺序")
    fails_with("06.2", {**good, "by_train": "D"}, "约束")


def test_06_3_exact_fits():
    good = {"fit_losses": exact_fit_losses, "train_curve": "A", "fewer": "B"}
    passes("06.3", good)
    passes("06.3", {**good, "fit_losses": normal_equations})

    def halved(*args):
        train, test = exact_fit_losses(*args)
        return train / 2, test / 2

    def swapped(*args):
        train, test = exact_fit_losses(*args)
        return test, train

    def with_bias(trf, tef, trl, tel):
        def ones(X):
            return torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], 1)

        return exact_fit_losses(ones(trf), ones(tef), trl, tel)

    def fit_on_test(trf, tef, trl, tel):  # the weights fitted on the test set
        w = torch.linalg.lstsq(tef, tel.reshape(-1, 1)).solution.flatten()
        return ((trf @ w - trl) ** 2).mean(), ((tef @ w - tel) ** 2).mean()

    fails_with("06.3", {**good, "fit_losses": halved}, "½")
    fails_with("06.3", {**good, "fit_losses": swapped}, "顺序")
    fails_with("06.3", {**good, "fit_losses": with_bias}, "x⁰")
    fails_with("06.3", {**good, "fit_losses": fit_on_test}, "只能用训练集")
    fails_with("06.3", {**good, "train_curve": "B"}, "回升")
    fails_with("06.3", {**good, "fewer": "A"}, "哪个阶数开始")


def test_06_4_backward_with_tanh():
    good = {"backward": backward_tanh, "bias_grad": "A"}
    passes("06.4", good)
    relu = {"dphi": lambda z: (z > 0).to(z.dtype)}
    fails_with("06.4", {**good, "backward": lambda *a: backward_tanh(*a, **relu)}, "ReLU")
    not_squared = {"dphi": lambda z: 1 - torch.tanh(z)}
    fails_with("06.4", {**good, "backward": lambda *a: backward_tanh(*a, **not_squared)}, "平方")
    fails_with("06.4", {**good, "backward": lambda *a: backward_tanh(*a, reg=False)}, "λW")

    def bias_decayed(x, y, W1, b1, W2, lambd):
        dW1, db1, dW2 = backward_tanh(x, y, W1, b1, W2, lambd)
        return dW1, db1 + lambd * b1, dW2

    fails_with("06.4", {**good, "backward": bias_decayed}, "偏置不受惩罚")

    def transposed(*args):
        dW1, db1, dW2 = backward_tanh(*args)
        return dW1.T, db1, dW2

    fails_with("06.4", {**good, "backward": transposed}, "形状")  # h != d on every draw
    fails_with("06.4", {**good, "bias_grad": "B"}, "x 这个因子")


def test_06_5_weight_decay():
    good = {"shrink": 1 - 0.003 * 3, "best_lambda": 10, "trend": "A"}
    passes("06.5", good)
    passes("06.5", {**good, "best_lambda": torch.tensor(10)})
    fails_with("06.5", {**good, "shrink": 1 - 0.003}, "η 乘 λ")
    fails_with("06.5", {**good, "shrink": 1 - 0.003 * 3 / 2}, "½")
    fails_with("06.5", {**good, "shrink": 0.003 * 3}, "乘上的因子")
    fails_with("06.5", {**good, "best_lambda": 3}, "指数")
    fails_with("06.5", {**good, "trend": "C"}, "测试损失")


def test_none_and_wrong_types_get_a_verdict():
    for i in ("06.1", "06.2", "06.3", "06.4", "06.5"):
        assert verdict(i, None).passed is None
        for wrong in ("x", [1, 2], 3.0, torch.zeros(2)):
            assert verdict(i, wrong).passed is False
    assert verdict("06.1", {"num_params": lambda h: "many"}).passed is False
    assert verdict("06.3", {"fit_losses": lambda *a: torch.zeros(2)}).passed is False
    assert verdict("06.4", {"backward": lambda *a: a[2]}).passed is False
    assert verdict("06.2", {"k_fold": lambda *a: "low"}).passed is False
    assert verdict("06.5", {"shrink": "0.991"}).passed is False
