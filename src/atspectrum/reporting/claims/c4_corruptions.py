"""C4 corruptions (Section 6: smaller ε are better on common corruptions; accuracy falls beyond ε = 1 or 2):
:func:`corruptions` makes the claim's primary endpoint for one model from its per-example corruption results.

Each base test image is one cluster: its corrupted versions (every corruption × severity) are averaged first. The
small ε (:func:`small_eps`); premise: it beats ε = 0 (interval above 0). The endpoint: the small ε's average
corruption accuracy minus each larger ε's, paired by seed and image; it holds where every comparison holds
(intersection–union) and does not hold where any comparison lies below 0 or inside ±Δ. Beside it: each comparison
and the final pre-activation mean moving towards zero (Kendall's τ of |mean| against ε > 0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atspectrum import inference as inf
from atspectrum.strengths import strength

from .design import Endpoint, detail
from .trend import kendall

ENDPOINT = "average corruption accuracy of the small eps minus each larger eps (the smallest shown)"


def small_eps(eps, limit: int = 2) -> int | None:
    """The largest ε > 0 of the grid at most ``limit``, else the smallest ε > 0 (None without an ε > 0)."""
    nonzero = sorted(e for e in eps if e > 0)
    if not nonzero:
        return None
    return max([e for e in nonzero if e <= limit] or nonzero[:1])


def per_image(frame) -> pd.Series:
    """Points per base test image (by index): its corrupted versions' mean correctness (clean rows left out)."""
    f = frame[frame["corruption"] != "clean"]
    return 100.0 * f.groupby("index")["correct"].mean().sort_index()


def corruptions(frames: dict, preact, settings, model: str = "", figures=()) -> tuple[Endpoint, list]:
    """C4 from per-example corruption frames keyed (seed, ε) and ``tables/preact_<model>.csv`` (or None)."""
    kw = {"figures": list(figures)}
    seeds = sorted({s for s, _ in frames})
    eps = sorted({e for _, e in frames})
    small = small_eps(eps, settings.small_eps)
    larger = [e for e in eps if small is not None and e > small]
    if not larger:
        why = "fewer than two eps > 0 models"
        return Endpoint.undecided("C4", model, ENDPOINT, inf.NOT_RUN, why, **kw), []
    images = {k: per_image(f) for k, f in frames.items()}
    first = next(iter(images.values())).index
    if any(not v.index.equals(first) for v in images.values()):
        raise ValueError(f"corruption results of {model} cover different test images across eps or seeds")
    acc = {e: np.vstack([images[(s, e)].to_numpy(dtype=float) for s in seeds]) for e in eps}
    names = [f"eps {small} minus eps {e}" for e in larger]
    data = [acc[small] - acc[e] for e in larger]
    if 0 in acc:
        names.append(f"premise: eps {small} minus eps 0")
        data.append(acc[small] - acc[0])
    ests = dict(zip(names, inf.crossed(data)))
    curve = ", ".join(f"eps {e}: {a.mean():.2f}%" for e, a in acc.items())
    premise, ok = "not checked: no eps = 0 model", True
    if 0 in acc:
        p = ests[names[-1]]
        lo, hi = p.interval()
        ok = lo > 0
        premise = f"eps {small} beats eps 0 by {p.effect:+.2f} [{lo:+.2f}, {hi:+.2f}] points"
    details = [detail("C4", model, n, e, curve) for n, e in ests.items()]
    details.append(_preact(preact, seeds, settings, model))
    if not ok:
        return Endpoint.undecided("C4", model, ENDPOINT, inf.NOT_APPLICABLE, curve, premise=premise, **kw), details
    comparisons = [ests[n] for n in names if not n.startswith("premise")]
    margin = settings.margin["C4"]
    pvalues = inf.all_of([inf.pvalues(e, margin) for e in comparisons])
    shown = min(comparisons, key=lambda e: e.effect)
    return Endpoint("C4", model, ENDPOINT, shown, pvalues, margin, premise=premise, numbers=curve, **kw), details


def _preact(preact, seeds, settings, model: str) -> dict:
    """Beside the claim: Kendall's τ of |final pre-activation mean| (the paper code's statistic) against ε > 0."""
    part = "final pre-activation mean moves towards zero as eps grows (Kendall tau of abs(mean))"
    if preact is None:
        return detail("C4", model, part, None, "no pre-activation table")
    p = preact[preact["eps"] > 0]
    p = p.assign(seed=p["seed"] if "seed" in p.columns else 0)
    eps = sorted(strength(e) for e in p["eps"].unique())
    table = p.pivot_table(index="seed", columns="eps", values="code_mean").loc[seeds, eps].abs().to_numpy()
    tau = lambda y: float(np.nan_to_num(kendall(eps, y)[0]))  # noqa: E731
    est = inf.seed_bootstrap(table, tau, settings.resamples, inf.rng(settings.seed, f"C4 preact {model}"))
    t, pv = kendall(eps, table.mean(axis=0))
    words = ", ".join(f"eps {e}: {v:.3g}" for e, v in zip(eps, table.mean(axis=0)))
    return detail("C4", model, part, est, f"{words}; tau {t:.2f}, exact p {pv:.2g}")
