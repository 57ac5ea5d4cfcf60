import json

import pandas as pd

from atspectrum import analysis
from atspectrum.reporting import captions, figures, tables
from atspectrum.runtime import logs, paths

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
root = paths.run_root(snakemake.output[0])  # results/<run>
frames = {e: pd.read_parquet(path) for e, path in zip(p.eps, snakemake.input.frames)}
table, marks = tables.corruption_table(frames, p.names)
# every eps model sees the same examples: the examples behind each row are counted once
sizes = next(iter(frames.values()))
corrupted = sizes[sizes["corruption"] != "clean"]
n_rows = [int((corrupted["corruption"] == name).sum()) for name in p.names] + [len(corrupted)]


def caption(title):
    """``title`` (which of the three tables), then the section's caption (workflow/report/corruptions.rst)."""
    return captions.heading(title, snakemake.input.caption, model=model, root=root)


tables.write(
    table,
    f"{root}/tables/corruptions_{model}",
    caption(f"Tables 20/21 ({model}): accuracy per corruption, averaged over severities, and their average."),
    marks,
    n=n_rows,
)
severity, smarks = tables.corruption_severity_table(frames)
n_severity = sizes.groupby("severity").size().reindex(severity["severity"]).to_numpy()
tables.write(
    severity,
    f"{root}/tables/corruptions_severity_{model}",
    caption(f"{model}: accuracy over every corruption per severity."),
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
    f"{root}/tables/preact_{model}",
    caption(f"Figure 3 ({model}): final {kind} features; code_* at severity {sev}, {len(p.names)} corruptions."),
)
figures.preact_figure3(summary, kind, f"{model}: final {kind} features (Figure 3)", snakemake.output[-1])
log(table.to_string())
log(preact.to_string())
