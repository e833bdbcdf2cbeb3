"""The nets of notebooks 08 and 09 as a CPU trains them there (notebook 09's laptop scale).

Each entry of `NETS` is `name -> (make_net, image_size, batch_size)` with the
architecture, input size and batch size of the notebook's training cell when it
runs on a CPU (`book_scale` False). Rewritten here from the notebooks so the
benchmarks need no notebook; keep them in step when a notebook changes a net.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from _common import lenet  # the book's LeNet, as bench_lenet trains it
from torch import nn

import d2lhelpers as d2l


def alexnet(c: int = 8, num_hiddens: int = 512) -> nn.Sequential:
    """Notebook 09's AlexNet with small_input=True (28x28)."""
    return nn.Sequential(
        nn.Conv2d(1, 96 // c, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2),
        nn.Conv2d(96 // c, 256 // c, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool2d(3, stride=2),
        nn.Conv2d(256 // c, 384 // c, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384 // c, 384 // c, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384 // c, 256 // c, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2),
        nn.Flatten(),
        nn.Linear(256 // c * 2 * 2, num_hiddens), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(num_hiddens, num_hiddens), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(num_hiddens, 10),
    )  # fmt: skip


def _vgg_block(num_convs: int, in_channels: int, out_channels: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(num_convs):
        layers += [nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), nn.ReLU()]
        in_channels = out_channels
    layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers)


def vgg(ratio: int = 8, image_size: int = 32, num_hiddens: int = 512) -> nn.Sequential:
    """Notebook 09's laptop VGG-11: channels / 8, 32x32 inputs, 512 hidden units."""
    arch = [(n, ch // ratio) for n, ch in ((1, 64), (1, 128), (2, 256), (2, 512), (2, 512))]
    blocks, in_channels = [], 1
    for num_convs, out_channels in arch:
        blocks.append(_vgg_block(num_convs, in_channels, out_channels))
        in_channels = out_channels
    side = image_size // 2 ** len(arch)
    return nn.Sequential(
        *blocks, nn.Flatten(),
        nn.Linear(in_channels * side * side, num_hiddens), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(num_hiddens, num_hiddens), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(num_hiddens, 10),
    )  # fmt: skip


def _nin_block(in_channels: int, out_channels: int, kernel_size: int, strides: int, padding: int):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, strides, padding), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
        nn.Conv2d(out_channels, out_channels, kernel_size=1), nn.ReLU(),
    )  # fmt: skip


def nin(c: int = 8) -> nn.Sequential:
    """Notebook 09's NiN with small_input=True (28x28)."""
    return nn.Sequential(
        _nin_block(1, 96 // c, kernel_size=3, strides=1, padding=1), nn.MaxPool2d(3, stride=2),
        _nin_block(96 // c, 256 // c, kernel_size=5, strides=1, padding=2), nn.MaxPool2d(3, stride=2),
        _nin_block(256 // c, 384 // c, kernel_size=3, strides=1, padding=1), nn.MaxPool2d(3, stride=2),
        nn.Dropout(0.5),
        _nin_block(384 // c, 10, kernel_size=3, strides=1, padding=1),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
    )  # fmt: skip


class Inception(nn.Module):
    """Notebook 09's Inception block (a learner-written module: torch.cat, F.relu)."""

    def __init__(self, in_channels: int, c1: int, c2: tuple, c3: tuple, c4: int) -> None:
        super().__init__()
        self.p1_1 = nn.Conv2d(in_channels, c1, kernel_size=1)
        self.p2_1 = nn.Conv2d(in_channels, c2[0], kernel_size=1)
        self.p2_2 = nn.Conv2d(c2[0], c2[1], kernel_size=3, padding=1)
        self.p3_1 = nn.Conv2d(in_channels, c3[0], kernel_size=1)
        self.p3_2 = nn.Conv2d(c3[0], c3[1], kernel_size=5, padding=2)
        self.p4_1 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1)
        self.p4_2 = nn.Conv2d(in_channels, c4, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p1 = F.relu(self.p1_1(x))
        p2 = F.relu(self.p2_2(F.relu(self.p2_1(x))))
        p3 = F.relu(self.p3_2(F.relu(self.p3_1(x))))
        p4 = F.relu(self.p4_2(self.p4_1(x)))
        return torch.cat((p1, p2, p3, p4), dim=1)


def googlenet(c: int = 8) -> nn.Sequential:
    """Notebook 09's GoogLeNet with small_input=True (28x28)."""

    def inception(i: int, c1: int, c2: tuple, c3: tuple, c4: int) -> Inception:
        return Inception(
            i // c, c1 // c, (c2[0] // c, c2[1] // c), (c3[0] // c, c3[1] // c), c4 // c
        )

    pool = lambda: nn.MaxPool2d(kernel_size=3, stride=2, padding=1)  # noqa: E731
    b1 = nn.Sequential(nn.Conv2d(1, 64 // c, kernel_size=3, padding=1), nn.ReLU(), pool())
    b2 = nn.Sequential(
        nn.Conv2d(64 // c, 64 // c, kernel_size=1), nn.ReLU(),
        nn.Conv2d(64 // c, 192 // c, kernel_size=3, padding=1), nn.ReLU(), pool(),
    )  # fmt: skip
    b3 = nn.Sequential(
        inception(192, 64, (96, 128), (16, 32), 32), inception(256, 128, (128, 192), (32, 96), 64),
        pool(),
    )  # fmt: skip
    b4 = nn.Sequential(
        inception(480, 192, (96, 208), (16, 48), 64), inception(512, 160, (112, 224), (24, 64), 64),
        inception(512, 128, (128, 256), (24, 64), 64), inception(512, 112, (144, 288), (32, 64), 64),
        inception(528, 256, (160, 320), (32, 128), 128), pool(),
    )  # fmt: skip
    b5 = nn.Sequential(
        inception(832, 256, (160, 320), (32, 128), 128), inception(832, 384, (192, 384), (48, 128), 128),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(),
    )  # fmt: skip
    return nn.Sequential(b1, b2, b3, b4, b5, nn.Linear(1024 // c, 10))


class BatchNorm(nn.Module):
    """Notebook 09's from-scratch BatchNorm (buffers reassigned in forward)."""

    def __init__(self, num_features: int, num_dims: int) -> None:
        super().__init__()
        shape = (1, num_features) if num_dims == 2 else (1, num_features, 1, 1)
        self.gamma = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.zeros(shape))
        self.register_buffer("moving_mean", torch.zeros(shape))
        self.register_buffer("moving_var", torch.ones(shape))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled():
            X_hat = (X - self.moving_mean) / torch.sqrt(self.moving_var + 1e-5)
        else:
            dims = (0,) if X.dim() == 2 else (0, 2, 3)
            mean = X.mean(dim=dims, keepdim=True)
            var = ((X - mean) ** 2).mean(dim=dims, keepdim=True)
            X_hat = (X - mean) / torch.sqrt(var + 1e-5)
            self.moving_mean = (0.9 * self.moving_mean + 0.1 * mean).detach()
            self.moving_var = (0.9 * self.moving_var + 0.1 * var).detach()
        return self.gamma * X_hat + self.beta


def bn_lenet_scratch() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), BatchNorm(6, 4), nn.Sigmoid(), nn.AvgPool2d(2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), BatchNorm(16, 4), nn.Sigmoid(), nn.AvgPool2d(2, stride=2),
        nn.Flatten(),
        nn.Linear(256, 120), BatchNorm(120, 2), nn.Sigmoid(),
        nn.Linear(120, 84), BatchNorm(84, 2), nn.Sigmoid(),
        nn.Linear(84, 10),
    )  # fmt: skip


def bn_lenet_concise() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5), nn.BatchNorm2d(6), nn.Sigmoid(), nn.AvgPool2d(2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.BatchNorm2d(16), nn.Sigmoid(), nn.AvgPool2d(2, stride=2),
        nn.Flatten(),
        nn.Linear(256, 120), nn.BatchNorm1d(120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.BatchNorm1d(84), nn.Sigmoid(),
        nn.Linear(84, 10),
    )  # fmt: skip


def resnet(c: int = 4) -> nn.Sequential:
    """Notebook 09's ResNet-18 with small_input=True (28x28), built from d2l.Residual."""

    def stage(in_channels: int, channels: int, first: bool) -> nn.Sequential:
        head = (
            d2l.Residual(channels, channels)
            if first
            else d2l.Residual(in_channels, channels, use_1x1conv=True, strides=2)
        )
        return nn.Sequential(head, d2l.Residual(channels, channels))

    b1 = nn.Sequential(
        nn.Conv2d(1, 64 // c, kernel_size=3, padding=1), nn.BatchNorm2d(64 // c), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )  # fmt: skip
    return nn.Sequential(
        b1, stage(64 // c, 64 // c, True), stage(64 // c, 128 // c, False),
        stage(128 // c, 256 // c, False), stage(256 // c, 512 // c, False),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(512 // c, 10),
    )  # fmt: skip


def _conv_block(input_channels: int, num_channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.BatchNorm2d(input_channels), nn.ReLU(),
        nn.Conv2d(input_channels, num_channels, kernel_size=3, padding=1),
    )  # fmt: skip


class DenseBlock(nn.Module):
    """Notebook 09's dense block (a learner-written module: torch.cat)."""

    def __init__(self, num_convs: int, input_channels: int, num_channels: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            *[
                _conv_block(num_channels * i + input_channels, num_channels)
                for i in range(num_convs)
            ]
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        for blk in self.net:
            X = torch.cat((X, blk(X)), dim=1)
        return X


def densenet(c: int = 4) -> nn.Sequential:
    """Notebook 09's DenseNet with small_input=True (28x28)."""
    num_channels, growth_rate = 64 // c, 32 // c
    b1 = nn.Sequential(
        nn.Conv2d(1, num_channels, kernel_size=3, padding=1), nn.BatchNorm2d(num_channels),
        nn.ReLU(), nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    )  # fmt: skip
    blks: list[nn.Module] = []
    for i, num_convs in enumerate([4, 4, 4, 4]):
        blks.append(DenseBlock(num_convs, num_channels, growth_rate))
        num_channels += num_convs * growth_rate
        if i != 3:
            blks.append(
                nn.Sequential(
                    nn.BatchNorm2d(num_channels),
                    nn.ReLU(),
                    nn.Conv2d(num_channels, num_channels // 2, kernel_size=1),
                    nn.AvgPool2d(kernel_size=2, stride=2),
                )  # fmt: skip
            )
            num_channels //= 2
    return nn.Sequential(
        b1, *blks, nn.BatchNorm2d(num_channels), nn.ReLU(),
        nn.AdaptiveAvgPool2d((1, 1)), nn.Flatten(), nn.Linear(num_channels, 10),
    )  # fmt: skip


#: name -> (make_net, image_size, batch_size), as notebooks 08 and 09 train them on a CPU
NETS: dict[str, tuple[Callable[[], nn.Module], int, int]] = {
    "LeNet": (lenet, 28, 256),
    "AlexNet": (alexnet, 28, 128),
    "VGG-11": (vgg, 32, 64),
    "NiN": (nin, 28, 64),
    "GoogLeNet": (googlenet, 28, 64),
    "BN-LeNet (scratch)": (bn_lenet_scratch, 28, 256),
    "BN-LeNet (concise)": (bn_lenet_concise, 28, 256),
    "ResNet-18": (resnet, 28, 256),
    "DenseNet": (densenet, 28, 256),
}
