"""Exercises of 12_attention.ipynb (练习 12.1 to 12.5).

The classes a learner writes (an attention, a decoder, a positional encoding) are built here
inside `torch.random.fork_rng`, so checking them leaves the notebook's random numbers alone,
and compared with the library's modules given the same parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from d2lhelpers.attention import DotProductAttention, masked_softmax
from d2lhelpers.bahdanau import Seq2SeqAttentionDecoder
from d2lhelpers.seq2seq import Seq2SeqEncoder

from .checkers import (
    choice,
    fresh_generator,
    function,
    number,
    parts,
    randint,
    same,
    type_name,
    value,
)
from .core import Unanswered, Verdict, exercise


def _not_a_class(answer: Any) -> Verdict | None:
    if isinstance(answer, type):
        return None
    return Verdict(
        False, f"请给出类本身（class ...: 写类名，不加括号），你给的是 {type_name(answer)}。"
    )


def _build(cls: type, *args: Any) -> nn.Module | Verdict:
    """cls(*args) without touching the global random numbers; a verdict if it is no module."""
    with torch.random.fork_rng(devices=[]):
        module = cls(*args)
    if not isinstance(module, nn.Module):
        return Verdict(
            False, f"{cls.__name__}(...) 应当是一个 nn.Module，你的是 {type_name(module)}。"
        )
    return module


def _randomize(module: nn.Module, gen: torch.Generator) -> None:
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)


# ----------------------------------------------------------------------------- 12.1


def _f(x: torch.Tensor) -> torch.Tensor:
    return 2 * torch.sin(x) + x**0.8


def _nw_loss(w: Any, x: torch.Tensor, y: torch.Tensor, exclude_self: bool = True) -> torch.Tensor:
    """Sum of squared errors of NW regression predicting every training y from the others."""
    w = torch.as_tensor(w, dtype=torch.float64)
    x, y = x.double(), y.double()
    scores = -(((x.reshape(-1, 1) - x.reshape(1, -1)) * w) ** 2) / 2
    if exclude_self:
        scores = scores.masked_fill(torch.eye(len(x), dtype=torch.bool), float("-inf"))
    return ((F.softmax(scores, dim=1) @ y - y) ** 2).sum()


def _nw_data(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    n = randint(6, 30, gen)
    x, _ = torch.sort(torch.rand(n, generator=gen) * 5)
    return x, _f(x) + torch.normal(0.0, 0.5, (n,), generator=gen)


def _nw_inputs(exclude_self: bool) -> Callable[[torch.Generator], tuple]:
    def make(gen: torch.Generator) -> tuple:
        x, y = _nw_data(gen)
        w = float(torch.rand((), generator=gen)) * 2 + 0.5  # 0.5 to 2.5
        return torch.tensor(w), x, y, exclude_self

    return make


def _loss_value(w: Any, x: torch.Tensor, y: torch.Tensor, exclude_self: bool) -> float:
    return float(_nw_loss(w, x, y, exclude_self))


_LOSS_MISTAKES = [
    (
        lambda w, x, y, e: float(_nw_loss(w, x, y, e)) / len(x),
        "这是平方误差的平均：notebook 训练时对 50 个样本的损失求和（l.sum()），题目要的是和。",
    ),
    (
        lambda w, x, y, e: float(_nw_loss(w * math.sqrt(2), x, y, e)),
        "高斯核的指数是 -((x - x_i) w)² / 2：别忘了除以 2。",
    ),
]


def _check_nw_loss(answer: Any) -> Verdict:
    """nw_loss(w, x, y, exclude_self) on fresh data, with and without the query's own pair."""
    for exclude_self, forgot in ((True, False), (False, True)):
        wrong = (
            "exclude_self=True 时，每个查询的键值对里要去掉它自己（对角线）。"
            if exclude_self
            else "exclude_self=False 时，每个查询的键值对里包括它自己。"
        )
        verdict = function(
            _loss_value,
            _nw_inputs(exclude_self),
            trials=2,
            rtol=1e-4,
            atol=1e-5,
            mistakes=[
                *_LOSS_MISTAKES,
                (lambda w, x, y, e, f=forgot: float(_nw_loss(w, x, y, f)), wrong),
            ],
        )(answer)
        if not verdict.passed:
            return verdict
    return Verdict(True)


def _curvature(x: torch.Tensor, y: torch.Tensor, exclude_self: bool = True) -> float:
    """d²L/dw² at w = 0 (float64 autograd), the query's own pair excluded by default."""
    w = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    (slope,) = torch.autograd.grad(_nw_loss(w, x, y, exclude_self), w, create_graph=True)
    (curvature,) = torch.autograd.grad(slope, w)
    return float(curvature)


def _slope_at_zero(x: torch.Tensor, y: torch.Tensor) -> float:
    w = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(_nw_loss(w, x, y, True), w)
    return float(grad)


def _curvature_with_self(x: torch.Tensor, y: torch.Tensor) -> float:
    return _curvature(x, y, exclude_self=False)


def _seed18_multiplier(lr: float = 0.5) -> float:
    """1 - lr * L''(0) on the notebook's data drawn after d2l.set_seed(18)."""
    gen = torch.Generator().manual_seed(18)
    x, _ = torch.sort(torch.rand(50, generator=gen) * 5)
    y = _f(x) + torch.normal(0.0, 0.5, (50,), generator=gen)
    return 1 - lr * _curvature(x, y)


_MULTIPLIER = _seed18_multiplier()
_CURVATURE_18 = (1 - _MULTIPLIER) / 0.5

exercise("12.1", "Nadaraya-Watson：训练损失、不排除自己、500 个样本、w=0 处的曲率")(
    parts(
        loss=_check_nw_loss,
        no_self=choice(
            "A",
            "ABC",
            hints={
                "B": "w → 0 时所有键的权重相同，是平均汇聚；不排除自己时，什么样的 w 能让预测等于 y_i 本身？",
                "C": "用你的 nw_loss 比较 exclude_self=False 时 w = 1、5、20 的损失。",
            },
        ),
        n500=choice(
            "B",
            "ABC",
            hints={
                "A": "用 500 个样本实际算一算两个模型在测试点上的均方误差。w = 1 的核有多宽？",
                "C": "用 500 个样本实际算一算两个模型在测试点上的均方误差，差别大吗？",
            },
        ),
        curvature=function(
            _curvature,
            _nw_data,
            trials=2,
            rtol=1e-3,
            atol=1e-3,
            mistakes=[
                (_slope_at_zero, "这是一阶导数（w = 0 处总是 0）：要的是二阶导数。"),
                (_curvature_with_self, "这是不排除查询自己时的损失的曲率：训练时排除了自己。"),
            ],
        ),
        multiplier=number(
            _MULTIPLIER,
            rtol=1e-3,
            atol=1e-3,
            mistakes=[
                (1 - _CURVATURE_18, "每一步的更新是 w ← w - lr·L''(0)·w：别忘了学习率 0.5。"),
                (1 + 0.5 * _CURVATURE_18, "梯度下降是减去梯度：w ← w - lr·L''(0)·w。"),
            ],
            hint="用种子 18 生成的 50 个样本（与 notebook 相同的生成方式）算 L''(0)，再算 1 - 0.5·L''(0)。",
        ),
        explanation=(
            "不排除自己时，w 越大每个点越只看自己，预测趋于 y_i 本身，训练损失趋于 0，"
            "w 一直增大：模型学会了抄答案。w = 1 的核对这个函数太宽，偏差不随样本数减小"
            "（一致性要求核随样本增多而变窄），所以 500 个样本时仍是学到较大 w 的带参数模型误差更小。"
            "损失只通过 w² 依赖 w，w = 0 处梯度为 0；在那附近 L(w) ≈ L(0) + L''(0) w²/2，"
            "梯度下降每步把 w 乘以 1 - lr·L''(0)。种子 18 的数据上这个数小于 -1："
            "w 每一步变号，幅度只慢慢增大，5 轮后仍在 0 附近，损失停在平均汇聚的水平。"
        ),
    )
)


# ----------------------------------------------------------------------------- 12.2


def _unscaled(
    Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, lens: torch.Tensor
) -> torch.Tensor:
    return torch.bmm(masked_softmax(torch.bmm(Q, K.transpose(1, 2)), lens), V)


def _scaled(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, lens: torch.Tensor) -> torch.Tensor:
    return _unscaled(Q / math.sqrt(Q.shape[-1]), K, V, lens)


def _unmasked(
    Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, lens: torch.Tensor
) -> torch.Tensor:
    return torch.bmm(torch.softmax(torch.bmm(Q, K.transpose(1, 2)), dim=-1), V)


def _attention_inputs(gen: torch.Generator) -> tuple[torch.Tensor, ...]:
    b, nq, v = randint(2, 4, gen), randint(1, 5, gen), randint(2, 6, gen)
    nk, d = randint(3, 8, gen), randint(4, 16, gen)
    lens = torch.randint(1, nk, (b,), generator=gen)  # below nk: some keys are always masked
    Q, K = torch.randn(b, nq, d, generator=gen), torch.randn(b, nk, d, generator=gen)
    return Q, K, torch.randn(b, nk, v, generator=gen), lens


def _check_unscaled_class(answer: Any) -> Verdict:
    if (wrong := _not_a_class(answer)) is not None:
        return wrong
    attention = _build(answer, 0)
    if isinstance(attention, Verdict):
        return attention
    attention.eval()

    def call(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, lens: torch.Tensor) -> Any:
        with torch.no_grad():
            return attention(Q, K, V, lens)

    return function(
        _unscaled,
        _attention_inputs,
        rtol=1e-4,
        atol=1e-5,
        mistakes=[
            (_scaled, "这还是缩放点积注意力：题目要去掉除以 √d 的那一步。"),
            (_unmasked, "有效长度之外的键也分到了权重：评分仍要经过 masked_softmax。"),
        ],
    )(call)


def _mean_largest_weight(scale: float, d: int = 64, m: int = 10, n: int = 4000) -> float:
    gen = torch.Generator().manual_seed(12)
    q, K = torch.randn(n, 1, d, generator=gen), torch.randn(n, m, d, generator=gen)
    scores = torch.bmm(q, K.transpose(1, 2)).squeeze(1) * scale
    return float(torch.softmax(scores, dim=-1).max(dim=-1).values.mean())


_LARGEST_UNSCALED = _mean_largest_weight(1.0)
_LARGEST_SCALED = _mean_largest_weight(1 / 8)

exercise("12.2", "去掉 √d：每个头的点积方差与 softmax 的饱和")(
    parts(
        cls=_check_unscaled_class,
        variance=number(
            64,
            mistakes=[
                (256, "每个头只用 num_hiddens / num_heads 维的查询和键做点积。"),
                (8, "8 是标准差：题目问的是方差。"),
                (1, "除以 √d 之后方差才是 1：题目问的是不缩放的点积。"),
            ],
            hint="点积是 d 个独立乘积之和，每个乘积的方差是多少？d 又是多少？",
        ),
        largest=number(
            _LARGEST_UNSCALED,
            atol=0.03,
            mistakes=[(_LARGEST_SCALED, "这是除以 √64 之后的结果：题目要不缩放的评分。")],
            hint="d = 64、10 个键、查询和键的元素服从标准正态分布，评分不缩放；"
            "对至少 1000 个查询求每个查询最大权重的平均。",
        ),
        why=choice(
            "A",
            "ABC",
            hints={
                "B": "方差 64 的评分离 float32 的上限还远：softmax 会溢出吗？算一算最大的评分。",
                "C": "去掉 √d 不增加也不减少任何参数。",
            },
        ),
        explanation=(
            "每个头的查询和键是 256 / 4 = 64 维，不缩放时点积的方差是 64、标准差是 8："
            "10 个评分之间差好几个单位，softmax 几乎成了独热向量，最大权重平均约 "
            f"{_LARGEST_UNSCALED:.2f}（缩放后约 {_LARGEST_SCALED:.2f}）。饱和的 softmax 的雅可比矩阵"
            "接近 0，反向传播经过它时梯度几乎消失，注意力的参数学得很慢。"
        ),
    )
)


# ----------------------------------------------------------------------------- 12.3

_SIZES = {"vocab_size": 10, "embed_size": 8, "num_hiddens": 16, "num_layers": 2}


def _check_dot_decoder(answer: Any) -> Verdict:
    """The learner's decoder == the library's Bahdanau decoder with DotProductAttention."""
    if (wrong := _not_a_class(answer)) is not None:
        return wrong
    gen = fresh_generator()
    ours: Any = _build(answer, *_SIZES.values())
    if isinstance(ours, Verdict):
        return ours
    names = ours.state_dict().keys()
    if any(k.startswith("attention.") for k in names):
        return Verdict(
            False,
            "你的解码器的 attention 还有参数（加性注意力的 W_q、W_k、w_v）："
            "缩放点积注意力没有参数，把 self.attention 换成 DotProductAttention(dropout)。",
        )
    _randomize(ours, gen)
    with torch.random.fork_rng(devices=[]):
        reference = Seq2SeqAttentionDecoder(*_SIZES.values())
        encoder = Seq2SeqEncoder(*_SIZES.values())
    reference.attention = DotProductAttention(0)  # type: ignore[assignment]
    try:
        reference.load_state_dict(ours.state_dict())
    except RuntimeError:
        return Verdict(
            False,
            "参数的名字或形状与 Seq2SeqAttentionDecoder 的不同：只换掉 attention，"
            "embedding、rnn、dense 保持原样。",
        )
    _randomize(encoder, gen)
    for m in (ours, reference, encoder):
        m.eval()
    b, T = 4, 6
    src = torch.randint(0, 10, (b, T), generator=gen)
    tgt = torch.randint(0, 10, (b, randint(2, 5, gen)), generator=gen)
    lens = torch.tensor([T, 4, 2, 1])
    with torch.no_grad():
        enc_outputs = encoder(src)
        out, state = ours(tgt, ours.init_state(enc_outputs, lens))
        expected, ref_state = reference(tgt, reference.init_state(enc_outputs, lens))
    if out is None:
        raise Unanswered
    why = same(out, expected, 1e-4, 1e-5, "输出")
    if why is None:
        why = same(state[1], ref_state[1], 1e-4, 1e-5, "最后的隐状态")
    if why is None:
        weights = torch.cat(list(ours.attention_weights), 1)
        why = same(weights, torch.cat(reference.attention_weights, 1), 1e-4, 1e-5, "注意力权重")
    if why is None:
        return Verdict(True)
    with torch.no_grad():
        unmasked, _ = reference(tgt, reference.init_state(enc_outputs, None))
    if same(out, unmasked, 1e-4, 1e-5) is None:
        return Verdict(False, "注意力看到了源序列的填充：把 enc_valid_lens 传给注意力。")
    return Verdict(False, f"与换成缩放点积注意力的 Bahdanau 解码器不同：{why}")


_ADDITIVE_PARAMS = 32 * 32 * 2 + 32

exercise("12.3", "Bahdanau 解码器改用缩放点积注意力")(
    parts(
        cls=_check_dot_decoder,
        fewer=value(
            _ADDITIVE_PARAMS,
            mistakes=[
                (32 * 32 * 2, "还有 w_v：它把 num_hiddens 维压成一个评分。"),
                (32 * 32, "加性注意力有两个 num_hiddens × num_hiddens 的矩阵 W_q 和 W_k。"),
            ],
            hint="数一数两个解码器的 sum(p.numel() for p in decoder.parameters())，相减。",
        ),
        why=choice(
            "A",
            "ABC",
            hints={
                "B": "键和值是同一个张量，这对加性注意力也一样：点积注意力对查询和键有什么要求？",
                "C": "编码器和解码器都用 GRU，这与评分函数的要求无关。",
            },
        ),
        explanation=(
            f"加性注意力的参数是 W_q、W_k（各 32×32）和 w_v（32），共 {_ADDITIVE_PARAMS} 个；"
            "点积注意力没有参数。它要求查询和键长度相同，这里查询是解码器最后一层的隐状态，"
            "键是编码器的输出，都是 num_hiddens 维，所以可以直接替换。"
        ),
    )
)


# ----------------------------------------------------------------------------- 12.4

exercise("12.4", "书中的 DecoderBlock：评估模式下的强制教学与逐词预测")(
    parts(
        keys=value(
            10,
            mistakes=[(1, "那是因果掩蔽下的数目：书中的块在评估模式下的有效长度是 None。")],
            hint="评估模式下 dec_valid_lens 是 None：位置 0 的查询能看哪些键？",
        ),
        loss=choice(
            "C",
            "ABC",
            hints={
                "A": "它确实看得见要预测的词元，但模型训练时见过未来的位置吗？用训练好的模型算一算。",
                "B": "评估模式下两种块的掩码不同，算出的损失会相同吗？用训练好的模型算一算。",
            },
        ),
        same=value(True, hint="逐词预测时，每一次调用解码器给出几个词元？缓存里有未来的词元吗？"),
        explanation=(
            "书中的块在评估模式下不掩蔽：一次给出 10 个目标位置时，位置 0 能看全部 10 个键，"
            "包括它要预测的词元；但模型训练时从没见过未来的位置，多出来的键只是干扰，实测损失反而更高。"
            "无论高低，这样算出的损失都不是模型逐词预测时的损失。逐词预测时每次只给一个"
            "词元，键是缓存里已经生成的词元加上它自己，本来就没有未来可看，所以两种块的译文完全相同。"
        ),
    )
)


# ----------------------------------------------------------------------------- 12.5


def _check_learned_pe(answer: Any) -> Verdict:
    if (wrong := _not_a_class(answer)) is not None:
        return wrong
    gen = fresh_generator()
    d, max_len = 2 * randint(2, 8, gen), randint(20, 60, gen)
    pe = _build(answer, d, 0, max_len)
    if isinstance(pe, Verdict):
        return pe
    P = getattr(pe, "P", None)
    if not isinstance(P, torch.Tensor):
        return Verdict(False, "位置嵌入要存在属性 P 里（self.P = nn.Parameter(...)）。")
    if not any(p is P for p in pe.parameters()):
        return Verdict(
            False,
            "P 不在 parameters() 里，优化器不会更新它：用 nn.Parameter 注册，不是缓冲区或普通张量。",
        )
    if tuple(P.shape) != (1, max_len, d):
        return Verdict(
            False,
            f"P 的形状应为 (1, max_len, num_hiddens) = {(1, max_len, d)}，你的是 {tuple(P.shape)}。",
        )
    if P.abs().max() != 0:
        return Verdict(False, "题目要求 P 初始化为全 0（torch.zeros）。")
    with torch.no_grad():
        P.copy_(torch.randn(P.shape, generator=gen))
    pe.eval()
    T = randint(2, 8, gen)
    X = torch.randn(3, T, d, generator=gen)
    offset = randint(1, max_len - T, gen)
    with torch.no_grad():
        if same(pe(X), X + P[:, :T], 1e-5, 1e-6, "forward(X) 的结果") is not None:
            return Verdict(
                False,
                f"forward(X) 应为 X + P[:, :num_steps]：{same(pe(X), X + P[:, :T], 1e-5, 1e-6)}",
            )
        try:
            got = pe(X, offset)
        except TypeError:
            return Verdict(
                False,
                "forward 要接受 offset 参数（forward(self, X, offset=0)），解码器逐词预测时用它。",
            )
        expected = X + P[:, offset : offset + T]
        if same(got, expected, 1e-5, 1e-6) is not None:
            if same(got, X + P[:, :T], 1e-5, 1e-6) is None:
                return Verdict(False, "offset 被忽略了：第 t 步应加上位置 offset + t 的嵌入。")
            return Verdict(False, "forward(X, offset) 应为 X + P[:, offset : offset + num_steps]。")
    return Verdict(True)


exercise("12.5", "可学习的位置嵌入，去掉位置编码会怎样")(
    parts(
        cls=_check_learned_pe,
        count=value(
            32_000,
            mistakes=[
                (320, "P 的长度是 max_len = 1000 个位置，不是 num_steps。"),
                (64_000, "只问编码器：解码器另有一个自己的 P。"),
            ],
            hint="P 的形状是 (1, max_len, num_hiddens)。",
        ),
        permuted=value(True, hint="用你的 MultiHeadAttention 试一试：打乱输入的词元，输出怎样变？"),
        explanation=(
            "可学习的位置嵌入是一个 (1, 1000, 32) 的参数，编码器多了 32000 个参数，只有训练中"
            "出现过的位置（这里最多 10 个）会被更新。去掉位置编码后，编码器只剩嵌入、自注意力和"
            "逐位置的网络，打乱源序列的词元只会同样地打乱输出：“i'm home .” 与 “. home i'm” "
            "的每个词元得到相同的表示，模型分不出词序。"
        ),
    )
)
