"""The claims' building blocks: the table's constants, one row, verdicts from parts, and the statistics the claims
rest on.

:func:`row` makes one row of the claims table (:data:`COLUMNS`; the verdict one of :data:`VERDICTS`), :func:`not_run`
the inconclusive row of a part whose inputs were not configured, :func:`claim_row` the row of a claim from its
parts. :func:`combine` joins a claim's parts, :func:`majority` per-δ outcomes, :func:`signed` a signed test. The
statistics: :func:`kendall` (Kendall's τ and p), :func:`slope_interval` (least-squares slope and its t interval),
:func:`sign_test` (two-sided binomial).
:data:`HEADLINE_BETA`, :data:`SMALL_EPS` and :data:`QUANT_POINT` are the paper's choices the claims follow.
"""

from __future__ import annotations

import math
import os

import numpy as np
from scipy import stats as _stats

from atspectrum.config import HEADLINE_BETA  # noqa: F401 (re-exported: the paper's headline beta)
from atspectrum.planning.claims import CLAIMS  # noqa: F401 (re-exported: the claims' names)

HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE)
NOT_RUN = "not run"
COLUMNS = ["claim", "model", "part", "verdict", "statistic", "numbers", "figures"]
SMALL_EPS = 2  # "a small ε" on the paper grid (Section 6: accuracy falls after ε = 1 or 2)
QUANT_POINT = {"resnet18": 0, "wrn28_10": 1}  # the paper's point: after the first (ResNet-18) / second (WRN) layer


def row(claim: str, model: str, part: str, verdict: str, statistic: str = "", numbers: str = "", figures=()) -> dict:
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, not {verdict!r}")
    return {
        "claim": f"{claim} {CLAIMS[claim]}",
        "model": model,
        "part": part,
        "verdict": verdict,
        "statistic": statistic,
        "numbers": numbers,
        "figures": " ".join(os.path.basename(f) for f in figures),
    }


def not_run(claim: str, model: str, part: str, what: str, figures=()) -> dict:
    return row(claim, model, part, INCONCLUSIVE, "", f"{NOT_RUN}: {what}", figures)


def claim_row(claim: str, model: str, statistic: str, parts: list[dict], figures=()) -> dict:
    """The row of the part ``claim``: the verdicts of ``parts`` (rows) joined by :func:`combine`, each one in the
    numbers."""
    return row(
        claim,
        model,
        "claim",
        combine(r["verdict"] for r in parts),
        statistic,
        "; ".join(f"{r['part']}: {r['verdict']}" for r in parts),
        figures,
    )


def combine(verdicts) -> str:
    """A claim from its parts: does not hold if any part does not, holds if every part holds, else inconclusive."""
    verdicts = list(verdicts)
    if FAILS in verdicts:
        return FAILS
    return HOLDS if verdicts and all(v == HOLDS for v in verdicts) else INCONCLUSIVE


def majority(support: int, oppose: int, tested: int) -> str:
    """Per-δ outcomes to one verdict: holds if more than half of the ``tested`` δ support and none opposes; does
    not hold if more than half oppose and none supports; else inconclusive."""
    if tested and support > tested / 2 and oppose == 0:
        return HOLDS
    if tested and oppose > tested / 2 and support == 0:
        return FAILS
    return INCONCLUSIVE


def signed(effect: float, p: float, alpha: float, expected: int) -> str:
    """A signed test: holds if the effect has the ``expected`` sign (+1 / -1) at p ≤ alpha, does not hold if it has
    the other sign at p ≤ alpha, else inconclusive (also for a missing p)."""
    if p is None or not np.isfinite(p) or p > alpha or effect == 0 or not np.isfinite(effect):
        return INCONCLUSIVE
    return HOLDS if np.sign(effect) == expected else FAILS


def kendall(x, y) -> tuple[float, float]:
    """Kendall's τ and its two-sided p-value (exact without ties, as scipy's ``auto``); NaN for < 3 points or a
    constant series."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or np.ptp(y) == 0 or np.ptp(x) == 0:
        return math.nan, math.nan
    res = _stats.kendalltau(x, y)
    return float(res.statistic), float(res.pvalue)


def slope_interval(x, y, level: float = 0.95) -> tuple[float, float, float]:
    """Least-squares slope of ``y`` on ``x`` with its t interval (NaN interval for fewer than three points)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 2:
        return math.nan, math.nan, math.nan
    fit = _stats.linregress(x, y)
    if len(x) < 3:
        return float(fit.slope), math.nan, math.nan
    half = _stats.t.ppf(0.5 + level / 2, len(x) - 2) * fit.stderr
    return float(fit.slope), float(fit.slope - half), float(fit.slope + half)


def sign_test(wins: int, losses: int) -> float:
    return float(_stats.binomtest(wins, wins + losses, 0.5).pvalue) if wins + losses else 1.0


def _pct(v: float) -> str:
    return f"{v:.1f}%"


def _p(p: float) -> str:
    return f"{p:.2g}"
