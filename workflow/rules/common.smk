# Target builders and every function the rules call: their input, params and resources functions are named
# get_<what> and take the job's wildcards; the other rule files hold rules only (no anonymous functions either).
# Logic lives in atspectrum.config / atspectrum.runtime.paths.
import functools

import atspectrum.reporting.accounting as accounting
import atspectrum.reporting.checklist as atchecklist
import atspectrum.reporting.claims as atclaims
import atspectrum.evaluation.units as atunits
import atspectrum.runtime.paths as P
import atspectrum.evaluation.search as atsearch
from snakemake.io import report as report_flag  # `report(` at a line start would parse as the report: directive

R = P.run_dir(config["run"])
DATASET = config["data"]["dataset"]
MODELS = sorted(config["models"])


QUANT = atconfig.quantization_enabled(config)
QUANT_ATTACKS = config["quantization"]["attacks"] if QUANT else []  # tables: may include "worst" (an aggregate)
QUANT_EVAL_ATTACKS = atconfig.quant_eval_attacks(config)  # the attacks with evaluation jobs
CORRUPT = atconfig.corruptions_enabled(config)
CORRUPTION_NAMES = config["corruptions"]["names"] if CORRUPT else []

# Every rule's software: the one pinned environment (envs/atspectrum.yaml lists envs/requirements.txt's pins), used
# with --software-deployment-method conda. A relative conda path is read from the file that defines the rule, so
# this one holds for every rule file in workflow/rules/. The scripts import the atspectrum package from src/ (the
# Snakefile puts it on the jobs' PYTHONPATH), so the environment needs no install of it.
ENV = "../../envs/atspectrum.yaml"

# The evaluation batch size reaches the jobs that evaluate (train's validation included) as a resource, eval_batch,
# read as snakemake.resources.eval_batch, not as a param: it changes no result (a speed knob: the random starts are
# drawn for the whole split at once, see atspectrum.evaluation.evaluate), and Snakemake reruns a job whose params
# change, never one whose resources change, so changing it reruns nothing but the run's config record. The SLURM
# executor makes sbatch options of the resources it knows only (mem_mb, runtime, gpu, slurm_*): not of this one.
EVAL_BATCH = config["eval"]["batch_size"]


wildcard_constraints:
    model="|".join(MODELS),
    eps=r"\d+",
    delta=r"\d+",
    dataset=r"[a-z0-9_]+",
    attack="transfer|bpda|apgd-bpda|worst",
    beta=r"[0-9p]+",
    q=r"none|beta[0-9p]+",


def caption_file(name):
    """The caption ``workflow/report/<name>.rst``: the report shows it with every output ``reported`` under that name,
    and the rule's script heads its tables with it (the rule's input ``caption``, through
    atspectrum.reporting.captions), so each output has one caption. An absolute path: an input path is read from the
    working directory, a report caption from the rule file's directory, and both take this one."""
    return os.path.join(workflow.basedir, "workflow", "report", f"{name}.rst")


def reported(paths, caption, category, **labels):
    """Flag the CSV tables and PNG figures among ``paths`` for ``snakemake --report`` (the rest stay plain), each with
    the caption ``caption_file(caption)``."""
    return [
        (
            report_flag(
                p, caption=caption_file(caption), category=category, labels={"file": os.path.basename(p), **labels}
            )
            if p.endswith((".csv", ".png"))
            else p
        )
        for p in paths
    ]


def data_input(split):
    return P.data_file(R, DATASET, split)


def get_model_eps(w):
    """The model's training strengths (the columns of its tables)."""
    return atconfig.eps_list(config, w.model)


def get_model_arch(w):
    return config["models"][w.model]["arch"]


# train (train.smk)


def get_train_spec(w):
    return atconfig.model_spec(config, w.model)


def get_train_hparams(w):
    return atconfig.train_hparams(config, w.model, int(w.eps))


def get_train_state(w):
    return P.train_state_file(R, w.model, w.eps)


def get_train_runtime(w):
    return atconfig.train_runtime_minutes(config, w.model, int(w.eps))


# Evaluation units (atspectrum.evaluation.units): rules evaluate_pgd (attack.smk), evaluate_quantized (quantize.smk)
# and evaluate_quantized_steps (checklist.smk)


EVAL_UNITS = atunits.plan(config, R)  # every evaluation unit (PGD and quantized) and its (eps, layer) cells


def unit_inputs(files):
    """``files`` with each cell of a unit replaced by the unit's manifest (readers read the cell files)."""
    return atunits.inputs(files, R, EVAL_UNITS)


def eval_unit(w):
    """The unit of an evaluate_pgd / evaluate_quantized(_steps) job; bpda<factor>x is the checklist's more-steps
    BPDA."""
    unit = atunits.of_wildcards(w)
    if unit not in EVAL_UNITS:
        raise WorkflowError(f"no evaluation unit {unit} in this configuration")
    return unit


def get_unit_cells(w):
    """The unit's cells as [eps, layer, file], sorted by eps."""
    unit = eval_unit(w)
    return atunits.cell_files(unit, EVAL_UNITS[unit], R)


def get_unit_eps(w):
    return sorted({cell[0] for cell in EVAL_UNITS[eval_unit(w)]})


def get_unit_attack(w):
    """The unit's attack settings (transfer: those of the cached examples, which its cells' keys depend on)."""
    return atunits.attack_settings(config, eval_unit(w).attack)


def get_unit_runtime(w):
    return atunits.runtime_minutes(config, eval_unit(w).attack, len(get_unit_cells(w)))


def get_unit_inputs(w):
    """Each eps's model, the test split, and for a transfer unit at delta > 0 each eps's cached examples."""
    eps = get_unit_eps(w)
    inputs = {"models": [P.model_file(R, w.model, e) for e in eps], "test": data_input("test")}
    if eval_unit(w).attack == "transfer" and int(w.delta) > 0:
        inputs["adv"] = [P.adv_file(R, w.model, e, w.delta) for e in eps]
    return inputs


# Section 3: the overdesign grid (aggregate.smk) and the checklist's PGD with more steps (checklist.smk)


def get_overdesign_inputs(w):
    """Every PGD evaluation unit of the model's grid and each eps's training metrics."""
    return {
        "evals": unit_inputs(atunits.pgd_files(config, R, w.model)),
        "metrics": [P.model_file(R, w.model, e, "metrics.json") for e in atconfig.eps_list(config, w.model)],
    }


def get_overdesign_pgd_deltas(w):
    """The deltas evaluated at each eps: eps -> [delta, ...]."""
    return {e: atconfig.pgd_deltas(config, w.model, e) for e in atconfig.eps_list(config, w.model)}


def get_more_pgd_steps(w):
    """evaluate_pgd_steps: factor x the grid's PGD steps."""
    return config["overdesign"]["attack"]["steps"] * int(w.factor)


def overdesign_outputs(model):
    return (
        P.table_files(R, f"models_{model}", ci=True)
        + P.table_files(R, f"robust_accuracy_{model}", ci=True)
        + P.table_files(R, f"overdesign_{model}", ci=True)
        + P.figure_files(R, f"robust_error_{model}")
    )


# Section 4: quantization (quantize.smk)


def quant_eval(model, eps, attack, delta, layer, beta=None):
    return P.eval_file(R, model, eps, attack, delta, layer, beta)


def get_transfer_attack(w):
    """The transfer examples' attack settings."""
    return atconfig.quant_attack(config, "transfer")


def get_quant_table_inputs(w):
    """Every evaluation unit of one (model, attack, beta) table: the unquantized row and each layer, for delta > 0;
    the "worst" table reads the evaluations of every other configured attack."""
    return unit_inputs(
        quant_eval(w.model, eps, a, delta, layer, w.beta)
        for a in (QUANT_EVAL_ATTACKS if w.attack == atconfig.WORST else [w.attack])
        for eps in atconfig.eps_list(config, w.model)
        for delta in atconfig.quant_deltas(config, w.attack)
        if delta > 0
        for layer in ["none"] + atconfig.quant_layers(config, w.model)
    )


def get_quant_table_deltas(w):
    """The rows' attack strengths of one (model, attack, beta) table: the attack's deltas above 0."""
    return [d for d in atconfig.quant_deltas(config, w.attack) if d > 0]


def get_quant_layers(w):
    return atconfig.quant_layers(config, w.model)


def get_quant_attack_label(w):
    return atconfig.quant_attack_label(config, w.attack)


def get_quant_worst_of(w):
    """The attacks the "worst" table takes the per-example worst case of (none for any other attack)."""
    return atconfig.quant_eval_attacks(config) if w.attack == atconfig.WORST else []


def get_quant_clean_inputs(w):
    """Every quantization evaluation unit of a model's tables (aggregate_quantization_clean)."""
    return unit_inputs(atunits.table_files(config, R, w.model))


def get_quant_betas(w):
    return atconfig.quant_betas(config)


def quant_outputs(model):
    tables = [
        f
        for attack in QUANT_ATTACKS
        for beta in atconfig.quant_attack_betas(config, attack)
        for f in P.table_files(R, f"quantization_{model}_{attack}_beta{P.beta_token(beta)}", ci=True)
    ]
    return tables + quant_clean_outputs(model)


def quant_clean_outputs(model):
    """Tables 18/19 and the gain heatmaps (one job per model; ``model`` may be the wildcard "{model}")."""
    return P.table_files(R, f"quantization_clean_{model}", ci=True) + [
        P.figure_files(R, f"quantization_gain_{model}_{a}", ("png",))[0] for a in QUANT_ATTACKS
    ]


def corruption_files():
    """The generated corrupted test sets (prepare_corruptions). A configured CIFAR-10-C directory is read through
    params instead: it is checked file by file before the first job (onstart), and a dry run plans without it."""
    if not CORRUPT or config["corruptions"]["root"] is not None:  # no corruptions section: Section 6 is off
        return []
    root = atconfig.corruption_dir(config, R)
    return [f"{root}/{name}.npy" for name in CORRUPTION_NAMES] + [f"{root}/labels.npy"]


# Sections 5 and 6: filter norms and corruptions (analysis.smk)


def get_corruption_dir(w):
    """The corrupted test sets' directory: the configured CIFAR-10-C, or prepare_corruptions' own."""
    return atconfig.corruption_dir(config, R)


def get_filter_norm_inputs(w):
    return [P.analysis_file(R, w.model, e, "filter_norms.csv") for e in atconfig.eps_list(config, w.model)]


def get_corruption_inputs(w):
    """Each eps's per-example corruption frame and pre-activation statistics (aggregate_corruptions)."""
    eps = atconfig.eps_list(config, w.model)
    return {
        "frames": [P.analysis_file(R, w.model, e, "corruptions.parquet") for e in eps],
        "preact": [P.analysis_file(R, w.model, e, "preact.json") for e in eps],
    }


def filter_norm_outputs(model):
    """The filter-norm table and figures of one model (``model`` may be the wildcard "{model}"): the paper's mean
    and max, then our operator norm and BN-rescaled operator norm (aggregate_filter_norms.py relies on this order)."""
    return [f"{R}/tables/filter_norms_{model}.csv"] + [
        P.figure_files(R, f"filter_norms_{model}_{s}", ("png",))[0] for s in ("mean", "max", "op_norm", "op_norm_bn")
    ]


def corruption_outputs(model):
    """The corruption tables, Figure 3's table and figure of one model (``model`` may be "{model}"); the figure last."""
    return (
        P.table_files(R, f"corruptions_{model}", ci=True)
        + P.table_files(R, f"corruptions_severity_{model}", ci=True)
        + P.table_files(R, f"preact_{model}")
        + P.figure_files(R, f"preact_mean_{model}", ("png",))
    )


def search_outputs(model):
    """The overdesign-search table of one model (``model`` may be the wildcard "{model}"; rules in search.smk)."""
    return P.table_files(R, f"overdesign_search_{model}")


# The overdesign search (search.smk)


def get_search_val_fraction(w):
    return atconfig.search_val_fraction(config)


def get_search_settings(w):
    return atconfig.search_settings(config, int(w.delta))


def get_search_aggregate_inputs(w):
    return [atsearch.result_file(R, w.model, d) for d in atconfig.search_deltas(config)]


def get_search_step_inputs(w):
    """A search visit: this eps's validation evaluation and, after the start (eps = delta), the previous decision."""
    settings = atsearch.Settings(**atconfig.search_settings(config, int(w.delta)))
    previous = settings.previous(int(w.eps))  # refuses an eps off the schedule delta + k * step
    inputs = {"val": atsearch.val_eval_file(R, w.model, w.delta, w.eps)}
    if previous is not None:
        inputs["previous"] = atsearch.step_file(R, w.model, w.delta, previous)
    return inputs


def search_walk(w):
    """Every decision of the (model, delta) search up to its stop, and the last. ``checkpoints.search_step.get``
    raises until that visit has run: Snakemake then plans it and asks again."""

    def step_output(eps):
        return checkpoints.search_step.get(model=w.model, delta=w.delta, eps=eps).output[0]

    return atsearch.walk(int(w.delta), step_output)


def search_test_cell(model, eps, delta):
    """The TEST PGD evaluation of (model, eps, delta) the search reads: the grid's cell where a unit evaluates it,
    else the search's own (rule evaluate_pgd_cell)."""
    cell = P.eval_file(R, model, eps, "pgd", delta)
    return cell if atunits.planned(EVAL_UNITS, cell) else atsearch.test_eval_file(R, model, delta, eps)


def search_test_cells(w, last):
    """The TEST evaluations the search with last decision ``last`` reads, of eps* and of eps = delta."""
    return {
        "star": search_test_cell(w.model, last["eps_star"], w.delta),
        "base": search_test_cell(w.model, w.delta, w.delta),
    }


def get_search_test_cells(w):
    return search_test_cells(w, search_walk(w)[1])


def get_search_result_inputs(w):
    """Every decision of the search, then the TEST evaluations of eps* and eps = delta (their units' manifests where
    the grid evaluates them)."""
    steps, last = search_walk(w)
    return {"steps": steps, "tests": unit_inputs(search_test_cells(w, last).values())}


def analysis_outputs(model):
    return (filter_norm_outputs(model) if config["filters"] else []) + (corruption_outputs(model) if CORRUPT else [])


CHECKLIST = atconfig.checklist_settings(config)
CHECKLIST_PLAN = atchecklist.plan(config)  # what the sanity checklist checks (workflow/rules/checklist.smk)


def get_checklist_inputs(w):
    """Every artifact the sanity checklist reads: PGD, quantized and cached transfer evaluations, the test set."""
    files = atchecklist.input_files(CHECKLIST_PLAN, CHECKLIST, R)
    return {"test": data_input("test"), **{kind: unit_inputs(f) for kind, f in files.items()}}


CLAIMS_PLAN = atclaims.plan(config)  # what the claims read (workflow/rules/claims.smk)


def claims_figures():
    """(claim, figure, its copy beside the claim, model) for every figure a claim rests on: the figures of the
    configured sections only (no corruptions section: no C4 figure)."""
    return [
        (claim, src, atclaims.figure_copy(R, claim, src), model)
        for model in MODELS
        for claim, sources in atclaims.figure_sources(CLAIMS_PLAN, R, model).items()
        for src in sources
    ]


def claims_outputs():
    """The claims table (always: C1 needs only the overdesign grid; a claim whose section is off is inconclusive,
    "not run") and the figure copies of the configured sections."""
    return P.table_files(R, "claims") + [copy for _, _, copy, _ in claims_figures()]


def all_targets():
    targets = [f for model in MODELS for f in overdesign_outputs(model)]
    targets += [f for model in atconfig.search_models(config) for f in search_outputs(model)]
    if QUANT:
        targets += [f for model in MODELS for f in quant_outputs(model)]
    targets += [f for model in MODELS for f in analysis_outputs(model)]
    if CORRUPT:
        targets += P.table_files(R, "corruptions_average", ci=True)
    targets += P.table_files(R, "checklist")  # the sanity checklist (workflow/rules/checklist.smk)
    targets += claims_outputs()  # the claims verdicts (workflow/rules/claims.smk)
    return targets


# The grid the compute table projects to: the paper's (config/config.yaml), whatever this run's config is.
PAPER_CONFIG = atconfig.load(os.path.join(workflow.basedir, "config", "config.yaml"), check_data=False)


# The compute table (report.smk): its inputs and params are read when its job is planned, after every rule file is
# included.


def get_compute_inputs(w):
    """Every other target: the compute table runs last, so it sees every job's benchmark."""
    return all_targets()


def get_gpu_rules(w):
    """The rules that declare a GPU."""
    return sorted(r.name for r in workflow.rules if "gpu" in r.resources)


@functools.cache
def paper_units():
    """The paper grid's evaluation units (planned once for both of the compute table's params)."""
    return atunits.plan(PAPER_CONFIG)


def get_paper_grid_jobs(w):
    return accounting.grid_jobs(PAPER_CONFIG, by_attack=True, units=paper_units())


def get_paper_grid_cells(w):
    return accounting.unit_cells(PAPER_CONFIG, paper_units())


def get_run_cells(w):
    return accounting.unit_cells(config, EVAL_UNITS)
