"""Every number in the configuration is finite and within its documented bounds (issue #25, part 4).

The schema is walked for every numeric key (``type: number`` or ``integer``, through ``$ref``, ``items`` and the
per-model sections); each is set, alone, to NaN, +inf and -inf in an otherwise valid configuration, and validation
must refuse it with an error naming that key. A key the walk finds is a key a user can write: a new numeric key added
to the schema is covered without editing this file.
"""

import copy
import math

import pytest
import torch

from atspectrum import config as C
from atspectrum import specs
from atspectrum.attacks import quantize

BASE = {
    "run": "t",
    "data": {"dataset": "fashion_mnist", "root": None, "val_size": 10},
    "models": {"r": {"arch": "resnet18", "width": 2, "eps": [0, 8]}},
    "overdesign": {"delta": [4, 8]},
    "quantization": {"delta": [8], "beta": [8]},
}


def _resolve(schema, node, seen):
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        if name in seen:  # train.standard refers to train itself: its keys are walked once, at the outer level
            return {}
        seen = seen | {name}
        node = {**schema["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
    return node, seen


def _is_numeric(node) -> bool:
    types = node.get("type")
    types = types if isinstance(types, list) else [types]
    return "number" in types or "integer" in types


def numeric_keys(schema, node=None, where=(), seen=frozenset()):
    """Every path (a tuple of keys; 0 for a list's first item, MODEL for a model's name) to a number in the schema."""
    resolved = _resolve(schema, schema if node is None else node, seen)
    if not resolved:
        return
    node, seen = resolved
    if _is_numeric(node):
        yield where
    for name, sub in (node.get("properties") or {}).items():
        yield from numeric_keys(schema, sub, (*where, name), seen)
    if isinstance(node.get("additionalProperties"), dict):  # models.<name>
        yield from numeric_keys(schema, node["additionalProperties"], (*where, "MODEL"), seen)
    for key in ("items", "anyOf", "oneOf"):
        subs = node.get(key)
        for sub in subs if isinstance(subs, list) else [subs] if isinstance(subs, dict) else []:
            yield from numeric_keys(schema, sub, (*where, 0) if key == "items" else where, seen)


KEYS = sorted(set(numeric_keys(C.load_schema())), key=str)


def test_the_walk_finds_the_numeric_keys_of_every_section():
    found = {k[0] for k in KEYS}
    assert {"seeds", "data", "models", "overdesign", "quantization", "stats", "claims", "checklist"} <= found
    assert ("models", "MODEL", "train", "lr") in KEYS and ("stats", "alpha") in KEYS
    assert ("quantization", "beta", 0) in KEYS and ("checklist", "large_beta", "beta") in KEYS
    assert len(KEYS) > 60


def _set(cfg, path, value):
    node = cfg
    for i, key in enumerate(path[:-1]):
        key = "r" if key == "MODEL" else key
        nxt = path[i + 1]
        if isinstance(node, list):
            while len(node) <= key:
                node.append(None)
            if node[key] is None:
                node[key] = [] if isinstance(nxt, int) else {}
            node = node[key]
        else:
            node = node.setdefault(key, [] if isinstance(nxt, int) else {})
            if isinstance(nxt, int) and not isinstance(node, list):
                raise TypeError(path)
    last = path[-1]
    if isinstance(node, list):
        node[:] = [value]
    else:
        node[last] = value


def _display(path):
    return C.key_path(["r" if p == "MODEL" else p for p in path])


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("path", KEYS, ids=_display)
def test_a_non_finite_number_is_refused_naming_its_key(path, value):
    cfg = copy.deepcopy(BASE)
    _set(cfg, path, value)
    with pytest.raises(C.ConfigError) as err:
        C.validate(cfg, check_data=False)
    assert f"config key '{_display(path)}'" in str(err.value)
    assert "not a finite number" in str(err.value)


def test_the_base_configuration_is_valid():
    C.validate(copy.deepcopy(BASE), check_data=False)


@pytest.mark.parametrize(
    "path, value",
    [
        (("train", "lr"), 0),
        (("train", "lr"), -0.1),
        (("stats", "alpha"), 0),
        (("stats", "alpha"), 1),
        (("quantization", "beta", 0), 1e39),
        (("quantization", "beta", 0), 1e300),
        (("checklist", "large_beta", "beta"), 2e9),
        (("overdesign", "delta", 0), 256),
        (("models", "MODEL", "eps", 0), 300),
    ],
    ids=str,
)
def test_numbers_outside_their_documented_bounds_are_refused(path, value):
    cfg = copy.deepcopy(BASE)
    _set(cfg, path, value)
    with pytest.raises(C.ConfigError, match=_display(path).replace("[", r"\[").replace("]", r"\]")):
        C.validate(cfg, check_data=False)


def test_the_schema_and_the_library_state_the_same_largest_beta():
    schema = C.load_schema()
    assert schema["$defs"]["beta"]["maximum"] == specs.MAX_BETA
    specs.check_beta(specs.MAX_BETA)
    with pytest.raises(ValueError):
        specs.check_beta(specs.MAX_BETA * 1.01)


def test_the_largest_beta_quantizes_without_overflow():
    # activations far beyond any network's: floor(x * beta) / beta stays finite and close to x
    x = torch.tensor([-1e20, -3.7, 0.0, 2.5, 1e20, 3e29])
    q = quantize.scaled_floor(x, specs.MAX_BETA, False)
    assert torch.isfinite(q).all()
    assert torch.allclose(q, x, rtol=1e-6)
