"""Cached transfer examples: PGD_δ against the unquantized model, stored once in full precision (float32, no 8-bit
rounding) and reused by every (layer, β) evaluation. Loading checks that they still match the test set and budget."""

from __future__ import annotations

import os

import numpy as np
import torch

from atspectrum import attacks
from atspectrum.runtime.io import atomic_path

BUDGET_TOLERANCE = 1e-6  # float32 rounding of x ± δ/255


class TransferError(RuntimeError):
    """Cached transfer examples that are unreadable or do not fit their test set or budget."""


def save(path: str | os.PathLike, adv: torch.Tensor, labels: torch.Tensor, delta: int, key: str = "") -> None:
    """Store the examples atomically; ``key`` is the key of the computation that made them (a PGD unit's cell key),
    so a rerun can tell whether they are still current (:func:`stored_key`)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(
            fh,
            adv=adv.detach().cpu().to(torch.float32).numpy(),
            labels=labels.cpu().numpy(),
            delta=np.int64(delta),
            key=np.str_(key),
        )


def examples_key(model_digest: str, test_digest: str, settings: dict, seed: int, delta: int) -> str:
    """The key of transfer examples made by their own job (``transfer_examples``): the model's and the test split's
    contents, the attack's settings, the seed of its random starts and δ. A PGD unit's examples carry their PGD
    cell's key instead (its manifest records it)."""
    import hashlib
    import json

    payload = {"examples": "transfer", "model": model_digest, "test": test_digest, "settings": settings}
    payload |= {"seed": int(seed), "delta": int(delta)}
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
    delta: int,
    device: str | torch.device = "cpu",
    key: str | None = None,
) -> torch.Tensor:
    """The stored adversarial examples on ``device``, after checking them against the clean uint8 ``images`` and
    ``delta`` (the check runs on ``device`` too: one bulk copy, no per-batch transfers later) and, when ``key`` is
    given, that they were made by that computation (the key stored with them)."""
    path = os.fspath(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            adv, stored_labels, stored_delta = z["adv"], z["labels"], int(z["delta"])
            stored_key = str(z["key"]) if "key" in z.files else None
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
    if stored_delta != int(delta) or not np.array_equal(stored_labels, labels.numpy()):
        raise TransferError(
            f"transfer examples {path} were made for another test set or delta (delta {stored_delta}, expected {delta})"
        )
    adv = torch.from_numpy(adv).to(device)
    if len(adv):
        dist = (adv - images.to(device).float().div_(255)).abs_().amax().item()
        low, high = adv.aminmax()
        if dist > attacks.pixels(delta) + BUDGET_TOLERANCE or low.item() < 0 or high.item() > 1:
            raise TransferError(
                f"transfer examples {path} leave their budget: max |x_adv - x| = "
                f"{dist * 255:.4f}/255 > delta {delta}/255, or values outside [0, 1]"
            )
    return adv
