# atspectrum: adversarial training at a spectrum of perturbation strengths (Sridhar et al., 2022).
# Run the paper grid:   snakemake --cores 8 --resources gpu=4
# Run the demo:         snakemake --cores 2 --configfile config/demo.yaml   (or: make demo)
# Rules stay thin: every computation lives in the atspectrum package (src/atspectrum).
import os

# `snakemake --lint` leaves two kinds of warnings, on purpose:
# - "Specify a conda environment or container for each rule": every rule runs in the one pinned environment of
#   envs/requirements.txt (installed by `make venv`; envs/atspectrum.yaml mirrors it for conda users), because every
#   script imports the atspectrum package; per-rule environments would each need that package installed again.
# - "Param root is a prefix of input or output file but hardcoded": aggregate rules (and the checklist and claims)
#   get the run directory (results/<run>, from the config's `run`) to read evaluations by key ((eps, delta, layer) ->
#   file) rather than by their position in the input list; every file they read is also declared as an input
#   (compute_accounting reads the benchmark files, which Snakemake writes beside the jobs and no rule declares).

from snakemake.utils import min_version, validate

min_version("9.0")

# A --configfile replaces the paper config instead of being merged into it (a merge would keep the paper's models).
if not workflow.overwrite_configfiles:

    configfile: os.path.join(workflow.basedir, "config", "config.yaml")


import atspectrum.config as atconfig

SCHEMA = os.path.join(workflow.basedir, "workflow", "schemas", "config.schema.yaml")

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
include: "workflow/rules/attack.smk"
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
        f"{R}/config_used.yaml",
        P.table_files(R, "compute"),


onstart:
    # Before the first job (not in a dry run, which only plans): every input a later job reads, unless already
    # prepared: the dataset files (every missing one named), and a configured CIFAR-10-C directory complete, well
    # formed and holding the corrupted versions of exactly the test images evaluated (atconfig.check_inputs).
    try:
        prepared = all(os.path.exists(data_input(s)) for s in ("train", "val", "test"))
        atconfig.check_inputs(config, data_input("test") if prepared else None)
    except atconfig.ConfigError as exc:
        raise WorkflowError(f"invalid configuration: {exc}") from None
