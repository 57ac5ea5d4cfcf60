import json

import pandas as pd

from atspectrum import analysis
from atspectrum.reporting import captions, figures, tables
from atspectrum.runtime import logs, paths

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
root = paths.run_root(snakemake.output[0])  # results/<run>
frames, summary = {}, {}  # seed -> {eps: per-example corruption frame}, seed -> {eps: Figure 3 summary}
for (seed, eps), frame_path, preact_path in zip(p.runs, snakemake.input.frames, snakemake.input.preact):
    frames.setdefault(seed, {})[eps] = pd.read_parquet(frame_path)
    with open(preact_path) as fh:
        summary.setdefault(seed, {})[eps] = analysis.figure3(json.load(fh))
# every (seed, eps) model sees the same examples: the examples behind each row are counted once
sizes = next(iter(next(iter(frames.values())).values()))
corrupted = sizes[sizes["corruption"] != "clean"]
n_rows = [int((corrupted["corruption"] == name).sum()) for name in p.names] + [len(corrupted)]


def caption(title):
    """``title`` (which of the three tables), then the section's caption (workflow/report/corruptions.rst)."""
    return captions.heading(title, snakemake.input.caption, model=model, root=root)


def per_seed(make, **options):
    return {s: tables.Replicate(*make(f), **options) for s, f in sorted(frames.items())}


tables.write_seeds(
    per_seed(lambda f: tables.corruption_table(f, p.names), n=n_rows),
    paths.declared_stem(snakemake.output, f"corruptions_{model}"),
    caption(f"Tables 20/21 ({model}): accuracy per corruption, averaged over severities, and their average."),
    ["corruption"],
)
severity = per_seed(tables.corruption_severity_table)
for rep in severity.values():
    rep.n = sizes.groupby("severity").size().reindex(rep.df["severity"]).to_numpy()
tables.write_seeds(
    severity,
    paths.declared_stem(snakemake.output, f"corruptions_severity_{model}"),
    caption(f"{model}: accuracy over every corruption per severity."),
    ["severity"],
)
kind = {"wrn28_10": "pre-Swish", "resnet18": "pre-ReLU"}.get(p.arch, "final")  # an own arch: its preact_layer
preact = {s: tables.Replicate(tables.preact_table(run)) for s, run in sorted(summary.items())}
sev = int(next(iter(preact.values())).df["code_severity"].iloc[0])
tables.write_seeds(
    preact,
    paths.declared_stem(snakemake.output, f"preact_{model}"),
    caption(f"Figure 3 ({model}): final {kind} features; code_* at severity {sev}, {len(p.names)} corruptions."),
    ["eps", "code_severity"],
)
figures.preact_figure3(
    summary,
    kind,
    f"{model}: final {kind} features (Figure 3)",
    paths.declared(snakemake.output, f"preact_mean_{model}.png"),
)
log("\n".join(f"seed {s}:\n{r.df.to_string()}" for s, r in preact.items()))
