"""Compute accounting: what each rule of a run cost (from Snakemake's ``benchmark:`` files), and what the paper's grid
would cost at those per-job times.

Every rule writes ``results/<run>/benchmarks/<rule>/<job>.tsv`` (or ``<rule>.tsv`` for a single job): wall seconds
``s``, peak memory ``max_rss`` (MB) and ``cpu_time``. The projection multiplies each GPU rule's mean wall time per job
by the number of jobs of that rule in a grid (:func:`atspectrum.planning.jobs.grid_jobs`, counted from the plan);
quantized evaluation units, whose size grows with the grid, by their time per cell and the grid's cells.
It is only as good as the jobs measured: a demo run's per-job times are those of its small models and data.
"""

from __future__ import annotations

import glob
import os

import pandas as pd

from atspectrum.planning.jobs import rule_of

COLUMNS = ["rule", "job", "seconds", "max_rss_mb", "cpu_seconds"]


def _number(value) -> float:
    """Snakemake writes '-' where it could not measure a value."""
    return pd.to_numeric(value, errors="coerce")


def read_benchmarks(root: str) -> pd.DataFrame:
    """One row per benchmark file under ``<root>/benchmarks``: rule, job, seconds, max_rss_mb, cpu_seconds.

    The rule is the first path component below ``benchmarks/`` (a file directly there is named after its rule).
    A file with several lines (``repeat``) contributes its mean."""
    base = os.path.join(root, "benchmarks")
    rows = []
    for path in sorted(glob.glob(os.path.join(base, "**", "*.tsv"), recursive=True)):
        rel = os.path.relpath(path, base)
        parts = rel.split(os.sep)
        rule = parts[0].removesuffix(".tsv")
        job = os.path.splitext(os.path.join(*parts[1:]))[0] if len(parts) > 1 else rule
        try:
            frame = pd.read_csv(path, sep="\t")
        except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
            raise ValueError(f"benchmark file {path} is unreadable: {exc}") from None
        if "s" not in frame.columns or frame.empty:
            raise ValueError(f"benchmark file {path} has no 's' (wall seconds) column or no row")
        rows.append(
            {
                "rule": rule,
                "job": job,
                "seconds": float(_number(frame["s"]).mean()),
                "max_rss_mb": float(_number(frame.get("max_rss", pd.Series([float("nan")]))).max()),
                "cpu_seconds": float(_number(frame.get("cpu_time", pd.Series([float("nan")]))).mean()),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


SUMMARY_COLUMNS = [
    "rule",
    "kind",
    "jobs",
    "wall_s",
    "mean_s",
    "max_s",
    "max_rss_mb",
    "grid_jobs",
    "grid_cells",
    "grid_gpu_hours",
]


def _rule_row(rule: str, g: pd.DataFrame, gpu: bool, paper: int | None, cells: tuple) -> dict:
    """One rule's row: its jobs' wall times and, for a GPU rule of the grid, the projected GPU-hours (per cell when
    ``cells`` = (cells this run evaluated, cells of the grid) says it is a unit's rule, else per job)."""
    mean, wall = float(g["seconds"].mean()), float(g["seconds"].sum())
    run_cells, grid_cells = cells if gpu else (None, None)
    if paper is None:
        hours = None
    elif run_cells:
        hours = grid_cells * wall / run_cells / 3600.0
    else:
        hours = paper * mean / 3600.0
    return {
        "rule": rule,
        "kind": "gpu" if gpu else "cpu",
        "jobs": len(g),
        "wall_s": wall,
        "mean_s": mean,
        "max_s": float(g["seconds"].max()),
        "max_rss_mb": float(g["max_rss_mb"].max()),
        "grid_jobs": paper,
        "grid_cells": grid_cells,
        "grid_gpu_hours": hours,
    }


def summary(
    bench: pd.DataFrame,
    gpu_rules: list[str],
    projected_jobs: dict[str, int],
    cells: dict[str, tuple[int, int]] | None = None,
) -> pd.DataFrame:
    """Per rule (benchmark directory, see :func:`rule_of`): kind (gpu/cpu), jobs, total/mean/max wall seconds, peak
    memory, and for GPU rules the jobs of the projected grid and its GPU-hours at this run's mean time per job. A rule
    in ``cells`` (an evaluation unit's: (cells this run evaluated, cells of the grid)) is projected per cell instead,
    since a unit's size grows with the grid. A last row sums the run and the projection."""
    cells = cells or {}
    rows = []
    for rule, g in bench.groupby("rule", sort=True):
        gpu = rule_of(rule) in gpu_rules
        paper = projected_jobs.get(rule) if gpu else None
        rows.append(_rule_row(rule, g, gpu, paper, cells.get(rule, (None, None))))
    table = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    missing = sorted(set(projected_jobs) - set(table["rule"]))
    if missing:  # a GPU rule of the grid this run never ran: no time to project from
        never = pd.DataFrame([{"rule": r, "kind": "gpu", "jobs": 0, "grid_jobs": projected_jobs[r]} for r in missing])
        table = pd.concat([table, never], ignore_index=True)
    total = {
        "rule": "total",
        "kind": "",
        "jobs": int(table["jobs"].sum()),
        "wall_s": table["wall_s"].sum(),
        "mean_s": None,
        "max_s": table["max_s"].max(),
        "max_rss_mb": table["max_rss_mb"].max(),
        "grid_jobs": int(pd.to_numeric(table["grid_jobs"]).sum()),
        "grid_cells": pd.to_numeric(table["grid_cells"]).sum(min_count=1),
        "grid_gpu_hours": pd.to_numeric(table["grid_gpu_hours"]).sum(min_count=1),
    }
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)
