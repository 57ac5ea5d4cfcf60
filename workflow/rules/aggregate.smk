rule aggregate_overdesign:
    """Section 3: Table 3/4 (clean and PGD_eps accuracy), the eps x delta robust-accuracy table, the overdesign table
    (best eps per delta) and Figure 1 (robust error against eps, one curve per delta)."""
    input:
        unpack(get_overdesign_inputs),
        caption=caption_file("overdesign"),
    output:
        reported(overdesign_outputs("{model}"), "overdesign", "3 overdesign", model="{model}"),
    params:
        eps=get_model_eps,
        deltas=atconfig.overdesign_deltas(config),
        pgd=get_overdesign_pgd_deltas,
        steps=config["overdesign"]["attack"]["steps"],
    log:
        f"{R}/logs/aggregate_overdesign/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/aggregate_overdesign/{{model}}.tsv"
    conda:
        ENV
    script:
        "../scripts/aggregate_overdesign.py"
