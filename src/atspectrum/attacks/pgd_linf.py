"""L∞ PGD (Madry et al.) in pixel space: inputs in [0, 1], budgets and step sizes in [0, 1] units (δ/255).

``pgd`` works on any ``nn.Module`` mapping a batch to logits. BPDA is PGD on a model whose quantizer is
straight-through (see :mod:`atspectrum.attacks.quantize`). The model is put in eval mode for the attack and restored
after; no gradient is accumulated on its parameters.
"""

from __future__ import annotations

import contextlib
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn


def start_noise(shape: torch.Size, seed: int) -> torch.Tensor:
    """Uniform [-1, 1] noise for a whole test set from a seeded CPU generator: every example gets the same start
    whatever the batch size (scaled by the budget, it is PGD's and APGD's random start)."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.rand(shape, generator=g).mul_(2).sub_(1)


def pixels(units: float) -> float:
    """A strength given in 1/255 units (the paper's ε, δ) as a [0, 1] pixel budget."""
    return float(units) / 255.0


@contextlib.contextmanager
def frozen(model: nn.Module, eval_mode: bool = True):
    """Eval mode (optional) and ``requires_grad=False`` on every parameter, both restored on exit."""
    was_training = model.training
    flags = [p.requires_grad for p in model.parameters()]
    if eval_mode:
        model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    try:
        yield model
    finally:
        for p, f in zip(model.parameters(), flags):
            p.requires_grad_(f)
        model.train(was_training)


def uniform_start(x: torch.Tensor, eps: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """A uniform sample from the ε-ball around ``x``, clipped to [0, 1]."""
    noise = torch.rand(
        x.shape, generator=generator, device=generator.device if generator is not None else x.device, dtype=x.dtype
    )
    return (x + (2 * noise.to(x.device) - 1) * eps).clamp_(0, 1)


class ReducedPrecisionError(RuntimeError):
    """An evaluation attack asked to run in reduced precision without saying so explicitly."""


def check_full_precision(model: nn.Module, x: torch.Tensor) -> None:
    if torch.is_autocast_enabled(x.device.type):
        raise ReducedPrecisionError(
            "attack under autocast: evaluation attacks run in fp32 unless allow_reduced_precision=True"
        )
    low = {p.dtype for p in model.parameters() if p.is_floating_point() and p.dtype != torch.float32}
    if low or x.dtype != torch.float32:
        raise ReducedPrecisionError(
            f"attack on {sorted(map(str, low | {x.dtype}))} tensors: evaluation attacks run "
            f"in fp32 unless allow_reduced_precision=True"
        )


def pgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    steps: int,
    step_size: float,
    random_start: bool = True,
    *,
    loss_fn: Callable | None = None,
    generator: torch.Generator | None = None,
    init: torch.Tensor | None = None,
    eval_mode: bool = True,
    forward: Callable | None = None,
    allow_reduced_precision: bool = False,
) -> torch.Tensor:
    """Projected gradient ascent on the loss inside the L∞ ball of radius ``eps`` around ``x``.

    ``eps`` and ``step_size`` are in [0, 1] pixel units. ``random_start`` draws the start uniformly from the ball
    (``generator`` makes it reproducible; ``init`` supplies the start explicitly). ``forward(model, x)`` replaces
    ``model(x)`` (e.g. to pass a quantizer). ``eval_mode=False`` keeps the model's mode (BatchNorm in train mode while
    crafting, an option of adversarial training). Returns a detached batch with ``|x_adv - x|∞ <= eps`` and values
    in [0, 1]. ``eps == 0`` returns ``x`` unchanged. An attack run under autocast or on a model with reduced
    precision parameters is refused unless ``allow_reduced_precision`` (adversarial training may; an evaluation
    must not be weakened unnoticed).
    """
    if not allow_reduced_precision:
        check_full_precision(model, x)
    if eps < 0 or step_size < 0 or steps < 0:
        raise ValueError(f"pgd needs eps, step_size, steps >= 0; got {eps}, {step_size}, {steps}")
    x = x.detach()
    if eps == 0:
        return x.clone()
    # summed, not averaged: the sign of the gradient is what counts, and a mean over a large batch can underflow
    loss_fn = loss_fn or (lambda logits, target: F.cross_entropy(logits, target, reduction="sum"))
    forward = forward or (lambda m, inp: m(inp))
    lower = (x - eps).clamp_(min=0)
    upper = (x + eps).clamp_(max=1)
    if init is not None:
        adv = torch.max(torch.min(init.detach(), upper), lower)
    elif random_start:
        adv = uniform_start(x, eps, generator)
    else:
        adv = x.clone()
    with frozen(model, eval_mode), torch.enable_grad():
        for _ in range(steps):
            adv.requires_grad_(True)
            loss = loss_fn(forward(model, adv), y)
            (grad,) = torch.autograd.grad(loss, adv)
            with torch.no_grad():
                adv = adv.detach().add_(grad.sign_(), alpha=step_size)
                adv = torch.max(torch.min(adv, upper), lower)
    return adv.detach()
