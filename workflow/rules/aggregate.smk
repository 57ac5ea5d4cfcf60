rule aggregate_overdesign:
    """Section 3: Table 3/4 (clean and PGD_eps accuracy), the eps x delta robust-accuracy table, the overdesign table
    (best eps per delta) and Figure 1 (robust error against eps, one curve per delta), per seed and over seeds."""
    input:
        unpack(get_overdesign_inputs),
        caption=caption_file("overdesign"),
    output:
        reported(outputs.overdesign_outputs(RUN_DIR, "{model}"), "overdesign", "3 overdesign", model="{model}"),
    params:
        cells=get_overdesign_cells,
        deltas=get_overdesign_deltas,
        steps=config["overdesign"]["attack"]["steps"],
    log:
        f"{RUN_DIR}/logs/aggregate_overdesign/{{model}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/aggregate_overdesign/{{model}}.tsv"
    conda:
        ENV
    script:
        "../scripts/aggregate_overdesign.py"


if EXTRA_ATTACKS:

    rule aggregate_attacks:
        """The user's attacks (eval.extra_attacks): one robust-accuracy table per attack (rows eps, columns delta, as
        PGD's robust_accuracy_<model>) and the per-example worst case over PGD and every one of them."""
        input:
            evals=get_attack_table_inputs,
            caption=caption_file("attacks"),
        output:
            reported(outputs.attack_outputs(PLAN, "{model}"), "attacks", "3 overdesign", model="{model}"),
        params:
            cells=get_attack_table_cells,
            attacks=EXTRA_ATTACKS,
            targets=get_attack_targets,
            deltas=get_overdesign_deltas,
            overdesign={"attack": {"steps": config["overdesign"]["attack"]["steps"]}},
            stats=config["stats"],
        log:
            f"{RUN_DIR}/logs/aggregate_attacks/{{model}}.log",
        benchmark:
            f"{RUN_DIR}/benchmarks/aggregate_attacks/{{model}}.tsv"
        conda:
            ENV
        script:
            "../scripts/aggregate_attacks.py"
