"""Exercises of 10_rnn.ipynb (练习 10.1 to 10.5)."""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from .checkers import band, choice, fresh_generator, function, parts, same, value
from .core import Unanswered, Verdict, exercise

# ----------------------------------------------------------------------------- 10.1


def _k_step_preds(net: nn.Module, x: torch.Tensor, tau: int, k: int) -> torch.Tensor:
    """The k-step-ahead predictions from every start: true x[i : i + tau], then k predictions."""
    n = len(x) - tau - k + 1
    features = torch.zeros((n, tau + k), dtype=x.dtype)
    for i in range(tau):
        features[:, i] = x[i : i + n]
    with torch.no_grad():
        for i in range(tau, tau + k):
            features[:, i] = net(features[:, i - tau : i]).reshape(-1)
    return features[:, -1]


def _from_truth(net: nn.Module, x: torch.Tensor, tau: int, k: int) -> torch.Tensor:
    """Mistake: every step reads true observations (a one-step prediction of the same target)."""
    n = len(x) - tau - k + 1
    windows = torch.stack([x[k - 1 + i : k - 1 + i + n] for i in range(tau)], dim=1)
    with torch.no_grad():
        return net(windows).reshape(-1)


def _one_step_short(net: nn.Module, x: torch.Tensor, tau: int, k: int) -> torch.Tensor:
    """Mistake: the (k-1)-step predictions, cut to the same length."""
    return _k_step_preds(net, x, tau, k - 1)[: len(x) - tau - k + 1]


class _Drifting(nn.Module):
    """A random autoregressive model whose every step moves by 0.5 to 1.5 (so no fixed point):
    the last value, plus 1, plus half the tanh of a small random MLP of the whole window."""

    def __init__(self, tau: int, gen: torch.Generator) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(tau, 6), nn.Tanh(), nn.Linear(6, 1))
        with torch.no_grad():
            for p in self.mlp.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return X[:, -1:] + 1 + 0.5 * torch.tanh(self.mlp(X))


def _sequence_inputs(gen: torch.Generator) -> tuple[nn.Module, torch.Tensor, int, int]:
    """A random model on a random sequence; tau in 2-5, k in 2-6."""
    tau = int(torch.randint(2, 6, (), generator=gen))
    k = int(torch.randint(2, 7, (), generator=gen))
    x = torch.randn(int(torch.randint(20, 50, (), generator=gen)), generator=gen)
    return _Drifting(tau, gen), x, tau, k


exercise("10.1", "没有噪声时，k 步预测的误差还会累积吗", kind="experiment")(
    parts(
        k_step=function(
            _k_step_preds,
            _sequence_inputs,
            rtol=1e-5,
            atol=1e-5,
            mistakes=[
                (
                    _from_truth,
                    "这是用真实观测做的单步预测：从第二步起，输入窗口里应该是模型自己的预测。",
                ),
                (
                    _one_step_short,
                    "差了一步：返回的应是连续预测的第 k 个值（对应 x[i + tau + k - 1]）。",
                ),
            ],
        ),
        mse_1=band(
            0.0,
            0.01,
            minutes=0.1,
            what="噪声为 0 时 1 步预测的均方误差",
            key=None,
            valid=(0.0, math.inf),
            explanation="",
        ),
        ratio=band(
            20,
            minutes=0.1,
            what="噪声为 0 时 64 步与 1 步预测的均方误差之比",
            key=None,
            valid=(0.0, math.inf),
            low_hint="噪声的标准差改成 0 了吗？x = torch.sin(0.01 * time)，再重新训练、重新算各步的均方误差。",
        ),
        accumulates=choice(
            "B",
            "ABC",
            hints={
                "A": "看看你量到的比值：64 步的误差是 1 步的多少倍？",
                "C": "误差是在所有起点上平均的，训练区间内的起点也一样：不是外推的问题。再想想每一步的输入从哪里来。",
            },
        ),
        explanation=(
            "没有噪声时，1 步预测几乎完美（均方误差只有千分之几），但 64 步预测的误差仍是它的几十到"
            "上千倍：模型只是 sin 的一个近似，每一步的小偏差都被当作下一步的输入再加工一遍。"
            "噪声让 1 步预测的下限变成 0.04，却不是误差累积的原因；累积来自把预测当输入。"
        ),
    )
)

# ----------------------------------------------------------------------------- 10.2

exercise("10.2", "min_freq 与词表大小：奇普夫定律的长尾")(
    parts(
        sizes=value(
            (4580, 2183, 825, 400),
            mistakes=[
                ((4579, 2182, 824, 399), "len(vocab) 包含 <unk>：直接用 len(Vocab(...))。"),
                (
                    (2183, 1420, 680, 362),
                    "min_freq=k 保留出现至少 k 次的词：判断条件是 freq < min_freq。",
                ),
                ((4583, 2186, 828, 403), "题目的词表没有保留词元。"),
            ],
            hint="用单词词元（tokenize(lines)，不是按字符），对 k = 1, 2, 5, 10 依次给出 len(Vocab(tokens, min_freq=k))。",
        ),
        once=value(
            2397,
            mistakes=[
                (2396, "<unk> 不是书中的词，它的计数不在 token_freqs 里。"),
                (763, "这是出现两次的词数。"),
            ],
            hint="数一数 vocab.token_freqs 中频率恰好为 1 的词。",
        ),
        why=choice(
            "B",
            "ABC",
            hints={
                "A": "<unk> 总在索引 0，无论 min_freq 取多少。",
                "C": "停用词出现几百上千次，min_freq = 2 删不掉它们。删掉的是哪些词？",
            },
        ),
        explanation=(
            "α ≈ 1 的奇普夫定律下，出现恰好 f 次的词约占不同单词的 1/(f(f+1))：f = 1 时约一半，"
            "f = 2 时约六分之一（《时间机器》里是 2397/4579 ≈ 52% 和 763/4579 ≈ 17%）。"
            "所以 min_freq 从 1 变为 2 就删掉了一半的词，之后每提高一次删掉的越来越少。"
        ),
    )
)

# ----------------------------------------------------------------------------- 10.3

exercise("10.3", "五倍的训练文本：训练困惑度与 held-out 困惑度", kind="experiment")(
    parts(
        train=band(
            3.5,
            4.2,
            minutes=1,
            what="训练困惑度（最后一轮）",
            key="perplexity",
            valid=(1.0, math.inf),
            low_hint="训练的是 max_tokens=50000 的数据、一个新的模型、100 轮吗？",
        ),
        heldout=band(
            7.5,
            9.0,
            minutes=1,
            what="held-out 困惑度（最后一次测量）",
            key="heldout_perplexity",
            valid=(1.0, math.inf),
            low_hint="训练的是 max_tokens=50000 的数据、一个新的模型、100 轮吗？",
        ),
        meaning=choice(
            "B",
            "ABC",
            hints={
                "A": "对照本章 10,000 个字符的结果：held-out 困惑度是变高了还是变低了？",
                "C": "两次训练的参数更新次数相近（500 轮 × 8 个小批量，100 轮 × 44 个）：差别来自哪里？",
            },
        ),
        explanation=(
            "50,000 个字符背不下来：训练困惑度停在 4 左右，而不是 1.3；held-out 困惑度却从一百多"
            "降到 8 左右（10,000 个字符时最低也只有 10）。参数更新的次数相近，差别来自数据："
            "更多的文本让模型学到在整本书里反复出现、对没见过的文本同样有用的规律。"
            "10,000 个字符时的困惑度 1.0（简洁实现 1.3）是背诵。"
        ),
    )
)

# ----------------------------------------------------------------------------- 10.4


class _TinyLM(nn.Module):
    """A small RNN language model with the book's interface (one-hot in, time-major out)."""

    def __init__(self, vocab_size: int, num_hiddens: int) -> None:
        super().__init__()
        self.rnn = nn.RNN(vocab_size, num_hiddens)
        self.linear = nn.Linear(num_hiddens, vocab_size)
        self.vocab_size = vocab_size

    def forward(
        self, inputs: torch.Tensor, state: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        X = F.one_hot(inputs.T.long(), self.vocab_size).float()
        Y, state = self.rnn(X, state)
        return self.linear(Y.reshape(-1, Y.shape[-1])), state

    def begin_state(self, device: Any, batch_size: int = 1) -> torch.Tensor:
        return torch.zeros((1, batch_size, self.rnn.hidden_size), device=device)


def _reference_epoch(
    net: _TinyLM, batches: list, updater: torch.optim.Optimizer, theta: float | None
) -> None:
    """One epoch of sequential partitioning with clipping to `theta` (None: no clipping)."""
    state = None
    for X, Y in batches:
        state = (
            net.begin_state(batch_size=X.shape[0], device="cpu")
            if state is None
            else state.detach()
        )
        y_hat, state = net(X, state)
        l = F.cross_entropy(y_hat, Y.T.reshape(-1))
        updater.zero_grad()
        l.backward()
        if theta is not None:
            torch.nn.utils.clip_grad_norm_(net.parameters(), theta)
        updater.step()


def _epoch_setup(gen: torch.Generator) -> tuple[_TinyLM, list]:
    vocab_size, num_hiddens = 7, 12
    net = _TinyLM(vocab_size, num_hiddens)
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=gen) * 3)  # gradient norms above 1
    text = torch.randint(0, vocab_size, (3 * 4 * 5 + 1,), generator=gen)
    Xs, Ys = text[:-1].reshape(4, -1), text[1:].reshape(4, -1)
    return net, [(Xs[:, i : i + 5], Ys[:, i : i + 5]) for i in range(0, 15, 5)]


def _epoch_checker(answer: Any) -> Verdict:
    """train_epoch_ch8 with a `theta` argument: the same parameters as a reference epoch."""
    if not callable(answer):
        return Verdict(False, f"请给出一个函数（def ...），你给的是 {type(answer).__name__}。")
    for theta in (0.05, None, 1e6):
        gen = fresh_generator()
        net, batches = _epoch_setup(gen)
        ours = copy.deepcopy(net)
        _reference_epoch(net, batches, torch.optim.SGD(net.parameters(), lr=0.5), theta)
        updater = torch.optim.SGD(ours.parameters(), lr=0.5)
        try:
            result = answer(ours, batches, nn.CrossEntropyLoss(), updater, "cpu", False, theta)
        except NotImplementedError:
            raise Unanswered from None
        if result is None:
            raise Unanswered
        got = tuple(p.detach() for p in ours.parameters())
        want = tuple(p.detach() for p in net.parameters())
        if same(got, want, 1e-4, 1e-5) is None:
            continue
        if theta is None:
            return Verdict(
                False,
                "theta=None 时应当完全不裁剪（不调用 grad_clipping）：训练后的参数与不裁剪的一轮不同。",
            )
        if theta == 0.05:
            return Verdict(
                False,
                "theta=0.05 时训练后的参数不对：裁剪要用传入的 theta，并且放在 backward 之后、"
                "updater.step() 之前。",
            )
        return Verdict(False, "theta 很大时裁剪不起作用，结果应与不裁剪相同：训练后的参数不对。")
    return Verdict(True, "")


exercise("10.4", "梯度裁剪的阈值 θ：θ = 1、θ = 0.1 与不裁剪", kind="experiment")(
    parts(
        epoch=_epoch_checker,
        ppl_1=band(
            6.9,
            8.1,
            minutes=0.5,
            what="θ = 1 时 50 轮后的训练困惑度",
            key=None,
            valid=(1.0, math.inf),
            low_hint="是简洁实现（256 个隐藏单元）、学习率 1、本章的 train_iter、50 轮吗？",
        ),
        ppl_01=band(
            9.3,
            10.2,
            minutes=0.5,
            what="θ = 0.1 时 50 轮后的训练困惑度",
            key=None,
            valid=(1.0, math.inf),
            low_hint="裁剪用的是传入的 theta = 0.1 吗？",
        ),
        slower=choice(
            "B",
            "ABC",
            hints={
                "A": "g ← min(1, θ/‖g‖) g 只乘了一个正数：方向变了吗？",
                "C": "θ = 0.1 时每一步的更新都很小：打印 grad_clipping 返回的范数看看，它们有多大？",
            },
        ),
        no_clip=choice(
            "C",
            "ABC",
            hints={
                "A": "换几个种子试试：是每一次都发散吗？",
                "B": "比较不裁剪时每轮的困惑度和 θ = 1 时的：所有种子都一样吗？看看训练中途最高的困惑度。",
            },
        ),
        explanation=(
            "θ = 1 时梯度范数通常只有 0.4 左右，只有不到 1% 的步被裁剪；θ = 0.1 时几乎每一步都被裁剪，"
            "每步更新的长度不超过 ηθ = 0.1，等于把学习率调小了，50 轮后困惑度明显更高。"
            "不裁剪时多数种子与 θ = 1 差不多，但偶尔有一步的梯度是平常的上百倍，一步就把参数"
            "推到困惑度上亿的地方（2 核 CPU 上 6 个种子里有 2 个如此）：裁剪是为这少数几步准备的保险。"
        ),
    )
)

# ----------------------------------------------------------------------------- 10.5


def _tempered_perplexity(logits: torch.Tensor, y: torch.Tensor, temperature: float) -> torch.Tensor:
    return torch.exp(F.cross_entropy(logits / temperature, y))


def _logits_and_labels(gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    n, q = (
        int(torch.randint(5, 40, (), generator=gen)),
        int(torch.randint(3, 30, (), generator=gen)),
    )
    temperature = float(torch.empty(()).uniform_(0.3, 4.0, generator=gen))
    if abs(temperature - 1) < 0.2:
        temperature += 0.5  # far enough from 1 that forgetting it shows
    return (
        3 * torch.randn(n, q, generator=gen),
        torch.randint(0, q, (n,), generator=gen),
        temperature,
    )


exercise("10.5", "温度与 held-out 困惑度", kind="experiment")(
    parts(
        perplexity=function(
            _tempered_perplexity,
            _logits_and_labels,
            rtol=1e-4,
            atol=1e-5,
            mistakes=[
                (
                    lambda o, y, t: torch.exp(F.cross_entropy(o * t, y)),
                    "温度是除以 τ：p ∝ exp(o / τ)，τ 越大分布越平。",
                ),
                (
                    lambda o, y, t: F.cross_entropy(o / t, y),
                    "这是平均交叉熵；困惑度是它的指数。",
                ),
                (
                    lambda o, y, t: torch.exp(F.cross_entropy(o, y)),
                    "温度没有用上：先把分数除以 τ，再算交叉熵。",
                ),
            ],
        ),
        best_temperature=band(
            3,
            6,
            minutes=0.2,
            what="held-out 困惑度最低的温度",
            key=None,
            valid=(0.5, 8.0),
            low_hint="用的是本章训练了 500 轮的简洁实现吗？分数是除以温度吗？",
        ),
        best_perplexity=band(
            11.5,
            14.5,
            minutes=0.2,
            what="最好的温度下的 held-out 困惑度",
            key=None,
            valid=(1.0, math.inf),
            low_hint="算的是 train_iter.heldout（最后 10,000 个字符）上的困惑度吗？",
        ),
        why=choice(
            "B",
            "ABC",
            hints={
                "A": "看看你算出的表：温度 0.5 和 1 时的困惑度是多少？",
                "C": "两段文本都来自同一本书、同一个 load_corpus_time_machine 的词表。",
            },
        ),
        explanation=(
            "500 轮后模型背下了训练文本，对下一个字符极其自信：在没见过的文本上，它常把几乎全部"
            "概率给一个错的字符，真实字符只分到很小的概率。调高温度把概率匀给其他字符，真实字符的"
            "概率变大，held-out 困惑度从一百多降到 13 左右；温度再高分布接近均匀，困惑度又回升。"
            "held-out 困惑度的回升主要是过于自信，调低自信就能找回一大半。"
        ),
    )
)
