# Sections 5 and 6: conv-filter norms; accuracy under common corruptions with the final pre-activation statistics.


rule filter_norms:
    """Per conv layer: mean and max over kernel slices w[o, i, :, :] of max|w| (the paper's L-infinity measure), the
    L-infinity operator norm max_o sum|w[o]| and its BatchNorm-rescaled version (ours)."""
    input:
        P.model_file(R, "{model}", "{eps}"),
    output:
        P.analysis_file(R, "{model}", "{eps}", "filter_norms.csv"),
    log:
        f"{R}/logs/filter_norms/{{model}}_eps{{eps}}.log",
    benchmark:
        f"{R}/benchmarks/filter_norms/{{model}}_eps{{eps}}.tsv"
    conda:
        ENV
    script:
        "../scripts/filter_norms.py"


rule prepare_corruptions:
    """The CIFAR-10-C layout (<corruption>.npy with 5 x N rows by severity, labels.npy) from the test split."""
    input:
        test=data_input("test"),
    output:
        [f"{R}/corruptions/{{dataset}}/{name}.npy" for name in CORRUPTION_NAMES]
        + [f"{R}/corruptions/{{dataset}}/labels.npy"],
    params:
        names=CORRUPTION_NAMES,
        seed=config["seed"],
    threads: 4  # capped at --cores; corruption generation uses numpy/scipy threads
    log:
        f"{R}/logs/prepare_corruptions/{{dataset}}.log",
    benchmark:
        f"{R}/benchmarks/prepare_corruptions/{{dataset}}.tsv"
    conda:
        ENV
    script:
        "../scripts/prepare_corruptions.py"


rule evaluate_corruptions:
    """Accuracy per corruption x severity (per example) and final pre-activation statistics (mean, sign counts per
    corruption x severity, pooled per corruption and overall), one forward pass."""
    input:
        model=P.model_file(R, "{model}", "{eps}"),
        test=data_input("test"),
        corrupted=corruption_files(),
    output:
        frame=P.analysis_file(R, "{model}", "{eps}", "corruptions.parquet"),
        preact=P.analysis_file(R, "{model}", "{eps}", "preact.json"),
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
        f"{R}/logs/evaluate_corruptions/{{model}}_eps{{eps}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate_corruptions/{{model}}_eps{{eps}}.tsv"
    conda:
        ENV
    script:
        "../scripts/evaluate_corruptions.py"


rule aggregate_filter_norms:
    """Figure 2 / 5 (the paper's mean and max filter norm) and our operator-norm figures, per layer against eps."""
    input:
        get_filter_norm_inputs,
    output:
        reported(filter_norm_outputs("{model}"), "filters", "5 filters", model="{model}"),
    params:
        eps=get_model_eps,
    log:
        f"{R}/logs/aggregate_filter_norms/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/aggregate_filter_norms/{{model}}.tsv"
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
        reported(corruption_outputs("{model}"), "corruptions", "6 corruptions", model="{model}"),
    params:
        eps=get_model_eps,
        names=CORRUPTION_NAMES,
        arch=get_model_arch,
    log:
        f"{R}/logs/aggregate_corruptions/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/aggregate_corruptions/{{model}}.tsv"
    conda:
        ENV
    script:
        "../scripts/aggregate_corruptions.py"


rule aggregate_corruption_average:
    """Table 2: average accuracy over every corruption, one row per model, columns eps."""
    input:
        ci=[P.ci_file(R, f"corruptions_{m}") for m in MODELS],
        caption=caption_file("corruptions"),
    output:
        reported(P.table_files(R, "corruptions_average", ci=True), "corruptions", "6 corruptions", model="all"),
    params:
        models=MODELS,
    log:
        f"{R}/logs/aggregate_corruption_average.log",
    benchmark:
        f"{R}/benchmarks/aggregate_corruption_average.tsv"
    conda:
        ENV
    script:
        "../scripts/aggregate_corruption_average.py"
