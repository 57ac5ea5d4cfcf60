"""Validating a configuration: the schema with its defaults filled in, one spelling (:func:`canonical`), then the
semantic checks a schema cannot express (:func:`check`); every error is a
:class:`~atspectrum.config.schema.ConfigError` naming the offending key.
"""

from __future__ import annotations

import importlib.util
import math
import os

import yaml

from atspectrum.config import datasets, extra_attack_checks
from atspectrum.config.grid import (
    quant_attack_betas,
    quant_betas,
    quant_eval_attacks,
    quantization_enabled,
    search_enabled,
    search_models,
    search_val_fraction,
    threat_model,
    train_config,
)
from atspectrum.config.inputs import check_dataset
from atspectrum.config.schema import SCHEMA_PATH, ConfigError, key_path, load_schema, validator
from atspectrum.specs import (
    SELECTABLE_QUANT_POINTS,
    WORST,
    DataError,
    bn_momentum,
    check_beta,
    is_paper_arch,
    search_part_size,
    split_arch,
)
from atspectrum.strengths import L2, LINF, as_norm


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
    if "seed" in config:
        raise ConfigError(
            "config key 'seed' is now two keys: 'data.seed' (the data split, the subsets and the generated "
            "corruptions) and 'seeds' (the training seeds, a list: a dimension of the grid); see config/README.md"
        )
    check_finite(config)
    errors = sorted(validator()(schema).iter_errors(config), key=lambda e: (len(e.path), list(map(str, e.path))))
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


def check_finite(value, where: tuple = ()) -> None:
    """Every number in ``value`` (a configuration, walked recursively) is finite. YAML spells NaN and infinity
    (``.nan``, ``.inf``) and JSON-schema bounds cannot reject NaN (every comparison with it is false): a NaN learning
    rate would train NaN weights and a NaN alpha would call every test not significant. A ConfigError names the key."""
    if isinstance(value, dict):
        for k, v in value.items():
            check_finite(v, (*where, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            check_finite(v, (*where, i))
    elif isinstance(value, float) and not math.isfinite(value):
        raise ConfigError(f"config key '{key_path(where)}': {value!r} is not a finite number")


def check(config: dict, check_data: bool = True) -> None:
    """Semantic checks: a grid that is not empty, consistent splits and schedules, a dataset that can be found."""
    data = config["data"]
    sections = {"train": config["train"], "train.standard": config["train"].get("standard", {})}
    for name, model in config["models"].items():
        own = model.get("train", {})
        sections |= {f"models.{name}.train": own, f"models.{name}.train.standard": own.get("standard", {})}
    check_strengths(config)
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
        if not is_paper_arch(model["arch"]):
            check_own_arch(name, model)
            continue
        for key in ("arch_kwargs", "preact_layer"):
            if model.get(key) is not None:
                raise ConfigError(
                    f"config key 'models.{name}.{key}': applies to an architecture of your own or torchvision's, "
                    f"not {model['arch']}; leave it unset"
                )
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
    extra_attack_checks.check_spelling(config)
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


def _strength_lists(config: dict, name: str):
    """(key, values) of every strength list that applies to model ``name``: its ε and the run's δ lists."""
    yield f"models.{name}.eps", config["models"][name]["eps"]
    yield "overdesign.delta", config["overdesign"]["delta"]
    if quantization_enabled(config):
        yield "quantization.delta", config["quantization"]["delta"]


def check_strengths(config: dict) -> None:
    """Every strength as its model's threat model reads it: an L∞ model's are integers in 1/255 units up to 255 (an
    L2 radius such as 0.5 given to an L∞ model is refused, naming the key); an L2 model's are radii no larger than
    the image cube's diameter (beyond it the ball holds every image)."""
    diameter = datasets.l2_diameter(config["data"])
    for name in sorted(config["models"]):
        norm = threat_model(config, name)
        for key, values in _strength_lists(config, name):
            for i, v in enumerate(values):
                where = f"config key '{key}[{i}]'"
                if norm == LINF:
                    try:
                        as_norm(v, LINF)
                    except ValueError:
                        raise ConfigError(
                            f"{where}: {v!r} is not an integer, but model {name!r} has threat_model linf, whose "
                            f"strengths are integers in units of 1/255 (8 means 8/255); for an L2 radius set "
                            f"models.{name}.threat_model: l2"
                        ) from None
                    if v > 255:
                        raise ConfigError(f"{where}: {v!r} is above 255/255, the whole pixel range (model {name!r})")
                elif v > diameter:
                    raise ConfigError(
                        f"{where}: the L2 radius {v!r} of model {name!r} (threat_model l2) is larger than the "
                        f"diameter of the image cube ({diameter:.1f}): every image lies in that ball. L2 strengths "
                        f"are radii in [0, 1] pixel space (e.g. 0.5), not 1/255 units"
                    )


def check_own_arch(name: str, model: dict) -> None:
    """What can be said of an architecture of the user's without importing it (a dry run imports no torch): the
    spelling of ``arch``, its file or top-level module present, no width, no ResNet-18 option. Whether the class
    exists and its submodules include ``quant_layers`` and ``preact_layer`` is checked before the first job
    (:func:`atspectrum.config.architectures.check_architectures`)."""
    key = f"models.{name}"
    try:
        source, _ = split_arch(model["arch"])
    except ValueError as exc:
        raise ConfigError(f"config key '{key}.arch': {exc}") from None
    if source.endswith(".py") and not os.path.isfile(source):
        raise ConfigError(
            f"config key '{key}.arch': file {source!r} does not exist (relative to the working directory {os.getcwd()})"
        )
    if source != "torchvision" and not source.endswith(".py"):
        top = source.split(".")[0]
        if importlib.util.find_spec(top) is None:
            raise ConfigError(f"config key '{key}.arch': no module named {top!r} is importable (for {source!r})")
    for option in ("width", "relu_between_blocks"):
        if model.get(option) is not None:
            raise ConfigError(
                f"config key '{key}.{option}': applies to the paper's architectures only, not {model['arch']}; "
                f"leave it unset (arch_kwargs passes arguments to your class)"
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
    for name in search_models(config):
        if threat_model(config, name) == L2:
            raise ConfigError(
                f"config key 'overdesign.search.models': model {name!r} has threat_model l2, and the search's schedule "
                f"is in 1/255 units (L∞ models only); list the L∞ models in overdesign.search.models"
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
