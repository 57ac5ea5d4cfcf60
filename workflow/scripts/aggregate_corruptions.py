import json

import pandas as pd

from atspectrum import figures, logs, tables

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
frames = {e: pd.read_parquet(path) for e, path in zip(p.eps, snakemake.input.frames)}
table, marks = tables.corruption_table(frames, p.names)
# every eps model sees the same examples: the examples behind each row are counted once
sizes = next(iter(frames.values()))
corrupted = sizes[sizes["corruption"] != "clean"]
n_rows = [int((corrupted["corruption"] == name).sum()) for name in p.names] + [len(corrupted)]
ci = ("± is half the width of the 95% Wilson interval, which counts every corrupted image as independent (they are "
      "the same test images under several corruptions and severities, so it understates test-set sampling error).")
tables.write(table, f"{p.root}/tables/corruptions_{model}",
             f"{model}: accuracy (%) on each common corruption (mean over severities) of the eps-robust models "
             f"(eps0: standard training), and their average (Tables 20/21). Bold: best in the row; underlined: "
             f"second best. {ci}", marks, n=n_rows)
severity, smarks = tables.corruption_severity_table(frames)
n_severity = sizes.groupby("severity").size().reindex(severity["severity"]).to_numpy()
tables.write(severity, f"{p.root}/tables/corruptions_severity_{model}",
             f"{model}: accuracy (%) on all corruptions per severity. Bold: best in the row; underlined: second. "
             f"{ci}", smarks, n=n_severity)
preact = {}
for e, path in zip(p.eps, snakemake.input.preact):
    with open(path) as fh:
        preact[e] = json.load(fh)
kind = "pre-Swish" if p.arch == "wrn28_10" else "pre-ReLU"
figures.preact_mean(preact, f"{model}: final {kind} features", snakemake.output[-1])
log(table.to_string())
