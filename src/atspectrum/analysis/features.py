"""Section 5 and 6 analyses of a trained model: norms of conv filters, and streaming statistics of the final
pre-activation features (pre-ReLU for ResNet-18, pre-Swish for WRN-28-10).

Filter norms. The paper's measure (Section 5, its code's ``penalty_prob``): per conv layer the mean and the max over
the kernel slices ``w[o, i, :, :]`` of ``max |w[o, i, :, :]|``, which the paper calls the L∞ Lipschitz constant of a
3×3 filter. Ours, beside it: the layer's L∞→L∞ operator norm ``max_o Σ_{i,h,w} |w[o, i, h, w]|`` (the Lipschitz
constant of the convolution in L∞), and, where a BatchNorm directly consumes the conv's output, that norm rescaled by
the BatchNorm (``max_o |γ_o| / σ_o · Σ |w[o]|``, ``σ_o = sqrt(running_var_o + eps)``).

Pre-activation statistics. Per set of images: the mean of every value of the final pre-activation tensor
(examples × channels × positions) and how many values are negative and positive (the paper's code counts
``arr < 0`` and ``arr > 0`` over the flattened tensor; exact zeros are in neither count)."""

from __future__ import annotations

import contextlib
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


class PreactStats:
    """Streaming count, sum and sign counts of feature values (never holds more than one batch); exact: the sum is
    accumulated in float64 and the counts are integers."""

    def __init__(self):
        self.count = 0
        self.total = 0.0
        self.negative = 0
        self.positive = 0

    def update(self, features: torch.Tensor) -> None:
        f = features.detach()
        self.count += f.numel()
        self.total += f.double().sum().item()
        self.negative += int((f < 0).sum().item())
        self.positive += int((f > 0).sum().item())

    def merge(self, other: "PreactStats") -> None:
        self.count += other.count
        self.total += other.total
        self.negative += other.negative
        self.positive += other.positive

    def result(self) -> dict:
        """``mean`` (None when nothing was recorded), ``units`` (values recorded), ``negative``, ``positive``,
        ``neg_minus_pos`` (the paper's code's count) and ``neg_minus_pos_fraction`` (that count / ``units``)."""
        n = self.count
        diff = self.negative - self.positive
        return {
            "mean": self.total / n if n else None,
            "units": n,
            "negative": self.negative,
            "positive": self.positive,
            "neg_minus_pos": diff,
            "neg_minus_pos_fraction": diff / n if n else None,
        }


@contextlib.contextmanager
def recording_preact(model: nn.Module, stats: PreactStats):
    """While active, every forward pass of ``model`` adds its final pre-activation features to ``stats``."""
    handle = model.final_preact.register_forward_hook(lambda module, inp, out: stats.update(out))
    try:
        yield stats
    finally:
        handle.remove()


CODE_SEVERITY = 5  # the paper's code reads rows 40000: of each CIFAR-10-C file, i.e. severity 5 only


def figure3(preact: dict, severity: int = CODE_SEVERITY) -> dict:
    """Figure 3's statistics from one model's pre-activation statistics (:func:`corruption_eval.evaluate_corruptions`'
    second result, or its JSON):

    - ``text``: the paper text's "mean on the complete CIFAR-10-C dataset": every corruption and evaluated severity
      pooled (``mean``; ``neg_minus_pos_fraction`` over the same values);
    - ``code``: the paper's code (``test_firing_on_corruptions*.py``): per corruption the mean and the count
      (negative − positive) of the values at ``severity`` (5), then the plain average of those per-corruption numbers
      over the corruptions (``mean``, ``neg_minus_pos``; ``neg_minus_pos_fraction`` divides each count by its number
      of values first). If ``severity`` was not evaluated, the highest evaluated one is used and named in
      ``severity``;
    - ``clean``: the clean test set (ours: the paper shows no clean statistic)."""
    per = preact.get("per_severity") or {}
    if not per:
        raise ValueError("pre-activation statistics hold no per_severity entry: re-run evaluate_corruptions")
    evaluated = sorted({int(s) for by in per.values() for s in by})
    chosen = severity if severity in evaluated else max(evaluated)
    cells = []
    for name, by in per.items():
        cell = {int(s): r for s, r in by.items()}.get(chosen)
        if cell is None:
            raise ValueError(f"corruption {name!r} has no pre-activation statistics at severity {chosen}")
        cells.append(cell)

    def average(key):
        return sum(c[key] for c in cells) / len(cells)

    pick = ("mean", "neg_minus_pos_fraction", "units")
    return {
        "text": {k: preact["corrupted"][k] for k in pick},
        "code": {
            "mean": average("mean"),
            "neg_minus_pos": average("neg_minus_pos"),
            "neg_minus_pos_fraction": average("neg_minus_pos_fraction"),
            "units": sum(c["units"] for c in cells),
            "severity": chosen,
            "corruptions": len(cells),
        },
        "clean": {k: preact["clean"][k] for k in pick},
    }
