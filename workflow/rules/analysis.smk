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
        root=lambda w: atconfig.corruption_dir(config, R),
        names=CORRUPTION_NAMES,
        severities=config["corruptions"]["severities"] if CORRUPT else [],
        test_size=config["corruptions"]["test_size"] if CORRUPT else None,
        device=config["device"],
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=60,
    log:
        f"{R}/logs/evaluate_corruptions/{{model}}_eps{{eps}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate_corruptions/{{model}}_eps{{eps}}.tsv"
    script:
        "../scripts/evaluate_corruptions.py"


rule aggregate_filter_norms:
    """Figure 2 / 5 (the paper's mean and max filter norm) and our operator-norm figures, per layer against eps."""
    input:
        lambda w: [P.analysis_file(R, w.model, e, "filter_norms.csv") for e in atconfig.eps_list(config, w.model)],
    output:
        reported(filter_norm_outputs("{model}"), "filters", "5 filters", model="{model}"),
    params:
        eps=lambda w: atconfig.eps_list(config, w.model),
    log:
        f"{R}/logs/aggregate_filter_norms/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/aggregate_filter_norms/{{model}}.tsv"
    script:
        "../scripts/aggregate_filter_norms.py"


rule aggregate_corruptions:
    """Tables 20/21 (per corruption, best and second best marked), a per-severity table, Figure 3 (pre-activations:
    the paper code's severity-5 statistic and its text's all-severity one) with its table."""
    input:
        frames=lambda w: [
            P.analysis_file(R, w.model, e, "corruptions.parquet") for e in atconfig.eps_list(config, w.model)
        ],
        preact=lambda w: [P.analysis_file(R, w.model, e, "preact.json") for e in atconfig.eps_list(config, w.model)],
    output:
        reported(corruption_outputs("{model}"), "corruptions", "6 corruptions", model="{model}"),
    params:
        eps=lambda w: atconfig.eps_list(config, w.model),
        names=CORRUPTION_NAMES,
        arch=lambda w: config["models"][w.model]["arch"],
        root=R,
    log:
        f"{R}/logs/aggregate_corruptions/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/aggregate_corruptions/{{model}}.tsv"
    script:
        "../scripts/aggregate_corruptions.py"


rule aggregate_corruption_average:
    """Table 2: average accuracy over every corruption, one row per model, columns eps."""
    input:
        [P.ci_file(R, f"corruptions_{m}") for m in MODELS],
    output:
        reported(P.table_files(R, "corruptions_average", ci=True), "corruptions", "6 corruptions", model="all"),
    params:
        models=MODELS,
        root=R,
    log:
        f"{R}/logs/aggregate_corruption_average.log",
    benchmark:
        f"{R}/benchmarks/aggregate_corruption_average.tsv"
    script:
        "../scripts/aggregate_corruption_average.py"
