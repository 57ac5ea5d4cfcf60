# The sanity checklist (tables/checklist): does every attack behind the tables work? See atspectrum.reporting.checklist.
# Its extra evaluations reuse the evaluation rules: evaluate_pgd at a very large delta (its own unit),
# evaluate_pgd_steps (evaluate_pgd_cell with factor x the steps, attack token pgd<factor>x) and evaluate_quantized
# (transfer, delta 0, at a very large beta) — at the largest eps of each model unless checklist.<check>.eps: all —
# and, on the gradient-masking cells (checklist.masking: first quantization points, headline beta), evaluate_quantized
# (BPDA at the very large delta) and evaluate_quantized_steps (BPDA with factor x the steps, token bpda<factor>x).
# What it reads: get_checklist_inputs (common.smk), from atspectrum.reporting.checklist.plan.


use rule evaluate_pgd_cell as evaluate_pgd_steps with:
    output:
        P.eval_file(R, "{model}", "{eps}", r"pgd{factor,[0-9]+}x", "{delta}"),
    params:
        steps=get_more_pgd_steps,
    log:
        f"{R}/logs/evaluate_pgd_steps/{{model}}_eps{{eps}}_delta{{delta}}_x{{factor}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate_pgd_steps/{{model}}_eps{{eps}}_delta{{delta}}_x{{factor}}.tsv"


use rule evaluate_quantized as evaluate_quantized_steps with:
    # BPDA with factor x the steps (same step size) on the gradient-masking cells, attack token bpda<factor>x
    output:
        P.unit_file(R, "{model}", "{attack,bpda}{factor,[0-9]+}x", "{delta}", "{q}"),
    log:
        f"{R}/logs/evaluate_quantized_steps/{{model}}_{{attack}}{{factor}}x_delta{{delta}}_{{q}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate_quantized_steps/{{model}}_{{attack}}{{factor}}x_delta{{delta}}_{{q}}.tsv"


rule checklist:
    """Sanity checks of every grid, each pass / fail with its numbers and tolerance; fails only when strict."""
    input:
        unpack(get_checklist_inputs),
        caption=caption_file("checklist"),
    output:
        reported(P.table_files(R, "checklist"), "checklist", "0 checklist"),
    params:
        plan=CHECKLIST_PLAN,
        settings=CHECKLIST,
    log:
        f"{R}/logs/checklist/checklist.log",
    benchmark:
        f"{R}/benchmarks/checklist/checklist.tsv"
    conda:
        ENV
    script:
        "../scripts/checklist.py"
