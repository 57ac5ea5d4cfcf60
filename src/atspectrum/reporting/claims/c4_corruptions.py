"""C4 corruptions (Section 6): :func:`corruptions` judges the claim for one model from its corruption table, its
Wilson intervals and its pre-activation table.

Over the ε > 0 models: the best average corruption accuracy at a small ε (:func:`small_eps`), the accuracy falling
beyond it (least-squares slope with its t interval), and the final pre-activation mean moving towards zero as ε
grows (Kendall's τ). The rules in full are in the package docstring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atspectrum.reporting import tables

from .verdicts import (
    FAILS,
    HOLDS,
    INCONCLUSIVE,
    SMALL_EPS,
    _p,
    _pct,
    claim_row,
    kendall,
    not_run,
    row,
    signed,
    slope_interval,
)


def small_eps(eps: list[int]) -> int:
    """The largest ε that counts as small: 2 (the paper grid), or the run's smallest ε > 0 if that is larger."""
    nonzero = [e for e in eps if e > 0]
    return max(SMALL_EPS, min(nonzero)) if nonzero else SMALL_EPS


def corruptions(
    table: pd.DataFrame, ci: pd.DataFrame, preact: pd.DataFrame | None, alpha: float = 0.05, model: str = "", figures=()
) -> list[dict]:
    """C4 from ``tables/corruptions_<model>.csv`` and its ``_ci.csv`` and ``tables/preact_<model>.csv``."""
    avg = table.loc[table["corruption"] == "average"]
    if avg.empty:
        raise ValueError("corruption table has no 'average' row")
    acc = {int(c.removeprefix("eps")): float(avg.iloc[0][c]) for c in tables.percentage_columns(table)}
    eps = sorted(e for e in acc if e > 0)
    if not eps:
        return [not_run("C4", model, "claim", "no eps > 0 model", figures)]
    best = max(eps, key=lambda e: (acc[e], -e))
    rows = [_best_part(acc, eps, best, ci, model, figures), _falls_part(acc, eps, best, model, figures)]
    rows.append(_preact_part(preact, alpha, model, figures))
    return [claim_row("C4", model, "the three parts below combined", rows, figures)] + rows


def _best_part(acc: dict, eps: list[int], best: int, ci: pd.DataFrame, model: str, figures) -> dict:
    """Is the best average corruption accuracy (at ε ``best``) at a small ε?"""
    small = small_eps(eps)
    clean0 = f"; eps 0 (standard training): {_pct(acc[0])}" if 0 in acc else ""
    curve = ", ".join(f"eps {e}: {_pct(acc[e])}" for e in eps)
    if best <= small:
        where = HOLDS
    else:
        interval = ci[ci["corruption"] == "average"].set_index("column")
        best_small = max((e for e in eps if e <= small), key=lambda e: (acc[e], -e))
        where = (
            FAILS if interval.at[f"eps{best}", "ci_low"] > interval.at[f"eps{best_small}", "ci_high"] else INCONCLUSIVE
        )
    return row(
        "C4",
        model,
        f"best average corruption accuracy at a small eps (<= {small})",
        where,
        "eps of the highest average accuracy; a larger one against the best small eps by 95% Wilson intervals",
        f"best at eps {best}; {curve}{clean0}",
        figures,
    )


def _falls_part(acc: dict, eps: list[int], best: int, model: str, figures) -> dict:
    """Does the average corruption accuracy fall with ε from ``best`` on?"""
    beyond = [e for e in eps if e >= best]
    slope, lo, hi = slope_interval(beyond, [acc[e] for e in beyond])
    verdict = INCONCLUSIVE if not np.isfinite(lo) else HOLDS if hi < 0 else FAILS if lo > 0 else INCONCLUSIVE
    return row(
        "C4",
        model,
        "accuracy falls with eps beyond it",
        verdict,
        "least-squares slope of average accuracy on eps >= eps_best, 95% t interval",
        f"{slope:.3f} points per unit eps, interval [{lo:.3f}, {hi:.3f}] over eps {', '.join(map(str, beyond))}"
        if np.isfinite(lo)
        else f"only eps {', '.join(map(str, beyond))} at or beyond the best: fewer than 3 points",
        figures,
    )


def _preact_part(preact: pd.DataFrame | None, alpha: float, model: str, figures) -> dict:
    """Does the final pre-activation mean move towards zero as ε grows (over the ε > 0 models)?"""
    part = "final pre-activation mean moves towards zero as eps grows"
    if preact is None:
        return not_run("C4", model, part, "no pre-activation table", figures)
    p_ = preact[preact["eps"] > 0].sort_values("eps")
    tau, p = kendall(p_["eps"], p_["code_mean"].abs())
    means = ", ".join(f"eps {int(e)}: {m:.3g}" for e, m in zip(p_["eps"], p_["code_mean"]))
    return row(
        "C4",
        model,
        part,
        signed(tau, p, alpha, -1),
        "Kendall tau of abs(mean) (paper code's statistic: severity-5 mean per corruption, averaged) against eps",
        f"{means}; tau = {tau:.2f}, p = {_p(p)}"
        if np.isfinite(tau)
        else f"{means}; fewer than 3 eps or no variation: no trend test",
        figures,
    )
