"""What every atspectrum model shares: quantization points, the quantize hook, a self-describing spec."""
from __future__ import annotations

import torch
from torch import nn

from .. import quantize as _quantize


class SpectrumModel(nn.Module):
    """Base class: subclasses set ``quant_points`` (layer names, in forward order) and ``spec`` (constructor args)."""

    quant_points: tuple[str, ...] = ()

    def __init__(self, spec: dict):
        super().__init__()
        self.spec = dict(spec)

    def _check_quantize(self, quantize) -> None:
        if quantize is None:
            return
        q = _quantize.Quantizer(*quantize)
        if q.layer not in self.quant_points:
            raise ValueError(
                f"unknown quantization layer {q.layer!r} for {self.spec['arch']}; "
                f"choose one of {list(self.quant_points)}"
            )
        _quantize.check_beta(q.beta)

    def _q(self, x: torch.Tensor, layer: str, quantize) -> torch.Tensor:
        return _quantize.apply(x, layer, quantize)

    @property
    def final_preact(self) -> nn.Module:
        """The identity module through which the final pre-activation features pass (hook it to read them)."""
        raise NotImplementedError
