from atspectrum.reporting import accounting, captions, tables
from atspectrum.runtime import logs, paths

log = logs.to_file(snakemake.log[0])
p = snakemake.params
root = paths.run_root(snakemake.output[0])  # results/<run>
bench = accounting.read_benchmarks(root)
cells = {rule: (p.run_cells.get(rule, 0), n) for rule, n in p.grid_cells.items()}
table = accounting.summary(bench, p.gpu_rules, p.grid_jobs, cells)
total = table.set_index("rule").loc["total"]
caption = captions.heading(
    f"All {int(total['jobs'])} jobs, {total['wall_s']:.0f} s of wall time.",
    snakemake.input.caption,
    root=root,
)
tables.write(table, paths.declared_stem(snakemake.output, "compute"), caption)
log(table.to_string())
