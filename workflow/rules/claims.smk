# The paper's four claims tested on this run (atspectrum.reporting.claims): tables/claims with a verdict per claim,
# model, part and training seed, and the report's first category, where each claim sits beside copies of the figures
# it rests on (a file shows in one report category only, so the section figures are copied rather than flagged twice).

# Snakemake's HTML report lists categories sorted by name (localeCompare): "0 all claims" sorts before "0 checklist"
# and "0 run" (tests/test_claims.py checks it against every category the rules declare).
CLAIMS_CATEGORY = "0 all claims"
CLAIMS_PLAN = planned_claims.plan(config)
CLAIMS_VAL = [(m, s, d, e, paths.val_eval_file(RUN_DIR, m, s, d, e)) for m, s, d, e in planned_claims.val_runs(PLAN)]
CLAIMS_CORRUPTIONS = [
    (m, s, e, paths.analysis_file(RUN_DIR, m, s, e, "corruptions.parquet"))
    for m, s, e in planned_claims.corruption_runs(PLAN)
]


rule claims:
    """C1 overdesign, C2 quantization, C3 filter norms, C4 corruptions: one primary endpoint per claim and model over
    every seed, its effect and 95% interval (hierarchical paired bootstrap), the margin, the verdict (Holm over the
    family) and the verdict on the paper's own tables; the secondary parts in claims_details."""
    input:
        evals=PLAN.inputs(planned_claims.cells(PLAN)),
        val=[f for *_, f in CLAIMS_VAL],
        corruptions=[f for *_, f in CLAIMS_CORRUPTIONS],
        tables=planned_claims.table_inputs(CLAIMS_PLAN, RUN_DIR),
        figures=[src for _, src, _, _ in planned_claims.claims_figures(PLAN)],
        caption=caption_file("claims"),
    output:
        [
            (
                report_flag(
                    f,
                    caption=caption_file("claims"),
                    category=CLAIMS_CATEGORY,
                    subcategory="0 verdicts",
                    labels={"model": "all", "file": os.path.basename(f)},
                )
                if f.endswith(".csv")
                else f
            )
            for f in paths.table_files(RUN_DIR, "claims")
        ]
        + paths.table_files(RUN_DIR, "claims_details")
        + [
            report_flag(
                copy,
                caption=caption_file("claims_figure"),
                category=CLAIMS_CATEGORY,
                subcategory=f"{claim} {planned_claims.CLAIMS[claim]}",
                labels={"model": model, "file": os.path.basename(src)},
            )
            for claim, src, copy, model in planned_claims.claims_figures(PLAN)
        ],
    params:
        plan=CLAIMS_PLAN,
        cells=[c.as_dict() for c in planned_claims.cells(PLAN)],
        val=CLAIMS_VAL,
        corruptions=CLAIMS_CORRUPTIONS,
        figures=[(src, copy) for _, src, copy, _ in planned_claims.claims_figures(PLAN)],
    log:
        f"{RUN_DIR}/logs/claims.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/claims.tsv"
    conda:
        ENV
    script:
        "../scripts/claims.py"
