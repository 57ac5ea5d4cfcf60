# Section 4: features quantized at one quantization point (the paper code's tensors, see docs/fidelity.md),
# floor(beta x)/beta, under Transfer PGD and BPDA (the paper's), and,
# beyond the paper, APGD-BPDA and the per-example worst case over every attack run on a cell ("worst", an aggregate).
# Jobs are units per (model, attack, delta, q), q = none or beta<beta>, each evaluating every (eps, layer) cell
# (atspectrum.evaluation.units): adding a beta or a delta schedules only its units, an attack's settings reach only its
# units, and the per-cell files are the cache (a rerun or a unit that failed half-way recomputes no finished cell).


rule transfer_examples:
    """PGD_delta against the unquantized model, once per (model, eps, delta), stored in full precision."""
    input:
        model=P.model_file(R, "{model}", "{eps}"),
        test=data_input("test"),
    output:
        P.adv_file(R, "{model}", "{eps}", "{delta}"),
    params:
        attack=get_transfer_attack,
        seed=config["seed"],
        device=config["device"],
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=60,
        eval_batch=EVAL_BATCH,
    log:
        f"{R}/logs/transfer_examples/{{model}}_eps{{eps}}_delta{{delta}}.log",
    benchmark:
        f"{R}/benchmarks/transfer_examples/{{model}}_eps{{eps}}_delta{{delta}}.tsv"
    conda:
        ENV
    script:
        "../scripts/transfer_examples.py"


rule evaluate_quantized:
    """One unit (atspectrum.evaluation.units): every (eps, layer) cell of one (model, attack, delta, q), q = none or
    beta<beta> (rule evaluate_pgd is this rule on attack pgd: PGD against the plain model, every eps). Transfer: the cached examples classified by the quantized model; BPDA: PGD through the
    straight-through quantizer at the layer and beta, verdict by the real quantizer; APGD-BPDA: APGD with CE and DLR
    through the straight-through quantizer, verdict by the real one. Each cell is written at once, with its key, to
    its own file (the cache: a rerun reuses every cell whose key matches); the output is the unit's manifest."""
    wildcard_constraints:
        attack="transfer|bpda|apgd-bpda",
    input:
        unpack(get_unit_inputs),
    output:
        P.unit_file(R, "{model}", "{attack}", "{delta}", "{q}"),
    params:
        cells=get_unit_cells,
        eps=get_unit_eps,
        attack=get_unit_attack,
        seed=config["seed"],
        device=config["device"],
    resources:
        gpu=1,
        mem_mb=8000,
        runtime=get_unit_runtime,
        eval_batch=EVAL_BATCH,
    log:
        f"{R}/logs/evaluate_{{attack}}/{{model}}_delta{{delta}}_{{q}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate_{{attack}}/{{model}}_delta{{delta}}_{{q}}.tsv"
    conda:
        ENV
    script:
        "../scripts/evaluate_quantized.py"


rule aggregate_quantization:
    """Table 1 / 6-17 for one (model, attack, beta): rows delta x layer (unquantized first), columns eps."""
    input:
        get_quant_table_inputs,
        caption=caption_file("quantization"),
    output:
        reported(
            P.table_files(R, "quantization_{model}_{attack}_beta{beta}", ci=True),
            "quantization",
            "4 quantization",
            model="{model}",
        ),
    params:
        eps=get_model_eps,
        deltas=get_quant_table_deltas,
        layers=get_quant_layers,
        label=get_quant_attack_label,
        worst_of=get_quant_worst_of,
        stats=config["stats"],
    log:
        f"{R}/logs/aggregate_quantization/{{model}}_{{attack}}_beta{{beta}}.log",
    benchmark:
        f"{R}/benchmarks/aggregate_quantization/{{model}}_{{attack}}_beta{{beta}}.tsv"
    conda:
        ENV
    script:
        "../scripts/aggregate_quantization.py"


rule aggregate_quantization_clean:
    """Tables 18/19: clean accuracy after quantization, rows beta x layer, columns eps; and the gain heatmaps."""
    input:
        get_quant_clean_inputs,
        caption=caption_file("quantization"),
    output:
        reported(quant_clean_outputs("{model}"), "quantization", "4 quantization", model="{model}"),
    params:
        eps=get_model_eps,
        layers=get_quant_layers,
        betas=get_quant_betas,
        deltas={a: atconfig.quant_deltas(config, a) for a in QUANT_ATTACKS},
        worst_of=QUANT_EVAL_ATTACKS if atconfig.WORST in QUANT_ATTACKS else [],
        attack_betas={a: atconfig.quant_attack_betas(config, a) for a in QUANT_ATTACKS},
        stats=config["stats"],
    log:
        f"{R}/logs/aggregate_quantization_clean/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/aggregate_quantization_clean/{{model}}.tsv"
    conda:
        ENV
    script:
        "../scripts/aggregate_quantization_clean.py"
