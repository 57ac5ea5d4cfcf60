import json

from atspectrum.evaluation import search
from atspectrum.reporting import tables
from atspectrum.runtime import logs

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
results = []
for path in snakemake.input:
    with open(path) as fh:
        results.append(json.load(fh))
table = search.table(results)
tables.write(
    table,
    f"{p.root}/tables/overdesign_search_{model}",
    f"Overdesign search ({model}): per attack strength delta, the eps visited (delta, delta + step, ...) with "
    f"their PGD_delta-{p.steps} errors (%) on the search part of the validation split (disjoint from the "
    f"part that selected each model's checkpoint) and each one's 95% Wilson interval, why the search stopped "
    f"(patience: the error stayed "
    f"above the best for that many consecutive eps; max_eps: the bound), eps* (lowest validation error) and "
    f"the test errors (%) at eps* (95% Wilson interval) and at eps = delta, the gain of eps* over eps = delta "
    f"and its exact McNemar p-value.",
)
log(table.to_string())
