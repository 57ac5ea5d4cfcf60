from atspectrum.reporting import accounting, tables
from atspectrum.runtime import logs

log = logs.to_file(snakemake.log[0])
p = snakemake.params
bench = accounting.read_benchmarks(p.root)
cells = {rule: (p.run_cells.get(rule, 0), n) for rule, n in p.grid_cells.items()}
table = accounting.summary(bench, p.gpu_rules, p.grid_jobs, cells)
tables.write(
    table,
    f"{p.root}/tables/compute",
    "Compute accounting: wall seconds per rule of this run (from its benchmark files) and, for GPU rules, "
    "the jobs of the paper grid (config/config.yaml) and its GPU-hours at this run's mean time per job (per "
    "cell for the quantized evaluation units, whose size grows with the grid: grid_cells). "
    "The projection is only as good as the jobs measured: a demo's jobs are small.",
)
log(table.to_string())
