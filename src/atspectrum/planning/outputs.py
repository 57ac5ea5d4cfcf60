"""The tables and figures a plan writes: each aggregate's outputs (``model`` may be the wildcard ``"{model}"``) and
every target of a run (:func:`targets`)."""

from __future__ import annotations

from atspectrum import config as atconfig
from atspectrum.runtime import paths
from atspectrum.specs import WORST

from . import claims
from .claims import quant_table_stem
from .grid import Plan


def overdesign_outputs(root: str, model: str) -> list[str]:
    return (
        paths.table_files(root, f"models_{model}", ci=True)
        + paths.table_files(root, f"robust_accuracy_{model}", ci=True)
        + paths.table_files(root, f"overdesign_{model}", ci=True)
        + paths.figure_files(root, f"robust_error_{model}")
    )


def attack_table_stem(model: str, attack: str) -> str:
    """The robust-accuracy table of an extra attack (or of ``worst``, the per-example worst case over PGD and every
    extra attack): ``robust_accuracy_<model>-<attack>``, beside PGD's ``robust_accuracy_<model>``. The hyphen is in
    no model's or extra attack's name, so no two (model, attack) pairs share a stem."""
    return f"robust_accuracy_{model}-{attack}"


def attack_outputs(plan: Plan, model: str) -> list[str]:
    """The tables of the user's attacks: one per extra attack, then the worst case (none without extra attacks)."""
    if not plan.extra_attacks:
        return []
    stems = [attack_table_stem(model, a) for a in [*plan.extra_attacks, WORST]]
    return [f for stem in stems for f in paths.table_files(plan.root, stem, ci=True)]


def search_outputs(root: str, model: str) -> list[str]:
    return paths.table_files(root, f"overdesign_search_{model}")


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


def targets(plan: Plan) -> list[str]:
    """Every table and figure of the run (the compute table and the config record aside)."""
    config, root = plan.config, plan.root
    out = [f for m in plan.models for f in overdesign_outputs(root, m)]
    out += [f for m in plan.models for f in attack_outputs(plan, m)]
    out += [f for m in atconfig.search_models(config) for f in search_outputs(root, m)]
    if plan.quantization:
        out += [f for m in plan.models for f in quant_outputs(plan, m)]
    if config["filters"]:
        out += [f for m in plan.models for f in filter_norm_outputs(root, m)]
    if atconfig.corruptions_enabled(config):
        out += [f for m in plan.models for f in corruption_outputs(root, m)]
        out += paths.table_files(root, "corruptions_average", ci=True)
    out += paths.table_files(root, "checklist")
    out += paths.table_files(root, "claims") + paths.table_files(root, "claims_details")
    out += [copy for _, _, copy, _ in claims.claims_figures(plan)]
    return out
