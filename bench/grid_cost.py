"""Benchmark (not a test): what the paper grid's evaluations cost in GPU time held against their arithmetic.

A projection from measured numbers, written to bench/results/grid-cost-<date>.json:
- the per-image arithmetic of one attack step, from the fp32 PGD-10 AT throughput measured on one H200
  (docs/performance.md: ResNet-18 3,098 img/s; WRN-28-10 scaled by the bf16 ratio 907 / 4,221), counting an AT
  image as 11 forward+backward passes and a forward pass as a third of one;
- the fixed cost of one job before its first batch: ``eval_job_start.to_first_batch_s`` of the latest
  bench/results/job-start-*.json (measured on the CPU machine: a fresh interpreter, the imports, the model and the
  test split) plus ``--cuda-init`` seconds for the CUDA context (not measured: no GPU here);
- on SLURM, the fixed cost of a job is what an allocation held around a job on the one-node test cluster,
  ``--slurm-job`` seconds (docs/slurm.md: 17-33 s per SLURM job in the batching measurement, whatever its size).
For the grid with each attack computed separately (issue 15's units: the PGD cell, the transfer examples and the
unquantized BPDA and transfer cells each their own computation) and as it is (issue 22: one PGD computation serves
all of them; atspectrum.planning.Plan), it writes the arithmetic GPU-hours, the jobs and (GPU time held) /
(arithmetic) on one GPU and on SLURM, for one training seed (the paper's) and per seed.

Usage: python bench/grid_cost.py [--cuda-init 2] [--slurm-job 27.5]
"""

from __future__ import annotations

import argparse
import datetime
import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))

from results_file import write as write_result  # noqa: E402 (bench/, the script's own directory)

from atspectrum import config as atconfig  # noqa: E402
from atspectrum.planning import Plan, jobs  # noqa: E402

IMAGES = 10_000  # the CIFAR-10 test set
# seconds per image per forward+backward pass, fp32 on one H200 (PGD-10 AT: 11 passes per image)
STEP_S = {"resnet18": 1 / (3098 * 11)}
STEP_S["wrn28_10"] = STEP_S["resnet18"] * 4221 / 907


def passes(plan: Plan, rule: str) -> float:
    """Forward+backward passes per image of one cell of an evaluation rule (benchmark-directory name)."""
    if rule in ("evaluate_pgd", "transfer_examples", "evaluate_pgd_val"):
        return plan.settings("pgd")["steps"] + 1 / 3
    if rule == "evaluate_pgd_steps":
        return plan.settings("pgd5x")["steps"] + 1 / 3
    if rule == "evaluate_transfer":
        return 1 / 3
    if rule == "evaluate_quantized_steps":
        return plan.settings("bpda5x")["steps"] + 1 / 3
    a = plan.settings(rule.removeprefix("evaluate_"))
    if rule == "evaluate_apgd-bpda":
        return (a["steps"] + 1) * a["restarts"] * len(a["losses"])
    return a["steps"] + 1 / 3


class Separate(Plan):
    """The plan with every attack computed on its own (before issue 22): no PGD twins, transfer examples by their own
    jobs."""

    pgd_serves = []


def cells_per_model(plan: Plan) -> dict[str, dict[str, int]]:
    """Cells of every evaluation rule per model: units hold several; a transfer-examples job is one cell."""
    out: dict[str, dict[str, int]] = {m: {} for m in plan.models}
    for unit, cells in plan.units.items():
        rule = jobs.unit_rule(unit.attack, by_attack=True)
        out[unit.model][rule] = out[unit.model].get(rule, 0) + len(cells)
    if not plan.adv_from_pgd:
        for m in plan.models:
            out[m]["transfer_examples"] = sum(len(plan.adv_needed(m, s)) for s in plan.seeds)
    return out


def cost(plan: Plan, job_s: float, slurm_s: float) -> dict:
    """Arithmetic GPU-hours per rule, jobs per rule and GPU time held over arithmetic, of one plan."""
    arithmetic: dict[str, float] = {}
    for model, rules in cells_per_model(plan).items():
        arch = plan.config["models"][model]["arch"]
        for rule, n in rules.items():
            arithmetic[rule] = arithmetic.get(rule, 0.0) + n * passes(plan, rule) * IMAGES * STEP_S[arch]
    per_rule = {r: n for r, n in jobs.grid_jobs(plan, by_attack=True).items() if r in arithmetic}
    total, n = sum(arithmetic.values()), sum(per_rule.values())
    return {
        "arithmetic_gpu_h": total / 3600,
        "arithmetic_gpu_h_per_rule": {r: a / 3600 for r, a in sorted(arithmetic.items())},
        "evaluation_jobs": n,
        "jobs_per_rule": per_rule,
        "held_gpu_h_one_gpu": (total + n * job_s) / 3600,
        "held_gpu_h_slurm": (total + n * (job_s + slurm_s)) / 3600,
        "held_over_arithmetic_one_gpu": (total + n * job_s) / total,
        "held_over_arithmetic_slurm": (total + n * (job_s + slurm_s)) / total,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cuda-init", type=float, default=2.0, help="seconds to start a CUDA context (assumed)")
    ap.add_argument("--slurm-job", type=float, default=27.5, help="seconds a SLURM job holds beyond its work")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    starts = sorted(glob.glob(os.path.join(HERE, "results", "job-start-*.json")), key=os.path.getmtime)
    start = next((json.load(open(p)) for p in reversed(starts) if "eval_job_start" in json.load(open(p))), None)
    if start is None:
        raise SystemExit("no bench/results/job-start-*.json with eval_job_start: run bench/job_start.py first")
    job_s = start["eval_job_start"]["to_first_batch_s"] + args.cuda_init
    config = atconfig.load(os.path.join(os.path.dirname(HERE), "config", "config.yaml"), check_data=False)
    ways = {"each attack separately (before)": Separate(config), "each attack once (now)": Plan(config)}
    result = {
        "date": datetime.date.today().isoformat(),
        "job_start_file": start.get("label"),
        "fixed_s_one_gpu": job_s,
        "fixed_s_slurm": args.slurm_job,
        "seeds": len(ways["each attack once (now)"].seeds),
        "ways": {way: cost(plan, job_s, args.slurm_job) for way, plan in ways.items()},
    }
    before, now = (result["ways"][w] for w in ways)
    result["saved_arithmetic_gpu_h"] = before["arithmetic_gpu_h"] - now["arithmetic_gpu_h"]
    result["saved_held_gpu_h_slurm"] = before["held_gpu_h_slurm"] - now["held_gpu_h_slurm"]
    write_result(args.out, "grid-cost", result)


if __name__ == "__main__":
    main()
