"""Exercises of 11_modern_rnn.ipynb (练习 11.1 to 11.5)."""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

from .checkers import band, choice, function, number, parts, value
from .core import exercise

# ----------------------------------------------------------------------------- 11.1


def _gru_cell_inputs(
    gen: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """X (n, d), H (n, h) and nn.GRU's weights: W_ih (3h, d), W_hh (3h, h), b_ih, b_hh (3h,).

    Weights of order 1, so the gates are far from 0.5 and every mistake below shows; h >= 2.
    """
    n, d, h = (int(v) for v in torch.randint(2, 6, (3,), generator=gen))
    return (
        torch.randn(n, d, generator=gen),
        torch.randn(n, h, generator=gen),
        torch.randn(3 * h, d, generator=gen),
        torch.randn(3 * h, h, generator=gen),
        torch.randn(3 * h, generator=gen),
        torch.randn(3 * h, generator=gen),
    )


def _gru_cell_reference(
    X: torch.Tensor,
    H: torch.Tensor,
    W_ih: torch.Tensor,
    W_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
) -> torch.Tensor:
    """One step of torch's own GRU cell (nn.GRUCell) with these weights."""
    cell = nn.GRUCell(W_ih.shape[1], W_hh.shape[1])
    with torch.no_grad():
        for param, w in zip(
            (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh),
            (W_ih, W_hh, b_ih, b_hh),
            strict=True,
        ):
            param.copy_(w)
        return cell(X, H)


def _gru_step(
    X: torch.Tensor,
    H: torch.Tensor,
    W_ih: torch.Tensor,
    W_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
    *,
    z_first: bool = False,
    reset_before: bool = False,
    swapped_mix: bool = False,
) -> torch.Tensor:
    """A GRU step written out, with one of the typical mistakes switched on.

    No switch: nn.GRU's formula (rows in the order r, z, n; the reset gate applied after
    H @ W_hn + b_hn; Z weighs the old state). z_first: the first block of rows read as the
    update gate (the notes' order z, r). reset_before: the notes' (R * H) @ W_hn. swapped_mix:
    Z weighs the candidate and 1 - Z the old state.
    """
    (W_ir, W_iz, W_in), (W_hr, W_hz, W_hn) = W_ih.chunk(3), W_hh.chunk(3)
    (b_ir, b_iz, b_in), (b_hr, b_hz, b_hn) = b_ih.chunk(3), b_hh.chunk(3)
    if z_first:
        W_ir, W_iz, W_hr, W_hz, b_ir, b_iz, b_hr, b_hz = (
            W_iz,
            W_ir,
            W_hz,
            W_hr,
            b_iz,
            b_ir,
            b_hz,
            b_hr,
        )
    R = torch.sigmoid(X @ W_ir.T + b_ir + H @ W_hr.T + b_hr)
    Z = torch.sigmoid(X @ W_iz.T + b_iz + H @ W_hz.T + b_hz)
    recurrent = (R * H) @ W_hn.T + b_hn if reset_before else R * (H @ W_hn.T + b_hn)
    N = torch.tanh(X @ W_in.T + b_in + recurrent)
    return Z * N + (1 - Z) * H if swapped_mix else (1 - Z) * N + Z * H


_gru_cell_reset_before = functools.partial(_gru_step, reset_before=True)
_gru_cell_z_first = functools.partial(_gru_step, z_first=True)
_gru_cell_swapped_mix = functools.partial(_gru_step, swapped_mix=True)


exercise("11.1", "PyTorch 的 GRU 变体：重置门乘在矩阵乘法之后")(
    parts(
        step=function(
            _gru_cell_reference,
            _gru_cell_inputs,
            rtol=1e-4,
            atol=1e-5,
            mistakes=[
                (
                    _gru_cell_reset_before,
                    "这是笔记的公式 (R ⊙ H) W：nn.GRU 把重置门乘在 H W_hn + b_hn 之后。",
                ),
                (
                    _gru_cell_z_first,
                    "门的顺序不对：nn.GRU 的权重按 r、z、n 的顺序竖着拼接。",
                ),
                (
                    _gru_cell_swapped_mix,
                    "凸组合的两项反了：Z 越接近 1，新状态越接近旧状态 H。",
                ),
            ],
        ),
        why=choice(
            "B",
            "ABC",
            hints={
                "A": "本笔记本没有比较两种变体训练后的困惑度；想想每一步计算的先后次序。",
                "C": "数一数两种写法的权重矩阵：形状完全相同。",
            },
        ),
        explanation=(
            "笔记的写法要先算出 R_t，才能算 (R_t ⊙ H_{t-1}) W_hh；PyTorch 的写法里 H_{t-1} 乘三组权重"
            "（r、z、n）互不依赖，可以拼成一个 (h, 3h) 的矩阵一次乘完（cuDNN 正是这样做的），"
            "再把 R_t 逐元素乘上去（cuDNN 文档中 CUDNN_GRU 的公式就是这种写法）。两者是不同的模型，"
            "参数的形状相同；哪一种训练得更好，本笔记本没有测量，留给选做部分。"
        ),
    )
)

# ----------------------------------------------------------------------------- 11.2


def _gru_fixed_reference(
    inputs: torch.Tensor,
    H: torch.Tensor,
    params: list[torch.Tensor],
    z: float | None = None,
    r: float | None = None,
) -> torch.Tensor:
    """The notes' GRU over inputs (T, n, d) from H (n, h); a gate given as a number is fixed."""
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h = params
    states = []
    for X in inputs:
        Z = torch.sigmoid(X @ W_xz + H @ W_hz + b_z) if z is None else torch.full_like(H, z)
        R = torch.sigmoid(X @ W_xr + H @ W_hr + b_r) if r is None else torch.full_like(H, r)
        H = Z * H + (1 - Z) * torch.tanh(X @ W_xh + (R * H) @ W_hh + b_h)
        states.append(H)
    return torch.stack(states)


_FIXINGS = [(0.0, None), (None, 1.0), (0.0, 1.0), (None, 0.0), (0.3, None), (None, 0.6)]


def _gru_fixed_inputs(
    gen: torch.Generator,
) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor], float | None, float | None]:
    """A random GRU (weights of order 1), 2-5 steps, and one gate fixed (or both)."""
    T, n, d, h = (int(v) for v in torch.randint(2, 6, (4,), generator=gen))
    shapes = [(d, h), (h, h), (h,)] * 3
    params = [torch.randn(s, generator=gen) for s in shapes]
    z, r = _FIXINGS[int(torch.randint(len(_FIXINGS), (), generator=gen))]
    return torch.randn(T, n, d, generator=gen), torch.randn(n, h, generator=gen), params, z, r


def _gru_ignores_fixing(
    inputs: torch.Tensor,
    H: torch.Tensor,
    params: list[torch.Tensor],
    z: float | None = None,
    r: float | None = None,
) -> torch.Tensor:
    """Mistake: the fixed values are never used."""
    return _gru_fixed_reference(inputs, H, params)


def _gru_swaps_fixings(
    inputs: torch.Tensor,
    H: torch.Tensor,
    params: list[torch.Tensor],
    z: float | None = None,
    r: float | None = None,
) -> torch.Tensor:
    """Mistake: z fixes the reset gate and r the update gate."""
    return _gru_fixed_reference(inputs, H, params, z=r, r=z)


def _gru_last_state_only(
    inputs: torch.Tensor,
    H: torch.Tensor,
    params: list[torch.Tensor],
    z: float | None = None,
    r: float | None = None,
) -> torch.Tensor:
    """Mistake: only the last hidden state, not one per step."""
    return _gru_fixed_reference(inputs, H, params, z, r)[-1]


exercise("11.2", "把一个门固定住：GRU 退化成什么")(
    parts(
        gru_fixed=function(
            _gru_fixed_reference,
            _gru_fixed_inputs,
            rtol=1e-4,
            atol=1e-5,
            mistakes=[
                (
                    _gru_ignores_fixing,
                    "固定的门没有用上：z（或 r）是数时，Z_t（或 R_t）处处等于它。",
                ),
                (_gru_swaps_fixings, "z 固定的是更新门 Z_t，r 固定的是重置门 R_t：两者弄反了。"),
                (_gru_last_state_only, "要返回每一步的隐状态，形状 (T, n, h)。"),
            ],
        ),
        z0_r1=choice(
            "A",
            "ABC",
            hints={
                "B": "R_t = 1 时候选隐状态里仍有 H_{t-1} W_hh 这一项。",
                "C": "Z_t = 0 时新状态完全取候选隐状态，它随输入变化。",
            },
        ),
        z1=choice(
            "C",
            "ABC",
            hints={
                "A": "Z_t = 1 时 H_t = 1·H_{t-1} + 0·(候选)：候选隐状态还起作用吗？",
                "B": "Z_t = 1 时新状态里有没有 X_t 的成分？",
            },
        ),
        explanation=(
            "Z_t = 0、R_t = 1 时 H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)，正是上一章的普通 RNN"
            "（可以用 nn.RNN 装入同样的权重验证）。Z_t = 1 时 H_t = H_{t-1}，状态永远不变："
            "梯度沿这条恒等路径无损地往回传，但输入一点也进不来。更新门在两者之间按单元、按时间步"
            "插值，这就是它帮助捕获长期依赖的方式。"
        ),
    )
)

# ----------------------------------------------------------------------------- 11.3

exercise("11.3", "被遮住的是最后一个字符：双向还有优势吗", kind="experiment")(
    parts(
        uni=band(
            0.35,
            0.45,
            minutes=0.5,
            what="单向模型在最后一个位置的填空准确率",
            key=None,
            low_hint="center 改成 20（窗口的最后一个位置）、训练 800 步了吗？",
        ),
        bi=band(
            0.35,
            0.45,
            minutes=0.5,
            what="双向模型在最后一个位置的填空准确率",
            key=None,
            low_hint="center 改成 20（窗口的最后一个位置）、训练 800 步了吗？",
        ),
        why=choice(
            "B",
            "ABC",
            hints={
                "A": "比较两个模型的准确率：双向模型明显差吗？",
                "C": "单向模型从左往右读：在最后一个位置，它右边还有字符吗？",
            },
        ),
        explanation=(
            "在最后一个位置，反向的 GRU 只读到了 <mask> 这一个词元，什么信息也带不来；两个模型"
            "看到的上文相同，准确率也就相近（2 核 CPU 上种子 0、1、2：单向 0.406、0.398、0.407，"
            "双向 0.392、0.405、0.425；同样的种子遮住正中时，双向 0.59、0.58、0.59，单向约 0.42）。"
            "双向网络的优势完全来自“下文”：被遮住的字符右边有字时才用得上。"
        ),
    )
)

# ----------------------------------------------------------------------------- 11.4

exercise("11.4", "没见过的句子与词表之外的词")(
    parts(
        unk_600=value(
            237,
            mistakes=[
                (298, "这是词表之外的词元个数；题目问的是至少含一个这种词元的句子数。"),
                (217, "词表要像 load_data_nmt 一样用 min_freq=2 建。"),
            ],
            hint="用前 600 对的英文建词表（min_freq=2，保留词元 <pad> <bos> <eos>），"
            "数一数第 1500 对之后的英文句子里有多少句含有 <unk>。",
        ),
        unk_1500=value(
            122,
            mistakes=[
                (130, "这是词表之外的词元个数；题目问的是至少含一个这种词元的句子数。"),
                (77, "词表要像 load_data_nmt 一样用 min_freq=2 建。"),
                (237, "这是 600 对的词表；这一问用前 1,500 对建词表。"),
            ],
            hint="用前 1,500 对的英文建词表（min_freq=2），数第 1500 对之后的英文句子。",
        ),
        quality=choice(
            "C",
            "ABC",
            hints={
                "A": "训练损失量的是模型对训练句对的拟合：它能区分“会翻译”和“背下了答案”吗？",
                "B": "书中例句里有三句就是训练句对：对它们译得好说明了什么？",
            },
        ),
        explanation=(
            "600 对的词表只有 184 个词元，后 282 句英文里有 237 句（84%）至少含一个 <unk>："
            "模型连原句都看不全，held-out BLEU 低首先是词表的问题。用 1,500 对建词表后只剩 122 句。"
            "训练损失和训练句对上的 BLEU 都只说明模型拟合了见过的句子；会不会翻译，要看没见过的句子。"
        ),
    )
)

# ----------------------------------------------------------------------------- 11.5


def _final_score(log_probs: torch.Tensor, alpha: float) -> float:
    """A number: a float and a one-element tensor both compare with it."""
    return float(log_probs.sum()) / len(log_probs) ** alpha


def _log_probs_and_alpha(gen: torch.Generator) -> tuple[torch.Tensor, float]:
    """Log-probabilities of a candidate of 2-8 tokens; alpha in [0.3, 1.6], at least 0.2 from 1."""
    L = int(torch.randint(2, 9, (), generator=gen))
    log_probs = torch.log(torch.rand(L, generator=gen) * 0.9 + 0.05)
    alpha = float(torch.empty(()).uniform_(0.3, 1.6, generator=gen))
    if abs(alpha - 1) < 0.2:
        alpha += 0.4
    return log_probs, alpha


exercise("11.5", "束搜索的长度归一化 1/L^α")(
    parts(
        score=function(
            _final_score,
            _log_probs_and_alpha,
            rtol=1e-5,
            atol=1e-6,
            mistakes=[
                (lambda lp, a: float(lp.sum()), "没有除以 L^α：这是未归一化的对数概率。"),
                (lambda lp, a: float(lp.mean()), "这是除以 L（α = 1）：指数 α 没有用上。"),
                (lambda lp, a: float(lp.sum()) * len(lp) ** a, "是除以 L^α，不是乘以。"),
                (
                    lambda lp, a: float(lp.prod()) / len(lp) ** a,
                    "对数概率要相加（概率相乘），不是相乘。",
                ),
            ],
        ),
        alpha_switch=number(
            math.log2(math.log(0.054) / math.log(0.1)),
            rtol=0,
            atol=0.005,
            mistakes=[
                (0.5, "0.5 时已经选中了它，但更小的 α 也可以：找出两个得分相等的 α。"),
                (0.75, "0.75 时已经选中了它，但更小的 α 也可以：找出两个得分相等的 α。"),
                (
                    math.log(math.log(0.054) / math.log(0.1)) / math.log(4),
                    "这个 α 让 A C B <eos> 胜过 <eos>，但还要胜过 A <eos>。",
                ),
            ],
            hint="写出 A <eos> 与 A C B <eos> 的得分，令两者相等解出 α（精确到 0.005）。",
        ),
        beam=choice(
            "B",
            "ABC",
            hints={
                "A": "更大的束宽找到的是模型打分更高的序列：模型的打分就等于译文的好坏吗？",
                "C": "α 取多少都可能出现：在控件里试几个句子和 α。",
            },
        ),
        explanation=(
            "A <eos> 的得分是 log 0.1 / 2^α，A C B <eos> 的是 log 0.054 / 4^α；两者相等时 "
            "2^α = log 0.054 / log 0.1，α ≈ 0.34。α 再大，长度为 4 的候选就胜出。"
            "束搜索只是更忠实地找出模型打分最高的序列：模型把更高的分数给了一个更差的译文时，"
            "束越宽反而越差。搜索的误差和模型的误差是两回事。"
        ),
    )
)
