"""The jobs of a plan, counted as the rules expand it (the compute table's projection) and each unit's time limit.

A unit's rule is ``evaluate_pgd`` (PGD on the plain model), ``evaluate_quantized`` (transfer, bpda, apgd-bpda),
``evaluate_quantized_steps`` (the checklist's more-steps BPDA) or ``evaluate_extra`` (the user's attacks,
``eval.extra_attacks``); the quantized evaluations file their benchmarks per attack (``evaluate_<attack>``), whose
costs differ by orders of magnitude.
"""

from __future__ import annotations

from atspectrum import config as atconfig

from . import claims
from .cells import PGD, more_steps_of
from .grid import Plan


def rule_of(kind: str) -> str:
    """The rule behind a benchmark directory (``evaluate_transfer`` → ``evaluate_quantized``)."""
    return "evaluate_quantized" if kind.removeprefix("evaluate_") in atconfig.QUANT_EVAL_ATTACKS else kind


def unit_rule(attack: str, by_attack: bool = False) -> str:
    """The rule (``by_attack``: the benchmark directory) of an evaluation unit's attack."""
    if attack == PGD:
        return "evaluate_pgd"
    if more_steps_of(attack) is not None:  # bpda<factor>x: the checklist's more-steps BPDA
        return "evaluate_quantized_steps"
    if attack not in atconfig.QUANT_EVAL_ATTACKS:  # one of the user's attacks
        return "evaluate_extra"
    return f"evaluate_{attack}" if by_attack else "evaluate_quantized"


def grid_jobs(plan: Plan, by_attack: bool = False) -> dict[str, int]:
    """Jobs per GPU rule of a plan, every training seed included (the checklist's evaluations too; of an overdesign
    search, only the first validation evaluation per (model, seed, δ), since the rest depends on the results; the
    claims' validation evaluations)."""
    config = plan.config
    per_seed = sum(len(plan.eps(m)) for m in plan.models)
    counts = {"train": per_seed * len(plan.seeds)}
    if plan.quantization and not plan.adv_from_pgd:
        counts["transfer_examples"] = sum(len(plan.adv_needed(m, s)) for m in plan.models for s in plan.seeds)
    for unit in plan.units:
        key = unit_rule(unit.attack, by_attack)
        counts[key] = counts.get(key, 0) + 1
    if atconfig.corruptions_enabled(config):
        counts["evaluate_corruptions"] = counts["train"]
    val = set(claims.val_runs(plan))  # C1's validation evaluations, and each search's first (at eps = delta)
    if atconfig.search_enabled(config):
        val |= {(m, s, d, d) for m in atconfig.search_models(config) for s, d in plan.search_runs()}
    if val:
        counts["evaluate_pgd_val"] = len(val)
    more = sum(len(plan.checklist_cells(s)["more_steps"]) for s in plan.seeds)
    if more:
        counts["evaluate_pgd_steps"] = more
    return counts


def unit_cells(plan: Plan) -> dict[str, int]:
    """Cells per evaluation-unit benchmark directory (as :func:`grid_jobs` with ``by_attack``)."""
    counts: dict[str, int] = {}
    for unit, cells in plan.units.items():
        rule = unit_rule(unit.attack, by_attack=True)
        counts[rule] = counts.get(rule, 0) + len(cells)
    return counts


EXTRA_PASSES = 101  # an attack of the user's whose cost is unknown: as much as 100 PGD steps (ours)


def runtime_minutes(plan: Plan, attack: str, cells: int) -> int:
    """A generous time limit for a unit: 30 minutes, plus per cell about 3 s per forward-backward pass over 10,000
    CIFAR-10 images of WRN-28-10 in fp32 (a transfer cell: one forward pass; an attack of the user's: its
    ``kwargs.steps`` + 1 passes where it has an integer ``steps``, else :data:`EXTRA_PASSES`)."""
    if attack in plan.extra_attacks:
        steps = plan.settings(attack)["kwargs"].get("steps")
        passes = steps + 1 if isinstance(steps, int) and not isinstance(steps, bool) else EXTRA_PASSES
    elif attack == "transfer":
        passes = 1
    elif attack == "apgd-bpda":
        a = plan.settings(attack)
        passes = (a["steps"] + 1) * a["restarts"] * len(a["losses"])
    else:
        passes = plan.settings(attack)["steps"] + 1
    return int(30 + cells * passes * 3 / 60) + 1
