"""profiles/slurm without a cluster: a dry run plans the tiny SLURM workflow with the profile's resources.
(tests/slurm/cluster_test.sh runs the same profile on a real one-node cluster, as root.)"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("slurm-plan")
    env = os.environ | {"ATSPECTRUM_SLURM_PARTITION": "gpu-part", "ATSPECTRUM_SLURM_ACCOUNT": "proj42"}
    res = subprocess.run(
        [
            SNAKEMAKE,
            "-s",
            str(ROOT / "Snakefile"),
            "-d",
            str(workdir),
            "--configfile",
            str(ROOT / "tests" / "slurm" / "config.yaml"),
            "--workflow-profile",
            str(ROOT / "profiles" / "slurm"),
            "-n",
            "results/slurm/tables/overdesign_rn.csv",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return res.stdout + res.stderr


def resources(plan: str, rule: str) -> list[str]:
    """The `resources:` line of each planned job of ``rule``."""
    blocks = re.split(r"\n(?=\s*rule \w+:)", plan)
    return [re.search(r"resources: (.*)", b).group(1) for b in blocks if re.match(rf"\s*rule {rule}:", b)]


def test_partition_account_and_warning_signal_come_from_the_profile(plan):
    for rule in ("prepare_data", "train", "evaluate_pgd", "aggregate_overdesign"):
        for line in resources(plan, rule):
            assert "slurm_partition=gpu-part" in line and "slurm_account=proj42" in line, line
            assert "slurm_extra=--signal=TERM@120" in line, line


def test_gpu_rules_ask_for_one_gpu_and_cpu_rules_for_none(plan):
    assert all("gpu=1" in line for line in resources(plan, "train") + resources(plan, "evaluate_pgd"))
    assert not any("gpu=" in line for line in resources(plan, "prepare_data") + resources(plan, "aggregate_overdesign"))
    assert len(resources(plan, "evaluate_pgd")) == 2 and "Group job" not in plan  # units: delta 0 and 16


def test_array_rules_are_rules_of_the_workflow():
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    text = "".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    rules = {a or b for a, b in re.findall(r"^(?:rule (\w+):|use rule \w+ as (\w+) with:)", text, re.M)}
    arrays = profile["slurm-array-jobs"].split(",")
    assert arrays and set(arrays) <= rules
