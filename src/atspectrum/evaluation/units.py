"""Evaluations in units: one job per (model, attack, δ, q) evaluates every (ε, layer) cell of it.

The attack is ``pgd`` (the overdesign grid's PGD against the plain model: Section 3 and the checklist's very large δ;
``q`` is ``none``) or a quantized evaluation's (transfer, bpda, apgd-bpda, and the checklist's more-steps BPDA
bpda<factor>x), whose ``q`` is ``none`` (the unquantized model) or ``beta<β>`` (one β, every configured quantization
point). A unit loads the test split once and each ε's model (and its cached transfer examples) once, instead of one
process per cell: the paper grid's ~7,300 evaluations become ~200 jobs. The unit keeps reruns narrow: adding a β
adds units (``q = beta<new β>``) and nothing else, adding a δ adds that δ's units, and an attack's settings are
params of that attack's units only. Adding an ε to a model adds a cell to each of the model's units, which then
rerun, computing only the new cells.

**The cells are the cache.** Each cell is still its own file (:func:`atspectrum.runtime.paths.eval_file`, which the
tables, the checklist, the claims and the search read), written atomically as soon as it is computed, with its
*key* in the parquet metadata: a hash of everything that determines its numbers (attack and settings, seed, δ, ε,
layer, β, the contents of the model, the test split and the transfer examples, the package version). The cells are
not Snakemake outputs, so a unit that fails half-way loses nothing: its rerun reuses every cell whose stored key
matches. A unit's output is its manifest (JSON: every cell's file and key). ``ATSPECTRUM_RECOMPUTE=1`` in the
environment recomputes every cell (with ``--forcerun evaluate_pgd evaluate_quantized``: a fresh evaluation of
everything).

Torch-free: planning (Snakefile, accounting) imports this module.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from dataclasses import dataclass

from atspectrum import __version__
from atspectrum import config as atconfig
from atspectrum.reporting import checklist
from atspectrum.runtime import io, paths

KEY = b"atspectrum.cell_key"
RECOMPUTE_ENV = "ATSPECTRUM_RECOMPUTE"
PGD = "pgd"
# pgd, transfer, bpda, apgd-bpda, and the checklist's more-steps BPDA (bpda<factor>x, checklist.more_steps_attack)
_MORE_STEPS_BPDA = re.compile(r"bpda([0-9]+)x")
_ATTACK = re.compile(r"pgd|transfer|bpda|apgd-bpda|" + _MORE_STEPS_BPDA.pattern)
_EVAL = re.compile(
    r"^(?P<root>.+)/eval/(?P<model>[^/]+)/eps(?P<eps>[0-9]+)/(?P<attack>[^/]+)/delta(?P<delta>[0-9]+)/"
    r"(?:none|(?P<layer>[^/]+)/beta(?P<beta>[0-9p]+))\.parquet$"
)


@dataclass(frozen=True, order=True)
class Unit:
    """One evaluation job: ``attack`` is pgd, transfer, bpda, apgd-bpda or bpda<factor>x; ``q`` is none or beta<β>
    (always none for pgd)."""

    model: str
    attack: str
    delta: int
    q: str

    @property
    def beta(self) -> float | None:
        return None if self.q == "none" else paths.beta_value(self.q.removeprefix("beta"))

    def file(self, root: str) -> str:
        return paths.unit_file(root, self.model, self.attack, self.delta, self.q)


def of_wildcards(w) -> Unit:
    """The unit of an evaluate_quantized(_steps) job from its wildcards: model, attack, delta, q, and for the
    checklist's more-steps BPDA (rule evaluate_quantized_steps) factor, the attack token being bpda<factor>x."""
    attack = checklist.more_steps_attack(w.factor, w.attack) if "factor" in w.keys() else w.attack
    return Unit(w.model, attack, int(w.delta), w.q)


def split(path: str) -> tuple[Unit, int, str] | None:
    """(unit, ε, layer) of an evaluation file a unit can hold (PGD on the test split, a quantized evaluation); None
    for any other file (PGD with more steps, the search's evaluations)."""
    m = _EVAL.match(path)
    if m is None or not _ATTACK.fullmatch(m["attack"]):
        return None
    q = "none" if m["layer"] is None else f"beta{m['beta']}"
    return Unit(m["model"], m["attack"], int(m["delta"]), q), int(m["eps"]), m["layer"] or "none"


def group(files) -> dict[Unit, list[list]]:
    """The unit evaluation files among ``files`` by unit: each unit's cells as sorted [ε, layer] pairs."""
    units: dict[Unit, set] = {}
    for path in files:
        parts = split(path)
        if parts is not None:
            units.setdefault(parts[0], set()).add(parts[1:])
    return {u: [list(c) for c in sorted(cells)] for u, cells in sorted(units.items())}


def _planned_unit(units: dict[Unit, list[list]], path: str) -> Unit | None:
    """The unit of ``units`` (a :func:`plan`) that holds ``path`` as a cell; None when none does."""
    parts = split(path)
    return parts[0] if parts is not None and list(parts[1:]) in units.get(parts[0], ()) else None


def planned(units: dict[Unit, list[list]], path: str) -> bool:
    """Whether ``path`` is a cell of one of ``units`` (a :func:`plan`)."""
    return _planned_unit(units, path) is not None


def inputs(files, root: str, units: dict[Unit, list[list]]) -> list[str]:
    """``files`` with every cell of ``units`` (a :func:`plan`) replaced by its unit's manifest (what a reader
    declares as input; it reads the cell files themselves, which the manifest vouches for); other files stay."""
    out = set()
    for path in files:
        unit = _planned_unit(units, path)
        out.add(path if unit is None else unit.file(root))
    return sorted(out)


def table_files(config: dict, root: str, model: str) -> list[str]:
    """Every quantized evaluation of one model's tables (each attack's δ × (unquantized, layers × its β))."""
    files = {
        paths.eval_file(root, model, eps, attack, delta, layer, beta)
        for attack in atconfig.quant_eval_attacks(config)
        for eps in atconfig.eps_list(config, model)
        for delta in atconfig.quant_deltas(config, attack)
        for layer in ["none"] + atconfig.quant_layers(config, model)
        for beta in atconfig.quant_attack_betas(config, attack)
    }
    return sorted(files)


def pgd_files(config: dict, root: str, model: str) -> list[str]:
    """Every PGD evaluation of one model's overdesign grid (each ε at the grid's δ, 0 and ε itself)."""
    return [
        paths.eval_file(root, model, eps, PGD, delta)
        for eps in atconfig.eps_list(config, model)
        for delta in atconfig.pgd_deltas(config, model, eps)
    ]


def plan(config: dict, root: str = "results") -> dict[Unit, list[list]]:
    """Every unit of a (validated) config and its cells: the overdesign grid's PGD evaluations, the quantization
    tables' evaluations and the checklist's (its very large δ joins the PGD units; its more-steps PGD is one job of
    its own, rule evaluate_pgd_steps)."""
    files = [f for model in sorted(config["models"]) for f in pgd_files(config, root, model)]
    extra = checklist.input_files(checklist.plan(config), atconfig.checklist_settings(config), root)
    files += extra["pgd"]  # group() leaves out the more-steps files (pgd<factor>x)
    if atconfig.quantization_enabled(config):
        files += [f for model in sorted(config["models"]) for f in table_files(config, root, model)]
        files += extra["quantized"]
    return group(files)


def attack_settings(config: dict, attack: str) -> dict:
    """The settings of a unit's attack: the configured ones (pgd: ``overdesign.attack``), with the steps multiplied for
    bpda<factor>x."""
    if attack == PGD:
        return dict(config["overdesign"]["attack"])
    more = _MORE_STEPS_BPDA.fullmatch(attack)
    if more:
        settings = atconfig.quant_attack(config, "bpda")
        return {**settings, "steps": settings["steps"] * int(more.group(1))}
    return atconfig.quant_attack(config, attack)


def runtime_minutes(config: dict, attack: str, cells: int) -> int:
    """A generous time limit for a unit: 30 minutes, plus per cell about 3 s per forward-backward pass over 10,000
    CIFAR-10 images of WRN-28-10 in fp32 (a transfer cell: one forward pass)."""
    if attack == "transfer":
        passes = 1
    elif attack == "apgd-bpda":
        a = attack_settings(config, attack)
        passes = (a["steps"] + 1) * a["restarts"] * len(a["losses"])
    else:
        passes = attack_settings(config, attack)["steps"] + 1
    return int(30 + cells * passes * 3 / 60) + 1


# --------------------------------------------------------------------------------------------------- the cache


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(functools.partial(fh.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.cache
def _digest(path: str, size: int, mtime_ns: int) -> str:
    return _sha256(path)


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's contents (computed once per version of the file in a process)."""
    st = os.stat(path)
    return _digest(os.fspath(path), st.st_size, st.st_mtime_ns)


def cell_key(unit_params: dict, eps: int, layer: str, inputs: dict[str, str | None]) -> str:
    """The key of one cell: everything that determines its numbers. ``unit_params`` holds the unit's attack, settings,
    seed, δ and q; ``inputs`` the digests of the files the cell reads (model, test split, transfer examples)."""
    payload = {"version": __version__, **unit_params, "eps": int(eps), "layer": layer, "inputs": inputs}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def stored_key(path: str | os.PathLike) -> str | None:
    """The key a cell file was written with; None for a missing, unreadable or keyless file."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, ValueError):  # missing or not parquet (pyarrow's ArrowInvalid is a ValueError)
        return None
    key = meta.get(KEY)
    return key.decode() if key else None


def write_cell(path: str | os.PathLike, frame, key: str) -> None:
    """Write one cell atomically with its key (the file is complete or absent, never half-written)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), KEY: key.encode()})
    with io.atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def cell_files(unit: Unit, cells, root: str) -> list[list]:
    """A unit's cells as [ε, layer, file] (the file each cell is written to and read from)."""
    return [
        [eps, layer, paths.eval_file(root, unit.model, eps, unit.attack, unit.delta, layer, unit.beta)]
        for eps, layer in cells
    ]


def run(cells, key_of, compute, log=print) -> dict:
    """Evaluate a unit's ``cells`` ([ε, layer, file], :func:`cell_files`): each cell whose file holds its key is
    reused, every other is computed (``compute(eps, layer)`` → per-example frame) and written at once. Returns the
    manifest (every cell's file and key, and how many were reused)."""
    recompute = os.environ.get(RECOMPUTE_ENV, "") not in ("", "0")
    entries, reused = [], 0
    for eps, layer, path in cells:
        key = key_of(eps, layer)
        if not recompute and stored_key(path) == key:
            reused += 1
            log(f"eps={eps} {layer}: reused {path}")
        else:
            write_cell(path, compute(eps, layer), key)
        entries.append({"eps": int(eps), "layer": layer, "file": path, "key": key})
    return {"cells": entries, "reused": reused, "computed": len(entries) - reused}


def write_manifest(path: str | os.PathLike, manifest: dict) -> None:
    io.write_json(path, manifest)
