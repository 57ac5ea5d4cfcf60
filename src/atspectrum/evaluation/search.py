"""The overdesign search: Section 3's advice ("train at increasing ε > δ until the validation error starts
deteriorating; use the last model before it does") as a precise, data-driven procedure.

For one attack strength δ (integers in units of 1/255):

* **Visits.** ε_k = δ + k·s for k = 0, 1, 2, …, never above ``max_eps``. The start ε_0 = δ is the model trained at
  the attack's own strength: the conventional choice, the baseline an overdesigned model must beat, and the answer
  when overdesigning does not help (ε* = δ).
* **Measure.** e_k = robust error (%) of the ε_k-model under PGD_δ on the *search part* of the validation split
  (never the test split). The validation split is divided, seeded, into two disjoint parts
  (:func:`atspectrum.data.split_val_parts`, ``overdesign.search.val_fraction`` of it for the search): every model's
  checkpoint is selected (``train.select: best_val``, by PGD_ε) on the other part only, so the images that choose ε*
  never chose the checkpoints being compared (:func:`selection_split`).
* **Stop rule.** After visit k let best_k = min(e_0, …, e_k) and j the *last* index with e_j = best_k. The visits
  after j are exactly those strictly above the best so far; there are ``rises = k − j`` of them, all consecutive and
  the most recent. The search stops with reason ``patience`` when rises ≥ ``patience`` — the error has stayed above
  the best for ``patience`` consecutive ε. A tie with the best is not a rise (it resets the count); a new best resets
  it too. Otherwise, if the next ε would exceed ``max_eps`` it stops with reason ``max_eps``; else it visits ε_k + s.
  When both hold at once the reason is ``patience`` (the more informative one).
* **Answer.** ε* = the visited ε with the lowest validation error; ties go to the smaller ε (as in the grid's
  overdesign table: closer to δ, cheaper to train). Only ε* (and the ε = δ baseline) are evaluated on the test split.

:func:`decide` is the pure decision; :func:`step_record` / :func:`walk` are what the workflow's checkpoint
(one decision file per visited ε) and its input functions use; :func:`result_record` / :func:`table` build the
reported table.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from typing import Callable, Mapping

import pandas as pd

from atspectrum.runtime.paths import search_dir, val_eval_file  # noqa: F401 (re-exported: the search's paths)

PATIENCE = "patience"
MAX_EPS = "max_eps"
MAX_STRENGTH = 255
SELECT_SPLIT = "val_select"  # the validation rows that select checkpoints when a search runs
SEARCH_SPLIT = "val_search"  # the disjoint rest: what the search measures on


def selection_split(search_on: bool) -> str:
    """The prepared split that training validates on and selects its checkpoint by: the whole validation split, or,
    when an overdesign search runs, only its selection part (the search measures on the disjoint :data:`SEARCH_SPLIT`).
    """
    return SELECT_SPLIT if search_on else "val"


@dataclass(frozen=True)
class Settings:
    """One search: attack strength ``delta``, ε increment ``step``, ``patience`` and the bound ``max_eps``."""

    delta: int
    step: int
    patience: int
    max_eps: int

    def __post_init__(self):
        for name in ("delta", "step", "patience", "max_eps"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"search {name} must be an integer, got {value!r}")
        if self.delta < 1:
            raise ValueError(f"search delta must be at least 1, got {self.delta}")
        if self.step < 1 or self.patience < 1:
            raise ValueError(f"search step and patience must be at least 1, got {self.step} and {self.patience}")
        if not self.delta <= self.max_eps <= MAX_STRENGTH:
            raise ValueError(
                f"search max_eps must lie in [delta, {MAX_STRENGTH}] = [{self.delta}, {MAX_STRENGTH}], "
                f"got {self.max_eps}"
            )

    def schedule(self) -> list[int]:
        """Every ε the search may visit, in order: δ, δ + s, …, up to ``max_eps``."""
        return list(range(self.delta, self.max_eps + 1, self.step))

    def previous(self, eps: int) -> int | None:
        """The ε visited just before ``eps`` (None for the start, ε = δ); ``eps`` must be on the schedule."""
        if eps not in self.schedule():
            raise ValueError(
                f"eps {eps} is not visited by the search at delta {self.delta} (delta + k * "
                f"{self.step}, at most max_eps {self.max_eps})"
            )
        return None if eps == self.delta else eps - self.step


@dataclass(frozen=True)
class Decision:
    """What to do after the last visit: ``stop`` with a ``reason``, or visit ``next_eps``."""

    stop: bool
    next_eps: int | None
    reason: str | None
    eps_star: int
    best_error: float
    rises: int  # how many of the most recent visits lie strictly above the best error so far


def _decide_prefix(settings: Settings, eps: list[int], errors: list[float]) -> Decision:
    best = min(errors)
    first = errors.index(best)
    last = len(errors) - 1 - errors[::-1].index(best)
    rises = len(errors) - 1 - last
    common = {"eps_star": eps[first], "best_error": best, "rises": rises}
    if rises >= settings.patience:
        return Decision(stop=True, next_eps=None, reason=PATIENCE, **common)
    following = eps[-1] + settings.step
    if following > settings.max_eps:
        return Decision(stop=True, next_eps=None, reason=MAX_EPS, **common)
    return Decision(stop=False, next_eps=following, reason=None, **common)


def decide(settings: Settings, errors: Mapping[int, float]) -> Decision:
    """The decision after visiting every ε in ``errors`` (ε → validation robust error in %).

    The visited ε must be the start of the schedule (δ, δ + s, … with nothing skipped), and the search must not have
    stopped before the last of them: a value after a stop is refused, never silently used.
    """
    if not errors:
        raise ValueError("the search has visited no eps yet")
    eps = sorted(int(e) for e in errors)
    expected = settings.schedule()[: len(eps)]
    if eps != expected:
        raise ValueError(
            f"the search at delta {settings.delta} visits eps {settings.schedule()} in order; got errors for {eps}"
        )
    values = [float(errors[e]) for e in eps]
    for e, v in zip(eps, values):
        if math.isnan(v) or not 0 <= v <= 100:
            raise ValueError(f"validation error at eps {e} must be a percentage in [0, 100], got {v}")
    for k in range(1, len(eps)):
        earlier = _decide_prefix(settings, eps[:k], values[:k])
        if earlier.stop:
            raise ValueError(
                f"the search at delta {settings.delta} stopped at eps {eps[k - 1]} ({earlier.reason}); "
                f"eps {eps[k]} is not part of it"
            )
    return _decide_prefix(settings, eps, values)


def error_percent(frame: pd.DataFrame) -> float:
    """Error in percent of a per-example frame (column ``correct``), as wrong / n exactly (ties stay ties)."""
    n = len(frame)
    if n == 0:
        raise ValueError("cannot compute an error on zero examples")
    return 100.0 * int((~frame["correct"].astype(bool)).sum()) / n


def step_record(settings: Settings, previous: Mapping | None, eps: int, val_error: float, n: int) -> dict:
    """The decision file of one visit: every visit so far (from ``previous``'s file) plus this one, and the decision."""
    if (previous is None) != (settings.previous(eps) is None):
        raise ValueError(
            f"eps {eps}: the start of the search (eps = delta = {settings.delta}) has no previous "
            f"decision and every later eps needs one"
        )
    visited = [dict(v) for v in previous["visited"]] if previous is not None else []
    if previous is not None and int(previous["delta"]) != settings.delta:
        raise ValueError(f"previous decision is for delta {previous['delta']}, not {settings.delta}")
    visited.append({"eps": int(eps), "val_error": float(val_error), "n": int(n)})
    d = decide(settings, {v["eps"]: v["val_error"] for v in visited})
    return {
        "delta": settings.delta,
        "step": settings.step,
        "patience": settings.patience,
        "max_eps": settings.max_eps,
        "visited": visited,
        "stop": d.stop,
        "next_eps": d.next_eps,
        "reason": d.reason,
        "eps_star": d.eps_star,
        "best_val_error": d.best_error,
        "rises": d.rises,
    }


def read_step(path: str | os.PathLike) -> dict:
    with open(path) as fh:
        return json.load(fh)


def walk(delta: int, get_step: Callable[[int], str | os.PathLike]) -> tuple[list[str], dict]:
    """Follow the decisions from ε = δ until one says stop; returns every decision file and the last record.

    ``get_step(eps)`` gives the path of that visit's decision file once it exists. In the workflow it is
    ``checkpoints.search_step.get(...)``, which raises until that step has run — so the plan grows one visit at a time.
    """
    eps, paths = int(delta), []
    for _ in range(MAX_STRENGTH + 1):
        path = os.fspath(get_step(eps))
        paths.append(path)
        record = read_step(path)
        if record["stop"]:
            return paths, record
        following = record["next_eps"]
        if following is None or int(following) <= eps:
            raise ValueError(f"{path}: decision to continue without a larger next eps ({following!r})")
        eps = int(following)
    raise ValueError(f"search at delta {delta} did not stop within {MAX_STRENGTH + 1} visits")


def result_record(last: Mapping, star: pd.DataFrame, base: pd.DataFrame) -> dict:
    """The outcome of one search: its stopping decision ``last`` with the TEST robust error (PGD_δ) of the ε*-model
    (``star``) and of the ε = δ model (``base``), a 95% Wilson interval on the former, the gain of overdesigning
    (error at δ − error at ε*) and the exact McNemar p-value of that difference (paired by test example)."""
    from atspectrum import stats

    if not last["stop"]:
        raise ValueError("the search has not stopped yet")
    if len(star) != len(base) or not (star["index"].to_numpy() == base["index"].to_numpy()).all():
        raise ValueError("the eps* and eps = delta test results must cover the same test examples, in order")
    n = len(star)
    wrong = int((~star["correct"].astype(bool)).sum())
    lo, hi = stats.wilson(wrong, n)
    star_err, base_err = error_percent(star), error_percent(base)
    p = stats.mcnemar(star["correct"].to_numpy(), base["correct"].to_numpy())["p_value"]
    return {
        **dict(last),
        "test_error_at_eps_star": star_err,
        "test_error_lo": 100.0 * lo,
        "test_error_hi": 100.0 * hi,
        "test_error_at_delta": base_err,
        "gain": base_err - star_err,
        "p_value": p,
        "n_test": n,
    }


TABLE_COLUMNS = [
    "delta",
    "eps_visited",
    "val_errors",
    "val_error_ci95",
    "stop_reason",
    "eps_star",
    "eps_star_minus_delta",
    "val_error_at_eps_star",
    "test_error_at_eps_star",
    "test_error_lo",
    "test_error_hi",
    "test_error_at_delta",
    "gain",
    "p_value",
    "n_val",
    "n_test",
]


def val_interval(visit: Mapping) -> tuple[float, float]:
    """The 95% Wilson interval (%) of one visit's validation error (``val_error`` % of ``n`` examples)."""
    from atspectrum import stats

    n = int(visit["n"])
    lo, hi = stats.wilson(int(round(float(visit["val_error"]) * n / 100.0)), n)
    return 100.0 * lo, 100.0 * hi


def table(results: list[Mapping]) -> pd.DataFrame:
    """One row per δ: the ε visited with their validation errors (%) and each one's 95% Wilson interval, why the search
    stopped, ε*, ε* − δ, and the test errors (%) at ε* (with its 95% interval) and at ε = δ, the gain and its McNemar
    p-value."""
    rows = []
    for r in sorted(results, key=lambda r: int(r["delta"])):
        visited = r["visited"]
        rows.append(
            {
                "delta": int(r["delta"]),
                "eps_visited": ", ".join(str(v["eps"]) for v in visited),
                "val_errors": ", ".join(f"{v['val_error']:.2f}" for v in visited),
                "val_error_ci95": ", ".join("{:.2f}–{:.2f}".format(*val_interval(v)) for v in visited),
                "stop_reason": r["reason"],
                "eps_star": int(r["eps_star"]),
                "eps_star_minus_delta": int(r["eps_star"]) - int(r["delta"]),
                "val_error_at_eps_star": float(r["best_val_error"]),
                "test_error_at_eps_star": float(r["test_error_at_eps_star"]),
                "test_error_lo": float(r["test_error_lo"]),
                "test_error_hi": float(r["test_error_hi"]),
                "test_error_at_delta": float(r["test_error_at_delta"]),
                "gain": float(r["gain"]),
                "p_value": float(r["p_value"]),
                "n_val": int(visited[-1]["n"]),
                "n_test": int(r["n_test"]),
            }
        )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


# Artifact paths under results/<run>/search/<model>/seed<s>/ (the models and the grid's test evaluations are the
# grid's own).


def test_eval_file(root: str, model: str, seed, delta, eps) -> str:
    """PGD_δ per TEST example of an ε-model that no evaluation unit of the grid covers (rule evaluate_pgd_cell): the
    search's result reads it for an ε* (or ε = δ) outside the grid; inside, it reads the grid's cell."""
    return f"{search_dir(root, model, seed, delta)}/eps{eps}/test.parquet"


def step_file(root: str, model: str, seed, delta, eps) -> str:
    """The decision after visiting ε (a checkpoint output)."""
    return f"{search_dir(root, model, seed, delta)}/eps{eps}/step.json"


def result_file(root: str, model: str, seed, delta) -> str:
    return f"{search_dir(root, model, seed, delta)}/result.json"
