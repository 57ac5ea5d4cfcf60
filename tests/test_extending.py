"""A user's own Snakefile in another folder imports atspectrum's workflow as a Snakemake module, reuses its rules and
adds one reading the per-example results (issue #24, part 6; the worked example of docs/extending.md)."""

import shutil
import subprocess

import pandas as pd
import pytest
import yaml
from workflow_run import ROOT, SNAKEMAKE

from atspectrum import data

EXAMPLE = ROOT / "examples" / "module"

pytestmark = pytest.mark.skipif(
    data.default_root("fashion_mnist") is None,
    reason="needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)",
)


def run(folder, *args, config=None):
    """The example's Snakefile, copied into ``folder`` (elsewhere than atspectrum) with the module pointing back;
    its config, or ``config``."""
    snakefile = folder / "Snakefile"
    snakefile.write_text(
        (EXAMPLE / "Snakefile").read_text().replace('"../../Snakefile"', repr(str(ROOT / "Snakefile")))
    )
    if config is None:
        shutil.copyfile(EXAMPLE / "config.yaml", folder / "config.yaml")
    else:
        (folder / "config.yaml").write_text(yaml.safe_dump(config))
    cmd = [SNAKEMAKE, "-s", str(snakefile), "-d", str(folder), "--configfile", str(folder / "config.yaml"), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def test_the_module_plans_atspectrums_rules_and_the_users_own(tmp_path):
    res = run(tmp_path, "-n")
    assert res.returncode == 0, res.stderr[-3000:]
    out = res.stdout + res.stderr
    for rule in ("atspectrum_train", "atspectrum_evaluate_pgd", "atspectrum_claims", "pgd_accuracy"):
        assert f"rule {rule}:" in out, rule


def test_a_bad_input_fails_before_any_job_under_the_module_too(tmp_path):
    """Snakemake runs only the importing Snakefile's onstart: the example's calls atspectrum's checks."""
    config = yaml.safe_load((EXAMPLE / "config.yaml").read_text())
    config["data"]["root"] = str(tmp_path / "no-such-dir")
    res = run(tmp_path, "--cores", "1", config=config)
    assert res.returncode != 0 and "data.root" in res.stderr + res.stdout
    assert not (tmp_path / "results").exists()


@pytest.mark.slow
def test_the_users_rule_reads_the_per_example_results_of_the_module(tmp_path):
    res = run(tmp_path, "--cores", "2")
    assert res.returncode == 0, res.stderr[-3000:]
    run_dir = tmp_path / "results" / yaml.safe_load((EXAMPLE / "config.yaml").read_text())["run"]
    mine = pd.read_csv(run_dir / "mine/pgd_accuracy.csv").set_index("eps")["accuracy"]
    table = pd.read_csv(run_dir / "tables/robust_accuracy_rn.csv").set_index("eps")["delta8"]
    assert list(mine.index) == [0, 8]
    assert mine.round(2).equals(table.round(2))  # the same cells as atspectrum's own table
    assert "Nothing to be done" in run(tmp_path, "-n").stdout
