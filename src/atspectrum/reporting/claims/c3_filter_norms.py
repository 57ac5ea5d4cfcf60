"""C3 filter norms (Section 5: the first two layers' filter norms are much larger than every other layer's, in both
architectures): :func:`filter_norms` makes the claim's primary endpoint for one model from its filter-norm table.

The endpoint: the log ratio of the smaller of layers 1 and 2's mean filter norm (mean over a layer's 3×3 kernels of
max|w|: Figure 2's statistic) to the largest other layer's, averaged over the ε > 0 models of a seed, then over the
seeds (the seeds replicate; one seed gives no interval), shown as a percentage above 1. A claim "by at least" the
margin. Beside it (ResNet-18, the paper's
Appendix D): the trend of layers 1 and 2's max norm against ε > 0, Kendall's τ of the seed-averaged curve.
"""

from __future__ import annotations

import math

import numpy as np

from atspectrum import inference as inf
from atspectrum.strengths import strength

from .design import Endpoint, detail
from .trend import kendall

ENDPOINT = "% by which layers 1-2's mean filter norm exceeds every other layer's (geometric mean over eps > 0)"


def percent(log_ratio: float) -> float:
    """A mean log ratio as the percentage by which the ratio exceeds 1."""
    return 100.0 * math.expm1(log_ratio)


def _per_seed(frame, seeds, eps, stat):
    """seeds × ε: ``stat(first, rest)`` of each (seed, ε)'s layers 1-2 and later layers."""
    out = np.empty((len(seeds), len(eps)))
    for i, s in enumerate(seeds):
        for j, e in enumerate(eps):
            f = frame[(frame["seed"] == s) & (frame["eps"] == e)]
            out[i, j] = stat(f[f["index"].isin([1, 2])], f[f["index"] > 2])
    return out


def filter_norms(frame, arch: str, settings, model: str = "", figures=()) -> tuple[Endpoint, list]:
    """C3 from ``tables/filter_norms_<model>.csv`` (columns ``eps``, ``kind``, ``index``, ``mean``, ``max``, and
    ``seed`` with several seeds)."""
    for col in ("eps", "kind", "index", "mean", "max"):
        if col not in frame.columns:
            raise ValueError(f"filter-norm table lacks the column {col!r}")
    f = frame[(frame["kind"] != "1x1") & (frame["eps"] > 0)].dropna(subset=["index"])
    f = f.assign(seed=f["seed"] if "seed" in f.columns else 0)
    seeds, eps = sorted(f["seed"].unique()), sorted(strength(e) for e in f["eps"].unique())
    kw = {"figures": list(figures)}
    if not eps or f[f["index"] > 2].empty or f[f["index"].isin([1, 2])]["index"].nunique() < 2:
        why = "no eps > 0 model or fewer than three conv layers"
        return Endpoint.undecided("C3", model, ENDPOINT, inf.NOT_RUN, why, **kw), []
    ratio = _per_seed(f, seeds, eps, lambda a, b: math.log(a["mean"].min() / b["mean"].max()))
    est = inf.seeds_only(ratio.mean(axis=1))  # each seed's mean over its eps models: the seeds replicate
    margin = math.log1p(settings.margin["C3"] / 100.0)
    numbers = "; ".join(f"eps {e}: {percent(v):+.0f}%" for e, v in zip(eps, ratio.mean(axis=0)))
    details = []
    if arch == "resnet18":
        top = _per_seed(f, seeds, eps, lambda a, b: a["max"].mean())
        gen = inf.rng(settings.seed, f"C3 {model}")
        trend = inf.seed_bootstrap(top, lambda y: float(np.nan_to_num(kendall(eps, y)[0])), settings.resamples, gen)
        tau, p = kendall(eps, top.mean(axis=0))
        curve = ", ".join(f"{v:.3g}" for v in top.mean(axis=0))
        words = f"Kendall tau of the seed-averaged curve {curve} against eps {eps}: {tau:.2f} (exact p {p:.2g})"
        details.append(detail("C3", model, "layers 1-2's max norm rises with eps (Kendall tau)", trend, words))
    endpoint = Endpoint(
        "C3",
        model,
        ENDPOINT,
        est,
        inf.pvalues(est, margin, at_least=True),
        margin,
        True,
        numbers=numbers,
        unit="%",
        show=percent,
        **kw,
    )
    return endpoint, details
