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
For the grid as it was (one job per evaluation cell: jobs = cells) and as it is (units, accounting.grid_jobs), it
prints and writes (GPU time held) / (arithmetic) on one GPU and on SLURM.

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
from atspectrum.evaluation import units as eval_units  # noqa: E402
from atspectrum.reporting import accounting  # noqa: E402

IMAGES = 10_000  # the CIFAR-10 test set
# seconds per image per forward+backward pass, fp32 on one H200 (PGD-10 AT: 11 passes per image)
STEP_S = {"resnet18": 1 / (3098 * 11)}
STEP_S["wrn28_10"] = STEP_S["resnet18"] * 4221 / 907


def passes(config: dict, rule: str) -> float:
    """Forward+backward passes per image of one cell of an evaluation rule (benchmark-directory name)."""
    if rule in ("evaluate_pgd", "transfer_examples", "evaluate_pgd_val"):
        return config["overdesign"]["attack"]["steps"] + 1 / 3
    if rule == "evaluate_pgd_steps":
        return config["overdesign"]["attack"]["steps"] * 5 + 1 / 3
    if rule == "evaluate_transfer":
        return 1 / 3
    if rule == "evaluate_quantized_steps":
        return eval_units.attack_settings(config, "bpda5x")["steps"] + 1 / 3
    a = eval_units.attack_settings(config, rule.removeprefix("evaluate_"))
    if rule == "evaluate_apgd-bpda":
        return (a["steps"] + 1) * a["restarts"] * len(a["losses"])
    return a["steps"] + 1 / 3


def cells_per_model(config: dict, plan: dict) -> dict[str, dict[str, int]]:
    """Cells of every evaluation rule per model (``plan``: the config's evaluation units, PGD and quantized): units hold
    several; a transfer-examples job is one cell."""
    out: dict[str, dict[str, int]] = {m: {} for m in config["models"]}
    for unit, cells in plan.items():
        rule = accounting.unit_rule(unit.attack, by_attack=True)
        out[unit.model][rule] = out[unit.model].get(rule, 0) + len(cells)
    for m in config["models"]:
        eps = atconfig.eps_list(config, m)
        out[m]["transfer_examples"] = len(eps) * len([d for d in atconfig.quant_deltas(config, "transfer") if d > 0])
    return out


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
    plan = eval_units.plan(config)
    cells = cells_per_model(config, plan)
    arithmetic = {}
    for model, rules in cells.items():
        for rule, n in rules.items():
            arithmetic[rule] = arithmetic.get(rule, 0.0) + n * passes(config, rule) * IMAGES * STEP_S[model]
    rules = sorted(arithmetic)
    jobs_now = accounting.grid_jobs(config, by_attack=True, units=plan)
    units = {accounting.unit_rule(u.attack, by_attack=True) for u in plan}
    # before: one job per cell; the transfer examples and the checklist's more-steps PGD were and are one job per cell
    jobs = {
        "per cell (before)": {
            r: sum(c.get(r, 0) for c in cells.values()) if r in units else jobs_now[r] for r in rules
        },
        "units (now)": {r: jobs_now.get(r, 0) for r in rules},
    }
    total = sum(arithmetic.values())
    result = {
        "date": datetime.date.today().isoformat(),
        "job_start_file": start.get("label"),
        "fixed_s_one_gpu": job_s,
        "fixed_s_slurm": args.slurm_job,
        "arithmetic_gpu_h": total / 3600,
        "arithmetic_gpu_h_per_rule": {r: arithmetic[r] / 3600 for r in rules},
        "ways": {},
    }
    for way, per_rule in jobs.items():
        n = sum(per_rule.values())
        result["ways"][way] = {
            "evaluation_jobs": n,
            "jobs_per_rule": per_rule,
            "held_over_arithmetic_one_gpu": (total + n * job_s) / total,
            "held_over_arithmetic_slurm": (total + n * (job_s + args.slurm_job)) / total,
            "held_gpu_h_slurm": (total + n * (job_s + args.slurm_job)) / 3600,
            "per_rule_one_gpu": {r: (arithmetic[r] + per_rule[r] * job_s) / arithmetic[r] for r in rules},
        }
    write_result(args.out, "grid-cost", result)


if __name__ == "__main__":
    main()
