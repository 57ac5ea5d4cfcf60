"""Section 5: norms of conv filters.

The paper's measure (Section 5, its code's ``penalty_prob``): per conv layer the mean and the max over the kernel
slices ``w[o, i, :, :]`` of ``max |w[o, i, :, :]|``, which the paper calls the L∞ Lipschitz constant of a 3×3 filter.
Ours, beside it: the layer's L∞→L∞ operator norm ``max_o Σ_{i,h,w} |w[o, i, h, w]|`` (the Lipschitz constant of the
convolution in L∞), and, where a BatchNorm directly consumes the conv's output, that norm rescaled by the BatchNorm
(``max_o |γ_o| / σ_o · Σ |w[o]|``, ``σ_o = sqrt(running_var_o + eps)``)."""

from __future__ import annotations

import math

import pandas as pd
import torch
from torch import nn

PROBE_SIZE = 32  # the side of the all-zero image whose forward pass finds which BatchNorm follows which conv


def conv_bn_pairs(model: nn.Module, in_channels: int | None = None, size: int = PROBE_SIZE) -> dict[str, str]:
    """``{conv name: BatchNorm name}`` for every ``nn.Conv2d`` whose output tensor is the very input of a
    ``nn.BatchNorm2d`` (nothing in between: a residual sum or an activation breaks the pair). Found by one forward
    pass of an all-zero ``in_channels``×``size``×``size`` image (default: the first conv's input channels) in eval
    mode under ``no_grad``; the model's mode and parameters are left as they were."""
    names = {module: name for name, module in model.named_modules()}
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        return {}
    outputs, pairs = {}, {}

    def after_conv(module, inp, out):
        outputs[id(out)] = (names[module], out)  # the tensor is kept alive, so its id is not reused

    def before_bn(module, inp):
        seen = outputs.get(id(inp[0]))
        if seen is not None and seen[1] is inp[0]:
            pairs.setdefault(seen[0], names[module])

    handles = [m.register_forward_hook(after_conv) for m in convs]
    handles += [m.register_forward_pre_hook(before_bn) for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    training = model.training
    param = next(model.parameters())
    x = torch.zeros(1, in_channels or convs[0].in_channels, size, size, device=param.device, dtype=param.dtype)
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(training)
        for h in handles:
            h.remove()
    return pairs


def bn_scale(bn: nn.BatchNorm2d) -> torch.Tensor:
    """Per channel ``|γ| / sqrt(running_var + eps)``: the factor by which the BatchNorm (in eval mode) scales it."""
    if bn.running_var is None:
        raise ValueError(f"BatchNorm {bn} tracks no running variance: its eval-mode scale is undefined")
    gamma = bn.weight.detach().abs() if bn.affine else torch.ones_like(bn.running_var)
    return gamma / torch.sqrt(bn.running_var.detach() + bn.eps)


def filter_norms(model: nn.Module, in_channels: int | None = None) -> pd.DataFrame:
    """One row per conv layer (registration order). ``kind`` is the kernel size (``3x3``, ``1x1`` for shortcuts);
    ``index`` numbers the non-1×1 layers from 1 (1 = the first layer, 2 = the second, …), 1×1 convs get none.

    - ``mean`` / ``max`` (the paper's): mean and max over the ``slices`` kernel slices ``w[o, i, :, :]`` of
      ``max |w[o, i, :, :]|``;
    - ``op_norm`` (ours): ``max_o Σ_{i,h,w} |w[o, i, h, w]|``, the L∞→L∞ operator norm of the convolution;
    - ``bn`` / ``op_norm_bn`` (ours): the BatchNorm that directly follows the conv (see :func:`conv_bn_pairs`) and
      ``max_o |γ_o| / σ_o · Σ_{i,h,w} |w[o, i, h, w]|``; empty / NaN where no BatchNorm directly follows."""
    pairs = conv_bn_pairs(model, in_channels)
    modules = dict(model.named_modules())
    rows, k = [], 0
    for name, module in model.named_modules():
        if not isinstance(module, nn.Conv2d):
            continue
        w = module.weight.detach().double()
        slices = w.abs().amax(dim=(2, 3))  # (out, in): max |w| of every kernel slice at once
        rows_l1 = w.abs().sum(dim=(1, 2, 3))  # (out,): Σ |w| over each output channel's whole kernel
        bn = pairs.get(name, "")
        kind = "x".join(map(str, module.kernel_size))
        k += kind != "1x1"
        rows.append(
            {
                "layer": name,
                "kind": kind,
                "index": k if kind != "1x1" else None,
                "out_channels": w.shape[0],
                "in_channels": w.shape[1],
                "slices": slices.numel(),
                "mean": slices.mean().item(),
                "max": slices.max().item(),
                "op_norm": rows_l1.max().item(),
                "bn": bn,
                "op_norm_bn": (bn_scale(modules[bn]).double() * rows_l1).max().item() if bn else math.nan,
            }
        )
    frame = pd.DataFrame(rows)
    if len(frame):
        frame["index"] = frame["index"].astype("Int64")
    return frame
