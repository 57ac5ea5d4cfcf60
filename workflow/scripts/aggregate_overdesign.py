import json

import pandas as pd

from atspectrum.reporting import captions, figures, tables
from atspectrum.runtime import logs, paths

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
root = paths.run_root(snakemake.output[0])  # results/<run>
frames = {(e, d): pd.read_parquet(paths.eval_file(root, model, e, "pgd", d)) for e in p.eps for d in p.pgd[e]}
grid = tables.accuracy_grid(frames)
metrics = {}
for path in snakemake.input.metrics:
    with open(path) as fh:
        m = json.load(fh)
    metrics[int(m["eps"])] = m
out, n = f"{root}/tables", int(grid["n"].iloc[0])


def caption(title):
    """``title`` (which of the three tables), then the section's caption (workflow/report/overdesign.rst)."""
    attack = {"attack": {"steps": p.steps}}
    return captions.heading(title, snakemake.input.caption, model=model, root=root, overdesign=attack)


tables.write(
    tables.models_table(grid, metrics),
    f"{out}/models_{model}",
    caption(f"Table 3/4 ({model}): clean and PGD_eps-{p.steps} accuracy, one row per training strength eps."),
    n=n,
    value_columns=["clean_acc", "pgd_eps_acc"],
)
tables.write(
    tables.robust_accuracy_table(grid, p.deltas),
    f"{out}/robust_accuracy_{model}",
    caption(f"{model}: PGD_delta-{p.steps} accuracy, rows eps, columns delta."),
    n=n,
)
over = tables.overdesign_table(grid, p.deltas)
tables.write(
    over,
    f"{out}/overdesign_{model}",
    caption(f"{model}: per delta, eps* (the lowest PGD_delta-{p.steps} error) and the largest eps's error."),
    n=n,
    value_columns=["error_at_eps_star", "error_at_max_eps"],
)
figures.robust_error(
    grid, p.deltas, f"{model}: robust error against training ε", paths.figure_files(root, f"robust_error_{model}")
)
log(over.to_string())
