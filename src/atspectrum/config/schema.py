"""The configuration schema (``workflow/schemas/config.schema.yaml``): where it lives, reading it, a validator that
fills in its defaults, and :class:`ConfigError`, the error every check raises (its message names the key).

The bottom of :mod:`atspectrum.config`: the other modules import it, it imports none of them.
"""

from __future__ import annotations

import copy
import functools
import os
from pathlib import Path

import yaml

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "workflow" / "schemas" / "config.schema.yaml"


class ConfigError(ValueError):
    """An invalid configuration; the message names the key."""


def _with_defaults(validator_class):
    import jsonschema

    check_properties = validator_class.VALIDATORS["properties"]

    def properties(validator, props, instance, schema):
        if isinstance(instance, dict):
            for name, sub in props.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from check_properties(validator, props, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": properties})


@functools.cache
def validator():
    """The JSON-schema validator class that also fills in defaults (Draft 2020-12, what snakemake.utils.validate
    uses). Built on first use: jsonschema's import (0.15 s) is not paid by the jobs, which import the config's
    helpers but validate nothing."""
    import jsonschema

    return _with_defaults(jsonschema.Draft202012Validator)


def key_path(parts) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<top level>"


def load_schema(path: str | os.PathLike = SCHEMA_PATH) -> dict:
    """The schema (a fresh copy: validation fills defaults into what it is given). Parsed once per version of the
    file in a process: planning asks for it several times (validation, the checklist's defaults, the paper grid)."""
    st = os.stat(path)
    return copy.deepcopy(_parsed(os.fspath(path), st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=4)
def _parsed(path: str, mtime_ns: int, size: int) -> dict:
    with open(path) as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
