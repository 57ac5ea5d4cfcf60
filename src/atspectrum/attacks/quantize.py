"""Scaled-floor quantization of intermediate features, ``floor(beta * x) / beta``.

A :class:`Quantizer` names the quantization point (the tensor that is quantized; each model's docstring says which
tensor each of its points is), the scale ``beta`` (a finite number > 0) and whether the backward pass is the identity
(straight-through, for BPDA). Models accept one through ``forward(x, quantize=...)``.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from atspectrum.specs import check_beta


class Quantizer(NamedTuple):
    layer: str
    beta: float
    straight_through: bool = False


def check_quantizer(quantize: Quantizer | tuple | None) -> Quantizer | None:
    """``quantize`` as a :class:`Quantizer` with its beta checked (``None`` stays ``None``)."""
    if quantize is None:
        return None
    q = Quantizer(*quantize)
    check_beta(q.beta)
    return q


def scaled_floor(x: torch.Tensor, beta: float, straight_through: bool = False) -> torch.Tensor:
    """``floor(beta * x) / beta``; with ``straight_through`` the gradient passes as if it were the identity."""
    q = torch.floor(x * beta) / beta
    if straight_through:
        return x + (q - x).detach()
    return q


def apply(x: torch.Tensor, layer: str, quantize: Quantizer | tuple | None) -> torch.Tensor:
    """Quantize ``x`` if ``quantize`` targets ``layer``; otherwise return ``x`` unchanged."""
    if quantize is None:
        return x
    q = Quantizer(*quantize)
    if q.layer != layer:
        return x
    return scaled_floor(x, check_beta(q.beta), q.straight_through)
