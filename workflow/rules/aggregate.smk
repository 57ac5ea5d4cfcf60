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
