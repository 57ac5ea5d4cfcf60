import pandas as pd

from atspectrum.reporting import figures
from atspectrum.runtime import io, logs

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
frame = pd.concat(
    [
        pd.read_csv(path, dtype={"index": "Int64"}).assign(seed=seed, eps=eps)
        for (seed, eps), path in zip(p.runs, snakemake.input)
    ],
    ignore_index=True,
)
frame = frame[["seed", *[c for c in frame.columns if c != "seed"]]]
with io.atomic_path(snakemake.output[0]) as tmp:
    frame.to_csv(tmp, index=False)
titles = {
    "mean": "mean over 3×3 slices of max|w| (paper's L∞ measure)",
    "max": "max over 3×3 slices of max|w| (paper's L∞ measure)",
    "op_norm": "L∞ operator norm of each conv (ours)",
    "op_norm_bn": "L∞ operator norm of conv + following BatchNorm (ours)",
}
for stat, path in zip(titles, snakemake.output[1:]):
    figures.filter_norms(frame, stat, f"{model}: {titles[stat]}", path)
log(frame.groupby("index")[list(titles)].mean().to_string())
