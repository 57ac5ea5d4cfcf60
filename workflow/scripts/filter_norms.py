from atspectrum import analysis, models
from atspectrum.runtime import io, logs

log = logs.to_file(snakemake.log[0])
frame = analysis.filter_norms(models.load(snakemake.input[0]))
with io.atomic_path(snakemake.output[0]) as tmp:
    frame.to_csv(tmp, index=False)
log(frame.to_string())
