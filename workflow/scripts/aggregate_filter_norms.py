import pandas as pd

from atspectrum import figures, io, logs

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
frame = pd.concat([pd.read_csv(path, dtype={"index": "Int64"}).assign(eps=e) for e, path in zip(p.eps, snakemake.input)],
                  ignore_index=True)
with io.atomic_path(snakemake.output[0]) as tmp:
    frame.to_csv(tmp, index=False)
for stat, path in (("mean", snakemake.output[1]), ("max", snakemake.output[2])):
    figures.filter_norms(frame, stat, f"{model}: {stat} of the L∞ norms of 3×3 filters per layer", path)
log(frame.groupby("index")[["mean", "max"]].mean().to_string())
