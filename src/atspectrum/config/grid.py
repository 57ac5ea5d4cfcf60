"""What a configuration describes: the models and their training settings, the ε / δ / β grids of the evaluations, the
overdesign search, the quantization attacks, the checklist and corruption settings. Functions of a validated
configuration that check nothing (the checks, raising :class:`~atspectrum.config.schema.ConfigError`, live in
:mod:`atspectrum.config.validation` and :mod:`atspectrum.config.inputs`, which import this module).
"""

from __future__ import annotations

import copy

from atspectrum.config import datasets
from atspectrum.config.schema import load_schema, validator
from atspectrum.specs import (
    QUANT_POINTS,
    SELECTABLE_QUANT_POINTS,
    WORST,
    TrainConfig,
    is_paper_arch,
    relu_between_blocks_of,
    small_stem,
    split_arch,
    split_target,
)
from atspectrum.strengths import LINF, as_norm, strength


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        out[k] = _merge(out.get(k, {}), v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def train_settings(config: dict, model: str, eps: int) -> dict:
    """The training section as it applies to (model, ε): shared → per-model → (ε = 0) standard overrides."""
    shared, own = config["train"], config["models"][model].get("train", {})
    merged = _merge(
        {k: v for k, v in shared.items() if k != "standard"}, {k: v for k, v in own.items() if k != "standard"}
    )
    if strength(eps) == 0:
        merged = _merge(merged, shared.get("standard", {}))
        merged = _merge(merged, own.get("standard", {}))
    return merged


def train_config(config: dict, model: str, eps: int, seed: int = 0) -> TrainConfig:
    """The training recipe of (model, ε) at one training seed. ``train.method`` applies to ε > 0 (ε = 0 is standard
    training whatever the method); FGSM-RS is PGD-AT with one step of ``fgsm_rs.step_factor`` · ε from a uniform
    start."""
    t = train_settings(config, model, eps)
    method = t["method"] if strength(eps) > 0 else "pgd"
    attack = dict(t["attack"])
    if method == "fgsm_rs":
        attack.update(steps=1, step_factor=t["fgsm_rs"]["step_factor"], random_start=True)
    return TrainConfig(
        eps=as_norm(eps, threat_model(config, model)),
        epochs=t["epochs"],
        batch_size=t["batch_size"],
        lr=t["lr"],
        momentum=t["momentum"],
        weight_decay=t["weight_decay"],
        lr_milestones=tuple(t["lr_milestones"]),
        lr_gamma=t["lr_gamma"],
        attack_steps=attack["steps"],
        attack_step_factor=attack["step_factor"],
        attack_random_start=attack["random_start"],
        attack_bn_eval=attack["bn_eval"],
        crop_padding=t["augment"]["crop_padding"],
        flip=t["augment"]["flip"],
        select=t["select"],
        val_attack_steps=t["val_attack"]["steps"],
        val_attack_step_factor=t["val_attack"]["step_factor"],
        eval_batch_size=config["eval"]["batch_size"],
        seed=int(seed),
        precision=t["precision"],
        channels_last=t["channels_last"],
        compile=t["compile"],
        method=method,
        trades_beta=t["trades"]["beta"],
        norm=threat_model(config, model),
    )


def train_hparams(config: dict, model: str, eps: int, seed: int = 0) -> dict:
    """:func:`train_config` as plain scalars and lists (a rule's params: changing one retrains that model only; a key
    at its neutral value, or one its method does not use, is left out: :meth:`TrainConfig.params`)."""
    return train_config(config, model, eps, seed).params()


def model_spec(config: dict, model: str) -> dict:
    """Arguments of :func:`atspectrum.models.build` for a configured model (``bn_momentum`` only when set: null is
    the architecture's paper value; ResNet-18's ``relu_between_blocks`` always, resolved, so that a change of the
    architecture's default retrains its models). An architecture of the user's adds ``arch_kwargs``,
    ``preact_layer`` and ``small_stem`` only when set (:class:`atspectrum.models.HookedModel`)."""
    m = config["models"][model]
    spec = {"name": m["arch"], "width": m.get("width"), **datasets.info(config["data"])}
    if m.get("bn_momentum") is not None:
        spec["bn_momentum"] = m["bn_momentum"]
    if m["arch"] == "resnet18":
        spec["relu_between_blocks"] = relu_between_blocks_of(m.get("relu_between_blocks"))
    normalization = datasets.wrn_normalization(config["data"])
    if m["arch"] == "wrn28_10" and normalization is not None:
        spec.update(normalization)
    if not is_paper_arch(m["arch"]):
        spec |= {"arch_kwargs": m["arch_kwargs"]} if m.get("arch_kwargs") else {}
        spec |= {"preact_layer": m["preact_layer"]} if m.get("preact_layer") is not None else {}
        spec |= {"small_stem": True} if small_stem(m["arch"], datasets.image_shape(config["data"])[0]) else {}
    return spec


def arch_files(config: dict, model: str) -> list[str]:
    """The file of an architecture of the user's given as ``path/to/file.py:ClassName`` (an input of its training),
    else none."""
    arch = config["models"][model]["arch"]
    return [split_arch(arch)[0]] if not is_paper_arch(arch) and split_arch(arch)[0].endswith(".py") else []


def threat_model(config: dict, model: str) -> str:
    """``linf`` (the paper's; strengths in 1/255 units) or ``l2`` (strengths are L2 radii in [0, 1] pixel space)."""
    return config["models"][model].get("threat_model") or LINF


def in_norm(config: dict, model: str | None, values) -> list:
    """Configured strengths as ``model``'s values (atspectrum.strengths: int for L∞, float for L2), sorted and
    without repeats; ``model=None`` leaves them as configured."""
    if model is None:
        return sorted(set(values))
    norm = threat_model(config, model)
    return sorted({as_norm(v, norm) for v in values})


def eps_list(config: dict, model: str) -> list:
    return in_norm(config, model, config["models"][model]["eps"])


def overdesign_deltas(config: dict, model: str | None = None) -> list:
    """The overdesign grid's δ, as ``model``'s strengths when a model is given (the grid applies to every model in
    its own threat model)."""
    return in_norm(config, model, config["overdesign"]["delta"])


def pgd_deltas(config: dict, model: str, eps) -> list:
    """Every δ the PGD grid evaluates for (model, ε): the overdesign grid, δ = 0 (clean) and δ = ε (Table 3/4)."""
    return in_norm(config, model, [*overdesign_deltas(config, model), 0, eps])


def extra_attacks(config: dict) -> list[str]:
    """The names of the user's attacks (``eval.extra_attacks``), sorted; none when the key is absent."""
    return sorted(config["eval"].get("extra_attacks") or {})


def extra_attack(config: dict, name: str) -> dict:
    """An extra attack's settings, what its cells' keys and its jobs' params hold: ``target`` and ``kwargs``."""
    entry = config["eval"]["extra_attacks"][name]
    return {"target": entry["target"], "kwargs": copy.deepcopy(entry.get("kwargs") or {})}


def extra_attack_files(config: dict, name: str) -> list[str]:
    """The file of an extra attack given as ``path/to/file.py:ClassName`` (an input of its evaluations), else none."""
    source = split_target(config["eval"]["extra_attacks"][name]["target"])
    return [source[0]] if source is not None and source[0].endswith(".py") else []


def extra_attack_deltas(config: dict, model: str | None = None) -> list:
    """The δ of every extra attack (as ``model``'s strengths when given): the overdesign grid's, less 0 (clean
    accuracy is the PGD unit's δ 0 cell)."""
    return [d for d in overdesign_deltas(config, model) if d > 0]


def search_enabled(config: dict) -> bool:
    return bool(config["overdesign"].get("search"))


def search_models(config: dict) -> list[str]:
    """The models searched by ``overdesign.search`` (``models: null`` = every configured model; none when off)."""
    if not search_enabled(config):
        return []
    chosen = config["overdesign"]["search"].get("models")
    return sorted(config["models"]) if chosen is None else sorted(chosen)


def search_deltas(config: dict) -> list[int]:
    return sorted(config["overdesign"]["search"]["delta"]) if search_enabled(config) else []


def search_settings(config: dict, delta: int) -> dict:
    """The search at one delta as plain values: ``delta``, ``step``, ``patience``, ``max_eps``
    (see atspectrum.evaluation.search)."""
    s = config["overdesign"]["search"]
    return {
        "delta": int(delta),
        "step": int(s.get("step", 1)),
        "patience": int(s.get("patience", 2)),
        "max_eps": int(s.get("max_eps", 64)),
    }


def search_val_fraction(config: dict) -> float:
    """The share of the validation split held out for the overdesign search (``overdesign.search.val_fraction``);
    checkpoint selection (``train.select: best_val``) sees only the rest. None when the search is off."""
    return float(config["overdesign"]["search"].get("val_fraction", 0.5)) if search_enabled(config) else None


def quantization_enabled(config: dict) -> bool:
    return bool(config.get("quantization"))


def quant_layers(config: dict, model: str) -> list[str]:
    """The quantization points evaluated for ``model``, in forward order: the configured ones, else the paper's
    (the architecture's ``quant_points``; named extras such as ``conv0_post`` only when configured). An architecture
    of the user's: its configured submodules in the configured order, none when unset."""
    m = config["models"][model]
    chosen = m.get("quant_layers")
    if not is_paper_arch(m["arch"]):
        return list(chosen or [])
    if chosen is None:
        return list(QUANT_POINTS[m["arch"]])
    return [p for p in SELECTABLE_QUANT_POINTS[m["arch"]] if p in chosen]


def quant_betas(config: dict) -> list[float]:
    return sorted(float(b) for b in config["quantization"]["beta"])


def quant_deltas(config: dict, attack: str, model: str | None = None) -> list:
    """δ of the quantization grid for ``attack`` (as ``model``'s strengths when given); δ = 0 (clean accuracy after
    quantization) rides on ``transfer``."""
    q = config["quantization"]
    deltas = set(q["delta"]) - {0}
    if attack == "transfer" and q["clean"]:
        deltas.add(0)
    return in_norm(config, model, deltas)


def quant_attack(config: dict, attack: str) -> dict:
    """The settings of one evaluation attack: steps / step_factor / random_start of ``transfer`` (PGD on the plain
    model) or ``bpda``; steps / restarts / losses of ``apgd-bpda``."""
    if attack == WORST:
        raise ValueError("'worst' is an aggregate of the other attacks, it has no settings of its own")
    # the beta subset is not a setting of one evaluation job (it says which jobs exist)
    return {k: copy.deepcopy(v) for k, v in config["quantization"][attack].items() if k != "beta"}


QUANT_EVAL_ATTACKS = ("transfer", "bpda", "apgd-bpda")  # the attacks of rule evaluate_quantized


def quant_eval_attacks(config: dict) -> list[str]:
    """The configured quantization attacks that evaluate (everything but ``worst``), in configured order."""
    return [a for a in config["quantization"]["attacks"] if a != WORST] if quantization_enabled(config) else []


def quant_attack_betas(config: dict, attack: str) -> list[float]:
    """The beta at which ``attack`` runs: every beta of ``quantization.beta``, or ``apgd-bpda.beta`` when set;
    ``worst``: the beta at which every evaluation attack runs."""
    if attack == WORST:
        runs = [set(quant_attack_betas(config, a)) for a in quant_eval_attacks(config)]
        return [b for b in quant_betas(config) if all(b in r for r in runs)]
    own = config["quantization"].get(attack, {}).get("beta")
    return quant_betas(config) if own is None else sorted(float(b) for b in own)


HEADLINE_BETA = 8.0  # the paper's headline beta (Table 1)


def masking_beta(config: dict) -> float | None:
    """The beta of the checklist's gradient-masking checks (``checklist.masking.beta``; null: 8 when BPDA runs at 8,
    else BPDA's largest beta); None without BPDA."""
    if "bpda" not in quant_eval_attacks(config):
        return None
    chosen = ((config.get("checklist") or {}).get("masking") or {}).get("beta")
    betas = quant_attack_betas(config, "bpda")
    if chosen is not None:
        return float(chosen)
    return HEADLINE_BETA if HEADLINE_BETA in betas else max(betas)


def quant_attack_label(config: dict, attack: str) -> str:
    """How tables and captions name a quantization attack, with its configured strength."""
    if attack == WORST:
        return "the per-example worst case over " + " + ".join(
            quant_attack_label(config, a) for a in quant_eval_attacks(config)
        )
    a = config["quantization"][attack]
    if attack == "apgd-bpda":
        runs = f"{a['restarts']} restart{'s' if a['restarts'] > 1 else ''}"
        return f"APGD-BPDA_delta-{a['steps']} ({'+'.join(a['losses']).upper()}, {runs})"
    return {"transfer": f"Transfer PGD_delta-{a['steps']}", "bpda": f"BPDA_delta-{a['steps']}"}[attack]


def checklist_settings(config: dict) -> dict:
    """The ``checklist`` section (tolerances, the very large delta and beta, the step factor, ``strict``): a copy,
    with the schema's defaults where the config has no ``checklist`` section (validation fills them too)."""
    section = copy.deepcopy(config.get("checklist") or {})
    full = load_schema()
    schema = {**full["properties"]["checklist"], "$defs": full["$defs"]}  # its $refs point into the whole schema
    validator()(schema).validate(section)  # fills the defaults in place
    return section


def corruptions_enabled(config: dict) -> bool:
    return config.get("corruptions") is not None


def corruption_dir(config: dict, run_root: str) -> str:
    """A real CIFAR-10-C directory when configured, else where ``prepare_corruptions`` writes its own."""
    root = config["corruptions"]["root"]
    return root if root is not None else f"{run_root}/corruptions/{config['data']['dataset']}"
