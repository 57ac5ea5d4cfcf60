"""The checks of the user's attacks (``eval.extra_attacks``), each raising :class:`ConfigError` naming
``eval.extra_attacks.<name>`` (or its ``.target`` / ``.kwargs``):

- :func:`check_spelling`, at planning (a dry run imports no torch): the name, the target's spelling, its file present
  or its top-level module importable, ``kwargs`` a mapping without the arguments the workflow passes itself;
- :func:`check_constructible`, before the first job (the workflow's ``onstart``, with
  :func:`~atspectrum.config.architectures.check_architectures`): the class exists, and it can be built with
  ``(model, eps=..., **kwargs)`` on a tiny model of the data's shape.
"""

from __future__ import annotations

import importlib.util
import os
import re

from atspectrum.config import datasets
from atspectrum.config.grid import extra_attack, extra_attack_deltas, extra_attacks
from atspectrum.config.schema import ConfigError
from atspectrum.specs import BUILTIN_ATTACKS, MORE_STEPS_ATTACK, VALID_ATTACK_TARGETS, install_hint, split_target

NAME = re.compile(r"[a-z][a-z0-9_]*")
PASSED = ("model", "eps")  # what the workflow passes itself: not kwargs


def key_of(name: str) -> str:
    return f"eval.extra_attacks.{name}"


def check_spelling(config: dict) -> None:
    """What can be said of every extra attack without importing it (see the module)."""
    for name, entry in (config["eval"].get("extra_attacks") or {}).items():
        key = key_of(name)
        if not NAME.fullmatch(name):
            raise ConfigError(
                f"config key '{key}': an extra attack's name must be a lowercase identifier ([a-z][a-z0-9_]*), "
                f"got {name!r}; it names the attack's cells, jobs and tables"
            )
        if name in BUILTIN_ATTACKS or MORE_STEPS_ATTACK.fullmatch(name):
            raise ConfigError(
                f"config key '{key}': {name!r} is the name of one of atspectrum's own attacks "
                f"({', '.join(BUILTIN_ATTACKS)}, and pgd<k>x / bpda<k>x); choose another name"
            )
        kwargs = entry.get("kwargs", {})
        if not isinstance(kwargs, dict):
            raise ConfigError(f"config key '{key}.kwargs': must be a mapping of keyword arguments, got {kwargs!r}")
        for passed in PASSED:
            if passed in kwargs:
                raise ConfigError(
                    f"config key '{key}.kwargs.{passed}': atspectrum passes {passed} itself (the model under attack, "
                    f"eps = delta/255 for every delta of overdesign.delta); leave it out"
                )
        parts = split_target(entry["target"])
        if parts is None:
            raise ConfigError(
                f"config key '{key}.target': {entry['target']!r} is not an attack class; use {VALID_ATTACK_TARGETS}"
            )
        source = parts[0]
        if source.endswith(".py"):
            if not os.path.isfile(source):
                raise ConfigError(
                    f"config key '{key}.target': file {source!r} does not exist (relative to the working directory "
                    f"{os.getcwd()})"
                )
        else:
            top = source.split(".")[0]
            if importlib.util.find_spec(top) is None:
                raise ConfigError(
                    f"config key '{key}.target': no module named {top!r} is importable (for {source!r})"
                    + install_hint(top)
                )


def check_constructible(config: dict) -> None:
    """Every extra attack's class exists and accepts ``(model, eps=..., **kwargs)``: built on a tiny linear model of
    the data's shape at the largest δ (raises :class:`ConfigError` naming ``.target`` or ``.kwargs``)."""
    names = extra_attacks(config)
    if not names:
        return
    import torch
    from torch import nn

    from atspectrum.attacks import extra

    h, w, c = datasets.image_shape(config["data"])
    classes = datasets.info(config["data"])["num_classes"]
    tiny = nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, classes))
    delta = max(extra_attack_deltas(config), default=1)
    for name in names:
        settings, key = extra_attack(config, name), key_of(name)
        try:
            cls = extra.attack_class(settings["target"])
        except extra.AttackClassError as exc:
            raise ConfigError(f"config key '{key}.target': {exc}") from None
        try:
            with torch.no_grad():
                extra.build(cls, tiny, delta, settings["kwargs"])
        except Exception as exc:  # the class's own constructor failed
            raise ConfigError(
                f"config key '{key}.kwargs': {settings['target']}(model, eps=..., **{settings['kwargs']}) fails "
                f"({type(exc).__name__}: {exc})"
            ) from None
