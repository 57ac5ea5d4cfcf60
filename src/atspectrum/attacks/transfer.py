"""Cached transfer examples: PGD_δ against the unquantized model, stored once in full precision (float32, no 8-bit
rounding) and reused by every (layer, β) evaluation. Loading checks that they still match the test set and budget.

δ is in the units of the threat model (``norm``): 1/255 for L∞, an L2 radius in [0, 1] pixel space for L2. An
integer δ is stored as an int64 and a fractional one as a float64; the norm is stored only when it is not L∞, so
files (and keys) written before L2 existed read as L∞ and stay valid."""

from __future__ import annotations

import math
import os

import numpy as np
import torch

from atspectrum import attacks
from atspectrum.runtime.io import atomic_path

BUDGET_TOLERANCE = attacks.ROUNDING  # per pixel (atspectrum.attacks.norms.rounding_slack)


class TransferError(RuntimeError):
    """Cached transfer examples that are unreadable or do not fit their test set or budget."""


def _delta_value(delta: float) -> int | float:
    """δ as stored and keyed: an ``int`` when it is a whole number (as δ always was), else a ``float``."""
    return int(delta) if float(delta).is_integer() else float(delta)


def save(
    path: str | os.PathLike, adv: torch.Tensor, labels: torch.Tensor, delta: float, key: str = "", norm: str = "linf"
) -> None:
    """Store the examples atomically; ``key`` is the key of the computation that made them (a PGD unit's cell key),
    so a rerun can tell whether they are still current (:func:`stored_key`). ``delta`` is in the units of ``norm``."""
    value = _delta_value(delta)
    extra = {} if attacks.check_norm(norm) == "linf" else {"norm": np.str_(norm)}
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            adv=adv.detach().cpu().to(torch.float32).numpy(),
            labels=labels.cpu().numpy(),
            delta=np.int64(value) if isinstance(value, int) else np.float64(value),
            key=np.str_(key),
            **extra,
        )


def examples_key(
    model_digest: str, test_digest: str, settings: dict, seed: int, delta: float, norm: str = "linf"
) -> str:
    """The key of transfer examples made by their own job (``transfer_examples``): the model's and the test split's
    contents, the attack's settings, the seed of its random starts, δ and the norm (only when it is not L∞: L∞ keys
    are those from before L2 existed). A PGD unit's examples carry their PGD cell's key instead (its manifest records
    it)."""
    import hashlib
    import json

    payload = {"examples": "transfer", "model": model_digest, "test": test_digest, "settings": settings}
    payload |= {"seed": int(seed), "delta": _delta_value(delta)}
    payload |= {} if attacks.check_norm(norm) == "linf" else {"norm": norm}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def stored_key(path: str | os.PathLike) -> str | None:
    """The key stored with transfer examples; None for a missing or unreadable file, or one without a key."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return str(z["key"]) if "key" in z.files else None
    except Exception:
        return None


def load(
    path: str | os.PathLike,
    images: torch.Tensor,
    labels: torch.Tensor,
    delta: float,
    device: str | torch.device = "cpu",
    key: str | None = None,
    norm: str = "linf",
) -> torch.Tensor:
    """The stored adversarial examples on ``device``, after checking them against the clean uint8 ``images``, the
    norm and ``delta`` (in the units of ``norm``; compared with a float tolerance) and that every example lies in its
    ``norm`` ball (:func:`atspectrum.attacks.norms.distance`; the check runs on ``device`` too: one bulk copy, no
    per-batch transfers later) and, when ``key`` is given, that they were made by that computation (the key stored
    with them)."""
    path = os.fspath(path)
    attacks.check_norm(norm)
    try:
        with np.load(path, allow_pickle=False) as z:
            adv, stored_labels, stored_delta = z["adv"], z["labels"], z["delta"].item()
            stored_key = str(z["key"]) if "key" in z.files else None
            stored_norm = str(z["norm"]) if "norm" in z.files else "linf"
    except Exception as exc:
        raise TransferError(
            f"transfer examples {path} are unreadable ({type(exc).__name__}: {exc}); a plain rerun of snakemake "
            f"recomputes them (or delete the file and rerun)"
        ) from exc
    if key is not None and stored_key and stored_key != key:  # no stored key: written before keys, unchecked
        raise TransferError(
            f"transfer examples {path} hold key {stored_key} but the computation that should have made them has key "
            f"{key} (copied over, or made by another attack); a plain rerun of snakemake recomputes them"
        )
    if adv.dtype != np.float32 or adv.shape != tuple(images.shape):
        raise TransferError(
            f"transfer examples {path}: expected float32 {tuple(images.shape)}, found {adv.dtype} {adv.shape}"
        )
    same_delta = math.isclose(float(stored_delta), float(delta), rel_tol=1e-9, abs_tol=1e-12)
    if stored_norm != norm or not same_delta or not np.array_equal(stored_labels, labels.numpy()):
        raise TransferError(
            f"transfer examples {path} were made for another test set or delta, or another norm (delta "
            f"{stored_delta}, norm {stored_norm}; expected delta {delta}, norm {norm})"
        )
    adv = torch.from_numpy(adv).to(device)
    if len(adv):
        _check_budget(path, adv, images.to(device).float().div_(255), delta, norm)
    return adv


def _check_budget(path: str, adv: torch.Tensor, clean: torch.Tensor, delta: float, norm: str) -> None:
    """A TransferError unless every example lies within ``delta`` of its clean image in ``norm`` (up to float32
    rounding: :func:`~atspectrum.attacks.norms.rounding_slack`) and in [0, 1]; the message gives the distance in δ's
    units."""
    dist = attacks.distance(adv, clean, norm).max().item()
    tolerance = attacks.rounding_slack(clean, norm)
    low, high = adv.aminmax()
    if dist > attacks.budget(delta, norm) + tolerance or low.item() < 0 or high.item() > 1:
        shown = f"max |x_adv - x| = {dist * 255:.4f}/255 > delta {delta}/255"
        if norm == "l2":
            shown = f"max ||x_adv - x||_2 = {dist:.6g} > delta {delta}"
        raise TransferError(f"transfer examples {path} leave their budget: {shown}, or values outside [0, 1]")
