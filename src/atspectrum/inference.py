"""Replicated verdicts (docs/statistics.md, "The claims: a design per claim"): the effect of a mean over training
seeds × test images with its interval and p-values, the four outcomes, Holm over a family of primary endpoints, and
how many seeds would decide an inconclusive one.

An endpoint is a mean of a matrix ``D[s, i]`` (seeds × clusters: test images, or base images of a corruption set),
the two factors crossed (every seed sees every image). :func:`crossed` gives its variance as the hierarchical
bootstrap of seeds and images would, without that bootstrap's bias, from the design's mean squares; :func:`seeds_only`
a statistic with one value per seed; :func:`seed_bootstrap` a non-linear one (a trend) resampled over the seeds, with
a fixed, seeded number of resamples; :func:`normal` the same kind of :class:`Estimate` from a normal approximation
(the paper's tables, which have no per-image results). :func:`pvalues` turns an estimate into the p-values of
*holds* / *opposite* / *equivalent*, :func:`all_of` joins several (intersection–union), and :func:`decide` makes the
outcomes of a family, Holm-corrected.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import t as _t

from atspectrum.stats import holm

HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
NOT_APPLICABLE, NOT_RUN, NOT_AVAILABLE = "not applicable", "not run", "not available"
OPPOSITE, EQUIVALENT = "opposite", "equivalent"  # the two ways a claim does not hold
BELOW_MARGIN = "below the margin"  # how a claim "by at least the margin" does not hold


def rng(seed: int, key: str) -> np.random.Generator:
    """The generator of one endpoint's resamples: the config's seed and the endpoint's name (stable across runs and
    Python versions: CRC-32, not ``hash``)."""
    return np.random.default_rng([int(seed), zlib.crc32(key.encode())])


@dataclass(frozen=True)
class Estimate:
    """An endpoint's effect, its standard error and degrees of freedom (the interval and p-values are t-based), the
    number of seeds and clusters behind it and its variance components per unit (σ²_seed, σ²_cluster, σ²_residual:
    :func:`seeds_needed` projects from them); ``samples`` holds resampled values where a bootstrap made it."""

    effect: float
    se: float
    df: float
    n_seeds: int
    n_clusters: int = 1
    components: tuple = (0.0, 0.0, 0.0)
    samples: np.ndarray | None = field(default=None, repr=False, compare=False)
    bounds: tuple = (-math.inf, math.inf)  # the statistic's range (Kendall's tau: [-1, 1]); the interval stays in it

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The t interval, within :attr:`bounds` (NaN where no variance was observed: one seed of a statistic without
        test images)."""
        if not self.se > 0:
            return math.nan, math.nan
        half = float(_t.ppf((1 + level) / 2, self.df)) * self.se
        low, high = self.bounds
        return max(self.effect - half, low), min(self.effect + half, high)

    def _tail(self, below: bool, bound: float) -> float:
        """Two-sided p of the effect lying above ``bound`` (``below``: of its lying below it)."""
        if not self.se > 0:  # no variance observed (one seed of a weight statistic): nothing can be decided
            return 1.0
        z = (self.effect - bound) / self.se
        return min(1.0, 2.0 * float(_t.sf(z if below else -z, self.df)))


def _satterthwaite(terms) -> float:
    """Degrees of freedom of a sum of (variance, its df) terms."""
    total = sum(v for v, _ in terms)
    denom = sum(v * v / df for v, df in terms if df > 0 and v > 0)
    return total * total / denom if denom > 0 else math.inf


def crossed(data) -> list[Estimate]:
    """The mean of each ``data[k]`` (seeds × clusters: every seed evaluated on the same test images, so the two
    factors are crossed) with the variance of a two-way random-effects design from its mean squares,
    var = (MS_seed + MS_cluster) / (S·N), and Welch–Satterthwaite degrees of freedom. This counts the seed × image
    interaction twice (the hierarchical, "pigeonhole", bootstrap of seeds and images counts it three times: on
    per-image 0/1 results about three times the variance); the unbiased MS_seed + MS_cluster − MS_residual was
    anti-conservative with 3 seeds (tests/test_inference.py). One seed: the clusters' variance alone (the seeds' is
    unknown)."""
    data = np.asarray(data, dtype=float)
    if data.ndim == 2:
        data = data[None]
    _, s, n = data.shape
    if s < 1 or n < 2:
        raise ValueError(f"an endpoint needs at least one seed and two clusters, got {s} x {n}")
    if not np.isfinite(data).all():
        raise ValueError("an endpoint's per-example values contain NaN or infinity")
    out = []
    for d in data:
        grand = d.mean()
        rows, cols = d.mean(axis=1) - grand, d.mean(axis=0) - grand
        ms_c = s * float(np.sum(cols**2)) / (n - 1)
        if s == 1:
            var, df, comps = ms_c / n, n - 1.0, (0.0, ms_c, 0.0)
        else:
            ms_s = n * float(np.sum(rows**2)) / (s - 1)
            resid = d - grand - rows[:, None] - cols[None, :]
            ms_e = float(np.sum(resid**2)) / ((s - 1) * (n - 1))
            var = (ms_s + ms_c) / (s * n)
            df = _satterthwaite([(ms_s, s - 1), (ms_c, n - 1)]) if var > 0 else math.inf
            comps = (max(ms_s - ms_e, 0.0) / n, max(ms_c - ms_e, 0.0) / s, ms_e)
        out.append(Estimate(float(grand), math.sqrt(var), df, s, n, comps))
    return out


def seeds_only(values) -> Estimate:
    """The mean of one value per seed (a statistic without test images, e.g. of the weights), its standard error
    over the seeds, S − 1 degrees of freedom; one seed: no interval."""
    v = np.asarray(values, dtype=float).ravel()
    if not np.isfinite(v).all():
        raise ValueError("an endpoint's per-seed values contain NaN or infinity")
    var = float(np.var(v, ddof=1)) if len(v) > 1 else 0.0
    return Estimate(float(v.mean()), math.sqrt(var / len(v)), max(len(v) - 1.0, 1.0), len(v), 1, (var, 0.0, 0.0))


def _counts(gen: np.random.Generator, n: int, resamples: int) -> np.ndarray:
    """How often each of ``n`` units is drawn in each resample (rows sum to n)."""
    return gen.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)


def seed_bootstrap(
    values, statistic, resamples: int, gen: np.random.Generator, bounds: tuple = (-1.0, 1.0)
) -> Estimate:
    """``statistic`` (non-linear: Kendall's τ of a curve, within ``bounds``) of the seed-averaged row of ``values``
    (seeds × points), resampled over the seeds: its standard error the resamples' (scaled by S/(S − 1)), S − 1
    degrees of freedom; the interval is cut to ``bounds`` (a τ beyond ±1 means nothing)."""
    values = np.asarray(values, dtype=float)
    s = len(values)
    effect = float(statistic(values.mean(axis=0)))
    if s < 2:
        return Estimate(effect, 0.0, 1.0, 1, bounds=bounds)
    samples = np.array([statistic(w @ values / s) for w in _counts(gen, s, resamples)])
    se = math.sqrt(float(np.var(samples, ddof=1)) * s / (s - 1))
    return Estimate(effect, se, s - 1.0, s, 1, (se * se * s, 0.0, 0.0), samples, bounds)


def normal(effect: float, se: float, n_clusters: int) -> Estimate:
    """An estimate from a normal approximation (one seed; the whole variance is test-image sampling)."""
    return Estimate(float(effect), float(se), math.inf, 1, n_clusters, (0.0, float(se) ** 2 * n_clusters, 0.0))


def pvalues(est: Estimate, margin: float, at_least: bool = False) -> dict[str, float]:
    """The p-values of the three decisions: *holds* (above 0, or above ``margin`` for a claim "by at least"),
    *opposite* (below 0) and *equivalent* (inside ±``margin``; for "by at least": *below the margin*)."""
    if at_least:
        return {HOLDS: est._tail(True, margin), OPPOSITE: est._tail(False, 0.0), BELOW_MARGIN: est._tail(False, margin)}
    equivalent = max(est._tail(False, margin), est._tail(True, -margin)) if margin > 0 else 1.0
    return {HOLDS: est._tail(True, 0.0), OPPOSITE: est._tail(False, 0.0), EQUIVALENT: equivalent}


def all_of(parts: list[dict[str, float]]) -> dict[str, float]:
    """A claim that holds only where every part holds (intersection–union: the largest p) and does not hold where
    any part does not (the smallest p times the number of parts: Holm's first step)."""
    k = len(parts)
    return {
        HOLDS: max(p[HOLDS] for p in parts),
        OPPOSITE: min(1.0, k * min(p[OPPOSITE] for p in parts)),
        EQUIVALENT: min(1.0, k * min(p[EQUIVALENT] for p in parts)),
    }


def decide(family: list[dict[str, float] | None], alpha: float) -> list[tuple[str, str, float]]:
    """Holm over a family of endpoints (each its :func:`pvalues`; None: not decided, left out of the family):
    per endpoint (verdict, how: ``""``, ``opposite`` or ``equivalent``, Holm-adjusted p)."""
    decided = [i for i, p in enumerate(family) if p is not None]
    best = [min(family[i].items(), key=lambda kv: kv[1]) for i in decided]
    adjusted, rejected = holm([p for _, p in best], alpha) if best else (np.array([]), np.array([]))
    out: list[tuple[str, str, float]] = [(INCONCLUSIVE, "", math.nan)] * len(family)
    for i, (kind, _), adj, rej in zip(decided, best, adjusted, rejected):
        verdict = (HOLDS if kind == HOLDS else FAILS) if rej else INCONCLUSIVE
        out[i] = (verdict, "" if kind == HOLDS or not rej else kind, float(adj))
    return out


def seeds_needed(est: Estimate, margin: float, at_least: bool = False, level: float = 0.95) -> str:
    """How many seeds the observed variance suggests would decide an inconclusive endpoint at the unadjusted
    ``level`` (a projection, assuming the effect and the variance components stay as observed; Holm's correction
    and a claim of several parts need more)."""
    if est.n_seeds < 2:
        return "seed variance unknown with one seed: run >= 3 seeds"
    e = est.effect
    gap = abs(e - margin) if at_least else (max(abs(e), margin - abs(e)) if margin > 0 else abs(e))
    seed, cluster, resid = est.components
    n = est.n_clusters
    for s in range(est.n_seeds + 1, 201):
        a, b = seed / s + resid / (s * n), cluster / n
        half = float(_t.ppf((1 + level) / 2, _satterthwaite([(a, s - 1), (b, n - 1)]))) * math.sqrt(a + b)
        if half < gap:
            return f"about {s} seeds"
    if cluster / n * 1.96**2 >= gap**2:
        return "more seeds alone cannot decide it: the test-image variance exceeds the gap; more test images needed"
    return "more than 200 seeds"
