import pandas as pd

from atspectrum.reporting import captions, tables
from atspectrum.runtime import logs, paths

log = logs.to_file(snakemake.log[0])
p = snakemake.params
root = paths.run_root(snakemake.output[0])  # results/<run>
averages = {}  # seed -> {model: its average row (column -> value)}, seed -> {model: n}
n = {}
for m, path in zip(p.models, snakemake.input.ci):  # each model's long statistics: value and n of its average row
    ci = pd.read_csv(path).query("corruption == 'average'")
    for seed, rows in ci.groupby("seed") if "seed" in ci.columns else [(0, ci)]:
        averages.setdefault(int(seed), {})[m] = rows.set_index("column")["value"]
        n.setdefault(int(seed), {})[m] = int(rows["n"].iloc[0])
per_seed = {}
for seed, rows in sorted(averages.items()):
    table, marks = tables.corruption_average_table(rows)
    per_seed[seed] = tables.Replicate(table, marks, n=[n[seed][m] for m in table["model"]])
tables.write_seeds(
    per_seed,
    paths.declared_stem(snakemake.output, "corruptions_average"),
    captions.heading(
        "Table 2: average accuracy (%) over every corruption and severity, one row per model.",
        snakemake.input.caption,
        root=root,
    ),
    ["model"],
)
log("\n".join(f"seed {s}:\n{r.df.to_string()}" for s, r in per_seed.items()))
