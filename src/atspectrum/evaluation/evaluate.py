"""Per-example evaluation of a model under an attack: which test examples stay correctly classified.

PGD against the plain model, BPDA (PGD through a straight-through quantizer, verdict by the real one), APGD-BPDA
(APGD with cross-entropy and DLR through the straight-through quantizer, verdict by the real one) and transfer (fixed
adversarial examples classified by a quantized model) all produce the same per-example frame; :func:`worst_case`
combines the frames of several attacks on one cell, example by example.

Random starts are drawn once for the whole test set from a seeded CPU generator, so results do not depend on the
batch size (a performance knob, not a parameter of the experiment).

An attack is a value: a :class:`~atspectrum.specs.PGDSpec` or :class:`~atspectrum.specs.APGDSpec` built from its
config section and passed whole, with the cell's δ beside it; a quantization point is a
:class:`~atspectrum.attacks.quantize.Quantizer` (layer, β, straight-through or real).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from atspectrum import attacks
from atspectrum.attacks import apgd, extra
from atspectrum.attacks.quantize import check_quantizer
from atspectrum.evaluation.frames import FrameMismatchError, read_cell, worst_case  # noqa: F401 (this module's surface)
from atspectrum.specs import APGDSpec, PGDSpec, accuracy  # noqa: F401 (accuracy: part of this module's surface)


def _frame(pred: torch.Tensor, labels: torch.Tensor) -> pd.DataFrame:
    pred = pred.numpy().astype(np.int64)
    label = labels.numpy().astype(np.int64)
    return pd.DataFrame(
        {"index": np.arange(len(label), dtype=np.int64), "label": label, "pred": pred, "correct": pred == label}
    )


def _as_float(batch: torch.Tensor, device: torch.device) -> torch.Tensor:
    batch = batch.to(device)
    return batch.float().div_(255) if batch.dtype == torch.uint8 else batch.float()


def _attack_setup(model: nn.Module, spec, kind: type, device, attack_quantize, eval_quantize):
    """What an attack checks before any work (``spec`` is a ``kind``; both quantizers' β), then the model in eval mode
    on ``device``, the device, and the forward the attack differentiates (through ``attack_quantize`` when given)."""
    if not isinstance(spec, kind):
        article = "an" if kind.__name__[0] in "AEIOU" else "a"
        raise TypeError(f"spec must be {article} {kind.__name__}, got {type(spec).__name__}")
    for q in (attack_quantize, eval_quantize):
        check_quantizer(q)
    device = torch.device(device)
    forward = (lambda m, inp: m(inp, quantize=attack_quantize)) if attack_quantize else None
    return model.to(device).eval(), device, forward


def attack_per_example(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    delta: float,
    spec: PGDSpec,
    *,
    batch_size: int = 512,
    seed: int = 0,
    device: str | torch.device = "cpu",
    attack_quantize=None,
    eval_quantize=None,
    keep_adv: bool = False,
    norm: str = "linf",
) -> tuple[pd.DataFrame, torch.Tensor | None]:
    """PGD_δ as ``spec`` says on ``images`` (uint8, or float in [0, 1]); one row per example: ``index``, ``label``,
    ``pred``, ``correct``. The attack differentiates ``model(x, quantize=attack_quantize)``; the examples are
    classified by ``model(x, quantize=eval_quantize)`` (BPDA: a straight-through quantizer for the attack, the real
    one for the verdict). ``delta`` is the strength in the units of ``norm`` (0 → clean accuracy): 1/255 units for
    ``"linf"``, an L2 radius in [0, 1] pixel space for ``"l2"`` (:func:`atspectrum.attacks.norms.budget`); the step
    is ``spec.step_factor`` times that budget. With ``keep_adv`` the adversarial examples come back too (float32, on
    the CPU).
    """
    model, device, attack_fwd = _attack_setup(model, spec, PGDSpec, device, attack_quantize, eval_quantize)
    eps = attacks.budget(delta, norm)
    noise = attacks.start_noise(images.shape, seed, norm) if spec.random_start and eps > 0 else None
    preds, advs = [], []
    for start in range(0, len(labels), batch_size):
        x = _as_float(images[start : start + batch_size], device)
        y = labels[start : start + batch_size].to(device)
        init = None
        if noise is not None:
            init = (x + noise[start : start + batch_size].to(device) * eps).clamp_(0, 1)
        x_adv = attacks.pgd(
            model,
            x,
            y,
            eps,
            spec.steps,
            spec.step_factor * eps,
            random_start=False,
            init=init,
            forward=attack_fwd,
            norm=norm,
        )
        with torch.no_grad():
            logits = model(x_adv) if eval_quantize is None else model(x_adv, quantize=eval_quantize)
            preds.append(logits.argmax(1).cpu())
        if keep_adv:
            advs.append(x_adv.cpu())
    pred = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)
    adv = (torch.cat(advs) if advs else torch.zeros((0, *images.shape[1:]))) if keep_adv else None
    return _frame(pred, labels), adv


def pgd_per_example(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    delta: float,
    spec: PGDSpec,
    *,
    batch_size: int = 512,
    seed: int = 0,
    device: str | torch.device = "cpu",
    norm: str = "linf",
) -> pd.DataFrame:
    """PGD_δ against the plain model (see :func:`attack_per_example`; ``delta`` in the units of ``norm``)."""
    kw = dict(batch_size=batch_size, seed=seed, device=device, norm=norm)
    return attack_per_example(model, images, labels, delta, spec, **kw)[0]


def classify_per_example(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    quantize=None,
    batch_size: int = 512,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """Predictions of ``model(x, quantize=quantize)`` on fixed inputs (uint8 or float): the transfer verdict."""
    check_quantizer(quantize)
    device = torch.device(device)
    model = model.to(device).eval()
    preds = []
    with torch.no_grad():
        for start in range(0, len(labels), batch_size):
            preds.append(
                model(_as_float(images[start : start + batch_size], device), quantize=quantize).argmax(1).cpu()
            )
    return _frame(torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long), labels)


def extra_per_example(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    delta: int | float,
    name: str,
    settings: dict,
    *,
    batch_size: int = 512,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """An attack of the user's (``eval.extra_attacks.<name>``, ``settings`` its ``target`` and ``kwargs``) at δ
    (1/255 units for an L∞ model, an L2 radius for an L2 one: :mod:`atspectrum.strengths`) against the plain model;
    same frame as :func:`attack_per_example`. The attack is built once, ``Class(model, eps=<δ's budget>,
    **kwargs)``; before each batch's call torch's global RNG (which torchattacks' random starts draw from) is seeded
    from (``seed``, δ, the batch's first example), so a rerun gives the same numbers at the same batch size. Every
    adversarial batch must pass :func:`~atspectrum.attacks.extra.check_budget` before it is classified: an attack
    that leaves its budget raises :class:`~atspectrum.attacks.extra.BudgetError`."""
    model, device = model.to(torch.device(device)).eval(), torch.device(device)
    attack = extra.build(settings["target"], model, delta, settings["kwargs"])
    preds = []
    for start in range(0, len(labels), batch_size):
        x = _as_float(images[start : start + batch_size], device)
        y = labels[start : start + batch_size].to(device)
        torch.manual_seed(extra.batch_seed(seed, delta, start))
        with attacks.frozen(model):
            x_adv = extra.check_budget(name, x, attack(x, y), delta)
        with torch.no_grad():
            preds.append(model.eval()(x_adv).argmax(1).cpu())
    return _frame(torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long), labels)


def apgd_per_example(
    model: nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    delta: float,
    spec: APGDSpec = APGDSpec(),
    *,
    batch_size: int = 512,
    seed: int = 0,
    device: str | torch.device = "cpu",
    attack_quantize=None,
    eval_quantize=None,
    keep_adv: bool = False,
    norm: str = "linf",
) -> tuple[pd.DataFrame, torch.Tensor | None]:
    """APGD_δ as ``spec`` says (every loss × restart, per-example worst case; see
    :func:`atspectrum.attacks.apgd.attack`). The attack differentiates ``model(x, quantize=attack_quantize)``, the
    verdict is ``model(x, quantize=eval_quantize)`` (APGD-BPDA: straight-through for the attack, the real quantizer for
    the verdict). Same frame as :func:`attack_per_example`; ``delta`` in the units of ``norm`` (1/255 for ``"linf"``,
    an L2 radius in [0, 1] pixel space for ``"l2"``)."""
    model, device, fwd = _attack_setup(model, spec, APGDSpec, device, attack_quantize, eval_quantize)
    verdict = lambda m, inp: m(inp) if eval_quantize is None else m(inp, quantize=eval_quantize)  # noqa: E731
    adv, pred = apgd.attack(
        model,
        images,
        labels,
        attacks.budget(delta, norm),
        spec.steps,
        spec.losses,
        spec.restarts,
        seed=seed,
        batch_size=batch_size,
        device=device,
        forward=fwd,
        predict=verdict,
        norm=norm,
    )
    return _frame(pred, labels.cpu()), (adv if keep_adv else None)
