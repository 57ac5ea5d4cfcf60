"""The workflow end to end through the snakemake CLI on a tiny config: artifacts, values, caching, reruns."""

import copy
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from workflow_run import ROOT, SNAKEMAKE, job_counts, one_seed, reordered, snakemake, snakemake_on

from atspectrum import analysis, data, models
from atspectrum import config as atconfig
from atspectrum.attacks.quantize import Quantizer
from atspectrum.planning import Plan, jobs
from atspectrum.reporting import captions

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        data.default_root("fashion_mnist") is None,
        reason="needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)",
    ),
]

# Small, but the models learn (issue #25, part 7: tests of the wiring need models whose predictions depend on their
# input): 1,024 training images, 6 epochs, about 60% clean accuracy on the validation split, some 15 s per model.
TINY = {
    "run": "tiny",
    "device": "cpu",
    "data": {"dataset": "fashion_mnist", "val_size": 32, "train_size": 1024, "test_size": 64},
    "models": {"rn": {"arch": "resnet18", "width": 2, "eps": [0, 16], "quant_layers": ["conv0"]}},
    "train": {
        "epochs": 6,
        "batch_size": 32,
        "lr": 0.05,
        "lr_milestones": [5],
        "attack": {"steps": 2},
        "val_attack": {"steps": 2},
        "standard": {"epochs": 6, "batch_size": 32},
    },
    # the paper's attacks (PGD, transfer PGD and BPDA: 20 steps of 0.1 delta, the defaults): every checklist check
    # passes on these models with no bug present. Coarser attacks do not: BPDA-5 at 0.4 delta leaves 1-4 of 64 images
    # correct at delta 128 (all of them bags), and the checklist says so.
    "overdesign": {"delta": [8, 16]},
    "quantization": {"delta": [8], "beta": [4]},
    "corruptions": {"names": ["gaussian_noise", "contrast"], "severities": [1, 5]},
    "checklist": {"large_delta": {"delta": 128}},  # "very large" for an eps-16 model: 128/255 (the proxy's)
    "eval": {"batch_size": 64},
}


def changed(**edits):
    """TINY with edits given as keyword arguments, nested keys joined by '__'."""
    return edited(yaml.safe_load(yaml.safe_dump(TINY)), **edits)


def edited(cfg, **edits):
    """``cfg`` with edits given as keyword arguments, nested keys joined by '__' (in place)."""
    for dotted, value in edits.items():
        node, keys = cfg, dotted.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return cfg


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("wf")
    res = snakemake(workdir, TINY, "--cores", "2")
    assert res.returncode == 0, res.stderr[-4000:]
    return workdir


def test_every_table_and_figure_is_written(tiny_run):
    out = tiny_run / "results" / "tiny"
    for stem in ("models_rn", "robust_accuracy_rn", "overdesign_rn"):
        for ext in ("csv", "md", "tex"):
            assert (out / "tables" / f"{stem}.{ext}").stat().st_size > 0
    for stem in ("quantization_rn_transfer_beta4", "quantization_rn_bpda_beta4", "quantization_clean_rn"):
        for ext in ("csv", "md", "tex"):
            assert (out / "tables" / f"{stem}.{ext}").stat().st_size > 0
    for ext in ("png", "pdf"):
        assert (out / "figures" / f"robust_error_rn.{ext}").stat().st_size > 1000
    for attack in ("transfer", "bpda"):
        assert (out / "figures" / f"quantization_gain_rn_{attack}.png").stat().st_size > 1000
    frame = pd.read_parquet(out / "eval/rn/seed0/eps16/pgd/delta8/none.parquet")
    assert list(frame.columns) == ["index", "label", "pred", "correct"] and len(frame) == 64
    assert (frame["correct"] == (frame["pred"] == frame["label"])).all()


def test_tables_hold_sane_values(tiny_run):
    tables = tiny_run / "results" / "tiny" / "tables"
    models = one_seed(tables / "models_rn.csv")
    assert list(models["eps"]) == [0, 16]
    assert models[["clean_acc", "pgd_eps_acc"]].apply(lambda c: c.between(0, 100)).all().all()
    tolerance = 100 * 3 / 64  # a random start may flip a few examples back to correct
    assert (models["pgd_eps_acc"] <= models["clean_acc"] + tolerance).all()
    robust = one_seed(tables / "robust_accuracy_rn.csv").set_index("eps")
    assert list(robust.columns) == ["delta8", "delta16"]
    assert (robust["delta16"] <= robust["delta8"] + tolerance).all()
    assert (robust.le(models.set_index("eps")["clean_acc"] + tolerance, axis=0)).all().all()
    over = one_seed(tables / "overdesign_rn.csv")
    assert list(over["delta"]) == [8, 16]
    for row in over.to_dict("records"):
        errors = 100 - robust[f"delta{row['delta']}"]
        assert row["error_at_eps_star"] == pytest.approx(errors.min(), abs=1e-3)
        assert row["eps_star"] == errors.idxmin() and row["eps_star_minus_delta"] == row["eps_star"] - row["delta"]
        assert row["error_at_max_eps"] == pytest.approx(errors[16], abs=1e-3)
    md = (tables / "overdesign_rn.md").read_text()
    assert "| delta | eps_star |" in md
    assert r"\begin{tabular}" in (tables / "overdesign_rn.tex").read_text()
    log = pd.read_csv(tiny_run / "results/tiny/models/rn/seed0/eps16/train_log.csv")
    assert list(log["epoch"]) == [1, 2, 3, 4, 5, 6] and (log["data_seconds"] < log["train_seconds"]).all()
    # the models have learned (chance is 10%), so the tests of the wiring can fail: predictions depend on the input
    assert (models["clean_acc"] > 40).all(), models


# What follows a change to any evaluation: the checklist and the claims (they read them all), the run's config record
# and the compute table (it waits for every target).
FOLLOWERS = {"checklist": 1, "claims": 1, "run_config": 1, "compute_accounting": 1, "all": 1}


def test_second_invocation_has_nothing_to_do(tiny_run):
    res = snakemake(tiny_run, TINY, "-n")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Nothing to be done" in res.stdout + res.stderr


def test_a_config_that_means_the_same_schedules_nothing(tiny_run):
    """Snakemake compares params by their text: the run's config in reverse key order, with every default written out
    (the run's own config record, written back by a YAML library: keys sorted), or with floats for integral values
    must not rerun anything."""
    written_out = yaml.safe_dump(yaml.safe_load((tiny_run / "results/tiny/config_used.yaml").read_text()))
    floats = changed(
        models__rn__eps=[0.0, 16.0],
        train__epochs=6.0,
        quantization__beta=[4.0],
        checklist={"large_beta": {"beta": 1e6}, "large_delta": {"delta": 128.0}},
    )
    for cfg in (yaml.safe_dump(reordered(TINY), sort_keys=False), written_out, floats):
        res = snakemake(tiny_run, cfg, "-n")
        assert res.returncode == 0, res.stderr[-3000:]
        assert "Nothing to be done" in res.stdout + res.stderr, job_counts(res.stdout + res.stderr)


def dry_run_imports_torch(workdir, config) -> bool:
    """Whether a dry run of ``config`` in ``workdir`` (which must succeed) imports torch."""
    cfg = Path(workdir) / "config.yaml"
    cfg.write_text(yaml.safe_dump(config))
    code = (
        "import sys\nfrom snakemake.cli import main\n"
        "sys.argv = ['snakemake', '-n', '-s', sys.argv[1], '-d', sys.argv[2], '--configfile', sys.argv[3]]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    print('exit', e.code, 'torch' in sys.modules)"
    )
    res = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "Snakefile"), str(workdir), str(cfg)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.stdout.split()[-3:-1] == ["exit", "0"], res.stdout[-2000:] + res.stderr[-2000:]
    return res.stdout.split()[-1] == "True"


def test_a_dry_run_imports_no_torch(tiny_run):
    """Planning needs no torch: the Snakefile and everything it imports leave it out (each Snakemake start saves its
    import)."""
    assert not dry_run_imports_torch(tiny_run, TINY)


def test_adding_a_delta_schedules_only_its_evaluations_and_the_aggregate(tiny_run):
    res = snakemake(tiny_run, changed(overdesign__delta=[4, 8, 16]), "-n")
    assert res.returncode == 0, res.stderr[-3000:]
    assert job_counts(res.stdout + res.stderr) == {"evaluate_pgd": 1, "aggregate_overdesign": 1, **FOLLOWERS}
    assert "units/pgd/delta4/none.json" in res.stdout  # the new delta's unit, over every eps


def test_changing_the_pgd_attack_reruns_the_pgd_jobs_and_parts_the_shared_computations(tiny_run):
    counts, units = planned(tiny_run, changed(overdesign__attack={"steps": 6}))
    # PGD at delta 0, 8, 16 and the checklist's 128 (units), and its more-steps PGD. TINY's transfer and BPDA had the
    # grid's PGD settings, so their unquantized cells and the transfer examples were the PGD units'; now that PGD
    # differs they are their own again: transfer's and BPDA's unquantized units, the transfer examples of each eps at
    # delta 8 (rule transfer_examples), and the transfer unit that reads them. No quantized cell is recomputed.
    assert counts == {
        "evaluate_pgd": 4,
        "evaluate_pgd_steps": 1,
        "aggregate_overdesign": 1,
        "transfer_examples": 2,
        "evaluate_quantized": 4,
        "aggregate_quantization": 2,
        "aggregate_quantization_clean": 1,
        **FOLLOWERS,
    }
    assert units == {("pgd", d, "none") for d in ("0", "8", "16", "128")} | {
        ("transfer", "8", "none"),
        ("transfer", "0", "none"),
        ("bpda", "8", "none"),
        ("transfer", "8", "beta4"),
    }


def test_changing_training_hyperparameters_retrains_that_model(tiny_run):
    cfg = changed(models__rn__train={"lr": 0.02})  # applies to AT (eps 16) and standard training alike
    res = snakemake(tiny_run, cfg, "-n")
    counts = job_counts(res.stdout + res.stderr)
    assert counts.get("train") == 2 and "prepare_data" not in counts


def test_trades_retrains_only_the_adversarially_trained_model_and_runs_end_to_end(tiny_run, tmp_path):
    """train.method: trades retrains the eps-16 model (eps 0 is standard training whatever the method) and everything
    downstream of it; the run completes with the method recorded in the model's metrics (issue #24, part 3)."""
    work = tmp_path / "wf"
    shutil.copytree(tiny_run, work, symlinks=True)
    cfg = changed(train__method="trades")
    counts = job_counts(snakemake(work, cfg, "-n").stdout)
    assert counts.get("train") == 1 and "prepare_data" not in counts, counts
    res = snakemake(work, cfg, "--cores", "2")
    assert res.returncode == 0, res.stderr[-3000:]
    metrics = yaml.safe_load((work / "results/tiny/models/rn/seed0/eps16/metrics.json").read_text())
    assert metrics["hparams"]["method"] == "trades" and metrics["hparams"]["trades_beta"] == 6.0
    assert (
        "method" not in yaml.safe_load((work / "results/tiny/models/rn/seed0/eps0/metrics.json").read_text())["hparams"]
    )
    assert "Nothing to be done" in snakemake(work, cfg, "-n").stdout


# an L2 study (issue #24, part 4): the tiny config with the model trained and attacked in L2 balls
L2 = {"models__rn__threat_model": "l2", "models__rn__eps": [0, 1.0], "overdesign__delta": [0.5, 1.0]}


def test_an_l2_study_runs_end_to_end_in_l2_balls_and_names_the_norm(tmp_path):
    """threat_model: l2 trains and attacks in L2 balls of radius eps / delta (floats in [0, 1] pixel space): the
    paths, columns and captions name the norm, the cached transfer examples lie in (and reach) their L2 ball, the
    L2-trained model is the more robust one, and a second run has nothing to do."""
    # an L2 attack of torchattacks' as a column of its own (its L∞ FGSM would leave the L2 ball and fail its job)
    pgdl2 = {"target": "torchattacks:PGDL2", "kwargs": {"steps": 10, "alpha": 0.2}}
    cfg = changed(**L2, quantization__delta=[1.0], eval__extra_attacks={"pgdl2": pgdl2})
    res = snakemake(tmp_path, cfg, "--cores", "2")
    assert res.returncode == 0, res.stderr[-4000:]
    run = tmp_path / "results/tiny"
    assert (run / "models/rn/seed0/eps1_l2/model.pt").exists() and (run / "models/rn/seed0/eps0_l2/model.pt").exists()
    acc = one_seed(run / "tables/robust_accuracy_rn.csv").set_index("eps")
    assert list(acc.columns) == ["delta0p5_l2", "delta1_l2"]
    assert acc.loc[1.0, "delta1_l2"] > acc.loc[0.0, "delta1_l2"] + 10  # L2 training buys L2 robustness
    assert (acc["delta0p5_l2"] >= acc["delta1_l2"]).all()
    assert "Threat model L2" in (run / "tables/robust_accuracy_rn.md").read_text()
    theirs = one_seed(run / "tables/robust_accuracy_rn-pgdl2.csv").set_index("eps")
    worst = one_seed(run / "tables/robust_accuracy_rn-worst.csv").set_index("eps")
    assert list(theirs.columns) == list(acc.columns) and (worst <= theirs).all().all() and (worst <= acc).all().all()
    # torchattacks' PGDL2 built with eps = the radius (not radius/255) is about as strong as ours: 5 points of 64
    # images apart at most; at eps 1/255 the standard model would keep some 60%
    assert (theirs - acc).abs().max().max() <= 8 and theirs.loc[0.0, "delta1_l2"] < 15
    test = data.load_prepared(run / "data/fashion_mnist/test.npz")[0].float().div(255)
    for eps in ("0_l2", "1_l2"):
        with np.load(run / f"adv/rn/seed0/eps{eps}/pgd/delta1_l2.npz") as z:
            adv = torch.from_numpy(z["adv"])
        norms = (adv - test).flatten(1).norm(dim=1)
        assert norms.max() <= 1.0 + 1e-4 and adv.min() >= 0 and adv.max() <= 1
        assert norms.max() > 0.9  # the attack uses its L2 ball (an L∞ reading of 1.0 as 1/255 stays below 0.11)
        assert (adv - test).abs().amax() > 2 / 255  # and is no L∞-1/255 attack
    checks = pd.read_csv(run / "tables/checklist.csv")
    for check in ("adv_budget", "monotone_delta", "large_beta"):
        assert (checks.loc[checks["check"] == check, "status"] == "pass").all(), checks
    assert "Nothing to be done" in snakemake(tmp_path, cfg, "-n").stdout


def test_an_l2_dry_run_plans_training_at_its_float_strengths(tmp_path):
    """The issue's example: threat_model l2 with eps [0, 0.5] plans both trainings under eps<token>_l2 and imports no
    torch."""
    cfg = changed(**{**L2, "models__rn__eps": [0, 0.5]}, quantization__delta=[0.5])
    res = snakemake(tmp_path, cfg, "-n", "--cores", "2")
    assert res.returncode == 0, res.stderr[-3000:]
    assert job_counts(res.stdout)["train"] == 2
    for eps in ("eps0_l2", "eps0p5_l2"):
        assert f"results/tiny/models/rn/seed0/{eps}/model.pt" in res.stdout
    assert not dry_run_imports_torch(tmp_path, cfg)


@pytest.mark.parametrize("dataset", ["svhn", "cifar100", "imagefolder"])
def test_another_dataset_runs_end_to_end_from_its_files(tmp_path, dataset):
    """data.dataset: svhn (SVHN's two .mat files), cifar100 (CIFAR-100's two pickles) or imagefolder (PNG and JPEG
    images of 40×36 in class folders, resized to 32), fake files in the real formats under data.root: planned,
    trained, evaluated and tabulated like CIFAR-10, with the dataset's classes and the paths named after it (issue
    #24, part 1)."""
    import synthetic

    root = tmp_path / dataset
    root.mkdir()
    getattr(synthetic, f"write_{dataset}")(str(root))
    extra = {"image_size": 32} if dataset == "imagefolder" else {}
    cfg = changed(
        run=dataset,
        data={"dataset": dataset, "root": str(root), "val_size": 16, "train_size": 256, "test_size": 32, **extra},
        train__epochs=2,
        train__lr_milestones=[1],
        train__standard={"epochs": 2, "batch_size": 32},
        corruptions={"names": ["gaussian_noise"], "severities": [1]},
    )
    res = snakemake(tmp_path, cfg, "--cores", "2")
    assert res.returncode == 0, res.stderr[-3000:]
    out = tmp_path / "results" / dataset
    test = np.load(out / f"data/{dataset}/test.npz")
    assert test["images"].shape == (32, 3, 32, 32)
    classes = {"svhn": 10, "cifar100": 100, "imagefolder": 3}[dataset]
    assert set(test["labels"]) <= set(range(classes))
    assert models.load(out / "models/rn/seed0/eps16/model.pt").spec["num_classes"] == classes
    robust = one_seed(out / "tables/robust_accuracy_rn.csv")
    assert list(robust["eps"]) == [0, 16]
    assert robust[["delta8", "delta16"]].apply(lambda c: c.between(0, 100)).all().all()
    assert "Nothing to be done" in snakemake(tmp_path, cfg, "-n").stdout
    if dataset == "imagefolder":  # the side alone is part of the prepared data's key: prepared again, retrained
        counts = job_counts(snakemake(tmp_path, edited(copy.deepcopy(cfg), data__image_size=24), "-n").stdout)
        assert counts.get("prepare_data") == 1 and counts.get("train") == 2, counts
    if dataset == "imagefolder":  # an image added to a class folder: the data is prepared again, the models retrained
        shutil.copy(next((root / "train" / "bee").iterdir()), root / "train" / "bee" / "new.png")
        counts = job_counts(snakemake(tmp_path, cfg, "-n").stdout)
        assert counts.get("prepare_data") == 1 and counts.get("train") == 2, counts


def test_invalid_config_fails_before_any_job_and_names_the_key(tmp_path):
    res = snakemake(tmp_path, changed(models__rn__eps=[0, -4]), "--cores", "1")
    assert res.returncode != 0
    assert "models.rn.eps[1]" in res.stderr + res.stdout
    assert not (tmp_path / "results").exists()


def test_missing_dataset_root_fails_before_any_job(tmp_path):
    bad = changed(data__root=str(tmp_path / "no-such-dir"))
    assert snakemake(tmp_path, bad, "-n").returncode == 0  # a dry run only plans
    res = snakemake(tmp_path, bad, "--cores", "1")
    assert res.returncode != 0 and "data.root" in res.stderr + res.stdout
    assert not (tmp_path / "results").exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_cuda_device_on_a_machine_without_one_fails_before_any_job(tmp_path):
    res = snakemake(tmp_path, changed(device="cuda"), "--cores", "1")
    assert res.returncode != 0 and "config key 'device'" in res.stderr + res.stdout
    assert not (tmp_path / "results").exists()  # not even the data was prepared


def test_every_units_time_limit_is_the_planned_one(tmp_path):
    """The rules hand each unit its own time limit (jobs.runtime_minutes, checked by hand in test_runtimes.py): a
    constant limit would kill the paper grid's large units (54 of 214 need more than 60 minutes)."""
    res = snakemake(tmp_path, TINY, "-n")
    assert res.returncode == 0, res.stderr[-3000:]
    plan = Plan(atconfig.validate(yaml.safe_load(yaml.safe_dump(TINY)), check_data=False), "results/tiny")
    expected = {u.file(plan.root): jobs.runtime_minutes(plan, u.attack, len(c)) for u, c in plan.units.items()}
    found = {}
    for block in re.split(r"^\[.*\]$", res.stdout, flags=re.M):  # one block per job, each after its date line
        output = re.search(r"output: (\S+\.json)", block)
        runtime = re.search(r"runtime=(\d+)", block)
        if output and runtime and "/units/" in output.group(1):
            found[output.group(1)] = int(runtime.group(1))
    assert found == expected and len(set(found.values())) > 1


def test_changing_the_evaluation_batch_size_reruns_only_the_config_record(tiny_run):
    res = snakemake(tiny_run, changed(eval__batch_size=16), "-n")
    assert res.returncode == 0, res.stderr[-3000:]
    assert job_counts(res.stdout + res.stderr) == {"run_config": 1, "all": 1}


def test_paper_grid_dry_run_lists_every_job(tmp_path):
    """No CIFAR-10 needed to plan: 20 models; per architecture PGD in units at δ ∈ {0, …, 12} (every ε) and the
    checklist's δ = 64 (its largest ε); per model, transfer at
    δ ∈ {0, 2, …, 12} and BPDA at δ ∈ {2, …, 12}, each in units (unquantized, and each β of 5 at every layer, every
    ε); APGD-BPDA at δ ∈ {2, …, 12} at β = 8 only; the checklist's extra evaluations (PGD-100 for each architecture's
    largest ε, β = 10⁶ at every layer); C1's validation evaluations, the first steps of 7 overdesign searches among
    them."""
    res = snakemake_on(tmp_path, ROOT / "config" / "config.yaml", "-n")
    assert res.returncode == 0, res.stderr[-3000:]
    assert job_counts(res.stdout + res.stderr) == {
        "prepare_data": 1,
        "train": 20,
        "evaluate_pgd": 2 * (13 + 1),
        "aggregate_overdesign": 2,
        "evaluate_pgd_steps": 2,
        # units of (attack, delta, q) per model, q = unquantized or one beta, each over every eps and layer:
        # transfer at 7 deltas (0 included) and BPDA at 6, each x 5 beta (their unquantized cells and the transfer
        # examples are the PGD units': the same attack); APGD-BPDA at 6 x (none + beta 8)
        "evaluate_quantized": 2 * (7 * 5 + 6 * 5 + 6 * 2)
        + 2  # the checklist's beta = 1e6 (transfer, delta 0) at each model's largest eps and every layer
        + 2,  # the checklist's BPDA at delta 64 on the first two quantization points of each model (beta 8)
        "evaluate_quantized_steps": 2,  # and its BPDA with 5x the steps there
        "split_validation": 1,  # the validation split divided: checkpoint selection / the overdesign search
        "aggregate_quantization": 2 * 2 * 5 + 2 * 2 * 1,
        "aggregate_quantization_clean": 2,
        "filter_norms": 20,
        "aggregate_filter_norms": 2,
        "evaluate_corruptions": 20,
        "aggregate_corruptions": 2,
        "aggregate_corruption_average": 1,
        # C1's validation evaluations (ResNet-18: delta 1-11 at every eps >= delta, 77; WRN: delta 2-10, 20), among
        # them the first of each of the 7 searches
        "evaluate_pgd_val": 77 + 20,
        "search_step": 7,
        "search_result": 7,
        "aggregate_search": 1,
        "checklist": 1,
        "claims": 1,
        "run_config": 1,
        "compute_accounting": 1,
        "all": 1,
    }
    # the compute table's projection counts the same GPU jobs as Snakemake plans
    counts = job_counts(res.stdout + res.stderr)
    projected = jobs.grid_jobs(Plan(atconfig.load(ROOT / "config" / "config.yaml", check_data=False)))
    assert projected == {rule: counts[rule] for rule in projected}


def test_quantization_tables_follow_the_evaluations(tiny_run):
    out = tiny_run / "results" / "tiny"
    for attack in ("transfer", "bpda"):
        table = one_seed(out / f"tables/quantization_rn_{attack}_beta4.csv")
        assert list(table.columns) == ["delta", "layer", "eps0", "eps16"]
        assert list(zip(table["delta"], table["layer"])) == [(8, "none"), (8, "conv0")]
        for eps in (0, 16):
            # the unquantized row is the PGD cell: the same attack (TINY's transfer and BPDA have PGD's settings)
            for layer, rel in (("none", "pgd/delta8/none.parquet"), ("conv0", f"{attack}/delta8/conv0/beta4.parquet")):
                frame = pd.read_parquet(out / f"eval/rn/seed0/eps{eps}/{rel}")
                cell = table.loc[table["layer"] == layer, f"eps{eps}"].item()
                assert cell == pytest.approx(100 * frame["correct"].mean(), abs=1e-3)
    # transfer cells classify the cached examples (PGD against the unquantized model), unquantized and quantized
    model = models.load(out / "models/rn/seed0/eps16/model.pt")
    with np.load(out / "adv/rn/seed0/eps16/pgd/delta8.npz") as z:
        adv, adv_labels = torch.from_numpy(z["adv"]), torch.from_numpy(z["labels"])
    assert not (out / "eval/rn/seed0/eps16/transfer/delta8/none.parquet").exists()  # computed once, as PGD
    assert not (out / "eval/rn/seed0/eps16/bpda/delta8/none.parquet").exists()
    preds = {}
    for rel, quantize in (
        ("pgd/delta8/none.parquet", None),
        ("transfer/delta8/conv0/beta4.parquet", Quantizer("conv0", 4.0)),
    ):
        frame = pd.read_parquet(out / "eval/rn/seed0/eps16" / rel)
        with torch.no_grad():
            pred = model(adv, quantize=quantize).argmax(1)
        assert frame["pred"].tolist() == pred.tolist() and frame["label"].tolist() == adv_labels.tolist(), rel
        preds[rel] = frame["pred"].tolist()
    # the models have learned: quantizing changes some predictions, so the comparison above can tell the two apart
    assert preds["pgd/delta8/none.parquet"] != preds["transfer/delta8/conv0/beta4.parquet"]
    clean = one_seed(out / "tables/quantization_clean_rn.csv")
    assert list(zip(clean["beta"].astype(str), clean["layer"])) == [("–", "none"), ("4", "conv0")]
    pgd_clean = pd.read_parquet(out / "eval/rn/seed0/eps16/pgd/delta0/none.parquet")
    assert clean.loc[0, "eps16"] == pytest.approx(100 * pgd_clean["correct"].mean(), abs=1e-3)


def unit_outputs(dry_run: str) -> set[tuple[str, str, str]]:
    """(attack, delta, q) of every evaluation unit of seed 0 a dry run schedules."""
    outputs = "\n".join(line for line in dry_run.splitlines() if line.strip().startswith("output:"))
    return set(re.findall(r"eval/rn/seed0/units/([\w-]+)/delta(\d+)/(\w+)\.json", outputs))


def planned(workdir, config) -> tuple[dict[str, int], set[tuple[str, str, str]]]:
    """A dry run of ``config`` in ``workdir``: the jobs per rule and the evaluation units it schedules."""
    res = snakemake(workdir, config, "-n")
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    return job_counts(out), unit_outputs(out)


def test_adding_a_beta_schedules_only_its_evaluations_and_aggregates(tiny_run):
    counts, units = planned(tiny_run, changed(quantization__beta=[4, 8]))
    # transfer at delta 8 and delta 0 (clean) and BPDA at delta 8, at beta 8 (each over both eps); and beta 8 becomes
    # the checklist's headline beta (checklist.masking.beta: null): its BPDA at delta 128 and BPDA-100 at eps 16
    assert counts == {
        "evaluate_quantized": 3 + 1,
        "evaluate_quantized_steps": 1,
        "aggregate_quantization": 2,
        "aggregate_quantization_clean": 1,
        **FOLLOWERS,
    }
    assert units == {
        ("transfer", "8", "beta8"),
        ("transfer", "0", "beta8"),
        ("bpda", "8", "beta8"),
        ("bpda", "128", "beta8"),
        ("bpda5x", "8", "beta8"),
    }


def test_adding_a_quantization_delta_schedules_only_its_units(tiny_run):
    counts, units = planned(tiny_run, changed(quantization__delta=[4, 8]))
    # the PGD unit at delta 4 computes the attack once: the unquantized cells and the transfer examples
    assert counts == {
        "evaluate_pgd": 1,
        "evaluate_quantized": 2,
        "aggregate_quantization": 2,
        "aggregate_quantization_clean": 1,
        **FOLLOWERS,
    }
    assert units == {("pgd", "4", "none"), ("transfer", "4", "beta4"), ("bpda", "4", "beta4")}


def test_changing_bpda_steps_reruns_bpda_jobs_only(tiny_run):
    counts, units = planned(tiny_run, changed(quantization__bpda={"steps": 7}))
    assert counts == {  # + the checklist's BPDA at delta 128 and BPDA with 5x the steps (eps 16, conv0)
        "evaluate_quantized": 3,
        "evaluate_quantized_steps": 1,
        "aggregate_quantization": 1,
        "aggregate_quantization_clean": 1,
        **FOLLOWERS,
    }
    assert units == {
        ("bpda", "8", "none"),
        ("bpda", "8", "beta4"),
        ("bpda", "128", "beta4"),
        ("bpda5x", "8", "beta4"),
    }


def test_a_unit_rerun_reuses_every_finished_cell(tiny_run, tmp_path):
    """The cells are the cache: a forced rerun of a unit recomputes nothing, one whose cell was lost (a unit killed
    half-way) computes only that cell, and each cell's numbers stay those of the first run."""
    work = tmp_path / "wf"
    shutil.copytree(tiny_run, work, symlinks=True)
    out = work / "results/tiny"
    unit = "results/tiny/eval/rn/seed0/units/bpda/delta8/beta4.json"
    cells = {e: out / f"eval/rn/seed0/eps{e}/bpda/delta8/conv0/beta4.parquet" for e in (0, 16)}
    before = {e: (f.read_bytes(), f.stat().st_mtime_ns) for e, f in cells.items()}
    log = out / "logs/evaluate_bpda/rn_seed0_delta8_beta4.log"
    res = snakemake(work, TINY, "--cores", "1", "--forcerun", unit, "--until", unit)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "0 cell(s) computed, 2 reused" in log.read_text()
    assert {e: (f.read_bytes(), f.stat().st_mtime_ns) for e, f in cells.items()} == before
    cells[16].unlink()
    res = snakemake(work, TINY, "--cores", "1", "--forcerun", unit, "--until", unit)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "1 cell(s) computed, 1 reused" in log.read_text()
    assert cells[0].stat().st_mtime_ns == before[0][1]
    assert pd.read_parquet(cells[16]).equals(pd.read_parquet(io.BytesIO(before[16][0])))


@pytest.mark.parametrize("damage", ["copied over", "garbage", "deleted"])
def test_a_plain_rerun_heals_a_damaged_cell(tiny_run, tmp_path, damage):
    """A cell file replaced by another cell's, overwritten with garbage or deleted while its unit's manifest stays:
    the next plain run recomputes exactly that cell, and every table reads as before (issue #25, part 2)."""
    work = tmp_path / "wf"
    shutil.copytree(tiny_run, work, symlinks=True)
    out = work / "results/tiny"
    cells = {e: out / f"eval/rn/seed0/eps{e}/bpda/delta8/conv0/beta4.parquet" for e in (0, 16)}
    table = out / "tables/quantization_rn_bpda_beta4.csv"
    before_cell, before_table = cells[16].read_bytes(), table.read_text()
    if damage == "copied over":
        shutil.copyfile(cells[0], cells[16])
    elif damage == "garbage":
        cells[16].write_bytes(b"garbage" * 100)
    else:
        cells[16].unlink()
    res = snakemake(work, TINY, "--cores", "1")
    assert res.returncode == 0, res.stderr[-3000:]
    assert str(cells[16].relative_to(work)) in res.stderr  # the run says what it found
    log = (out / "logs/evaluate_bpda/rn_seed0_delta8_beta4.log").read_text()
    assert log.rstrip().endswith("1 cell(s) computed, 1 reused")
    assert pd.read_parquet(cells[16]).equals(pd.read_parquet(io.BytesIO(before_cell)))
    assert table.read_text() == before_table
    assert "Nothing to be done" in snakemake(work, TINY, "-n").stdout


@pytest.mark.parametrize("damage", ["truncated", "deleted", "copied over"])
def test_a_plain_rerun_heals_a_damaged_checkpoint(tiny_run, tmp_path, damage):
    """A truncated model.pt is moved aside and a deleted one is missing: a plain run retrains it and reruns everything
    evaluated on it, then nothing is left to do. Another model's checkpoint copied over it stops the first job that
    reads it with an error naming the file and saying to delete it; deleting it is enough (the advice works)."""
    work = tmp_path / "wf"
    shutil.copytree(tiny_run, work, symlinks=True)
    model = work / "results/tiny/models/rn/seed0/eps16/model.pt"
    data = model.read_bytes()
    if damage == "truncated":
        model.write_bytes(data[: len(data) // 2])
    elif damage == "deleted":
        model.unlink()
    else:
        shutil.copyfile(work / "results/tiny/models/rn/seed0/eps0/model.pt", model)
        res = snakemake(work, TINY, "--cores", "1")
        assert res.returncode != 0
        assert f"checkpoint {model.relative_to(work)} holds the model of" in res.stderr and "delete it" in res.stderr
        model.unlink()
    res = snakemake(work, TINY, "-n")
    counts = job_counts(res.stdout)
    assert counts.get("train") == 1 and counts.get("evaluate_quantized", 0) >= 1, res.stdout[-3000:]
    if damage == "truncated":
        assert (model.parent / "model.pt.damaged").read_bytes() == data[: len(data) // 2]
    res = snakemake(work, TINY, "--cores", "2")
    assert res.returncode == 0, res.stderr[-3000:]
    assert models.load(model).state_dict().keys()
    assert "Nothing to be done" in snakemake(work, TINY, "-n").stdout


@pytest.mark.parametrize("damage", ["garbage", "deleted"])
def test_a_plain_rerun_heals_damaged_transfer_examples(tiny_run, tmp_path, damage):
    """The transfer examples of (eps 16, delta 8), written by the PGD unit of delta 8, overwritten or deleted: a plain
    run reruns that PGD unit, which recomputes that one cell and its examples (bit for bit the same), and the transfer
    unit that reads them reuses its cells; every table reads as before, then nothing is left to do."""
    work = tmp_path / "wf"
    shutil.copytree(tiny_run, work, symlinks=True)
    out = work / "results/tiny"
    examples = out / "adv/rn/seed0/eps16/pgd/delta8.npz"
    before = examples.read_bytes()
    tables = {t: t.read_text() for t in (out / "tables").glob("*.csv") if t.stem != "compute"}
    if damage == "garbage":
        examples.write_bytes(b"garbage" * 100)
    else:
        examples.unlink()
    res = snakemake(work, TINY, "--cores", "1")
    assert res.returncode == 0, res.stderr[-3000:]
    log = (out / "logs/evaluate_pgd/rn_seed0_delta8_none.log").read_text()
    assert log.rstrip().endswith("1 cell(s) computed, 1 reused"), log[-500:]
    assert np.array_equal(np.load(examples)["adv"], np.load(io.BytesIO(before))["adv"])
    transfer = (out / "logs/evaluate_transfer/rn_seed0_delta8_beta4.log").read_text()
    assert transfer.rstrip().endswith("0 cell(s) computed, 2 reused"), transfer[-500:]
    assert {t: t.read_text() for t in tables} == tables
    assert "Nothing to be done" in snakemake(work, TINY, "-n").stdout


def test_a_replaced_cifar10c_file_reruns_exactly_its_corruption_evaluations(tiny_run, tmp_path):
    """CIFAR-10-C files given under corruptions.root: new contents in one of them (same name, same shape) rerun the
    corruption evaluations of every model and their aggregates, and nothing else (issue #25, part 3)."""
    work = tmp_path / "wf"
    shutil.copytree(tiny_run, work, symlinks=True)
    # a directory in CIFAR-10-C's layout: test image i at row i of each of the 5 severity blocks (NHWC uint8)
    test = np.load(work / "results/tiny/data/fashion_mnist/test.npz")
    per = int(test["index"].max()) + 1
    images = np.zeros((per, 28, 28, 1), np.uint8)
    labels = np.zeros(per, np.int64)
    images[test["index"]], labels[test["index"]] = test["images"].transpose(0, 2, 3, 1), test["labels"]
    root = tmp_path / "CIFAR-10-C"
    root.mkdir()
    np.save(root / "labels.npy", np.tile(labels, 5))
    for k, name in enumerate(TINY["corruptions"]["names"]):
        np.save(root / f"{name}.npy", np.tile(images // (k + 2), (5, 1, 1, 1)))  # darker: a "corruption"
    cfg = changed(corruptions__root=str(root))
    res = snakemake(work, cfg, "--cores", "2")
    assert res.returncode == 0, res.stderr[-3000:]
    frame = work / "results/tiny/analysis/rn/seed0/eps16/corruptions.parquet"
    first = pd.read_parquet(frame)
    noise = np.load(root / "gaussian_noise.npy")
    np.save(root / "gaussian_noise.npy", np.ascontiguousarray(noise[:, ::-1]))  # the same shape, new contents
    dry = snakemake(work, cfg, "-n")
    counts = job_counts(dry.stdout)
    assert counts.get("evaluate_corruptions") == 2, dry.stdout[-3000:]
    assert not {"train", "prepare_data", "evaluate_pgd", "evaluate_quantized"} & set(counts), counts
    assert "gaussian_noise.npy" in dry.stdout + dry.stderr  # the run says what it found
    res = snakemake(work, cfg, "--cores", "2")
    assert res.returncode == 0, res.stderr[-3000:]
    again = pd.read_parquet(frame)
    assert not again.equals(first)
    assert "Nothing to be done" in snakemake(work, cfg, "-n").stdout


def test_a_replaced_dataset_file_prepares_the_data_again_and_reruns_what_depends_on_it(tiny_run, tmp_path):
    """The dataset's files under data.root: new contents in one of them (same name and size) move the prepared data
    aside as stale, naming the file, and the run prepares it again and retrains on it (issue #25, part 3)."""
    work = tmp_path / "wf"
    shutil.copytree(tiny_run, work, symlinks=True)
    root = tmp_path / "fashion"
    shutil.copytree(data.default_root("fashion_mnist"), root)
    cfg = changed(data__root=str(root))
    res = snakemake(work, cfg, "--cores", "2")
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Nothing to be done" in snakemake(work, cfg, "-n").stdout
    labels = root / "t10k-labels-idx1-ubyte.gz"
    raw = labels.read_bytes()
    labels.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))  # the same size, other contents
    dry = snakemake(work, cfg, "-n")
    counts = job_counts(dry.stdout)
    assert counts.get("prepare_data") == 1 and counts.get("train") == 2, dry.stdout[-3000:]
    assert "t10k-labels-idx1-ubyte.gz was replaced" in dry.stdout + dry.stderr
    assert (work / "results/tiny/data/fashion_mnist/test.npz.stale").exists()


def test_filter_norm_and_corruption_outputs(tiny_run):
    out = tiny_run / "results" / "tiny"
    norms = one_seed(out / "tables/filter_norms_rn.csv")
    assert set(norms["eps"]) == {0, 16}
    for eps in (0, 16):  # the table holds each checkpoint's own filter norms
        want = analysis.filter_norms(models.load(out / f"models/rn/seed0/eps{eps}/model.pt"))
        got = norms[norms["eps"] == eps].reset_index(drop=True)
        assert list(got["layer"]) == list(want["layer"])
        cols = ["mean", "max", "op_norm", "op_norm_bn"]
        np.testing.assert_allclose(got[cols].to_numpy(), want[cols].to_numpy(), rtol=1e-6)
    assert (norms.loc[norms["kind"] == "3x3", "index"].max()) == 17
    for stat in ("mean", "max", "op_norm", "op_norm_bn"):
        assert (out / f"figures/filter_norms_rn_{stat}.png").stat().st_size > 1000
    table = one_seed(out / "tables/corruptions_rn.csv")
    assert list(table["corruption"]) == ["gaussian_noise", "contrast", "average"]
    assert list(table.columns) == ["corruption", "eps0", "eps16"]
    frame = pd.read_parquet(out / "analysis/rn/seed0/eps16/corruptions.parquet")
    assert set(frame["corruption"]) == {"clean", "gaussian_noise", "contrast"}
    assert set(frame.loc[frame["corruption"] != "clean", "severity"]) == {1, 5}
    gauss = 100 * frame.loc[frame["corruption"] == "gaussian_noise", "correct"].mean()
    assert table.loc[0, "eps16"] == pytest.approx(gauss, abs=1e-3)
    severity = one_seed(out / "tables/corruptions_severity_rn.csv")
    assert list(severity["severity"]) == [0, 1, 5]
    average = one_seed(out / "tables/corruptions_average.csv")
    assert list(average["model"]) == ["rn"] and average.loc[0, "eps16"] == pytest.approx(table.loc[2, "eps16"])
    assert (out / "figures/preact_mean_rn.png").stat().st_size > 1000
    preact = __import__("json").loads((out / "analysis/rn/seed0/eps0/preact.json").read_text())
    assert preact["corrupted"]["units"] == 2 * preact["per_corruption"]["contrast"]["units"]
    # Figure 3's table: the code's statistic (severity 5, averaged over corruptions) and the text's (all pooled)
    fig3 = one_seed(out / "tables/preact_rn.csv").set_index("eps")
    per5 = [preact["per_severity"][n]["5"] for n in ("gaussian_noise", "contrast")]
    assert fig3.loc[0, "code_severity"] == 5
    assert fig3.loc[0, "code_mean"] == pytest.approx(sum(c["mean"] for c in per5) / 2, abs=1e-4)
    assert fig3.loc[0, "code_neg_minus_pos"] == pytest.approx(sum(c["neg_minus_pos"] for c in per5) / 2, abs=1e-4)
    assert fig3.loc[0, "text_mean"] == pytest.approx(preact["corrupted"]["mean"], abs=1e-4)


def test_malformed_cifar10c_root_fails_before_any_job_naming_the_file(tmp_path):
    import numpy as np

    root = tmp_path / "CIFAR-10-C"
    root.mkdir()
    np.save(root / "gaussian_noise.npy", np.zeros((10, 28, 28, 1), dtype=np.uint8))
    np.save(root / "contrast.npy", np.zeros((10, 28, 28, 1), dtype=np.float32))  # wrong dtype
    np.save(root / "labels.npy", np.zeros(10, dtype=np.int64))
    cfg = changed(corruptions={"root": str(root), "names": ["gaussian_noise", "contrast"]})
    res = snakemake(tmp_path, cfg, "--cores", "1")
    assert res.returncode != 0
    assert "contrast.npy" in res.stderr + res.stdout and "corruptions.root" in res.stderr + res.stdout
    assert not (tmp_path / "results").exists()


GPU_RULES = {
    "train",
    "evaluate_pgd",
    "evaluate_quantized",
    "evaluate_corruptions",
    "evaluate_pgd_steps",
    "evaluate_pgd_val",
    "evaluate_quantized_steps",
}


def test_gpu_rules_ask_for_one_gpu_and_cpu_rules_for_none(tmp_path):
    res = snakemake_on(tmp_path, ROOT / "config" / "config.yaml", "-n")
    assert res.returncode == 0, res.stderr[-3000:]
    seen = {}
    rule = None
    for line in (res.stdout + res.stderr).splitlines():
        m = re.match(r"(?:local)?rule (\w+):", line)
        if m:
            rule = m.group(1)
        elif rule and line.strip().startswith("resources:"):
            seen.setdefault(rule, set()).add("gpu=1" in line)
            rule = None
    assert {r for r, flags in seen.items() if flags == {True}} == GPU_RULES
    assert all(flags == {False} for r, flags in seen.items() if r not in GPU_RULES)
    # transfer_examples runs only where transfer's settings differ from the grid's PGD (not in the paper grid)
    rule = (ROOT / "workflow/rules/evaluate.smk").read_text().split("rule transfer_examples:")[1].split("\nrule ")[0]
    assert "gpu=1," in rule


def test_workstation_profile_plans_the_workflow(tiny_run):
    cfg = Path(tiny_run) / "config.yaml"
    cfg.write_text(yaml.safe_dump(TINY))
    res = subprocess.run(
        [
            SNAKEMAKE,
            "-s",
            str(ROOT / "Snakefile"),
            "-d",
            str(tiny_run),
            "-n",
            "--configfile",
            str(cfg),
            "--workflow-profile",
            str(ROOT / "profiles" / "workstation"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "Nothing to be done" in res.stdout + res.stderr


def test_html_report_holds_every_table_and_figure(tiny_run):
    report = tiny_run / "results" / "tiny" / "report.html"
    res = snakemake(tiny_run, TINY, "--report", str(report))
    assert res.returncode == 0, res.stderr[-3000:]
    html = report.read_text()
    for name in (
        "robust_error_rn.png",
        "overdesign_rn.csv",
        "models_rn.csv",
        "quantization_rn_bpda_beta4.csv",
        "quantization_gain_rn_transfer.png",
        "filter_norms_rn_mean.png",
        "corruptions_rn.csv",
        "corruptions_average.csv",
        "preact_mean_rn.png",
        "quantization_rn_bpda_beta4_ci.csv",
        "compute.csv",
        "config_used.yaml",
        "checklist.csv",
        "claims.csv",
        "C1_robust_error_rn.png",
    ):
        assert name in html, name
    assert "0 all claims" in html  # the claims' category (it sorts first: tests/test_claims.py)


def test_claims_table_gives_a_verdict_on_every_claim(tiny_run):
    out = tiny_run / "results" / "tiny"
    table = pd.read_csv(out / "tables" / "claims.csv")
    assert table["claim"].tolist() == ["C1 overdesign", "C2 quantization", "C3 filter norms", "C4 corruptions"]
    allowed = {"holds", "inconclusive", "not applicable", "not run"}
    assert set(table["verdict"].str.replace(r" \(.*\)$", "", regex=True)) <= allowed | {"does not hold"}
    assert table["paper_verdict"].str.len().min() > 0 and table["numbers"].fillna("").str.len().min() > 0
    # eps [0, 16], delta [8, 16]: no delta is a trained eps with a larger eps above it, so C1 is not run
    c1 = table.set_index("claim").loc["C1 overdesign"]
    assert c1["verdict"] == "not run" and "no delta" in c1["numbers"]
    details = pd.read_csv(out / "tables" / "claims_details.csv")
    assert set(details["claim"]) <= set(table["claim"]) and details["effect"].notna().any()
    copy, source = out / "figures" / "claims" / "C1_robust_error_rn.png", out / "figures" / "robust_error_rn.png"
    assert copy.read_bytes() == source.read_bytes()


def test_every_accuracy_table_has_wilson_intervals_and_paired_tests(tiny_run):
    from scipy import stats as sst

    tables = tiny_run / "results" / "tiny" / "tables"
    used = yaml.safe_load((tiny_run / "results/tiny/config_used.yaml").read_text())  # TINY with its defaults
    for stem in (
        "models_rn",
        "robust_accuracy_rn",
        "overdesign_rn",
        "quantization_rn_transfer_beta4",
        "quantization_rn_bpda_beta4",
        "quantization_clean_rn",
        "corruptions_rn",
        "corruptions_severity_rn",
        "corruptions_average",
    ):
        ci = one_seed(tables / f"{stem}_ci.csv")
        assert (
            len(ci) > 0 and (ci["ci_low"] <= ci["value"] + 1e-9).all() and (ci["value"] <= ci["ci_high"] + 1e-9).all()
        )
        assert " ± " in (tables / f"{stem}.md").read_text(), stem
        # the heading is the table's title, then its report caption (one caption per output: workflow/report/*.rst)
        section = stem.split("_")[0] if stem.startswith(("quantization", "corruptions")) else "overdesign"
        stats = {"alpha": 0.05, "correction": "holm"}  # the defaults (TINY sets none)
        values = {"model": "rn", "run": "tiny", "stats": stats, "overdesign": used["overdesign"]}
        caption = captions.render(ROOT / f"workflow/report/{section}.rst", **values)
        assert caption in (tables / f"{stem}.md").read_text().split("\n\n")[0], stem
    robust = one_seed(tables / "robust_accuracy_rn_ci.csv")
    assert set(robust["n"]) == {64} and len(robust) == 2 * 2
    # every quantized cell is tested against the unquantized model on the same 64 examples
    ci = one_seed(tables / "quantization_rn_bpda_beta4_ci.csv")
    tested = ci[ci["layer"] == "conv0"]
    assert (
        len(tested) == 2 and tested["p_value"].notna().all() and ci.loc[ci["layer"] == "none", "p_value"].isna().all()
    )
    p_values = []
    for row in tested.to_dict("records"):
        eps = row["column"].removeprefix("eps")
        q = pd.read_parquet(tiny_run / f"results/tiny/eval/rn/seed0/eps{eps}/bpda/delta8/conv0/beta4.parquet")
        u = pd.read_parquet(tiny_run / f"results/tiny/eval/rn/seed0/eps{eps}/pgd/delta8/none.parquet")  # BPDA's twin
        gained, lost = int((q["correct"] & ~u["correct"]).sum()), int((~q["correct"] & u["correct"]).sum())
        assert (row["gained"], row["lost"]) == (gained, lost)
        p_values.append(1.0 if gained + lost == 0 else sst.binomtest(gained, gained + lost).pvalue)
    assert list(tested["p_value"]) == pytest.approx(p_values)
    low, high = sorted(p_values)  # Holm over the table's two quantized cells
    holm = {low: min(1.0, 2 * low), high: max(min(1.0, 2 * low), high)}
    assert list(tested["p_adjusted"]) == pytest.approx([holm[p] for p in p_values])
    conv0 = [
        line for line in (tables / "quantization_rn_bpda_beta4.md").read_text().splitlines() if "| conv0 |" in line
    ]
    marks = conv0[0].count("**") // 2 + conv0[0].count(" _")
    assert marks == int(tested["significant"].sum())


def test_compute_table_and_the_config_used(tiny_run):
    out = tiny_run / "results" / "tiny"
    compute = pd.read_csv(out / "tables/compute.csv").set_index("rule")
    assert compute.loc["train", "jobs"] == 2 and compute.loc["train", "kind"] == "gpu"
    assert compute.loc["aggregate_overdesign", "kind"] == "cpu"
    assert compute.loc["train", "grid_jobs"] == 20 and compute.loc["train", "grid_gpu_hours"] > 0
    assert compute.loc["total", "wall_s"] >= compute.loc["train", "wall_s"] > 0
    # every evaluation rule's benchmarks are filed under a GPU rule the projection knows (none under "evaluate_bpda5x")
    for rule in (
        "evaluate_pgd",
        "evaluate_transfer",
        "evaluate_bpda",
        "evaluate_quantized_steps",
        "evaluate_pgd_steps",
    ):
        assert compute.loc[rule, "kind"] == "gpu" and compute.loc[rule, "jobs"] >= 1, rule
    assert compute.loc[["evaluate_quantized_steps", "evaluate_bpda"], "grid_gpu_hours"].gt(0).all()
    used = yaml.safe_load((out / "config_used.yaml").read_text())
    assert used["models"]["rn"]["width"] == 2 and used["stats"] == {"alpha": 0.05, "correction": "holm"}


def test_checklist_table_reports_every_check_with_its_numbers(tiny_run, tmp_path):
    """The checklist runs on the tiny grid: every check with a verdict and numbers that match the evaluations; its
    extra evaluations are PGD at delta 128, PGD with 5x the steps and beta 1e6; strict fails the run, naming checks."""
    import shutil

    out = tiny_run / "results" / "tiny"
    table = pd.read_csv(out / "tables/checklist.csv")
    assert list(table.columns) == ["check", "model", "eps", "status", "value", "limit", "measured", "criterion"]
    assert set(table["check"]) == {
        "monotone_delta",
        "large_delta",
        "more_steps",
        "transfer_vs_bpda",
        "adv_budget",
        "large_beta",
        "bpda_large_delta",
        "bpda_more_steps",
        "apgd_vs_bpda",
    }
    assert (table["model"] == "rn").all()
    applies = table["status"].isin(["pass", "fail"])  # n/a (read back as NaN): only APGD-BPDA against BPDA,
    # since TINY has no apgd-bpda
    assert list(table.loc[~applies, "check"]) == ["apgd_vs_bpda"]
    # each verdict is its own numbers' verdict (every check passes iff its value is within its limit)
    within = table.loc[applies, "value"] <= table.loc[applies, "limit"] + 1e-9
    assert list(table.loc[applies, "status"]) == ["pass" if ok else "fail" for ok in within], table[["check", "status"]]
    # and with no bug present, on models that have learned, every check passes (#25: no failure without a bug)
    assert (table.loc[applies, "status"] == "pass").all(), table.loc[applies, ["check", "eps", "status", "measured"]]
    rows = table.set_index("check")

    def acc(rel):
        return 100 * pd.read_parquet(out / "eval/rn/seed0/eps16" / rel)["correct"].mean()

    assert rows.loc["large_delta", "eps"] == 16 and rows.loc["large_delta", "limit"] == 1.0
    assert rows.loc["large_delta", "value"] == pytest.approx(acc("pgd/delta128/none.parquet"), abs=1e-3)
    more = acc("pgd/delta16/none.parquet") - acc("pgd5x/delta16/none.parquet")
    assert rows.loc["more_steps", "value"] == pytest.approx(more, abs=1e-3)
    assert "PGD_16-100" in rows.loc["more_steps", "measured"]  # 5 x the grid's 20 steps
    assert "100" in next((out / "logs/evaluate_pgd_steps").glob("*.log")).read_text()
    budget = table[table["check"] == "adv_budget"]
    assert list(budget["eps"]) == [0, 16] and (budget["status"] == "pass").all()
    assert "delta 8: 8.0000" in budget["measured"].iloc[0]
    assert rows.loc["large_beta", "status"] == "pass" and "conv0" in rows.loc["large_beta", "measured"]
    huge_beta = acc("transfer/delta0/conv0/beta1000000.parquet") - acc("pgd/delta0/none.parquet")
    assert rows.loc["large_beta", "value"] == pytest.approx(abs(huge_beta), abs=1e-3)
    assert "| large_delta | rn | 16 |" in (out / "tables/checklist.md").read_text()
    # gradient masking on the quantized cell (conv0 at TINY's only beta, 4): BPDA at delta 128, BPDA-100 at delta 8
    assert rows.loc["bpda_large_delta", "value"] == pytest.approx(acc("bpda/delta128/conv0/beta4.parquet"), abs=1e-3)
    more = acc("bpda/delta8/conv0/beta4.parquet") - acc("bpda5x/delta8/conv0/beta4.parquet")
    assert rows.loc["bpda_more_steps", "value"] == pytest.approx(more, abs=1e-3)
    assert "BPDA_8-100" in rows.loc["bpda_more_steps", "measured"]

    # strict, with a check that must fail (any accuracy at delta 1 is above 0%): the run fails and names it
    work = tmp_path / "wf"
    shutil.copytree(tiny_run, work, symlinks=True)
    res = snakemake(
        work, changed(checklist={"strict": True, "large_delta": {"delta": 1, "max_accuracy": 0}}), "--cores", "2"
    )
    assert res.returncode != 0
    assert "large_delta (rn, eps 16)" in res.stdout + res.stderr
    assert "large_delta (rn, eps 16)" in (work / "results/tiny/logs/checklist/checklist.log").read_text()


def test_lint_prints_no_warning(tmp_path):
    """`snakemake --lint` finds nothing: every rule has its conda environment, no param is a hard-coded path prefix
    of a file (the scripts take the run directory from their outputs), no file mixes rules and functions."""
    res = snakemake_on(tmp_path, ROOT / "config" / "demo.yaml", "--lint")
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-3000:]
    assert "Lints for" not in out, out[-6000:]
    assert "Congratulations, your workflow is in a good condition!" in out, out[-3000:]


def test_retraining_a_model_gives_the_same_weights(tiny_run, tmp_path):
    """Every random draw of a training job is seeded, the initial weights included: a forced rerun of the job
    writes the same model (torch seeds its global generator differently in every process)."""
    work = tmp_path / "wf"
    shutil.copytree(tiny_run, work, symlinks=True)
    target = "results/tiny/models/rn/seed0/eps16/model.pt"
    before = models.load(work / target).state_dict()
    res = snakemake(work, TINY, "--cores", "1", "--forcerun", target, "--until", target)
    assert res.returncode == 0, res.stderr[-3000:]
    after = models.load(work / target).state_dict()
    assert before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)


# ---------------------------------------------------------------------------------------- training seeds

SHARED_DATA = ("prepare_data", "prepare_corruptions")  # the data and its corruptions are every seed's (data.seed)
PER_SEED = ("train", "filter_norms", "evaluate_corruptions", "evaluate_pgd", "evaluate_pgd_steps")
PER_SEED += ("evaluate_quantized", "evaluate_quantized_steps")


def scheduled_outputs(workdir, config, rules) -> dict[str, list[str]]:
    """The output files of every job of ``rules`` a dry run of ``config`` schedules, by rule."""
    res = snakemake(workdir, config, "-n")
    assert res.returncode == 0, res.stderr[-3000:]
    out, current = {}, None
    for line in (res.stdout + res.stderr).splitlines():
        m = re.match(r"(?:local)?(?:rule|checkpoint) (\w+):", line.strip())
        if m:
            current = m.group(1)
        elif line.strip().startswith("output:") and current in rules:
            out.setdefault(current, []).extend(line.strip().removeprefix("output:").strip().split(", "))
    return out


def test_adding_a_seed_schedules_what_a_new_run_would_less_the_shared_data(tiny_run, tmp_path):
    fresh, _ = planned(tmp_path, TINY)  # every job of a new one-seed run
    counts, _ = planned(tiny_run, changed(seeds=[0, 1]))
    assert counts == {rule: n for rule, n in fresh.items() if rule not in SHARED_DATA}
    outputs = scheduled_outputs(tiny_run, changed(seeds=[0, 1]), PER_SEED)
    assert set(outputs) == set(PER_SEED)
    assert all("/seed1/" in f for files in outputs.values() for f in files), outputs


@pytest.fixture(scope="module")
def two_seed_run(tiny_run, tmp_path_factory):
    """The tiny run with a second training seed added (only seed 1's jobs and the aggregates run)."""
    workdir = tmp_path_factory.mktemp("seeds") / "wf"
    shutil.copytree(tiny_run, workdir, symlinks=True)
    res = snakemake(workdir, changed(seeds=[0, 1]), "--cores", "2")
    assert res.returncode == 0, res.stderr[-4000:]
    assert job_counts(res.stdout + res.stderr)["train"] == 2  # seed 1's two models; seed 0's were not retrained
    return workdir


def test_two_seeds_tables_hold_a_row_per_seed_and_show_mean_and_spread(two_seed_run):
    out = two_seed_run / "results/tiny"
    models_table = pd.read_csv(out / "tables/models_rn.csv")
    assert list(models_table["seed"]) == [0, 0, 1, 1] and list(models_table["eps"]) == [0, 16, 0, 16]
    seed0 = pd.read_parquet(out / "eval/rn/seed0/eps16/pgd/delta0/none.parquet")
    seed1 = pd.read_parquet(out / "eval/rn/seed1/eps16/pgd/delta0/none.parquet")
    clean = models_table.set_index(["seed", "eps"])["clean_acc"]
    assert clean[(0, 16)] == pytest.approx(100 * seed0["correct"].mean(), abs=1e-3)
    assert clean[(1, 16)] == pytest.approx(100 * seed1["correct"].mean(), abs=1e-3)
    assert seed0["index"].equals(seed1["index"])  # the same test images for every seed
    md = (out / "tables/models_rn.md").read_text()
    mean, sd = clean.xs(16, level="eps").mean(), clean.xs(16, level="eps").std()
    assert f"{mean:.2f} ± {sd:.2f}" in md and "over 2 training seeds" in md
    quant = pd.read_csv(out / "tables/quantization_rn_bpda_beta4.csv")
    assert list(quant["seed"]) == [0, 0, 1, 1] and list(quant["layer"]) == ["none", "conv0"] * 2
    assert set(pd.read_csv(out / "tables/claims.csv")["n_seeds"]) <= {0, 2}  # one verdict over both seeds
    assert set(pd.read_csv(out / "tables/checklist.csv")["seed"]) == {0, 1}
    assert set(pd.read_csv(out / "tables/filter_norms_rn.csv")["seed"]) == {0, 1}


def test_adding_a_third_seed_schedules_exactly_its_jobs(two_seed_run, tmp_path):
    fresh, _ = planned(tmp_path, TINY)
    counts, _ = planned(two_seed_run, changed(seeds=[0, 1, 2]))
    assert counts == {rule: n for rule, n in fresh.items() if rule not in SHARED_DATA}
    outputs = scheduled_outputs(two_seed_run, changed(seeds=[0, 1, 2]), PER_SEED)
    assert outputs and all("/seed2/" in f for files in outputs.values() for f in files), outputs


def test_removing_a_seed_reruns_only_aggregates(two_seed_run):
    counts, units = planned(two_seed_run, changed(seeds=[0]))
    assert not units and not set(counts) & set(PER_SEED + SHARED_DATA), counts
    assert counts["aggregate_overdesign"] == 1 and counts["claims"] == 1


def own_arch_config(tmp_path, **edits):
    """TINY on an ImageFolder with a torchvision MobileNetV2 (a quarter of its width) and a class of the user's file,
    both quantized at a submodule of their own, trained with TRADES."""
    import synthetic

    synthetic.write_imagefolder(str(tmp_path / "images"))
    (tmp_path / "mynet.py").write_text(synthetic.OWN_NET)
    cfg = changed(
        run="own",
        data={"dataset": "imagefolder", "root": str(tmp_path / "images"), "val_size": 16, "train_size": 256},
        models={
            "mine": {"arch": "mynet.py:Net", "eps": [0, 16], "quant_layers": ["body.2"], "preact_layer": "body.3"},
            "mobile": {
                "arch": "torchvision:mobilenet_v2",
                "arch_kwargs": {"width_mult": 0.25},
                "eps": [0, 16],
                "quant_layers": ["features.3"],
                "train": {"lr": 0.01},  # TRADES at 0.05 diverges on it in the second epoch
            },
        },
        train__method="trades",
        train__epochs=2,
        train__lr_milestones=[1],
        train__standard={"epochs": 2, "batch_size": 32},
        corruptions={"names": ["gaussian_noise"], "severities": [1]},
    )
    return edited(cfg, **edits)


def test_own_architectures_run_end_to_end_with_quantization_at_their_submodules(tmp_path, monkeypatch):
    """A torchvision model and a user's class (issue #24, part 2) on an ImageFolder under TRADES: a dry run plans them
    without importing torch, the run trains, evaluates (PGD, transfer, BPDA at the configured submodules),
    quantizes, measures filter norms and corruptions, and tabulates them like the paper's models."""
    import synthetic

    cfg = own_arch_config(tmp_path)
    assert not dry_run_imports_torch(tmp_path, cfg)
    dry = snakemake(tmp_path, cfg, "-n")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert job_counts(dry.stdout).get("train") == 4
    res = snakemake(tmp_path, cfg, "--cores", "2")
    assert res.returncode == 0, res.stderr[-3000:]
    out = tmp_path / "results" / "own"
    monkeypatch.chdir(tmp_path)  # mynet.py is found relative to the working directory, as in the run
    for name, arch in (("mine", "mynet.py:Net"), ("mobile", "torchvision:mobilenet_v2")):
        model = models.load(out / f"models/{name}/seed0/eps16/model.pt")
        assert model.spec["arch"] == arch and model.spec["num_classes"] == 3
        robust = one_seed(out / f"tables/robust_accuracy_{name}.csv")
        assert robust[["delta8", "delta16"]].apply(lambda c: c.between(0, 100)).all().all()
        norms = pd.read_csv(out / f"tables/filter_norms_{name}.csv")
        assert len(norms) and norms["layer"].str.startswith("net.").all()
        assert (out / f"tables/preact_{name}.csv").exists()
    quant = one_seed(out / "tables/quantization_mine_bpda_beta4.csv")
    assert list(quant["layer"]) == ["none", "body.2"]
    assert "Nothing to be done" in snakemake(tmp_path, cfg, "-n").stdout
    # the user's file is an input of its training: editing the class retrains its models only
    (tmp_path / "mynet.py").write_text(synthetic.OWN_NET.replace("width=4", "width=3"))
    counts = job_counts(snakemake(tmp_path, cfg, "-n").stdout)
    assert counts.get("train") == 2, counts
    # the constructor's arguments alone retrain that model too (beside mine, whose file was edited)
    widened = edited(copy.deepcopy(cfg), models__mobile__arch_kwargs={"width_mult": 0.5})
    assert job_counts(snakemake(tmp_path, widened, "-n").stdout).get("train") == 4


@pytest.mark.parametrize(
    "edit, key",
    [
        ({"models__mine__quant_layers": ["body.9"]}, "models.mine.quant_layers[0]"),
        ({"models__mobile__arch": "torchvision:mobilenet_v9"}, "models.mobile.arch"),
        ({"models__mine__arch": "mynet.py:Nett"}, "models.mine.arch"),
    ],
)
def test_an_own_architecture_that_cannot_work_fails_before_any_job(tmp_path, edit, key):
    """A dry run plans it (the class is not imported), a real run fails in its onstart, naming the key, before the
    data is even prepared."""
    cfg = own_arch_config(tmp_path, **edit)
    assert snakemake(tmp_path, cfg, "-n").returncode == 0
    res = snakemake(tmp_path, cfg, "--cores", "1")
    assert res.returncode != 0 and key in res.stdout + res.stderr, res.stderr[-2000:]
    assert not (tmp_path / "results" / "own" / "data").exists()


# Attacks of the user's (issue #24, part 5): a class of a user's file and torchattacks' FGSM, columns of their own
EXTRA_ATTACKS = {"signs": {"target": "signs.py:RandomSign"}, "fgsm": {"target": "torchattacks:FGSM"}}
EXTRA_UNITS = {(a, d, "none") for a in EXTRA_ATTACKS for d in ("8", "16")}
# what follows any config change that reads no PGD, quantized or checklist cell (the config record, the compute table)
PLAIN_FOLLOWERS = {"run_config": 1, "compute_accounting": 1, "all": 1}


def with_extra_attacks(workdir, **attacks):
    """TINY with ``attacks`` (default: EXTRA_ATTACKS) as eval.extra_attacks, the user's file written in ``workdir``."""
    import synthetic

    (Path(workdir) / "signs.py").write_text(synthetic.OWN_ATTACKS)
    return changed(eval__extra_attacks=attacks or copy.deepcopy(EXTRA_ATTACKS))


def test_a_dry_run_plans_one_unit_per_extra_attack_and_delta_and_their_tables(tmp_path):
    """Planned without torch, beside everything TINY plans: one unit per (attack, delta > 0) over every eps, and the
    tables' aggregate; `snakemake --lint` finds nothing in the rules that exist only then."""
    cfg = with_extra_attacks(tmp_path)
    assert not dry_run_imports_torch(tmp_path, cfg)
    counts, units = planned(tmp_path, cfg)
    plain_counts, plain_units = planned(tmp_path, TINY)
    assert counts == {**plain_counts, "evaluate_extra": 4, "aggregate_attacks": 1}
    assert units == plain_units | EXTRA_UNITS
    lint = snakemake(tmp_path, cfg, "--lint")  # the rules that exist only with extra attacks lint clean too
    assert "Congratulations, your workflow is in a good condition!" in lint.stdout + lint.stderr, lint.stdout[-3000:]


def test_extra_attacks_run_end_to_end_as_tables_of_their_own(tiny_run, tmp_path):
    """Added to a finished run, the extra attacks compute only their own cells (PGD's are not recomputed); each gets a
    robust-accuracy table like PGD's, in the report, and the worst case over PGD and both is at most every one of them,
    cell by cell.
    Their kwargs or their file edited reruns that attack's cells only; an attack that leaves its budget fails its job,
    naming it and the distance, and writes no cell."""
    work = tmp_path / "wf"
    shutil.copytree(tiny_run, work, symlinks=True)
    out = work / "results" / "tiny"
    before = {p: p.stat().st_mtime_ns for p in (out / "eval/rn/seed0").rglob("*") if p.is_file()}
    cfg = with_extra_attacks(work)
    counts, units = planned(work, cfg)
    assert counts == {"evaluate_extra": 4, "aggregate_attacks": 1, **PLAIN_FOLLOWERS}, counts
    assert units == EXTRA_UNITS
    res = snakemake(work, cfg, "--cores", "2")
    assert res.returncode == 0, res.stderr[-3000:]
    assert all(p.stat().st_mtime_ns == t for p, t in before.items())  # no PGD (or other) cell written again
    assert "Nothing to be done" in snakemake(work, cfg, "-n").stdout
    assert snakemake(work, cfg, "--report", str(out / "report.html")).returncode == 0
    html = (out / "report.html").read_text()
    assert all(f"robust_accuracy_rn-{a}.csv" in html for a in ("fgsm", "signs", "worst"))
    read = {a: one_seed(out / f"tables/robust_accuracy_rn{a}.csv").set_index("eps") for a in ("", "-fgsm", "-signs")}
    worst = one_seed(out / "tables/robust_accuracy_rn-worst.csv").set_index("eps")
    clean = one_seed(out / "tables/models_rn.csv").set_index("eps")["clean_acc"]
    for table in read.values():
        assert list(table.columns) == ["delta8", "delta16"] and list(table.index) == [0, 16]
        assert table.apply(lambda c: c.between(0, 100)).all().all()
        assert (worst <= table).all().all()  # guaranteed: an example survives the worst case only if it survives all
    assert (read["-fgsm"].le(clean, axis=0)).all().all()  # FGSM at 8/255 and 16/255 costs these models accuracy
    ci = pd.read_csv(out / "tables/robust_accuracy_rn-worst_ci.csv")
    assert len(ci) == 4 and (ci["ci_low"] <= ci["value"]).all() and (ci["n"] == 64).all()
    # editing one attack's kwargs, or its file, reruns that attack's units only, and they recompute every cell
    scaled = edited(copy.deepcopy(cfg), eval__extra_attacks__signs__kwargs={"scale": 0.5})
    counts, units = planned(work, scaled)
    assert counts == {"evaluate_extra": 2, "aggregate_attacks": 1, **PLAIN_FOLLOWERS}, counts
    assert units == {u for u in EXTRA_UNITS if u[0] == "signs"}
    with open(work / "signs.py", "a") as fh:
        fh.write("# edited\n")
    counts, units = planned(work, cfg)
    assert counts.get("evaluate_extra") == 2 and units == {u for u in EXTRA_UNITS if u[0] == "signs"}, counts
    fgsm = {p: p.stat().st_mtime_ns for p in (out / "eval/rn/seed0").rglob("fgsm/delta*/none.*")}
    assert snakemake(work, cfg, "--cores", "2").returncode == 0
    for delta in (8, 16):
        manifest = yaml.safe_load((out / f"eval/rn/seed0/units/signs/delta{delta}/none.json").read_text())
        assert manifest["computed"] == 2 and manifest["reused"] == 0
    assert len(fgsm) == 4 + 2 and all(p.stat().st_mtime_ns == t for p, t in fgsm.items())  # cells and manifests
    # a user's buggy attack: its job fails naming it and the distance it measured, and no cell of it is written
    buggy = edited(copy.deepcopy(cfg), eval__extra_attacks__bad={"target": "signs.py:Overshoot"})
    res = snakemake(work, buggy, "--cores", "1")
    assert res.returncode != 0
    logs = [p.read_text() for p in out.glob("logs/evaluate_extra/rn_seed0_bad_delta*_none.log")]
    said = [
        re.search(r"extra attack 'bad' at delta (\d+)/255 left its budget: max \|x_adv - x\| = \S+ \((\d+)/255\)", t)
        for t in logs
    ]
    assert any(m and int(m[2]) == 2 * int(m[1]) for m in said), logs  # the distance it measured: twice its budget
    assert not list(out.glob("eval/rn/seed0/eps*/bad"))
