import numpy as np

from atspectrum.reporting import captions, checklist, tables
from atspectrum.runtime import logs, paths

log = logs.to_file(snakemake.log[0])
p = snakemake.params
root = paths.run_root(snakemake.output[0])  # results/<run>
with np.load(snakemake.input.test, allow_pickle=False) as z:
    images, labels = z["images"], z["labels"]
rows = checklist.collect(p.plan, p.settings, root, images, labels)
table, marks = checklist.table(rows)
stem = f"{root}/tables/checklist"
caption = captions.heading(f"Checks: {checklist.summary(rows)}.", snakemake.input.caption, root=root)
tables.write(table, stem, caption, marks)
log(table.to_string())
log(checklist.summary(rows))
failed = checklist.failures(rows)
if failed:
    log("failed checks: " + "; ".join(failed))
# strict: fail the job naming the failed checks (Snakemake then removes the table; the log keeps it)
checklist.enforce(rows, p.settings["strict"], f"the table in {snakemake.log[0]}")
