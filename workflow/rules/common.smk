# Target builders and the input / params / resources functions that look something up: named get_<what>, they take
# the job's wildcards. Everything they enumerate comes from one plan (atspectrum.planning.Plan): the only place that
# lists the grid's cells, groups them into units and maps a cell to its file. The other rule files hold rules only.
import functools

import atspectrum.planning as planning
import atspectrum.planning.heal as heal
import atspectrum.planning.jobs as planned_jobs
import atspectrum.planning.outputs as outputs
import atspectrum.runtime.paths as paths
import atspectrum.evaluation.search as search
import atspectrum.planning.claims as planned_claims
from atspectrum.strengths import TOKEN_RE as STRENGTH_RE, strength
from snakemake.logging import logger as snakemake_logger
from snakemake.io import report as report_flag  # `report(` at a line start would parse as the report: directive

RUN_DIR = paths.run_dir(config["run"])
DATASET = config["data"]["dataset"]
PLAN = planning.Plan(config, RUN_DIR)
# A plain rerun heals (docs/running.md, "Damaged results"): a unit manifest whose cell or transfer files changed, or a
# checkpoint or transfer file that is no complete archive, is removed (moved aside) before Snakemake plans, so this
# run recomputes exactly that; jobs (and SLURM jobs) re-parse this file and must not.
if workflow.is_main_process:
    heal.heal(PLAN, log=snakemake_logger.warning)
MODELS = PLAN.models
SEEDS = PLAN.seeds
QUANT_ATTACKS = outputs.quant_attacks(PLAN)  # may include "worst" (an aggregate)
EXTRA_ATTACKS = PLAN.extra_attacks  # the user's (eval.extra_attacks): their rules exist only when there are some
CORRUPT = atconfig.corruptions_enabled(config)
CORRUPTION_NAMES = config["corruptions"]["names"] if CORRUPT else []

# Every rule's software: the one pinned environment (envs/atspectrum.yaml lists envs/requirements.txt's pins), used
# with --software-deployment-method conda. A relative conda path is read from the file that defines the rule, so
# this one holds for every rule file in workflow/rules/. The scripts import the atspectrum package from src/ (the
# Snakefile puts it on the jobs' PYTHONPATH), so the environment needs no install of it.
ENV = "../../envs/atspectrum.yaml"

# The evaluation batch size reaches the jobs as a resource (eval_batch), not a param: it changes no result (the
# random starts are drawn for the whole split at once), and Snakemake reruns a job whose params change, never one
# whose resources change. The SLURM executor makes sbatch options of the resources it knows only.
EVAL_BATCH = config["eval"]["batch_size"]


wildcard_constraints:
    model="|".join(MODELS),
    seed=r"\d+",
    eps=STRENGTH_RE,
    delta=STRENGTH_RE,
    dataset=r"[a-z0-9_]+",
    attack="transfer|bpda|apgd-bpda|worst",
    beta=r"[0-9p]+",
    q=r"none|beta[0-9p]+",


def caption_file(name):
    """The caption ``workflow/report/<name>.rst``: the report shows it with every output ``reported`` under that name,
    and the rule's script heads its tables with it. An absolute path (read from the working directory as an input,
    from the rule file's directory as a report caption)."""
    return os.path.join(ATSPECTRUM_DIR, "workflow", "report", f"{name}.rst")


def reported(files, caption, category, **labels):
    """Flag the CSV tables and PNG figures among ``files`` for ``snakemake --report``, each with its caption."""
    return [
        (
            report_flag(
                f, caption=caption_file(caption), category=category, labels={"file": os.path.basename(f), **labels}
            )
            if f.endswith((".csv", ".png"))
            else f
        )
        for f in files
    ]


def data_input(split):
    return paths.data_file(RUN_DIR, DATASET, split)


def model_file(model, seed, eps, name="model.pt"):
    return paths.model_file(RUN_DIR, model, seed, eps, name)


def cell_dicts(cells):
    return [c.as_dict() for c in cells]


# train (train.smk)


def get_train_spec(w):
    return atconfig.model_spec(config, w.model)


def get_arch_files(w):
    return atconfig.arch_files(config, w.model)


def get_train_hparams(w):
    return atconfig.train_hparams(config, w.model, strength(w.eps), int(w.seed))


def get_train_runtime(w):
    return atconfig.train_runtime_minutes(config, w.model, strength(w.eps))


# Evaluation units (evaluate.smk): rules evaluate_pgd, evaluate_quantized, evaluate_quantized_steps, evaluate_extra


def job_unit(w):
    unit = planning.Unit(w.model, int(w.seed), w.attack, strength(w.delta), w.q)
    if unit not in PLAN.units:
        raise WorkflowError(f"no evaluation unit {unit} in this configuration")
    return unit


def get_unit_cells(w):
    """The unit's cells and their files, sorted by eps."""
    return [[c.as_dict(), c.path(RUN_DIR)] for c in PLAN.units[job_unit(w)]]


def get_unit_eps(w):
    return sorted({c.eps for c in PLAN.units[job_unit(w)]})


def get_unit_attack(w):
    return PLAN.settings(w.attack)


def get_unit_adv(w):
    """[eps, file] of the transfer examples a PGD unit writes."""
    unit = job_unit(w)
    return [[e, paths.adv_file(RUN_DIR, unit.model, unit.seed, e, unit.delta)] for e in PLAN.unit_adv(unit)]


def get_unit_runtime(w):
    return planned_jobs.runtime_minutes(PLAN, w.attack, len(PLAN.units[job_unit(w)]))


def get_unit_inputs(w):
    """Each eps's model, the test split, for a transfer unit at delta > 0 where its examples come from, and for an
    attack of the user's given as path/to/file.py:ClassName its file (editing it reruns that attack's units)."""
    eps = get_unit_eps(w)
    inputs = {"models": [model_file(w.model, w.seed, e) for e in eps], "test": data_input("test")}
    if w.attack == "transfer" and strength(w.delta) > 0:
        inputs["adv"] = sorted({PLAN.adv_source(w.model, int(w.seed), e, strength(w.delta)) for e in eps})
    if w.attack in PLAN.extra_attacks and atconfig.extra_attack_files(config, w.attack):
        inputs["attack_file"] = atconfig.extra_attack_files(config, w.attack)
    return inputs


# Section 3: the overdesign grid (aggregate.smk)


def get_overdesign_inputs(w):
    return {
        "evals": PLAN.inputs(PLAN.overdesign_grid(w.model)),
        "metrics": [model_file(w.model, s, e, "metrics.json") for s, e in PLAN.runs(w.model)],
    }


def get_more_pgd_steps(w):
    """evaluate_pgd_steps: the grid's PGD with factor x the steps."""
    return PLAN.settings(planning.more_steps_attack(w.factor))


def get_overdesign_deltas(w):
    """The overdesign grid's delta as the model's strengths (L2 radii for an L2 model)."""
    return atconfig.overdesign_deltas(config, w.model)


def get_overdesign_cells(w):
    return cell_dicts(PLAN.overdesign_grid(w.model))


# The user's attacks (eval.extra_attacks) as tables of their own (aggregate.smk)


def get_attack_table_inputs(w):
    return PLAN.inputs(PLAN.attack_tables(w.model))


def get_attack_table_cells(w):
    return cell_dicts(PLAN.attack_tables(w.model))


def get_attack_targets(w):
    return {a: PLAN.settings(a)["target"] for a in PLAN.extra_attacks}


# Section 4: quantization (quantize.smk)


def quant_table_cells(w):
    return PLAN.quant_table(w.model, w.attack, paths.beta_value(w.beta))


def get_quant_table_inputs(w):
    return PLAN.inputs(quant_table_cells(w))


def get_quant_table_cells(w):
    return cell_dicts(quant_table_cells(w))


def get_quant_attack_label(w):
    return atconfig.quant_attack_label(config, w.attack)


def get_quant_worst_of(w):
    """The attacks the "worst" table takes the per-example worst case of (none for any other attack)."""
    return PLAN.eval_attacks if w.attack == atconfig.WORST else []


def get_quant_clean_inputs(w):
    return PLAN.inputs(PLAN.quant_grid(w.model))


def get_quant_clean_cells(w):
    return cell_dicts(PLAN.quant_grid(w.model))


def corruption_files():
    """The generated corrupted test sets (prepare_corruptions). A configured CIFAR-10-C directory is read through
    params instead: it is checked file by file before the first job (onstart), and a dry run plans without it; a
    replaced file there reruns the corruption evaluations through the heal at start (atspectrum.planning.heal)."""
    if not CORRUPT or config["corruptions"]["root"] is not None:
        return []
    root = atconfig.corruption_dir(config, RUN_DIR)
    return [f"{root}/{name}.npy" for name in CORRUPTION_NAMES] + [f"{root}/labels.npy"]


# Sections 5 and 6: filter norms and corruptions (analysis.smk)


def get_corruption_dir(w):
    return atconfig.corruption_dir(config, RUN_DIR)


def get_model_arch(w):
    return config["models"][w.model]["arch"]


def get_model_runs(w):
    return [list(r) for r in PLAN.runs(w.model)]


def get_filter_norm_inputs(w):
    return [paths.analysis_file(RUN_DIR, w.model, s, e, "filter_norms.csv") for s, e in PLAN.runs(w.model)]


def get_corruption_inputs(w):
    """Each (seed, eps)'s per-example corruption frame and pre-activation statistics."""
    runs = PLAN.runs(w.model)
    return {
        "frames": [paths.analysis_file(RUN_DIR, w.model, s, e, "corruptions.parquet") for s, e in runs],
        "preact": [paths.analysis_file(RUN_DIR, w.model, s, e, "preact.json") for s, e in runs],
    }


# The overdesign search (search.smk)


def get_search_val_fraction(w):
    return atconfig.search_val_fraction(config)


def get_search_settings(w):
    return atconfig.search_settings(config, int(w.delta))


def get_search_aggregate_inputs(w):
    return [search.result_file(RUN_DIR, w.model, s, d) for s, d in PLAN.search_runs()]


def get_search_step_inputs(w):
    """A search visit: this eps's validation evaluation and, after the start (eps = delta), the previous decision."""
    settings = search.Settings(**atconfig.search_settings(config, int(w.delta)))
    previous = settings.previous(int(w.eps))  # refuses an eps off the schedule delta + k * step
    inputs = {"val": search.val_eval_file(RUN_DIR, w.model, w.seed, w.delta, w.eps)}
    if previous is not None:
        inputs["previous"] = search.step_file(RUN_DIR, w.model, w.seed, w.delta, previous)
    return inputs


def search_walk(w):
    """Every decision of the (model, seed, delta) search up to its stop, and the last. ``checkpoints.search_step.get``
    raises until that visit has run: Snakemake then plans it and asks again."""

    def step_output(eps):
        return checkpoints.search_step.get(model=w.model, seed=w.seed, delta=w.delta, eps=eps).output[0]

    return search.walk(int(w.delta), step_output)


def search_test_cell(w, eps):
    """The TEST PGD cell of (model, seed, eps, delta) the search reads: the grid's where a unit computes it, else the
    search's own file (rule evaluate_pgd_cell)."""
    cell = planning.Cell(w.model, int(w.seed), int(eps), planning.PGD, int(w.delta))
    return cell if PLAN.unit_of(cell) is not None else None


def search_tests(w, last):
    """The TEST evaluations the search reads (eps* and eps = delta): {name: (cell dict or None, declared file)}."""
    out = {}
    for name, eps in (("star", last["eps_star"]), ("base", int(w.delta))):
        cell = search_test_cell(w, eps)
        if cell is None:
            out[name] = (None, search.test_eval_file(RUN_DIR, w.model, w.seed, w.delta, eps))
        else:
            out[name] = (cell.as_dict(), PLAN.inputs([cell])[0])
    return out


def get_search_tests(w):
    return search_tests(w, search_walk(w)[1])


def get_search_result_inputs(w):
    steps, last = search_walk(w)
    return {"steps": steps, "tests": sorted({f for _, f in search_tests(w, last).values()})}


# The sanity checklist (checklist.smk) and the claims (claims.smk)


def get_checklist_inputs(w):
    """Every evaluation the sanity checklist reads (every seed), the transfer examples it judges, the test set."""
    cells, adv = PLAN.checklist_reads()
    sources = sorted({PLAN.adv_source(*a) for a in adv})
    return {"test": data_input("test"), "evals": PLAN.inputs(cells), "adv": sources}


def all_targets():
    """Every table and figure, and every checkpoint and transfer file (a missing one is made again: heal.artifacts)."""
    return outputs.targets(PLAN) + heal.artifacts(PLAN)


# The grid the compute table projects to: the paper's (config/config.yaml), whatever this run's config is.
PAPER_CONFIG = atconfig.load(os.path.join(ATSPECTRUM_DIR, "config", "config.yaml"), check_data=False)


def get_compute_inputs(w):
    """Every table and figure: the compute table runs last, so it sees every job's benchmark (the checkpoints,
    manifests and data that are targets too are upstream of these)."""
    return outputs.targets(PLAN)


def get_gpu_rules(w):
    """The rules that declare a GPU."""
    return sorted(r.name for r in workflow.rules if "gpu" in r.resources)


@functools.cache
def paper_plan():
    """The paper grid's plan (built once for both of the compute table's params)."""
    return planning.Plan(PAPER_CONFIG)


def get_paper_grid_jobs(w):
    return planned_jobs.grid_jobs(paper_plan(), by_attack=True)


def get_paper_grid_cells(w):
    return planned_jobs.unit_cells(paper_plan())


def get_run_cells(w):
    return planned_jobs.unit_cells(PLAN)
