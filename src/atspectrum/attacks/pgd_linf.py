"""PGD (Madry et al.) in pixel space, L∞ (the paper's) or L2: inputs in [0, 1], budgets and step sizes in [0, 1]
units (δ/255 for L∞, the radius itself for L2: :func:`atspectrum.attacks.norms.budget`). The module keeps its
historical name; every function takes ``norm="linf"`` by default, so L∞ results are what they always were.

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

from .norms import ascent_direction, check_norm, project, unit_noise


def start_noise(shape: torch.Size, seed: int, norm: str = "linf") -> torch.Tensor:
    """Noise in the unit ball of ``norm`` for a whole test set from a seeded CPU generator: every example gets the
    same start whatever the batch size; ``(x + noise * eps).clamp(0, 1)`` is PGD's and APGD's random start. L∞:
    uniform [-1, 1] per pixel; L2: a random direction times a radius uniform in [0, 1], per example
    (:func:`atspectrum.attacks.norms.unit_noise`)."""
    return unit_noise(shape, torch.Generator().manual_seed(int(seed)), norm)


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


def uniform_start(
    x: torch.Tensor, eps: float, generator: torch.Generator | None = None, norm: str = "linf"
) -> torch.Tensor:
    """A random point of the ε-ball of ``norm`` around ``x`` (L∞: uniform; L2: see :func:`start_noise`), clipped to
    [0, 1]."""
    device = generator.device if generator is not None else x.device
    noise = unit_noise(x.shape, generator, norm, device=device, dtype=x.dtype)
    return (x + noise.to(x.device) * eps).clamp_(0, 1)


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
    norm: str = "linf",
) -> torch.Tensor:
    """Projected gradient ascent on the loss inside the ``norm`` ball (``"linf"`` or ``"l2"``) of radius ``eps``
    around ``x``, intersected with the [0, 1] box.

    ``eps`` and ``step_size`` are in [0, 1] pixel units. Each step moves ``step_size`` along the gradient's sign
    (L∞) or along the gradient divided by its per-example L2 norm (L2), then projects
    (:func:`atspectrum.attacks.norms.project`). ``random_start`` draws the start from the ball
    (:func:`uniform_start`; ``generator`` makes it reproducible; ``init`` supplies the start explicitly; either is
    projected). ``forward(model, x)`` replaces ``model(x)`` (e.g. to pass a quantizer). ``eval_mode=False`` keeps the
    model's mode (BatchNorm in train mode while crafting, an option of adversarial training). Returns a detached
    batch with ``‖x_adv - x‖ <= eps`` and values in [0, 1]. ``eps == 0`` returns ``x`` unchanged. An attack run
    under autocast or on a model with reduced precision parameters is refused unless ``allow_reduced_precision``
    (adversarial training may; an evaluation must not be weakened unnoticed).
    """
    if not allow_reduced_precision:
        check_full_precision(model, x)
    check_norm(norm)
    if eps < 0 or step_size < 0 or steps < 0:
        raise ValueError(f"pgd needs eps, step_size, steps >= 0; got {eps}, {step_size}, {steps}")
    x = x.detach()
    if eps == 0:
        return x.clone()
    # summed, not averaged: only the gradient's direction counts, and a mean over a large batch can underflow
    loss_fn = loss_fn or (lambda logits, target: F.cross_entropy(logits, target, reduction="sum"))
    forward = forward or (lambda m, inp: m(inp))
    if init is not None:
        adv = project(init.detach(), x, eps, norm)
    elif random_start:
        adv = project(uniform_start(x, eps, generator, norm), x, eps, norm)
    else:
        adv = x.clone()
    with frozen(model, eval_mode), torch.enable_grad():
        for _ in range(steps):
            adv.requires_grad_(True)
            loss = loss_fn(forward(model, adv), y)
            (grad,) = torch.autograd.grad(loss, adv)
            with torch.no_grad():
                adv = project(adv.detach().add_(ascent_direction(grad, norm), alpha=step_size), x, eps, norm)
    return adv.detach()
