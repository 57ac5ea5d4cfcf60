# Section 4: features quantized at one quantization point (the paper code's tensors, see docs/fidelity.md),
# floor(beta x)/beta, under Transfer PGD and BPDA (the paper's), and, beyond the paper, APGD-BPDA and the per-example
# worst case over every attack run on a cell ("worst", an aggregate). The evaluations are units (evaluate.smk).


rule aggregate_quantization:
    """Table 1 / 6-17 for one (model, attack, beta): rows delta x layer (unquantized first), columns eps; a row per
    seed in the CSV, mean and spread over seeds in Markdown / LaTeX."""
    input:
        evals=get_quant_table_inputs,
        caption=caption_file("quantization"),
    output:
        reported(
            paths.table_files(RUN_DIR, "quantization_{model}_{attack}_beta{beta}", ci=True),
            "quantization",
            "4 quantization",
            model="{model}",
        ),
    params:
        cells=get_quant_table_cells,
        label=get_quant_attack_label,
        worst_of=get_quant_worst_of,
        stats=config["stats"],
    log:
        f"{RUN_DIR}/logs/aggregate_quantization/{{model}}_{{attack}}_beta{{beta}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/aggregate_quantization/{{model}}_{{attack}}_beta{{beta}}.tsv"
    conda:
        ENV
    script:
        "../scripts/aggregate_quantization.py"


rule aggregate_quantization_clean:
    """Tables 18/19: clean accuracy after quantization, rows beta x layer, columns eps; and the gain heatmaps."""
    input:
        evals=get_quant_clean_inputs,
        caption=caption_file("quantization"),
    output:
        reported(outputs.quant_clean_outputs(PLAN, "{model}"), "quantization", "4 quantization", model="{model}"),
    params:
        cells=get_quant_clean_cells,
        attacks=QUANT_ATTACKS,
        worst_of=PLAN.eval_attacks if atconfig.WORST in QUANT_ATTACKS else [],
        attack_betas={a: atconfig.quant_attack_betas(config, a) for a in QUANT_ATTACKS},
        stats=config["stats"],
    log:
        f"{RUN_DIR}/logs/aggregate_quantization_clean/{{model}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/aggregate_quantization_clean/{{model}}.tsv"
    conda:
        ENV
    script:
        "../scripts/aggregate_quantization_clean.py"
