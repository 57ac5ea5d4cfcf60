"""Attacks of the user's (``eval.extra_attacks``): a torchattacks-style class, built as ``Class(model, eps=<budget>,
**kwargs)`` and called as ``attack(images, labels)`` → adversarial images (float, in [0, 1]).

- :func:`attack_class` imports the class of a target ``path/to/file.py:ClassName`` or ``package.module:ClassName``;
- :func:`build` constructs it at a strength δ: its ``eps`` is :func:`~atspectrum.attacks.norms.budget` of δ in δ's
  norm (δ/255 for an L∞ model, the radius itself for an L2 one: :mod:`atspectrum.strengths`), the one conversion of
  a strength to a budget;
- :func:`check_budget` is what every adversarial batch must pass before it is classified: the same shape, finite
  values in [0, 1], and every example within δ of its clean image in δ's norm (+ its rounding slack). A
  :class:`BudgetError` names the attack and the measured distance: an attack that leaves its budget never produces a
  number.
"""

from __future__ import annotations

import numpy as np
import torch

from atspectrum.runtime import user_code
from atspectrum.specs import VALID_ATTACK_TARGETS, install_hint, split_target
from atspectrum.strengths import L2, label, norm_of

from . import norms

TOLERANCE = norms.ROUNDING  # per pixel (atspectrum.attacks.norms.rounding_slack)


class AttackClassError(ValueError):
    """A target that names no attack class (a missing file, module or class)."""


class BudgetError(RuntimeError):
    """Adversarial examples outside the attack's budget (or outside [0, 1], or not finite)."""


def attack_class(target: str) -> type:
    """The class ``target`` names. :class:`AttackClassError` saying what is missing (and, for a missing class, the
    classes of the module; for a missing torchattacks, how to install it)."""
    parts = split_target(target)
    if parts is None:
        raise AttackClassError(f"{target!r} is not an attack class; use {VALID_ATTACK_TARGETS}")
    source, name = parts
    try:
        module = user_code.load_module(source, "attack")
    except user_code.UserCodeError as exc:
        missing = getattr(exc.__cause__, "name", None) if isinstance(exc.__cause__, ImportError) else None
        raise AttackClassError(f"{exc}{install_hint(missing)}") from exc
    found = getattr(module, name, None)
    if not isinstance(found, type):
        what = "is not a class" if found is not None else "does not exist"
        raise AttackClassError(f"{name!r} in {source!r} {what}; the classes there are {user_code.classes(module)}")
    return found


def build(cls, model: torch.nn.Module, delta, kwargs: dict):
    """The attack ``cls`` (a class, or a target naming one) against ``model`` at strength ``delta`` (its ``eps``: the
    budget in δ's norm)."""
    cls = attack_class(cls) if isinstance(cls, str) else cls
    return cls(model, eps=norms.budget(delta, norm_of(delta)), **kwargs)


def batch_seed(seed: int, delta, start: int) -> int:
    """The seed of torch's global RNG before an extra attack's call on the batch starting at example ``start``: one
    per (training seed, δ, batch), the same for every ε's model (as PGD's random starts are). An L2 δ enters as
    nanounits with a marker, so that radii 0.25 and 0.5 seed differently."""
    entropy = [int(round(float(delta) * 1e9)), 2] if norm_of(delta) == L2 else [int(delta)]
    return int(np.random.SeedSequence([int(seed), *entropy, int(start)]).generate_state(1)[0])


def distance(x: torch.Tensor, x_adv: torch.Tensor, norm: str = "linf") -> float:
    """The largest per-example distance in ``norm`` between the examples and their adversarial versions ([0, 1]
    units)."""
    return float(norms.distance(x_adv, x, norm).max()) if x.numel() else 0.0


def check_budget(name: str, x: torch.Tensor, x_adv, delta) -> torch.Tensor:
    """``x_adv`` (detached, float32, on ``x``'s device) once it is a batch like ``x`` with finite values in [0, 1]
    within the ball of radius δ around it in δ's norm (+ its rounding slack, :func:`.norms.rounding_slack`);
    :class:`BudgetError` naming the attack ``name`` and what it measured otherwise."""
    where = f"extra attack {name!r} at delta {label(delta)}"
    if not isinstance(x_adv, torch.Tensor) or tuple(x_adv.shape) != tuple(x.shape):
        got = tuple(x_adv.shape) if isinstance(x_adv, torch.Tensor) else type(x_adv).__name__
        raise BudgetError(f"{where} returned {got}, not adversarial images of the input's shape {tuple(x.shape)}")
    if not x_adv.is_floating_point():
        raise BudgetError(f"{where} returned {x_adv.dtype} images, not float images in [0, 1]")
    x_adv = x_adv.detach().to(device=x.device, dtype=torch.float32)
    if not bool(torch.isfinite(x_adv).all()):
        raise BudgetError(f"{where} returned images with NaN or infinite values")
    low, high = float(x_adv.min()), float(x_adv.max())
    if low < 0 or high > 1:
        raise BudgetError(f"{where} returned values in [{low:.6g}, {high:.6g}], outside [0, 1]")
    norm = norm_of(delta)
    measured, budget, slack = distance(x, x_adv, norm), norms.budget(delta, norm), norms.rounding_slack(x, norm)
    if measured > budget + slack:
        what = (
            f"max ||x_adv - x||_2 = {measured:.6g}"
            if norm == L2
            else f"max |x_adv - x| = {measured:.6g} ({measured * 255:.4g}/255)"
        )
        raise BudgetError(f"{where} left its budget: {what} > {budget:.6g} + {slack:.3g}; no result was written")
    return x_adv
