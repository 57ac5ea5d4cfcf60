import pandas as pd

from atspectrum.reporting import tables
from atspectrum.runtime import logs

log = logs.to_file(snakemake.log[0])
p = snakemake.params
rows, n = {}, []
for m, path in zip(p.models, snakemake.input):  # each model's long statistics: value and n of its average row
    average = pd.read_csv(path).query("corruption == 'average'")
    rows[m] = average.set_index("column")["value"]
    n.append(int(average["n"].iloc[0]))
table, marks = tables.corruption_average_table(rows)
tables.write(
    table,
    f"{p.root}/tables/corruptions_average",
    "Average accuracy (%) over all common corruptions of the eps-robust models (Table 2). Bold: best in "
    "the row; underlined: second best. ± is half the width of the 95% Wilson interval over every corrupted "
    "image, counted as independent.",
    marks,
    n=[n[p.models.index(m)] for m in table["model"]],
)
log(table.to_string())
