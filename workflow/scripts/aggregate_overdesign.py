import json

import pandas as pd

from atspectrum.reporting import figures, tables
from atspectrum.runtime import logs, paths

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
frames = {(e, d): pd.read_parquet(paths.eval_file(p.root, model, e, "pgd", d)) for e in p.eps for d in p.pgd[e]}
grid = tables.accuracy_grid(frames)
metrics = {}
for path in snakemake.input.metrics:
    with open(path) as fh:
        m = json.load(fh)
    metrics[int(m["eps"])] = m
out, n = f"{p.root}/tables", int(grid["n"].iloc[0])
ci = "± is half the width of the 95% Wilson interval."
tables.write(
    tables.models_table(grid, metrics),
    f"{out}/models_{model}",
    f"Clean and PGD_eps-{p.steps} test accuracy (%) of the eps-robust {model} models (Table 3/4). {ci}",
    n=n,
    value_columns=["clean_acc", "pgd_eps_acc"],
)
tables.write(
    tables.robust_accuracy_table(grid, p.deltas),
    f"{out}/robust_accuracy_{model}",
    f"PGD_delta-{p.steps} test accuracy (%) of {model}: rows eps, columns delta (units of 1/255). {ci}",
    n=n,
)
over = tables.overdesign_table(grid, p.deltas)
tables.write(
    over,
    f"{out}/overdesign_{model}",
    f"Overdesign ({model}): per attack strength delta, the training strength eps* with the lowest "
    f"PGD_delta-{p.steps} test error, and the error of the largest-eps model. {ci}",
    n=n,
    value_columns=["error_at_eps_star", "error_at_max_eps"],
)
figures.robust_error(
    grid, p.deltas, f"{model}: robust error against training ε", paths.figure_files(p.root, f"robust_error_{model}")
)
log(over.to_string())
