import os

from atspectrum import data
from atspectrum.data import cifar10c
from atspectrum.runtime import jobs, logs

log = logs.to_file(snakemake.log[0])
jobs.setup(snakemake.threads, "cpu")
images, labels = data.load_prepared(snakemake.input.test)
written = cifar10c.write(
    os.path.dirname(snakemake.output[0]), images, labels, seed=snakemake.params.seed, corruptions=snakemake.params.names
)
log(f"wrote {len(written)} files for {len(labels)} test images x 5 severities")
