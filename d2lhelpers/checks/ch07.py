"""Exercises of 07_deep_learning_computation.ipynb (练习 07.1 to 07.5)."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from .checkers import (
    band,
    choice,
    fresh_generator,
    function,
    number,
    parts,
    randint,
    same,
    type_name,
)
from .core import Unanswered, Verdict, exercise

_M = TypeVar("_M", bound=nn.Module)


def _randomize(net: _M, gen: torch.Generator, scale: float = 1.0) -> _M:
    """Every parameter of `net` drawn afresh from N(0, scale²) with `gen` (no global RNG)."""
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(scale * torch.randn(p.shape, generator=gen))
    return net


def _not_a_class(answer: Any) -> Verdict | None:
    if callable(answer):
        return None
    return Verdict(False, f"请给出一个类（class ...(nn.Module)），你给的是 {type_name(answer)}。")


# ----------------------------------------------------------------------------- 07.1


def _branches(gen: torch.Generator) -> tuple[list[nn.Module], torch.Tensor]:
    """2 to 4 branches from d inputs to q outputs (some with a hidden layer), and a batch X."""
    d, q, n = randint(2, 6, gen), randint(2, 5, gen), randint(2, 5, gen)
    branches: list[nn.Module] = []
    for k in range(randint(2, 4, gen)):
        if k % 2:
            h = randint(2, 6, gen)
            branches.append(nn.Sequential(nn.Linear(d, h), nn.Tanh(), nn.Linear(h, q)))
        else:
            branches.append(nn.Linear(d, q))
    for b in branches:
        _randomize(b, gen)
    return branches, torch.randn(n, d, generator=gen)


def _check_parallel_sum(answer: Any) -> Verdict:
    """ParallelSum(*branches)(X) == sum of the branches' outputs, every branch registered."""
    if (wrong := _not_a_class(answer)) is not None:
        return wrong
    branches, X = _branches(fresh_generator())
    with torch.no_grad():
        outputs = [b(X) for b in branches]
    expected = sum(outputs[1:], outputs[0])
    block = answer(*branches)
    if not isinstance(block, nn.Module):
        return Verdict(False, f"ParallelSum(...) 应当是一个 nn.Module，你的是 {type_name(block)}。")
    got = block(X)
    if got is None:
        raise Unanswered
    why = same(got, expected, 1e-5, 1e-5, "输出")
    if why is not None:
        if same(got, expected / len(branches), 1e-5, 1e-5) is None:
            return Verdict(False, "这是各分支输出的平均：题目要的是它们的和。")
        if same(got, outputs[-1], 1e-5, 1e-5) is None:
            return Verdict(
                False, "输出只剩最后一个分支：每个分支都要用同一个 X 计算，再把结果相加。"
            )
        return Verdict(False, f"对 {len(branches)} 个分支、形状 {tuple(X.shape)} 的 X：{why}")
    found = {id(p) for p in block.parameters()}
    wanted = {id(p) for b in branches for p in b.parameters()}
    if not found & wanted:
        return Verdict(
            False,
            "前向传播是对的，但 parameters() 里一个分支参数也没有：分支放在普通 Python 列表里了吗？"
            "优化器和 state_dict() 都看不到它们。",
        )
    if found != wanted:
        return Verdict(
            False,
            f"parameters() 只找到了分支参数中的 {len(found & wanted)} 个（共 {len(wanted)} 个）："
            "每个分支都要注册为子块。",
        )
    return Verdict(True)


exercise("07.1", "普通列表里的层没有注册：优化器看不到它们；写一个并联块")(
    parts(
        optimizer=choice(
            "B",
            "ABC",
            hints={
                "A": "运行一下：torch.optim.SGD(list_seq.parameters(), lr=0.1) 能创建出来吗？",
                "C": "还没到训练那一步：先试试创建优化器。",
            },
        ),
        unseen=choice(
            "ABC",
            "ABCD",
            hints={
                "ABCD": "前向传播是普通的 Python 代码，遍历列表照样能算：它不依赖注册。",
                "AB": "还漏了一项：把模型搬到 GPU 或改成 float64 时，nn.Module 要遍历哪些子块？",
                "AC": "还漏了一项：保存模型时写进文件的是什么？",
                "BC": "还漏了一项：优化器从哪里拿到要更新的参数？",
            },
            hint="nn.Module 只认识注册过的子块；想想哪些操作要遍历子块。",
        ),
        block=_check_parallel_sum,
        explanation=(
            "nn.Module 只把赋给属性的 nn.Module、nn.Parameter（以及缓冲区）登记进 _modules / "
            "_parameters；普通列表对它是不透明的。parameters()、state_dict()、.to(device) 都只"
            "遍历登记过的子块，所以列表里的层既不会被优化器更新，也不会被保存或移动；"
            "前向传播是普通的 Python 循环，照样能算，这正是这个错误难发现的原因。"
            "nn.ModuleList 本身是 nn.Module，会登记它装的每个子块。"
        ),
    )
)

# ----------------------------------------------------------------------------- 07.2


def _check_tensor_reduction(answer: Any) -> Verdict:
    """TensorReduction(i, o): one parameter W (i, i, o), y_k = sum_ij W_ijk x_i x_j per example."""
    if (wrong := _not_a_class(answer)) is not None:
        return wrong
    gen = fresh_generator()
    i = randint(2, 6, gen)
    o = randint(2, 5, gen)
    o = o + 1 if o == i else o  # in_features != out_features: a swapped axis shows
    n = randint(2, 5, gen)
    layer = answer(i, o)
    if not isinstance(layer, nn.Module):
        return Verdict(
            False, f"TensorReduction(...) 应当是一个 nn.Module，你的是 {type_name(layer)}。"
        )
    params = list(layer.parameters())
    shapes = [tuple(p.shape) for p in params]
    if not params:
        X = torch.randn(n, i, generator=gen)
        if layer(X) is None:
            raise Unanswered
        return Verdict(
            False,
            "parameters() 里找不到参数：把权重用 nn.Parameter 包装后赋给属性（self.weight = ...），"
            "它才会被注册。",
        )
    if shapes != [(i, i, o)]:
        return Verdict(
            False,
            f"TensorReduction({i}, {o}) 应当只有一个参数：形状为 {(i, i, o)} 的 W"
            f"（in_features, in_features, out_features），你的参数形状是 {shapes}。",
        )
    W = params[0]
    with torch.no_grad():
        W.copy_(torch.randn(i, i, o, generator=gen))
    X = torch.randn(n, i, generator=gen)
    got = layer(X)
    if got is None:
        raise Unanswered
    Wd = W.detach()
    expected = torch.einsum("ijk,ni,nj->nk", Wd, X, X)
    why = same(got, expected, 1e-4, 1e-4, "输出")
    if why is not None:
        if same(got, torch.einsum("iik,ni->nk", Wd, X * X), 1e-4, 1e-4) is None:
            return Verdict(
                False, "只用到了 i = j 的项：x_i x_j 里 i 和 j 是两个独立的下标，各自遍历全部输入。"
            )
        if same(got, expected.sum(0), 1e-4, 1e-4) is None:
            return Verdict(
                False, f"把一批样本加在了一起：输入 (n, {i}) 应得到 (n, {o})，每个样本一行。"
            )
        return Verdict(False, f"对形状 {(n, i)} 的 X：{why}")
    if not isinstance(got, torch.Tensor) or not got.requires_grad:
        return Verdict(
            False, "输出不需要梯度：forward 里用了 .data 或 detach() 吗？那样梯度传不到 W。"
        )
    got.sum().backward()
    if W.grad is None:
        return Verdict(False, "反向传播后 W.grad 仍是 None：forward 里要直接使用参数本身。")
    expected_grad = torch.einsum("ni,nj->ij", X, X)[..., None].expand(i, i, o)
    why = same(W.grad, expected_grad, 1e-4, 1e-4, "W 的梯度")
    if why is not None:
        return Verdict(False, why)
    return Verdict(True)


exercise("07.2", "自定义带参数的层：y_k = Σ_ij W_ijk x_i x_j")(
    parts(
        layer=_check_tensor_reduction,
        num_params=number(
            4000,
            mistakes=[
                (200, "W 有三个下标 i、j、k：i 和 j 都遍历 20 个输入。"),
                (400, "别忘了输出维度 k：每个输出 y_k 有自己的 20 × 20 个权重。"),
                (4010, "这个层没有偏置。"),
            ],
            hint="W 的形状是 (in_features, in_features, out_features)：把三个数乘起来。",
        ),
        explanation=(
            "W 是一个三阶张量 (in, in, out)，用 nn.Parameter 包装后赋给属性才会被注册、被优化器"
            "更新。torch.einsum('ijk,ni,nj->nk', W, X, X) 一行写出公式：n 是批量下标，i、j 被"
            "求和。参数量 in² · out 随输入维度平方增长：20 维输入、10 维输出就有 4,000 个，"
            "比 nn.Linear(20, 10) 的 210 个多得多。"
        ),
    )
)

# ----------------------------------------------------------------------------- 07.3


def _tied_net(d: int, h: int) -> nn.Sequential:
    shared = nn.Linear(h, h)
    return nn.Sequential(
        nn.Linear(d, h), nn.ReLU(), shared, nn.ReLU(), shared, nn.ReLU(), nn.Linear(h, 1)
    )


def _usage_grads(net: nn.Sequential, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients of net(X).sum() through the uses at positions 2 and 4: an untied copy."""
    untied = nn.Sequential(*[copy.deepcopy(m) for m in net])  # each position its own layer
    untied.zero_grad()
    untied(X).sum().backward()
    return _weight_grad(untied[2]), _weight_grad(untied[4])


def _tied_total(net: nn.Sequential, X: torch.Tensor) -> torch.Tensor:
    net = copy.deepcopy(net)
    net.zero_grad()
    net(X).sum().backward()
    return _weight_grad(net[2])


def _weight_grad(layer: nn.Module) -> torch.Tensor:
    assert isinstance(layer, nn.Linear) and layer.weight.grad is not None
    return layer.weight.grad


def _tied_inputs(gen: torch.Generator) -> tuple[nn.Sequential, torch.Tensor]:
    """A tied net and a batch where both usages get clearly different, non-zero gradients, so
    (total, total), (total / 2, total / 2) and the swapped pair are wrong on every draw."""
    while True:
        d, h, n = randint(2, 6, gen), randint(3, 8, gen), randint(3, 6, gen)
        net = _randomize(_tied_net(d, h), gen, 0.7)
        X = torch.randn(n, d, generator=gen)
        g2, g4 = _usage_grads(net, X)
        smallest = min(float(g2.abs().max()), float(g4.abs().max()))
        if smallest > 1e-2 and float((g2 - g4).abs().max()) > 1e-2:
            return net, X


exercise("07.3", "参数绑定：共享层在两处使用，各自的梯度与它们的和")(
    parts(
        grads=function(
            _usage_grads,
            _tied_inputs,
            rtol=1e-4,
            atol=1e-5,
            mistakes=[
                (
                    lambda net, X: (_tied_total(net, X),) * 2,
                    "两项都是共享层的 .grad：那是两处梯度之和，不是每一处自己的梯度。",
                ),
                (
                    lambda net, X: (_tied_total(net, X) / 2,) * 2,
                    "两处的梯度一般不相等：不能把总梯度平分。",
                ),
                (
                    lambda net, X: _usage_grads(net, X)[::-1],
                    "顺序反了：第一项是位置 2 的那次使用。",
                ),
            ],
        ),
        num_params=number(
            121,
            mistakes=[
                (193, "共享层在网络里出现两次，但它的 72 个参数只有一份。"),
                (6, "这是参数张量的个数；题目问的是数值的个数：sum(p.numel() for p in ...)。"),
            ],
            hint="用 sum(p.numel() for p in net.parameters()) 数一数。",
        ),
        together=choice(
            "A",
            "ABC",
            hints={
                "B": "net[2] is net[4]：它们是同一个对象，同一个 weight 张量，能变得不一样吗？",
                "C": "优化器只看到共享层的一份参数，更新用的是它的 .grad。",
            },
        ),
        explanation=(
            "同一个层对象在前向传播中用了两次，计算图里它的权重有两条出路；链式法则把两条路"
            "的梯度相加，所以 shared.weight.grad = g₂ + g₄。把网络“解绑”（每个位置深拷贝一份"
            "同样初值的层）就能分别算出 g₂、g₄。共享层只有一份参数，SGD 用 g₂ + g₄ 更新它，"
            "两个位置在训练中始终相同；参数量也只算一次：40 + 72 + 9 = 121。"
        ),
    )
)

# ----------------------------------------------------------------------------- 07.4

_FIRST_TWO = ("0.weight", "0.bias", "2.weight", "2.bias")


def _mlp(d: int, h1: int, h2: int, q: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(d, h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU(), nn.Linear(h2, q)
    )


def _snapshot(net: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in net.state_dict().items()}


def _same_values(net: nn.Module, values: dict[str, torch.Tensor], keys: tuple[str, ...]) -> bool:
    state = net.state_dict()
    return all(torch.equal(state[k], values[k]) for k in keys)


def _check_transfer(answer: Any) -> Verdict:
    """transfer(src, dst, path): layers 0 and 2 of src reach dst through the file at path."""
    if not callable(answer):
        return Verdict(False, f"请给出一个函数（def ...），你给的是 {type_name(answer)}。")
    gen = fresh_generator()
    d, h1, h2 = randint(2, 8, gen), randint(3, 8, gen), randint(3, 8, gen)
    q_src = randint(2, 4, gen)
    src = _randomize(_mlp(d, h1, h2, q_src), gen)
    dst = _randomize(_mlp(d, h1, h2, q_src + randint(1, 3, gen)), gen)  # another output layer
    src_values, dst_values = _snapshot(src), _snapshot(dst)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "first-two.params"
        try:
            result = answer(src, dst, path)
        except RuntimeError as error:
            if "size mismatch" in str(error):
                return Verdict(
                    False,
                    "load_state_dict 报告 size mismatch：strict=False 只放过缺少和多余的键，"
                    "形状不同的键照样报错。先从字典里挑出前两层的键。",
                )
            raise
        wrote = path.exists()
    untouched = _same_values(dst, dst_values, _FIRST_TWO)
    if result is None and untouched and not wrote:
        raise Unanswered
    if not _same_values(src, src_values, tuple(src_values)):
        return Verdict(False, "src 的参数被改动了：只应读取 src，改的是 dst。")
    if not _same_values(dst, dst_values, ("4.weight", "4.bias")):
        return Verdict(False, "dst 的最后一层也变了：只复用前两层，其余的层保持原样。")
    if untouched:
        return Verdict(
            False, "dst 的前两层还是原来的值：读回的参数装进 dst 了吗（dst.load_state_dict）？"
        )
    if not _same_values(dst, src_values, ("0.weight", "0.bias")):
        return Verdict(False, "dst 的第一层（下标 0）不等于 src 的第一层。")
    if not _same_values(dst, src_values, ("2.weight", "2.bias")):
        return Verdict(False, "只复用了第一层：第二个线性层在下标 2（下标 1 是没有参数的 ReLU）。")
    if not wrote:
        return Verdict(
            False,
            "参数复制对了，但 path 处没有文件：题目要把参数 torch.save 到 path，再 torch.load 读回。",
        )
    return Verdict(True)


def _check_missing_keys(answer: Any) -> Verdict:
    if not isinstance(answer, list | tuple | set) or not all(isinstance(k, str) for k in answer):
        return Verdict(
            False, f"请给出键名（字符串）的列表，例如 ['0.weight']；你给的是 {type_name(answer)}。"
        )
    keys = set(answer)
    if keys == {"4.weight", "4.bias"}:
        return Verdict(True)
    if not keys:
        return Verdict(
            False, "dst 里有没从文件得到值的参数吗？看看 load_state_dict 返回的 missing_keys。"
        )
    if keys & set(_FIRST_TWO):
        return Verdict(False, "前两层的键在文件里都有，它们不算缺少。")
    return Verdict(
        False, "把 load_state_dict(..., strict=False) 的返回值打印出来看看 missing_keys。"
    )


exercise("07.4", "只复用另一个网络的前两层：筛选 state_dict 的键")(
    parts(
        transfer=_check_transfer,
        missing=_check_missing_keys,
        explanation=(
            "state_dict 是“参数名 → 张量”的字典，名字里的数字就是层在 Sequential 中的下标，"
            "所以前两层就是以 '0.' 和 '2.' 开头的键。把筛选后的字典存进文件、读回，再用 "
            "load_state_dict(..., strict=False) 装进新网络：strict=False 允许新网络的其余参数"
            "（这里是 4.weight、4.bias）在文件里缺席，它们保留自己的初值；但形状不同的同名键"
            "仍会报错，所以要先筛选。迁移学习（微调）正是这样复用预训练网络的前几层。"
        ),
    )
)

# ----------------------------------------------------------------------------- 07.5

exercise("07.5", "每次 .item() 取回结果的代价：CPU 与 GPU", kind="experiment")(
    parts(
        ratio=band(
            0.9,
            1.6,
            minutes=0.1,
            what="每次都 .item() 与最后才 .item() 的用时之比",
            key=None,
            valid=(0.0, float("inf")),
            low_hint="两种循环都做了 1000 次 100×100 的乘法、各测 5 次取最小值吗？",
        ),
        gpu=choice(
            "A",
            "ABC",
            hints={
                "B": "GPU 的乘法更快，那么 .item() 的等待与拷贝在总时间里占的比例是更大还是更小？",
                "C": ".item() 之前，GPU 上排队的运算都得先算完：想想“异步”意味着什么。",
            },
        ),
        explanation=(
            "CPU 上的运算是同步的：A @ B 返回时结果已经算好，.item() 只是读一个数，几微秒，"
            "与一次 100×100 乘法相比很小，两种写法差别不大（课程的 2 核机器上比值在 1.1 到 1.5 左右）。GPU 上的运算是异步的："
            "CPU 只把运算放进队列就返回，可以接着排下一个；.item() 必须等队列里的运算全部算完、"
            "再把结果拷回 CPU，流水线每一步都被打断，差距因此变大。所以训练循环里不要每步都 "
            ".item()，而是在设备上累积，最后取回一次。"
        ),
    )
)
