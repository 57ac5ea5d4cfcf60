"""What the claims read for a config (a rule's params, the tables they read, the figures they rest on), torch-free
and pandas-free: the Snakefile plans the claims rule with it; :mod:`atspectrum.reporting.claims` evaluates them."""

from __future__ import annotations

import os

from atspectrum import config as atconfig
from atspectrum.runtime import paths

from .grid import Plan

CLAIMS = {"C1": "overdesign", "C2": "quantization", "C3": "filter norms", "C4": "corruptions"}


def quant_table_stem(model: str, attack: str, beta) -> str:
    return f"quantization_{model}_{attack}_beta{paths.beta_token(beta)}"


def claim_betas(config: dict) -> dict[str, float]:
    """The β of each attack's C2 table: the paper's headline 8 where that attack ran at 8, else its largest."""
    out = {}
    for a in config["quantization"]["attacks"] if atconfig.quantization_enabled(config) else []:
        run = atconfig.quant_attack_betas(config, a)
        if run:
            out[a] = atconfig.HEADLINE_BETA if atconfig.HEADLINE_BETA in run else max(run)
    return out


def claim_figures(root: str, model: str, attacks, filters: bool, corruptions: bool) -> dict[str, list[str]]:
    """Per claim, the figures of ``model`` it rests on (only those the configured sections make): C2's are the gain
    heatmaps of ``attacks`` (those with a C2 table)."""
    fig = lambda stem: paths.figure_files(root, stem, ("png",))[0]  # noqa: E731
    return {
        "C1": [fig(f"robust_error_{model}")],
        "C2": [fig(f"quantization_gain_{model}_{a}") for a in attacks],
        "C3": [fig(f"filter_norms_{model}_{s}") for s in ("mean", "max")] if filters else [],
        "C4": [fig(f"preact_mean_{model}")] if corruptions else [],
    }


def claim_figure_copy(root: str, claim: str, source: str) -> str:
    """Where the claims rule puts its copy of ``source`` (the report shows it beside the claim)."""
    return f"{root}/figures/claims/{claim}_{os.path.basename(source)}"


def claims_figures(plan: Plan) -> list[tuple[str, str, str, str]]:
    """(claim, figure, its copy beside the claim, model) for every figure a claim rests on."""
    config = plan.config
    attacks = claim_betas(config)
    return [
        (claim, src, claim_figure_copy(plan.root, claim, src), model)
        for model in plan.models
        for claim, sources in claim_figures(
            plan.root, model, attacks, bool(config["filters"]), atconfig.corruptions_enabled(config)
        ).items()
        for src in sources
    ]


def plan(config: dict) -> dict:
    """What the claims read for this config, as plain values (a rule's params): per model its arch, ε, the
    quantization point's layers and the (attack → β) of the C2 tables; the overdesign δ; which sections ran."""
    quant = atconfig.quantization_enabled(config)
    betas = claim_betas(config)
    models = {
        m: {
            "arch": config["models"][m]["arch"],
            "eps": atconfig.eps_list(config, m),
            "quant_layers": atconfig.quant_layers(config, m) if quant else [],
            "betas": betas,
            "labels": {a: atconfig.quant_attack_label(config, a) for a in betas},
        }
        for m in sorted(config["models"])
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
    return claim_figures(root, model, plan["models"][model]["betas"], plan["filters"], plan["corruptions"])


def table_inputs(plan: dict, root: str) -> list[str]:
    """Every table :func:`evaluate` reads (the PGD cells come from the plan's cells, figures excluded)."""
    files = []
    for m, spec in plan["models"].items():
        files += [paths.ci_file(root, quant_table_stem(m, a, b)) for a, b in spec["betas"].items()]
        if plan["filters"]:
            files.append(f"{root}/tables/filter_norms_{m}.csv")
        if plan["corruptions"]:
            files += [
                f"{root}/tables/corruptions_{m}.csv",
                paths.ci_file(root, f"corruptions_{m}"),
                f"{root}/tables/preact_{m}.csv",
            ]
    return files
