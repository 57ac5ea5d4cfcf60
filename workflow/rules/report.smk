# The run's own record for the report: the configuration it used and what every rule cost (compute accounting).


rule run_config:
    """The configuration of this run, after validation filled in every default, as YAML."""
    output:
        report_flag(
            f"{RUN_DIR}/config_used.yaml",
            caption=caption_file("config"),
            category="0 run",
            labels={"file": "config_used.yaml"},
        ),
    params:
        config=config,
    log:
        f"{RUN_DIR}/logs/run_config.log",
    conda:
        ENV
    script:
        "../scripts/run_config.py"


rule compute_accounting:
    """Wall time per rule from every benchmark file, and the paper grid's GPU-hours at this run's per-job times.
    It runs after every other target, so it sees every job's benchmark."""
    input:
        get_compute_inputs,
        caption=caption_file("compute"),
    output:
        reported(paths.table_files(RUN_DIR, "compute"), "compute", "0 run", model="all"),
    params:
        gpu_rules=get_gpu_rules,
        grid_jobs=get_paper_grid_jobs,
        grid_cells=get_paper_grid_cells,
        run_cells=get_run_cells,
    log:
        f"{RUN_DIR}/logs/compute_accounting.log",
    conda:
        ENV
    script:
        "../scripts/compute_accounting.py"
