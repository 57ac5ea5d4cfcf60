import json

import pandas as pd

from atspectrum import analysis
from atspectrum.reporting import figures, tables
from atspectrum.runtime import logs

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
frames = {e: pd.read_parquet(path) for e, path in zip(p.eps, snakemake.input.frames)}
table, marks = tables.corruption_table(frames, p.names)
# every eps model sees the same examples: the examples behind each row are counted once
sizes = next(iter(frames.values()))
corrupted = sizes[sizes["corruption"] != "clean"]
n_rows = [int((corrupted["corruption"] == name).sum()) for name in p.names] + [len(corrupted)]
ci = (
    "± is half the width of the 95% Wilson interval, which counts every corrupted image as independent (they are "
    "the same test images under several corruptions and severities, so it understates test-set sampling error)."
)
tables.write(
    table,
    f"{p.root}/tables/corruptions_{model}",
    f"{model}: accuracy (%) on each common corruption (mean over severities) of the eps-robust models "
    f"(eps0: standard training), and their average (Tables 20/21). Bold: best in the row; underlined: "
    f"second best. {ci}",
    marks,
    n=n_rows,
)
severity, smarks = tables.corruption_severity_table(frames)
n_severity = sizes.groupby("severity").size().reindex(severity["severity"]).to_numpy()
tables.write(
    severity,
    f"{p.root}/tables/corruptions_severity_{model}",
    f"{model}: accuracy (%) on all corruptions per severity. Bold: best in the row; underlined: second. {ci}",
    smarks,
    n=n_severity,
)
summary = {}
for e, path in zip(p.eps, snakemake.input.preact):
    with open(path) as fh:
        summary[e] = analysis.figure3(json.load(fh))
kind = "pre-Swish" if p.arch == "wrn28_10" else "pre-ReLU"
preact = tables.preact_table(summary)
sev = int(preact["code_severity"].iloc[0])
tables.write(
    preact,
    f"{p.root}/tables/preact_{model}",
    f"{model}: final {kind} features (Figure 3). code_*: the paper's code, per corruption over the images "
    f"at severity {sev}, averaged over the {len(p.names)} corruptions (code_neg_minus_pos: its count of "
    f"negative minus positive values); text_*: the paper's text, every corruption and severity pooled; "
    f"clean_*: the clean test set (ours). *_neg_minus_pos_pct: 100 (negative - positive) / values.",
)
figures.preact_figure3(summary, kind, f"{model}: final {kind} features (Figure 3)", snakemake.output[-1])
log(table.to_string())
log(preact.to_string())
