"""Section 5 and 6 analyses of a trained model: L∞ norms of conv filters, and streaming statistics of the final
pre-activation features (pre-ReLU for ResNet-18, pre-Swish for WRN-28-10)."""
from __future__ import annotations

import contextlib

import pandas as pd
import torch
from torch import nn

NEAR_ZERO = 0.1  # a pre-activation within ±0.1 of zero is "near zero" (flipped easily by a corruption)


def filter_norms(model: nn.Module) -> pd.DataFrame:
    """Per conv layer (forward/registration order), the mean and max over its kernel slices ``w[o, i, :, :]`` of
    the slice's L∞ norm. 1×1 convs (shortcuts) are reported with ``kind = "1x1"``, separately from 3×3 layers;
    ``index`` numbers the 3×3 layers from 1 (1 = the first layer, 2 = the second, …)."""
    rows, k3 = [], 0
    for name, module in model.named_modules():
        if not isinstance(module, nn.Conv2d):
            continue
        w = module.weight.detach()
        norms = w.abs().amax(dim=(2, 3))  # (out, in): the L∞ norm of every kernel slice at once
        kind = "x".join(map(str, module.kernel_size))
        k3 += kind != "1x1"
        rows.append({"layer": name, "kind": kind, "index": k3 if kind != "1x1" else None,
                     "out_channels": w.shape[0], "in_channels": w.shape[1], "slices": norms.numel(),
                     "mean": norms.mean().item(), "max": norms.max().item()})
    frame = pd.DataFrame(rows)
    frame["index"] = frame["index"].astype("Int64")
    return frame


class PreactStats:
    """Streaming mean and near-zero fraction of features (never holds more than one batch)."""

    def __init__(self):
        self.count = 0
        self.total = 0.0
        self.near_zero = 0

    def update(self, features: torch.Tensor) -> None:
        f = features.detach()
        self.count += f.numel()
        self.total += f.double().sum().item()
        self.near_zero += (f.abs() <= NEAR_ZERO).sum().item()

    def merge(self, other: "PreactStats") -> None:
        self.count += other.count
        self.total += other.total
        self.near_zero += other.near_zero

    def result(self) -> dict:
        n = max(self.count, 1)
        return {"mean": self.total / n, "near_zero_fraction": self.near_zero / n, "units": self.count}


@contextlib.contextmanager
def recording_preact(model: nn.Module, stats: PreactStats):
    """While active, every forward pass of ``model`` adds its final pre-activation features to ``stats``."""
    handle = model.final_preact.register_forward_hook(lambda module, inp, out: stats.update(out))
    try:
        yield stats
    finally:
        handle.remove()
