"""C1 overdesign (Section 3): :func:`overdesign` judges the claim for one model from its per-example PGD_δ frames.

Two parts, each by exact McNemar tests per δ (corrected over the δ's) joined by :func:`~.verdicts.majority`: ε* > δ
with a significant gain over ε = δ, and the largest ε worse than ε*; beside the claim, Kendall's τ of ε* − δ
against δ. The rules in full are in the package docstring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atspectrum.reporting import tables

from .verdicts import _p, _pct, claim_row, kendall, majority, not_run, row, signed


def overdesign(
    frames: dict, deltas: list[int], alpha: float = 0.05, correction: str = "holm", model: str = "", figures=()
) -> list[dict]:
    """C1 from per-example PGD frames keyed (ε, δ) (columns ``index``, ``correct``); rows as described in the
    package docstring."""
    deltas = sorted(d for d in deltas if any(k[1] == d for k in frames))
    if not deltas:
        return [not_run("C1", model, "claim", "no PGD evaluations at an overdesign delta", figures)]
    over = tables.overdesign_table(tables.accuracy_grid(frames), deltas).set_index("delta")
    acc = {k: 100.0 * float(f["correct"].mean()) for k, f in frames.items()}
    eps_of = {d: sorted(e for e, dd in frames if dd == d) for d in deltas}
    cells1, cells3 = _comparisons(over, acc, eps_of)
    rows = []
    t1 = tables.paired_tests(frames, cells1, alpha, correction)
    rows.append(
        _per_delta(
            t1,
            acc,
            model,
            "eps* > delta, significant gain over eps = delta",
            lambda r: r["star"] > r["delta"],
            "eps = delta",
            correction,
            figures,
        )
    )
    t3 = tables.paired_tests(frames, cells3, alpha, correction)
    largest = {d: eps_of[d][-1] for d in deltas}
    rows.append(
        _per_delta(
            t3,
            acc,
            model,
            "largest eps worse than eps*",
            lambda r: r["star"] != largest[r["delta"]],
            "largest eps",
            correction,
            figures,
        )
    )
    rows.append(_growth(over["eps_star_minus_delta"], alpha, model, figures))
    return [claim_row("C1", model, "the two parts below combined", rows[:2], figures)] + rows


def _comparisons(over: pd.DataFrame, acc: dict, eps_of: dict) -> tuple[list, list]:
    """The per-δ comparisons (for :func:`tables.paired_tests`) of the two parts: ε* against ε = δ (or, where
    ε* ≤ δ, the best ε > δ), and ε* against the largest ε (or, where ε* is the largest, the best smaller ε)."""

    def best(d, candidates):  # the most accurate ε among candidates (ties: the smaller)
        return max(sorted(candidates), key=lambda e: (acc[(e, d)], -e))

    # part 1: eps* > delta with a significant gain over eps = delta
    cells1, cells3 = [], []
    for d, grid in eps_of.items():
        star = int(over.at[d, "eps_star"])
        above = [e for e in grid if e > d]
        if d in grid and above:
            other = d if star > d else best(d, above)
            cells1.append(({"delta": d, "star": star, "other": other}, (star, d), (other, d)))
        largest = grid[-1]
        if len(grid) > 1:
            if star != largest:
                cells3.append(({"delta": d, "star": star, "other": largest}, (star, d), (largest, d)))
            else:
                alt = best(d, grid[:-1])
                cells3.append(({"delta": d, "star": star, "other": alt}, (star, d), (alt, d)))
    return cells1, cells3


def _growth(gap: pd.Series, alpha: float, model: str, figures) -> dict:
    """Reported beside the claim: does ε* − δ (``gap``, indexed by δ) grow with δ?"""
    tau, p = kendall(gap.index.to_numpy(), gap.to_numpy())
    growth = ", ".join(f"delta {d}: {int(g)}" for d, g in gap.items())
    return row(
        "C1",
        model,
        "eps* - delta grows with delta (beside the claim)",
        signed(tau, p, alpha, +1),
        "Kendall tau of eps* - delta against delta",
        f"eps* - delta at {growth}; tau = {tau:.2f}, p = {_p(p)}"
        if np.isfinite(tau)
        else f"eps* - delta at {growth}; fewer than 3 deltas or no variation: no trend test",
        figures,
    )


def _per_delta(
    tests: pd.DataFrame, acc: dict, model: str, part: str, supports, against: str, correction: str, figures
) -> dict:
    """One C1 part from its per-δ McNemar tests: ``supports(row)`` says whether the tested comparison is the one
    the claim predicts (else a significant result opposes it)."""
    if tests.empty:
        return not_run("C1", model, part, f"no delta with {against} and a larger eps in the grid", figures)
    support = oppose = 0
    words = []
    for _, r in tests.iterrows():
        d, star, other = int(r["delta"]), int(r["star"]), int(r["other"])
        sig = bool(r["significant"])
        if sig and supports(r):
            support += 1
        elif sig:
            oppose += 1
        words.append(
            f"delta {d}: eps* {star} {_pct(acc[(star, d)])} vs eps {other} {_pct(acc[(other, d)])} "
            f"(+{int(r['gained'])}/-{int(r['lost'])}, p_adj {_p(r['p_adjusted'])}"
            f"{', significant' if sig else ''})"
        )
    how = "Holm-corrected" if correction == "holm" else "uncorrected"
    return row(
        "C1",
        model,
        part,
        majority(support, oppose, len(tests)),
        f"exact McNemar per delta ({how}); majority of deltas",
        f"supports at {support}, opposes at {oppose} of {len(tests)} deltas; " + "; ".join(words),
        figures,
    )
