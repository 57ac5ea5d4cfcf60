"""Running the checklist: reading the evaluations :func:`atspectrum.planning.checklist.plan` names, one row per
check × model × ε (× training seed), and the table, its failures and their enforcement.

:func:`collect` reads every cell through the job's declared inputs (an :class:`atspectrum.planning.CellIndex`) and
runs every check of :mod:`.verdicts` (the gradient-masking checks by :func:`masking_rows`); :func:`table` lays the
rows out with a failed status marked;
:func:`failures`, :func:`summary` and :func:`enforce` (raising :class:`ChecklistFailed` under
``checklist.strict``) say what failed.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from atspectrum.planning import Cell, beta_token, more_steps_attack
from atspectrum.planning.checklist import big_delta as big_delta_of
from atspectrum.planning.checklist import masking_cells
from atspectrum.specs import accuracy
from atspectrum.strengths import like, strength

from .verdicts import (
    CHECKS,
    COLUMNS,
    FAIL,
    MASKING_CHECKS,
    NA,
    PASS,
    adv_stats,
    check_adv_budget,
    check_drop,
    check_large_beta,
    check_large_delta,
    check_monotone,
    check_more_steps,
    check_transfer_vs_whitebox,
    combine,
    not_applicable,
)


def read_adv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, int | float]:
    """A cached transfer file as stored (no checks: judging it is the checklist's job)."""
    with np.load(path, allow_pickle=False) as z:
        return z["adv"], z["labels"], z["delta"].item()


def row(check: str, model: str, eps, verdict: dict) -> dict:
    return {"check": check, "model": model, "eps": None if eps is None else strength(eps), **verdict}


def collect(
    the_plan: dict,
    settings: dict,
    index,
    images: np.ndarray,
    labels: np.ndarray,
    seed: int = 0,
    read_cached=read_adv,
) -> list[dict]:
    """Read the cells named by :func:`atspectrum.planning.checklist.plan` for one training ``seed`` from ``index``
    and run every check; one row per check × model × ε (the checks that concern no ε in particular, or do not apply,
    get one row per model without ε)."""

    def frame(model, eps, attack, delta, layer="none", beta=None):
        return index.frame(Cell(model, seed, eps, attack, delta, layer, beta))  # each file read once

    rows = []
    for model, m in the_plan["models"].items():
        pgd = {e: {d: frame(model, e, "pgd", d) for d in m["pgd"][e]} for e in m["eps"]}
        rows += _pgd_rows(model, m, pgd, frame, the_plan["steps"], settings)
        if not the_plan["quantization"]:
            checks = ("transfer_vs_bpda", *MASKING_CHECKS, "adv_budget", "large_beta")
            rows += [row(check, model, None, not_applicable("quantization is off")) for check in checks]
            continue
        rows += _quantized_rows(model, m, pgd, frame, settings)
        rows += masking_rows(model, m["masking"], settings, index, seed)
        for e in m["eps"]:
            stats = []
            for d in m["adv"]:
                adv, stored_labels, stored_delta = read_cached(index.adv(model, seed, e, d))
                stats.append(adv_stats(adv, stored_labels, stored_delta, images, labels, d))
                del adv
            rows.append(row("adv_budget", model, e, check_adv_budget(stats, settings["adv_budget"]["tolerance"])))
    return rows


def _pgd_rows(model: str, m: dict, pgd: dict, frame, steps: int, s: dict) -> list[dict]:
    """The PGD checks of one model: accuracy monotone in δ, near zero at a very large δ, steady with more steps."""
    big_delta, factor = big_delta_of(m, s), s["more_steps"]["factor"]
    rows = [row("monotone_delta", model, e, check_monotone(pgd[e], s["monotone"]["tolerance"])) for e in m["eps"]]
    for e in m["large_delta"]:
        verdict = check_large_delta(pgd[e][big_delta], big_delta, steps, s["large_delta"]["max_accuracy"])
        rows.append(row("large_delta", model, e, verdict))
    for e, d in m["more_steps"]:
        more = frame(model, e, more_steps_attack(factor), d)
        verdict = check_more_steps(pgd[e][d], more, d, steps, steps * factor, s["more_steps"]["tolerance"])
        rows.append(row("more_steps", model, e, verdict))
    return rows


def _quantized_rows(model: str, m: dict, pgd: dict, frame, s: dict) -> list[dict]:
    """Transfer against every white-box attack on each quantized cell, and the very large β against the clean
    accuracy."""
    rows, big_beta = [], s["large_beta"]["beta"]
    for e in m["eps"]:
        cells = [
            {
                "delta": d,
                "layer": layer,
                "beta": b,
                "attack": attack,
                "transfer": frame(model, e, "transfer", d, layer, b),
                "whitebox": frame(model, e, attack, d, layer, b),
            }
            for attack, w in m["whitebox"].items()
            for d in w["deltas"]
            for layer in m["layers"]
            for b in w["betas"]
        ]
        verdict = check_transfer_vs_whitebox(cells, s["transfer_vs_bpda"]["tolerance"])
        rows.append(row("transfer_vs_bpda", model, e, verdict))
    for e in m["large_beta"]:
        quantized = {layer: frame(model, e, "transfer", like(0, e), layer, big_beta) for layer in m["layers"]}
        verdict = check_large_beta(pgd[e][like(0, e)], quantized, big_beta, s["large_beta"]["tolerance"])
        rows.append(row("large_beta", model, e, verdict))
    return rows


def masking_rows(model: str, masking: dict, settings: dict, index, seed: int = 0) -> list[dict]:
    """The gradient-masking checks of one model (``masking`` from :func:`plan`): one row per check and ε, each the
    verdict of its cells combined by :func:`combine` (layer × δ at the headline β); n/a where a check has no cell."""
    s = settings
    if "beta" not in masking:
        return [row(check, model, None, not_applicable(masking["reason"])) for check in MASKING_CHECKS]
    steps, factor, token = masking["bpda_steps"], s["more_steps"]["factor"], beta_token(masking["beta"])
    read = index.frame  # each cell's file read once
    verdicts = {}
    for (check, e, d, layer), f in masking_cells(masking, s, model, seed).items():
        if check == "bpda_large_delta":
            v = check_large_delta(read(f["large"]), d, steps, s["large_delta"]["max_accuracy"], "BPDA")
        elif check == "bpda_more_steps":
            v = check_more_steps(
                read(f["bpda"]), read(f["more"]), d, steps, steps * factor, s["more_steps"]["tolerance"], "BPDA"
            )
        else:
            v = check_drop(
                read(f["bpda"]),
                read(f["apgd"]),
                f"BPDA_{d}-{steps}",
                f"APGD-BPDA_{d}-{masking['apgd_steps']}",
                s["masking"]["apgd_tolerance"],
            )
            unquantized = accuracy(read(f["bpda_none"])) - accuracy(read(f["apgd_none"]))
            v["measured"] += f" (unquantized model: drop {unquantized:.2f} pp)"
        verdicts.setdefault((check, e), {})[f"delta {d} {layer} beta {token}"] = v
    rows = [row(check, model, e, combine(cells)) for (check, e), cells in verdicts.items()]
    for check in MASKING_CHECKS:
        if not any(c == check for c, _ in verdicts):
            reason = masking.get("apgd_reason") if check == "apgd_vs_bpda" else None
            rows.append(row(check, model, None, not_applicable(reason or "no quantized cell to check")))
    return rows


def table(rows: list[dict]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The checklist table (:data:`COLUMNS`, in check order; rows from several training seeds get a ``seed`` column
    after the model) and its marks: a failed status in bold."""
    order = {c: i for i, c in enumerate(CHECKS)}
    rows = sorted(
        rows,
        key=lambda r: (
            order.get(r["check"], len(order)),
            r["model"],
            r.get("seed", 0),
            -1 if r["eps"] is None else r["eps"],
        ),
    )
    columns = list(COLUMNS)
    if len({r.get("seed", 0) for r in rows}) > 1:
        columns.insert(columns.index("model") + 1, "seed")
    df = pd.DataFrame([[r[c] for c in columns] for r in rows], columns=columns)
    df["eps"] = pd.Series([r["eps"] for r in rows], dtype=object)
    marks = pd.DataFrame("", index=df.index, columns=df.columns)
    marks.loc[df["status"] == FAIL, "status"] = "+"
    return df, marks


def failures(rows) -> list[str]:
    """Names of the failed checks, e.g. ``large_delta (resnet18, eps 32)``."""
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
    return [
        f"{r['check']} ({r['model']}" + ("" if r["eps"] is None or r["eps"] != r["eps"] else f", eps {r['eps']}") + ")"
        for r in records
        if r["status"] == FAIL
    ]


class ChecklistFailed(RuntimeError):
    """Raised by :func:`enforce` when ``checklist.strict`` is set and a check failed."""


def enforce(rows, strict: bool, where: str = "the checklist table") -> list[str]:
    """The failed checks; with ``strict`` a :class:`ChecklistFailed` naming each of them instead."""
    failed = failures(rows)
    if failed and strict:
        raise ChecklistFailed(
            f"checklist.strict is set and {len(failed)} check(s) failed: {'; '.join(failed)} (see {where})"
        )
    return failed


def summary(rows) -> str:
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
    counts = {k: sum(r["status"] == k for r in records) for k in (PASS, FAIL, NA)}
    return f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[NA]} not applicable"
