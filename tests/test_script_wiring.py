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


def _same_files(again, first):
    """``again`` writing its cells to ``first``'s files: only their stored keys can tell the two computations apart."""
    again.params.cells = [[c, path] for (c, _), (_, path) in zip(again.params.cells, first.params.cells)]
    return again


# Each change alone, the cells' files kept where they are; the number of cells the second run must compute. Changes
# that set what a cell computes recompute it; speed-only ones (batch size, threads) reuse it.
CHANGES = {
    "nothing": 0,
    "settings": 2,
    "attack": 2,
    "seed": 2,
    "delta": 2,
    "eps": 1,
    "layer": 2,
    "beta": 2,
    "model weights": 1,
    "test split": 2,
    "eval batch size": 0,
    "threads": 0,
}
BOTH = {**SETTINGS, "restarts": 1, "losses": ["ce"]}  # settings that both BPDA and APGD-BPDA read


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_unit_recomputes_exactly_when_what_determines_its_cells_changes(tmp_path, calls, change):
    """Bug caught: a cell key without the attack's settings, its kind, the seed, δ, ε, the layer, β or a file's
    contents: the changed unit would reuse the old computation's cells and the tables keep its numbers. And: a key
    with a speed-only setting (every rerun on another machine would recompute the grid)."""
    first = job(tmp_path, "bpda", 8, "beta4", 4.0, [0, 8], BOTH)
    run(first)
    assert len(calls) == 2
    calls.clear()
    attack, delta, q, beta, cells_eps = "bpda", 8, "beta4", 4.0, [0, 8]
    if change == "attack":
        attack = "apgd-bpda"
    elif change == "delta":
        delta = 16
    elif change == "beta":
        q, beta = "beta8", 8.0
    again = job(tmp_path, attack, delta, q, beta, cells_eps, BOTH)  # the same model and test files
    if change == "settings":
        again.params.attack = {**BOTH, "steps": 3}
    elif change == "seed":
        again.wildcards.seed = "1"
        again.params.cells = [[{**c, "seed": 1}, path] for c, path in again.params.cells]
    elif change == "eps":  # the eps-8 model's file evaluated as eps 9
        again.params.eps = [0, 9]
        again.params.cells = [[{**c, "eps": 9 if c["eps"] == 8 else 0}, path] for c, path in again.params.cells]
    elif change == "layer":
        again.params.cells = [[{**c, "layer": "layer1"}, path] for c, path in again.params.cells]
    elif change == "model weights":
        models.save(again.input.models[1], models.build("resnet18", num_classes=3, in_channels=1, width=2, seed=99))
    elif change == "test split":
        test = np.load(again.input.test)
        prepared._write_npz_atomic(again.input.test, test["images"][::-1].copy(), test["labels"], test["index"])
    elif change == "eval batch size":
        again.resources.eval_batch = 2
    elif change == "threads":
        again.threads = 2
    run(_same_files(again, first))
    assert len(calls) == CHANGES[change]
    if change == "layer":
        assert all(kwargs["eval_quantize"].layer == "layer1" for _, _, kwargs in calls)
    if change == "seed":  # the attack's random start follows the unit's training seed
        assert all(kwargs["seed"] == 1 for _, _, kwargs in calls)


def test_transfer_examples_are_the_units_pgd_at_its_seed_and_delta(tmp_path, monkeypatch):
    """Bug caught: transfer_examples.py attacking with seed 0 (every seed's examples from the same random start) or
    the key it stores without its seed (another seed's examples would pass the check when read)."""
    from atspectrum.attacks import transfer

    made = []

    def pgd(model, images, labels, delta, spec, **kwargs):
        made.append((delta, spec, kwargs))
        frame = pd.DataFrame({"index": np.arange(len(labels)), "label": labels.numpy(), "pred": 0, "correct": False})
        return frame, images.float() / 255

    monkeypatch.setattr(evaluate, "attack_per_example", pgd)
    keys = []
    for seed in (1, 2):
        base = job(tmp_path, "pgd", 8, "none", None, [16])
        out = str(tmp_path / f"adv{seed}.npz")
        stand_in = types.SimpleNamespace(
            log=base.log,
            params=types.SimpleNamespace(attack=SETTINGS, device="cpu"),
            wildcards=types.SimpleNamespace(model="rn", seed=str(seed), eps="16", delta="8"),
            input=Input(test=base.input.test, model=base.input.models[0]),
            output=[out],
            resources=base.resources,
            threads=1,
        )
        runpy.run_path(f"{SCRIPTS}/transfer_examples.py", init_globals={"snakemake": stand_in})
        keys.append(transfer.stored_key(out))
    assert [(d, kw["seed"], kw["keep_adv"]) for d, _, kw in made] == [(8, 1, True), (8, 2, True)]
    assert all(spec.steps == SETTINGS["steps"] for _, spec, _ in made)
    assert keys[0] and keys[0] != keys[1]


def test_training_starts_from_the_seeds_weights_the_same_for_every_eps(tmp_path, monkeypatch):
    """Bug caught: train.py building the model with a fixed seed (every training seed would start from the same
    weights) or with the eps (a model's eps would differ in more than its training strength); and the checkpoint
    without its (model, seed, eps) identity."""
    import atspectrum.train as training
    from atspectrum import config as atconfig

    cfg = atconfig.load("config/demo.yaml", check_data=False)
    name = next(iter(cfg["models"]))
    started = {}

    def train(model, train_data, val_data, config, **kwargs):
        started[(config.seed, config.eps)] = {k: v.clone() for k, v in model.state_dict().items()}
        return model, [{"epoch": 1}], {"selected_epoch": 1}

    monkeypatch.setattr(training, "train", train)
    base = job(tmp_path, "pgd", 8, "none", None, [0])
    for seed, eps in ((0, 0), (0, 16), (1, 0)):
        folder = tmp_path / f"s{seed}e{eps}" / "results/w/models" / name / f"seed{seed}" / f"eps{eps}"
        stand_in = types.SimpleNamespace(
            log=base.log,
            params=types.SimpleNamespace(
                spec=atconfig.model_spec(cfg, name),
                hp=atconfig.train_hparams(cfg, name, eps, seed),
                state=str(folder / "state.pt"),
                device="cpu",
            ),
            wildcards=types.SimpleNamespace(model=name, seed=str(seed), eps=str(eps)),
            input=Input(train=base.input.test, val=base.input.test),
            output=Input(model=str(folder / "model.pt"), log=str(folder / "log.csv"), metrics=str(folder / "m.json")),
            resources=base.resources,
            threads=1,
        )
        runpy.run_path(f"{SCRIPTS}/train.py", init_globals={"snakemake": stand_in})
        models.load(stand_in.output.model)  # its identity is the one of its path
        stored = torch.load(stand_in.output.model, weights_only=True)["meta"]["identity"]
        assert stored == {"model": name, "seed": seed, "eps": eps}
    same = [torch.equal(started[(0, 0)][k], started[(0, 16)][k]) for k in started[(0, 0)]]
    other = [torch.equal(started[(0, 0)][k], started[(1, 0)][k]) for k in started[(0, 0)]]
    assert all(same) and not all(other)
