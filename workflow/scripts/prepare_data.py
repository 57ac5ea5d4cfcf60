import os

from atspectrum import config as atconfig
from atspectrum import data
from atspectrum.planning import heal
from atspectrum.runtime import logs

log = logs.to_file(snakemake.log[0])
p = snakemake.params
dataset = {"dataset": snakemake.wildcards.dataset, "root": p.root, "download": p.download}
sources = heal.stamps(atconfig.dataset_inputs(dataset))  # before reading: a file replaced meanwhile counts as new
counts = data.prepare(
    snakemake.wildcards.dataset,
    p.root,
    p.download,
    os.path.dirname(snakemake.output.train),
    val_size=p.val_size,
    seed=p.seed,
    train_size=p.train_size,
    test_size=p.test_size,
    sources=sources,
    **({"image_size": p.image_size} if hasattr(p, "image_size") else {}),
)
log(f"prepared {snakemake.wildcards.dataset}: {counts}")
