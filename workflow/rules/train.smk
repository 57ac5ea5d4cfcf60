rule train:
    """Standard training (eps 0) or PGD-AT at eps/255 at one training seed; resumes from the last epoch's state after
    an interruption."""
    input:
        train=data_input("train"),
        val=data_input(search.selection_split(atconfig.search_enabled(config))),  # not the search's images
        arch=get_arch_files,  # an architecture in a file of the user's: editing it retrains its models
    output:
        model=model_file("{model}", "{seed}", "{eps}"),
        log=model_file("{model}", "{seed}", "{eps}", "train_log.csv"),
        metrics=model_file("{model}", "{seed}", "{eps}", "metrics.json"),
    params:
        spec=get_train_spec,
        hp=get_train_hparams,
        state=paths.train_state_file(RUN_DIR, "{model}", "{seed}", "{eps}"),
        device=config["device"],
    # before any evaluation: the evaluation units wait for every model of their grid, so training first keeps the GPUs
    # (or cores) busy to the end instead of leaving the last model's training and its units for last
    priority: 10
    resources:
        gpu=1,
        mem_mb=16000,
        runtime=get_train_runtime,
        eval_batch=EVAL_BATCH,
    log:
        f"{RUN_DIR}/logs/train/{{model}}_seed{{seed}}_eps{{eps}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/train/{{model}}_seed{{seed}}_eps{{eps}}.tsv"
    conda:
        ENV
    script:
        "../scripts/train.py"
