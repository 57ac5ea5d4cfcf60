rule aggregate_overdesign:
    """Section 3: Table 3/4 (clean and PGD_eps accuracy), the eps x delta robust-accuracy table, the overdesign table
    (best eps per delta) and Figure 1 (robust error against eps, one curve per delta)."""
    input:
        evals=lambda w: pgd_eval_targets(w.model),
        metrics=lambda w: [P.model_file(R, w.model, e, "metrics.json") for e in atconfig.eps_list(config, w.model)],
    output:
        reported(overdesign_outputs("{model}"), "overdesign", "3 overdesign", model="{model}"),
    params:
        root=R,
        eps=lambda w: atconfig.eps_list(config, w.model),
        deltas=atconfig.overdesign_deltas(config),
        pgd=lambda w: {e: atconfig.pgd_deltas(config, w.model, e) for e in atconfig.eps_list(config, w.model)},
        steps=config["overdesign"]["attack"]["steps"],
    log:
        f"{R}/logs/aggregate_overdesign/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/aggregate_overdesign/{{model}}.tsv"
    script:
        "../scripts/aggregate_overdesign.py"
