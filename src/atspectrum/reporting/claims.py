"""A verdict on each of the paper's four claims for whatever grid ran: *holds*, *does not hold* or *inconclusive*,
with the statistic it rests on and its numbers in words (``tables/claims``, the report's first category).

Every verdict is computed here from the run's artifacts; none is asserted. One row per (claim, model, part); the
part ``claim`` combines the parts the claim is made of (:func:`combine`: *does not hold* if any of them does not,
*holds* if all of them hold, else *inconclusive*). A part whose inputs were not configured is *inconclusive* with
the reason ``not run``. ``alpha`` and ``correction`` are the config's ``stats`` (0.05, Holm by default).

- **C1 overdesign** (Section 3), per δ of ``overdesign.delta`` from the per-example PGD_δ results
  (``eval/<model>/eps<ε>/pgd/delta<δ>/none.parquet``); ε* is the most accurate ε (ties: the smaller), as in
  ``tables/overdesign_<model>``. Every per-δ comparison is an exact McNemar test on the same test examples,
  corrected over the δ's (one family per part).

  - *ε* > δ, significant gain over ε = δ*: tested at every δ that is itself a trained ε with a larger ε in the
    grid. Supports at δ when ε* > δ and ε* beats ε = δ significantly; opposes when ε* ≤ δ and ε* beats the best
    ε > δ significantly. The part **holds** if more than half of the tested δ support it and none opposes,
    **does not hold** if more than half oppose and none supports, else is inconclusive (:func:`majority`).
  - *the largest ε is worse than ε**: at every δ, ε* against the largest ε (supports when significant); where
    ε* is the largest ε, the largest against the best smaller ε (opposes when significant); by :func:`majority`.
  - *ε* − δ grows with δ* (reported beside the claim, not part of it: the paper states no trend): Kendall's τ
    between δ and ε* − δ over every δ (exact p-value where there are no ties), holds for τ > 0 and
    p ≤ alpha, does not hold for τ < 0 and p ≤ alpha.

- **C2 quantization** (Section 4), from the ``_ci.csv`` of ``quantization_<model>_<attack>_beta<β>`` (β = 8, the
  paper's headline, where that attack ran at 8, else its largest β): at the first configured quantization point
  (ResNet-18; ``quant_layers`` order) or the second (WideResNet), count the cells (δ > 0, ε) where quantization is
  significantly better (``significant`` and gained > lost) and significantly worse than the unquantized model. Per
  attack, a two-sided sign test of wins against losses: **holds** if wins > losses with p ≤ alpha, **does not
  hold** if losses > wins with p ≤ alpha. The claim is transfer PGD and BPDA (the paper's attacks); APGD-BPDA and
  the per-example worst case are reported beside it (``survives …``). The cells share test images, so the sign
  test's independence is an approximation.

- **C3 filter norms** (Section 5), from ``tables/filter_norms_<model>.csv`` (the paper's measure: over each
  layer's 3×3 kernel slices, the mean / max of max|w|; 1×1 shortcut convs excluded). The weights are what was
  trained, with no sampling error to test: *first two layers largest* **holds** if at every ε both of layers 1
  and 2 have a larger mean than every other layer, else does not hold; *max norms monotone* (ResNet-18 only, as
  the paper: not WideResNet) holds if the max of layers 1 and 2 never decreases from one ε to the next.

- **C4 corruptions** (Section 6), over the ε > 0 models (as the paper's Table 2; ε = 0 is given in the numbers)
  from ``tables/corruptions_<model>`` (the ``average`` row and its Wilson intervals) and ``tables/preact_<model>``:

  - *best at a small ε*: ε_best (highest average accuracy, ties: the smaller) ≤ max(2, the smallest ε > 0) holds;
    a larger ε_best does not hold when its 95% Wilson interval lies above that of the best small ε, else
    inconclusive;
  - *falls beyond it*: least-squares slope of the average accuracy against ε over ε ≥ ε_best with its 95% t
    interval (at least three ε): holds if the interval is below 0, does not hold if above;
  - *pre-activation mean moves towards zero*: Kendall's τ between ε and |mean| of the final pre-activation features
    by the paper code's statistic (``code_mean``: per corruption at severity 5, averaged over the corruptions):
    holds for τ < 0 with p ≤ alpha, does not hold for τ > 0 with p ≤ alpha.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pandas as pd
from scipy import stats as _stats

from atspectrum.reporting import tables
from atspectrum.runtime import paths

HOLDS, FAILS, INCONCLUSIVE = "holds", "does not hold", "inconclusive"
VERDICTS = (HOLDS, FAILS, INCONCLUSIVE)
NOT_RUN = "not run"
COLUMNS = ["claim", "model", "part", "verdict", "statistic", "numbers", "figures"]
CLAIMS = {"C1": "overdesign", "C2": "quantization", "C3": "filter norms", "C4": "corruptions"}
HEADLINE_BETA = 8.0
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


def _pct(v: float) -> str:
    return f"{v:.1f}%"


def _p(p: float) -> str:
    return f"{p:.2g}"


# ----------------------------------------------------------------------------------------------------- C1 overdesign
def overdesign(
    frames: dict, deltas: list[int], alpha: float = 0.05, correction: str = "holm", model: str = "", figures=()
) -> list[dict]:
    """C1 from per-example PGD frames keyed (ε, δ) (columns ``index``, ``correct``); rows as described above."""
    deltas = sorted(d for d in deltas if any(k[1] == d for k in frames))
    if not deltas:
        return [not_run("C1", model, "claim", "no PGD evaluations at an overdesign delta", figures)]
    over = tables.overdesign_table(tables.accuracy_grid(frames), deltas).set_index("delta")
    acc = {k: 100.0 * float(f["correct"].mean()) for k, f in frames.items()}
    eps_of = {d: sorted(e for e, dd in frames if dd == d) for d in deltas}

    def best(d, candidates):  # the most accurate ε among candidates (ties: the smaller)
        return max(sorted(candidates), key=lambda e: (acc[(e, d)], -e))

    # part 1: eps* > delta with a significant gain over eps = delta
    cells1, cells3 = [], []
    for d in deltas:
        star, grid = int(over.at[d, "eps_star"]), eps_of[d]
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
    # reported beside the claim: does eps* - delta grow with delta?
    gap = over["eps_star_minus_delta"]
    tau, p = kendall(gap.index.to_numpy(), gap.to_numpy())
    growth = ", ".join(f"delta {d}: {int(g)}" for d, g in gap.items())
    rows.append(
        row(
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
    )
    claim = combine([rows[0]["verdict"], rows[1]["verdict"]])
    return [
        row(
            "C1",
            model,
            "claim",
            claim,
            "the two parts below combined",
            f"{rows[0]['part']}: {rows[0]['verdict']}; {rows[1]['part']}: {rows[1]['verdict']}",
            figures,
        )
    ] + rows


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


# --------------------------------------------------------------------------------------------------- C2 quantization
def quant_point(arch: str, layers: list[str]) -> str | None:
    """The paper's quantization point of an architecture among the configured ``layers`` (forward order)."""
    k = QUANT_POINT.get(arch)
    return layers[k] if k is not None and k < len(layers) else None


def quant_cells(ci: pd.DataFrame, layer: str) -> tuple[int, int, int]:
    """(significant wins, significant losses, cells) of quantization at ``layer`` in a quantization table's
    ``_ci.csv`` (δ > 0 rows)."""
    for col in ("delta", "layer", "gained", "lost", "significant"):
        if col not in ci.columns:
            raise ValueError(f"quantization statistics lack the column {col!r} (re-run aggregate_quantization)")
    cells = ci[(ci["layer"] == layer) & (ci["delta"] > 0)]
    sig = cells["significant"].astype(str).str.lower().isin(["true", "1"])
    wins = int((sig & (cells["gained"] > cells["lost"])).sum())
    losses = int((sig & (cells["lost"] > cells["gained"])).sum())
    return wins, losses, len(cells)


def sign_test(wins: int, losses: int) -> float:
    return float(_stats.binomtest(wins, wins + losses, 0.5).pvalue) if wins + losses else 1.0


def quantization(
    cis: dict,
    arch: str,
    layers: list[str],
    alpha: float = 0.05,
    model: str = "",
    labels: dict | None = None,
    figures=(),
) -> list[dict]:
    """C2 from ``{attack: (β, _ci frame or None)}`` (None: that attack did not run) for one model."""
    labels = labels or {}
    point = quant_point(arch, layers)
    paper = ("transfer", "bpda")
    beside = ("apgd-bpda", "worst")
    if point is None:
        which = {0: "first", 1: "second"}.get(QUANT_POINT.get(arch), "paper's")
        return [
            not_run(
                "C2",
                model,
                "claim",
                f"no {which} quantization point configured for {arch} (quant_layers {layers})",
                figures,
            )
        ]
    rows = []
    for attack in paper + beside:
        part = (
            f"quantized beats unquantized under {attack}"
            if attack in paper
            else "survives the per-example worst case"
            if attack == "worst"
            else f"survives {attack}"
        )
        beta, ci = cis.get(attack, (None, None))
        if ci is None:
            rows.append(not_run("C2", model, part, f"{attack} is not configured", figures))
            continue
        wins, losses, n = quant_cells(ci, point)
        p = sign_test(wins, losses)
        rows.append(
            row(
                "C2",
                model,
                part,
                signed(wins - losses, p, alpha, +1),
                "sign test of significantly better vs worse cells (per-cell exact McNemar, as the table)",
                f"after {point} at beta {beta:g} under {labels.get(attack, attack)}: better in {wins}, "
                f"worse in {losses}, no significant change in {n - wins - losses} of {n} cells; "
                f"sign test p = {_p(p)}",
                figures,
            )
        )
    claim = combine(r["verdict"] for r in rows[:2])
    return [
        row(
            "C2",
            model,
            "claim",
            claim,
            "transfer PGD and BPDA combined (APGD-BPDA / worst case beside it)",
            "; ".join(f"{r['part']}: {r['verdict']}" for r in rows[:2]),
            figures,
        )
    ] + rows


# --------------------------------------------------------------------------------------------------- C3 filter norms
def filter_norms(frame: pd.DataFrame, arch: str, model: str = "", figures=()) -> list[dict]:
    """C3 from the filter-norm table of one model (columns ``eps``, ``kind``, ``index``, ``mean``, ``max``)."""
    for col in ("eps", "kind", "index", "mean", "max"):
        if col not in frame.columns:
            raise ValueError(f"filter-norm table lacks the column {col!r}")
    f = frame[frame["kind"] != "1x1"].dropna(subset=["index"])
    eps = sorted(int(e) for e in f["eps"].unique())
    first, rest = f[f["index"].isin([1, 2])], f[f["index"] > 2]
    if rest.empty or first["index"].nunique() < 2:
        rows = [not_run("C3", model, "first two layers' mean norms largest", "fewer than three conv layers", figures)]
    else:
        margins = {
            e: float(first.loc[first["eps"] == e, "mean"].min() / rest.loc[rest["eps"] == e, "mean"].max()) for e in eps
        }
        failing = [e for e, m in margins.items() if not m > 1]
        lo = min(margins, key=margins.get)
        rows = [
            row(
                "C3",
                model,
                "first two layers' mean norms largest",
                FAILS if failing else HOLDS,
                "min over layers 1-2 / max over the other layers of the mean norm, every eps (> 1 holds)",
                f"ratio {min(margins.values()):.2f} (eps {lo}) to {max(margins.values()):.2f} over {len(eps)} "
                f"eps" + (f"; not larger at eps {', '.join(map(str, failing))}" if failing else ""),
                figures,
            )
        ]
    if arch == "resnet18":
        words, drops = [], []
        for idx in (1, 2):
            curve = first[first["index"] == idx].sort_values("eps")
            values = curve["max"].to_numpy(dtype=float)
            drops += [f"layer {idx} at eps {int(e)}" for e, dv in zip(curve["eps"].iloc[1:], np.diff(values)) if dv < 0]
            words.append(f"layer {idx}: " + ", ".join(f"{v:.3g}" for v in values))
        if first.empty:
            rows.append(not_run("C3", model, "first two layers' max norms monotone in eps", "no conv layers", figures))
        else:
            rows.append(
                row(
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
            )
    claim = combine(r["verdict"] for r in rows)
    return [
        row(
            "C3",
            model,
            "claim",
            claim,
            "the parts below combined",
            "; ".join(f"{r['part']}: {r['verdict']}" for r in rows),
            figures,
        )
    ] + rows


# ---------------------------------------------------------------------------------------------------- C4 corruptions
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
    rows = []
    clean0 = f"; eps 0 (standard training): {_pct(acc[0])}" if 0 in acc else ""
    if not eps:
        return [not_run("C4", model, "claim", "no eps > 0 model", figures)]
    small = small_eps(eps)
    best = max(eps, key=lambda e: (acc[e], -e))
    curve = ", ".join(f"eps {e}: {_pct(acc[e])}" for e in eps)
    if best <= small:
        where = HOLDS
    else:
        interval = ci[ci["corruption"] == "average"].set_index("column")
        best_small = max((e for e in eps if e <= small), key=lambda e: (acc[e], -e))
        where = (
            FAILS if interval.at[f"eps{best}", "ci_low"] > interval.at[f"eps{best_small}", "ci_high"] else INCONCLUSIVE
        )
    rows.append(
        row(
            "C4",
            model,
            f"best average corruption accuracy at a small eps (<= {small})",
            where,
            "eps of the highest average accuracy; a larger one against the best small eps by 95% Wilson intervals",
            f"best at eps {best}; {curve}{clean0}",
            figures,
        )
    )
    beyond = [e for e in eps if e >= best]
    slope, lo, hi = slope_interval(beyond, [acc[e] for e in beyond])
    verdict = INCONCLUSIVE if not np.isfinite(lo) else HOLDS if hi < 0 else FAILS if lo > 0 else INCONCLUSIVE
    rows.append(
        row(
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
    )
    part = "final pre-activation mean moves towards zero as eps grows"
    if preact is None:
        rows.append(not_run("C4", model, part, "no pre-activation table", figures))
    else:
        p_ = preact[preact["eps"] > 0].sort_values("eps")
        tau, p = kendall(p_["eps"], p_["code_mean"].abs())
        means = ", ".join(f"eps {int(e)}: {m:.3g}" for e, m in zip(p_["eps"], p_["code_mean"]))
        rows.append(
            row(
                "C4",
                model,
                part,
                signed(tau, p, alpha, -1),
                "Kendall tau of abs(mean) (paper code's statistic: severity-5 mean per corruption, averaged) "
                "against eps",
                f"{means}; tau = {tau:.2f}, p = {_p(p)}"
                if np.isfinite(tau)
                else f"{means}; fewer than 3 eps or no variation: no trend test",
                figures,
            )
        )
    claim = combine(r["verdict"] for r in rows)
    return [
        row(
            "C4",
            model,
            "claim",
            claim,
            "the three parts below combined",
            "; ".join(f"{r['part']}: {r['verdict']}" for r in rows),
            figures,
        )
    ] + rows


# ------------------------------------------------------------------------------------------- the plan and its files
def plan(config: dict) -> dict:
    """What the claims read for this config, as plain values (a rule's params): per model its arch, ε, the
    quantization point's layers and the (attack → β) of the C2 tables; the overdesign δ; which sections ran."""
    from atspectrum import config as atconfig

    quant = atconfig.quantization_enabled(config)
    attacks = config["quantization"]["attacks"] if quant else []
    models = {}
    for m in sorted(config["models"]):
        betas = {}
        for a in attacks:
            run = atconfig.quant_attack_betas(config, a)
            if run:
                betas[a] = HEADLINE_BETA if HEADLINE_BETA in run else max(run)
        models[m] = {
            "arch": config["models"][m]["arch"],
            "eps": atconfig.eps_list(config, m),
            "quant_layers": atconfig.quant_layers(config, m) if quant else [],
            "betas": betas,
            "labels": {a: atconfig.quant_attack_label(config, a) for a in betas},
        }
    return {
        "models": models,
        "deltas": atconfig.overdesign_deltas(config),
        "filters": bool(config["filters"]),
        "corruptions": atconfig.corruptions_enabled(config),
        "stats": dict(config["stats"]),
    }


def figure_sources(plan: dict, root: str, model: str) -> dict[str, list[str]]:
    """Per claim, the figures of ``model`` it rests on (only those the configured sections make)."""
    fig = lambda stem: paths.figure_files(root, stem, ("png",))[0]  # noqa: E731
    spec = plan["models"][model]
    return {
        "C1": [fig(f"robust_error_{model}")],
        "C2": [fig(f"quantization_gain_{model}_{a}") for a in spec["betas"]],
        "C3": [fig(f"filter_norms_{model}_{s}") for s in ("mean", "max")] if plan["filters"] else [],
        "C4": [fig(f"preact_mean_{model}")] if plan["corruptions"] else [],
    }


def figure_copy(root: str, claim: str, source: str) -> str:
    """Where the claims rule puts its copy of ``source`` (the report shows it beside the claim)."""
    return f"{root}/figures/claims/{claim}_{os.path.basename(source)}"


def input_files(plan: dict, root: str) -> list[str]:
    """Every artifact :func:`evaluate` reads (figures excluded)."""
    files = []
    for m, spec in plan["models"].items():
        files += [paths.eval_file(root, m, e, "pgd", d) for e in spec["eps"] for d in plan["deltas"]]
        files += [
            paths.ci_file(root, f"quantization_{m}_{a}_beta{paths.beta_token(b)}") for a, b in spec["betas"].items()
        ]
        if plan["filters"]:
            files.append(f"{root}/tables/filter_norms_{m}.csv")
        if plan["corruptions"]:
            files += [
                f"{root}/tables/corruptions_{m}.csv",
                paths.ci_file(root, f"corruptions_{m}"),
                f"{root}/tables/preact_{m}.csv",
            ]
    return files


def evaluate(plan: dict, root: str) -> pd.DataFrame:
    """Every claim for every model of ``plan`` from the artifacts under ``root``: the claims table."""
    alpha, correction = plan["stats"]["alpha"], plan["stats"]["correction"]
    rows = []
    for m, spec in plan["models"].items():
        mine = figure_sources(plan, root, m)
        frames = {
            (e, d): pd.read_parquet(paths.eval_file(root, m, e, "pgd", d)) for e in spec["eps"] for d in plan["deltas"]
        }
        rows += overdesign(frames, plan["deltas"], alpha, correction, m, mine["C1"])
        if spec["betas"]:
            cis = {
                a: (b, pd.read_csv(paths.ci_file(root, f"quantization_{m}_{a}_beta{paths.beta_token(b)}")))
                for a, b in spec["betas"].items()
            }
            rows += quantization(cis, spec["arch"], spec["quant_layers"], alpha, m, spec["labels"], mine["C2"])
        else:
            rows.append(not_run("C2", m, "claim", "quantization is not configured"))
        if plan["filters"]:
            frame = pd.read_csv(f"{root}/tables/filter_norms_{m}.csv", dtype={"index": "Int64"})
            rows += filter_norms(frame, spec["arch"], m, mine["C3"])
        else:
            rows.append(not_run("C3", m, "claim", "filters is off"))
        if plan["corruptions"]:
            rows += corruptions(
                pd.read_csv(f"{root}/tables/corruptions_{m}.csv"),
                pd.read_csv(paths.ci_file(root, f"corruptions_{m}")),
                pd.read_csv(f"{root}/tables/preact_{m}.csv"),
                alpha,
                m,
                mine["C4"],
            )
        else:
            rows.append(not_run("C4", m, "claim", "corruptions is not configured"))
    table = pd.DataFrame(rows, columns=COLUMNS)
    order = {c: i for i, c in enumerate(f"{k} {v}" for k, v in CLAIMS.items())}
    return table.sort_values(
        ["claim", "model"], key=lambda s: s.map(order) if s.name == "claim" else s, kind="stable"
    ).reset_index(drop=True)


CAPTION = (
    "The paper's claims tested on this run: verdict holds / does not hold / inconclusive per claim, model and "
    "part (the row 'claim' combines its parts); statistic and numbers say how. Every test is computed from "
    "this run's per-example results and tables (see the report's caption for the rules)."
)
