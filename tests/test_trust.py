"""Every read verifies (issue #25, part 1): a cell, transfer file or checkpoint that is not what its reader expects
(copied over another's, damaged, truncated, missing) is an error naming the file, never a silent wrong number."""

import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from atspectrum import models
from atspectrum.attacks import transfer
from atspectrum.evaluation import units as U
from atspectrum.evaluation.units import write_manifest
from atspectrum.models import CheckpointError
from atspectrum.planning import Cell, CellIndex, DamagedCell
from atspectrum.runtime import paths


def frame(correct: int, n: int = 10) -> pd.DataFrame:
    labels = np.arange(n) % 3
    pred = np.where(np.arange(n) < correct, labels, (labels + 1) % 3)
    return pd.DataFrame({"index": np.arange(n), "label": labels, "pred": pred, "correct": pred == labels})


@pytest.fixture
def unit(tmp_path):
    """A unit's two cells (ε 4: 2 of 10 correct; ε 8: 7 of 10) as a unit job writes them, and its manifest."""
    cells = [(c, c.path(str(tmp_path))) for c in (Cell("rn", 0, 4, "pgd", 8), Cell("rn", 0, 8, "pgd", 8))]
    correct = {4: 2, 8: 7}
    manifest = U.run(cells, lambda c: f"key-of-eps{c.eps}", lambda c: frame(correct[c.eps]), log=lambda m: None)
    path = tmp_path / "units" / "rn.json"
    write_manifest(path, manifest)
    return dict(cells), str(path)


def test_a_cell_reads_through_its_manifest(unit):
    files, manifest = unit
    index = CellIndex.of([manifest])
    assert index.frame(Cell("rn", 0, 8, "pgd", 8))["correct"].sum() == 7


def test_a_cell_copied_over_another_is_an_error_naming_the_file_and_both_keys(unit):
    files, manifest = unit
    eps4, eps8 = (files[c] for c in sorted(files, key=lambda c: c.eps))
    shutil.copyfile(eps4, eps8)  # ε 8's file now holds ε 4's numbers (2 of 10 instead of 7)
    index = CellIndex.of([manifest])
    with pytest.raises(DamagedCell) as err:
        index.frame(Cell("rn", 0, 8, "pgd", 8))
    message = str(err.value)
    assert eps8 in message and "key-of-eps4" in message and "key-of-eps8" in message and manifest in message
    assert index.frame(Cell("rn", 0, 4, "pgd", 8))["correct"].sum() == 2  # the intact cell still reads


@pytest.mark.parametrize("damage", ["garbage", "truncated", "deleted"])
def test_a_damaged_or_missing_cell_is_an_error_naming_the_file(unit, damage):
    files, manifest = unit
    path = files[Cell("rn", 0, 8, "pgd", 8)]
    data = open(path, "rb").read()
    if damage == "garbage":
        open(path, "wb").write(b"not parquet" * 50)
    elif damage == "truncated":
        open(path, "wb").write(data[: len(data) // 2])
    else:
        import os

        os.remove(path)
    with pytest.raises(DamagedCell, match=path):
        CellIndex.of([manifest]).frame(Cell("rn", 0, 8, "pgd", 8))


def test_transfer_examples_with_another_computations_key_are_refused(tmp_path):
    images = torch.randint(0, 255, (4, 1, 8, 8), dtype=torch.uint8)
    labels = torch.tensor([0, 1, 2, 0])
    path = tmp_path / "adv.npz"
    transfer.save(path, images.float() / 255, labels, 8, key="made-for-eps4")
    assert transfer.load(path, images, labels, 8, key="made-for-eps4").shape == images.shape
    with pytest.raises(transfer.TransferError) as err:
        transfer.load(path, images, labels, 8, key="made-for-eps8")
    assert str(path) in str(err.value) and "made-for-eps4" in str(err.value) and "made-for-eps8" in str(err.value)


def test_the_examples_key_follows_everything_that_makes_them():
    base = ("m", "t", {"steps": 10}, 0, 8)
    key = transfer.examples_key(*base)
    variants = [("m2", "t", {"steps": 10}, 0, 8), ("m", "t2", {"steps": 10}, 0, 8), ("m", "t", {"steps": 5}, 0, 8)]
    variants += [("m", "t", {"steps": 10}, 1, 8), ("m", "t", {"steps": 10}, 0, 4)]
    assert len({key, *(transfer.examples_key(*v) for v in variants)}) == len(variants) + 1


def test_a_checkpoint_copied_over_another_runs_is_refused(tmp_path):
    root = str(tmp_path / "results" / "run")
    net = models.build("resnet18", num_classes=3, in_channels=1, width=2)
    for eps in (4, 8):
        path = paths.model_file(root, "rn", 0, eps)
        models.save(path, net, eps=eps, identity={"model": "rn", "seed": 0, "eps": eps})
    models.load(paths.model_file(root, "rn", 0, 8))
    shutil.copyfile(paths.model_file(root, "rn", 0, 4), paths.model_file(root, "rn", 0, 8))
    with pytest.raises(CheckpointError, match="'eps': 4.*'eps': 8"):
        models.load(paths.model_file(root, "rn", 0, 8))
    outside = tmp_path / "elsewhere.pt"  # a checkpoint outside the run layout has no expected identity
    shutil.copyfile(paths.model_file(root, "rn", 0, 4), outside)
    models.load(outside)


def test_the_training_job_stores_the_identity_its_loaders_check():
    script = open("workflow/scripts/train.py").read()
    assert "identity=identity" in script
    assert paths.parse_model_file(paths.model_file("results/r", "wrn_2", 3, 12)) == {
        "model": "wrn_2",
        "seed": 3,
        "eps": 12,
    }
    assert paths.parse_model_file("results/r/models/rn/seed0/eps8/train_log.csv") is None
