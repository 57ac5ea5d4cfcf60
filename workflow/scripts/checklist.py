import numpy as np

from atspectrum.planning import CellIndex
from atspectrum.reporting import captions, checklist, tables
from atspectrum.runtime import logs, paths

log = logs.to_file(snakemake.log[0])
p = snakemake.params
root = paths.run_root(snakemake.output[0])  # results/<run>
with np.load(snakemake.input.test, allow_pickle=False) as z:
    images, labels = z["images"], z["labels"]
index = CellIndex.of([snakemake.input.evals, snakemake.input.adv])
rows = [
    {**r, "seed": seed} for seed in p.seeds for r in checklist.collect(p.plan, p.settings, index, images, labels, seed)
]
table, marks = checklist.table(rows)
stem = paths.declared_stem(snakemake.output, "checklist")
caption = captions.heading(f"Checks: {checklist.summary(rows)}.", snakemake.input.caption, root=root)
tables.write(table, stem, caption, marks)
log(table.to_string())
log(checklist.summary(rows))
failed = checklist.failures(rows)
if failed:
    log("failed checks: " + "; ".join(failed))
# strict: fail the job naming the failed checks (Snakemake then removes the table; the log keeps it)
checklist.enforce(rows, p.settings["strict"], f"the table in {snakemake.log[0]}")
