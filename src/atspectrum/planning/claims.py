"""What the claims read for a config (a rule's params, the tables they read, the figures they rest on), torch-free
and pandas-free: the Snakefile plans the claims rule with it; :mod:`atspectrum.reporting.claims` evaluates them."""

from __future__ import annotations

import os

from atspectrum import config as atconfig
from atspectrum.runtime import paths
from atspectrum.strengths import L2

from .cells import NONE, Cell
from .grid import Plan

# C2's point per architecture by name: the paper's dark-blue rows of Table 1 (docs/statistics.md)
DEFAULT_QUANT_POINT = {"resnet18": "conv0", "wrn28_10": "layer0"}

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


def quant_point(config: dict, model: str) -> str | None:
    """C2's quantization point of ``model`` by name (``claims.quant_point`` of its architecture), None when it is not
    among the model's configured ``quant_layers``."""
    arch = config["models"][model]["arch"]
    point = {**DEFAULT_QUANT_POINT, **config.get("claims", {}).get("quant_point", {})}.get(arch)
    quant = atconfig.quantization_enabled(config)
    return point if quant and point in atconfig.quant_layers(config, model) else None


def plan(config: dict) -> dict:
    """What the claims read for this config, as plain values (a rule's params): per model its arch, ε, C2's point
    and the (attack → β) of the C2 cells; the overdesign δ; which sections ran; the claims' settings."""
    betas = claim_betas(config)
    models = {
        m: {
            "arch": config["models"][m]["arch"],
            "eps": atconfig.eps_list(config, m),
            "point": quant_point(config, m),
            "betas": betas,
            "labels": {a: atconfig.quant_attack_label(config, a) for a in betas},
            # an L2 model's overdesign δ (as its strengths); an L∞ model reads the run's "deltas"
            **({"deltas": atconfig.overdesign_deltas(config, m)} if atconfig.threat_model(config, m) == L2 else {}),
        }
        for m in sorted(config["models"])
    }
    return {
        "models": models,
        "deltas": atconfig.overdesign_deltas(config),
        "filters": bool(config["filters"]),
        "corruptions": atconfig.corruptions_enabled(config),
        "stats": dict(config["stats"]),
        "claims": dict(config.get("claims", {})),
    }


def figure_sources(plan: dict, root: str, model: str) -> dict[str, list[str]]:
    """Per claim, the figures of ``model`` it rests on (only those the configured sections make)."""
    return claim_figures(root, model, plan["models"][model]["betas"], plan["filters"], plan["corruptions"])


def table_inputs(plan: dict, root: str) -> list[str]:
    """The tables the claims read (C3's filter norms, C4's pre-activations; the cells come from :func:`cells`)."""
    files = []
    for m in plan["models"]:
        if plan["filters"]:
            files.append(f"{root}/tables/filter_norms_{m}.csv")
        if plan["corruptions"]:
            files.append(f"{root}/tables/preact_{m}.csv")
    return files


def testable_deltas(config: dict, model: str) -> list[int]:
    """C1's δ: those of ``overdesign.delta`` that are a trained ε with a larger ε in the grid."""
    eps = atconfig.eps_list(config, model)
    return [d for d in atconfig.overdesign_deltas(config, model) if d in eps and any(e > d for e in eps)]


def cells(grid: Plan) -> list[Cell]:
    """Every evaluation cell the claims read: C1's test PGD cells at the overdesign δ; C2's unquantized and
    quantized (at its point and β) cells of every evaluated attack, δ > 0, and the clean ones (δ = 0)."""
    config, out = grid.config, []
    betas = claim_betas(config)
    for m in grid.models:
        point = quant_point(config, m)
        for s in grid.seeds:
            out += grid.overdesign_cells(m, s)
            for a, beta in betas.items() if point else ():
                if a not in grid.eval_attacks:
                    continue
                deltas = [d for d in atconfig.quant_deltas(config, a, m) if d > 0 or a == "transfer"]
                for e in grid.eps(m):
                    out += [Cell(m, s, e, a, d, layer, beta) for d in deltas for layer in (NONE, point)]
    return out


def val_runs(grid: Plan) -> list[tuple[str, int, int, int]]:
    """(model, seed, δ, ε) of the validation evaluations C1 picks ε* on: every ε ≥ δ of the grid at its δ."""
    return [
        (m, s, d, e)
        for m in grid.models
        for d in testable_deltas(grid.config, m)
        for s in grid.seeds
        for e in grid.eps(m)
        if e >= d
    ]


def corruption_runs(grid: Plan) -> list[tuple[str, int, int]]:
    """(model, seed, ε) of the per-example corruption results C4 reads (every trained model)."""
    if not atconfig.corruptions_enabled(grid.config):
        return []
    return [(m, s, e) for m in grid.models for s, e in grid.runs(m)]
