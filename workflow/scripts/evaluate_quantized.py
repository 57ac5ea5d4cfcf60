from atspectrum import data, evaluate, io, jobs, logs, models, paths, transfer
from atspectrum.quantize import Quantizer

log = logs.to_file(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
device = jobs.setup(snakemake.threads, p.device)
model = models.load(snakemake.input.model, device)
images, labels = data.load_prepared(snakemake.input.test)
delta, batch_size = int(w.delta), snakemake.config["eval"]["batch_size"]
layer, beta = paths.parse_qpoint(w.qpoint)
real = None if layer == "none" else Quantizer(layer, beta, straight_through=False)
if w.attack == "transfer":
    inputs = transfer.load(snakemake.input.adv, images, labels, delta, device) if delta > 0 else images
    frame = evaluate.classify_per_example(model, inputs, labels, real, batch_size, device)
else:  # BPDA / APGD-BPDA: differentiate through the straight-through quantizer at this layer and beta
    a = p.attack
    straight = None if real is None else real._replace(straight_through=True)
    if w.attack == "apgd-bpda":
        frame, _ = evaluate.apgd_per_example(model, images, labels, delta, a["steps"], a["restarts"], a["losses"],
                                             batch_size, p.seed, device, attack_quantize=straight, eval_quantize=real)
    else:
        frame, _ = evaluate.attack_per_example(model, images, labels, delta, a["steps"], a["step_factor"],
                                               a["random_start"], batch_size, p.seed, device,
                                               attack_quantize=straight, eval_quantize=real)
io.write_parquet(snakemake.output[0], frame)
log(f"{w.model} eps={w.eps} {w.attack} delta={delta} {w.qpoint}: accuracy {evaluate.accuracy(frame):.2f}%")
