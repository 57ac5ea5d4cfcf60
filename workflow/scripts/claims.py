import shutil

from atspectrum.reporting import claims, tables
from atspectrum.runtime import io, logs

log = logs.to_file(snakemake.log[0])
p = snakemake.params
table = claims.evaluate(p.plan, p.root)
tables.write(table, f"{p.root}/tables/claims", claims.CAPTION)
for src, dst in p.figures:  # the figures each claim rests on, beside it in the report
    with io.atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)
log(table.to_string())
