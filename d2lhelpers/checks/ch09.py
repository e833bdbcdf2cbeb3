"""Exercises of 09_modern_cnn.ipynb (练习 09.1 to 09.5).

The references are written afresh (AlexNet, VGG, batch norm, dense stages) and counted with
torch: parameters by `numel`, multiply-accumulates by forward hooks, batch norm by
`torch.nn.functional.batch_norm`, channels by running layers; the book-sized numbers are
constants that tests/checks/test_ch09.py recounts. No check trains; the two experiments compare
a reported result with a band measured in default mode.

The bands, measured on the course's 2-core machine (2026-12-06, default mode, the full
Fashion-MNIST, one torch thread, load 22-35 from other jobs; seeds by d2l.set_seed):
09.1 alexnet_gap(c=8, small_input=True), 3 epochs: test acc 0.8525 / 0.8633 / 0.8505 (seeds
1-3), and 0.822 in a default-mode run of the solution notebook (load ~7), hence the band's
low end 0.80; the laptop AlexNet with its fully connected layers 0.848 / 0.844 (seeds 1-2).
09.4, 2 epochs at lr 0.02: training loss, plain 0.378 / 0.380, ResNet-18 0.326 / 0.320
(seeds 1-2); the solution's default-mode run: 0.377 and 0.317. Under that load a run took 7-16 min; `minutes` is the idle time, scaled from
benchmarks/README.md's idle runs of the same nets (AlexNet 6 epochs 79 s, ResNet-18 5 epochs
110 s).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .checkers import band, choice, function, number, parts, type_name, value
from .core import Unanswered, Verdict, exercise

# ----------------------------------------------------------------------------- shared


def _count_params(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def _count_macs(net: nn.Module, X: torch.Tensor) -> int:
    """Multiply-accumulates of every Conv2d and Linear layer in one forward pass of X."""
    total = 0

    def hook(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k_h, k_w = module.kernel_size
            total += output.numel() * (module.in_channels // module.groups) * k_h * k_w
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features

    hooks = [m.register_forward_hook(hook) for m in net.modules()]
    try:
        with torch.no_grad():
            net(X)
    finally:
        for h in hooks:
            h.remove()
    return total


def _class_hint(answer: Any, name: str) -> Verdict | None:
    """A hint unless `answer` is an nn.Module subclass (the class itself, not an instance)."""
    if isinstance(answer, nn.Module):
        return Verdict(False, f"请给出类 {name} 本身（不带括号），不是它的一个实例。")
    if not (isinstance(answer, type) and issubclass(answer, nn.Module)):
        return Verdict(False, f"请给出一个 nn.Module 的子类 {name}，你给的是 {type_name(answer)}。")
    return None


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-4) -> bool:
    a, b = a.detach().double(), b.detach().double()
    return a.shape == b.shape and torch.allclose(a, b, rtol=tol, atol=tol)


# ----------------------------------------------------------------------------- 09.1


def _alexnet_features(c: int, small_input: bool) -> list[nn.Module]:
    """The notebook's AlexNet up to its last max-pool (channels divided by c)."""
    if small_input:
        first = nn.Conv2d(1, 96 // c, kernel_size=3, padding=1)
    else:
        first = nn.Conv2d(1, 96 // c, kernel_size=11, stride=4, padding=1)
    return [
        first, nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(96 // c, 256 // c, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(3, 2),
        nn.Conv2d(256 // c, 384 // c, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384 // c, 384 // c, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384 // c, 256 // c, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(3, 2),
    ]  # fmt: skip


def _alexnet_gap(c: int = 1, small_input: bool = False) -> nn.Sequential:
    return nn.Sequential(
        *_alexnet_features(c, small_input),
        nn.Conv2d(256 // c, 10, kernel_size=1), nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
    )  # fmt: skip


# Counted with torch (tests/checks/test_ch09.py recounts them): the book's AlexNet, its
# convolutional part, and the share of its multiply-accumulates in the fully connected layers.
_ALEXNET_PARAMS = 46_764_746
_FEATURE_PARAMS = 3_723_968
_GAP_PARAMS = _FEATURE_PARAMS + 256 * 10 + 10  # 3,726,538: a 1x1 convolution from 256 to 10
_ALEXNET_MACS = 938_146_176  # at 224x224
_FC_MACS_SHARE = (6400 * 4096 + 4096 * 4096 + 4096 * 10) / _ALEXNET_MACS  # 0.0459


def _gap_checker(answer: Any) -> Verdict:
    """alexnet_gap(c, small_input) for fresh c, both input sizes: no Linear, (N, 10) out, and
    the reference's parameter count (the 1x1 head)."""
    if not callable(answer):
        return Verdict(False, f"请给出函数 alexnet_gap（def ...），你给的是 {type_name(answer)}。")
    for small_input in (True, False):
        c = (8, 16)[secrets.randbelow(2)]
        net = answer(c=c, small_input=small_input)
        if net is None:
            raise Unanswered
        call = f"alexnet_gap(c={c}, small_input={small_input})"
        if not isinstance(net, nn.Module):
            return Verdict(
                False, f"{call} 应返回一个网络（nn.Module），你的返回了 {type_name(net)}。"
            )
        if any(isinstance(m, nn.Linear) for m in net.modules()):
            return Verdict(False, f"{call} 里还有 nn.Linear：题目要把全连接层全部换掉。")
        size = 28 if small_input else 224
        X = torch.rand(2, 1, size, size)
        was_training = net.training
        net.eval()
        try:
            with torch.no_grad():
                Y = net(X)
        finally:
            net.train(was_training)
        if not isinstance(Y, torch.Tensor) or tuple(Y.shape) != (2, 10):
            got = tuple(Y.shape) if isinstance(Y, torch.Tensor) else type_name(Y)
            return Verdict(
                False,
                f"{call} 对形状 (2, 1, {size}, {size}) 的输入应输出 (2, 10)，你的是 {got}："
                "全局平均汇聚之后还要展平。",
            )
        got_n, want_n = _count_params(net), _count_params(_alexnet_gap(c, small_input))
        if got_n != want_n:
            return Verdict(
                False,
                f"{call} 有 {got_n:,} 个参数，应为 {want_n:,}：卷积部分与 alexnet(c, ...) 相同"
                "（到最后一个汇聚层为止），头部只有一个 1×1 卷积（256 // c 个通道变成 10 个），"
                "后接全局平均汇聚和展平。",
            )
    return Verdict(True)


exercise("09.1", "把 AlexNet 的全连接层换成 1×1 卷积 + 全局平均汇聚", kind="experiment")(
    parts(
        alexnet_gap=_gap_checker,
        params=number(
            _GAP_PARAMS,
            rtol=0,
            atol=0.5,
            mistakes=[
                (_ALEXNET_PARAMS, "这是原来 AlexNet 的参数量：数的是换掉头部之后的网络。"),
                (
                    _ALEXNET_PARAMS - _FEATURE_PARAMS,
                    "这是被删掉的全连接层的参数量，问的是剩下的网络。",
                ),
                (_FEATURE_PARAMS, "这只是卷积部分：新加的 1×1 卷积也有参数。"),
                (_FEATURE_PARAMS + 2560, "1×1 卷积还有 10 个偏置。"),
            ],
            hint="用 sum(p.numel() for p in net.parameters()) 数 alexnet_gap() 的参数（书中的大小，c=1）。",
        ),
        fc_macs_share=number(
            _FC_MACS_SHARE,
            atol=0.002,
            mistakes=[
                (
                    (_ALEXNET_PARAMS - _FEATURE_PARAMS) / _ALEXNET_PARAMS,
                    "0.92 是全连接层在参数量里的占比；问的是乘加次数（count_macs）里的占比。",
                ),
            ],
            hint="全连接层的乘加次数是三个 in_features × out_features 之和，再除以 count_macs 算出的总数。",
        ),
        test_acc=band(
            0.80,
            0.89,
            minutes=1,
            low_hint="设置与题目一致吗：alexnet_gap(c=8, small_input=True)、28×28、批量 128、学习率 0.1、3 轮？",
        ),
        explanation=(
            "全连接层占了 AlexNet 92% 的参数，却只占约 4.6% 的乘加次数：参数量和计算量是两回事。"
            "换成 1×1 卷积 + 全局平均汇聚后只剩约 373 万个参数，每张图像的计算量只少了约 4.6%；"
            "输入大小也不再被全连接层限定。准确率与原来相当：按笔记本电脑规模训练 3 轮，2 核 CPU 上"
            "实测它的测试准确率是 0.82–0.86（4 次运行），同样设置下带全连接层的 AlexNet"
            "（alexnet(c=8, num_hiddens=512, small_input=True)）是 0.844–0.848（2 个随机种子）："
            "在这个规模上，全连接层的参数（在那个 AlexNet 里也占 85%）没有换来更高的准确率。"
        ),
    )
)

# ----------------------------------------------------------------------------- 09.2


def _vgg(conv_arch: Sequence[Sequence[int]], image_size: int, num_hiddens: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    in_channels = 1
    for num_convs, out_channels in conv_arch:
        for _ in range(num_convs):
            layers += [nn.Conv2d(in_channels, out_channels, 3, padding=1), nn.ReLU()]
            in_channels = out_channels
        layers.append(nn.MaxPool2d(2, 2))
    side = image_size // 2 ** len(conv_arch)
    return nn.Sequential(
        *layers, nn.Flatten(),
        nn.Linear(in_channels * side * side, num_hiddens), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(num_hiddens, num_hiddens), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(num_hiddens, 10),
    )  # fmt: skip


def _vgg_cost(conv_arch: Any, image_size: int = 224, num_hiddens: int = 4096) -> tuple[int, int]:
    """(parameters, MACs) of the notebook's `vgg(conv_arch, image_size, num_hiddens)`, counted by
    torch: numel and forward hooks (no formula). Used on small configurations."""
    net = _vgg(conv_arch, image_size, num_hiddens)
    return _count_params(net), _count_macs(net, torch.zeros(1, 1, image_size, image_size))


def _vgg_formula(
    conv_arch: Any,
    image_size: int = 224,
    num_hiddens: int = 4096,
    *,
    in_channels: int = 1,
    bias: bool = True,
    fc_macs: bool = True,
    halve: bool = True,
) -> tuple[int, int]:
    """The same by formula, with switches for the typical mistakes."""
    params = macs = 0
    size, c_in = image_size, in_channels
    for num_convs, c_out in conv_arch:
        for _ in range(num_convs):
            params += 9 * c_in * c_out + (c_out if bias else 0)
            macs += size * size * c_out * c_in * 9
            c_in = c_out
        size = size // 2 if halve else size
    side = image_size // 2 ** len(conv_arch)
    for n_in, n_out in [
        (c_in * side * side, num_hiddens),
        (num_hiddens, num_hiddens),
        (num_hiddens, 10),
    ]:
        params += n_in * n_out + (n_out if bias else 0)
        macs += n_in * n_out if fc_macs else 0
    return params, macs


def _vgg_inputs(gen: torch.Generator) -> tuple[tuple[tuple[int, int], ...], int, int]:
    def draw(low: int, high: int) -> int:
        return int(torch.randint(low, high, (), generator=gen))

    blocks = draw(2, 5)
    arch = tuple((draw(1, 4), (2, 4, 8, 16)[draw(0, 4)]) for _ in range(blocks))
    return arch, 2**blocks * draw(1, 3), draw(8, 65)


_VGG16 = ((2, 64), (2, 128), (3, 256), (3, 512), (3, 512))
_VGG19 = ((2, 64), (2, 128), (4, 256), (4, 512), (4, 512))
# (parameters, MACs at 224x224) with 1 input channel and 10 classes; the test recounts them
_VGG16_COST = (134_300_362, 15_408_406_528)
_VGG19_COST = (139_610_058, 19_570_204_672)


def _vgg_mistakes(arch: Any) -> list[tuple[Any, str]]:
    return [
        (_vgg_formula(arch, in_channels=3), "Fashion-MNIST 的输入只有 1 个通道。"),
        (_vgg_formula(arch, bias=False), "参数量别忘了偏置。"),
        (_vgg_formula(arch, fc_macs=False), "乘加次数也要算上三个全连接层。"),
        (
            _vgg_formula(arch, halve=False),
            "每个块末尾的汇聚层把高和宽减半，后面的卷积在更小的图上计算。",
        ),
    ]


exercise("09.2", "VGG-16 与 VGG-19 的参数量和乘加次数")(
    parts(
        cost=function(
            _vgg_cost,
            _vgg_inputs,
            rtol=0,
            atol=0.5,
            mistakes=[
                (lambda *a: _vgg_formula(*a, in_channels=3), "Fashion-MNIST 的输入只有 1 个通道。"),
                (lambda *a: _vgg_formula(*a, bias=False), "参数量别忘了偏置。"),
                (lambda *a: _vgg_formula(*a, fc_macs=False), "乘加次数也要算上三个全连接层。"),
                (
                    lambda *a: _vgg_formula(*a, halve=False),
                    "每个块末尾的汇聚层把高和宽减半，后面的卷积在更小的图上计算。",
                ),
                (lambda *a: _vgg_cost(*a)[::-1], "顺序是 (参数量, 乘加次数)。"),
            ],
        ),
        vgg16=value(
            _VGG16_COST, mistakes=_vgg_mistakes(_VGG16), hint="用你的 vgg_cost 算 VGG-16。"
        ),
        vgg19=value(
            _VGG19_COST, mistakes=_vgg_mistakes(_VGG19), hint="用你的 vgg_cost 算 VGG-19。"
        ),
        why=choice(
            "B",
            "ABC",
            hints={
                "A": "三个 VGG 的全连接层一模一样（输入都是 512×7×7），看看参数量的差别来自哪里。",
                "C": "三个 VGG 每个块的输出通道数相同（64 到 512），多的是每个块里卷积层的个数。",
            },
        ),
        explanation=(
            "VGG-11、16、19 的全连接层完全相同（约 1.2 亿个参数，占大头），多出来的只是 3×3 卷积层，"
            "每层的参数不多；但卷积核要在特征图的每个位置上各算一次，一层的乘加次数 ≈ 参数量 × 输出的高×宽，"
            "在 56×56、28×28 这样的大特征图上就很多。所以 VGG-19 的参数只比 VGG-11 多约 8%，"
            "乘加次数却是它的约 2.6 倍（约 196 亿次对 75 亿次）。"
        ),
    )
)

# ----------------------------------------------------------------------------- 09.3


def _bn_torch(
    X: torch.Tensor,
    gamma: torch.Tensor,
    beta: torch.Tensor,
    moving_mean: torch.Tensor,
    moving_var: torch.Tensor,
    eps: float,
    momentum: float,
    training: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """PyTorch's batch norm with the book's arguments (momentum 0.9 = weight of the old value)."""
    shape = moving_mean.shape
    mean, var = moving_mean.reshape(-1).clone(), moving_var.reshape(-1).clone()
    Y = F.batch_norm(
        X, mean, var, gamma.reshape(-1), beta.reshape(-1), training, 1.0 - momentum, eps
    )  # updates mean and var in place when training, with the unbiased variance
    return Y, mean.reshape(shape), var.reshape(shape)


def _bn_variant(
    *, use_training: bool = True, unbiased: bool = True, flip: bool = False
) -> Callable:
    """The book's batch_norm with switches: decide by `training` (or by grad mode), move the
    variance's unbiased estimate (or the biased one), momentum as the old value's weight (or flipped)."""

    def batch_norm(
        X: torch.Tensor,
        gamma: torch.Tensor,
        beta: torch.Tensor,
        moving_mean: torch.Tensor,
        moving_var: torch.Tensor,
        eps: float,
        momentum: float,
        training: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        train = training if use_training else torch.is_grad_enabled()
        if not train:
            X_hat = (X - moving_mean) / torch.sqrt(moving_var + eps)
        else:
            dims = (0,) if X.dim() == 2 else (0, 2, 3)
            mean = X.mean(dim=dims, keepdim=True)
            var = ((X - mean) ** 2).mean(dim=dims, keepdim=True)
            X_hat = (X - mean) / torch.sqrt(var + eps)
            n = X.numel() // mean.numel()
            moved = var * n / (n - 1) if unbiased else var
            m = 1.0 - momentum if flip else momentum
            moving_mean = m * moving_mean + (1.0 - m) * mean
            moving_var = m * moving_var + (1.0 - m) * moved
        return gamma * X_hat + beta, moving_mean.detach(), moving_var.detach()

    return batch_norm


def _train_then_eval(batch_norm: Callable) -> Callable:
    """One training call, then one prediction call with the moving averages it returned:
    (Y_train, moving_mean, moving_var, Y_eval). Runs with gradients on, as in a training loop."""

    def run(
        X: torch.Tensor,
        gamma: torch.Tensor,
        beta: torch.Tensor,
        mean: torch.Tensor,
        var: torch.Tensor,
        momentum: float,
        X2: torch.Tensor,
    ) -> Any:
        with torch.enable_grad():
            out = batch_norm(X, gamma, beta, mean, var, eps=1e-5, momentum=momentum, training=True)
            if out is None:
                return None
            if not isinstance(out, tuple | list) or len(out) != 3:
                raise TypeError(
                    f"batch_norm 应返回 (Y, moving_mean, moving_var)，你的返回了 {type_name(out)}"
                )
            Y, mean, var = out
            out = batch_norm(
                X2, gamma, beta, mean, var, eps=1e-5, momentum=momentum, training=False
            )
            if not isinstance(out, tuple | list) or len(out) != 3:
                raise TypeError(
                    f"batch_norm 应返回 (Y, moving_mean, moving_var)，你的返回了 {type_name(out)}"
                )
        return Y, mean, var, out[0]

    return run


def _bn_inputs(gen: torch.Generator) -> tuple:
    def draw(low: int, high: int) -> int:
        return int(torch.randint(low, high, (), generator=gen))

    shape: tuple[int, ...]
    if draw(0, 2):  # fully connected: (N, D)
        shape = (draw(4, 9), draw(2, 7))
    else:  # convolutional: (N, C, H, W)
        shape = (draw(2, 5), draw(2, 5), draw(2, 5), draw(2, 5))
    stat = (1, shape[1]) if len(shape) == 2 else (1, shape[1], 1, 1)
    X = torch.randn(shape, generator=gen) * 3 + 2
    X2 = torch.randn(shape, generator=gen) * 3 + 2
    gamma = torch.rand(stat, generator=gen) + 0.5
    beta = torch.rand(stat, generator=gen) * 2 - 1
    mean = torch.randn(stat, generator=gen)
    var = torch.rand(stat, generator=gen) * 1.5 + 0.5
    momentum = 0.8 + 0.15 * float(torch.rand((), generator=gen))
    return X, gamma, beta, mean, var, momentum, X2


def _bn_function_checker() -> Callable[[Any], Verdict]:
    check = function(
        _train_then_eval(_bn_torch),
        _bn_inputs,
        trials=4,
        rtol=1e-4,
        atol=1e-4,
        mistakes=[
            (
                _train_then_eval(_bn_variant(use_training=False, unbiased=False)),
                "这还是书中的写法：training=False 时也在用当前批量的统计量（检查是在记录梯度时调用的），"
                "并且移动方差用的是有偏方差。",
            ),
            (
                _train_then_eval(_bn_variant(use_training=False)),
                "training=False 时要用移动平均：以参数 training 为准，不要看 torch.is_grad_enabled()。",
            ),
            (
                _train_then_eval(_bn_variant(unbiased=False)),
                "规范化用有偏方差没错，但移动方差要像 PyTorch 一样累积无偏方差（乘以 n/(n-1)，"
                "n 是每个特征或通道参与统计的元素个数）。",
            ),
            (
                _train_then_eval(_bn_variant(flip=True)),
                "动量的方向反了：书中的 momentum 是旧值的权重。",
            ),
        ],
    )

    def run(answer: Any) -> Verdict:
        if not callable(answer):
            return Verdict(
                False, f"请给出函数 batch_norm（def ...），你给的是 {type_name(answer)}。"
            )
        return check(_train_then_eval(answer))

    return run


def _bn_class_checker(answer: Any) -> Verdict:
    """BatchNorm(num_features, num_dims): three training steps, then eval() with gradients on,
    against nn.BatchNorm1d / nn.BatchNorm2d given the same gamma and beta."""
    hint = _class_hint(answer, "BatchNorm")
    if hint:
        return hint
    for num_dims in (2, 4):
        n = 3 + secrets.randbelow(4)
        shape = (n, 4) if num_dims == 2 else (n, 3, 4, 4)
        ours = answer(shape[1], num_dims)
        theirs = (nn.BatchNorm1d if num_dims == 2 else nn.BatchNorm2d)(shape[1], momentum=0.1)
        if not all(isinstance(getattr(ours, k, None), torch.Tensor) for k in ("gamma", "beta")):
            return Verdict(False, "BatchNorm 的拉伸和偏移参数应叫 gamma 和 beta，与章节里的一样。")
        with torch.no_grad():
            theirs.weight.uniform_(0.5, 1.5)
            theirs.bias.uniform_(-1.0, 1.0)
            ours.gamma.copy_(theirs.weight.reshape(ours.gamma.shape))
            ours.beta.copy_(theirs.bias.reshape(ours.beta.shape))
        kind = "BatchNorm1d" if num_dims == 2 else "BatchNorm2d"
        ours.train()
        theirs.train()
        for _ in range(3):
            X = torch.randn(shape) * 3 + 2
            Y = ours(X)
            if Y is None:
                raise Unanswered  # the scaffold's forward, still `return None`
            if not isinstance(Y, torch.Tensor):
                return Verdict(
                    False, f"BatchNorm 的 forward 应返回张量 Y，你的返回了 {type_name(Y)}。"
                )
            if not _close(Y, theirs(X)):
                return Verdict(False, f"训练模式下的输出与 nn.{kind} 不同：训练模式的公式不要改。")
        ours.eval()
        theirs.eval()
        X = torch.randn(shape) * 3 + 2
        Y = ours(X)  # gradients are on: the mode alone must decide
        if _close(Y, theirs(X)):
            continue
        batch = F.batch_norm(X, None, None, theirs.weight, theirs.bias, True, 0.0, theirs.eps)
        if _close(Y, batch):
            return Verdict(
                False,
                "eval() 之后（没有 torch.no_grad()）仍在用当前批量的统计量："
                "forward 要把 self.training 传给 batch_norm。",
            )
        return Verdict(
            False,
            f"预测模式下的输出与 nn.{kind} 不同（移动方差 {ours.moving_var.flatten()[:2].tolist()}，"
            f"PyTorch 的 running_var {torch.as_tensor(theirs.running_var)[:2].tolist()}）："
            "移动方差要累积无偏方差。",
        )
    return Verdict(True)


exercise("09.3", "以 self.training 决定模式、移动方差用无偏估计的批量规范化")(
    parts(
        batch_norm=_bn_function_checker(),
        BatchNorm=_bn_class_checker,
        explanation=(
            "以 self.training 为准，net.eval() 就够了，不再依赖是否记录梯度；移动方差累积无偏方差"
            "（乘以 n/(n-1)）之后，预测模式下的输出与 nn.BatchNorm1d / nn.BatchNorm2d 逐项一致。"
            "规范化当前批量时两边都用有偏方差：那是这一批自己的方差，不是对总体的估计。"
        ),
    )
)

# ----------------------------------------------------------------------------- 09.4


def _residual_parts(blk: nn.Module) -> tuple[nn.Module, ...] | None:
    names = ("conv1", "bn1", "conv2", "bn2")
    found = [getattr(blk, k, None) for k in names]
    modules = [m for m in found if isinstance(m, nn.Module)]
    return tuple(modules) if len(modules) == len(names) else None


def _plain_block_checker(answer: Any) -> Verdict:
    """PlainBlock(in, out, use_1x1conv, strides): relu(bn2(conv2(relu(bn1(conv1(X)))))) from its
    own layers (eval mode, random BN statistics), with no shortcut."""
    hint = _class_hint(answer, "PlainBlock")
    if hint:
        return hint
    c = 2 + secrets.randbelow(4)
    for args in ((c, c, False, 1), (c, 2 * c, True, 2)):
        blk = answer(args[0], args[1], use_1x1conv=args[2], strides=args[3])
        layers = _residual_parts(blk)
        if layers is None:
            return Verdict(
                False,
                "PlainBlock 应有 conv1、bn1、conv2、bn2：让它继承 d2l.Residual，只改 forward。",
            )
        conv1, bn1, conv2, bn2 = layers
        with torch.no_grad():
            for bn in (bn1, bn2):
                if isinstance(bn, nn.BatchNorm2d):
                    assert bn.running_mean is not None and bn.running_var is not None
                    bn.running_mean.normal_()
                    bn.running_var.uniform_(0.5, 2.0)
                    bn.weight.uniform_(0.5, 1.5)
                    bn.bias.uniform_(-0.5, 0.5)
            blk.eval()
            X = torch.rand(2, args[0], 6, 6)
            Y = blk(X)
            inner = bn2(conv2(F.relu(bn1(conv1(X)))))
        call = f"PlainBlock({args[0]}, {args[1]}, use_1x1conv={args[2]}, strides={args[3]})"
        if Y is None:
            raise Unanswered  # the scaffold's forward, still `return None`
        if not isinstance(Y, torch.Tensor):
            return Verdict(False, f"{call} 的输出应为张量，你的是 {type_name(Y)}。")
        if _close(Y, F.relu(inner)):
            continue
        shortcut = blk.conv3(X) if getattr(blk, "conv3", None) is not None else X
        if inner.shape == shortcut.shape and _close(Y, F.relu(inner + shortcut)):
            return Verdict(False, f"{call} 还在把输入加回去：普通块没有捷径。")
        if _close(Y, inner):
            return Verdict(False, f"{call} 少了最后的 ReLU：去掉的只是捷径。")
        return Verdict(
            False,
            f"{call} 的输出不是 relu(bn2(conv2(relu(bn1(conv1(X))))))（形状 {tuple(Y.shape)}）。",
        )
    return Verdict(True)


exercise("09.4", "去掉捷径：普通 18 层网络与 ResNet-18", kind="experiment")(
    parts(
        PlainBlock=_plain_block_checker,
        zeroed=choice(
            "B",
            "ABC",
            hints={
                "A": "没有捷径时，X 还能从哪条路到达输出？在代码里把 bn2 的 γ、β 置 0 试一试。",
                "C": "ReLU(X) 是残差块在这种情况下的输出；普通块没有把 X 加回去的那一步。",
            },
        ),
        plain_loss=band(
            0.35,
            0.42,
            minutes=1,
            what="普通网络第 2 轮的训练损失",
            key="train_loss",
            valid=(0.0, 10.0),
            low_hint="设置与题目一致吗：plain_resnet(c=4, small_input=True)、批量 256、学习率 0.02、2 轮？"
            "（两个 History 没有填反吧？）",
        ),
        resnet_loss=band(
            0.29,
            0.35,
            minutes=1,
            what="ResNet-18 第 2 轮的训练损失",
            key="train_loss",
            valid=(0.0, 10.0),
            low_hint="设置与题目一致吗：resnet(c=4, small_input=True)、批量 256、学习率 0.02、2 轮？",
        ),
        explanation=(
            "普通块把 bn2 的 γ、β 置 0 后输出全 0，而残差块输出 ReLU(X)：残差块“什么都不做”很容易，"
            "普通块要学成恒等映射却很难。2 核 CPU 上实测（2 个随机种子），2 轮后 ResNet-18 的训练损失"
            "是 0.320–0.326，普通网络是 0.378–0.380：有批量规范化的 18 层普通网络也训练得动，只是慢一些。"
            "层数再多差别会更大：ResNet 的论文（He 等，2016）里 34 层的普通网络在 ImageNet 上的训练误差"
            "反而比 18 层的高，加上捷径之后 34 层的比 18 层的低。"
        ),
    )
)

# ----------------------------------------------------------------------------- 09.5


def _dense_channels(
    num_channels: int, growth_rate: int, num_convs_in_dense_blocks: Sequence[int]
) -> list[int]:
    """The channels after the stem and after each dense block and transition layer, read off
    the outputs of real (1x1) layers."""
    X = torch.zeros(1, num_channels, 1, 1)  # 1x1 kernels and images: the channels are the same
    trace = [num_channels]
    last = len(num_convs_in_dense_blocks) - 1
    with torch.no_grad():
        for i, num_convs in enumerate(num_convs_in_dense_blocks):
            for _ in range(num_convs):
                X = torch.cat((X, nn.Conv2d(X.shape[1], growth_rate, kernel_size=1)(X)), dim=1)
            trace.append(X.shape[1])
            if i != last:
                X = nn.Conv2d(X.shape[1], X.shape[1] // 2, kernel_size=1)(X)
                trace.append(X.shape[1])
    return trace


def _dense_inputs(gen: torch.Generator) -> tuple[int, int, list[int]]:
    def draw(low: int, high: int) -> int:
        return int(torch.randint(low, high, (), generator=gen))

    return draw(3, 41), draw(1, 17), [draw(1, 9) for _ in range(draw(2, 6))]


def _dense_no_halving(c: int, k: int, blocks: Sequence[int]) -> list[int]:
    trace = [c]
    for i, n in enumerate(blocks):
        c += n * k
        trace += [c] if i == len(blocks) - 1 else [c, c]
    return trace


_D121 = [6, 12, 24, 16]
_TRACE_121 = (64, 256, 128, 512, 256, 1024, 512, 1024)  # the test recounts it

exercise("09.5", "DenseNet-121 的通道数")(
    parts(
        trace=value(
            _TRACE_121,
            mistakes=[
                (tuple(_dense_no_halving(64, 32, _D121)), "过渡层把通道数减半。"),
                (
                    (64, 96, 48, 80, 40, 72, 36, 68),
                    "每个稠密块里的每个卷积块都增加 growth_rate 个通道，不是每个稠密块增加一次。",
                ),
            ],
            hint="按 dense_stages 的规则：稠密块加 num_convs × 32，过渡层除以 2；共 8 个数，从 64 开始。",
        ),
        no_transition=number(
            64 + 32 * sum(_D121),
            rtol=0,
            atol=0.5,
            mistakes=[(_TRACE_121[-1], "这是有过渡层时的通道数：去掉减半，通道数会一直累加。")],
        ),
        dense_channels=function(
            _dense_channels,
            _dense_inputs,
            rtol=0,
            atol=0,
            mistakes=[
                (_dense_no_halving, "过渡层把通道数减半（整除 2）。"),
                (
                    lambda c, k, b: _dense_channels(c, k, [1] * len(b)),
                    "每个卷积块都增加 growth_rate 个通道，一个稠密块有 num_convs 个卷积块。",
                ),
                (
                    lambda c, k, b: [*_dense_channels(c, k, b), _dense_channels(c, k, b)[-1] // 2],
                    "最后一个稠密块之后没有过渡层。",
                ),
            ],
        ),
        explanation=(
            "每个稠密块让通道数线性增长（num_convs × growth_rate），过渡层再把它减半："
            "64 → 256 → 128 → 512 → 256 → 1024 → 512 → 1024。没有过渡层时会一直加到 "
            "64 + 32 × 58 = 1920，而每个 3×3 卷积的参数和计算量与它的输入通道数成正比，越往后越贵。"
        ),
    )
)
