"""C2 quantization (Section 4): :func:`quantization` judges the claim for one model from the ``_ci.csv`` of its
quantization tables.

At the paper's quantization point (:func:`quant_point`: the first configured point for ResNet-18, the second for
WideResNet), :func:`quant_cells` counts the cells where quantization is significantly better and worse than the
unquantized model, and a sign test of the two counts gives each attack's verdict: the claim is transfer PGD and
BPDA, APGD-BPDA and the per-example worst case are reported beside it. The rules in full are in the package
docstring.
"""

from __future__ import annotations

import pandas as pd

from .verdicts import QUANT_POINT, _p, claim_row, not_run, row, sign_test, signed


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
        rows.append(_attack_part(ci, point, beta, labels.get(attack, attack), part, alpha, model, figures))
    statistic = "transfer PGD and BPDA combined (APGD-BPDA / worst case beside it)"
    return [claim_row("C2", model, statistic, rows[:2], figures)] + rows


def _attack_part(ci: pd.DataFrame, point: str, beta: float, label: str, part: str, alpha: float, model: str, figures):
    """One attack's part: the sign test of its significantly better and worse cells after ``point``."""
    wins, losses, n = quant_cells(ci, point)
    p = sign_test(wins, losses)
    return row(
        "C2",
        model,
        part,
        signed(wins - losses, p, alpha, +1),
        "sign test of significantly better vs worse cells (per-cell exact McNemar, as the table)",
        f"after {point} at beta {beta:g} under {label}: better in {wins}, "
        f"worse in {losses}, no significant change in {n - wins - losses} of {n} cells; "
        f"sign test p = {_p(p)}",
        figures,
    )
