rule train:
    """Standard training (eps 0) or PGD-AT at eps/255; resumes from the last epoch's state after an interruption."""
    input:
        train=data_input("train"),
        val=data_input(atsearch.selection_split(atconfig.search_enabled(config))),  # not the search's images
    output:
        model=P.model_file(R, "{model}", "{eps}"),
        log=P.model_file(R, "{model}", "{eps}", "train_log.csv"),
        metrics=P.model_file(R, "{model}", "{eps}", "metrics.json"),
    params:
        spec=lambda w: atconfig.model_spec(config, w.model),
        hp=lambda w: atconfig.train_hparams(config, w.model, int(w.eps)),
        state=lambda w: P.train_state_file(R, w.model, w.eps),
        device=config["device"],
    resources:
        gpu=1,
        mem_mb=16000,
        runtime=lambda w: atconfig.train_runtime_minutes(config, w.model, int(w.eps)),
    log:
        f"{R}/logs/train/{{model}}_eps{{eps}}.log",
    benchmark:
        f"{R}/benchmarks/train/{{model}}_eps{{eps}}.tsv"
    script:
        "../scripts/train.py"
