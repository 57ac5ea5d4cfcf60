"""APGD, L∞ and L2 (Croce & Hein, ICML 2020, "Reliable evaluation of adversarial robustness with an ensemble of
diverse parameter-free attacks"), written from the paper.

One run (:func:`apgd`) is projected gradient ascent with momentum and a per-example step size:

- the step starts at ``η = 2ε``; ``z = P(x_k + η·d(∇f(x_k)))`` and, from the second step on,
  ``x_{k+1} = P(x_k + α(z − x_k) + (1 − α)(x_k − x_{k−1}))`` with ``α = 0.75`` (the first step is ``z``);
- at the checkpoints ``w_j = ⌈p_j·N⌉``, ``p_0 = 0``, ``p_1 = 0.22``, ``p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03,
  0.06)``, an example's step is halved and it restarts from its highest-loss point so far when (1) the loss rose in
  fewer than ``ρ = 0.75`` of the steps since the last checkpoint, or (2) its step was not halved at the last
  checkpoint and its best loss has not improved since. The restart replaces the current iterate ``x_k`` (and its
  loss and gradient) by the best point; ``x_{k−1}`` is kept, so the next step's momentum is ``x_max − x_{k−1}``
  (Algorithm 1 of the paper, ``x^(k+1) ← x_max``, and the authors' code alike);
- ``P`` projects onto the ε-ball around the clean input intersected with the [0, 1] box
  (:func:`atspectrum.attacks.norms.project`).

What differs between the norms (``norm="linf"``, the default, or ``"l2"``) is only ``d`` and ``P``:

- L∞: ``d(g) = sign g``, and ``P`` is exact: every iterate lies between ``max(x − ε, 0)`` and ``min(x + ε, 1)`` as
  computed in the input's dtype;
- L2 (the paper's L2 version): ``d(g) = g / ‖g‖₂`` per example, and ``P`` scales the displacement from ``x`` back
  onto the ε-sphere when it is longer, then clips to the box (feasible, though not the exact projection onto the
  intersection); ε is an L2 radius in [0, 1] pixel space. Step sizes, checkpoints, momentum and restarts are the
  same.

An example counts as broken the first time the attacked model misclassifies it; it then leaves the run (its
adversarial example is that point). Otherwise the run returns its highest-loss point.

:func:`attack` runs several losses (cross-entropy, DLR) and random restarts on a whole test set and keeps, per
example, the first adversarial example that the *verdict* model misclassifies, else the one with the lowest margin;
each run attacks only the examples still classified correctly. The model is in eval mode with frozen parameters
during every run (:func:`atspectrum.attacks.frozen`). Start points are drawn per example from a seeded CPU generator
over the whole test set (:func:`atspectrum.attacks.start_noise`: uniform in the L∞ ball; a random direction at a
uniform radius in the L2 ball), so results do not depend on the batch size.

APGD-BPDA is :func:`attack` with ``forward`` running the model with a straight-through quantizer and ``predict``
running it with the real one (see :func:`atspectrum.evaluation.evaluate.apgd_per_example`).
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from atspectrum import attacks
from atspectrum.specs import APGD_LOSSES

RHO = 0.75  # fraction of steps since the last checkpoint whose loss must have risen to keep the step size
ALPHA = 0.75  # momentum: weight of the new gradient step against the previous displacement
LOSSES = APGD_LOSSES  # cross-entropy and DLR (atspectrum.specs)


def checkpoints(steps: int) -> list[int]:
    """The iterations ``w_j = ⌈p_j·steps⌉`` (j ≥ 1, ``p_j ≤ 1``) at which step sizes are reconsidered.

    ``p_j`` is kept in hundredths, so that e.g. ``0.22·100`` is exactly 22 (no floating-point ceiling surprise).
    Duplicates (few steps) collapse.
    """
    out, prev, p = [], 0, 22
    while p <= 100:
        w = -(-p * int(steps) // 100)
        if 0 < w <= steps and (not out or w > out[-1]):
            out.append(w)
        prev, p = p, p + max(p - prev - 3, 6)
    return out


def ce_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example cross-entropy."""
    return F.cross_entropy(logits, y, reduction="none")


def _others_max(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    own = F.one_hot(y, logits.shape[1]).bool()
    return logits.masked_fill(own, float("-inf")).amax(1)


def margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``z_y − max_{i≠y} z_i`` per example: positive iff the example is classified correctly (ties aside)."""
    return logits.gather(1, y[:, None]).squeeze(1) - _others_max(logits, y)


def dlr_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-example difference-of-logits ratio ``−(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e−12)``, with ``π`` the
    logits sorted in decreasing order. Invariant to shifting and scaling the logits; needs three classes or more."""
    if logits.shape[1] < 3:
        raise ValueError(f"the DLR loss needs at least 3 classes, got {logits.shape[1]}")
    top = logits.topk(3, dim=1).values
    return -margin(logits, y) / (top[:, 0] - top[:, 2] + 1e-12)


LOSS_FNS: dict[str, Callable] = {"ce": ce_loss, "dlr": dlr_loss}


def _per_example(t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return t.view(-1, *([1] * (like.dim() - 1)))


def _loss_and_grad(model: nn.Module, forward: Callable, loss_fn: Callable, z: torch.Tensor, target: torch.Tensor):
    """Per-example losses at ``z``, their gradients and whether the model misclassifies ``z`` (all detached)."""
    z = z.clone().requires_grad_(True)
    logits = forward(model, z)
    values = loss_fn(logits, target)
    (grad,) = torch.autograd.grad(values.sum(), z)  # a sum: each example's gradient is its own
    return values.detach(), grad.detach(), logits.detach().argmax(1) != target


def _start_state(x, y, cur, f, grad, eps: float) -> dict:
    """The state of the examples still in the run (all of them, at ``cur``), filtered together whenever some are
    broken."""
    return {
        "idx": torch.arange(len(x), device=x.device),
        "y": y,
        "x": x,
        "cur": cur,
        "prev": cur,
        "grad": grad,
        "f": f,
        "best_x": cur,
        "best_f": f,
        "best_grad": grad,
        "eta": torch.full((len(x),), 2.0 * eps, dtype=x.dtype, device=x.device),
        "rises": torch.zeros(len(x), dtype=torch.long, device=x.device),
        "halved_last": torch.zeros(len(x), dtype=torch.bool, device=x.device),
        "best_f_last": f,
    }


def _drop(s: dict, out: torch.Tensor, broken: torch.Tensor) -> dict:
    """Writes the ``broken`` examples' current iterates into ``out``; returns the state of the others."""
    out[s["idx"][broken]] = s["cur"][broken]
    return {k: v[~broken] for k, v in s.items()}


def _step(s: dict, first: bool, alpha: float, loss_and_grad: Callable, eps: float, norm: str) -> torch.Tensor:
    """One iteration: moves ``s`` (in place) to the next iterate and tracks each example's best point; returns
    which examples the new iterate fools."""
    cur, prev, x = s["cur"], s["prev"], s["x"]
    z = attacks.project(cur + _per_example(s["eta"], cur) * attacks.ascent_direction(s["grad"], norm), x, eps, norm)
    new = z if first else attacks.project(cur + alpha * (z - cur) + (1 - alpha) * (cur - prev), x, eps, norm)
    f, grad, fooled = loss_and_grad(new, s["y"])
    s["rises"] += f > s["f"]
    better = f > s["best_f"]
    s |= {
        "prev": cur,
        "cur": new,
        "f": f,
        "grad": grad,
        "best_x": torch.where(_per_example(better, new), new, s["best_x"]),
        "best_grad": torch.where(_per_example(better, new), grad, s["best_grad"]),
        "best_f": torch.where(better, f, s["best_f"]),
    }
    return fooled


def _checkpoint(s: dict, since: int, rho: float) -> torch.Tensor:
    """At a checkpoint ``since`` steps after the last one: halves the step of the stalled or stuck examples and
    restarts them from their best point (in place in ``s``); returns which examples were halved."""
    stalled = s["rises"] < rho * since
    stuck = ~s["halved_last"] & (s["best_f"] == s["best_f_last"])
    halve = stalled | stuck
    h = _per_example(halve, s["cur"])
    s |= {
        "eta": torch.where(halve, s["eta"] / 2, s["eta"]),
        "cur": torch.where(h, s["best_x"], s["cur"]),  # "prev" kept: the momentum goes on
        "grad": torch.where(h, s["best_grad"], s["grad"]),
        "f": torch.where(halve, s["best_f"], s["f"]),
        "rises": torch.zeros_like(s["rises"]),
        "halved_last": halve,
        "best_f_last": s["best_f"],
    }
    return halve


def apgd(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    eps: float,
    steps: int = 100,
    loss: str = "ce",
    *,
    init: torch.Tensor | None = None,
    forward: Callable | None = None,
    rho: float = RHO,
    alpha: float = ALPHA,
    eval_mode: bool = True,
    allow_reduced_precision: bool = False,
    trace: list | None = None,
    norm: str = "linf",
) -> torch.Tensor:
    """One APGD run of ``steps`` iterations on the loss ``loss`` (``"ce"`` or ``"dlr"``) inside the ``norm`` ball
    (``"linf"`` or ``"l2"``) of radius ``eps`` (in [0, 1] pixel units) around ``x``, intersected with the [0, 1] box.

    ``init`` is the start (projected; default ``x`` itself); ``forward(model, x)`` replaces ``model(x)`` (e.g. a
    straight-through quantizer). Returns a detached batch: per example, the first iterate the model misclassifies,
    else the iterate of highest loss. ``steps + 1`` forward-backward passes at most (broken examples leave the run).
    ``trace`` (a list) receives one dict per checkpoint: ``step``, and for the examples still in the run their
    ``index`` in the batch, the step size ``eta`` in force after the checkpoint and whether it was ``halved``.
    """
    if loss not in LOSS_FNS:
        raise ValueError(f"unknown APGD loss {loss!r}; choose from {sorted(LOSS_FNS)}")
    attacks.check_norm(norm)
    if eps < 0 or steps < 0:
        raise ValueError(f"apgd needs eps, steps >= 0; got {eps}, {steps}")
    if not allow_reduced_precision:
        attacks.check_full_precision(model, x)
    loss_fn, forward = LOSS_FNS[loss], forward or (lambda m, inp: m(inp))
    x, y = x.detach(), y.detach()
    if eps == 0:
        return x.clone()
    loss_and_grad = functools.partial(_loss_and_grad, model, forward, loss_fn)
    cur = x.clone() if init is None else attacks.project(init.detach().to(x.dtype), x, eps, norm)
    out = cur.clone()
    marks = set(checkpoints(steps))
    with attacks.frozen(model, eval_mode), torch.enable_grad():
        f, grad, fooled = loss_and_grad(cur, y)
        s = _drop(_start_state(x, y, cur, f, grad, eps), out, fooled)
        last = 0
        for k in range(steps):
            if not len(s["idx"]):
                break
            s = _drop(s, out, _step(s, k == 0, alpha, loss_and_grad, eps, norm))
            if k + 1 in marks:
                halve = _checkpoint(s, k + 1 - last, rho)
                last = k + 1
                if trace is not None:
                    trace.append(
                        {"step": last, "index": s["idx"].clone(), "eta": s["eta"].clone(), "halved": halve.clone()}
                    )
        out[s["idx"]] = s["best_x"]
    return out.detach()


def run_seed(seed: int, loss: str, restart: int) -> int:
    """The start-point seed of one (loss, restart) run: independent streams, stable under adding restarts."""
    return int(np.random.SeedSequence([int(seed), LOSSES.index(loss), int(restart)]).generate_state(1)[0])


def _as_float(batch: torch.Tensor) -> torch.Tensor:
    return batch.float().div_(255) if batch.dtype == torch.uint8 else batch.float()


def _check_runs(losses: Sequence[str], restarts: int) -> None:
    if restarts < 1 or not losses:
        raise ValueError(f"APGD needs restarts >= 1 and at least one loss; got {restarts}, {list(losses)}")
    unknown = [name for name in losses if name not in LOSS_FNS]
    if unknown:
        raise ValueError(f"unknown APGD loss(es) {unknown}; choose from {sorted(LOSS_FNS)}")


def _judge(model: nn.Module, predict: Callable, batch: torch.Tensor, target: torch.Tensor):
    """``predict``'s labels for ``batch`` and its margins on ``target`` (on the CPU)."""
    with attacks.frozen(model), torch.no_grad():
        logits = predict(model, batch)
    return logits.argmax(1).cpu(), margin(logits, target).cpu()


def attack(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    eps: float,
    steps: int = 100,
    losses: Sequence[str] = LOSSES,
    restarts: int = 1,
    *,
    seed: int = 0,
    batch_size: int = 512,
    device: str | torch.device = "cpu",
    forward: Callable | None = None,
    predict: Callable | None = None,
    random_start: bool = True,
    norm: str = "linf",
) -> tuple[torch.Tensor, torch.Tensor]:
    """APGD with every loss in ``losses`` (in order) × ``restarts`` random starts on a test set; the per-example worst
    case over all runs.

    ``images`` are uint8 or float in [0, 1] (on the CPU); ``eps`` is in [0, 1] pixel units, the radius of the
    ``norm`` ball (``"linf"`` or ``"l2"``). ``forward(model, x)`` is
    what the attack differentiates, ``predict(model, x)`` what decides (default: ``forward``, else ``model(x)``).
    Each run attacks only the examples ``predict`` still classifies correctly, in batches of ``batch_size``; an
    example keeps the first adversarial example ``predict`` misclassifies, else the one with the lowest margin
    (the clean input when no run lowers it). Run ``(loss, r)`` starts at a random point of the ε-ball, seeded by
    :func:`run_seed` (``random_start=False``: from the clean input, so restarts repeat themselves).
    Returns the adversarial examples (float32, CPU) and ``predict``'s labels for them.
    """
    _check_runs(losses, restarts)
    attacks.check_norm(norm)
    device = torch.device(device)
    predict = predict or forward or (lambda m, inp: m(inp))
    x_all = _as_float(images.detach().cpu())
    labels = labels.detach().cpu()
    best = x_all.clone()
    pred = torch.empty(len(labels), dtype=torch.long)
    marg = torch.empty(len(labels), dtype=x_all.dtype)
    model = model.to(device)
    judge = functools.partial(_judge, model, predict)
    for start in range(0, len(labels), batch_size):
        chunk = slice(start, start + batch_size)
        pred[chunk], marg[chunk] = judge(x_all[chunk].to(device), labels[chunk].to(device))
    if eps == 0:
        return best, pred
    for loss in losses:
        for r in range(restarts):
            active = (pred == labels).nonzero().squeeze(1)
            if not len(active):
                return best, pred
            noise = attacks.start_noise(x_all.shape, run_seed(seed, loss, r), norm) if random_start else None
            for start in range(0, len(active), batch_size):
                rows = active[start : start + batch_size]
                x, y = x_all[rows].to(device), labels[rows].to(device)
                init = None if noise is None else (x + noise[rows].to(device) * eps).clamp_(0, 1)
                adv = apgd(model, x, y, eps, steps, loss, init=init, forward=forward, norm=norm)
                p, m = judge(adv, y)
                take = (p != labels[rows]) | (m < marg[rows])
                best[rows[take]], pred[rows[take]], marg[rows[take]] = adv.cpu()[take], p[take], m[take]
    return best, pred
