"""Running the workflow through the snakemake CLI from tests: a config written beside the run, the dry-run job table."""

import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


def snakemake(workdir, config, *args):
    """``snakemake`` on the project's Snakefile in ``workdir`` with ``config`` (a dict, or YAML text written as
    given) as its only config file."""
    cfg = Path(workdir) / "config.yaml"
    cfg.write_text(config if isinstance(config, str) else yaml.safe_dump(config))
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--configfile", str(cfg), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def snakemake_on(workdir, configfile, *args):
    """``snakemake`` on the project's Snakefile in ``workdir`` with an existing config file (e.g. config/demo.yaml)."""
    cmd = [SNAKEMAKE, "-s", str(ROOT / "Snakefile"), "-d", str(workdir), "--configfile", str(configfile), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900)


def job_counts(output: str) -> dict[str, int]:
    """The 'job count' table of a dry run: rule → number of jobs."""
    counts = {}
    for line in output.splitlines():
        m = re.fullmatch(r"\s*([a-z_]+)\s+(\d+)\s*", line)
        if m and m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts


def reordered(value):
    """``value`` with every dict's keys in reverse order: the same configuration, spelled otherwise."""
    if isinstance(value, dict):
        return {k: reordered(v) for k, v in reversed(list(value.items()))}
    return [reordered(v) for v in value] if isinstance(value, list) else value


def one_seed(path, **read_options):
    """A table of a one-seed run as it reads without its ``seed`` column (which must say seed 0 on every row)."""
    import pandas as pd

    frame = pd.read_csv(path, **read_options)
    assert list(frame.columns)[0] == "seed" and (frame["seed"] == 0).all(), path
    return frame.drop(columns="seed")
