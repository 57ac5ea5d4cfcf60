import os

from atspectrum import data
from atspectrum.runtime import logs

log = logs.to_file(snakemake.log[0])
p = snakemake.params
counts = data.prepare(
    snakemake.wildcards.dataset,
    p.root,
    p.download,
    os.path.dirname(snakemake.output.train),
    val_size=p.val_size,
    seed=p.seed,
    train_size=p.train_size,
    test_size=p.test_size,
)
log(f"prepared {snakemake.wildcards.dataset}: {counts}")
