"""Kendall's τ of a curve against ε, the claims' trend statistic (C3's max norms, C4's pre-activation mean)."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as _stats


def kendall(x, y) -> tuple[float, float]:
    """Kendall's τ and its two-sided p-value (exact without ties, as scipy's ``auto``); NaN for < 3 points or a
    constant series."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or np.ptp(y) == 0 or np.ptp(x) == 0:
        return math.nan, math.nan
    res = _stats.kendalltau(x, y)
    return float(res.statistic), float(res.pvalue)
