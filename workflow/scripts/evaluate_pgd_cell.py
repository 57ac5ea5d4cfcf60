from atspectrum import data, models
from atspectrum.evaluation import evaluate
from atspectrum.runtime import io, jobs, logs
from atspectrum.specs import PGDSpec
from atspectrum.strengths import norm_of, strength

log = logs.to_file(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
device = jobs.setup(snakemake.threads, p.device)
model = models.load(snakemake.input.model, device)
images, labels = data.load_prepared(snakemake.input.images)
spec = PGDSpec.of(p.attack)
frame = evaluate.pgd_per_example(
    model,
    images,
    labels,
    strength(w.delta),
    spec,
    batch_size=snakemake.resources.eval_batch,
    seed=int(w.seed),
    device=device,
    norm=norm_of(w.delta),
)
io.write_parquet(snakemake.output[0], frame)
log(
    f"{w.model} seed={w.seed} eps={w.eps} PGD delta={w.delta}-{spec.steps}: accuracy {evaluate.accuracy(frame):.2f}% "
    f"on {len(frame)}"
)
