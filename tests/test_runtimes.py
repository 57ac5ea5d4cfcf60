"""SLURM time limits, checked against values computed by hand from their documented formulas (issue #25, part 7):
a unit gets 30 min + 3 s per forward-backward pass per cell; a training job 30 min + 1.5 x its epochs at the
measured throughput, an adversarial epoch costing (steps + 1) / 11 of a PGD-10 AT epoch, a standard one 1 / 11."""

import copy

import pytest

from atspectrum import config as C
from atspectrum.planning import Plan, jobs

CONFIG = {
    "run": "t",
    "data": {"dataset": "cifar10", "root": None, "val_size": 10, "train_size": 49_000},
    "models": {"r": {"arch": "resnet18", "eps": [0, 8]}},
    "overdesign": {"delta": [8]},
    "quantization": {"delta": [8], "beta": [8], "attacks": ["transfer", "bpda", "apgd-bpda"]},
}


@pytest.fixture
def plan():
    return Plan(C.validate(copy.deepcopy(CONFIG), check_data=False), "results/t")


@pytest.mark.parametrize(
    "attack, cells, minutes",
    [
        # bpda: PGD-20 -> 21 passes; 14 cells: 30 + 14 * 21 * 3 / 60 = 44.7 -> 44 + 1
        ("bpda", 14, 45),
        # transfer: one forward pass per cell: 30 + 14 * 3 / 60 = 30.7 -> 31
        ("transfer", 14, 31),
        # apgd-bpda: (100 + 1) steps x 1 restart x 2 losses = 202 passes: 30 + 14 * 202 * 3 / 60 = 171.4 -> 172
        ("apgd-bpda", 14, 172),
        # pgd (the overdesign grid, PGD-20): 13 cells: 30 + 13 * 21 * 3 / 60 = 43.65 -> 44
        ("pgd", 13, 44),
        # 200 cells of BPDA: 30 + 200 * 21 * 3 / 60 = 240 -> 241 (a constant 60 would kill such a unit)
        ("bpda", 200, 241),
    ],
)
def test_a_units_time_limit_is_the_documented_formula(plan, attack, cells, minutes):
    assert jobs.runtime_minutes(plan, attack, cells) == minutes


def test_a_training_jobs_time_limit_is_the_documented_formula(tmp_path):
    cfg = C.validate(copy.deepcopy(CONFIG), check_data=False)
    # no benchmark files: ResNet-18 fp32 at the table's 3,098 images/s
    # PGD-10 AT, 200 epochs of 49,000: 200 * 49000 / 3098 * 11/11 = 3163.3 s; 30 + 1.5 * 52.72 = 109.08 -> 109
    assert C.train_runtime_minutes(cfg, "r", 8, bench_dir=tmp_path) == 109
    # standard training, 50 epochs at 1/11 of the cost: 50 * 49000 / 3098 / 11 = 71.9 s; 30 + 1.8 = 31.8 -> 31
    assert C.train_runtime_minutes(cfg, "r", 0, bench_dir=tmp_path) == 31
