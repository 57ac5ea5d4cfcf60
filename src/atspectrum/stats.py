"""Statistics for accuracy tables: Wilson score intervals, the exact McNemar test on paired per-example results, and
Holm's step-down correction for a family of tests (one table = one family)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _stats

Z95 = 1.959963984540054  # the two-sided 95% normal quantile


def wilson(correct: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion ``correct / n`` (as proportions in [0, 1]); ``n = 0`` gives (0, 1)."""
    if n == 0:
        return 0.0, 1.0
    p = correct / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar(a_correct: np.ndarray, b_correct: np.ndarray) -> dict:
    """Exact (binomial) McNemar test of two classifiers on the same examples, paired by position.

    Returns the discordant counts (``a_only``: right under A, wrong under B; ``b_only``: the reverse) and the
    two-sided p-value ``min(1, 2 · P[X ≤ min(a_only, b_only)])`` with ``X ~ Binomial(a_only + b_only, 1/2)``."""
    a, b = np.asarray(a_correct, dtype=bool), np.asarray(b_correct, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired results need the same examples: {a.shape} vs {b.shape}")
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    n = a_only + b_only
    p = 1.0 if n == 0 else min(1.0, 2.0 * float(_stats.binom.cdf(min(a_only, b_only), n, 0.5)))
    return {"a_only": a_only, "b_only": b_only, "p_value": p}


def holm(p_values, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Holm–Bonferroni: adjusted p-values and which hypotheses are rejected at family-wise level ``alpha``."""
    p = np.asarray(p_values, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adjusted[i] = running
    return adjusted, adjusted <= alpha
