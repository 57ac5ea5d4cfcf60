rule prepare_data:
    """The dataset as compact uint8 arrays with a fixed, seeded train/validation split (read once, here)."""
    output:
        train=paths.data_file(RUN_DIR, "{dataset}", "train"),
        val=paths.data_file(RUN_DIR, "{dataset}", "val"),
        test=paths.data_file(RUN_DIR, "{dataset}", "test"),
    params:
        **atconfig.datasets.prepare_params(config["data"]),
        root=config["data"]["root"],
        download=config["data"]["download"],
        val_size=config["data"]["val_size"],
        train_size=config["data"]["train_size"],
        test_size=config["data"]["test_size"],
        seed=config["data"]["seed"],
    log:
        f"{RUN_DIR}/logs/prepare_data/{{dataset}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/prepare_data/{{dataset}}.tsv"
    conda:
        ENV
    script:
        "../scripts/prepare_data.py"
