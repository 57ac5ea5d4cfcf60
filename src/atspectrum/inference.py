"""Replicated verdicts (docs/statistics.md, "The claims: a design per claim"): the hierarchical paired bootstrap of a
mean over training seeds × test images, its interval and p-values, the four outcomes, Holm over a family of primary
endpoints, and how many seeds would decide an inconclusive one.

An endpoint is a mean of a matrix ``D[s, i]`` (seeds × clusters: test images, base images of a corruption set, or
models). :func:`bootstrap` resamples the seeds and, independently, the clusters (the two factors are crossed:
every seed sees every image), with a fixed, seeded number of resamples; :func:`normal` draws the same kind of
:class:`Estimate` from a normal approximation (the paper's tables, which have no per-image results). :func:`pvalues`
turns an estimate into the p-values of *holds* / *opposite* / *equivalent*, :func:`all_of` joins several
(intersection–union), and :func:`decide` makes the outcomes of a family, Holm-corrected.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import t as _t

from atspectrum.stats import Z95, holm

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
    """An endpoint's effect, its resampled values ``samples`` and ``var_image``, the part of their variance left with
    the seeds held fixed (the test images' part; the rest is the seeds').

    The interval and p-values are t-based on the bootstrap's variance, with the seed part scaled by S/(S − 1) and
    Welch–Satterthwaite degrees of freedom: with few seeds a plain percentile interval is too narrow (by about
    √((S − 1)/S), and coarse), which the simulation in tests/test_inference.py shows as false verdicts above α."""

    effect: float
    samples: np.ndarray = field(repr=False)
    n_seeds: int
    var_image: float
    n_clusters: int = 10**6

    @property
    def var_seed(self) -> float:
        return max(float(np.var(self.samples, ddof=1)) - self.var_image, 0.0) if self.n_seeds > 1 else 0.0

    @property
    def se(self) -> float:
        s = self.n_seeds
        return math.sqrt((self.var_seed * s / (s - 1) if s > 1 else 0.0) + self.var_image)

    @property
    def df(self) -> float:
        s, a, b = self.n_seeds, 0.0, self.var_image
        if s > 1:
            a = self.var_seed * s / (s - 1)
        denom = (a * a / (s - 1) if s > 1 else 0.0) + b * b / max(self.n_clusters - 1, 1)
        return (a + b) ** 2 / denom if denom > 0 else math.inf

    def interval(self, level: float = 0.95) -> tuple[float, float]:
        """The t interval (NaN where no variance was observed: one seed of a statistic without test images)."""
        if not self.se > 0:
            return math.nan, math.nan
        half = float(_t.ppf((1 + level) / 2, self.df)) * self.se
        return self.effect - half, self.effect + half

    def _tail(self, below: bool, bound: float) -> float:
        """Two-sided p of the effect lying above ``bound`` (``below``: of its lying below it)."""
        if not self.se > 0:  # no variance observed (one seed of a weight statistic): nothing can be decided
            return 1.0
        z = (self.effect - bound) / self.se
        return min(1.0, 2.0 * float(_t.sf(z if below else -z, self.df)))


def _counts(gen: np.random.Generator, n: int, resamples: int) -> np.ndarray:
    """How often each of ``n`` units is drawn in each resample (rows sum to n)."""
    return gen.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)


def bootstrap(data, resamples: int, gen: np.random.Generator) -> list[Estimate]:
    """The mean of each ``data[k]`` (seeds × clusters, all the same shape), resampled jointly: one draw of seeds and
    of clusters per resample serves every k, so the estimates can be compared or combined. One seed: only the
    clusters are resampled."""
    data = np.asarray(data, dtype=float)
    if data.ndim == 2:
        data = data[None]
    _, s, n = data.shape
    if s < 1 or n < 1:
        raise ValueError(f"an endpoint needs at least one seed and one cluster, got {s} x {n}")
    if not np.isfinite(data).all():
        raise ValueError("an endpoint's per-example values contain NaN or infinity")
    seeds = _counts(gen, s, resamples) if s > 1 else np.ones((resamples, 1))
    clusters = _counts(gen, n, resamples)
    out = []
    for d in data:
        samples = np.einsum("bs,sn,bn->b", seeds, d, clusters) / (s * n)
        fixed = clusters @ d.mean(axis=0) / n  # seeds held fixed: the image part of the variance
        out.append(Estimate(float(d.mean()), samples, s, float(np.var(fixed, ddof=1)), n))
    return out


def seed_bootstrap(values, statistic, resamples: int, gen: np.random.Generator) -> Estimate:
    """``statistic`` of the seed-averaged row of ``values`` (seeds × points), resampled over the seeds only."""
    values = np.asarray(values, dtype=float)
    s = len(values)
    weights = _counts(gen, s, resamples) if s > 1 else np.ones((resamples, 1))
    samples = np.array([statistic(w @ values / s) for w in weights])
    return Estimate(float(statistic(values.mean(axis=0))), samples, s, 0.0)


def normal(effect: float, se: float, resamples: int, gen: np.random.Generator) -> Estimate:
    """An estimate from a normal approximation (one seed; the whole variance is test-image sampling)."""
    return Estimate(float(effect), effect + se * gen.standard_normal(resamples), 1, float(se * se))


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


def seeds_needed(est: Estimate, margin: float, at_least: bool = False, z: float = Z95) -> str:
    """How many seeds the observed variance suggests would decide an inconclusive endpoint (a projection, assuming
    the effect and the variances stay as observed)."""
    if est.n_seeds < 2:
        return "seed variance unknown with one seed: run >= 3 seeds"
    e = est.effect
    if at_least:
        gap = abs(e - margin)
    else:
        gap = max(abs(e), margin - abs(e)) if margin > 0 else abs(e)
    v_image, v_seed = est.var_image, est.var_seed * est.n_seeds / (est.n_seeds - 1)
    room = (gap / z) ** 2 - v_image
    if gap == 0 or room <= 0:
        return "more seeds alone cannot decide it: the test-image variance exceeds the gap; more test images needed"
    if v_seed == 0:
        return f"{est.n_seeds} seeds (the seed variance observed is 0)"
    return f"about {max(est.n_seeds + 1, math.ceil(est.n_seeds * v_seed / room))} seeds"
