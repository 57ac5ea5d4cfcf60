import json

from atspectrum.evaluation import search
from atspectrum.reporting import captions, tables
from atspectrum.runtime import logs, paths

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
root = paths.run_root(snakemake.output[0])  # results/<run>
results = []
for path in snakemake.input.results:
    with open(path) as fh:
        results.append(json.load(fh))
table = search.table(results)
tables.write(
    table,
    f"{root}/tables/overdesign_search_{model}",
    captions.heading(
        f"{model}: the overdesign search under PGD_delta-{p.steps}, one row per searched delta.",
        snakemake.input.caption,
        model=model,
        root=root,
    ),
)
log(table.to_string())
