"""The claims table from the claims' primary endpoints (docs/statistics.md, "The claims: a design per claim").

Each claim module returns one :class:`Endpoint` per model (its estimate and p-values, or why it is not decided) and
its secondary parts as :func:`detail` rows. :func:`table` decides every endpoint of a family at once (Holm over the
decided ones, :func:`atspectrum.inference.decide`) and makes the rows of ``tables/claims`` (:data:`COLUMNS`);
the details go to ``tables/claims_details`` (:data:`DETAIL_COLUMNS`), never decided.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

import numpy as np

from atspectrum import inference as inf
from atspectrum.planning.claims import CLAIMS, DEFAULT_QUANT_POINT

COLUMNS = [
    "claim",
    "model",
    "endpoint",
    "effect",
    "ci_low",
    "ci_high",
    "margin",
    "n_seeds",
    "verdict",
    "p_adjusted",
    "paper_verdict",
    "premise",
    "to_decide",
    "numbers",
    "figures",
]
DETAIL_COLUMNS = ["claim", "model", "part", "effect", "ci_low", "ci_high", "n_seeds", "numbers"]
DEFAULT_MARGIN = {"C1": 1.0, "C2": 0.5, "C3": 25.0, "C4": 0.5}  # docs/statistics.md, "Margins"
VERDICTS = (inf.HOLDS, inf.FAILS, inf.INCONCLUSIVE, inf.NOT_APPLICABLE, inf.NOT_RUN, inf.NOT_AVAILABLE)


@dataclass(frozen=True)
class Settings:
    """The config's ``claims`` and ``stats.alpha``: margins per claim, the bootstrap, the C2 point per architecture,
    C4's small ε and C2's premise (clean accuracy lost, points)."""

    alpha: float = 0.05
    margin: dict = field(default_factory=lambda: dict(DEFAULT_MARGIN))
    resamples: int = 2000
    seed: int = 0
    quant_point: dict = field(default_factory=lambda: dict(DEFAULT_QUANT_POINT))
    small_eps: int = 2
    clean_drop: float = 3.0

    @classmethod
    def of(cls, claims: dict | None, alpha: float = 0.05) -> Settings:
        c = claims or {}
        return cls(
            alpha=float(alpha),
            margin={**DEFAULT_MARGIN, **c.get("margin", {})},
            resamples=int(c.get("bootstrap", {}).get("resamples", 2000)),
            seed=int(c.get("bootstrap", {}).get("seed", 0)),
            quant_point={**DEFAULT_QUANT_POINT, **c.get("quant_point", {})},
            small_eps=int(c.get("small_eps", 2)),
            clean_drop=float(c.get("premise", {}).get("clean_drop", 3.0)),
        )


@dataclass
class Endpoint:
    """One claim's primary endpoint for one model: ``estimate`` with ``pvalues`` (None where it is not decided:
    ``status`` then says why: not applicable, not run, not available)."""

    claim: str
    model: str
    endpoint: str
    estimate: inf.Estimate | None = None
    pvalues: dict | None = None
    margin: float = math.nan
    at_least: bool = False
    status: str = ""
    premise: str = ""
    numbers: str = ""
    figures: list = field(default_factory=list)
    unit: str = "points"
    show: object = None  # how effect, interval and margin are shown (C3: a log ratio as a percentage)

    @classmethod
    def undecided(cls, claim: str, model: str, endpoint: str, status: str, why: str, **kw) -> Endpoint:
        return cls(claim, model, endpoint, status=status, numbers=why, **kw)


def claim_label(claim: str) -> str:
    return f"{claim} {CLAIMS[claim]}"


def interval_words(est: inf.Estimate, unit: str = "points") -> str:
    lo, hi = est.interval()
    return f"{est.effect:+.2f} [{lo:+.2f}, {hi:+.2f}] {unit}"


def detail(claim: str, model: str, part: str, est: inf.Estimate | None, numbers: str = "") -> dict:
    """A secondary part: its effect and 95% interval beside the claim (never a verdict)."""
    lo, hi = est.interval() if est is not None else (math.nan, math.nan)
    return {
        "claim": claim_label(claim),
        "model": model,
        "part": part,
        "effect": est.effect if est is not None else math.nan,
        "ci_low": lo,
        "ci_high": hi,
        "n_seeds": est.n_seeds if est is not None else 0,
        "numbers": numbers,
    }


def decided(endpoints: list[Endpoint], alpha: float) -> list[tuple[str, str, float]]:
    """Every endpoint's (verdict, how, Holm-adjusted p): Holm over those with p-values; the others keep their
    status."""
    out = inf.decide([e.pvalues if not e.status else None for e in endpoints], alpha)
    return [(e.status, "", math.nan) if e.status else o for e, o in zip(endpoints, out)]


def verdict_words(verdict: str, how: str) -> str:
    return f"{verdict} ({how})" if how else verdict


def table(endpoints: list[Endpoint], alpha: float, paper: dict | None = None) -> list[dict]:
    """The claims table's rows (:data:`COLUMNS`): every endpoint decided (Holm over the family), with the verdict on
    the paper's numbers of its claim (``paper``: (claim, model) → words) beside it."""
    rows = []
    for e, (verdict, how, p_adj) in zip(endpoints, decided(endpoints, alpha)):
        est, show = e.estimate, e.show or (lambda v: v)
        lo, hi = est.interval() if est is not None else (math.nan, math.nan)
        to_decide = ""
        if verdict == inf.INCONCLUSIVE and est is not None:
            to_decide = inf.seeds_needed(est, e.margin, e.at_least)
        rows.append(
            {
                "claim": claim_label(e.claim),
                "model": e.model,
                "endpoint": e.endpoint,
                "effect": show(est.effect) if est is not None else math.nan,
                "ci_low": show(lo),
                "ci_high": show(hi),
                "margin": show(e.margin),
                "n_seeds": est.n_seeds if est is not None else 0,
                "verdict": verdict_words(verdict, how),
                "p_adjusted": p_adj,
                "paper_verdict": (paper or {}).get((e.claim, e.model), ""),
                "premise": e.premise,
                "to_decide": to_decide,
                "numbers": e.numbers,
                "figures": " ".join(os.path.basename(f) for f in e.figures),
            }
        )
    return rows


def correct(frames) -> np.ndarray:
    """Per-example correctness in points (0 or 100), seeds × examples, from one per-example frame per seed (columns
    ``index``, ``correct``), aligned on ``index``: every seed must have the same examples."""
    return paired(frames)


def paired(frames, minus=()) -> np.ndarray:
    """Seeds × examples, in points: the correctness of ``frames`` (one per seed) minus that of ``minus`` (one per
    seed, or none), aligned on ``index``; every frame must hold the same test examples (else the pairing is wrong)."""
    frames, minus = list(frames), list(minus)
    first = None
    out = []
    for f in frames + minus:
        f = f.sort_values("index")
        idx = f["index"].to_numpy()
        if first is None:
            first = idx
        elif not np.array_equal(idx, first):
            raise ValueError("paired results need the same test examples in every seed and cell")
        out.append(100.0 * f["correct"].to_numpy(dtype=float))
    a = np.vstack(out[: len(frames)])
    return a - np.vstack(out[len(frames) :]) if minus else a
