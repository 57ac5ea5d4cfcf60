import json

import pandas as pd

from atspectrum.planning import Cell, CellIndex
from atspectrum.reporting import captions, figures, replicates, tables
from atspectrum.runtime import logs, paths
from atspectrum.strengths import strength

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
root = paths.run_root(snakemake.output[0])  # results/<run>
index = CellIndex.of(snakemake.input.evals)
frames = {}  # seed -> {(eps, delta): per-example frame}
for cell in map(lambda c: Cell(**c), p.cells):
    frames.setdefault(cell.seed, {})[(cell.eps, cell.delta)] = index.frame(cell)
grids = {seed: tables.accuracy_grid(f) for seed, f in frames.items()}
metrics = {}  # seed -> {eps: training metrics}
for path in snakemake.input.metrics:
    with open(path) as fh:
        m = json.load(fh)
    metrics.setdefault(int(m["hparams"]["seed"]), {})[strength(m["eps"])] = m
n = {seed: int(grid["n"].iloc[0]) for seed, grid in grids.items()}


def caption(title):
    """``title`` (which of the three tables), then the section's caption (workflow/report/overdesign.rst)."""
    attack = {"attack": {"steps": p.steps}}
    return captions.heading(title, snakemake.input.caption, model=model, root=root, overdesign=attack)


def write(make, stem, title, keys, **options):
    """One table per seed (``make(seed)``), written with every seed's rows."""
    per_seed = {s: tables.Replicate(make(s), n=n[s], **options) for s in sorted(grids)}
    tables.write_seeds(per_seed, paths.declared_stem(snakemake.output, stem), caption(title), keys=keys)
    return per_seed


write(
    lambda s: tables.models_table(grids[s], metrics.get(s, {})),
    f"models_{model}",
    f"Table 3/4 ({model}): clean and PGD_eps-{p.steps} accuracy, one row per training strength eps.",
    ["eps"],
    value_columns=["clean_acc", "pgd_eps_acc"],
)
replicates.write_robust_accuracy(
    grids,
    p.deltas,
    paths.declared_stem(snakemake.output, f"robust_accuracy_{model}"),
    caption(f"{model}: PGD_delta-{p.steps} accuracy, rows eps, columns delta."),
)
over = write(
    lambda s: tables.overdesign_table(grids[s], p.deltas),
    f"overdesign_{model}",
    f"{model}: per delta, eps* (the lowest PGD_delta-{p.steps} error) and the largest eps's error.",
    ["delta", "max_eps"],
    value_columns=["error_at_eps_star", "error_at_max_eps"],
)
figures.robust_error(
    pd.concat([g.assign(seed=s) for s, g in grids.items()], ignore_index=True),
    p.deltas,
    f"{model}: robust error against training ε",
    [paths.declared(snakemake.output, f"robust_error_{model}.{ext}") for ext in ("png", "pdf")],
)
log("\n".join(f"seed {s}:\n{r.df.to_string()}" for s, r in over.items()))
