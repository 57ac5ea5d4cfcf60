"""The overdesign search: the decision rule on constructed validation errors (the answer known by construction), its
records, the config keys, and the checkpoint-driven workflow end to end on a tiny config."""

import copy
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from workflow_run import ROOT, job_counts, one_seed, snakemake

from atspectrum import config as C
from atspectrum import data, stats
from atspectrum.evaluation import search
from atspectrum.evaluation.search import MAX_EPS, PATIENCE, Settings, decide
from atspectrum.runtime import paths


def run_search(settings: Settings, curve: dict[int, float]):
    """Drive the search the way the workflow does, one visit at a time, on a known error curve ε → error."""
    errors, eps = {}, settings.delta
    while True:
        errors[eps] = curve[eps]
        d = decide(settings, errors)
        if d.stop:
            return sorted(errors), d
        eps = d.next_eps


# --- the decision rule ---------------------------------------------------------------------------------------------


def test_stops_exactly_when_the_error_has_risen_for_patience_consecutive_eps():
    s = Settings(delta=4, step=2, patience=2, max_eps=64)
    curve = {4: 30, 6: 25, 8: 22, 10: 24, 12: 26, 14: 10, 16: 10}  # minimum at 8; 10 and 12 above it
    visited, d = run_search(s, curve)
    assert visited == [4, 6, 8, 10, 12]  # eps 14 (an even lower error) is never visited: the search stopped
    assert (d.stop, d.reason, d.eps_star, d.best_error, d.rises, d.next_eps) == (True, PATIENCE, 8, 22, 2, None)


def test_patience_counts_rises_relative_to_the_best_so_far_not_to_the_previous_eps():
    # 10 → 12 falls (24 → 23) but both stay above the best (22 at eps 8): two consecutive rises relative to the best.
    s = Settings(delta=4, step=2, patience=2, max_eps=64)
    visited, d = run_search(s, {4: 30, 6: 25, 8: 22, 10: 24, 12: 23, 14: 1})
    assert visited == [4, 6, 8, 10, 12] and d.eps_star == 8 and d.reason == PATIENCE


def test_a_new_best_resets_the_count():
    s = Settings(delta=1, step=1, patience=2, max_eps=12)
    visited, d = run_search(s, {1: 50, 2: 52, 3: 45, 4: 46, 5: 47, 6: 0})
    assert visited == [1, 2, 3, 4, 5] and d.eps_star == 3 and d.reason == PATIENCE


@pytest.mark.parametrize("patience, last", [(1, 4), (2, 5), (3, 6)])
def test_patience_sets_how_far_past_the_minimum_the_search_goes(patience, last):
    s = Settings(delta=1, step=1, patience=patience, max_eps=20)
    visited, d = run_search(s, {e: abs(e - 3) + 10.0 for e in range(1, 21)})  # V-shaped, minimum at eps 3
    assert visited[-1] == last and d.eps_star == 3 and d.reason == PATIENCE


def test_max_eps_bounds_the_search_and_is_the_reason_when_patience_never_runs_out():
    s = Settings(delta=2, step=3, patience=2, max_eps=13)  # schedule 2, 5, 8, 11 (14 would pass 13)
    visited, d = run_search(s, {e: 100.0 - e for e in range(2, 30)})  # keeps falling
    assert s.schedule() == [2, 5, 8, 11] and visited == [2, 5, 8, 11]
    assert (d.reason, d.eps_star, d.rises) == (MAX_EPS, 11, 0)


def test_patience_wins_when_both_stop_conditions_hold_at_once():
    s = Settings(delta=2, step=2, patience=1, max_eps=4)
    visited, d = run_search(s, {2: 10.0, 4: 11.0})
    assert visited == [2, 4] and d.reason == PATIENCE and d.eps_star == 2


def test_max_eps_equal_to_delta_visits_only_the_start():
    visited, d = run_search(Settings(delta=8, step=1, patience=3, max_eps=8), {8: 40.0})
    assert visited == [8] and (d.reason, d.eps_star) == (MAX_EPS, 8)


def test_a_tie_with_the_best_is_not_a_rise_and_eps_star_is_the_smaller_eps():
    s = Settings(delta=4, step=4, patience=2, max_eps=40)
    # 12 ties the best (20): the count restarts there, so the search runs to 20; eps* is the smaller tied eps, 8.
    visited, d = run_search(s, {4: 30, 8: 20, 12: 20, 16: 21, 20: 25, 24: 0})
    assert visited == [4, 8, 12, 16, 20] and d.eps_star == 8 and d.best_error == 20 and d.reason == PATIENCE
    # a plateau never stops by patience
    visited, d = run_search(Settings(delta=4, step=4, patience=1, max_eps=16), {4: 5.0, 8: 5.0, 12: 5.0, 16: 5.0})
    assert visited == [4, 8, 12, 16] and (d.reason, d.eps_star) == (MAX_EPS, 4)


def test_the_start_is_the_answer_when_overdesigning_does_not_help():
    visited, d = run_search(Settings(delta=6, step=2, patience=2, max_eps=30), {6: 40, 8: 41, 10: 45, 12: 1})
    assert visited == [6, 8, 10] and d.eps_star == 6


def test_decide_refuses_skipped_eps_values_after_a_stop_and_bad_errors():
    s = Settings(delta=4, step=2, patience=1, max_eps=20)
    with pytest.raises(ValueError, match="visits eps"):
        decide(s, {4: 10.0, 8: 9.0})  # 6 skipped
    with pytest.raises(ValueError, match="visits eps"):
        decide(s, {6: 10.0})  # does not start at delta
    with pytest.raises(ValueError, match="stopped at eps 6"):
        decide(s, {4: 10.0, 6: 11.0, 8: 9.0})  # patience 1 stopped at 6
    with pytest.raises(ValueError, match="percentage"):
        decide(s, {4: float("nan")})
    with pytest.raises(ValueError, match="no eps"):
        decide(s, {})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"delta": 0, "step": 1, "patience": 1, "max_eps": 8}, "delta"),
        ({"delta": 4, "step": 0, "patience": 1, "max_eps": 8}, "step"),
        ({"delta": 4, "step": 1, "patience": 0, "max_eps": 8}, "patience"),
        ({"delta": 8, "step": 1, "patience": 1, "max_eps": 4}, "max_eps"),
        ({"delta": 8, "step": 1, "patience": 1, "max_eps": 300}, "max_eps"),
        ({"delta": 8, "step": 1.5, "patience": 1, "max_eps": 30}, "integer"),
    ],
)
def test_settings_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Settings(**kwargs)


def test_previous_follows_the_schedule():
    s = Settings(delta=3, step=2, patience=1, max_eps=9)
    assert [s.previous(e) for e in (3, 5, 7, 9)] == [None, 3, 5, 7]
    for off in (4, 1, 11):
        with pytest.raises(ValueError, match="not visited"):
            s.previous(off)


# --- the records the checkpoint and the result rule write -------------------------------------------------------------


def frame(correct):
    correct = np.asarray(correct, dtype=bool)
    n = len(correct)
    return pd.DataFrame(
        {
            "index": np.arange(n),
            "label": np.zeros(n, dtype=np.int64),
            "pred": np.where(correct, 0, 1).astype(np.int64),
            "correct": correct,
        }
    )


def test_step_records_chain_and_walk_follows_them(tmp_path):
    s = Settings(delta=2, step=2, patience=1, max_eps=10)
    files, previous = {}, None
    for eps, wrong in ((2, 5), (4, 3), (6, 4)):  # errors 50%, 30%, 40% of 10 examples
        err = search.error_percent(frame([False] * wrong + [True] * (10 - wrong)))
        record = search.step_record(s, previous, eps, err, 10)
        files[eps] = tmp_path / f"eps{eps}.json"
        files[eps].write_text(json.dumps(record))
        previous = record
    assert [v["val_error"] for v in record["visited"]] == [50.0, 30.0, 40.0]
    assert (record["stop"], record["reason"], record["eps_star"]) == (True, PATIENCE, 4)
    requested = []
    paths, last = search.walk(2, lambda e: requested.append(e) or files[e])
    assert requested == [2, 4, 6] and paths == [str(files[e]) for e in (2, 4, 6)] and last == record
    with pytest.raises(ValueError, match="previous decision"):
        search.step_record(s, None, 4, 10.0, 10)
    with pytest.raises(ValueError, match="stopped at eps 6"):
        search.step_record(s, record, 8, 10.0, 10)


def test_walk_stops_at_the_first_step_not_yet_made():
    class Incomplete(Exception):
        pass

    def get(eps):
        raise Incomplete(eps)

    with pytest.raises(Incomplete) as stop:
        search.walk(4, get)
    assert stop.value.args == (4,)  # the first step, eps = delta, is the one asked for


def test_result_record_and_table():
    s = Settings(delta=2, step=2, patience=1, max_eps=10)
    last = search.step_record(s, search.step_record(s, None, 2, 50.0, 10), 4, 60.0, 10)
    base = frame([True] * 6 + [False] * 14)  # ε = δ: 70% error
    star = frame([True] * 6 + [True] * 10 + [False] * 4)  # ε*: 20% error, right on 10 more examples, on none fewer
    res = search.result_record(last, star, base)
    assert res["test_error_at_eps_star"] == 20.0 and res["test_error_at_delta"] == 70.0 and res["gain"] == 50.0
    assert res["test_error_lo"] < 20.0 < res["test_error_hi"] and res["n_test"] == 20
    assert res["p_value"] == pytest.approx(2 * 0.5**10)  # exact McNemar, 10 discordant pairs all one way
    table = search.table([res, {**res, "delta": 1}])
    assert list(table.columns) == search.TABLE_COLUMNS and list(table["delta"]) == [1, 2]
    row = table.iloc[1]
    assert row["eps_visited"] == "2, 4" and row["val_errors"] == "50.00, 60.00" and row["stop_reason"] == PATIENCE
    assert row["eps_star"] == 2 and row["eps_star_minus_delta"] == 0 and row["n_val"] == 10
    # each visit's 95% Wilson interval, in order: 5 and 6 wrong of 10
    expected = ", ".join("{:.2f}–{:.2f}".format(*(100 * b for b in stats.wilson(k, 10))) for k in (5, 6))
    assert row["val_error_ci95"] == expected and search.val_interval({"val_error": 50.0, "n": 10})[0] < 50.0
    with pytest.raises(ValueError, match="same test examples"):
        search.result_record(last, star.iloc[:10], base)
    with pytest.raises(ValueError, match="not stopped"):
        search.result_record(search.step_record(s, None, 2, 50.0, 10), star, base)


# --- config -------------------------------------------------------------------------------------------------------

GOOD = {
    "run": "t",
    "data": {"dataset": "fashion_mnist", "root": None, "val_size": 10},
    "models": {"r": {"arch": "resnet18", "width": 2, "eps": [0, 8]}, "w": {"arch": "wrn28_10", "eps": [0]}},
    "overdesign": {"delta": [4, 8], "search": {"delta": [8, 4]}},
}


def test_search_defaults_and_accessors():
    cfg = C.validate(copy.deepcopy(GOOD), check_data=False)
    assert cfg["overdesign"]["search"] == {
        "delta": [8, 4],
        "step": 1,
        "patience": 2,
        "max_eps": 64,
        "val_fraction": 0.5,
        "models": None,
    }
    assert C.search_val_fraction(cfg) == 0.5
    assert C.search_models(cfg) == ["r", "w"] and C.search_deltas(cfg) == [4, 8]
    assert C.search_settings(cfg, 4) == {"delta": 4, "step": 1, "patience": 2, "max_eps": 64}
    cfg["overdesign"]["search"]["models"] = ["w"]
    assert C.search_models(cfg) == ["w"]
    off = copy.deepcopy(GOOD)
    del off["overdesign"]["search"]
    off = C.validate(off, check_data=False)
    assert not C.search_enabled(off) and C.search_models(off) == [] and C.search_deltas(off) == []


@pytest.mark.parametrize(
    "search_cfg, key",
    [
        ({"delta": [0]}, "overdesign.search.delta[0]"),
        ({"delta": []}, "overdesign.search.delta"),
        ({"step": 2}, "overdesign.search"),  # delta is required
        ({"delta": [4], "step": 0}, "overdesign.search.step"),
        ({"delta": [4], "patience": 0}, "overdesign.search.patience"),
        ({"delta": [4], "max_eps": 256}, "overdesign.search.max_eps"),
        ({"delta": [4, 40], "max_eps": 32}, "overdesign.search.max_eps"),
        ({"delta": [4], "models": ["nope"]}, "overdesign.search.models[0]"),
        ({"delta": [4], "patiense": 2}, "overdesign.search"),
        ({"delta": [4], "val_fraction": 1.0}, "overdesign.search.val_fraction"),
        ({"delta": [4], "val_fraction": 0.01}, "overdesign.search.val_fraction"),  # 0 of val_size 10 for the search
        ({"delta": [4], "val_fraction": 0.97}, "overdesign.search.val_fraction"),  # 0 of 10 left for selection
    ],
)
def test_invalid_search_config_names_the_key(search_cfg, key):
    cfg = copy.deepcopy(GOOD)
    cfg["overdesign"]["search"] = search_cfg
    with pytest.raises(C.ConfigError, match=re.escape(f"config key '{key}'")):
        C.validate(cfg, check_data=False)


def test_search_needs_a_validation_split():
    cfg = copy.deepcopy(GOOD)
    cfg["data"]["val_size"] = 0
    cfg["train"] = {"select": "last"}
    with pytest.raises(C.ConfigError, match="data.val_size"):
        C.validate(cfg, check_data=False)


def test_shipped_configs_search():
    paper = C.load(ROOT / "config" / "config.yaml", check_data=False)
    assert C.search_models(paper) == ["resnet18"] and paper["overdesign"]["search"]["step"] in (1, 2)
    assert set(C.search_deltas(paper)) <= set(paper["overdesign"]["delta"])
    demo = C.load(ROOT / "config" / "demo.yaml", check_data=False)
    assert len(C.search_deltas(demo)) == 1
    s = C.search_settings(demo, C.search_deltas(demo)[0])
    # every eps the demo's search can visit is a grid model (no extra training)
    assert set(Settings(**s).schedule()) <= set(demo["models"]["resnet18"]["eps"])


# --- the validation split: checkpoint selection and the search never share an image ----------------------------------


@pytest.mark.parametrize("n, fraction, n_search", [(250, 0.5, 125), (1000, 0.3, 300), (7, 0.5, 4), (2, 0.5, 1)])
def test_validation_parts_are_disjoint_cover_the_split_and_are_seeded(n, fraction, n_search):
    select, held = data.split_val_parts(n, fraction, seed=0)
    assert len(held) == n_search and len(select) == n - n_search
    assert set(select.tolist()).isdisjoint(held.tolist())
    assert sorted(select.tolist() + held.tolist()) == list(range(n))
    assert select.tolist() == sorted(select.tolist()) and held.tolist() == sorted(held.tolist())
    again = data.split_val_parts(n, fraction, seed=0)
    assert again[0].tolist() == select.tolist() and again[1].tolist() == held.tolist()  # deterministic


def test_validation_parts_are_random_and_depend_on_the_seed():
    select, held = data.split_val_parts(1000, 0.5, seed=0)
    assert held.tolist() != list(range(500)) and held.tolist() != list(range(500, 1000))  # not a block
    assert data.split_val_parts(1000, 0.5, seed=1)[1].tolist() != held.tolist()
    assert 200 < int((held < 500).sum()) < 300  # spread over the whole split
    with pytest.raises(data.DataError, match="each part needs at least one"):
        data.split_val_parts(1, 0.5, seed=0)
    with pytest.raises(data.DataError, match="strictly between 0 and 1"):
        data.split_val_parts(10, 0.0, seed=0)


def test_written_parts_keep_the_source_rows(tmp_path):
    images = np.arange(10 * 1 * 2 * 2, dtype=np.uint8).reshape(10, 1, 2, 2)
    labels, index = np.arange(10, dtype=np.int64) % 3, np.arange(100, 110, dtype=np.int64)
    src = tmp_path / "val.npz"
    np.savez(src, images=images, labels=labels, index=index)
    select, held = data.split_val_parts(10, 0.4, seed=3)
    assert data.write_rows(src, tmp_path / "held.npz", held.numpy()) == 4
    with np.load(tmp_path / "held.npz") as z:
        assert z["index"].tolist() == (100 + held).tolist()
        assert (z["images"] == images[held.numpy()]).all() and (z["labels"] == labels[held.numpy()]).all()


def test_training_selects_on_the_selection_part_only_while_a_search_runs():
    assert search.selection_split(True) == search.SELECT_SPLIT != search.SEARCH_SPLIT
    assert search.selection_split(False) == "val"  # no search: nothing to keep apart, the whole split selects


# --- the workflow: checkpoint-driven, end to end ------------------------------------------------------------------

TINY = {
    "run": "tiny",
    "device": "cpu",
    "data": {"dataset": "fashion_mnist", "val_size": 32, "train_size": 128, "test_size": 32},
    # the grid trains eps 8, 24, 32; the search at delta 8 (step 8) starts on the grid's eps 8 and trains eps 16
    "models": {"rn": {"arch": "resnet18", "width": 2, "eps": [8, 24, 32]}},
    "train": {
        "epochs": 1,
        "batch_size": 64,
        "lr": 0.05,
        "lr_milestones": [1],
        "select": "last",
        "attack": {"steps": 1},
        "val_attack": {"steps": 1},
    },
    "overdesign": {
        "delta": [8],
        "attack": {"steps": 2},
        # patience 1 and max_eps 16: visits exactly 8 and 16 whatever the errors
        "search": {"delta": [8], "step": 8, "patience": 1, "max_eps": 16},
    },
    "filters": False,
    "eval": {"batch_size": 64},
}

workflow = pytest.mark.skipif(
    data.default_root("fashion_mnist") is None,
    reason="needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)",
)


def with_search(**edits):
    cfg = copy.deepcopy(TINY)
    cfg["overdesign"]["search"].update(edits)
    return cfg


def search_test_file(out, eps):
    """The test evaluation (PGD_8) the search reads for ``eps``: the grid's cell, or beyond the grid its own."""
    grid = eps in TINY["models"]["rn"]["eps"]
    return out / (
        f"eval/rn/seed0/eps{eps}/pgd/delta8/none.parquet" if grid else f"search/rn/seed0/delta8/eps{eps}/test.parquet"
    )


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("search")
    dry = snakemake(workdir, TINY, "-n")
    assert dry.returncode == 0, dry.stderr[-4000:]
    res = snakemake(workdir, TINY, "--cores", "2")
    assert res.returncode == 0, res.stderr[-4000:]
    return workdir, dry.stdout + dry.stderr


@pytest.mark.slow
@workflow
def test_dry_run_before_the_search_plans_only_its_first_step(searched):
    _, dry = searched
    counts = job_counts(dry)
    # the search's first validation evaluation (eps 8) is one of C1's three (delta 8 at eps 8, 24, 32)
    assert counts["evaluate_pgd_val"] == 3 and counts["search_step"] == 1 and counts["search_result"] == 1
    assert counts["aggregate_search"] == 1 and counts["split_validation"] == 1
    assert counts["train"] == 3  # the grid's eps 8, 24, 32: the search's start (eps 8) is the grid's model
    assert "search/rn/seed0/delta8/eps8/step.json" in dry and "eps16" not in dry
    # what each job is given: training validates on the selection part, the search measures on the other
    inputs = {rule: re.findall(rf"rule {rule}:\n\s+input: ([^\n]+)", dry) for rule in ("train", "evaluate_pgd_val")}
    assert len(inputs["train"]) == 3 and len(inputs["evaluate_pgd_val"]) == 3
    for line in inputs["train"]:
        assert "data/fashion_mnist/val_select.npz" in line and "val_search" not in line and "/val.npz" not in line
    for line in inputs["evaluate_pgd_val"]:
        assert "data/fashion_mnist/val_search.npz" in line and "val_select" not in line


@pytest.mark.slow
@workflow
def test_selection_and_search_parts_partition_the_validation_split(searched):
    workdir, _ = searched
    split = {}
    for name in ("val", "val_select", "val_search"):
        with np.load(workdir / f"results/tiny/data/fashion_mnist/{name}.npz") as z:
            split[name] = z["index"].tolist()
    assert len(split["val_select"]) == len(split["val_search"]) == 16  # val_fraction 0.5 of 32
    assert set(split["val_select"]).isdisjoint(split["val_search"])
    assert sorted(split["val_select"] + split["val_search"]) == sorted(split["val"])
    # the search's evaluations are of the search part, example by example
    frame = pd.read_parquet(paths.val_eval_file(str(workdir / "results/tiny"), "rn", 0, 8, 8))
    with np.load(workdir / "results/tiny/data/fashion_mnist/val_search.npz") as z:
        assert frame["label"].tolist() == z["labels"].tolist() and len(frame) == 16


@pytest.mark.slow
@workflow
def test_the_checkpoints_drive_the_search_to_its_end(searched):
    workdir, _ = searched
    out = workdir / "results" / "tiny"
    steps = [json.loads((out / f"search/rn/seed0/delta8/eps{e}/step.json").read_text()) for e in (8, 16)]
    assert not (out / "search/rn/seed0/delta8/eps24").exists()
    assert steps[0]["stop"] is False and steps[0]["next_eps"] == 16 and steps[1]["stop"] is True
    errors = {e: search.error_percent(pd.read_parquet(paths.val_eval_file(str(out), "rn", 0, 8, e))) for e in (8, 16)}
    expected = decide(Settings(delta=8, step=8, patience=1, max_eps=16), errors)
    assert (steps[1]["reason"], steps[1]["eps_star"]) == (expected.reason, expected.eps_star)
    assert (out / "models/rn/seed0/eps16/model.pt").exists()  # trained for the search, at the grid's path
    # the test evaluations of eps* and eps = delta: eps 8 is the grid's cell (its PGD unit), eps 16 (when eps*)
    # beyond the grid the search's own
    assert (out / "search/rn/seed0/delta8/eps16/test.parquet").exists() == (expected.eps_star == 16)
    assert (
        not (out / "eval/rn/seed0/eps16").exists() and not (out / "search/rn/seed0/delta8/eps8/test.parquet").exists()
    )
    table = one_seed(out / "tables/overdesign_search_rn.csv")
    row = table.iloc[0]
    assert (row["delta"], row["eps_visited"], row["eps_star"]) == (8, "8, 16", expected.eps_star)
    test = pd.read_parquet(search_test_file(out, expected.eps_star))
    assert row["test_error_at_eps_star"] == pytest.approx(search.error_percent(test), abs=1e-3)
    assert len(test) == 32 and row["n_val"] == 16  # the search part: half of the 32 validation examples
    assert "| delta | eps_visited |" in (out / "tables/overdesign_search_rn.md").read_text()
    # sharing: putting eps 16 on the grid trains nothing more
    grid16 = copy.deepcopy(TINY)
    grid16["models"]["rn"]["eps"] = [8, 16, 24, 32]
    res = snakemake(workdir, grid16, "-n")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "train" not in job_counts(res.stdout + res.stderr)


@pytest.mark.slow
@workflow
def test_constructed_validation_errors_stop_the_workflow_where_they_first_rise_for_patience(searched):
    """Replace the validation results of eps 8..32 by constructed ones (errors 40.6, 31.2, 34.4, 37.5 %) and give the
    search patience 2 and max_eps 32: it must revisit 8 and 16, go on to 24 and 32 (grid models, no training), stop
    there by patience and report eps* = 16 with the test error of the eps-16 model."""
    workdir, _ = searched
    out = workdir / "results" / "tiny"
    cfg = with_search(patience=2, max_eps=32)
    wrong = {8: 13, 16: 10, 24: 11, 32: 12}  # of 32 validation examples
    for eps, k in wrong.items():
        path = Path(paths.val_eval_file(str(out), "rn", 0, 8, eps))
        path.parent.mkdir(parents=True, exist_ok=True)
        frame([False] * k + [True] * (32 - k)).to_parquet(path, index=False)
    dry = snakemake(workdir, cfg, "-n")
    assert dry.returncode == 0, dry.stderr[-3000:]
    planned = job_counts(dry.stdout + dry.stderr)
    # the decisions rerun (new settings, new validation results) one at a time: the plan holds only the first
    assert "train" not in planned and "evaluate_pgd_val" not in planned and planned["search_step"] == 1
    res = snakemake(workdir, cfg, "--cores", "2")
    assert res.returncode == 0, res.stderr[-4000:]
    last = json.loads((out / "search/rn/seed0/delta8/eps32/step.json").read_text())
    assert [v["eps"] for v in last["visited"]] == [8, 16, 24, 32]
    assert (last["reason"], last["eps_star"], last["rises"]) == (PATIENCE, 16, 2)
    row = one_seed(out / "tables/overdesign_search_rn.csv").iloc[0]
    assert (row["eps_visited"], row["val_errors"]) == ("8, 16, 24, 32", "40.62, 31.25, 34.38, 37.50")
    assert (row["eps_star"], row["eps_star_minus_delta"], row["stop_reason"]) == (16, 8, PATIENCE)
    test16 = pd.read_parquet(search_test_file(out, 16))
    assert row["test_error_at_eps_star"] == pytest.approx(search.error_percent(test16), abs=1e-3)
    again = snakemake(workdir, cfg, "-n")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
