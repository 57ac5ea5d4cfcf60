"""What every atspectrum model shares: quantization points, the quantize hook, a self-describing spec."""

from __future__ import annotations

import torch
from torch import nn

from atspectrum.attacks import quantize as _quantize


class SpectrumModel(nn.Module):
    """Base class. Subclasses set ``quant_points`` (the paper's quantization points, in forward order: the default
    grid), optionally ``all_quant_points`` (every selectable point in forward order, the paper's and named extras)
    and ``spec`` (constructor args)."""

    quant_points: tuple[str, ...] = ()
    all_quant_points: tuple[str, ...] = ()

    def __init__(self, spec: dict):
        super().__init__()
        self.spec = dict(spec)

    @classmethod
    def selectable_quant_points(cls) -> tuple[str, ...]:
        """Every point ``forward(x, quantize=...)`` accepts, in forward order (the paper's and named extras)."""
        return cls.all_quant_points or cls.quant_points

    def _check_quantize(self, quantize) -> None:
        q = _quantize.check_quantizer(quantize)
        if q is not None and q.layer not in self.selectable_quant_points():
            raise ValueError(
                f"unknown quantization layer {q.layer!r} for {self.spec['arch']}; "
                f"choose one of {list(self.selectable_quant_points())}"
            )

    def _q(self, x: torch.Tensor, layer: str, quantize) -> torch.Tensor:
        return _quantize.apply(x, layer, quantize)

    @property
    def final_preact(self) -> nn.Module:
        """The identity module through which the final pre-activation features pass (hook it to read them)."""
        raise NotImplementedError
