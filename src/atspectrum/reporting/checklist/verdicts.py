"""The checklist's verdicts: what each check is (:data:`CHECKS`, the table's :data:`COLUMNS`) and the pure check
functions that judge it.

Each ``check_*`` function takes per-example frames (``index``, ``label``, ``pred``, ``correct``) or, for the
cached transfer examples, the summary :func:`adv_stats` makes of them, and returns a verdict: ``status`` (pass /
fail / n/a), ``value``, ``limit``, ``measured`` (the numbers in words) and ``criterion``. :func:`not_applicable`
is the n/a verdict, :func:`combine` one verdict of several cells of a check. Nothing here reads a file or a config.
Accuracies and tolerances are percentage points; strengths are in 1/255 units.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from atspectrum.runtime import paths
from atspectrum.specs import accuracy
from atspectrum.strengths import L2, LINF, norm_of, strength

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

MASKING_CHECKS = ("bpda_large_delta", "bpda_more_steps", "apgd_vs_bpda")  # the gradient-masking checks


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
    """What a cached transfer file holds against the clean uint8 ``images``: ``max_dist`` = the largest distance of an
    example from its clean image in its δ's norm and units (max abs(x_adv − x) in 1/255 for L∞, the L2 norm for an L2
    δ), the value range, and whether shape, labels and δ match what the file name promises."""
    shape_ok = tuple(adv.shape) == tuple(images.shape)
    delta, norm = strength(delta), norm_of(delta)
    stats = {
        "delta": delta,
        "norm": norm,
        "shape_ok": shape_ok,
        "labels_ok": bool(np.array_equal(np.asarray(stored_labels), np.asarray(labels))),
        "delta_ok": bool(np.isclose(float(stored_delta), float(delta), rtol=0, atol=1e-12)),
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
        diff = (a - x).reshape(len(a), -1)
        far = np.abs(diff).max() * 255.0 if norm == LINF else np.sqrt((diff * diff).sum(axis=1)).max()
        dist = max(dist, float(far))
        low, high = min(low, float(a.min())), max(high, float(a.max()))
    stats.update(max_dist=dist, min=low, max=high, finite=finite)
    return stats


def check_adv_budget(stats: list[dict], tolerance: float) -> dict:
    """Every cached file of one (model, ε) (``stats`` from :func:`adv_stats`) must stay within δ + ``tolerance``
    of its clean image, inside [0, 1], and match the labels, shape and δ it was made for. ``tolerance`` is in 1/255
    units; for an L2 model it is the L2 slack ``tolerance``/255."""
    if not stats:
        return not_applicable("no cached transfer examples")
    l2 = stats[0].get("norm") == L2
    slack = tolerance / 255.0 if l2 else tolerance
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
        if s["max_dist"] > d + slack:
            problems.append(f"delta {d}: outside its budget")
        if s["min"] < 0 or s["max"] > 1:
            problems.append(f"delta {d}: values in [{s['min']:.4f}, {s['max']:.4f}], outside [0, 1]")
    low = min((s["min"] for s in stats if not np.isnan(s["min"])), default=float("nan"))
    high = max((s["max"] for s in stats if not np.isnan(s["max"])), default=float("nan"))
    what = "max ||x_adv - x||_2" if l2 else "max abs(x_adv - x) in 1/255"
    measured = f"{what} [{', '.join(parts)}]; values in [{low:.4f}, {high:.4f}]" + (
        f"; {'; '.join(problems)}" if problems else ""
    )
    value = excess if np.isfinite(excess) else float("nan")
    return _verdict(
        not problems,
        value,
        slack,
        measured,
        f"{what.removeprefix('max ')} at most delta + {slack:g}{'' if l2 else ' (1/255)'}, values in [0, 1]",
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
