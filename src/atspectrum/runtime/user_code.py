"""Code a configuration names: ``path/to/file.py:Name`` (a file, relative to the working directory) or
``package.module:Name`` (an importable module), for an architecture (``models.<name>.arch``) or an attack
(``eval.extra_attacks.<name>.target``) of the user's. Torch-free: :func:`split` is what a dry run checks, and
:func:`load_module` imports only when a job (or the check before the first job) asks for the class.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys


class UserCodeError(ValueError):
    """A file or module of the user's that cannot be imported (missing, or its own error on import)."""


def split(target: str) -> tuple[str, str] | None:
    """``(source, name)`` of ``<source>:<Name>`` with a ``.py`` file or a dotted module as the source and an
    identifier as the name; None when ``target`` is not spelled so."""
    source, sep, name = str(target).rpartition(":")
    module_ok = source.endswith(".py") or all(part.isidentifier() for part in source.split("."))
    return (source, name) if sep and source and name.isidentifier() and module_ok else None


def load_module(source: str, what: str):
    """The module of ``source``: a ``.py`` file (imported once per process under a name of its own) or a dotted
    module. ``what`` names the kind of code in the errors ("architecture", "attack")."""
    if not source.endswith(".py"):
        try:
            return importlib.import_module(source)
        except Exception as exc:  # ModuleNotFoundError, or the module's own error
            raise UserCodeError(f"cannot import module {source!r} ({type(exc).__name__}: {exc})") from exc
    full = os.path.abspath(source)
    if not os.path.isfile(full):
        raise UserCodeError(f"{what} file {source!r} does not exist (looked for {full}; relative to the working dir)")
    name = f"atspectrum_user_{what}_{abs(hash(full))}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, full)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise UserCodeError(f"{what} file {source!r} fails to import ({type(exc).__name__}: {exc})") from exc
    return module


def classes(module, base: type = object) -> list[str]:
    """The names of the classes (subclasses of ``base``) a module defines or imports, sorted."""
    return sorted(k for k, v in vars(module).items() if isinstance(v, type) and issubclass(v, base))
