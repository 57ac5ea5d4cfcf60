import pandas as pd

from atspectrum import logs, tables

log = logs.to_file(snakemake.log[0])
p = snakemake.params
rows = {m: pd.read_csv(path).set_index("corruption").loc["average"] for m, path in zip(p.models, snakemake.input)}
table, marks = tables.corruption_average_table(rows)
tables.write(table, f"{p.root}/tables/corruptions_average",
             "Average accuracy (%) over all common corruptions of the eps-robust models (Table 2). Bold: best in "
             "the row; underlined: second best.", marks)
log(table.to_string())
