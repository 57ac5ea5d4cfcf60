"""The DeepMind-style WideResNet (Gowal et al., 2020) with Swish activations and input normalization inside.

WRN-depth-width: an initial 3x3 conv to 16 channels, three groups of (depth-4)/6 pre-activation blocks with
16·width, 32·width, 64·width channels (strides 1, 2, 2), then BN, Swish, global average pool and a linear layer.
TF-style "SAME" padding of strided convs follows the paper's ``models/dm_wide_resnet.py`` (RobustBench's port of
DeepMind's model); so does the BatchNorm momentum, PyTorch's default 0.1 (``bn_momentum`` overrides it).

Quantization points, at the tensors the paper's code quantizes (``before_f0`` … ``before_f3`` of its
``DMWideResNet``):

- ``init_conv``: the raw output of the initial convolution (on the normalized input); no BatchNorm or activation
  follows it directly (the first block's pre-activation BatchNorm + Swish comes next).
- ``layer0``, ``layer1``, ``layer2``: each block group's output, the sum of its last block's residual branch and
  shortcut (pre-activation blocks: no activation at a group's end); after ``layer2`` come the final BatchNorm and
  Swish.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from atspectrum.specs import QUANT_POINTS
from atspectrum.specs import bn_momentum as _bn_momentum  # the constructor's argument takes the name

from .base import SpectrumModel

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2471, 0.2435, 0.2616)


class _Block(nn.Module):
    def __init__(self, in_planes: int, out_planes: int, stride: int, momentum: float):
        super().__init__()
        self.batchnorm_0 = nn.BatchNorm2d(in_planes, momentum=momentum)
        self.conv_0 = nn.Conv2d(in_planes, out_planes, 3, stride, 0, bias=False)
        self.batchnorm_1 = nn.BatchNorm2d(out_planes, momentum=momentum)
        self.conv_1 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
        self.shortcut = nn.Conv2d(in_planes, out_planes, 1, stride, 0, bias=False) if in_planes != out_planes else None
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = F.silu(self.batchnorm_0(x))
        pad = (1, 1, 1, 1) if self.stride == 1 else (0, 1, 0, 1)
        out = self.conv_0(F.pad(a, pad))
        out = self.conv_1(F.silu(self.batchnorm_1(out)))
        return out + (self.shortcut(a) if self.shortcut is not None else x)


class WideResNet(SpectrumModel):
    quant_points = QUANT_POINTS["wrn28_10"]

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        width: int = 10,
        depth: int = 28,
        mean: tuple[float, ...] | None = None,
        std: tuple[float, ...] | None = None,
        bn_momentum: float | None = None,
    ):
        if (depth - 4) % 6:
            raise ValueError(f"WideResNet depth must be 6n+4, got {depth}")
        mean = tuple(mean) if mean is not None else (CIFAR10_MEAN if in_channels == 3 else (0.5,) * in_channels)
        std = tuple(std) if std is not None else (CIFAR10_STD if in_channels == 3 else (0.5,) * in_channels)
        if len(mean) != in_channels or len(std) != in_channels:
            raise ValueError(f"mean/std need {in_channels} values, got {mean} / {std}")
        momentum = _bn_momentum(bn_momentum)
        super().__init__(
            dict(
                arch="wrn28_10",
                num_classes=num_classes,
                in_channels=in_channels,
                width=width,
                depth=depth,
                mean=list(mean),
                std=list(std),
                bn_momentum=momentum,
            )
        )
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, -1, 1, 1), persistent=False)
        n = (depth - 4) // 6
        widths = [16, 16 * width, 32 * width, 64 * width]
        self.init_conv = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        groups = []
        for g, stride in enumerate([1, 2, 2]):
            blocks = [
                _Block(widths[g] if i == 0 else widths[g + 1], widths[g + 1], stride if i == 0 else 1, momentum)
                for i in range(n)
            ]
            groups.append(nn.Sequential(*blocks))
        self.layer = nn.ModuleList(groups)
        self.batchnorm = nn.BatchNorm2d(widths[3], momentum=momentum)
        self.preact = nn.Identity()  # the features entering the final Swish
        self.logits = nn.Linear(widths[3], num_classes)

    @property
    def final_preact(self) -> nn.Module:
        return self.preact

    def forward(self, x: torch.Tensor, quantize=None) -> torch.Tensor:
        self._check_quantize(quantize)
        out = self._q(self.init_conv((x - self.mean) / self.std), "init_conv", quantize)
        for i, group in enumerate(self.layer):
            out = self._q(group(out), f"layer{i}", quantize)
        out = F.silu(self.preact(self.batchnorm(out)))
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.logits(out)
