import pandas as pd
import pytest

from atspectrum import config as atconfig
from atspectrum.planning import Plan, jobs
from atspectrum.reporting import accounting


def grid_jobs(config, by_attack=False):
    return jobs.grid_jobs(Plan(config), by_attack)


HEADER = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"


def bench(path, seconds, rss=100.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + f"{seconds}\t0:00:00\t{rss}\t1\t1\t1\t0\t0\t50\t{seconds / 2}\n")


def test_summary_sums_wall_time_per_rule_and_projects_the_grid(tmp_path):
    bench(tmp_path / "benchmarks/train/rn_eps0.tsv", 100.0, rss=900)
    bench(tmp_path / "benchmarks/train/rn_eps8.tsv", 300.0)
    bench(tmp_path / "benchmarks/evaluate_pgd/rn_eps0_delta4.tsv", 6.0)
    bench(tmp_path / "benchmarks/aggregate_overdesign/rn.tsv", 2.0)
    bench(tmp_path / "benchmarks/aggregate_corruption_average.tsv", 1.0)
    frame = accounting.read_benchmarks(str(tmp_path))
    assert sorted(frame["rule"]) == [
        "aggregate_corruption_average",
        "aggregate_overdesign",
        "evaluate_pgd",
        "train",
        "train",
    ]
    table = accounting.summary(
        frame,
        ["train", "evaluate_pgd", "evaluate_quantized"],
        {"train": 20, "evaluate_pgd": 260, "evaluate_quantized": 10},
    )
    rows = table.set_index("rule")
    assert rows.loc["train", "jobs"] == 2 and rows.loc["train", "wall_s"] == 400 and rows.loc["train", "mean_s"] == 200
    assert rows.loc["train", "max_rss_mb"] == 900 and rows.loc["train", "kind"] == "gpu"
    assert rows.loc["train", "grid_gpu_hours"] == pytest.approx(20 * 200 / 3600)
    assert rows.loc["evaluate_pgd", "grid_gpu_hours"] == pytest.approx(260 * 6 / 3600)
    assert rows.loc["aggregate_overdesign", "kind"] == "cpu" and pd.isna(rows.loc["aggregate_overdesign", "grid_jobs"])
    # a GPU rule of the grid that this run never ran is listed, without a projection
    assert rows.loc["evaluate_quantized", "jobs"] == 0 and pd.isna(rows.loc["evaluate_quantized", "grid_gpu_hours"])
    assert rows.loc["total", "wall_s"] == pytest.approx(409)
    assert rows.loc["total", "grid_gpu_hours"] == pytest.approx((20 * 200 + 260 * 6) / 3600)


def test_unreadable_benchmark_names_the_file(tmp_path):
    path = tmp_path / "benchmarks/train/rn_eps0.tsv"
    path.parent.mkdir(parents=True)
    path.write_text("wall\n3\n")
    with pytest.raises(ValueError, match="rn_eps0.tsv"):
        accounting.read_benchmarks(str(tmp_path))


def test_grid_jobs_of_the_paper_config():
    """The same counts the paper grid's dry run lists (tests/test_workflow.py checks them against Snakemake)."""
    counts = grid_jobs(atconfig.load("config/config.yaml", check_data=False))
    # PGD in units per (model, delta): delta 0-12 and the checklist's 64 (each model's eps are among 0-12)
    assert counts["train"] == 20 and counts["evaluate_pgd"] == 2 * 14
    # the transfer examples are the PGD units' (the paper's transfer PGD has the grid's PGD settings)
    assert "transfer_examples" not in counts and counts["evaluate_corruptions"] == 20
    # units (attack, delta, one beta) over every eps and layer: transfer at 7 deltas, BPDA at 6, APGD-BPDA at 6 at one
    # beta and unquantized; the checklist's very large beta (transfer, delta 0) and BPDA at delta 64, per architecture
    # (the unquantized transfer and BPDA cells are the PGD units')
    assert counts["evaluate_quantized"] == 2 * (7 * 5 + 6 * 5 + 6 * (1 + 1)) + 2 + 2
    assert counts["evaluate_quantized_steps"] == 2
    # C1's validation evaluations (every eps >= delta at each delta that is a trained eps with a larger one: ResNet-18
    # delta 1-11, 12 + 11 + ... + 2 = 77; WRN delta 2-10, 6 + 5 + 4 + 3 + 2 = 20) include each search's first
    assert counts["evaluate_pgd_steps"] == 2 and counts["evaluate_pgd_val"] == 77 + 20


def test_grid_jobs_follow_the_config():
    cfg = atconfig.load("config/config.yaml", check_data=False)
    cfg["quantization"]["beta"] = [8, 12]
    cfg["quantization"]["attacks"] = ["transfer", "bpda"]
    del cfg["corruptions"]
    del cfg["overdesign"]["search"]
    counts = grid_jobs(atconfig.validate(cfg, check_data=False))
    assert counts["evaluate_quantized"] == 2 * (7 + 6) * 2 + 2 + 2
    assert "evaluate_corruptions" not in counts and counts["evaluate_pgd_val"] == 77 + 20  # C1's, without a search
    cfg["overdesign"]["delta"] = [12]  # no delta with a larger eps: no validation evaluation
    assert "evaluate_pgd_val" not in grid_jobs(atconfig.validate(cfg, check_data=False))


def test_quantized_evaluations_are_accounted_per_attack(tmp_path):
    bench(tmp_path / "benchmarks/evaluate_bpda/rn_eps0_delta8_none.tsv", 10.0)
    bench(tmp_path / "benchmarks/evaluate_apgd-bpda/rn_eps0_delta8_none.tsv", 100.0)
    cfg = atconfig.load("config/config.yaml", check_data=False)
    by_attack = grid_jobs(cfg, by_attack=True)
    assert "evaluate_quantized" not in by_attack
    assert (
        by_attack["evaluate_transfer"] + by_attack["evaluate_bpda"] + by_attack["evaluate_apgd-bpda"]
        == grid_jobs(cfg)["evaluate_quantized"]
    )
    assert by_attack["evaluate_bpda"] == 2 * 6 * 5 + 2  # + the checklist's BPDA at delta 64
    assert by_attack["evaluate_quantized_steps"] == 2  # BPDA-100 on the checklist's masking cells
    rows = accounting.summary(accounting.read_benchmarks(str(tmp_path)), ["evaluate_quantized"], by_attack)
    rows = rows.set_index("rule")
    assert rows.loc["evaluate_apgd-bpda", "kind"] == "gpu"
    assert rows.loc["evaluate_apgd-bpda", "grid_gpu_hours"] == pytest.approx(
        by_attack["evaluate_apgd-bpda"] * 100 / 3600
    )
    assert rows.loc["evaluate_transfer", "jobs"] == 0  # in the grid, not measured in this run


def test_evaluation_units_are_projected_per_cell(tmp_path):
    """A unit's size grows with the grid: its time is projected per cell, not per job."""
    bench(tmp_path / "benchmarks/evaluate_bpda/rn_delta8_beta4.tsv", 30.0)
    bench(tmp_path / "benchmarks/evaluate_bpda/rn_delta8_none.tsv", 10.0)
    bench(tmp_path / "benchmarks/evaluate_pgd/rn_delta8_none.tsv", 6.0)
    cfg = atconfig.load("config/config.yaml", check_data=False)
    grid_cells = jobs.unit_cells(Plan(cfg))
    assert grid_cells["evaluate_bpda"] == 13 * 6 * 5 * 5 + 7 * 6 * 4 * 5 + 2 * 2
    # PGD: every eps at delta 0-12 and itself (13 deltas), and the checklist's delta 64 at each largest eps
    assert grid_cells["evaluate_pgd"] == 20 * 13 + 2
    assert sum(grid_cells.values()) == (3395 - 140) + (2910 - 120) + 678 + 9 + 4 + 4 + 262
    rows = accounting.summary(
        accounting.read_benchmarks(str(tmp_path)),
        ["evaluate_quantized", "evaluate_pgd"],
        grid_jobs(cfg, by_attack=True),
        {"evaluate_bpda": (8, grid_cells["evaluate_bpda"]), "evaluate_pgd": (2, grid_cells["evaluate_pgd"])},
    ).set_index("rule")
    # 40 s for 8 cells: 5 s per cell; PGD 6 s for 2 cells: 3 s per cell
    assert rows.loc["evaluate_bpda", "grid_gpu_hours"] == pytest.approx(grid_cells["evaluate_bpda"] * 5 / 3600)
    assert rows.loc["evaluate_pgd", "grid_gpu_hours"] == pytest.approx((20 * 13 + 2) * 3 / 3600)


def test_a_repeated_benchmark_counts_its_mean_time_and_its_peak_memory(tmp_path):
    """Snakemake's ``repeat`` writes one line per run: the job's seconds are their mean (by hand: (4 + 8) / 2 = 6),
    its memory their peak; a max for the time would inflate every projection."""
    path = tmp_path / "benchmarks/evaluate_pgd/rn_delta4.tsv"
    path.parent.mkdir(parents=True)
    path.write_text(HEADER + "4\t0:00:04\t100\t1\t1\t1\t0\t0\t50\t2\n8\t0:00:08\t300\t1\t1\t1\t0\t0\t50\t6\n")
    row = accounting.read_benchmarks(str(tmp_path)).iloc[0]
    assert row["seconds"] == 6 and row["max_rss_mb"] == 300 and row["cpu_seconds"] == 4
