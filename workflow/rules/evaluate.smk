# Every evaluation rule. The grid's evaluations run in units (atspectrum.planning.Plan.units): one job per
# (model, seed, attack, delta, q) evaluates every (eps, layer) cell of it, q = none or beta<beta>. For example the
# unit
#     results/<run>/eval/rn/seed0/units/bpda/delta8/beta4.json            (its output: the manifest)
# computes the cells
#     results/<run>/eval/rn/seed0/eps<eps>/bpda/delta8/<layer>/beta4.parquet   (one per eps x quantization point)
# and lists each with its key in the manifest; every reader declares manifests and reads its cells through them
# (atspectrum.planning.CellIndex). The cells are the cache: a rerun computes only cells whose key changed.
# A PGD unit (attack pgd, q none) computes each PGD example set once: its cells are also BPDA's and transfer's
# unquantized cells when those attacks have the grid's PGD settings (readers then declare the PGD unit), and it
# writes the cached transfer examples of its delta (the manifest's "adv"); with other transfer settings rule
# transfer_examples makes them. Single cells outside the units: evaluate_pgd_cell (the search's test evaluation of
# an eps* beyond the grid), evaluate_pgd_val (the search's validation evaluations) and evaluate_pgd_steps (the
# checklist's PGD with more steps).


rule evaluate_quantized:
    """One unit of the quantized tables: transfer (the cached examples classified by the quantized model), BPDA (PGD
    through the straight-through quantizer, verdict by the real one) or APGD-BPDA (APGD with CE and DLR through the
    straight-through quantizer)."""
    wildcard_constraints:
        attack="transfer|bpda|apgd-bpda",
    input:
        unpack(get_unit_inputs),
    output:
        planning.Unit("{model}", "{seed}", "{attack}", "{delta}", "{q}").file(RUN_DIR),
    params:
        cells=get_unit_cells,
        eps=get_unit_eps,
        attack=get_unit_attack,
        adv=get_unit_adv,
        device=config["device"],
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=get_unit_runtime,
        eval_batch=EVAL_BATCH,
    log:
        f"{RUN_DIR}/logs/evaluate_{{attack}}/{{model}}_seed{{seed}}_delta{{delta}}_{{q}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/evaluate_{{attack}}/{{model}}_seed{{seed}}_delta{{delta}}_{{q}}.tsv"
    conda:
        ENV
    script:
        "../scripts/evaluate_unit.py"


use rule evaluate_quantized as evaluate_pgd with:
    # PGD against the plain model, every eps at one delta (Section 3's grid, the checklist's very large delta)
    output:
        planning.Unit("{model}", "{seed}", "{attack,pgd}", "{delta}", "{q,none}").file(RUN_DIR),


use rule evaluate_quantized as evaluate_quantized_steps with:
    # the checklist's BPDA with factor x the steps (same step size) on the gradient-masking cells: attack bpda<factor>x
    output:
        planning.Unit("{model}", "{seed}", "{attack,bpda[0-9]+x}", "{delta}", "{q}").file(RUN_DIR),
    log:
        f"{RUN_DIR}/logs/evaluate_quantized_steps/{{model}}_seed{{seed}}_{{attack}}_delta{{delta}}_{{q}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/evaluate_quantized_steps/{{model}}_seed{{seed}}_{{attack}}_delta{{delta}}_{{q}}.tsv"


if EXTRA_ATTACKS:  # defined only then: a run without them keeps its rules (and the compute table's GPU rules)

    use rule evaluate_quantized as evaluate_extra with:
        # an attack of the user's (eval.extra_attacks) on the plain model, every eps at one delta, like PGD's units
        output:
            planning.Unit("{model}", "{seed}", "{attack,%s}" % "|".join(EXTRA_ATTACKS), "{delta}", "{q,none}").file(
                RUN_DIR
            ),
        log:
            f"{RUN_DIR}/logs/evaluate_extra/{{model}}_seed{{seed}}_{{attack}}_delta{{delta}}_{{q}}.log",
        benchmark:
            f"{RUN_DIR}/benchmarks/evaluate_extra/{{model}}_seed{{seed}}_{{attack}}_delta{{delta}}_{{q}}.tsv"


rule transfer_examples:
    """PGD_delta against the unquantized model, once per (model, seed, eps, delta), stored in full precision: only
    when transfer's settings differ from the grid's PGD (otherwise the PGD unit writes them)."""
    input:
        model=model_file("{model}", "{seed}", "{eps}"),
        test=data_input("test"),
    output:
        paths.adv_file(RUN_DIR, "{model}", "{seed}", "{eps}", "{delta}", "transfer"),
    params:
        attack=PLAN.settings("transfer") if "transfer" in PLAN.eval_attacks else {},
        device=config["device"],
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=60,
        eval_batch=EVAL_BATCH,
    log:
        f"{RUN_DIR}/logs/transfer_examples/{{model}}_seed{{seed}}_eps{{eps}}_delta{{delta}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/transfer_examples/{{model}}_seed{{seed}}_eps{{eps}}_delta{{delta}}.tsv"
    conda:
        ENV
    script:
        "../scripts/transfer_examples.py"


rule evaluate_pgd_cell:
    """PGD_delta-k against one unquantized model; per-example correctness and prediction. ``images`` is the split
    attacked: the test split here (the search's eps* beyond the grid), the validation split in evaluate_pgd_val."""
    input:
        model=model_file("{model}", "{seed}", "{eps}"),
        images=data_input("test"),
    output:
        search.test_eval_file(RUN_DIR, "{model}", "{seed}", "{delta}", "{eps}"),
    params:
        attack=PLAN.settings(planning.PGD),
        device=config["device"],
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=60,
        eval_batch=EVAL_BATCH,
    log:
        f"{RUN_DIR}/logs/evaluate_pgd_cell/{{model}}_seed{{seed}}_eps{{eps}}_delta{{delta}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/evaluate_pgd_cell/{{model}}_seed{{seed}}_eps{{eps}}_delta{{delta}}.tsv"
    conda:
        ENV
    script:
        "../scripts/evaluate_pgd_cell.py"


use rule evaluate_pgd_cell as evaluate_pgd_val with:
    # PGD_delta-k on the VALIDATION split (the grid's attack): the overdesign search's measure and what C1 picks its
    # eps* on; the search's part of the split while a search is configured, else the whole split
    input:
        model=model_file("{model}", "{seed}", "{eps}"),
        images=data_input(search.SEARCH_SPLIT if atconfig.search_enabled(config) else "val"),
    output:
        paths.val_eval_file(RUN_DIR, "{model}", "{seed}", "{delta}", "{eps}"),
    log:
        f"{RUN_DIR}/logs/evaluate_pgd_val/{{model}}_seed{{seed}}_delta{{delta}}_eps{{eps}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/evaluate_pgd_val/{{model}}_seed{{seed}}_delta{{delta}}_eps{{eps}}.tsv"


use rule evaluate_pgd_cell as evaluate_pgd_steps with:
    # the checklist's PGD with factor x the grid's steps (same step size): attack pgd<factor>x
    output:
        planning.eval_path(RUN_DIR, "{model}", "{seed}", "{eps}", "pgd{factor,[0-9]+}x", "{delta}"),
    params:
        attack=get_more_pgd_steps,
        device=config["device"],
    log:
        f"{RUN_DIR}/logs/evaluate_pgd_steps/{{model}}_seed{{seed}}_eps{{eps}}_delta{{delta}}_x{{factor}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/evaluate_pgd_steps/{{model}}_seed{{seed}}_eps{{eps}}_delta{{delta}}_x{{factor}}.tsv"
