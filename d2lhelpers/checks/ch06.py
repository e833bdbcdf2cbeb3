"""Exercises of 06_mlp.ipynb (练习 06.1 to 06.5)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.nn import functional as F

from .checkers import band, choice, function, number, parts, value
from .core import exercise

Tensor = torch.Tensor

# ----------------------------------------------------------------------------- 06.1


def _mlp_params(num_hiddens: int) -> int:
    """Parameters of Flatten -> Linear(784, h) -> activation -> Linear(h, 10)."""
    return 784 * num_hiddens + num_hiddens + num_hiddens * 10 + 10


def _hidden_size(gen: torch.Generator) -> tuple[int]:
    return (int(torch.randint(2, 2049, (), generator=gen)),)


exercise("06.1", "隐藏单元数与激活函数：参数个数和 sigmoid 的测试精度", kind="experiment")(
    parts(
        num_params=function(
            _mlp_params,
            _hidden_size,
            rtol=0.0,
            atol=0.5,  # a count: exact (rtol=1e-5 would let 795h pass for 795h + 10 when h > 1258)
            mistakes=[
                (lambda h: 784 * h + h * 10, "还差偏置：每个 nn.Linear 还有 out_features 个偏置。"),
                (lambda h: 784 * h + h, "还差第二个全连接层 nn.Linear(h, 10) 的参数。"),
                (lambda h: 784 * h + h + h * 10, "第二个全连接层也有偏置：10 个。"),
                (lambda h: 784 * h + h * 10 + 10, "第一个全连接层也有偏置：h 个。"),
            ],
        ),
        acc_sigmoid=band(
            0.79,
            0.83,
            minutes=0.5,
            what="把 ReLU 换成 sigmoid 后 10 轮的测试精度",
            low_hint="学习率（0.1）、初始化（std=0.01）、批量大小（256）和轮数（10）都与章节的简洁实现相同吗？",
        ),
        why=choice(
            "B",
            "ABC",
            hints={
                "A": "sigmoid 也是非线性函数：有了它，多层感知机同样不再是线性模型。",
                "C": "把 ReLU 换成 sigmoid 会改变参数个数吗？用 (a) 的函数算一算。",
            },
        ),
        explanation=(
            "两个网络的参数一样多，能表示的函数也都是非线性的；差别在训练。sigmoid 的导数最大只有 0.25"
            "（ReLU 在正半轴是 1），初始化为 std=0.01 时隐藏层的输入都在 0 附近，sigmoid 的输出都接近 0.5，"
            "反向传播到第一层的梯度被缩小到四分之一以下，同样的学习率和 10 轮里学得慢得多，"
            "训练损失和测试精度都落后于 ReLU（默认模式实测：sigmoid 约 0.81，ReLU 约 0.85）。"
        ),
    )
)

# ----------------------------------------------------------------------------- 06.2


def _k_fold_errors(
    k: int, X: Tensor, y: Tensor, fit: Callable[..., Any], error: Callable[..., Any]
) -> tuple[float, float]:
    """Average training and validation error over the k folds, split as get_k_fold_data does
    (k contiguous folds of n // k rows; the rows left over are dropped)."""
    fold_size = X.shape[0] // k
    train_errors, valid_errors = [], []
    for i in range(k):
        valid = slice(i * fold_size, (i + 1) * fold_size)
        X_valid, y_valid = X[valid], y[valid]
        X_train = torch.cat([X[: i * fold_size], X[(i + 1) * fold_size : k * fold_size]])
        y_train = torch.cat([y[: i * fold_size], y[(i + 1) * fold_size : k * fold_size]])
        model = fit(X_train, y_train)
        train_errors.append(float(error(model, X_train, y_train)))
        valid_errors.append(float(error(model, X_valid, y_valid)))
    return sum(train_errors) / k, sum(valid_errors) / k


def _least_squares(X: Tensor, y: Tensor) -> Tensor:
    return torch.linalg.lstsq(X, y).solution


def _mse(w: Tensor, X: Tensor, y: Tensor) -> float:
    return float(((X @ w - y) ** 2).mean())


def _k_fold_inputs(gen: torch.Generator) -> tuple:
    """k folds of 4 to 8 rows plus 1 to k - 1 rows left over (so how the rest is handled
    matters); few rows per feature, so training and validation errors differ clearly."""
    k = int(torch.randint(3, 7, (), generator=gen))
    fold_size = int(torch.randint(4, 9, (), generator=gen))
    rest = int(torch.randint(1, k, (), generator=gen))
    d = int(torch.randint(2, 4, (), generator=gen))
    n = k * fold_size + rest
    kw: dict[str, Any] = {"generator": gen, "dtype": torch.float64}
    X = torch.randn(n, d, **kw)
    y = X @ torch.randn(d, 1, **kw) + 0.5 * torch.randn(n, 1, **kw)
    return k, X, y, _least_squares, _mse


def _last_fold_only(k, X, y, fit, error):  # type: ignore[no-untyped-def]
    fold_size = X.shape[0] // k
    X_train, y_train = X[: (k - 1) * fold_size], y[: (k - 1) * fold_size]
    X_valid, y_valid = (
        X[(k - 1) * fold_size : k * fold_size],
        y[(k - 1) * fold_size : k * fold_size],
    )
    model = fit(X_train, y_train)
    return float(error(model, X_train, y_train)), float(error(model, X_valid, y_valid))


def _fit_on_all(k, X, y, fit, error, rows=None):  # type: ignore[no-untyped-def]
    def fit_all(X_train: Tensor, y_train: Tensor) -> Any:
        return fit(X[:rows], y[:rows])

    return _k_fold_errors(k, X, y, fit_all, error)


def _fit_on_folds(k, X, y, fit, error):  # type: ignore[no-untyped-def]
    return _fit_on_all(k, X, y, fit, error, rows=k * (X.shape[0] // k))


def _keep_rest(k, X, y, fit, error, split=torch.tensor_split):  # type: ignore[no-untyped-def]
    """Folds that keep the left-over rows (np.array_split / torch.tensor_split, or torch.chunk)."""
    folds = list(zip(split(X, k), split(y, k), strict=True))
    train_errors, valid_errors = [], []
    for i, (X_valid, y_valid) in enumerate(folds):
        X_train = torch.cat([f[0] for j, f in enumerate(folds) if j != i])
        y_train = torch.cat([f[1] for j, f in enumerate(folds) if j != i])
        model = fit(X_train, y_train)
        train_errors.append(float(error(model, X_train, y_train)))
        valid_errors.append(float(error(model, X_valid, y_valid)))
    return sum(train_errors) / k, sum(valid_errors) / k


def _keep_rest_chunk(k, X, y, fit, error):  # type: ignore[no-untyped-def]
    return _keep_rest(k, X, y, fit, error, split=torch.chunk)


def _summed_folds(*args):  # type: ignore[no-untyped-def]
    train, valid = _k_fold_errors(*args)
    return train * args[0], valid * args[0]


def _swapped_errors(*args):  # type: ignore[no-untyped-def]
    train, valid = _k_fold_errors(*args)
    return valid, train


exercise("06.2", "K 折交叉验证：平均的训练误差与验证误差；为什么按验证误差选")(
    parts(
        k_fold=function(
            _k_fold_errors,
            _k_fold_inputs,
            rtol=1e-6,
            atol=1e-9,
            mistakes=[
                (
                    _last_fold_only,
                    "只算了一折：要做 k 次实验（第 i 折验证、其余训练），再对 k 次的结果取平均。",
                ),
                (_fit_on_all, "模型要在除第 i 折之外的 k − 1 折上拟合：验证折不能参与拟合。"),
                (_fit_on_folds, "模型要在除第 i 折之外的 k − 1 折上拟合：验证折不能参与拟合。"),
                (
                    _keep_rest,
                    "按 get_k_fold_data 的方式划分：每折 n // k 行，按顺序切，余下不足一折的行丢掉。",
                ),
                (
                    _keep_rest_chunk,
                    "按 get_k_fold_data 的方式划分：每折 n // k 行，按顺序切，余下不足一折的行丢掉。",
                ),
                (_summed_folds, "要的是 k 次实验的平均，不是总和。"),
                (_swapped_errors, "返回的顺序是 (平均训练误差, 平均验证误差)。"),
            ],
        ),
        by_train=choice(
            "A",
            "ABCD",
            hints={
                k: "权重衰减在训练损失上加了惩罚项，最小化的不再只是训练误差：λ 越大，"
                "对训练数据的拟合受到的约束越多还是越少？用你的 k_fold_errors 在 λ 的几个取值上试一试。"
                for k in "BCD"
            },
        ),
        explanation=(
            "λ = 0 时最小化的就是训练误差本身，加上惩罚项只会让训练误差不变或变大，所以按训练误差选，"
            "永远选约束最少、最复杂的模型，而它恰恰最容易过拟合。训练误差衡量的是模型记住了多少训练数据；"
            "验证误差是在没参与拟合的数据上量的，才估计得了模型在新数据上的误差。"
            "K 折把每一行都轮流当一次验证数据，平均之后的估计比单独一次划分更稳定。"
        ),
    )
)

# ----------------------------------------------------------------------------- 06.3


def _exact_fit_losses(
    train_features: Tensor, test_features: Tensor, train_labels: Tensor, test_labels: Tensor
) -> tuple[float, float]:
    """Mean squared errors of the least-squares weights (fitted on the training set only)."""
    w = torch.linalg.lstsq(train_features, train_labels.reshape(-1, 1)).solution
    train = ((train_features @ w - train_labels.reshape(-1, 1)) ** 2).mean()
    test = ((test_features @ w - test_labels.reshape(-1, 1)) ** 2).mean()
    return float(train), float(test)


def _fit_inputs(gen: torch.Generator) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """More training examples than features (a unique fit); labels 1-D, as in the notebook."""
    d = int(torch.randint(2, 7, (), generator=gen))
    n_train, n_test = (int(v) for v in torch.randint(d + 5, 40, (2,), generator=gen))
    w = torch.randn(d, generator=gen, dtype=torch.float64)
    X = torch.randn(n_train + n_test, d, generator=gen, dtype=torch.float64)
    y = X @ w + 0.5 * torch.randn(n_train + n_test, generator=gen, dtype=torch.float64)
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:]


def _with_bias(train_f, test_f, train_l, test_l):  # type: ignore[no-untyped-def]
    def add_ones(X: Tensor) -> Tensor:
        return torch.cat([X, torch.ones(len(X), 1, dtype=X.dtype)], dim=1)

    return _exact_fit_losses(add_ones(train_f), add_ones(test_f), train_l, test_l)


def _fit_on_test(train_f, test_f, train_l, test_l):  # type: ignore[no-untyped-def]
    w = torch.linalg.lstsq(test_f, test_l.reshape(-1, 1)).solution.flatten()
    return float(((train_f @ w - train_l) ** 2).mean()), float(((test_f @ w - test_l) ** 2).mean())


def _halved(*args):  # type: ignore[no-untyped-def]
    train, test = _exact_fit_losses(*args)
    return train / 2, test / 2


def _rooted(*args):  # type: ignore[no-untyped-def]
    train, test = _exact_fit_losses(*args)
    return train**0.5, test**0.5


def _summed(train_f, test_f, train_l, test_l):  # type: ignore[no-untyped-def]
    train, test = _exact_fit_losses(train_f, test_f, train_l, test_l)
    return train * len(train_l), test * len(test_l)


def _swapped(*args):  # type: ignore[no-untyped-def]
    train, test = _exact_fit_losses(*args)
    return test, train


exercise("06.3", "多项式的阶数从 1 到 20：最小二乘的训练损失与测试损失")(
    parts(
        fit_losses=function(
            _exact_fit_losses,
            _fit_inputs,
            rtol=1e-4,
            atol=1e-8,
            mistakes=[
                (_halved, "章节的损失是 nn.MSELoss：误差平方的平均，没有 ½。"),
                (_rooted, "要的是均方误差本身，不要开方。"),
                (_summed, "要的是平均，不是总和：样本数不同的两个集合才能比较。"),
                (_swapped, "返回的顺序是 (训练损失, 测试损失)。"),
                (
                    _with_bias,
                    "不要另加一列 1：多项式特征的第 0 列 x⁰ = 1 已经起了偏置的作用，"
                    "就像章节里 nn.Linear(..., bias=False)。",
                ),
                (_fit_on_test, "权重只能用训练集拟合；测试集只用来算测试损失。"),
            ],
        ),
        train_curve=choice(
            "A",
            "ABC",
            hints={
                "B": "看看你画的训练损失：它在 4 个特征之后明显回升过吗？多一个特征时，"
                "原来的最优解（新权重取 0）仍然可选。",
                "C": "比较 4 个特征与 20 个特征的训练损失：哪个更低？",
            },
        ),
        fewer=choice(
            "B",
            "ABC",
            hints={
                "A": "比较两条测试损失曲线：各从哪个阶数开始明显上升？升到多高？",
                "C": "20 个样本时 4 个特征的测试损失仍在噪声水平附近：这个阶数并没有欠拟合。",
            },
        ),
        explanation=(
            "最小二乘给出训练损失的最小值：特征越多，可选的模型越多，训练损失只会不变或下降"
            "（曲线上偶尔的微小回升来自舍入：高次特征极小，lstsq 把接近 0 的奇异值当作 0）。"
            "测试损失在 4 个特征（生成数据的阶数）附近最低，再多的特征开始拟合噪声；"
            "高次特征 xⁱ/i! 很小，拟合噪声需要极大的权重，测试点上一旦 |x| 较大，预测就远离真值。"
            "训练样本从 100 减到 20，同样多的特征更容易把噪声“背下来”，过拟合在更少的特征时"
            "就出现，而且严重得多。"
        ),
    )
)

# ----------------------------------------------------------------------------- 06.4


def _backward_inputs(gen: torch.Generator) -> tuple:
    """x (d,), a label, W1 (h, d), b1 (h,), W2 (q, h), lambd > 0; d != h, so a transposed
    outer product has the wrong shape."""
    d = int(torch.randint(2, 6, (), generator=gen))
    h = d + int(torch.randint(1, 4, (), generator=gen))
    q = int(torch.randint(2, 5, (), generator=gen))
    kw: dict[str, Any] = {"generator": gen, "dtype": torch.float64}
    x, W1, b1, W2 = (
        torch.randn(d, **kw),
        torch.randn(h, d, **kw),
        torch.randn(h, **kw),
        torch.randn(q, h, **kw),
    )
    y = torch.randint(0, q, (), generator=gen)
    lambd = 0.05 + 0.45 * float(torch.rand((), generator=gen))
    return x, y, W1, b1, W2, lambd


def _objective(x, y, W1, b1, W2, lambd, act=torch.tanh, bias_penalty=False):  # type: ignore[no-untyped-def]
    o = W2 @ act(W1 @ x + b1)
    s = lambd / 2 * ((W1**2).sum() + (W2**2).sum() + ((b1**2).sum() if bias_penalty else 0))
    return F.cross_entropy(o[None], y[None]) + s


def _autograd(x, y, W1, b1, W2, lambd, **kw):  # type: ignore[no-untyped-def]
    """(dJ/dW1, dJ/db1, dJ/dW2) by autograd: the reference."""
    W1, b1, W2 = (t.detach().clone().requires_grad_(True) for t in (W1, b1, W2))
    _objective(x, y, W1, b1, W2, lambd, **kw).backward()
    return W1.grad, b1.grad, W2.grad


def _by_hand(x, y, W1, b1, W2, lambd, *, dphi, reg=True):  # type: ignore[no-untyped-def]
    """The hand-derived backward pass with a given phi'(z); a typical mistake when dphi is wrong."""
    z = W1 @ x + b1
    h = torch.tanh(z)
    o = W2 @ h
    dJ_do = torch.softmax(o, dim=0) - F.one_hot(y, len(o)).to(o.dtype)
    dJ_dz = (W2.T @ dJ_do) * dphi(z)
    lam = lambd if reg else 0.0
    return torch.outer(dJ_dz, x) + lam * W1, dJ_dz, torch.outer(dJ_do, h) + lam * W2


exercise("06.4", "手推反向传播：tanh 激活、隐藏层带偏置")(
    parts(
        backward=function(
            _autograd,
            _backward_inputs,
            rtol=1e-6,
            atol=1e-9,
            mistakes=[
                (
                    lambda *a: _by_hand(*a, dphi=lambda z: (z > 0).to(z.dtype)),
                    "这还是 ReLU 的导数：tanh 的导数是 1 − tanh²(z)。",
                ),
                (
                    lambda *a: _by_hand(*a, dphi=lambda z: 1 - torch.tanh(z)),
                    "tanh 的导数里 tanh(z) 要平方。",
                ),
                (
                    lambda *a: _by_hand(*a, dphi=lambda z: 1 - torch.tanh(torch.tanh(z)) ** 2),
                    "φ'(z) 要在 z 处求值：1 − tanh²(z) = 1 − h²，不是 1 − tanh²(h)。",
                ),
                (
                    lambda *a: _by_hand(*a, dphi=lambda z: 1 - torch.tanh(z) ** 2, reg=False),
                    "还差正则化项 s 的梯度：∂s/∂W = λW。",
                ),
                (
                    lambda *a: _autograd(*a, bias_penalty=True),
                    "正则化项 s 只含 W⁽¹⁾ 和 W⁽²⁾，偏置不受惩罚：∂J/∂b⁽¹⁾ 里没有 λ 项。",
                ),
            ],
        ),
        bias_grad=choice(
            "A",
            "ABC",
            hints={
                "B": "z = W⁽¹⁾x + b⁽¹⁾ 对 b⁽¹⁾ 的导数是单位矩阵：没有 x 这个因子。",
                "C": "s 里没有 b⁽¹⁾：它不受权重衰减的惩罚。",
            },
        ),
        explanation=(
            "反向传播只有 ∂J/∂z 这一步变了：∂J/∂z = ∂J/∂h ⊙ (1 − tanh²(z)) = ∂J/∂h ⊙ (1 − h²)，"
            "所以前向传播保存的 h 就够了。z = W⁽¹⁾x + b⁽¹⁾ 对 b⁽¹⁾ 的导数是单位矩阵，"
            "偏置又不在正则化项里，于是 ∂J/∂b⁽¹⁾ = ∂J/∂z：每个样本的偏置梯度就是 z 的梯度，"
            "小批量时对样本求和。"
        ),
    )
)

# ----------------------------------------------------------------------------- 06.5

exercise("06.5", "权重衰减的强度 λ：每步缩小的倍数，范数与训练、测试损失")(
    parts(
        shrink=number(
            0.991,
            rtol=1e-9,
            atol=1e-12,
            mistakes=[
                (0.997, "这是 1 − η：衰减的比例是 η 乘 λ。"),
                (0.009, "0.009 = ηλ 是每步减掉的比例；问的是 w 乘上的因子。"),
                (-2.0, "1 − λ 忘了乘学习率：更新公式里是 (1 − ηλ)。"),
                (0.9955, "惩罚项 λ/2·‖w‖² 的梯度是 λw，½ 已经被求导消掉了：因子是 1 − ηλ。"),
            ],
            hint="看更新公式 w ← (1 − ηλ)w − …，代入 train_scratch 的学习率和 λ = 3。",
        ),
        best_lambda=value(
            10,
            mistakes=[
                (3, "比较打印出的 test loss 时看清指数（e-01 与 e-02）：λ = 3 是最低的吗？"),
                (0, "λ = 0 的测试损失是最高的那个：它把 20 个训练样本背了下来。"),
            ],
            hint="在打印的五行里找 test loss 最小的一行，填它的 λ（一个数）。",
        ),
        trend=choice(
            "A",
            "ABC",
            hints={
                "B": "看 λ = 0 和 λ = 10 两行的训练损失：哪个更低？惩罚项让模型能完全贴合训练数据吗？",
                "C": "看 λ = 0 和 λ = 10 两行的测试损失：哪个更低？",
            },
        ),
        explanation=(
            "每一步先把 w 乘 1 − ηλ = 1 − 0.003 × 3 = 0.991，再做普通的梯度更新。"
            "λ 越大，w 被拉得越靠近 0：范数从十几降到百分之几，训练损失随之变大（模型不再能把 20 个样本背下来），"
            "测试损失却下降了几个数量级。这个数据上 200 个权重只凭 20 个样本根本定不下来，真实权重又很小"
            "（范数约 0.14），把 w 几乎压到 0 反而最接近真值，所以网格里最大的 λ = 10 最好；"
            "数据更多或真实权重更大时，过大的 λ 会欠拟合，最好的 λ 要用验证集（K 折）来选。"
        ),
    )
)
