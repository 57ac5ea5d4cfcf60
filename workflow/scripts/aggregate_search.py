import json

from atspectrum.evaluation import search
from atspectrum.reporting import captions, tables
from atspectrum.runtime import logs, paths

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
root = paths.run_root(snakemake.output[0])  # results/<run>
results = {}  # seed -> every searched delta's result
for path in snakemake.input.results:
    with open(path) as fh:
        record = json.load(fh)
    results.setdefault(int(record["seed"]), []).append(record)
per_seed = {seed: tables.Replicate(search.table(r)) for seed, r in sorted(results.items())}
tables.write_seeds(
    per_seed,
    paths.declared_stem(snakemake.output, f"overdesign_search_{model}"),
    captions.heading(
        f"{model}: the overdesign search under PGD_delta-{p.steps}, one row per searched delta.",
        snakemake.input.caption,
        model=model,
        root=root,
    ),
    ["delta"],
)
log("\n".join(f"seed {s}:\n{r.df.to_string()}" for s, r in per_seed.items()))
