"""Exercises of 13_computer_vision.ipynb (练习 13.1 to 13.5)."""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from d2lhelpers.vision import mirror_asymmetry  # absolute: the grader loads this package afresh

from .checkers import choice, function, number, parts, value
from .core import exercise

# ----------------------------------------------------------------------------- 13.1


def _images(gen: torch.Generator) -> tuple[torch.Tensor]:
    """(n, h, w) positive images whose mean is far from symmetric left-right and up-down."""
    n, h, w = (int(v) for v in torch.randint(3, 8, (3,), generator=gen))
    images = torch.rand(n, h, w, generator=gen) + 0.1
    images[:, : h // 2, : (w + 1) // 2] += 2.0  # a bright top-left block: asymmetric both ways
    return (images,)


exercise("13.1", "先看数据再增广：不对称度和保持标签的变换")(
    parts(
        asymmetry=function(
            mirror_asymmetry,
            _images,
            mistakes=[
                (
                    lambda X: mirror_asymmetry(X.transpose(-1, -2)),
                    "你比较的是上下翻转：左右翻转是沿最后一个轴（宽）翻转，flip(-1)。",
                ),
                (
                    lambda X: float((X.mean(0) - X.mean(0).flip(-1)).norm()),
                    "还要除以平均图像自己的范数 |m|，否则亮的数据集显得更不对称。",
                ),
                (
                    lambda X: float((X - X.flip(-1)).norm() / X.norm()),
                    "要先对所有图像取平均，再和平均图像的镜像比较：朝左和朝右各半的数据集，平均图像是对称的。",
                ),
            ],
        ),
        digits=choice(
            "B",
            "ABC",
            hints={
                "A": "左右翻转的 2、3、7 还像原来的数字吗？",
                "C": "6 上下翻转后像什么？",
            },
        ),
        shoes=choice(
            "B",
            "ABC",
            hints={
                "A": "朝左的运动鞋还是运动鞋：标签没有变。问题在别处，看看表中测试集那一列。",
                "C": "翻转只是把像素倒个顺序，几乎不花时间。",
            },
        ),
        explanation=(
            "不对称度用的是类平均图像：朝左朝右各半时平均图像对称。数字只宜做小的平移和裁剪"
            "（翻转会改变数字的样子甚至标签）；鞋子翻转后标签不变，但测试集里几乎没有朝另一边的鞋，"
            "模型学的是永远遇不到的图像。"
        ),
    )
)


# ----------------------------------------------------------------------------- 13.2


def _shift_one(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """x (C, H, W) moved dy rows down and dx columns right; zeros come in."""
    h, w = x.shape[-2:]
    s = max(abs(dy), abs(dx))
    padded = F.pad(x, (s, s, s, s))
    return padded[:, s - dy : s - dy + h, s - dx : s - dx + w]


def _shift_inputs(gen: torch.Generator) -> tuple[torch.Tensor, int, int]:
    c = int(torch.randint(1, 4, (), generator=gen))
    h, w = (int(v) for v in torch.randint(6, 10, (2,), generator=gen))
    magnitudes = torch.randperm(3, generator=gen)[:2] + 1  # two different sizes in 1..3
    signs = torch.randint(0, 2, (2,), generator=gen) * 2 - 1
    dy, dx = (int(v) for v in magnitudes * signs)  # never 0 and |dy| != |dx|: every mistake shows
    return torch.rand(c, h, w, generator=gen) + 0.5, dy, dx


exercise("13.2", "平移一张图像，数一数平移有多少种")(
    parts(
        shift=function(
            _shift_one,
            _shift_inputs,
            mistakes=[
                (
                    lambda x, dy, dx: torch.roll(x, (dy, dx), dims=(-2, -1)),
                    "torch.roll 把移出去的像素从另一边绕回来了：平移时进来的应是 0（背景）。",
                ),
                (
                    lambda x, dy, dx: _shift_one(x, -dy, -dx),
                    "方向反了：dy > 0 时图像向下移动（原来第 0 行的内容到了第 dy 行）。",
                ),
                (
                    lambda x, dy, dx: _shift_one(x, dx, dy),
                    "dy 是行（高）方向，dx 是列（宽）方向：你把两者交换了。",
                ),
            ],
        ),
        offsets=value(
            81,
            mistakes=[
                (64, "每个方向的平移可以是 -4 到 4 中的任何一个整数：别忘了 0。"),
                (9, "行和列的平移是分别抽取的：要把两个方向的可能数相乘。"),
                (16, "每个方向有 -4, ..., 0, ..., 4 共几种？"),
                (80, "(0, 0)，即不平移，也是一种可能。"),
            ],
        ),
        explanation=(
            "平移后进来的像素是 0（Fashion-MNIST 的背景），而不是从另一边绕回来；"
            "每个方向有 2·4 + 1 = 9 种平移，两个方向共 9² = 81 种。"
        ),
    )
)


# ----------------------------------------------------------------------------- 13.3

exercise("13.3", "微调：小批量下的批量规范化，冻结时训练多少参数")(
    parts(
        std_of_mean=number(
            8**-0.5,
            rtol=1e-2,
            mistakes=[
                (1 / 8, "1/n 是均值的方差；标准差要再开平方。"),
                (8**0.5, "均值比单个值更稳定，标准差应小于 1。"),
                (1.0, "8 个值取平均以后，抖动会变小。"),
            ],
            hint="设 8 个独立的值方差都是 1，它们的平均值的方差是多少？再开平方。",
        ),
        frozen_params=value(
            325,
            mistakes=[
                (320, "别忘了输出层的 5 个偏置。"),
                (650, "目标任务只有 5 类：新的输出层是 64 → 5。"),
                (330, "权重是 64 × 5，偏置是每个输出一个。"),
            ],
            hint="冻结特征时只训练新的输出层 nn.Linear(64, 5)：数一数它的权重和偏置。",
        ),
        lr_fc=choice(
            "A",
            "ABC",
            hints={
                "B": "输出层只有几百个参数，比复制来的层少得多。",
                "C": "输出层里没有批量规范化。",
            },
        ),
        explanation=(
            "8 个独立值的均值，标准差是 1/√8 ≈ 0.354：批量为 8 时，每一步的标准化都带着这么大的噪声"
            "（卷积层的统计量还对空间位置取平均，但同一幅图里的像素并不独立）。冻结特征时只训练"
            " 64 × 5 + 5 = 325 个参数。输出层从随机初始化开始，要走的路最长；复制来的层已经差不多对了，"
            "只需微调，所以学习率小 10 倍。"
        ),
    )
)


# ----------------------------------------------------------------------------- 13.4


def _assign(ious: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """The notes' three steps on an IoU matrix (n_a, n_b): greedy pairs, then the threshold."""
    n_a, n_b = ious.shape
    assigned = torch.full((n_a,), -1, dtype=torch.long)
    jaccard = ious.clone()
    for _ in range(n_b):
        i, j = divmod(int(torch.argmax(jaccard)), n_b)
        assigned[i] = j
        jaccard[i, :] = -1
        jaccard[:, j] = -1
    for i in range(n_a):
        if assigned[i] == -1:
            j = int(torch.argmax(ious[i]))
            if ious[i, j] >= iou_threshold:
                assigned[i] = j
    return assigned


def _threshold_only(ious: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    best, j = ious.max(dim=1)
    return torch.where(best >= iou_threshold, j, -1)


def _greedy_only(ious: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    return _assign(ious, 2.0)  # a threshold no IoU reaches: step 3 never assigns


def _iou_matrix(gen: torch.Generator) -> tuple[torch.Tensor, float]:
    """An IoU matrix where both typical mistakes differ from the three steps.

    Column 0 stays below the threshold everywhere (only the greedy step gives it an
    anchor); columns 1.. each have one clear best anchor (0.6 to 0.99); one more anchor
    has 0.5 to 0.59 with column 1 and 0 with column 0 (only step 3 assigns it).
    """
    n_b = int(torch.randint(2, 5, (), generator=gen))
    n_a = n_b + 2 + int(torch.randint(0, 4, (), generator=gen))
    ious = 0.05 + 0.25 * torch.rand(n_a, n_b, generator=gen, dtype=torch.float64)
    rows = torch.randperm(n_a, generator=gen)
    best_rows, extra = rows[: n_b - 1], int(rows[n_b - 1])
    for j, i in enumerate(best_rows.tolist(), start=1):
        ious[i, j] = 0.6 + 0.39 * float(torch.rand((), generator=gen))
    ious[extra, 1] = 0.5 + 0.09 * float(torch.rand((), generator=gen))
    ious[extra, 0] = 0.0
    return ious.float(), 0.5


exercise("13.4", "把真实边界框分配给锚框（贪心 + 阈值）")(
    parts(
        assign=function(
            _assign,
            _iou_matrix,
            mistakes=[
                (
                    _threshold_only,
                    "只用阈值时，与所有锚框 IoU 都低于阈值的真实框一个锚框也分不到：先做贪心的第 1、2 步。",
                ),
                (
                    _greedy_only,
                    "贪心步骤之后还有第 3 步：其余锚框中 IoU 不小于阈值的，也分给它 IoU 最大的真实框。",
                ),
            ],
        ),
        below_threshold=choice(
            "B",
            "ABC",
            hints={
                "A": "第 1、2 步不看阈值：用你的 assign 试一个只有 0.45 的 IoU 矩阵。",
                "C": "分配看的是与狗的 IoU 在矩阵中的位置，与猫的 IoU 大小无关。",
            },
        ),
        explanation=(
            "第 1、2 步保证每个真实框至少分到一个锚框：即使最好的锚框 IoU 只有 0.45，"
            "只要它是整个矩阵里剩下的最大元素，它就分到这个目标；第 3 步再把足够好的其余锚框也分出去。"
        ),
    )
)


# ----------------------------------------------------------------------------- 13.5


def _count_anchors(fmap_shapes: Any, num_sizes: int, num_ratios: int) -> int:
    return sum(h * w for h, w in fmap_shapes) * (num_sizes + num_ratios - 1)


def _fmaps(gen: torch.Generator) -> tuple[list[tuple[int, int]], int, int]:
    k = int(torch.randint(1, 4, (), generator=gen))
    shapes = [(int(h), int(w)) for h, w in torch.randint(1, 12, (k, 2), generator=gen)]
    shapes[0] = (shapes[0][0], shapes[0][0] + 1)  # one map that is not square
    n, m = (int(v) for v in torch.randint(2, 6, (2,), generator=gen))
    return shapes, n, m


exercise("13.5", "多尺度锚框：每个中心几个、一共几个，小目标靠哪一层")(
    parts(
        per_centre=value(
            7,
            mistakes=[
                (15, "不是所有 n × m 种组合：只取含 s₁ 或 r₁ 的。"),
                (8, "(s₁, r₁) 被数了两次。"),
            ],
        ),
        count=function(
            _count_anchors,
            _fmaps,
            mistakes=[
                (
                    lambda f, n, m: sum(h * w for h, w in f) * n * m,
                    "每个中心只有 n + m - 1 个锚框，不是 n × m 个。",
                ),
                (
                    lambda f, n, m: sum(h * h for h, w in f) * (n + m - 1),
                    "特征图不一定是正方形：中心数是高 × 宽。",
                ),
                (
                    lambda f, n, m: sum(h * w for h, w in f) * (n + m),
                    "(s₁, r₁) 被数了两次：每个中心 n + m - 1 个。",
                ),
            ],
        ),
        deep_only=choice(
            "A",
            "ABC",
            hints={
                "B": "锚框的位置和大小确实只由特征图的高宽决定；但预测它们的单元看到的是什么？",
                "C": "深层的特征更抽象，但它的单元之间相隔多少像素？",
            },
        ),
        explanation=(
            "5 个缩放比、3 个宽高比：5 + 3 - 1 = 7 个。总数是每张特征图的 h·w 个中心乘以每个中心的锚框数，"
            "再对所有尺度求和（本章的检测器：(8·8 + 4·4)·4 = 320）。只用最深的 4×4 特征图时，"
            "中心相隔 16 像素、每个单元的感受野覆盖整幅图，小目标既少有贴合的锚框，又淹没在大的感受野里。"
        ),
    )
)
