"""The workflow scripts call the library as the rules mean (issue #25, part 7): run in-process with a stand-in for
Snakemake's ``snakemake`` object, the library's attack entry points replaced by recorders. Each test names the
one-line bug it catches (the hand audit's survivors: they passed every other test)."""

import os
import runpy
import types

import numpy as np
import pandas as pd
import pytest
import torch

from atspectrum import models
from atspectrum.attacks.quantize import Quantizer
from atspectrum.data import prepared
from atspectrum.evaluation import evaluate
from atspectrum.planning import Cell, Unit

SCRIPTS = "workflow/scripts"
SETTINGS = {"steps": 2, "step_factor": 0.25, "random_start": True}


class Input(dict):
    __getattr__ = dict.__getitem__


def job(tmp_path, attack, delta, q, beta, cells_eps, settings=SETTINGS, extra_inputs=None):
    """A stand-in ``snakemake`` object for one unit job of rn seed 0 (models trained at each of ``cells_eps``)."""
    root = str(tmp_path / "results" / "w")
    test = str(tmp_path / "test.npz")
    g = torch.Generator().manual_seed(0)
    if not os.path.exists(test):  # a second job of the same test reads the same files
        images = torch.randint(0, 255, (6, 1, 28, 28), generator=g, dtype=torch.uint8).numpy()
        prepared._write_npz_atomic(test, images, np.arange(6) % 3, np.arange(6))
    files = []
    for eps in cells_eps:
        path = str(tmp_path / f"model{eps}.pt")
        if not os.path.exists(path):
            models.save(path, models.build("resnet18", num_classes=3, in_channels=1, width=2, seed=eps))
        files.append(path)
    layer = "none" if q == "none" else "conv0"
    cells = [Cell("rn", 0, e, attack, delta, layer, beta) for e in cells_eps]
    unit = Unit("rn", 0, attack, delta, q)
    return types.SimpleNamespace(
        log=[str(tmp_path / "job.log")],
        params=types.SimpleNamespace(
            cells=[[c.as_dict(), c.path(root)] for c in cells],
            eps=list(cells_eps),
            attack=settings,
            adv=[],
            device="cpu",
        ),
        wildcards=types.SimpleNamespace(model="rn", seed="0", attack=attack, delta=str(delta), q=q),
        input=Input(test=test, models=files, **(extra_inputs or {})),
        output=[unit.file(root)],
        resources=types.SimpleNamespace(eval_batch=4),
        threads=1,
    )


def recorder(calls, name):
    def record(model, images, labels, *args, **kwargs):
        calls.append((name, args, kwargs))
        n = len(labels)
        return pd.DataFrame({"index": np.arange(n), "label": labels.numpy(), "pred": 0, "correct": False}), None

    return record


@pytest.fixture
def calls(monkeypatch):
    made = []
    monkeypatch.setattr(evaluate, "attack_per_example", recorder(made, "pgd"))
    monkeypatch.setattr(evaluate, "apgd_per_example", recorder(made, "apgd"))

    def classify(model, images, labels, quantize, *args, **kwargs):
        made.append(("classify", (quantize,), kwargs))
        n = len(labels)
        return pd.DataFrame({"index": np.arange(n), "label": labels.numpy(), "pred": 0, "correct": False})

    monkeypatch.setattr(evaluate, "classify_per_example", classify)
    return made


def run(snakemake):
    runpy.run_path(f"{SCRIPTS}/evaluate_unit.py", init_globals={"snakemake": snakemake})


@pytest.mark.parametrize("attack, entry", [("bpda", "pgd"), ("apgd-bpda", "apgd")])
def test_bpda_differentiates_through_the_straight_through_quantizer_and_judges_with_the_real_one(
    tmp_path, calls, attack, entry
):
    """Bug caught: the script passes attack_quantize without straight_through (BPDA then never leaves its random
    start: every gradient through floor() is zero), or judges with the straight-through/no quantizer."""
    settings = SETTINGS if attack == "bpda" else {"steps": 2, "restarts": 1, "losses": ["ce"]}
    run(job(tmp_path, attack, 8, "beta4", 4.0, [0, 8], settings))
    assert [c[0] for c in calls] == [entry, entry]
    for _, args, kwargs in calls:
        assert kwargs["attack_quantize"] == Quantizer("conv0", 4.0, True)
        assert kwargs["eval_quantize"] == Quantizer("conv0", 4.0, False)
        assert args[0] == 8  # delta


def test_pgd_attacks_the_plain_model(tmp_path, calls):
    """Bug caught: a quantizer reaching the overdesign grid's PGD."""
    run(job(tmp_path, "pgd", 8, "none", None, [0]))
    ((_, args, kwargs),) = calls
    assert kwargs["attack_quantize"] is None and kwargs["eval_quantize"] is None


def test_transfer_scores_the_examples_on_the_quantized_model(tmp_path, calls):
    """Bug caught: the transfer cells scored on the unquantized model (every quantized row would equal the
    unquantized one)."""
    run(job(tmp_path, "transfer", 0, "beta4", 4.0, [0, 8]))
    assert [c[0] for c in calls] == ["classify", "classify"]
    assert all(args[0] == Quantizer("conv0", 4.0, False) for _, args, _ in calls)


@pytest.mark.parametrize("change", ["nothing", "settings", "model weights", "test split"])
def test_a_unit_recomputes_exactly_when_what_determines_its_cells_changes(tmp_path, calls, change):
    """Bug caught: a cell key without the attack's settings (or without a file's contents): a changed attack would
    reuse the old attack's cells and the tables keep its numbers."""
    first = job(tmp_path, "bpda", 8, "beta4", 4.0, [0, 8])
    run(first)
    assert len(calls) == 2
    calls.clear()
    again = job(tmp_path, "bpda", 8, "beta4", 4.0, [0, 8])  # the same files
    if change == "settings":
        again.params.attack = {**SETTINGS, "steps": 3}
    elif change == "model weights":
        models.save(again.input.models[1], models.build("resnet18", num_classes=3, in_channels=1, width=2, seed=99))
    elif change == "test split":
        test = np.load(again.input.test)
        prepared._write_npz_atomic(again.input.test, test["images"][::-1].copy(), test["labels"], test["index"])
    run(again)
    expected = {"nothing": 0, "settings": 2, "model weights": 1, "test split": 2}[change]
    assert len(calls) == expected
