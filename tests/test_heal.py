"""What a run's start finds damaged (atspectrum.planning.heal), from file metadata only."""

import copy
import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

from atspectrum import config as C
from atspectrum.evaluation import units as U
from atspectrum.planning import Plan, heal
from atspectrum.runtime import io, paths

CONFIG = {
    "run": "h",
    "data": {"dataset": "fashion_mnist", "root": None, "val_size": 10},
    "models": {"rn": {"arch": "resnet18", "width": 2, "eps": [0, 8, 16]}},
    "overdesign": {"delta": [8]},
}


def frame(n=5):
    return pd.DataFrame({"index": np.arange(n), "correct": np.arange(n) % 2 == 0})


@pytest.fixture
def plan(tmp_path):
    """A plan whose PGD unit at δ 8 has run (its cells and manifest written as a unit job writes them)."""
    cfg = C.validate(copy.deepcopy(CONFIG), check_data=False)
    plan = Plan(cfg, str(tmp_path / "results" / "h"))
    unit = next(u for u in plan.units if u.delta == 8)
    cells = [(c, c.path(plan.root)) for c in plan.units[unit]]
    U.write_manifest(unit.file(plan.root), U.run(cells, lambda c: f"k{c.eps}", lambda c: frame(), log=lambda m: None))
    plan.unit_files = (unit.file(plan.root), [cells[0][1], cells[-1][1]])
    return plan


def test_an_intact_run_has_nothing_to_heal(plan):
    assert heal.damaged(plan) == {}


@pytest.mark.parametrize("damage", ["overwritten", "copied over", "deleted", "touched", "manifest garbage"])
def test_a_manifest_whose_files_changed_is_removed(plan, damage):
    manifest, (first, second) = plan.unit_files
    if damage == "overwritten":
        open(second, "wb").write(b"garbage")
    elif damage == "copied over":
        shutil.copyfile(first, second)  # same size, new modification time
    elif damage == "deleted":
        os.remove(second)
    elif damage == "touched":
        st = os.stat(second)
        os.utime(second, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    else:
        open(manifest, "w").write("{not json")
    messages = []
    assert list(heal.heal(plan, log=messages.append)) == [manifest]
    assert not os.path.exists(manifest) and len(messages) == 1 and manifest in messages[0]
    assert os.path.exists(first)  # an intact cell stays: the rerun reuses it by its key


def test_a_truncated_checkpoint_is_moved_aside_and_stays_a_target(plan, tmp_path):
    import torch

    path = paths.model_file(plan.root, "rn", 0, 8)
    os.makedirs(os.path.dirname(path))
    torch.save({"w": torch.ones(100)}, path)
    assert heal.damaged(plan) == {}
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])
    assert list(heal.heal(plan, log=lambda m: None)) == [path]
    assert not os.path.exists(path) and open(path + heal.DAMAGED_SUFFIX, "rb").read() == data[: len(data) // 2]
    assert path in heal.artifacts(plan)  # a target: the next run makes it again


def test_every_planned_checkpoint_is_a_target(plan):
    assert {paths.model_file(plan.root, "rn", 0, e) for e in (0, 8)} <= set(heal.artifacts(plan))


def test_prepared_data_made_from_a_replaced_dataset_file_is_moved_aside(plan, tmp_path):
    """Inputs are part of the key: the prepared data records the dataset files it read; replacing one makes the next
    run prepare the data again (the prepared files are targets), and an unchanged one changes nothing."""
    from atspectrum.data import prepared

    source = tmp_path / "train-images-idx3-ubyte"
    source.write_bytes(b"x" * 64)
    recorded = json.dumps(heal.stamps([source]))
    files = [paths.data_file(plan.root, "fashion_mnist", s) for s in ("train", "val", "test")]
    for f in files:
        os.makedirs(os.path.dirname(f), exist_ok=True)
        prepared._write_npz_atomic(f, np.zeros((2, 1, 4, 4), np.uint8), np.zeros(2), np.arange(2), recorded)
    assert heal.damaged(plan) == {} and set(files) <= set(heal.artifacts(plan))
    source.write_bytes(b"y" * 64)  # the same size, new contents and modification time
    st = os.stat(source)
    os.utime(source, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    found = heal.heal(plan, log=lambda m: None)
    assert sorted(found) == sorted(files) and all(str(source) in why for why in found.values())
    assert all(not os.path.exists(f) and os.path.exists(f + heal.STALE_SUFFIX) for f in files)


def test_a_corruption_result_read_from_a_replaced_cifar10c_file_is_moved_aside(tmp_path):
    cfg = C.validate({**copy.deepcopy(CONFIG), "corruptions": {"names": ["fog"]}}, check_data=False)
    plan = Plan(cfg, str(tmp_path / "results" / "h"))
    fog = tmp_path / "fog.npy"
    np.save(fog, np.zeros(3))
    frames = [paths.analysis_file(plan.root, "rn", 0, e, "corruptions.parquet") for e in (0, 8)]
    for f in frames:
        os.makedirs(os.path.dirname(f))
        io.write_parquet(f, frame(), {heal.SOURCES_KEY: heal.encode(heal.stamps([fog]))})
    assert heal.damaged(plan) == {} and set(frames) <= set(heal.artifacts(plan))
    os.remove(fog)
    np.save(fog, np.ones(4))
    assert sorted(heal.damaged(plan)) == frames


def test_a_truncated_validation_result_is_moved_aside_and_stays_a_target(plan):
    from atspectrum.planning import claims

    m, s, d, e = claims.val_runs(plan)[0]
    path = paths.val_eval_file(plan.root, m, s, d, e)
    os.makedirs(os.path.dirname(path))
    io.write_parquet(path, frame())
    assert heal.damaged(plan) == {} and path in heal.artifacts(plan)
    data = open(path, "rb").read()
    open(path, "wb").write(data[:-10])
    assert list(heal.heal(plan, log=lambda m: None)) == [path] and os.path.exists(path + heal.DAMAGED_SUFFIX)
