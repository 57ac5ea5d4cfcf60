from atspectrum import cifar10c, data, io, jobs, logs, models
from atspectrum.corruption_eval import evaluate_corruptions

log = logs.to_file(snakemake.log[0])
p = snakemake.params
device = jobs.setup(snakemake.threads, p.device)
model = models.load(snakemake.input.model, device)
frame, preact = evaluate_corruptions(
    model, data.load_prepared(snakemake.input.test),
    lambda name, severity: cifar10c.load(p.root, name, severity, p.test_size),
    p.names, p.severities, batch_size=snakemake.config["eval"]["batch_size"], device=device)
io.write_parquet(snakemake.output.frame, frame)
io.write_json(snakemake.output.preact, preact)
summary = frame.groupby("corruption")["correct"].mean().mul(100).round(2)
log(f"accuracy per corruption (%):\n{summary.to_string()}\npre-activations: {preact['clean']} / {preact['corrupted']}")
