# atspectrum: adversarial training at a spectrum of perturbation strengths (Sridhar et al., 2022).
# Run the paper grid:   snakemake --cores 8 --resources gpu=4
# Run the demo:         snakemake --cores 2 --configfile config/demo.yaml   (or: make demo)
# Rules stay thin: every computation lives in the atspectrum package (src/atspectrum).
import os
import sys

# `snakemake --lint` prints no warning (tests/test_workflow.py checks it): every rule names its software environment
# (conda: ENV, the pinned envs/atspectrum.yaml, used with --software-deployment-method conda); no param holds a path
# under the run directory: the aggregates, the checklist, the claims and the compute table take results/<run> from
# their own outputs (atspectrum.runtime.paths.run_root), and every file they read there by key ((eps, delta, layer)
# -> file) is also declared as an input, except the benchmark files the compute table reads (no rule declares them);
# the rule files hold rules only, their functions are in workflow/rules/common.smk.

# The atspectrum package comes from src/, installed or not: planning imports it here, and every job (local, or a
# SLURM job, which inherits this environment) finds it on PYTHONPATH, also inside the rules' conda environment.
# atspectrum's own folder: this file's, also when a user's Snakefile elsewhere imports the workflow as a module
# (workflow.basedir would be the user's folder then)
ATSPECTRUM_DIR = workflow.current_basedir
SRC = os.path.join(ATSPECTRUM_DIR, "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)
if os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] != SRC:
    os.environ.update(PYTHONPATH=os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p))

from snakemake.utils import min_version, validate

min_version("9.0")

# A --configfile replaces the paper config instead of being merged into it (a merge would keep the paper's models).
# Imported as a module, the importing Snakefile's `config:` is the configuration (Snakemake skips this then).
if not workflow.overwrite_configfiles:

    configfile: os.path.join(ATSPECTRUM_DIR, "config", "config.yaml")


import atspectrum.config as atconfig

SCHEMA = os.path.join(ATSPECTRUM_DIR, "workflow", "schemas", "config.schema.yaml")

# Clear messages naming the offending key first, then Snakemake's own validation (which also fills defaults).
try:
    atconfig.validate(config, SCHEMA, check_data=False)
except atconfig.ConfigError as exc:
    raise WorkflowError(f"invalid configuration: {exc}") from None
validate(config, SCHEMA)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/quantize.smk"
include: "workflow/rules/analysis.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/search.smk"
include: "workflow/rules/checklist.smk"
include: "workflow/rules/claims.smk"
include: "workflow/rules/report.smk"  # last: the compute table waits for every other target


rule all:
    default_target: True
    input:
        all_targets(),
        f"{RUN_DIR}/config_used.yaml",
        paths.table_files(RUN_DIR, "compute"),


onstart:
    # Before the first job (not in a dry run, which only plans): every input a later job reads, unless already
    # prepared: the dataset files (every missing one named), and a configured CIFAR-10-C directory complete, well
    # formed and holding the corrupted versions of exactly the test images evaluated (atconfig.check_inputs).
    # A CUDA device asked for must exist where the jobs run: checked here when they run on this machine (on SLURM the
    # jobs run elsewhere, and each checks its own device).
    try:
        atconfig.check_before_jobs(config, workflow.local_exec)
    except atconfig.ConfigError as exc:
        raise WorkflowError(f"invalid configuration: {exc}") from None
