"""The sanity checklist: checks that the attacks behind every table work, each verdict with its numbers.

A robustness number is only as good as the attack that produced it. These checks catch the usual ways an evaluation
goes wrong (a weak or broken attack, gradient masking, cached examples that left their budget, a quantizer that is
not what it claims to be):

``monotone_delta``   PGD accuracy never increases with δ (per model and ε, over every evaluated δ, clean included).
``large_delta``      at a very large δ (default 64/255) PGD accuracy is at most ``max_accuracy`` (default 1%).
``more_steps``       PGD with ``factor``× the steps (default 5×) lowers accuracy by at most ``tolerance`` points.
``transfer_vs_bpda`` on every quantized cell, transfer accuracy is not below the white-box (BPDA) accuracy by more
                     than ``tolerance`` points: otherwise the white-box attack fails (gradient masking).
``bpda_large_delta`` ``large_delta`` for BPDA on the quantized cells of the first ``masking.layers`` quantization
                     points at the headline β (``masking.beta``): a quantizer that masks BPDA's gradient leaves
                     accuracy up even at a very large δ.
``bpda_more_steps``  ``more_steps`` for BPDA on those cells (at the BPDA δ nearest ε).
``apgd_vs_bpda``     on those cells (every ε, every δ both ran), APGD-BPDA lowers BPDA's accuracy by at most
                     ``masking.apgd_tolerance`` points: otherwise the BPDA tables understate the attack (n/a
                     without ``apgd-bpda`` at that β).
``adv_budget``       cached transfer examples lie in their δ-ball (max abs(x_adv − x) reported in 1/255 units) and in
                     [0, 1], and match the test labels and their δ.
``large_beta``       clean accuracy with the features quantized at a very large β (default 10⁶) equals the
                     unquantized accuracy (floor(β·x)/β → x).

The check functions are pure: they take per-example frames (``index``, ``label``, ``pred``, ``correct``) or arrays
and return a verdict (``status`` pass / fail / n/a, ``value``, ``limit``, ``measured``, ``criterion``).
:func:`plan` derives from a config what to check (and so which evaluations the workflow must run), :func:`collect`
reads those files and runs every check, :func:`table` lays the rows out. Accuracies and tolerances are percentage
points; strengths are in 1/255 units.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from atspectrum import config as atconfig
from atspectrum.runtime import paths
from atspectrum.specs import accuracy

CHECKS = {
    "monotone_delta": "PGD accuracy never increases with delta",
    "large_delta": "PGD accuracy at a very large delta is near zero",
    "more_steps": "PGD with more steps lowers accuracy by at most a tolerance",
    "transfer_vs_bpda": "transfer accuracy is not below white-box (BPDA) accuracy on quantized cells",
    "bpda_large_delta": "BPDA accuracy at a very large delta is near zero on quantized cells",
    "bpda_more_steps": "BPDA with more steps lowers accuracy by at most a tolerance on quantized cells",
    "apgd_vs_bpda": "APGD-BPDA lowers BPDA accuracy by at most a tolerance on quantized cells",
    "adv_budget": "cached transfer examples respect their delta budget and the [0, 1] box",
    "large_beta": "quantized at a very large beta, clean accuracy equals unquantized",
}
COLUMNS = ["check", "model", "eps", "status", "value", "limit", "measured", "criterion"]
PASS, FAIL, NA = "pass", "fail", "n/a"
_SLACK = 1e-9  # float noise in comparisons of percentages


# --------------------------------------------------------------------------------------------------- verdicts


def _verdict(ok: bool, value: float, limit: float, measured: str, criterion: str) -> dict:
    return {
        "status": PASS if ok else FAIL,
        "value": float(value),
        "limit": float(limit),
        "measured": measured,
        "criterion": criterion,
    }


def not_applicable(reason: str) -> dict:
    return {"status": NA, "value": float("nan"), "limit": float("nan"), "measured": reason, "criterion": ""}


def _count(frame: pd.DataFrame) -> str:
    return f"{int(frame['correct'].sum())}/{len(frame)}"


def check_monotone(frames: dict[int, pd.DataFrame], tolerance: float) -> dict:
    """Accuracy must not rise from any δ to any larger δ by more than ``tolerance`` points (every pair, not only
    neighbours, so a slow creep over several δ is caught too). ``frames`` maps δ (0 = clean) to a PGD frame."""
    deltas = sorted(frames)
    if len(deltas) < 2:
        return not_applicable("fewer than two delta evaluated")
    acc = {d: accuracy(frames[d]) for d in deltas}
    rise, pair = 0.0, None
    for i, lo in enumerate(deltas):
        for hi in deltas[i + 1 :]:
            if acc[hi] - acc[lo] > rise:
                rise, pair = acc[hi] - acc[lo], (lo, hi)
    curve = ", ".join(f"{d}: {acc[d]:.2f}" for d in deltas)
    where = f" (delta {pair[0]} to {pair[1]})" if pair else ""
    return _verdict(
        rise <= tolerance + _SLACK,
        rise,
        tolerance,
        f"accuracy % by delta [{curve}]; largest rise {rise:.2f} pp{where}",
        f"rise at most {tolerance:g} pp",
    )


def check_large_delta(frame: pd.DataFrame, delta: int, steps: int, max_accuracy: float, attack: str = "PGD") -> dict:
    """``attack``_δ-steps accuracy at a very large δ must be at most ``max_accuracy`` percent."""
    acc = accuracy(frame)
    return _verdict(
        acc <= max_accuracy + _SLACK,
        acc,
        max_accuracy,
        f"{attack}_{delta}-{steps}: {acc:.2f}% ({_count(frame)} correct)",
        f"accuracy at most {max_accuracy:g}%",
    )


def check_drop(
    base: pd.DataFrame, stronger: pd.DataFrame, base_name: str, stronger_name: str, tolerance: float
) -> dict:
    """A stronger attack (more steps, APGD) may lower the accuracy of the tables' attack (``base``) by at most
    ``tolerance`` points: a larger drop means the tables' attack had not converged, or its gradient is masked."""
    a, b = accuracy(base), accuracy(stronger)
    drop = a - b
    return _verdict(
        drop <= tolerance + _SLACK,
        drop,
        tolerance,
        f"{base_name}: {a:.2f}%, {stronger_name}: {b:.2f}%; drop {drop:.2f} pp",
        f"drop at most {tolerance:g} pp",
    )


def check_more_steps(
    base: pd.DataFrame,
    more: pd.DataFrame,
    delta: int,
    steps: int,
    more_steps: int,
    tolerance: float,
    attack: str = "PGD",
) -> dict:
    """``attack``_δ with ``more_steps`` may lower the accuracy of ``attack``_δ with ``steps`` by at most
    ``tolerance`` points (a larger drop means the grid's attack had not converged)."""
    return check_drop(base, more, f"{attack}_{delta}-{steps}", f"{attack}_{delta}-{more_steps}", tolerance)


def combine(verdicts: dict[str, dict]) -> dict:
    """One verdict of several cells of one check (cell label → that cell's verdict, all with the same limit, larger
    values worse): failed if any cell failed, with the worst cell's value and numbers and how many cells failed."""
    if not verdicts:
        return not_applicable("no cell to check")
    failed = [label for label, v in verdicts.items() if v["status"] == FAIL]
    label, worst = max(verdicts.items(), key=lambda item: item[1]["value"])
    return {
        **worst,
        "status": FAIL if failed else PASS,
        "measured": f"worst cell {label}: {worst['measured']}; {len(failed)} of {len(verdicts)} cells fail",
    }


def check_transfer_vs_whitebox(cells: list[dict], tolerance: float) -> dict:
    """Each cell: ``delta``, ``layer``, ``beta``, ``attack`` (the white-box attack's name) and the frames
    ``transfer`` and ``whitebox`` of the same quantized model. A white-box attack on the quantized model that does
    worse than examples transferred from the unquantized model (transfer accuracy lower by more than ``tolerance``
    points) is failing: the sign of gradient masking."""
    if not cells:
        return not_applicable("no quantized cell under both transfer and a white-box attack")
    gaps = []
    for c in cells:
        t, w = accuracy(c["transfer"]), accuracy(c["whitebox"])
        gaps.append((w - t, t, w, c))
    over = [g for g in gaps if g[0] > tolerance + _SLACK]
    gap, t, w, c = max(gaps, key=lambda g: g[0])
    names = "/".join(sorted({g[3]["attack"] for g in gaps}))
    return _verdict(
        not over,
        gap,
        tolerance,
        f"worst cell delta {c['delta']} {c['layer']} beta {paths.beta_token(c['beta'])}: transfer "
        f"{t:.2f}%, {c['attack']} {w:.2f}% ({c['attack']} minus transfer {gap:+.2f} pp); "
        f"{len(over)} of {len(gaps)} cells over",
        f"{names} minus transfer at most {tolerance:g} pp",
    )


def adv_stats(
    adv: np.ndarray,
    stored_labels: np.ndarray,
    stored_delta: int,
    images: np.ndarray,
    labels: np.ndarray,
    delta: int,
    chunk: int = 1024,
) -> dict:
    """What a cached transfer file holds against the clean uint8 ``images``: ``max_dist`` = max abs(x_adv − x) in
    1/255 units, the value range, and whether shape, labels and δ match what the file name promises."""
    shape_ok = tuple(adv.shape) == tuple(images.shape)
    stats = {
        "delta": int(delta),
        "shape_ok": shape_ok,
        "labels_ok": bool(np.array_equal(np.asarray(stored_labels), np.asarray(labels))),
        "delta_ok": int(stored_delta) == int(delta),
        "max_dist": float("nan"),
        "min": float("nan"),
        "max": float("nan"),
        "finite": True,
    }
    if not shape_ok or len(adv) == 0:
        return stats
    dist, low, high, finite = 0.0, np.inf, -np.inf, True
    for start in range(0, len(adv), chunk):
        a = np.asarray(adv[start : start + chunk], dtype=np.float64)
        x = np.asarray(images[start : start + chunk], dtype=np.float64) / 255.0
        finite = finite and bool(np.isfinite(a).all())
        dist = max(dist, float(np.abs(a - x).max()) * 255.0)
        low, high = min(low, float(a.min())), max(high, float(a.max()))
    stats.update(max_dist=dist, min=low, max=high, finite=finite)
    return stats


def check_adv_budget(stats: list[dict], tolerance: float) -> dict:
    """Every cached file of one (model, ε) (``stats`` from :func:`adv_stats`) must stay within δ + ``tolerance``
    (1/255 units) of its clean image, inside [0, 1], and match the labels, shape and δ it was made for."""
    if not stats:
        return not_applicable("no cached transfer examples")
    excess, parts, problems = -np.inf, [], []
    for s in sorted(stats, key=lambda s: s["delta"]):
        d = s["delta"]
        for key, what in (("shape_ok", "shape"), ("labels_ok", "labels"), ("delta_ok", "stored delta")):
            if not s[key]:
                problems.append(f"delta {d}: {what} mismatch")
        if not s["finite"]:
            problems.append(f"delta {d}: non-finite values")
        if np.isnan(s["max_dist"]):
            continue
        excess = max(excess, s["max_dist"] - d)
        parts.append(f"delta {d}: {s['max_dist']:.4f}")
        if s["max_dist"] > d + tolerance:
            problems.append(f"delta {d}: outside its budget")
        if s["min"] < 0 or s["max"] > 1:
            problems.append(f"delta {d}: values in [{s['min']:.4f}, {s['max']:.4f}], outside [0, 1]")
    low = min((s["min"] for s in stats if not np.isnan(s["min"])), default=float("nan"))
    high = max((s["max"] for s in stats if not np.isnan(s["max"])), default=float("nan"))
    measured = f"max abs(x_adv - x) in 1/255 [{', '.join(parts)}]; values in [{low:.4f}, {high:.4f}]" + (
        f"; {'; '.join(problems)}" if problems else ""
    )
    value = excess if np.isfinite(excess) else float("nan")
    return _verdict(
        not problems,
        value,
        tolerance,
        measured,
        f"max abs(x_adv - x) at most delta + {tolerance:g} (1/255), values in [0, 1]",
    )


def check_large_beta(base: pd.DataFrame, quantized: dict[str, pd.DataFrame], beta: float, tolerance: float) -> dict:
    """Quantizing the features after each layer at a very large β must leave the clean accuracy unchanged (within
    ``tolerance`` points): floor(β·x)/β → x. ``base`` is the unquantized clean frame, ``quantized`` maps layer →
    clean frame at β; changed predictions (paired by test example) are reported too."""
    if not quantized:
        return not_applicable("no quantization point")
    a = accuracy(base)
    parts, worst, over = [], 0.0, []
    for layer, frame in quantized.items():
        q = accuracy(frame)
        changed = (
            int((frame["pred"].to_numpy() != base["pred"].to_numpy()).sum()) if len(frame) == len(base) else len(frame)
        )
        diff = abs(q - a)
        worst = max(worst, diff)
        parts.append(f"{layer}: {q:.2f}% ({changed} predictions changed)")
        if diff > tolerance + _SLACK or len(frame) != len(base):
            over.append(layer)
    return _verdict(
        not over,
        worst,
        tolerance,
        f"unquantized {a:.2f}%; at beta {paths.beta_token(beta)}: {', '.join(parts)}",
        f"accuracy difference at most {tolerance:g} pp",
    )


# --------------------------------------------------------------------------------------------------- the plan


def more_steps_attack(factor: int, attack: str = "pgd") -> str:
    """The attack token (path component) of the run with ``factor``× the grid's steps, e.g. ``pgd5x``, ``bpda5x``."""
    return f"{attack}{int(factor)}x"


def _nearest(deltas: list[int], eps: int) -> int:
    """The δ of ``deltas`` nearest ``eps`` (ties: the larger)."""
    return min(deltas, key=lambda d: (abs(d - eps), -d))


def _masking_plan(config: dict, model: str, eps: list[int], s: dict) -> dict:
    """The gradient-masking checks' cells of one model: the first ``masking.layers`` quantization points at the
    headline β; BPDA at the very large δ and with more steps at the ε the PGD checks use, APGD-BPDA on every ε."""
    beta = atconfig.masking_beta(config)
    if beta is None:
        return {"reason": "bpda is not in quantization.attacks"}
    bpda_deltas = atconfig.quant_deltas(config, "bpda")
    plan = {
        "beta": beta,
        "layers": atconfig.quant_layers(config, model)[: s["masking"]["layers"]],
        "eps": list(eps),
        "bpda_steps": int(config["quantization"]["bpda"]["steps"]),
        "large_delta": _chosen(eps, s["large_delta"]["eps"]),
        "more_steps": [[e, _nearest(bpda_deltas, e)] for e in _chosen(eps, s["more_steps"]["eps"])],
    }
    if "apgd-bpda" not in atconfig.quant_eval_attacks(config):
        plan["apgd_reason"] = "apgd-bpda is not in quantization.attacks"
    elif beta not in atconfig.quant_attack_betas(config, "apgd-bpda"):
        plan["apgd_reason"] = f"apgd-bpda does not run at beta {paths.beta_token(beta)} (quantization.apgd-bpda.beta)"
    else:
        plan["apgd_deltas"] = [d for d in atconfig.quant_deltas(config, "apgd-bpda") if d in bpda_deltas]
        plan["apgd_steps"] = int(config["quantization"]["apgd-bpda"]["steps"])
    return plan


def _chosen(eps: list[int], mode: str) -> list[int]:
    return list(eps) if mode == "all" else [max(eps)]


def plan(config: dict) -> dict:
    """What the checklist checks for a (validated) config: plain lists and numbers, so it can be a rule's params.
    The extra evaluations it needs (very large δ, more steps, very large β) are at the ε chosen by each check's
    ``eps`` setting (``largest``: the model's largest ε; ``all``)."""
    s = atconfig.checklist_settings(config)
    grid_deltas = atconfig.overdesign_deltas(config)
    quant = atconfig.quantization_enabled(config)
    attacks = list(config["quantization"]["attacks"]) if quant else []
    transfer_deltas = [d for d in atconfig.quant_deltas(config, "transfer") if d > 0] if "transfer" in attacks else []
    out = {"steps": int(config["overdesign"]["attack"]["steps"]), "quantization": quant, "models": {}}
    for model in sorted(config["models"]):
        eps = atconfig.eps_list(config, model)
        large = _chosen(eps, s["large_delta"]["eps"])
        pgd = {
            e: sorted(
                set(atconfig.pgd_deltas(config, model, e)) | ({s["large_delta"]["delta"]} if e in large else set())
            )
            for e in eps
        }
        m = {
            "eps": eps,
            "pgd": pgd,
            "large_delta": large,
            # the grid's own PGD_eps evaluation (delta = eps), or its smallest delta for a standard model
            "more_steps": [[e, e if e > 0 else grid_deltas[0]] for e in _chosen(eps, s["more_steps"]["eps"])],
        }
        if quant:
            # every white-box attack on the quantized model (bpda, apgd-bpda; not the "worst" aggregate), on the
            # cells it shares with transfer
            transfer_betas = atconfig.quant_attack_betas(config, "transfer")
            m.update(
                layers=atconfig.quant_layers(config, model),
                adv=transfer_deltas,
                whitebox={
                    a: {
                        "deltas": [d for d in atconfig.quant_deltas(config, a) if d in transfer_deltas],
                        "betas": [b for b in atconfig.quant_attack_betas(config, a) if b in transfer_betas],
                    }
                    for a in attacks
                    if a not in ("transfer", "worst")
                },
                large_beta=_chosen(eps, s["large_beta"]["eps"]),
                masking=_masking_plan(config, model, eps, s),
            )
        out["models"][model] = m
    return out


def input_files(the_plan: dict, settings: dict, root: str) -> dict[str, list[str]]:
    """Every file the checklist reads, by kind (``pgd`` includes the very-large-δ and more-steps runs)."""
    big_beta, factor = settings["large_beta"]["beta"], settings["more_steps"]["factor"]
    files = {"pgd": [], "quantized": [], "adv": []}
    for model, m in the_plan["models"].items():
        files["pgd"] += [paths.eval_file(root, model, e, "pgd", d) for e in m["eps"] for d in m["pgd"][e]]
        files["pgd"] += [paths.eval_file(root, model, e, more_steps_attack(factor), d) for e, d in m["more_steps"]]
        if not the_plan["quantization"]:
            continue
        for attack, cells in m["whitebox"].items():
            for a in ("transfer", attack):
                files["quantized"] += [
                    paths.eval_file(root, model, e, a, d, layer, b)
                    for e in m["eps"]
                    for d in cells["deltas"]
                    for layer in m["layers"]
                    for b in cells["betas"]
                ]
        files["quantized"] += [
            paths.eval_file(root, model, e, "transfer", 0, layer, big_beta)
            for e in m["large_beta"]
            for layer in m["layers"]
        ]
        files["quantized"] += [
            path for cell in masking_files(m["masking"], settings, root, model).values() for path in cell.values()
        ]
        files["adv"] += [paths.adv_file(root, model, e, d) for e in m["eps"] for d in m["adv"]]
    return {k: sorted(set(v)) for k, v in files.items()}


def masking_files(masking: dict, settings: dict, root: str, model: str) -> dict[tuple, dict[str, str]]:
    """The files of the gradient-masking checks (``masking`` from :func:`plan`), per (check, ε, δ, layer): the
    frames each compares (``bpda`` and ``large`` / ``more`` / ``apgd``)."""
    if "beta" not in masking:
        return {}
    b, big_delta = masking["beta"], settings["large_delta"]["delta"]
    more = more_steps_attack(settings["more_steps"]["factor"], "bpda")
    files = {}
    for layer in masking["layers"]:
        for e in masking["large_delta"]:
            files[("bpda_large_delta", e, big_delta, layer)] = {
                "large": paths.eval_file(root, model, e, "bpda", big_delta, layer, b)
            }
        for e, d in masking["more_steps"]:
            files[("bpda_more_steps", e, d, layer)] = {
                "bpda": paths.eval_file(root, model, e, "bpda", d, layer, b),
                "more": paths.eval_file(root, model, e, more, d, layer, b),
            }
        for e in masking["eps"] if "apgd_deltas" in masking else []:
            for d in masking["apgd_deltas"]:
                files[("apgd_vs_bpda", e, d, layer)] = {
                    "bpda": paths.eval_file(root, model, e, "bpda", d, layer, b),
                    "apgd": paths.eval_file(root, model, e, "apgd-bpda", d, layer, b),
                    # the same comparison on the unquantized model: a drop as large there is BPDA's general
                    # weakness, a larger one on the quantized cell is masking by the quantizer
                    "bpda_none": paths.eval_file(root, model, e, "bpda", d),
                    "apgd_none": paths.eval_file(root, model, e, "apgd-bpda", d),
                }
    return files


def extra_jobs(config: dict) -> dict[str, int]:
    """The PGD jobs the checklist adds to a (validated) config's grid, per rule (for compute projections): PGD at
    the very large δ where the grid lacks it, and PGD with more steps. Its quantized evaluations (the very large β,
    and on the gradient-masking cells BPDA at the very large δ and with more steps) join the grid's evaluation units
    (:func:`atspectrum.evaluation.units.plan`)."""
    s, the_plan = atconfig.checklist_settings(config), plan(config)
    big_delta = s["large_delta"]["delta"]
    counts = {"evaluate_pgd": 0, "evaluate_pgd_steps": 0}
    for model, m in the_plan["models"].items():
        counts["evaluate_pgd"] += sum(big_delta not in atconfig.pgd_deltas(config, model, e) for e in m["large_delta"])
        counts["evaluate_pgd_steps"] += len(m["more_steps"])
    return counts


# --------------------------------------------------------------------------------------------------- running


def read_adv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray, int]:
    """A cached transfer file as stored (no checks: judging it is the checklist's job)."""
    with np.load(path, allow_pickle=False) as z:
        return z["adv"], z["labels"], int(z["delta"])


def row(check: str, model: str, eps, verdict: dict) -> dict:
    return {"check": check, "model": model, "eps": None if eps is None else int(eps), **verdict}


def collect(
    the_plan: dict,
    settings: dict,
    root: str,
    images: np.ndarray,
    labels: np.ndarray,
    read_frame=pd.read_parquet,
    read_cached=read_adv,
) -> list[dict]:
    """Read the evaluations named by :func:`plan` under ``root`` and run every check; one row per check × model ×
    ε (the checks that concern no ε in particular, or do not apply, get one row per model without ε)."""
    s = settings
    steps, factor = the_plan["steps"], s["more_steps"]["factor"]
    big_delta, big_beta = s["large_delta"]["delta"], s["large_beta"]["beta"]
    rows = []
    for model, m in the_plan["models"].items():
        pgd = {e: {d: read_frame(paths.eval_file(root, model, e, "pgd", d)) for d in m["pgd"][e]} for e in m["eps"]}
        for e in m["eps"]:
            rows.append(row("monotone_delta", model, e, check_monotone(pgd[e], s["monotone"]["tolerance"])))
        for e in m["large_delta"]:
            rows.append(
                row(
                    "large_delta",
                    model,
                    e,
                    check_large_delta(pgd[e][big_delta], big_delta, steps, s["large_delta"]["max_accuracy"]),
                )
            )
        for e, d in m["more_steps"]:
            more = read_frame(paths.eval_file(root, model, e, more_steps_attack(factor), d))
            rows.append(
                row(
                    "more_steps",
                    model,
                    e,
                    check_more_steps(pgd[e][d], more, d, steps, steps * factor, s["more_steps"]["tolerance"]),
                )
            )
        if not the_plan["quantization"]:
            for check in ("transfer_vs_bpda", *MASKING_CHECKS, "adv_budget", "large_beta"):
                rows.append(row(check, model, None, not_applicable("quantization is off")))
            continue
        for e in m["eps"]:
            transfers = {}  # each transfer frame read once, whatever the number of white-box attacks

            def transferred(d, layer, b, e=e):
                if (d, layer, b) not in transfers:
                    transfers[(d, layer, b)] = read_frame(paths.eval_file(root, model, e, "transfer", d, layer, b))
                return transfers[(d, layer, b)]

            cells = [
                {
                    "delta": d,
                    "layer": layer,
                    "beta": b,
                    "attack": attack,
                    "transfer": transferred(d, layer, b),
                    "whitebox": read_frame(paths.eval_file(root, model, e, attack, d, layer, b)),
                }
                for attack, w in m["whitebox"].items()
                for d in w["deltas"]
                for layer in m["layers"]
                for b in w["betas"]
            ]
            rows.append(
                row("transfer_vs_bpda", model, e, check_transfer_vs_whitebox(cells, s["transfer_vs_bpda"]["tolerance"]))
            )
        rows += masking_rows(model, m["masking"], s, root, read_frame)
        for e in m["eps"]:
            stats = []
            for d in m["adv"]:
                adv, stored_labels, stored_delta = read_cached(paths.adv_file(root, model, e, d))
                stats.append(adv_stats(adv, stored_labels, stored_delta, images, labels, d))
                del adv
            rows.append(row("adv_budget", model, e, check_adv_budget(stats, s["adv_budget"]["tolerance"])))
        for e in m["large_beta"]:
            quantized = {
                layer: read_frame(paths.eval_file(root, model, e, "transfer", 0, layer, big_beta))
                for layer in m["layers"]
            }
            rows.append(
                row(
                    "large_beta",
                    model,
                    e,
                    check_large_beta(pgd[e][0], quantized, big_beta, s["large_beta"]["tolerance"]),
                )
            )
    return rows


MASKING_CHECKS = ("bpda_large_delta", "bpda_more_steps", "apgd_vs_bpda")


def masking_rows(model: str, masking: dict, settings: dict, root: str, read_frame=pd.read_parquet) -> list[dict]:
    """The gradient-masking checks of one model (``masking`` from :func:`plan`): one row per check and ε, each the
    verdict of its cells combined by :func:`combine` (layer × δ at the headline β); n/a where a check has no cell."""
    s = settings
    if "beta" not in masking:
        return [row(check, model, None, not_applicable(masking["reason"])) for check in MASKING_CHECKS]
    steps, factor, token = masking["bpda_steps"], s["more_steps"]["factor"], paths.beta_token(masking["beta"])
    frames = {}

    def read(path):
        if path not in frames:
            frames[path] = read_frame(path)
        return frames[path]

    verdicts = {}
    for (check, e, d, layer), f in masking_files(masking, s, root, model).items():
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
    """The checklist table (:data:`COLUMNS`, in check order) and its marks: a failed status in bold."""
    order = {c: i for i, c in enumerate(CHECKS)}
    rows = sorted(
        rows, key=lambda r: (order.get(r["check"], len(order)), r["model"], -1 if r["eps"] is None else r["eps"])
    )
    df = pd.DataFrame([[r[c] for c in COLUMNS] for r in rows], columns=COLUMNS)
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
