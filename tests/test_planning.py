"""The one plan of the grid (atspectrum.planning): cells and their files, the units that group them, each computation
once, training seeds as a dimension, the job counts, and the package's import structure."""

import copy
import subprocess
import sys

import pytest

from atspectrum import config as atconfig
from atspectrum.planning import NONE, PGD, Cell, CellIndex, Plan, Unit, jobs, parse
from atspectrum.planning.checklist import adv_needed

PAPER = atconfig.load("config/config.yaml", check_data=False)


def edited(config, **edits):
    """A validated copy of ``config`` with edits (nested keys joined by '__')."""
    cfg = copy.deepcopy(config)
    for dotted, value in edits.items():
        node, keys = cfg, dotted.split("__")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return atconfig.validate(cfg, check_data=False)


def test_a_cell_and_its_file_map_both_ways():
    cells = [
        Cell("rn", 3, 8, "bpda", 4, "conv0", 7.5),
        Cell("rn", 0, 12, "transfer", 0),
        Cell("rn", 1, 8, "bpda5x", 16, "layer2", 8),
        Cell("wrn", 2, 0, "pgd5x", 4),
        Cell("rn", 0, 8, "apgd-bpda", 6, "layer4", 12),
    ]
    for cell in cells:
        assert parse(cell.path("results/x")) == cell
    assert (
        Cell("rn", 3, 8, "bpda", 4, "conv0", 7.5).path("r") == "r/eval/rn/seed3/eps8/bpda/delta4/conv0/beta7p5.parquet"
    )
    assert Cell("rn", 0, 8, "pgd", 4, NONE, 8).beta is None  # the unquantized cell has no beta, whatever is passed
    assert parse("r/search/rn/seed0/delta4/eps8/test.parquet") is None
    assert parse("r/eval/rn/eps8/pgd/delta4/none.parquet") is None  # a path without its seed is no cell
    assert Cell("rn", 3, 8, "bpda", 4, "conv0", 7.5).unit == Unit("rn", 3, "bpda", 4, "beta7p5")
    assert Unit("rn", 3, "bpda", 4, "beta7p5").beta == 7.5 and Unit("rn", 3, "pgd", 4, NONE).beta is None
    with pytest.raises(ValueError, match="beta"):
        Cell("rn", 0, 8, "bpda", 4, "conv0")


def test_the_paper_grid_holds_every_cell_once_and_computes_each_pgd_once():
    plan = Plan(PAPER)
    cells = [c for unit_cells in plan.units.values() for c in unit_cells]
    assert len(cells) == len(set(cells))
    wanted = {plan.canonical(c) for m in plan.models for c in plan.pgd_cells(m, 0) + plan.quant_cells(m, 0)}
    assert wanted <= set(cells)
    # the table cells less the unquantized transfer (20 models x 7 deltas) and BPDA (20 x 6) cells, which are the PGD
    # cells (the paper's three attacks share their settings), the overdesign grid's PGD (20 x 13 deltas) and the
    # checklist's (PGD at delta 64: 2; beta = 1e6: 5 + 4; BPDA at delta 64 and BPDA-100 on two points: 2 x 2 each)
    assert len(cells) == (3395 - 140) + (2910 - 120) + 678 + 20 * 13 + 2 + 9 + 4 + 4
    assert plan.pgd_serves == ["transfer", "bpda"] and plan.adv_from_pgd
    assert plan.unit_of(Cell("resnet18", 0, 8, "bpda", 4)) == Unit("resnet18", 0, PGD, 4, NONE)
    assert plan.unit_of(Cell("resnet18", 0, 8, "transfer", 4)) == Unit("resnet18", 0, PGD, 4, NONE)
    per_attack = jobs.grid_jobs(plan, by_attack=True)
    assert per_attack["evaluate_transfer"] == 2 * 7 * 5 + 2  # per beta; + the checklist's beta = 1e6 at delta 0
    assert per_attack["evaluate_bpda"] == 2 * 6 * 5 + 2  # + BPDA at delta 64, beta 8
    assert per_attack["evaluate_pgd"] == 2 * 14 and "transfer_examples" not in per_attack
    assert plan.unit_adv(Unit("resnet18", 0, PGD, 4, NONE)) == list(range(13))  # its transfer examples


def test_attacks_with_other_settings_than_the_grids_pgd_are_their_own_computation():
    plan = Plan(edited(PAPER, quantization__bpda__steps=50, quantization__transfer__step_factor=0.2))
    assert plan.pgd_serves == [] and not plan.adv_from_pgd
    assert plan.unit_of(Cell("resnet18", 0, 8, "bpda", 4)) == Unit("resnet18", 0, "bpda", 4, NONE)
    assert plan.adv_source("resnet18", 0, 8, 4) == "results/adv/resnet18/seed0/eps8/transfer/delta4.npz"
    assert jobs.grid_jobs(plan)["transfer_examples"] == 20 * 6


def test_adding_a_beta_a_delta_or_a_seed_adds_units_and_changes_no_other():
    base = Plan(PAPER).units
    for edit, new in (
        ({"quantization__beta": [4, 6, 7, 8, 10, 12]}, lambda u: u.q == "beta7"),
        ({"quantization__delta": [2, 4, 5, 6, 8, 10, 12]}, lambda u: u.delta == 5),
        ({"overdesign__delta": list(range(1, 14))}, lambda u: u.delta == 13 and u.attack == PGD),
        ({"seeds": [0, 3]}, lambda u: u.seed == 3),
    ):
        added = Plan(edited(PAPER, **edit)).units
        assert {u: c for u, c in added.items() if u in base} == base, edit
        assert set(added) - set(base) and all(new(u) for u in set(added) - set(base)), edit
    two = Plan(edited(PAPER, seeds=[0, 3]))
    assert len(two.units) == 2 * len(base)
    assert {u for u in two.units if u.seed == 3} == {Unit(u.model, 3, u.attack, u.delta, u.q) for u in base}


def test_seeds_multiply_the_jobs_and_share_the_data():
    one, three = Plan(PAPER), Plan(edited(PAPER, seeds=[0, 1, 2]))
    j1, j3 = jobs.grid_jobs(one), jobs.grid_jobs(three)
    assert all(j3[rule] == 3 * n for rule, n in j1.items())
    # the data seed is the data's: one config key, the same for every training seed
    assert three.config["data"]["seed"] == 0
    with pytest.raises(atconfig.ConfigError, match="data.seed.*seeds"):
        atconfig.validate({**copy.deepcopy(PAPER), "seed": 1}, check_data=False)
    assert [c.seed for c in three.checklist_cells(2)["pgd"]] == [2] * len(one.checklist_cells(0)["pgd"])
    assert {m for m, s, e, d in adv_needed(three.checklist, 1)} == set(three.models)


def test_settings_and_time_limits_of_a_unit_are_its_attacks_own():
    plan = Plan(edited(PAPER, overdesign__attack__steps=30))
    assert plan.settings("bpda") == {"steps": 20, "step_factor": 0.1, "random_start": True}
    assert plan.settings("bpda5x")["steps"] == 100 and plan.settings("pgd5x")["steps"] == 150
    assert plan.settings("pgd")["steps"] == 30 and plan.pgd_serves == []  # PGD's settings are the grid's own
    assert plan.settings("apgd-bpda") == {"steps": 100, "restarts": 1, "losses": ["ce", "dlr"]}
    minutes = jobs.runtime_minutes
    assert minutes(plan, "bpda", 65) > minutes(plan, "bpda", 5) > minutes(plan, "transfer", 5)
    assert minutes(plan, "apgd-bpda", 5) > minutes(plan, "bpda", 5)


def test_a_reader_finds_its_cells_through_the_manifests_it_declared(tmp_path):
    root = str(tmp_path)
    pgd = Cell("rn", 1, 8, PGD, 4)
    quantized = Cell("rn", 1, 8, "bpda", 4, "conv0", 8)
    manifest = tmp_path / "pgd.json"
    import json

    manifest.write_text(
        json.dumps(
            {
                "cells": [{"cell": pgd.as_dict(), "file": pgd.path(root), "key": "k"}],
                "adv": [{"cell": {"model": "rn", "seed": 1, "eps": 8, "delta": 4}, "file": "a.npz"}],
            }
        )
    )
    unit_manifest = Unit("rn", 1, PGD, 4, NONE).file(root)
    (tmp_path / "eval/rn/seed1/units/pgd/delta4").mkdir(parents=True)
    manifest.rename(unit_manifest)
    index = CellIndex.of([unit_manifest, quantized.path(root)])
    assert index.path(pgd) == pgd.path(root)
    assert index.path(Cell("rn", 1, 8, "bpda", 4)) == pgd.path(root)  # BPDA's undeclared unquantized cell: PGD's
    assert index.path(quantized) == quantized.path(root) and index.adv("rn", 1, 8, 4) == "a.npz"
    with pytest.raises(KeyError, match="not among this job's declared inputs"):
        index.path(Cell("rn", 0, 8, PGD, 4))  # another seed's cell was not declared


def test_plan_inputs_are_manifests_for_unit_cells_and_files_for_the_rest():
    plan = Plan(PAPER, "R")
    cells = [Cell("resnet18", 0, e, "bpda", 4, "conv0", 8) for e in (0, 8)] + [Cell("resnet18", 0, 8, "pgd5x", 12)]
    cells += [Cell("resnet18", 0, 8, "bpda", 4)]
    assert plan.inputs(cells) == sorted(
        [
            Unit("resnet18", 0, "bpda", 4, "beta8").file("R"),
            Unit("resnet18", 0, PGD, 4, NONE).file("R"),
            Cell("resnet18", 0, 8, "pgd5x", 12).path("R"),
        ]
    )


def test_planning_imports_no_torch_and_evaluation_and_reporting_do_not_import_each_other():
    code = (
        "import sys, atspectrum.planning, atspectrum.planning.jobs, atspectrum.planning.outputs; "
        "assert 'torch' not in sys.modules and 'pandas' not in sys.modules, 'planning imported torch or pandas'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    for package, other in (("evaluation", "reporting"), ("reporting", "evaluation")):
        code = (
            "import sys, importlib, pkgutil, atspectrum.{p} as pkg\n"
            "for m in pkgutil.walk_packages(pkg.__path__, 'atspectrum.{p}.'): importlib.import_module(m.name)\n"
            "bad = [m for m in sys.modules if m.startswith('atspectrum.{o}')]\n"
            "assert not bad, bad"
        ).format(p=package, o=other)
        subprocess.run([sys.executable, "-c", code], check=True)
