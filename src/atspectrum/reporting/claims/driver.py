"""Running the claims for a config: what they read, the figures they rest on, and the claims table.

:func:`plan` derives from a config what the claims read (a rule's params), :func:`input_files` names those
artifacts, :func:`figure_sources` the figures each claim rests on and :func:`figure_copy` where the claims rule
copies them. :func:`evaluate` reads every artifact and runs each claim (:mod:`.c1_overdesign` …
:mod:`.c4_corruptions`) for every model: the claims table.
"""

from __future__ import annotations

import os

import pandas as pd

from atspectrum.runtime import paths

from .c1_overdesign import overdesign
from .c2_quantization import quantization
from .c3_filter_norms import filter_norms
from .c4_corruptions import corruptions
from .verdicts import CLAIMS, COLUMNS, HEADLINE_BETA, not_run


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
