"""The tables and figures a plan writes: each aggregate's outputs (``model`` may be the wildcard ``"{model}"``) and
every target of a run (:func:`targets`)."""

from __future__ import annotations

import os

from atspectrum import config as atconfig
from atspectrum.runtime import paths

from .cells import beta_token
from .grid import Plan


def overdesign_outputs(root: str, model: str) -> list[str]:
    return (
        paths.table_files(root, f"models_{model}", ci=True)
        + paths.table_files(root, f"robust_accuracy_{model}", ci=True)
        + paths.table_files(root, f"overdesign_{model}", ci=True)
        + paths.figure_files(root, f"robust_error_{model}")
    )


def search_outputs(root: str, model: str) -> list[str]:
    return paths.table_files(root, f"overdesign_search_{model}")


def quant_table_stem(model: str, attack: str, beta) -> str:
    return f"quantization_{model}_{attack}_beta{beta_token(beta)}"


def quant_attacks(plan: Plan) -> list[str]:
    """The quantization tables' attacks ("worst" included); none when quantization is off."""
    return list(plan.config["quantization"]["attacks"]) if plan.quantization else []


def quant_clean_outputs(plan: Plan, model: str) -> list[str]:
    """Tables 18/19 and the gain heatmaps (one job per model)."""
    return paths.table_files(plan.root, f"quantization_clean_{model}", ci=True) + [
        paths.figure_files(plan.root, f"quantization_gain_{model}_{a}", ("png",))[0] for a in quant_attacks(plan)
    ]


def quant_outputs(plan: Plan, model: str) -> list[str]:
    tables = [
        f
        for attack in quant_attacks(plan)
        for beta in atconfig.quant_attack_betas(plan.config, attack)
        for f in paths.table_files(plan.root, quant_table_stem(model, attack, beta), ci=True)
    ]
    return tables + quant_clean_outputs(plan, model)


FILTER_STATS = ("mean", "max", "op_norm", "op_norm_bn")


def filter_norm_outputs(root: str, model: str) -> list[str]:
    """The filter-norm table and figures: the paper's mean and max, then our operator norms (in this order)."""
    return [f"{root}/tables/filter_norms_{model}.csv"] + [
        paths.figure_files(root, f"filter_norms_{model}_{s}", ("png",))[0] for s in FILTER_STATS
    ]


def corruption_outputs(root: str, model: str) -> list[str]:
    """The corruption tables, Figure 3's table and figure (last)."""
    return (
        paths.table_files(root, f"corruptions_{model}", ci=True)
        + paths.table_files(root, f"corruptions_severity_{model}", ci=True)
        + paths.table_files(root, f"preact_{model}")
        + paths.figure_files(root, f"preact_mean_{model}", ("png",))
    )


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


HEADLINE_BETA = 8.0


def claim_betas(config: dict) -> dict[str, float]:
    """The β of each attack's C2 table: the paper's headline 8 where that attack ran at 8, else its largest."""
    out = {}
    for a in config["quantization"]["attacks"] if atconfig.quantization_enabled(config) else []:
        run = atconfig.quant_attack_betas(config, a)
        if run:
            out[a] = HEADLINE_BETA if HEADLINE_BETA in run else max(run)
    return out


def claim_figure_copy(root: str, claim: str, source: str) -> str:
    """Where the claims rule puts its copy of ``source`` (the report shows it beside the claim)."""
    return f"{root}/figures/claims/{claim}_{os.path.basename(source)}"


def claims_figures(plan: Plan) -> list[tuple[str, str, str, str]]:
    """(claim, figure, its copy beside the claim, model) for every figure a claim rests on."""
    return [
        (claim, src, claim_figure_copy(plan.root, claim, src), model)
        for model in plan.models
        for claim, sources in claim_figures(
            plan.root,
            model,
            claim_betas(plan.config),
            bool(plan.config["filters"]),
            atconfig.corruptions_enabled(plan.config),
        ).items()
        for src in sources
    ]


def targets(plan: Plan) -> list[str]:
    """Every table and figure of the run (the compute table and the config record aside)."""
    config, root = plan.config, plan.root
    out = [f for m in plan.models for f in overdesign_outputs(root, m)]
    out += [f for m in atconfig.search_models(config) for f in search_outputs(root, m)]
    if plan.quantization:
        out += [f for m in plan.models for f in quant_outputs(plan, m)]
    if config["filters"]:
        out += [f for m in plan.models for f in filter_norm_outputs(root, m)]
    if atconfig.corruptions_enabled(config):
        out += [f for m in plan.models for f in corruption_outputs(root, m)]
        out += paths.table_files(root, "corruptions_average", ci=True)
    out += paths.table_files(root, "checklist")
    out += paths.table_files(root, "claims") + [copy for _, _, copy, _ in claims_figures(plan)]
    return out
