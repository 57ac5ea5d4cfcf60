from atspectrum import data, models
from atspectrum.attacks import transfer
from atspectrum.evaluation import evaluate
from atspectrum.evaluation.units import file_digest
from atspectrum.runtime import jobs, logs
from atspectrum.specs import PGDSpec
from atspectrum.strengths import norm_of, strength

log = logs.to_file(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
device = jobs.setup(snakemake.threads, p.device)
model = models.load(snakemake.input.model, device)
images, labels = data.load_prepared(snakemake.input.test)
delta, spec = strength(w.delta), PGDSpec.of(p.attack)
frame, adv = evaluate.attack_per_example(
    model,
    images,
    labels,
    delta,
    spec,
    batch_size=snakemake.resources.eval_batch,
    seed=int(w.seed),
    device=device,
    keep_adv=True,
    norm=norm_of(delta),
)
key = transfer.examples_key(
    file_digest(snakemake.input.model), file_digest(snakemake.input.test), p.attack, int(w.seed), delta, norm_of(delta)
)
transfer.save(snakemake.output[0], adv, labels, delta, key, norm_of(delta))
log(
    f"{w.model} seed={w.seed} eps={w.eps}: PGD delta={delta}-{spec.steps} transfer examples, white-box accuracy "
    f"{evaluate.accuracy(frame):.2f}% on {len(frame)}"
)
