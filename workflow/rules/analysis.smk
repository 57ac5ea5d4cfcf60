# Sections 5 and 6: conv-filter norms; accuracy under common corruptions with the final pre-activation statistics.


rule filter_norms:
    """Per conv layer: mean and max over kernel slices w[o, i, :, :] of max|w| (the paper's L-infinity measure), the
    L-infinity operator norm max_o sum|w[o]| and its BatchNorm-rescaled version (ours)."""
    input:
        model_file("{model}", "{seed}", "{eps}"),
    output:
        paths.analysis_file(RUN_DIR, "{model}", "{seed}", "{eps}", "filter_norms.csv"),
    log:
        f"{RUN_DIR}/logs/filter_norms/{{model}}_seed{{seed}}_eps{{eps}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/filter_norms/{{model}}_seed{{seed}}_eps{{eps}}.tsv"
    conda:
        ENV
    script:
        "../scripts/filter_norms.py"


rule prepare_corruptions:
    """The CIFAR-10-C layout (<corruption>.npy with 5 x N rows by severity, labels.npy) from the test split: the same
    corrupted images for every training seed (data.seed)."""
    input:
        test=data_input("test"),
    output:
        [f"{RUN_DIR}/corruptions/{{dataset}}/{name}.npy" for name in CORRUPTION_NAMES]
        + [f"{RUN_DIR}/corruptions/{{dataset}}/labels.npy"],
    params:
        names=CORRUPTION_NAMES,
        seed=config["data"]["seed"],
    threads: 4  # capped at --cores; corruption generation uses numpy/scipy threads
    log:
        f"{RUN_DIR}/logs/prepare_corruptions/{{dataset}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/prepare_corruptions/{{dataset}}.tsv"
    conda:
        ENV
    script:
        "../scripts/prepare_corruptions.py"


rule evaluate_corruptions:
    """Accuracy per corruption x severity (per example) and final pre-activation statistics (mean, sign counts per
    corruption x severity, pooled per corruption and overall), one forward pass."""
    input:
        model=model_file("{model}", "{seed}", "{eps}"),
        test=data_input("test"),
        corrupted=corruption_files(),
    output:
        frame=paths.analysis_file(RUN_DIR, "{model}", "{seed}", "{eps}", "corruptions.parquet"),
        preact=paths.analysis_file(RUN_DIR, "{model}", "{seed}", "{eps}", "preact.json"),
    params:
        root=get_corruption_dir,
        names=CORRUPTION_NAMES,
        severities=config["corruptions"]["severities"] if CORRUPT else [],
        test_size=config["corruptions"]["test_size"] if CORRUPT else None,
        device=config["device"],
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=60,
        eval_batch=EVAL_BATCH,
    log:
        f"{RUN_DIR}/logs/evaluate_corruptions/{{model}}_seed{{seed}}_eps{{eps}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/evaluate_corruptions/{{model}}_seed{{seed}}_eps{{eps}}.tsv"
    conda:
        ENV
    script:
        "../scripts/evaluate_corruptions.py"


rule aggregate_filter_norms:
    """Figure 2 / 5 (the paper's mean and max filter norm) and our operator-norm figures, per layer against eps (the
    mean over seeds, with their spread)."""
    input:
        get_filter_norm_inputs,
    output:
        reported(outputs.filter_norm_outputs(RUN_DIR, "{model}"), "filters", "5 filters", model="{model}"),
    params:
        runs=get_model_runs,
    log:
        f"{RUN_DIR}/logs/aggregate_filter_norms/{{model}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/aggregate_filter_norms/{{model}}.tsv"
    conda:
        ENV
    script:
        "../scripts/aggregate_filter_norms.py"


rule aggregate_corruptions:
    """Tables 20/21 (per corruption, best and second best marked), a per-severity table, Figure 3 (pre-activations:
    the paper code's severity-5 statistic and its text's all-severity one) with its table."""
    input:
        unpack(get_corruption_inputs),
        caption=caption_file("corruptions"),
    output:
        reported(outputs.corruption_outputs(RUN_DIR, "{model}"), "corruptions", "6 corruptions", model="{model}"),
    params:
        runs=get_model_runs,
        names=CORRUPTION_NAMES,
        arch=get_model_arch,
    log:
        f"{RUN_DIR}/logs/aggregate_corruptions/{{model}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/aggregate_corruptions/{{model}}.tsv"
    conda:
        ENV
    script:
        "../scripts/aggregate_corruptions.py"


rule aggregate_corruption_average:
    """Table 2: average accuracy over every corruption, one row per model, columns eps."""
    input:
        ci=[paths.ci_file(RUN_DIR, f"corruptions_{m}") for m in MODELS],
        caption=caption_file("corruptions"),
    output:
        reported(
            paths.table_files(RUN_DIR, "corruptions_average", ci=True), "corruptions", "6 corruptions", model="all"
        ),
    params:
        models=MODELS,
    log:
        f"{RUN_DIR}/logs/aggregate_corruption_average.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/aggregate_corruption_average.tsv"
    conda:
        ENV
    script:
        "../scripts/aggregate_corruption_average.py"
