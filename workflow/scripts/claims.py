import os
import shutil

from atspectrum.planning import CellIndex
from atspectrum.reporting import captions, claims, tables
from atspectrum.runtime import io, logs, paths

log = logs.to_file(snakemake.log[0])
p = snakemake.params
root = paths.run_root(snakemake.output[0])  # results/<run>
index = CellIndex.of(snakemake.input.evals)
table, details = claims.evaluate(p.plan, root, index, p.cells, p.val, p.corruptions, list(snakemake.input.tables))
models = ", ".join(sorted(set(table["model"])))
caption = captions.heading(f"Claims C1–C4 on {models}.", snakemake.input.caption, root=root)
tables.write(table, paths.declared_stem(snakemake.output, "claims"), caption)
tables.write(details, paths.declared_stem(snakemake.output, "claims_details"), "Beside the claims: secondary parts.")
for src, dst in p.figures:  # the figures each claim rests on, beside it in the report (declared outputs)
    dst = paths.declared(snakemake.output, os.path.basename(dst))
    with io.atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
log(table.to_string())
log(details.to_string())
