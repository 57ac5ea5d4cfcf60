"""Evaluations in units: the cache a unit job keeps per cell (the units themselves are planned by
:class:`atspectrum.planning.Plan`: one job per (model, seed, attack, δ, q) evaluates every (ε, layer) cell of it).

A unit loads the test split once and each ε's model (and its cached transfer examples) once, instead of one process
per cell. **The cells are the cache.** Each cell is its own file (:meth:`atspectrum.planning.Cell.path`), written
atomically as soon as it is computed, with its *key* in the parquet metadata: a hash of everything that determines
its numbers (attack and settings, seed, δ, ε, layer, β, the contents of the model, the test split and the transfer
examples, the package version). The cells are not Snakemake outputs, so a unit that fails half-way loses nothing:
its rerun reuses every cell whose stored key matches. A unit's output is its manifest (JSON: every cell with its file
and key; a PGD unit also the transfer examples it wrote, stored with the key of their cell), which
is what a reader declares and reads its cells through (:class:`atspectrum.planning.CellIndex`).
``ATSPECTRUM_RECOMPUTE=1`` in the environment recomputes every cell.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os

from atspectrum import __version__
from atspectrum.planning.cells import CELL_KEY as KEY
from atspectrum.planning.heal import stamp
from atspectrum.runtime import io
from atspectrum.strengths import strength

RECOMPUTE_ENV = "ATSPECTRUM_RECOMPUTE"


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
    """The key of one cell: everything that determines its numbers. ``unit_params`` holds the unit's model, seed,
    attack, settings, δ and q; ``inputs`` the digests of the files the cell reads (model, test split, transfer
    examples)."""
    payload = {"version": __version__, **unit_params, "eps": strength(eps), "layer": layer, "inputs": inputs}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def cell_key_of_files(unit_params: dict, eps: int, layer: str, files: dict[str, str | None]) -> str:
    """:func:`cell_key` with the digests of the files the cell reads (``None``: a file it does not read). An attack of
    the user's given as a file has it among them (``attack_file``), and its target and kwargs in the settings: editing
    either changes the key of that attack's cells only."""
    digests = {k: None if f is None else file_digest(f) for k, f in files.items()}
    return cell_key(unit_params, eps, layer, digests)


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


def run(cells, key_of, compute, log=print, fresh=None) -> dict:
    """Evaluate a unit's ``cells`` ((cell, file) pairs, :class:`atspectrum.planning.Cell`): each cell whose file holds
    its key (and that ``fresh(cell, key)`` accepts, when given: e.g. its transfer examples are there too) is reused,
    every other is computed (``compute(cell)`` → per-example frame) and written at once. Returns the manifest's
    cells (each cell, its file and key) and how many were reused."""
    recompute = os.environ.get(RECOMPUTE_ENV, "") not in ("", "0")
    entries, reused = [], 0
    for cell, path in cells:
        key = key_of(cell)
        if not recompute and stored_key(path) == key and (fresh is None or fresh(cell, key)):
            reused += 1
            log(f"eps={cell.eps} {cell.layer}: reused {path}")
        else:
            write_cell(path, compute(cell), key)
        entries.append({"cell": cell.as_dict(), "file": path, "key": key, **stamp(path)})
    return {"cells": entries, "reused": reused, "computed": len(entries) - reused}


def write_manifest(path: str | os.PathLike, manifest: dict) -> None:
    io.write_json(path, manifest)
