"""C2 quantization (Section 4: quantizing the features after the first layer (ResNet-18) / the second (WRN-28-10)
improves accuracy on seen and unseen adaptive attacks): :func:`quantization` makes the claim's primary endpoint for
one model.

The point by name (``claims.quant_point``), at the claims' β; cells ε > 0, δ > 0. Per attack the mean paired gain
(quantized − unquantized, per seed and test image) over the cells; the claim names transfer PGD and BPDA
(:data:`CLAIMED`) and holds only where it holds under both (:func:`atspectrum.inference.all_of`). Premise: the
quantized model's clean accuracy within ``claims.premise.clean_drop`` of the unquantized one's. Beside it: per attack,
seen (ε ≥ δ) and unseen (ε < δ) cells, and every other evaluated attack.
"""

from __future__ import annotations

import numpy as np

from atspectrum import inference as inf
from atspectrum.planning import NONE

from .design import Endpoint, detail, paired

CLAIMED = ("transfer", "bpda")
ENDPOINT = "mean paired gain of quantization over the (eps > 0, delta > 0) cells, under transfer PGD and BPDA"


def _gain(cells: dict, attack: str, seeds, keep, point: str) -> np.ndarray | None:
    """Seeds × images: the mean over the kept (ε, δ) cells of quantized minus unquantized correctness."""
    keys = sorted({(e, d) for (a, _, e, d, _) in cells if a == attack and keep(e, d)})
    if not keys:
        return None
    diffs = [
        paired([cells[(attack, s, e, d, point)] for s in seeds], [cells[(attack, s, e, d, NONE)] for s in seeds])
        for e, d in keys
    ]
    return sum(diffs) / len(diffs)


def premise_words(clean: dict | None, seeds, point: str, limit: float) -> tuple[bool, str]:
    """Is the premise there (clean accuracy kept)? From the clean cells ``clean`` (ε, seed, layer) → frame."""
    if not clean:
        return True, "not checked: no clean cells (quantization.clean is off)"
    eps = sorted({e for e, _, _ in clean if e > 0})
    drop = {
        e: float(
            np.mean([clean[(e, s, NONE)]["correct"].mean() - clean[(e, s, point)]["correct"].mean() for s in seeds])
        )
        * 100
        for e in eps
    }
    mean = float(np.mean(list(drop.values())))
    words = f"clean accuracy lost by quantizing: {mean:.2f} points on average (limit {limit:g}); " + ", ".join(
        f"eps {e}: {v:.2f}" for e, v in drop.items()
    )
    return mean <= limit, words


def quantization(cells: dict, clean: dict | None, point: str | None, beta, settings, model: str = "", figures=()):
    """C2 from per-example frames ``cells`` keyed (attack, seed, ε, δ, layer) (``none`` and ``point``, δ > 0) and the
    clean ones (``clean``: (ε, seed, layer)). Returns the endpoint and the details."""
    kw = {"figures": list(figures)}
    seeds = sorted({k[1] for k in cells})
    attacks = sorted({k[0] for k in cells})
    claimed = [a for a in CLAIMED if a in attacks]
    if point is None or not claimed:
        why = "no quantization point named by claims.quant_point" if point is None else "no transfer or BPDA"
        return Endpoint.undecided("C2", model, ENDPOINT, inf.NOT_RUN, why, **kw), []
    ok, premise = premise_words(clean, seeds, point, settings.clean_drop)
    where = f"after {point} at beta {beta:g}"
    if not ok:
        return Endpoint.undecided("C2", model, ENDPOINT, inf.NOT_APPLICABLE, where, premise=premise, **kw), []
    parts = {"all": lambda e, d: e > 0 and d > 0, "seen": lambda e, d: 0 < d <= e, "unseen": lambda e, d: e < d}
    names, data = [], []
    for a in attacks:
        for part, keep in parts.items():
            g = _gain(cells, a, seeds, keep, point)
            if g is not None:
                names.append((a, part))
                data.append(g)
    ests = dict(zip(names, inf.crossed(data)))
    margin = settings.margin["C2"]
    mine = [ests[(a, "all")] for a in claimed]
    shown = min(mine, key=lambda e: e.effect)
    details = [detail("C2", model, f"{a}: {part} cells", e, where) for (a, part), e in ests.items()]
    numbers = f"{where}; " + "; ".join(f"{a}: {ests[(a, 'all')].effect:+.2f}" for a in claimed)
    pvalues = inf.all_of([inf.pvalues(e, margin) for e in mine])
    return Endpoint("C2", model, ENDPOINT, shown, pvalues, margin, premise=premise, numbers=numbers, **kw), details
