"""C3 filter norms (Section 5): :func:`filter_norms` judges the claim for one model from its filter-norm table.

The weights are what was trained, with no sampling error to test: the first two layers' mean norms must be larger
than every other layer's at every ε, and (ResNet-18 only) their max norms must never decrease from one ε to the
next. The rules in full are in the package docstring.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .verdicts import FAILS, HOLDS, claim_row, not_run, row


def filter_norms(frame: pd.DataFrame, arch: str, model: str = "", figures=()) -> list[dict]:
    """C3 from the filter-norm table of one model (columns ``eps``, ``kind``, ``index``, ``mean``, ``max``)."""
    for col in ("eps", "kind", "index", "mean", "max"):
        if col not in frame.columns:
            raise ValueError(f"filter-norm table lacks the column {col!r}")
    f = frame[frame["kind"] != "1x1"].dropna(subset=["index"])
    eps = sorted(int(e) for e in f["eps"].unique())
    first, rest = f[f["index"].isin([1, 2])], f[f["index"] > 2]
    rows = [_mean_part(first, rest, eps, model, figures)]
    if arch == "resnet18":
        rows.append(_max_part(first, eps, model, figures))
    return [claim_row("C3", model, "the parts below combined", rows, figures)] + rows


def _mean_part(first: pd.DataFrame, rest: pd.DataFrame, eps: list[int], model: str, figures) -> dict:
    """Are the mean norms of layers 1 and 2 (``first``) larger than every other layer's (``rest``) at every ε?"""
    if rest.empty or first["index"].nunique() < 2:
        return not_run("C3", model, "first two layers' mean norms largest", "fewer than three conv layers", figures)
    margins = {
        e: float(first.loc[first["eps"] == e, "mean"].min() / rest.loc[rest["eps"] == e, "mean"].max()) for e in eps
    }
    failing = [e for e, m in margins.items() if not m > 1]
    lo = min(margins, key=margins.get)
    return row(
        "C3",
        model,
        "first two layers' mean norms largest",
        FAILS if failing else HOLDS,
        "min over layers 1-2 / max over the other layers of the mean norm, every eps (> 1 holds)",
        f"ratio {min(margins.values()):.2f} (eps {lo}) to {max(margins.values()):.2f} over {len(eps)} "
        f"eps" + (f"; not larger at eps {', '.join(map(str, failing))}" if failing else ""),
        figures,
    )


def _max_part(first: pd.DataFrame, eps: list[int], model: str, figures) -> dict:
    """Do the max norms of layers 1 and 2 (``first``) never decrease from one ε to the next (ResNet-18)?"""
    words, drops = [], []
    for idx in (1, 2):
        curve = first[first["index"] == idx].sort_values("eps")
        values = curve["max"].to_numpy(dtype=float)
        drops += [f"layer {idx} at eps {int(e)}" for e, dv in zip(curve["eps"].iloc[1:], np.diff(values)) if dv < 0]
        words.append(f"layer {idx}: " + ", ".join(f"{v:.3g}" for v in values))
    if first.empty:
        return not_run("C3", model, "first two layers' max norms monotone in eps", "no conv layers", figures)
    return row(
        "C3",
        model,
        "first two layers' max norms monotone in eps",
        FAILS if drops else HOLDS,
        "max norm of layers 1 and 2 never decreases from one eps to the next",
        f"eps {', '.join(map(str, eps))}: "
        + "; ".join(words)
        + (f"; decreases at {', '.join(drops)}" if drops else ""),
        figures,
    )
