import functools

from atspectrum import data, models
from atspectrum.attacks import transfer
from atspectrum.attacks.quantize import Quantizer
from atspectrum.evaluation import evaluate
from atspectrum.evaluation import units as eval_units
from atspectrum.planning import Cell, CellIndex
from atspectrum.planning.heal import stamp
from atspectrum.runtime import jobs, logs, paths
from atspectrum.specs import APGDSpec, PGDSpec
from atspectrum.strengths import norm_of, strength

log = logs.to_file(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
attack, delta, seed = w.attack, strength(w.delta), int(w.seed)
norm = norm_of(delta)  # the model's threat model, named by the delta token (atspectrum.strengths)
device = jobs.setup(snakemake.threads, p.device)
images, labels = data.load_prepared(snakemake.input.test)
batch_size = snakemake.resources.eval_batch
model_file = dict(zip(p.eps, snakemake.input.models))
cells = [(Cell(**c), path) for c, path in p.cells]
beta = cells[0][0].beta
advs = CellIndex.of(snakemake.input.get("adv", []))  # transfer: where its examples are (a PGD unit, or their job)
adv_out = {strength(e): path for e, path in p.adv}  # PGD: the transfer examples this unit writes
# an attack of the user's (eval.extra_attacks, rule evaluate_extra): its settings are its target and kwargs
extra = "target" in p.attack
# the attack as a value; transfer attacks nothing here (its cells classify the cached examples), an extra attack is
# built from its settings per model
spec = None if attack == "transfer" or extra else (APGDSpec if attack == "apgd-bpda" else PGDSpec).of(p.attack)
# what every cell's key holds besides its eps, layer and input files
unit_params = {"model": w.model, "seed": seed, "attack": attack, "settings": p.attack, "delta": delta, "q": w.q}


def adv_file(eps):
    return advs.adv(w.model, seed, eps, delta) if attack == "transfer" and delta > 0 else None


def adv_key(eps):
    """The key the transfer examples must hold: their PGD cell's (from the PGD unit's manifest) or, made by their own
    job, the key of that computation."""
    if advs.adv(w.model, seed, eps, delta) in advs.manifests:  # None from a manifest written before keys: unchecked
        return advs.adv_key(w.model, seed, eps, delta)
    digests = eval_units.file_digest(model_file[eps]), eval_units.file_digest(snakemake.input.test)
    return transfer.examples_key(*digests, p.attack, seed, delta, norm)


@functools.lru_cache(maxsize=1)  # cells come sorted by eps: each model (and its transfer examples) loads once
def loaded(eps):
    model = models.load(model_file[eps], device)
    file = adv_file(eps)
    adv = transfer.load(file, images, labels, delta, device, adv_key(eps), norm=norm) if file else None
    return model, adv


def key_of(cell):
    files = {"model": model_file[cell.eps], "test": snakemake.input.test, "adv": adv_file(cell.eps)}
    if snakemake.input.get("attack_file"):  # an extra attack's own file: its contents are part of every cell's key
        files["attack_file"] = snakemake.input.attack_file[0]
    return eval_units.cell_key_of_files(unit_params, cell.eps, cell.layer, files)


def fresh(cell, key):
    """A PGD cell that also makes transfer examples is current only with them (written with the same key)."""
    return cell.eps not in adv_out or transfer.stored_key(adv_out[cell.eps]) == key


def compute(cell):
    model, adv = loaded(cell.eps)
    real = None if cell.layer == "none" else Quantizer(cell.layer, beta, straight_through=False)
    if attack == "transfer":  # the cached examples (delta 0: the clean test set) classified by the quantized model
        frame = evaluate.classify_per_example(model, images if adv is None else adv, labels, real, batch_size, device)
    elif extra:  # the user's attack on the plain model, every batch checked against its budget before the verdict
        frame = evaluate.extra_per_example(
            model, images, labels, delta, attack, p.attack, batch_size=batch_size, seed=seed, device=device
        )
    else:  # PGD (layer none), BPDA / APGD-BPDA: differentiate through the straight-through quantizer at the layer
        run = evaluate.apgd_per_example if attack == "apgd-bpda" else evaluate.attack_per_example
        keep = {"keep_adv": True} if cell.eps in adv_out else {}
        frame, kept = run(
            model,
            images,
            labels,
            delta,
            spec,
            batch_size=batch_size,
            seed=seed,
            device=device,
            attack_quantize=None if real is None else real._replace(straight_through=True),
            eval_quantize=real,
            norm=norm,
            **keep,
        )
        if keep:  # one PGD computation: this cell, and the transfer examples of (eps, delta)
            transfer.save(adv_out[cell.eps], kept, labels, delta, key_of(cell), norm)
    log(
        f"{w.model} seed={seed} eps={cell.eps} {attack} delta={delta} {paths.qpoint(cell.layer, beta)}: accuracy "
        f"{evaluate.accuracy(frame):.2f}%"
    )
    return frame


manifest = eval_units.run(cells, key_of, compute, log, fresh)
adv_keys = {c.eps: key_of(c) for c, _ in cells if c.eps in adv_out}  # the examples carry their PGD cell's key
adv_entries = [
    {"cell": {"model": w.model, "seed": seed, "eps": e, "delta": delta}, "file": f, "key": adv_keys[e], **stamp(f)}
    for e, f in sorted(adv_out.items())
]
eval_units.write_manifest(snakemake.output[0], {"unit": unit_params, "adv": adv_entries, **manifest})
log(
    f"{w.model} seed {seed} {attack} delta {delta} {w.q}: {manifest['computed']} cell(s) computed, "
    f"{manifest['reused']} reused"
)
