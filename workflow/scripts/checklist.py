import numpy as np

from atspectrum.reporting import checklist, tables
from atspectrum.runtime import logs

log = logs.to_file(snakemake.log[0])
p = snakemake.params
with np.load(snakemake.input.test, allow_pickle=False) as z:
    images, labels = z["images"], z["labels"]
rows = checklist.collect(p.plan, p.settings, p.root, images, labels)
table, marks = checklist.table(rows)
stem = f"{p.root}/tables/checklist"
tables.write(
    table,
    stem,
    "Sanity checklist: each check per model (and eps) with its verdict, the measured numbers and the "
    "tolerance (accuracies in %, differences in percentage points, distances in units of 1/255).",
    marks,
)
log(table.to_string())
log(checklist.summary(rows))
failed = checklist.failures(rows)
if failed:
    log("failed checks: " + "; ".join(failed))
# strict: fail the job naming the failed checks (Snakemake then removes the table; the log keeps it)
checklist.enforce(rows, p.settings["strict"], f"the table in {snakemake.log[0]}")
