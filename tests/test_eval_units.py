"""Evaluation units (PGD and quantized): which cells a unit holds, and the per-cell cache that keeps reruns and
failures cheap."""

import copy

import numpy as np
import pandas as pd
import pytest

from atspectrum import config as atconfig
from atspectrum.evaluation import units as U
from atspectrum.reporting import accounting
from atspectrum.runtime import paths

PAPER = atconfig.load("config/config.yaml", check_data=False)


def frame(seed: int, n: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    pred = np.where(rng.random(n) < 0.5, labels, (labels + 1) % 10)
    return pd.DataFrame({"index": np.arange(n), "label": labels, "pred": pred, "correct": pred == labels})


def test_a_cell_file_names_its_unit_eps_and_layer():
    assert U.split(paths.eval_file("results/x", "rn", 8, "bpda", 4, "conv0", 7.5)) == (
        U.Unit("rn", "bpda", 4, "beta7p5"),
        8,
        "conv0",
    )
    assert U.split(paths.eval_file("results/x", "rn", 12, "transfer", 0)) == (
        U.Unit("rn", "transfer", 0, "none"),
        12,
        "none",
    )
    assert U.split(paths.eval_file("r", "rn", 8, "bpda5x", 16, "layer2", 8)) == (
        U.Unit("rn", "bpda5x", 16, "beta8"),
        8,
        "layer2",
    )
    assert U.split(paths.eval_file("r", "rn", 8, "pgd", 4)) == (U.Unit("rn", "pgd", 4, "none"), 8, "none")
    # PGD with more steps is one job per cell (evaluate_pgd_steps), the search's evaluations are its own
    assert U.split(paths.eval_file("r", "rn", 8, "pgd5x", 4)) is None
    assert U.split("r/search/rn/delta4/eps8/test.parquet") is None
    assert U.Unit("rn", "bpda", 4, "beta7p5").beta == 7.5 and U.Unit("rn", "bpda", 4, "none").beta is None


def test_inputs_replace_every_planned_cell_by_its_unit_and_keep_the_rest():
    root = "results/x"
    files = [paths.eval_file(root, "rn", e, "bpda", 4, layer, 8) for e in (0, 8) for layer in ("conv0", "layer1")]
    files += [paths.eval_file(root, "rn", 8, "pgd", 4), paths.eval_file(root, "rn", 8, "bpda", 4)]
    off_plan = paths.eval_file(root, "rn", 20, "pgd", 4)  # an eps no unit holds (the search's beyond the grid)
    planned = U.group(files)
    assert U.inputs(files + [off_plan], root, planned) == sorted(
        [
            paths.unit_file(root, "rn", "bpda", 4, "beta8"),
            paths.unit_file(root, "rn", "bpda", 4, "none"),
            paths.unit_file(root, "rn", "pgd", 4, "none"),
            off_plan,
        ]
    )
    assert U.planned(planned, files[0]) and not U.planned(planned, off_plan)


def test_the_paper_grid_in_units_holds_every_cell_exactly_once():
    units = U.plan(PAPER)
    cells = [(u, e, layer) for u, unit_cells in units.items() for e, layer in unit_cells]
    assert len(cells) == len(set(cells))
    expected = {
        U.split(f)
        for m in PAPER["models"]
        for f in U.table_files(PAPER, "results", m) + U.pgd_files(PAPER, "results", m)
    }
    assert expected <= set(cells)
    # the table cells (transfer 3,395, BPDA 2,910, APGD-BPDA 678), the overdesign grid's PGD (20 models x 13 deltas)
    # and the checklist's (PGD at delta 64 at each largest eps: 2; beta = 1e6 at the largest eps, every layer: 5 + 4;
    # BPDA at delta 64 and BPDA-100 on the first two points of each model's largest eps: 2 x 2 each)
    assert len(cells) == 3395 + 2910 + 678 + 20 * 13 + 2 + 9 + 4 + 4
    # β and δ are part of a unit's name, ε and the layer are not
    assert all(len({(e, layer) for e, layer in c}) == len(c) for c in units.values())
    per_attack = accounting.grid_jobs(PAPER, by_attack=True)
    assert per_attack["evaluate_transfer"] == 2 * 7 * (1 + 5) + 2  # + the checklist's beta = 1e6 at delta 0
    assert per_attack["evaluate_bpda"] == 2 * 6 * (1 + 5) + 2  # + BPDA at delta 64, beta 8
    assert per_attack["evaluate_apgd-bpda"] == 2 * 6 * (1 + 1) and per_attack["evaluate_quantized_steps"] == 2
    assert per_attack["evaluate_pgd"] == 2 * 14  # per model: delta 0-12 and the checklist's 64
    assert sum(accounting.grid_jobs(PAPER).values()) <= 1500 - 75  # the CPU rules add about 75 jobs


def test_adding_a_beta_or_a_delta_adds_units_and_changes_no_other():
    base = U.plan(PAPER)
    more_beta = copy.deepcopy(PAPER)
    more_beta["quantization"]["beta"] = [4, 6, 7, 8, 10, 12]
    added = U.plan(atconfig.validate(more_beta, check_data=False))
    assert {u: c for u, c in added.items() if u in base} == base
    assert {u.q for u in set(added) - set(base)} == {"beta7"}
    more_delta = copy.deepcopy(PAPER)
    more_delta["quantization"]["delta"] = [2, 4, 5, 6, 8, 10, 12]
    added = U.plan(atconfig.validate(more_delta, check_data=False))
    assert {u: c for u, c in added.items() if u in base} == base
    assert {u.delta for u in set(added) - set(base)} == {5}
    more_pgd_delta = copy.deepcopy(PAPER)
    more_pgd_delta["overdesign"]["delta"] = list(range(1, 14))
    added = U.plan(atconfig.validate(more_pgd_delta, check_data=False))
    assert {u: c for u, c in added.items() if u in base} == base
    assert set(added) - set(base) == {U.Unit(m, "pgd", 13, "none") for m in PAPER["models"]}


def test_settings_of_a_unit_are_its_attacks_own():
    cfg = copy.deepcopy(PAPER)
    assert U.attack_settings(cfg, "bpda") == {"steps": 20, "step_factor": 0.1, "random_start": True}
    assert U.attack_settings(cfg, "bpda5x")["steps"] == 100
    cfg["overdesign"]["attack"]["steps"] = 30  # PGD's settings are the overdesign grid's, BPDA's its own
    assert U.attack_settings(cfg, "pgd")["steps"] == 30 and U.attack_settings(cfg, "bpda")["steps"] == 20
    assert U.attack_settings(cfg, "apgd-bpda") == {"steps": 100, "restarts": 1, "losses": ["ce", "dlr"]}
    # more cells, more time; APGD's passes cost more than BPDA's, BPDA's more than one forward pass
    assert (
        U.runtime_minutes(cfg, "bpda", 65) > U.runtime_minutes(cfg, "bpda", 5) > U.runtime_minutes(cfg, "transfer", 5)
    )
    assert U.runtime_minutes(cfg, "apgd-bpda", 5) > U.runtime_minutes(cfg, "bpda", 5)


def test_a_cell_key_changes_with_everything_that_determines_the_cell():
    params = {"model": "rn", "attack": "bpda", "settings": {"steps": 20}, "seed": 0, "delta": 4, "q": "beta8"}
    files = {"model": "m1", "test": "t1", "adv": None}
    key = U.cell_key(params, 8, "conv0", files)
    assert key == U.cell_key(dict(reversed(params.items())), 8, "conv0", dict(files))
    variants = [
        U.cell_key({**params, k: v}, 8, "conv0", files)
        for k, v in (
            ("settings", {"steps": 21}),
            ("seed", 1),
            ("delta", 5),
            ("q", "beta4"),
            ("attack", "bpda5x"),
            ("model", "wrn"),
        )
    ]
    variants += [U.cell_key(params, 12, "conv0", files), U.cell_key(params, 8, "layer1", files)]
    variants += [U.cell_key(params, 8, "conv0", {**files, k: "other"}) for k in files]
    assert len({key, *variants}) == len(variants) + 1


def test_file_digest_follows_the_contents(tmp_path):
    f = tmp_path / "model.pt"
    f.write_bytes(b"a" * 100)
    first = U.file_digest(f)
    f.write_bytes(b"b" * 100)
    assert U.file_digest(f) != first
    f.write_bytes(b"a" * 100)
    assert U.file_digest(f) == first


def cells_in(tmp_path, n=3):
    unit = U.Unit("rn", "bpda", 4, "beta8")
    return U.cell_files(unit, [[e, "conv0"] for e in range(n)], str(tmp_path))


def test_a_unit_that_fails_half_way_keeps_its_finished_cells_and_its_rerun_computes_only_the_rest(tmp_path):
    cells = cells_in(tmp_path)
    calls = []

    def failing(eps, layer):
        calls.append(eps)
        if eps == 1:
            raise RuntimeError("out of memory")
        return frame(eps)

    with pytest.raises(RuntimeError, match="out of memory"):
        U.run(cells, lambda e, layer: f"key{e}", failing, log=lambda _: None)
    assert calls == [0, 1]
    assert pd.read_parquet(cells[0][2]).equals(frame(0)) and U.stored_key(cells[0][2]) == "key0"
    assert U.stored_key(cells[1][2]) is None  # nothing half-written

    calls.clear()
    manifest = U.run(
        cells, lambda e, layer: f"key{e}", lambda e, layer: calls.append(e) or frame(e), log=lambda _: None
    )
    assert calls == [1, 2] and (manifest["reused"], manifest["computed"]) == (1, 2)
    assert [c["key"] for c in manifest["cells"]] == ["key0", "key1", "key2"]
    for eps, _, path in cells:
        assert pd.read_parquet(path).equals(frame(eps)) and U.stored_key(path) == f"key{eps}"


def test_a_cell_whose_key_changed_is_recomputed(tmp_path, monkeypatch):
    cells = cells_in(tmp_path, 2)
    U.run(cells, lambda e, layer: "old", lambda e, layer: frame(e), log=lambda _: None)
    calls = []
    manifest = U.run(
        cells,
        lambda e, layer: "new" if e == 1 else "old",
        lambda e, layer: calls.append(e) or frame(10 + e),
        log=lambda _: None,
    )
    assert calls == [1] and manifest["reused"] == 1
    assert pd.read_parquet(cells[1][2]).equals(frame(11)) and U.stored_key(cells[1][2]) == "new"
    # ATSPECTRUM_RECOMPUTE: every cell again, whatever its key
    monkeypatch.setenv(U.RECOMPUTE_ENV, "1")
    calls.clear()
    assert (
        U.run(
            cells,
            lambda e, layer: "new" if e == 1 else "old",
            lambda e, layer: calls.append(e) or frame(e),
            log=lambda _: None,
        )["reused"]
        == 0
    )
    assert calls == [0, 1]


def test_a_file_without_a_key_or_unreadable_is_no_cached_cell(tmp_path):
    plain = tmp_path / "plain.parquet"
    frame(0).to_parquet(plain)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    assert U.stored_key(plain) is None and U.stored_key(broken) is None
    assert U.stored_key(tmp_path / "missing.parquet") is None


class Wildcards(dict):
    """What a job's wildcards offer the unit: attribute access and keys()."""

    __getattr__ = dict.__getitem__


def test_a_jobs_wildcards_name_its_unit_and_the_checklists_more_steps_bpda():
    plain = U.of_wildcards(Wildcards(model="rn", attack="bpda", delta="8", q="beta4"))
    assert plain == U.Unit("rn", "bpda", 8, "beta4")
    steps = U.of_wildcards(Wildcards(model="rn", attack="bpda", factor="5", delta="8", q="beta4"))
    assert steps == U.Unit("rn", "bpda5x", 8, "beta4")
    assert U.attack_settings(PAPER, steps.attack)["steps"] == 5 * U.attack_settings(PAPER, "bpda")["steps"]
