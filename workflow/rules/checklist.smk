# The sanity checklist (tables/checklist): does every attack behind the tables work? See atspectrum.reporting.checklist.
# Its extra evaluations (atspectrum.planning.checklist) join the grid's units (PGD at a very large delta, the very
# large beta, BPDA at the very large delta and with more steps on the gradient-masking cells), except PGD with more
# steps (rule evaluate_pgd_steps); it runs on every training seed.


rule checklist:
    """Sanity checks of every grid, each pass / fail with its numbers and tolerance; fails only when strict."""
    input:
        unpack(get_checklist_inputs),
        caption=caption_file("checklist"),
    output:
        reported(paths.table_files(RUN_DIR, "checklist"), "checklist", "0 checklist"),
    params:
        plan=PLAN.checklist,
        settings=PLAN.checklist_settings,
        seeds=SEEDS,
    log:
        f"{RUN_DIR}/logs/checklist/checklist.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/checklist/checklist.tsv"
    conda:
        ENV
    script:
        "../scripts/checklist.py"
