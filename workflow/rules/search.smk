# The overdesign search (config overdesign.search; the decision rule lives in atspectrum.evaluation.search).
#
# Per (model, seed, delta) a chain of checkpoints, one per visited eps (delta, delta + step, ...): each reads the
# previous decision and this eps's validation error and writes the next decision, "stop" or "visit eps + step". The
# result rule's input function walks the chain with checkpoints.search_step.get(...), which raises until that step has
# run, so Snakemake plans one visit at a time and every chain advances independently. Models and test evaluations are
# the grid's own (rules train and evaluate_pgd): a test evaluation the grid also makes is read through its unit's
# manifest; one the grid lacks (an eps* beyond the grid) is the search's own (rule evaluate_pgd_cell).
# The validation split is divided in two disjoint parts by data.seed (split_validation): the search measures on one
# (val_search), and while a search is configured every model's training selects its checkpoint on the other.


localrules:
    split_validation,


rule split_validation:
    """The validation split in two disjoint seeded parts: checkpoint selection (train) and the overdesign search."""
    input:
        data_input("val"),
    output:
        select=data_input(search.SELECT_SPLIT),
        search=data_input(search.SEARCH_SPLIT),
    params:
        fraction=get_search_val_fraction,
        seed=config["data"]["seed"],
    log:
        f"{RUN_DIR}/logs/split_validation/split_validation.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/split_validation/split_validation.tsv"
    conda:
        ENV
    script:
        "../scripts/split_validation.py"


localrules:
    search_step,
    search_result,


checkpoint search_step:
    """One visit of the search: append this eps's validation error to the history and decide (stop, or the next eps)."""
    input:
        unpack(get_search_step_inputs),
    output:
        search.step_file(RUN_DIR, "{model}", "{seed}", "{delta}", "{eps}"),
    params:
        settings=get_search_settings,
    log:
        f"{RUN_DIR}/logs/search_step/{{model}}_seed{{seed}}_delta{{delta}}_eps{{eps}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/search_step/{{model}}_seed{{seed}}_delta{{delta}}_eps{{eps}}.tsv"
    conda:
        ENV
    script:
        "../scripts/search_step.py"


rule search_result:
    """The search's outcome: eps*, its PGD_delta test error (Wilson interval) and the gain over eps = delta."""
    input:
        unpack(get_search_result_inputs),
    output:
        search.result_file(RUN_DIR, "{model}", "{seed}", "{delta}"),
    params:
        tests=get_search_tests,
    log:
        f"{RUN_DIR}/logs/search_result/{{model}}_seed{{seed}}_delta{{delta}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/search_result/{{model}}_seed{{seed}}_delta{{delta}}.tsv"
    conda:
        ENV
    script:
        "../scripts/search_result.py"


rule aggregate_search:
    """The overdesign-search table of one model: one row per seed and searched delta."""
    input:
        results=get_search_aggregate_inputs,
        caption=caption_file("search"),
    output:
        reported(outputs.search_outputs(RUN_DIR, "{model}"), "search", "3 overdesign", model="{model}"),
    params:
        steps=config["overdesign"]["attack"]["steps"],
    log:
        f"{RUN_DIR}/logs/aggregate_search/{{model}}.log",
    benchmark:
        f"{RUN_DIR}/benchmarks/aggregate_search/{{model}}.tsv"
    conda:
        ENV
    script:
        "../scripts/aggregate_search.py"
