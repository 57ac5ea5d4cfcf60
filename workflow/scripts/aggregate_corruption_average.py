import pandas as pd

from atspectrum.reporting import captions, tables
from atspectrum.runtime import logs, paths

log = logs.to_file(snakemake.log[0])
p = snakemake.params
root = paths.run_root(snakemake.output[0])  # results/<run>
rows, n = {}, []
for m, path in zip(p.models, snakemake.input.ci):  # each model's long statistics: value and n of its average row
    average = pd.read_csv(path).query("corruption == 'average'")
    rows[m] = average.set_index("column")["value"]
    n.append(int(average["n"].iloc[0]))
table, marks = tables.corruption_average_table(rows)
tables.write(
    table,
    f"{root}/tables/corruptions_average",
    captions.heading(
        "Table 2: average accuracy (%) over every corruption and severity, one row per model.",
        snakemake.input.caption,
        root=root,
    ),
    marks,
    n=[n[p.models.index(m)] for m in table["model"]],
)
log(table.to_string())
