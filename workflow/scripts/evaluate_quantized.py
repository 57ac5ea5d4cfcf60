import functools

from atspectrum import data, models
from atspectrum.attacks import transfer
from atspectrum.attacks.quantize import Quantizer
from atspectrum.evaluation import evaluate
from atspectrum.evaluation import units as eval_units
from atspectrum.runtime import jobs, logs, paths
from atspectrum.specs import APGDSpec, PGDSpec

log = logs.to_file(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
unit = eval_units.of_wildcards(w)  # attack bpda<factor>x: the checklist's more-steps BPDA
attack = unit.attack
device = jobs.setup(snakemake.threads, p.device)
images, labels = data.load_prepared(snakemake.input.test)
batch_size, delta, beta = snakemake.resources.eval_batch, unit.delta, unit.beta
model_file = dict(zip(p.eps, snakemake.input.models))
adv_file = dict(zip(p.eps, snakemake.input.adv)) if "adv" in snakemake.input.keys() else {}
# the attack as a value; transfer attacks nothing here (its cells classify the cached examples, whose settings are in
# the cells' keys)
spec = None if w.attack == "transfer" else (APGDSpec if w.attack == "apgd-bpda" else PGDSpec).of(p.attack)
# what every cell's key holds besides its eps, layer and input files
unit_params = {"model": unit.model, "attack": attack, "settings": p.attack, "seed": p.seed, "delta": delta, "q": unit.q}


@functools.lru_cache(maxsize=1)  # cells come sorted by eps: each model (and its transfer examples) loads once
def loaded(eps):
    model = models.load(model_file[eps], device)
    adv = transfer.load(adv_file[eps], images, labels, delta, device) if eps in adv_file else None
    return model, adv


def key_of(eps, layer):
    files = {"model": model_file[eps], "test": snakemake.input.test, "adv": adv_file.get(eps)}
    return eval_units.cell_key(
        unit_params, eps, layer, {k: None if f is None else eval_units.file_digest(f) for k, f in files.items()}
    )


def compute(eps, layer):
    model, adv = loaded(eps)
    real = None if layer == "none" else Quantizer(layer, beta, straight_through=False)
    if w.attack == "transfer":  # the cached examples (delta 0: the clean test set) classified by the quantized model
        frame = evaluate.classify_per_example(model, images if adv is None else adv, labels, real, batch_size, device)
    else:  # PGD (layer none), BPDA / APGD-BPDA: differentiate through the straight-through quantizer at the layer
        run = evaluate.apgd_per_example if w.attack == "apgd-bpda" else evaluate.attack_per_example
        frame, _ = run(
            model,
            images,
            labels,
            delta,
            spec,
            batch_size=batch_size,
            seed=p.seed,
            device=device,
            attack_quantize=None if real is None else real._replace(straight_through=True),
            eval_quantize=real,
        )
    log(
        f"{w.model} eps={eps} {attack} delta={delta} {paths.qpoint(layer, beta)}: accuracy "
        f"{evaluate.accuracy(frame):.2f}%"
    )
    return frame


manifest = eval_units.run(p.cells, key_of, compute, log)
eval_units.write_manifest(snakemake.output[0], {"unit": unit_params, **manifest})
log(f"{unit}: {manifest['computed']} cell(s) computed, {manifest['reused']} reused")
