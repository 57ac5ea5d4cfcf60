# The paper's four claims tested on this run (atspectrum.reporting.claims): tables/claims with a verdict per claim, model and
# part, and the report's first category, where each claim sits beside copies of the figures it rests on (a file
# shows in one report category only, so the section figures are copied rather than flagged twice).

# Snakemake's HTML report lists categories sorted by name (localeCompare): "0 all claims" sorts before "0 checklist"
# and "0 run" (tests/test_claims.py checks it against every category the rules declare).
CLAIMS_CATEGORY = "0 all claims"


rule claims:
    """C1 overdesign, C2 quantization, C3 filter norms, C4 corruptions: holds / does not hold / inconclusive, each
    with its statistic (exact McNemar, sign test, Kendall tau, least-squares slope) and its numbers in words."""
    input:
        data=unit_inputs(atclaims.input_files(CLAIMS_PLAN, R)),
        figures=[src for _, src, _, _ in claims_figures()],
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
            for f in P.table_files(R, "claims")
        ]
        + [
            report_flag(
                copy,
                caption=caption_file("claims_figure"),
                category=CLAIMS_CATEGORY,
                subcategory=f"{claim} {atclaims.CLAIMS[claim]}",
                labels={"model": model, "file": os.path.basename(src)},
            )
            for claim, src, copy, model in claims_figures()
        ],
    params:
        plan=CLAIMS_PLAN,
        figures=[(src, copy) for _, src, copy, _ in claims_figures()],
    log:
        f"{R}/logs/claims.log",
    benchmark:
        f"{R}/benchmarks/claims.tsv"
    conda:
        ENV
    script:
        "../scripts/claims.py"
