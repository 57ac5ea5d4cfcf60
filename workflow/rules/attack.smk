# Section 3: PGD_delta-k against the unquantized models. The overdesign grid's evaluations (and the checklist's very
# large delta) run in units (atspectrum.evaluation.units), one job per (model, delta) evaluating every eps of it: rule
# evaluate_pgd, the unit rule of quantize.smk on attack pgd. A single cell outside the units is rule
# evaluate_pgd_cell: the overdesign search's test evaluation of an eps* beyond the grid, and, derived from it, the
# search's validation evaluations (evaluate_pgd_val) and the checklist's PGD with more steps (evaluate_pgd_steps).


use rule evaluate_quantized as evaluate_pgd with:
    # one unit per (model, delta): every eps of the overdesign grid at that delta (its cells: eval/<model>/eps<eps>/
    # pgd/delta<delta>/none.parquet)
    output:
        P.unit_file(R, "{model}", "{attack,pgd}", "{delta}", "{q,none}"),


rule evaluate_pgd_cell:
    """PGD_delta-k against one unquantized model; per-example correctness and prediction. ``images`` is the split
    attacked: the test split here, the validation split in evaluate_pgd_val."""
    input:
        model=P.model_file(R, "{model}", "{eps}"),
        images=data_input("test"),
    output:
        atsearch.test_eval_file(R, "{model}", "{delta}", "{eps}"),
    params:
        steps=config["overdesign"]["attack"]["steps"],
        step_factor=config["overdesign"]["attack"]["step_factor"],
        random_start=config["overdesign"]["attack"]["random_start"],
        seed=config["seed"],
        device=config["device"],
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=60,
        eval_batch=EVAL_BATCH,
    log:
        f"{R}/logs/evaluate_pgd_cell/{{model}}_eps{{eps}}_delta{{delta}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate_pgd_cell/{{model}}_eps{{eps}}_delta{{delta}}.tsv"
    conda:
        ENV
    script:
        "../scripts/evaluate_pgd.py"
