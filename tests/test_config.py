import copy
import json
import re
import subprocess
import sys

import pytest
import yaml
from workflow_run import reordered

from atspectrum import config as C

GOOD = {
    "run": "t",
    "data": {"dataset": "fashion_mnist", "root": None, "val_size": 10},
    "models": {"r": {"arch": "resnet18", "width": 2, "eps": [0, 8]}},
    "overdesign": {"delta": [4, 8]},
}


def variant(path, value):
    cfg = copy.deepcopy(GOOD)
    node = cfg
    for key in path[:-1]:
        node = node.setdefault(key, {})
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return cfg


def test_defaults_are_filled_with_the_papers_recipe():
    cfg = C.validate(copy.deepcopy(GOOD), check_data=False)
    assert cfg["overdesign"]["attack"] == {"steps": 20, "step_factor": 0.1, "random_start": True}
    at = C.train_config(cfg, "r", 8)
    assert (at.epochs, at.batch_size, at.lr, at.momentum, at.weight_decay) == (200, 256, 0.1, 0.9, 2e-4)
    assert at.lr_milestones == (75, 90, 100) and at.attack_steps == 10 and at.attack_step_factor == 0.25
    assert at.crop_padding == 4 and at.flip and at.attack_bn_eval and at.select == "best_val"
    st = C.train_config(cfg, "r", 0)
    assert (st.epochs, st.batch_size) == (50, 512)


def test_per_model_overrides_apply_to_that_model_only():
    cfg = copy.deepcopy(GOOD)
    cfg["models"]["w"] = {"arch": "wrn28_10", "eps": [0, 2], "train": {"batch_size": 128}}
    C.validate(cfg, check_data=False)
    assert C.train_config(cfg, "w", 2).batch_size == 128
    assert C.train_config(cfg, "r", 8).batch_size == 256
    assert C.train_config(cfg, "w", 0).batch_size == 512  # standard training keeps its own batch size


def test_pgd_grid_includes_clean_and_the_training_strength():
    cfg = C.validate(copy.deepcopy(GOOD), check_data=False)
    assert C.pgd_deltas(cfg, "r", 8) == [0, 4, 8]
    cfg["models"]["r"]["eps"] = [0, 12]
    assert C.pgd_deltas(cfg, "r", 12) == [0, 4, 8, 12]


BAD = [
    (("models", "r", "eps"), [0, -2], "models.r.eps[1]"),
    (("models", "r", "eps"), [0, "eight"], "models.r.eps[1]"),
    (("models", "r", "eps"), [], "models.r.eps"),
    (("overdesign", "delta"), [4, 2.5], "overdesign.delta[1]"),
    (("overdesign", "delta"), [], "overdesign.delta"),
    (("models", "r", "arch"), "vgg16", "models.r.arch"),
    (("data", "dataset"), "imagenet", "data.dataset"),
    (("models", "r", "width"), 0, "models.r.width"),
    (("models",), {}, "models"),
    (("models", "r", "arch"), KeyError, "models.r"),
    (("train", "lr_milestones"), [90, 75], "train.lr_milestones"),
    (("models", "r", "train"), {"standard": {"lr_milestones": [5, 5]}}, "models.r.train.standard.lr_milestones"),
    (("data", "val_size"), 0, "data.val_size"),
    (("train", "epoch"), 3, "train"),
    (("run",), "a/b", "run"),
    (("eval", "batch_size"), 0, "eval.batch_size"),
    (("corruptions",), {"names": ["fogg"]}, "corruptions.names[0]"),
    (("corruptions",), {"severities": [1, 6]}, "corruptions.severities[1]"),
    (("models", "r", "quant_layers"), ["conv0", "layer0"], "models.r.quant_layers[1]"),
    (("quantization",), {"delta": [2], "beta": [0]}, "quantization.beta[0]"),
    (("quantization",), {"delta": [2], "beta": [8], "attacks": ["fgsm"]}, "quantization.attacks[0]"),
]


@pytest.mark.parametrize("path,value,key", BAD, ids=[".".join(b[0]) + "=" + repr(b[1]) for b in BAD])
def test_invalid_config_names_the_key(path, value, key):
    with pytest.raises(C.ConfigError, match=re.escape(f"'{key}")):
        C.validate(variant(path, value), check_data=False)


def test_missing_dataset_root_with_download_off_names_the_key(tmp_path):
    cfg = variant(("data", "root"), str(tmp_path / "nowhere"))
    with pytest.raises(C.ConfigError, match="'data.root'.*nowhere"):
        C.validate(cfg)
    cfg = variant(("data", "dataset"), "cifar10")
    with pytest.raises(C.ConfigError, match="'data.root'"):
        C.validate(cfg)


def test_shipped_configs_are_valid():
    for name in ("config/config.yaml", "config/demo.yaml"):
        with open(name) as fh:
            cfg = yaml.safe_load(fh)
        C.validate(cfg, check_data=False)
    paper = C.validate(yaml.safe_load(open("config/config.yaml")), check_data=False)
    assert C.eps_list(paper, "resnet18") == list(range(13))
    assert C.eps_list(paper, "wrn28_10") == list(range(0, 13, 2))
    assert C.overdesign_deltas(paper) == list(range(1, 13))
    assert C.train_config(paper, "wrn28_10", 8).batch_size == 128


def test_training_time_limits_follow_precision_architecture_and_measured_throughput(tmp_path):
    """The paper trains in fp32: its limit must cover fp32 throughput, not bf16's (which ran WRN jobs out of time)."""
    cfg = copy.deepcopy(GOOD)
    cfg["data"]["dataset"] = "cifar10"
    cfg["models"] = {"w": {"arch": "wrn28_10", "eps": [0, 8]}, "r": {"arch": "resnet18", "eps": [0, 8]}}
    C.validate(cfg, check_data=False)
    minutes = {}
    for precision in ("fp32", "bf16"):
        cfg["train"]["precision"] = precision
        minutes[precision] = {m: C.train_runtime_minutes(cfg, m, 8, bench_dir=None) for m in ("w", "r")}
    # 200 epochs x 49,000 images at 907 img/s (bf16) or 907 / 2.5 (fp32), x 1.5, + 30 min
    assert minutes["bf16"]["w"] == int(30 + 1.5 * 200 * 49_000 / 907 / 60) == 300
    assert minutes["fp32"]["w"] == int(30 + 1.5 * 200 * 49_000 / (907 / 2.5) / 60) == 705
    assert minutes["fp32"]["r"] > minutes["bf16"]["r"] and minutes["fp32"]["w"] > 2 * minutes["fp32"]["r"]
    # a benchmark file's measurement (its slowest uncompiled row of the pair) replaces the table
    cfg["train"]["precision"] = "fp32"
    (tmp_path / "throughput-20260101-000000.json").write_text(
        json.dumps(
            {
                "rows": [
                    {"arch": "wrn28_10", "config": "fp32", "at_images_per_s": 500.0},
                    {"arch": "wrn28_10", "config": "fp32+cl", "at_images_per_s": 400.0},
                    {"arch": "wrn28_10", "config": "fp32+cl+compile", "at_images_per_s": 100.0},
                ]
            }
        )
    )
    assert C.train_runtime_minutes(cfg, "w", 8, bench_dir=tmp_path) == int(30 + 1.5 * 200 * 49_000 / 400 / 60)
    assert C.train_runtime_minutes(cfg, "r", 8, bench_dir=tmp_path) == minutes["fp32"]["r"]  # not measured there


def test_a_config_that_means_the_same_validates_to_the_same_text():
    """Snakemake compares params by their repr: key order, written-out defaults and 8.0 for 8 must not show in it."""
    good = variant(("quantization",), {"delta": [2], "beta": [4, 8], "bpda": {"steps": 5}})
    base = C.validate(copy.deepcopy(good), check_data=False)
    spelled = copy.deepcopy(good)
    spelled["models"]["r"]["eps"] = [0.0, 8.0]  # an integer key written as a float
    spelled["quantization"]["beta"] = [4.0, 8]  # a number key written as a float
    spelled["train"] = {"epochs": 200.0, "lr": 1e-1}  # the paper's values written out, one as a float
    variants = [reordered(good), C.validate(copy.deepcopy(good), check_data=False), spelled]
    for cfg in variants:
        cfg = C.validate(copy.deepcopy(cfg), check_data=False)
        assert repr(cfg) == repr(base)
        assert repr(C.train_hparams(cfg, "r", 8)) == repr(C.train_hparams(base, "r", 8))
        assert repr(C.quant_attack(cfg, "bpda")) == repr(C.quant_attack(base, "bpda"))
    spelled_once = C.canonical({"b": [2.0, 0.5, True], "a": {"d": 1, "c": None}})
    assert repr(spelled_once) == repr({"a": {"c": None, "d": 1}, "b": [2, 0.5, True]})
    assert list(C.canonical({"b": 1, "a": 2})) == ["a", "b"]


def test_planning_a_run_imports_no_torch():
    """Every Snakemake start (each dry run, each SLURM job's own start) imports what the Snakefile imports: no torch."""
    code = (
        "import sys, atspectrum.config, atspectrum.reporting.accounting, atspectrum.reporting.checklist, "
        "atspectrum.reporting.claims, atspectrum.runtime.paths, atspectrum.evaluation.search, "
        "atspectrum.evaluation.units; print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_wrn_normalises_by_its_datasets_statistics_and_cifar10_models_keep_their_params():
    """SVHN's WRN gets SVHN's channel statistics (issue #24: it used CIFAR-10's); CIFAR-10's and Fashion-MNIST's
    model specs stay as they were (no key added: no retraining after an upgrade)."""
    import torch

    from atspectrum import models
    from atspectrum.specs import WRN_NORMALIZATION

    config = C.load("config/config.yaml", check_data=False)
    assert "mean" not in C.model_spec(config, "wrn28_10")
    config["data"]["dataset"] = "svhn"
    spec = C.model_spec(config, "wrn28_10")
    assert spec["mean"] == list(WRN_NORMALIZATION["svhn"]["mean"]) and spec["num_classes"] == 10
    assert "mean" not in C.model_spec(config, "resnet18")  # ResNet-18 normalises nothing (the paper's code)
    model = models.build(**{**spec, "width": 1})
    assert torch.allclose(model.mean.flatten(), torch.tensor(WRN_NORMALIZATION["svhn"]["mean"]))
    assert torch.allclose(model.std.flatten(), torch.tensor(WRN_NORMALIZATION["svhn"]["std"]))
