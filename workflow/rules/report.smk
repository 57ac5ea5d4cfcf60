# The run's own record for the report: the configuration it used and what every rule cost (compute accounting).


rule run_config:
    """The configuration of this run, after validation filled in every default, as YAML."""
    output:
        report_flag(
            f"{R}/config_used.yaml",
            caption="../report/config.rst",
            category="0 run",
            labels={"file": "config_used.yaml"},
        ),
    params:
        config=config,
    log:
        f"{R}/logs/run_config.log",
    script:
        "../scripts/run_config.py"


rule compute_accounting:
    """Wall time per rule from every benchmark file, and the paper grid's GPU-hours at this run's per-job times.
    It runs after every other target, so it sees every job's benchmark."""
    input:
        lambda w: all_targets(),
    output:
        reported(P.table_files(R, "compute"), "compute", "0 run", model="all"),
    params:
        root=R,
        gpu_rules=lambda w: gpu_rules(),
        grid_jobs=lambda w: accounting.grid_jobs(PAPER_CONFIG, by_attack=True),
        grid_cells=lambda w: accounting.unit_cells(PAPER_CONFIG),
        run_cells=lambda w: accounting.unit_cells(config),
    log:
        f"{R}/logs/compute_accounting.log",
    script:
        "../scripts/compute_accounting.py"
