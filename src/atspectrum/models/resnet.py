"""The CIFAR ResNet-18: 3x3 stem conv, no max-pool, BasicBlocks with widths w, 2w, 4w, 8w (w = 64 in the paper).

Quantization points (the paper's names): ``conv0`` (after stem conv + BN + ReLU), ``layer1`` … ``layer4``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import SpectrumModel


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )
        self.preact = nn.Identity()  # the features entering the block's final ReLU

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out)) + self.shortcut(x)
        return F.relu(self.preact(out))


class ResNet18(SpectrumModel):
    quant_points = ("conv0", "layer1", "layer2", "layer3", "layer4")

    def __init__(self, num_classes: int = 10, in_channels: int = 3, width: int = 64):
        super().__init__(dict(arch="resnet18", num_classes=num_classes, in_channels=in_channels, width=width))
        w = width
        self.conv1 = nn.Conv2d(in_channels, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        planes, layers = w, []
        for i, (mult, stride) in enumerate([(1, 1), (2, 2), (4, 2), (8, 2)]):
            out = w * mult
            layers.append(nn.Sequential(BasicBlock(planes, out, stride), BasicBlock(out, out, 1)))
            planes = out
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.linear = nn.Linear(8 * w, num_classes)

    @property
    def final_preact(self) -> nn.Module:
        return self.layer4[-1].preact

    def forward(self, x: torch.Tensor, quantize=None) -> torch.Tensor:
        self._check_quantize(quantize)
        out = self._q(F.relu(self.bn1(self.conv1(x))), "conv0", quantize)
        for name in ("layer1", "layer2", "layer3", "layer4"):
            out = self._q(getattr(self, name)(out), name, quantize)
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)
