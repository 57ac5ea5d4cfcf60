rule evaluate_pgd:
    """PGD_delta-k against the unquantized model; per-example correctness and prediction (delta 0: clean).
    ``images`` is the split attacked: the test split here, the validation split in evaluate_pgd_val."""
    input:
        model=P.model_file(R, "{model}", "{eps}"),
        images=data_input("test"),
    output:
        P.eval_file(R, "{model}", "{eps}", "pgd", "{delta}"),
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
        f"{R}/logs/evaluate_pgd/{{model}}_eps{{eps}}_delta{{delta}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate_pgd/{{model}}_eps{{eps}}_delta{{delta}}.tsv"
    conda:
        ENV
    script:
        "../scripts/evaluate_pgd.py"
