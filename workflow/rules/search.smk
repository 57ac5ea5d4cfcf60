# The overdesign search (config overdesign.search; the decision rule lives in atspectrum.evaluation.search).
#
# Per (model, delta) a chain of checkpoints, one per visited eps (delta, delta + step, ...): each reads the previous
# decision and this eps's validation error and writes the next decision, "stop" or "visit eps + step". The result
# rule's input function walks the chain with checkpoints.search_step.get(...), which raises until that step has run,
# so Snakemake plans one visit at a time (a dry run before the search shows only its first step) and every delta's
# chain advances independently. Models and test evaluations are the grid's own (rules train and evaluate_pgd): a
# (model, eps) that the grid also trains is trained once, and a test evaluation the grid also makes is read from its
# unit; one the grid lacks (an eps* beyond the grid) is the search's own (rule evaluate_pgd_cell).
# The input functions (get_search_step_inputs, get_search_result_inputs) are in common.smk.
# The validation split is divided in two disjoint, seeded parts (split_validation): the search measures on one
# (val_search), and while a search is configured every model's training validates and selects its checkpoint on the
# other (val_select; rule train's input, atspectrum.evaluation.search.selection_split).


localrules:
    split_validation,


rule split_validation:
    """The validation split in two disjoint seeded parts: checkpoint selection (train) and the overdesign search."""
    input:
        data_input("val"),
    output:
        select=data_input(atsearch.SELECT_SPLIT),
        search=data_input(atsearch.SEARCH_SPLIT),
    params:
        fraction=get_search_val_fraction,
        seed=config["seed"],
    log:
        f"{R}/logs/split_validation/split_validation.log",
    benchmark:
        f"{R}/benchmarks/split_validation/split_validation.tsv"
    conda:
        ENV
    script:
        "../scripts/search_split.py"


use rule evaluate_pgd_cell as evaluate_pgd_val with:
    # PGD_delta-k on the search part of the VALIDATION split: the overdesign search's measure (the grid's attack)
    input:
        model=P.model_file(R, "{model}", "{eps}"),
        images=data_input(atsearch.SEARCH_SPLIT),
    output:
        atsearch.val_eval_file(R, "{model}", "{delta}", "{eps}"),
    log:
        f"{R}/logs/evaluate_pgd_val/{{model}}_delta{{delta}}_eps{{eps}}.log",
    benchmark:
        f"{R}/benchmarks/evaluate_pgd_val/{{model}}_delta{{delta}}_eps{{eps}}.tsv"


localrules:
    search_step,
    search_result,


checkpoint search_step:
    """One visit of the search: append this eps's validation error to the history and decide (stop, or the next eps)."""
    input:
        unpack(get_search_step_inputs),
    output:
        atsearch.step_file(R, "{model}", "{delta}", "{eps}"),
    params:
        settings=get_search_settings,
    log:
        f"{R}/logs/search_step/{{model}}_delta{{delta}}_eps{{eps}}.log",
    benchmark:
        f"{R}/benchmarks/search_step/{{model}}_delta{{delta}}_eps{{eps}}.tsv"
    conda:
        ENV
    script:
        "../scripts/search_step.py"


rule search_result:
    """The search's outcome: eps*, its PGD_delta test error (Wilson interval) and the gain over eps = delta."""
    input:
        unpack(get_search_result_inputs),
    output:
        atsearch.result_file(R, "{model}", "{delta}"),
    params:
        tests=get_search_test_cells,
    log:
        f"{R}/logs/search_result/{{model}}_delta{{delta}}.log",
    benchmark:
        f"{R}/benchmarks/search_result/{{model}}_delta{{delta}}.tsv"
    conda:
        ENV
    script:
        "../scripts/search_result.py"


rule aggregate_search:
    """The overdesign-search table of one model: one row per searched delta."""
    input:
        results=get_search_aggregate_inputs,
        caption=caption_file("search"),
    output:
        reported(search_outputs("{model}"), "search", "3 overdesign", model="{model}"),
    params:
        steps=config["overdesign"]["attack"]["steps"],
    log:
        f"{R}/logs/aggregate_search/{{model}}.log",
    benchmark:
        f"{R}/benchmarks/aggregate_search/{{model}}.tsv"
    conda:
        ENV
    script:
        "../scripts/search_aggregate.py"
