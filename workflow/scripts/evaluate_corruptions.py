from atspectrum import models
from atspectrum.config import corruption_inputs
from atspectrum.data import cifar10c
from atspectrum.evaluation.corruption import evaluate_corruptions, paired_inputs
from atspectrum.planning import heal
from atspectrum.runtime import io, jobs, logs

log = logs.to_file(snakemake.log[0])
p = snakemake.params
device = jobs.setup(snakemake.threads, p.device)
model = models.load(snakemake.input.model, device)
# the clean images and, in every severity block, the rows of their corrupted versions (a real CIFAR-10-C: by index);
# generated corruptions are this job's inputs, a configured CIFAR-10-C directory is not (it is checked before any job)
real = not snakemake.input.corrupted
# a configured CIFAR-10-C directory's files as read, stored with the results: a run's start reruns this job when one
# of them is replaced (atspectrum.planning.heal)
sources = heal.stamps(corruption_inputs({"corruptions": {"root": p.root, "names": p.names}}) if real else [])
clean, rows = paired_inputs(snakemake.input.test, p.test_size, real)
frame, preact = evaluate_corruptions(
    model,
    clean,
    lambda name, severity: cifar10c.load(p.root, name, severity, rows=rows),
    p.names,
    p.severities,
    batch_size=snakemake.resources.eval_batch,
    device=device,
)
io.write_parquet(snakemake.output.frame, frame, {heal.SOURCES_KEY: heal.encode(sources)})
io.write_json(snakemake.output.preact, preact)
summary = frame.groupby("corruption")["correct"].mean().mul(100).round(2)
log(f"accuracy per corruption (%):\n{summary.to_string()}\npre-activations: {preact['clean']} / {preact['corrupted']}")
