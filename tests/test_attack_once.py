"""Each attack computed once: the PGD examples of (model, seed, ε, δ) serve the PGD cell, the cached transfer examples
and BPDA's unquantized cell. What the separate computations gave before is what the one computation gives now, bit
for bit, and the plan schedules it once."""

import copy

import torch
from synthetic import bars, trained_bars_model

from atspectrum import config as atconfig
from atspectrum.attacks import transfer
from atspectrum.evaluation import evaluate
from atspectrum.planning import PGD, Cell, Plan, jobs
from atspectrum.specs import PGDSpec

SPEC = PGDSpec(steps=5, step_factor=0.25, random_start=True)


def test_one_pgd_computation_gives_the_pgd_cell_the_transfer_examples_and_the_bpda_cell(tmp_path):
    model = trained_bars_model()
    images, labels = bars(48, 3)
    common = {"batch_size": 16, "seed": 7, "device": "cpu"}
    # the one computation the PGD unit makes
    once, adv = evaluate.attack_per_example(model, images, labels, 16, SPEC, keep_adv=True, **common)
    transfer.save(tmp_path / "adv.npz", adv, labels, 16, key="k")
    # what three jobs computed before: the PGD cell, the transfer examples, BPDA's unquantized cell
    pgd = evaluate.pgd_per_example(model, images, labels, 16, SPEC, **common)
    _, separate_adv = evaluate.attack_per_example(model, images, labels, 16, SPEC, keep_adv=True, **common)
    bpda = evaluate.attack_per_example(model, images, labels, 16, SPEC, attack_quantize=None, **common)[0]
    assert once.equals(pgd) and once.equals(bpda)
    stored = transfer.load(tmp_path / "adv.npz", images, labels, 16)
    assert torch.equal(stored, separate_adv)  # bit for bit
    assert transfer.stored_key(tmp_path / "adv.npz") == "k"
    # the unquantized transfer cell (the cached examples classified by the plain model) is the PGD cell too
    assert evaluate.classify_per_example(model, stored, labels, None, 16).equals(once)
    assert 0 < once["correct"].mean() < evaluate.classify_per_example(model, images, labels, None, 16)["correct"].mean()


def test_the_plan_schedules_the_shared_pgd_once_and_only_when_the_settings_agree():
    cfg = atconfig.load("config/demo.yaml", check_data=False)
    plan = Plan(cfg)
    cells = [c for cs in plan.units.values() for c in cs]
    # no unquantized transfer or BPDA cell is computed apart from its PGD twin, and no transfer_examples job runs
    assert not [c for c in cells if c.attack in ("transfer", "bpda") and c.layer == "none"]
    assert "transfer_examples" not in jobs.grid_jobs(plan)
    unit = Cell("resnet18", 0, 8, PGD, 16).unit
    assert plan.unit_adv(unit) == plan.eps("resnet18")  # the PGD unit at the transfer delta writes its examples
    other = copy.deepcopy(cfg)
    other["quantization"]["bpda"]["steps"] = cfg["overdesign"]["attack"]["steps"] + 1
    other = Plan(atconfig.validate(other, check_data=False))
    assert other.pgd_serves == ["transfer"]  # BPDA's own settings: its own unquantized cells
    assert other.unit_of(Cell("resnet18", 0, 8, "bpda", 16)) == Cell("resnet18", 0, 8, "bpda", 16).unit
