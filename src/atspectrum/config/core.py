"""The workflow configuration: schema validation with defaults, semantic checks, and what each job needs of it.

Used by the Snakefile (before any job is scheduled) and importable on its own, without torch (what it shares with
the models lives in :mod:`atspectrum.specs`). Every error names the offending key.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import jsonschema
import yaml

from atspectrum.specs import (
    DATASET_INFO,
    QUANT_POINTS,
    SELECTABLE_QUANT_POINTS,
    WORST,
    DataError,
    TrainConfig,
    bn_momentum,
    check_beta,
    relu_between_blocks_of,
    search_part_size,
)

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """An invalid configuration; the message names the key."""


def _with_defaults(validator_class):
    check_properties = validator_class.VALIDATORS["properties"]

    def properties(validator, props, instance, schema):
        if isinstance(instance, dict):
            for name, sub in props.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from check_properties(validator, props, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": properties})


_Validator = _with_defaults(jsonschema.Draft202012Validator)  # what snakemake.utils.validate uses


def key_path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<top level>"


def load_schema(path: str | os.PathLike = SCHEMA_PATH) -> dict:
    with open(path) as fh:
        return yaml.safe_load(fh)


def canonical(value):
    """``value`` spelled one way: every dict's keys sorted (recursively) and integral floats as ints (8.0 → 8; bools
    stay). Snakemake reruns a job when the text (repr) of its params changes, so a configuration that means the same
    (written back by a YAML library in another key order, with its defaults written out, with 8.0 for 8) must reach
    the jobs as the same text."""
    if isinstance(value, dict):
        return {k: canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list):
        return [canonical(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def validate(config: dict, schema_path: str | os.PathLike = SCHEMA_PATH, check_data: bool = True) -> dict:
    """Validate ``config`` in place against the schema (filling defaults), make it :func:`canonical` (in place: the
    same dict, so Snakemake's ``config`` is the canonical one), then check what a schema cannot say."""
    schema = load_schema(schema_path)
    errors = sorted(_Validator(schema).iter_errors(config), key=lambda e: (len(e.path), list(map(str, e.path))))
    if errors:
        err = errors[0]
        where = key_path(err.absolute_path)
        if err.validator == "additionalProperties":
            raise ConfigError(f"config key '{where}': {err.message} (see config/README.md for the known keys)")
        raise ConfigError(f"config key '{where}': {err.message}")
    spelled = canonical(config)
    config.clear()
    config.update(spelled)
    check(config, check_data=check_data)
    return config


def check(config: dict, check_data: bool = True) -> None:
    """Semantic checks: a grid that is not empty, consistent splits and schedules, a dataset that can be found."""
    data = config["data"]
    sections = {"train": config["train"], "train.standard": config["train"].get("standard", {})}
    for name, model in config["models"].items():
        own = model.get("train", {})
        sections |= {f"models.{name}.train": own, f"models.{name}.train.standard": own.get("standard", {})}
    for key, section in sections.items():
        ms = section.get("lr_milestones")
        if ms is not None and (list(ms) != sorted(ms) or len(set(ms)) != len(ms)):
            raise ConfigError(f"config key '{key}.lr_milestones': milestones must strictly increase, got {ms}")
    for name, model in config["models"].items():
        for eps in model["eps"]:
            if train_config(config, name, eps).select == "best_val" and data["val_size"] == 0:
                raise ConfigError(
                    "config key 'data.val_size': select: best_val needs a validation split; "
                    "set data.val_size > 0 or train.select: last"
                )
    for name, model in config["models"].items():
        points = SELECTABLE_QUANT_POINTS[model["arch"]]
        for i, layer in enumerate(model.get("quant_layers") or []):
            if layer not in points:
                raise ConfigError(
                    f"config key 'models.{name}.quant_layers[{i}]': {layer!r} is not a quantization "
                    f"point of {model['arch']}; choose from {list(points)}"
                )
        try:
            bn_momentum(model.get("bn_momentum"))
        except ValueError as exc:
            raise ConfigError(f"config key 'models.{name}.bn_momentum': {exc}") from None
        if model.get("relu_between_blocks") is not None and model["arch"] != "resnet18":
            raise ConfigError(
                f"config key 'models.{name}.relu_between_blocks': applies to resnet18 only, "
                f"not {model['arch']}; leave it null"
            )
    check_betas(config)
    if not config["overdesign"]["delta"]:
        raise ConfigError("config key 'overdesign.delta': the attack grid is empty")
    check_quant_attacks(config)
    check_masking(config)
    check_search(config)
    corr = config.get("corruptions") or {}
    if corr.get("test_size") and data["test_size"] and corr["test_size"] > data["test_size"]:
        raise ConfigError(
            f"config key 'corruptions.test_size': {corr['test_size']} is larger than data.test_size "
            f"({data['test_size']}): the corrupted images are the first corruptions.test_size images "
            f"of the prepared test set; lower corruptions.test_size"
        )
    if check_data:
        check_dataset(data)


def check_dataset(data: dict, files: bool = False) -> None:
    """The dataset can be found: ``data.root`` exists (with ``files``: and holds every file, all missing ones named
    at once) or the dataset has a default location, unless ``data.download`` is set."""
    from atspectrum import data as datamod

    root, name = data.get("root"), data["dataset"]
    if data.get("download"):
        return
    if root is not None:
        if not os.path.isdir(root):
            raise ConfigError(
                f"config key 'data.root': dataset directory {root!r} does not exist and "
                f"data.download is false; point data.root at the {name} files or set "
                f"data.download: true"
            )
        missing = missing_dataset_files(name, root) if files else []
        if missing:
            raise ConfigError(
                f"config key 'data.root': {len(missing)} {name} file(s) missing under {root!r}: "
                f"{', '.join(missing)}; point data.root at the {name} files or set data.download: true"
            )
        return
    if datamod.default_root(name) is None:
        hint = (
            "install Debian's dataset-fashion-mnist package (apt-get install dataset-fashion-mnist)"
            if name == "fashion_mnist"
            else "set it to a directory holding cifar-10-batches-py"
        )
        raise ConfigError(
            f"config key 'data.root' is not set and {name} has no default location; {hint}, or set data.download: true"
        )


def missing_dataset_files(name: str, root: str) -> list[str]:
    """The dataset files the data preparation reads that ``root`` lacks (every one): CIFAR-10's python batches
    under ``<root>/cifar-10-batches-py``; Fashion-MNIST's four idx files (``.gz`` or not) in ``root`` or
    torchvision's ``<root>/FashionMNIST/raw`` (or its processed ``.pt`` files)."""
    from atspectrum import data as datamod

    if name == "cifar10":
        base = os.path.join(root, datamod.CIFAR10_DIRNAME)
        names = [f"data_batch_{b}" for b in range(1, 6)] + ["test_batch", "batches.meta"]
        return [os.path.join(base, f) for f in names if not os.path.isfile(os.path.join(base, f))]
    tv = os.path.join(root, "FashionMNIST")
    if all(os.path.isfile(os.path.join(tv, "processed", f)) for f in ("training.pt", "test.pt")):
        return []
    found = {**datamod.find_fashion_sources(os.path.join(tv, "raw")), **datamod.find_fashion_sources(root)}
    return [os.path.join(root, f"{stem}[.gz]") for stem in datamod.FASHION_FILES if stem not in found]


def prepared_test_rows(config: dict, prepared_test: str | None = None):
    """(source index, labels) of the prepared test set's rows: read from ``prepared_test`` when it exists, else
    computed as the data preparation will (the dataset's test split, then the seeded ``data.test_size`` subset);
    None with ``data.download`` before a download. A dataset that cannot be read raises ConfigError."""
    import torch

    from atspectrum import data as datamod

    data = config["data"]
    if prepared_test is not None and os.path.exists(prepared_test):
        _, labels, index = datamod.load_prepared_rows(prepared_test)
        if data["test_size"] in (None, len(index)):  # else data.test_size changed: prepare_data will run again
            return index, labels.numpy()
    if data.get("download"):
        return None
    check_dataset(data, files=True)
    try:
        _, labels = datamod.load(data["dataset"], data["root"], "test")
        # the same seeded subset data.prepare draws (data.test_size)
        index = datamod.subset(
            torch.arange(len(labels), dtype=torch.int64),
            data["test_size"],
            "test_size",
            config["seed"],
            "test examples",
        )
    except datamod.DataError as exc:
        key = "data.test_size" if "test_size" in str(exc) else "data.root"
        raise ConfigError(f"config key '{key}': {exc}") from None
    return index.numpy(), labels[index].numpy()


def check_inputs(config: dict, prepared_test: str | None = None) -> None:
    """Everything later jobs read from the inputs, checked before the first job (the Snakefile's onstart): the
    dataset files (every missing one named), ``data.test_size`` against the test split, and a configured CIFAR-10-C
    directory (:func:`check_corruptions`) against the test images it must pair with."""
    if not (prepared_test and os.path.exists(prepared_test)):
        check_dataset(config["data"], files=True)
    check_corruptions(config, prepared_test_rows(config, prepared_test) if corruptions_enabled(config) else None)


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
    if int(eps) == 0:
        merged = _merge(merged, shared.get("standard", {}))
        merged = _merge(merged, own.get("standard", {}))
    return merged


def train_config(config: dict, model: str, eps: int) -> TrainConfig:
    t = train_settings(config, model, eps)
    return TrainConfig(
        eps=int(eps),
        epochs=t["epochs"],
        batch_size=t["batch_size"],
        lr=t["lr"],
        momentum=t["momentum"],
        weight_decay=t["weight_decay"],
        lr_milestones=tuple(t["lr_milestones"]),
        lr_gamma=t["lr_gamma"],
        attack_steps=t["attack"]["steps"],
        attack_step_factor=t["attack"]["step_factor"],
        attack_random_start=t["attack"]["random_start"],
        attack_bn_eval=t["attack"]["bn_eval"],
        crop_padding=t["augment"]["crop_padding"],
        flip=t["augment"]["flip"],
        select=t["select"],
        val_attack_steps=t["val_attack"]["steps"],
        val_attack_step_factor=t["val_attack"]["step_factor"],
        eval_batch_size=config["eval"]["batch_size"],
        seed=config["seed"],
        precision=t["precision"],
        channels_last=t["channels_last"],
        compile=t["compile"],
    )


def model_spec(config: dict, model: str) -> dict:
    """Arguments of :func:`atspectrum.models.build` for a configured model (``bn_momentum`` only when set: null is
    the architecture's paper value; ResNet-18's ``relu_between_blocks`` always, resolved, so that a change of the
    architecture's default retrains its models)."""
    m, info = config["models"][model], DATASET_INFO[config["data"]["dataset"]]
    spec = {"name": m["arch"], "width": m.get("width"), **info}
    if m.get("bn_momentum") is not None:
        spec["bn_momentum"] = m["bn_momentum"]
    if m["arch"] == "resnet18":
        spec["relu_between_blocks"] = relu_between_blocks_of(m.get("relu_between_blocks"))
    return spec


def eps_list(config: dict, model: str) -> list[int]:
    return sorted(config["models"][model]["eps"])


def overdesign_deltas(config: dict) -> list[int]:
    return sorted(config["overdesign"]["delta"])


def pgd_deltas(config: dict, model: str, eps: int) -> list[int]:
    """Every δ the PGD grid evaluates for (model, ε): the overdesign grid, δ = 0 (clean) and δ = ε (Table 3/4)."""
    return sorted(set(overdesign_deltas(config)) | {0, int(eps)})


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


def check_search(config: dict) -> None:
    """``overdesign.search``: known models, every delta within max_eps, and a validation split to search on."""
    if not search_enabled(config):
        return
    s = config["overdesign"]["search"]
    for i, name in enumerate(s.get("models") or []):
        if name not in config["models"]:
            raise ConfigError(
                f"config key 'overdesign.search.models[{i}]': {name!r} is not a configured model; "
                f"choose from {sorted(config['models'])}"
            )
    max_eps = s.get("max_eps", 64)
    for i, delta in enumerate(s["delta"]):
        if delta > max_eps:
            raise ConfigError(
                f"config key 'overdesign.search.max_eps': {max_eps} is below the search's "
                f"delta {delta} (overdesign.search.delta[{i}]); the search starts at eps = delta"
            )
    if config["data"]["val_size"] == 0:
        raise ConfigError(
            "config key 'data.val_size': overdesign.search measures robust error on the validation "
            "split; set data.val_size > 0"
        )
    try:
        search_part_size(config["data"]["val_size"], search_val_fraction(config))
    except DataError as exc:
        raise ConfigError(
            f"config key 'overdesign.search.val_fraction': {exc} (data.val_size = {config['data']['val_size']})"
        ) from None


def load(path: str | os.PathLike, check_data: bool = True) -> dict:
    """Read and validate a YAML config file."""
    with open(path) as fh:
        config = yaml.safe_load(fh) or {}
    return validate(config, check_data=check_data)


def train_hparams(config: dict, model: str, eps: int) -> dict:
    """:func:`train_config` as plain scalars and lists (a rule's params: changing one retrains that model only)."""
    import dataclasses

    hp = dataclasses.asdict(train_config(config, model, eps))
    hp["lr_milestones"] = list(hp["lr_milestones"])
    del hp["eval_batch_size"]  # speed only; the job reads eval.batch_size from the config
    return hp


def quantization_enabled(config: dict) -> bool:
    return bool(config.get("quantization"))


def quant_layers(config: dict, model: str) -> list[str]:
    """The quantization points evaluated for ``model``, in forward order: the configured ones, else the paper's
    (the architecture's ``quant_points``; named extras such as ``conv0_post`` only when configured)."""
    m = config["models"][model]
    chosen = m.get("quant_layers")
    if chosen is None:
        return list(QUANT_POINTS[m["arch"]])
    return [p for p in SELECTABLE_QUANT_POINTS[m["arch"]] if p in chosen]


def quant_betas(config: dict) -> list[float]:
    return sorted(float(b) for b in config["quantization"]["beta"])


def quant_deltas(config: dict, attack: str) -> list[int]:
    """δ of the quantization grid for ``attack``; δ = 0 (clean accuracy after quantization) rides on ``transfer``."""
    q = config["quantization"]
    deltas = set(q["delta"]) - {0}
    if attack == "transfer" and q["clean"]:
        deltas.add(0)
    return sorted(deltas)


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


def check_masking(config: dict) -> None:
    """``checklist.masking.beta``, when set, is a beta at which BPDA runs (the checks read and extend those cells)."""
    chosen = ((config.get("checklist") or {}).get("masking") or {}).get("beta")
    if chosen is None or "bpda" not in quant_eval_attacks(config):
        return
    if float(chosen) not in quant_attack_betas(config, "bpda"):
        raise ConfigError(
            f"config key 'checklist.masking.beta': {chosen} is not a beta BPDA runs at "
            f"(quantization.beta {config['quantization']['beta']})"
        )


def check_betas(config: dict) -> None:
    """Every configured quantization beta is a finite number > 0 (the schema cannot reject NaN or infinity)."""
    keyed = [("checklist.large_beta.beta", (config.get("checklist") or {}).get("large_beta", {}).get("beta"))]
    if quantization_enabled(config):
        q = config["quantization"]
        keyed += [(f"quantization.beta[{i}]", b) for i, b in enumerate(q["beta"])]
        keyed += [
            (f"quantization.apgd-bpda.beta[{i}]", b) for i, b in enumerate((q.get("apgd-bpda") or {}).get("beta") or [])
        ]
    for key, beta in keyed:
        if beta is None:
            continue
        try:
            check_beta(beta)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"config key '{key}': {exc}") from None


def check_quant_attacks(config: dict) -> None:
    """``apgd-bpda.beta`` is a subset of ``quantization.beta``; ``worst`` combines at least two evaluation attacks."""
    if not quantization_enabled(config):
        return
    q = config["quantization"]
    for i, b in enumerate(q.get("apgd-bpda", {}).get("beta") or []):
        if float(b) not in quant_betas(config):
            raise ConfigError(
                f"config key 'quantization.apgd-bpda.beta[{i}]': {b} is not in quantization.beta {q['beta']}"
            )
    if WORST not in q["attacks"]:
        return
    if len(quant_eval_attacks(config)) < 2:
        raise ConfigError(
            f"config key 'quantization.attacks': worst is the per-example worst case over the other "
            f"listed attacks and needs at least two of them, got {quant_eval_attacks(config)}"
        )


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
    schema = load_schema()["properties"]["checklist"]
    _Validator(schema).validate(section)  # fills the defaults in place
    return section


def corruptions_enabled(config: dict) -> bool:
    return config.get("corruptions") is not None


def corruption_dir(config: dict, run_root: str) -> str:
    """A real CIFAR-10-C directory when configured, else where ``prepare_corruptions`` writes its own."""
    root = config["corruptions"]["root"]
    return root if root is not None else f"{run_root}/corruptions/{config['data']['dataset']}"


def check_corruptions(config: dict, test=None) -> None:
    """A configured CIFAR-10-C root must hold every configured corruption, well formed (checked up front), and the
    images the corruption evaluation pairs with the clean ones: ``test`` is (source index, labels) of the prepared
    test rows (:func:`prepared_test_rows`; None: unknown yet). Row ``i`` of each severity block is test image ``i``,
    so every evaluated image's index must lie within a block and its label must agree."""
    import numpy as np

    from atspectrum.data import cifar10c

    if not corruptions_enabled(config):
        return
    root, size = config["corruptions"]["root"], config["corruptions"]["test_size"]
    if test is not None and size is not None and size > len(test[0]):
        raise ConfigError(
            f"config key 'corruptions.test_size': {size} is larger than the {len(test[0])} images of "
            f"the prepared test set; lower corruptions.test_size"
        )
    if root is None:
        return
    if not os.path.isdir(root):
        raise ConfigError(f"config key 'corruptions.root': CIFAR-10-C directory {root!r} does not exist")
    try:
        cifar10c.check(root, config["corruptions"]["names"])
    except cifar10c.CorruptionDataError as exc:
        raise ConfigError(f"config key 'corruptions.root': {exc}") from None
    labels_file = os.path.join(root, cifar10c.LABELS_FILE)
    labels = np.load(labels_file, mmap_mode="r", allow_pickle=False)
    per = len(labels) // 5
    if test is None:  # the test images are not known yet: at least the count must fit
        for key, n in (("corruptions.test_size", size), ("data.test_size", config["data"]["test_size"])):
            if n is not None and n > per:
                raise ConfigError(
                    f"config key '{key}': {n} test images but {labels_file} holds {per} images per "
                    f"severity; lower {key}"
                )
        return
    index, test_labels = (np.asarray(a)[:size] for a in test)
    if len(index) and int(index.max()) >= per:
        key = (
            "data.test_size"
            if config["data"]["test_size"] is not None
            else "corruptions.test_size"
            if size is not None
            else "corruptions.root"
        )
        raise ConfigError(
            f"config key '{key}': the evaluated test images include test image {int(index.max())} "
            f"but {labels_file} holds {per} images per severity (row i of each severity is test image "
            f"i); its corrupted version does not exist. Lower {key} or use the complete CIFAR-10-C"
        )
    wrong = int((np.asarray(labels[:per])[index] != test_labels).sum())
    if wrong:
        raise ConfigError(
            f"config key 'corruptions.root': {labels_file} disagrees with the test split's labels on "
            f"{wrong} of the {len(index)} evaluated test images: it is not the CIFAR-10-C of this "
            f"test split"
        )


# PGD-10 adversarial-training images/s on one H200 at the paper's batch sizes, per (architecture, training precision);
# used only to size SLURM time limits (docs/performance.md; bench/throughput.py): ResNet-18 (batch 256) 3,098 in
# fp32 and 4,221 in bf16 (+ channels-last); WRN-28-10 (batch 128) 907 in bf16 (+ channels-last). WRN-28-10 in fp32
# was not measured: estimated as its bf16 rate / _FP32_SLOWDOWN (ours: a compute-bound WRN-28-10 loses bf16's tensor
# cores in full, unlike ResNet-18, which is launch-bound at batch 256 and only 1.36 x slower in fp32).
_FP32_SLOWDOWN = 2.5
_AT_IMAGES_PER_S = {
    ("resnet18", "fp32"): 3098.0,
    ("resnet18", "bf16"): 4221.0,
    ("wrn28_10", "bf16"): 907.0,
    ("wrn28_10", "fp32"): 907.0 / _FP32_SLOWDOWN,
}
BENCH_DIR = Path(__file__).resolve().parents[3] / "bench" / "results"


def at_images_per_second(arch: str, precision: str, bench_dir: str | os.PathLike | None = BENCH_DIR) -> float:
    """PGD-10 AT throughput of ``arch`` trained in ``precision``: the slowest uncompiled measurement of that pair in
    the newest ``bench_dir/throughput-*.json`` (bench/throughput.py) that has one, else the table above."""
    files = sorted(Path(bench_dir).glob("throughput-*.json"), reverse=True) if bench_dir else []
    for path in files:
        try:
            rows = json.loads(path.read_text()).get("rows", [])
            rates = [
                float(r["at_images_per_s"])
                for r in rows
                if r.get("arch") == arch
                and str(r.get("config", "")).split("+")[0] == precision
                and "compile" not in str(r.get("config"))
            ]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            continue  # an unreadable or cut-off benchmark file: the next one, else the table
        if rates:
            return min(rates)
    return _AT_IMAGES_PER_S[(arch, precision)]


def train_runtime_minutes(config: dict, model: str, eps: int, bench_dir: str | os.PathLike | None = BENCH_DIR) -> int:
    """A generous time limit for one training job: 1.5 × the cost of its epochs at the measured throughput of its
    architecture in its precision (:func:`at_images_per_second`), plus 30 minutes. Override it with Snakemake's
    ``--set-resources train:runtime=<minutes>``."""
    t = train_config(config, model, eps)
    images = config["data"]["train_size"] or {"cifar10": 49_000, "fashion_mnist": 59_000}[config["data"]["dataset"]]
    passes = (t.attack_steps + 1) / 11 if eps else 1 / 11
    rate = at_images_per_second(config["models"][model]["arch"], t.precision, bench_dir)
    seconds = t.epochs * images / rate * passes
    return int(30 + 1.5 * seconds / 60)
