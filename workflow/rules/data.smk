rule prepare_data:
    """The dataset as compact uint8 arrays with a fixed, seeded train/validation split (read once, here)."""
    output:
        train=P.data_file(R, "{dataset}", "train"),
        val=P.data_file(R, "{dataset}", "val"),
        test=P.data_file(R, "{dataset}", "test"),
    params:
        root=config["data"]["root"],
        download=config["data"]["download"],
        val_size=config["data"]["val_size"],
        train_size=config["data"]["train_size"],
        test_size=config["data"]["test_size"],
        seed=config["seed"],
    log:
        f"{R}/logs/prepare_data/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/prepare_data/{{dataset}}.tsv"
    conda:
        ENV
    script:
        "../scripts/prepare_data.py"
