"""The CIFAR ResNet-18: 3x3 stem conv, no max-pool, BasicBlocks with widths w, 2w, 4w, 8w (w = 64 in the paper).

Quantization points, at the tensors the paper's code quantizes (``before_f0`` … ``before_f4_avgpool`` of its
``ResNet18_preReLU`` in ``models/resnet_ours.py``):

- ``conv0``: the raw output of the stem convolution, *before* its BatchNorm (``before_f0 = conv1(x)``); the
  quantized tensor then goes through the stem BatchNorm and ReLU.
- ``layer1`` … ``layer4``: each stage's output *before* its final ReLU, i.e. the sum of the last block's residual
  branch and its shortcut; the ReLU is applied to the quantized tensor. The forward result is that of quantizing
  after the ReLU (``relu(floor(βs)/β) = floor(β·relu(s))/β``), but the straight-through (BPDA) gradient is not:
  through ``relu(q(s))`` it passes only where ``s ≥ 1/β``, where quantizing after the ReLU would pass it wherever
  ``s > 0``.

The network itself is the paper code's ``ResNet18_preReLU`` by default: no ReLU between the two blocks of a stage
(only between stages and before the pooling); ``relu_between_blocks=True`` gives the standard ResNet-18 of the text.
Every quantization point is the same tensor in both.

Extra point, not the paper's, selectable by name (``models.<name>.quant_layers``):

- ``conv0_post``: the stem's output after conv + BatchNorm + ReLU (this repository's position before issue #12).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from atspectrum.attacks import quantize as _quantize
from atspectrum.specs import QUANT_POINTS, SELECTABLE_QUANT_POINTS, relu_between_blocks_of
from atspectrum.specs import bn_momentum as _bn_momentum  # the constructor's argument takes the name

from .base import SpectrumModel


class BasicBlock(nn.Module):
    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int,
        momentum: float = 0.1,
        point: str | None = None,
        final_relu: bool = True,
    ):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=momentum)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, momentum=momentum)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes, momentum=momentum)
            )
        self.preact = nn.Identity()  # the features entering the block's final ReLU (before any quantization)
        self.point = point  # the quantization point at this block's pre-ReLU sum (the last block of a stage)
        self.final_relu = final_relu  # False: the block ends with the residual sum (the paper code's first blocks)

    def forward(self, x: torch.Tensor, quantize=None) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.preact(self.bn2(self.conv2(out)) + self.shortcut(x))
        if self.point is not None:
            out = _quantize.apply(out, self.point, quantize)
        return F.relu(out) if self.final_relu else out


class ResNet18(SpectrumModel):
    quant_points = QUANT_POINTS["resnet18"]
    all_quant_points = SELECTABLE_QUANT_POINTS["resnet18"]

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 3,
        width: int = 64,
        bn_momentum: float | None = None,
        relu_between_blocks: bool | None = None,
    ):
        momentum = _bn_momentum(bn_momentum)
        inner = relu_between_blocks_of(relu_between_blocks)
        super().__init__(
            dict(
                arch="resnet18",
                num_classes=num_classes,
                in_channels=in_channels,
                width=width,
                bn_momentum=momentum,
                relu_between_blocks=inner,
            )
        )
        w = width
        self.conv1 = nn.Conv2d(in_channels, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w, momentum=momentum)
        planes, layers = w, []
        for i, (mult, stride) in enumerate([(1, 1), (2, 2), (4, 2), (8, 2)]):
            out = w * mult
            layers.append(
                nn.Sequential(
                    BasicBlock(planes, out, stride, momentum, final_relu=inner),
                    BasicBlock(out, out, 1, momentum, point=f"layer{i + 1}"),
                )
            )
            planes = out
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.linear = nn.Linear(8 * w, num_classes)

    @property
    def final_preact(self) -> nn.Module:
        return self.layer4[-1].preact

    def forward(self, x: torch.Tensor, quantize=None) -> torch.Tensor:
        self._check_quantize(quantize)
        out = self._q(self.conv1(x), "conv0", quantize)
        out = self._q(F.relu(self.bn1(out)), "conv0_post", quantize)
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            for block in stage:
                out = block(out, quantize)
        out = F.adaptive_avg_pool2d(out, 1).flatten(1)
        return self.linear(out)
