"""Convolution building blocks shared by the CNN chapters and later ones.

`corr2d` is the loop version of 2-D cross-correlation, for teaching;
`Residual` and `resnet18` are reused by the vision chapters.
Introduced in 08_cnn.ipynb and 09_modern_cnn.ipynb.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["corr2d", "Residual", "resnet18"]


def corr2d(X: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """2-D cross-correlation of X (h, w) with kernel K (kh, kw) -> (h - kh + 1, w - kw + 1)."""
    if X.dim() != 2 or K.dim() != 2:
        raise ValueError(
            f"corr2d expects 2-D X and K, got shapes {tuple(X.shape)} and {tuple(K.shape)}"
        )
    h, w = K.shape
    if h > X.shape[0] or w > X.shape[1]:
        raise ValueError(f"kernel {tuple(K.shape)} is larger than the input {tuple(X.shape)}")
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1), dtype=torch.result_type(X, K))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i : i + h, j : j + w] * K).sum()
    return Y


class Residual(nn.Module):
    """The ResNet residual block: two 3x3 convolutions with batch norm, plus a shortcut.

    X: (batch_size, input_channels, h, w) -> (batch_size, num_channels, h / strides, w / strides).
    With `use_1x1conv`, the shortcut goes through a 1x1 convolution (needed when the
    channels or the resolution change).
    """

    def __init__(
        self, input_channels: int, num_channels: int, use_1x1conv: bool = False, strides: int = 1
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(
            input_channels, num_channels, kernel_size=3, padding=1, stride=strides
        )
        self.conv2 = nn.Conv2d(num_channels, num_channels, kernel_size=3, padding=1)
        self.conv3 = (
            nn.Conv2d(input_channels, num_channels, kernel_size=1, stride=strides)
            if use_1x1conv
            else None
        )
        self.bn1 = nn.BatchNorm2d(num_channels)
        self.bn2 = nn.BatchNorm2d(num_channels)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        Y = F.relu(self.bn1(self.conv1(X)))
        Y = self.bn2(self.conv2(Y))
        if self.conv3 is not None:
            X = self.conv3(X)
        return F.relu(Y + X)


def _resnet_block(
    input_channels: int, num_channels: int, num_residuals: int, first_block: bool = False
) -> nn.Sequential:
    blk: list[nn.Module] = []
    for i in range(num_residuals):
        if i == 0 and not first_block:
            blk.append(Residual(input_channels, num_channels, use_1x1conv=True, strides=2))
        else:
            blk.append(Residual(num_channels, num_channels))
    return nn.Sequential(*blk)


def resnet18(num_classes: int, in_channels: int = 1) -> nn.Sequential:
    """A slightly modified ResNet-18 for small images (3x3 stem, no max-pool), as the book's.

    X: (batch_size, in_channels, h, w) -> (batch_size, num_classes).
    """
    net = nn.Sequential(
        nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1),
        nn.BatchNorm2d(64),
        nn.ReLU(),
    )
    net.add_module("resnet_block1", _resnet_block(64, 64, 2, first_block=True))
    net.add_module("resnet_block2", _resnet_block(64, 128, 2))
    net.add_module("resnet_block3", _resnet_block(128, 256, 2))
    net.add_module("resnet_block4", _resnet_block(256, 512, 2))
    net.add_module("global_avg_pool", nn.AdaptiveAvgPool2d((1, 1)))
    net.add_module("fc", nn.Sequential(nn.Flatten(), nn.Linear(512, num_classes)))
    return net
