"""A plain rerun heals: what a run finds damaged at its start, it removes, so Snakemake recomputes exactly that.

Snakemake reruns a job whose output is missing, but it neither looks inside outputs nor notices a file a job read
behind its back. At every start (``workflow/rules/common.smk``, the main process, dry runs included) :func:`heal`
checks, from file metadata only (no artifact is read in full: the paper grid's check takes milliseconds):

- **every unit manifest** of the plan: it must parse, and every cell file and transfer-examples file it lists must
  exist with the size and modification time the unit recorded when it wrote or verified it. A manifest whose files
  are damaged, truncated, replaced or missing is removed: the manifests are targets of the run (:func:`artifacts`), so
  Snakemake reruns that unit (and, its manifest being newer, what reads it), which recomputes the cells whose
  stored key no longer matches and reuses the rest (:func:`atspectrum.evaluation.units.run`);
- **every planned checkpoint**, the **prepared data**, the **transfer examples** of rule ``transfer_examples`` and the
  **one-cell results** the plan knows in advance (C1's validation evaluations, the corruption evaluations): each must
  be a complete archive (``torch.save`` and ``numpy.savez`` write zip, whose central directory a truncation loses;
  parquet begins and ends with ``PAR1``). A damaged one is moved aside to ``<file>.damaged`` (kept, never deleted);
  each is a target of the run (:func:`artifacts`), so the missing file is made again and everything downstream of it
  reruns (its inputs are newer);

- **the inputs read from outside the run**: the prepared data records the dataset files it was made from, each
  corruption evaluation the CIFAR-10-C files it read (size and modification time, :func:`stamps`). When one of them
  has been replaced, the prepared data (or that evaluation's results) is moved aside to ``<file>.stale``; both are
  targets, so the run prepares (evaluates) again and reruns everything downstream. This is part of the key without
  being a declared input: declaring the dataset files would change existing runs' input sets, and Snakemake would
  then retrain every model once after an upgrade (docs/workflow.md argues the choice).

What the metadata cannot show (a file replaced with the same size and modification time) every reader still catches
by its key (:class:`~.index.CellIndex`, :func:`atspectrum.attacks.transfer.load`, :func:`atspectrum.models.load`).
"""

from __future__ import annotations

import json
import os
import zipfile

from atspectrum.runtime import paths

from .grid import Plan

DAMAGED_SUFFIX = ".damaged"
STALE_SUFFIX = ".stale"
SOURCES_KEY = b"atspectrum.sources"  # parquet metadata: the outside files a result was computed from


def stamp(path: str) -> dict:
    """What a manifest records of a file it lists: its size and modification time (ns)."""
    st = os.stat(path)
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns}


def stamps(files) -> dict[str, dict]:
    """``{absolute path: stamp}`` of files read from outside the run (dataset, CIFAR-10-C)."""
    return {os.path.abspath(f): stamp(f) for f in files}


def encode(sources: dict) -> bytes:
    return json.dumps(sources, sort_keys=True).encode()


def changed_source(sources: dict) -> str | None:
    """The first recorded outside file that is no longer as recorded (replaced, rewritten or gone); None if none."""
    for path, recorded in sorted(sources.items()):
        try:
            if stamp(path) != recorded:
                return f"{path} was replaced since it was read"
        except OSError:
            return f"{path} is gone since it was read"
    return None


def _recorded_sources(path: str) -> dict:
    """The sources a prepared-data archive or a corruption frame recorded ({} when none: written before records)."""
    try:
        if path.endswith(".npz"):
            import numpy as np

            with np.load(path, allow_pickle=False) as z:
                return json.loads(str(z["sources"])) if "sources" in z.files else {}
        import pyarrow.parquet as pq

        raw = (pq.read_schema(path).metadata or {}).get(SOURCES_KEY)
        return json.loads(raw) if raw else {}
    except (OSError, ValueError, KeyError):
        return {}


def from_outside(plan: Plan) -> list[str]:
    """The results computed from files outside the run: the prepared data and the corruption evaluations' frames."""
    from . import claims

    dataset = plan.config["data"]["dataset"]
    out = [paths.data_file(plan.root, dataset, split) for split in ("train", "val", "test")]
    return out + [
        paths.analysis_file(plan.root, m, s, e, "corruptions.parquet") for m, s, e in claims.corruption_runs(plan)
    ]


def manifest_problem(path: str) -> str | None:
    """Why the unit manifest at ``path`` (which exists) can no longer be trusted; None when it can."""
    try:
        with open(path) as fh:
            manifest = json.load(fh)
        entries = manifest["cells"] + manifest.get("adv", [])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"the manifest is unreadable ({type(exc).__name__})"
    for entry in entries:
        file = entry["file"]
        try:
            now = stamp(file)
        except OSError:
            return f"{file} is missing"
        recorded = {k: entry.get(k) for k in now}
        if None not in recorded.values() and recorded != now:
            return (
                f"{file} changed since the unit wrote it (size {recorded['size']} -> {now['size']} bytes)"
                if (recorded["size"] != now["size"])
                else f"{file} was replaced since the unit wrote it (modification time changed)"
            )
    return None


def single_cells(plan: Plan) -> list[str]:
    """The per-example results of one-cell jobs the plan knows in advance: C1's validation evaluations and the
    corruption evaluations (the search's later visits are planned as it runs, and its files are not among them)."""
    from . import claims

    out = [paths.val_eval_file(plan.root, m, s, d, e) for m, s, d, e in claims.val_runs(plan)]
    return out + [
        paths.analysis_file(plan.root, m, s, e, "corruptions.parquet") for m, s, e in claims.corruption_runs(plan)
    ]


def artifacts(plan: Plan) -> list[str]:
    """Every planned checkpoint, unit manifest, the prepared data, the one-cell results the plan knows
    (:func:`single_cells`) and every transfer-examples file a ``transfer_examples`` job makes: targets of the run,
    so a missing one is made again (Snakemake would otherwise skip a missing intermediate whose consumers are up to
    date)."""
    out = [paths.model_file(plan.root, m, s, e) for m in plan.models for s, e in plan.runs(m)]
    out += [unit.file(plan.root) for unit in plan.units]
    out += [paths.data_file(plan.root, plan.config["data"]["dataset"], s) for s in ("train", "val", "test")]
    out += single_cells(plan)
    if not plan.adv_from_pgd:
        out += sorted(
            {plan.adv_source(m, s, e, d) for m in plan.models for s in plan.seeds for e, d in plan.adv_needed(m, s)}
        )
    return out


def _zip_problem(path: str) -> str | None:
    try:
        if zipfile.is_zipfile(path):
            return None
    except OSError as exc:
        return f"unreadable ({exc})"
    return "not a complete archive (truncated or damaged)"


def _parquet_problem(path: str) -> str | None:
    """A parquet file begins and ends with ``PAR1``: a truncated or overwritten one does not."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4)
            fh.seek(-4, os.SEEK_END)
            tail = fh.read(4)
    except OSError as exc:
        return f"unreadable ({exc})"
    return None if head == tail == b"PAR1" else "not a complete parquet file (truncated or damaged)"


def _archive_problem(path: str) -> str | None:
    if path.endswith(".json") or not os.path.exists(path):
        return None  # a manifest (checked above), or missing: a target, so Snakemake makes it
    return _parquet_problem(path) if path.endswith(".parquet") else _zip_problem(path)


def damaged(plan: Plan) -> dict[str, str]:
    """``{file: what is wrong}`` for every unit manifest and planned archive that a rerun must recompute."""
    found = {}
    for unit in plan.units:
        path = unit.file(plan.root)
        if os.path.exists(path):
            problem = manifest_problem(path)
            if problem:
                found[path] = problem
    for path in artifacts(plan):
        problem = _archive_problem(path)
        if problem:
            found[path] = problem
    for path in from_outside(plan):
        if path not in found and os.path.exists(path):
            problem = changed_source(_recorded_sources(path))
            if problem:
                found[path] = f"stale: {problem}"
    return found


def heal(plan: Plan, log=print) -> dict[str, str]:
    """Removes each damaged manifest and moves each damaged archive aside (``.damaged``), logging what and why; returns
    what it found. The rerun that follows recomputes exactly those (and what depends on them)."""
    found = damaged(plan)
    for path, problem in found.items():
        if path.endswith(".json"):
            os.remove(path)
            log(f"atspectrum: {path}: {problem}; removed: this run recomputes the unit's changed cells")
        elif problem.startswith("stale: "):
            os.replace(path, path + STALE_SUFFIX)
            log(f"atspectrum: {path} is {problem}; moved to {path + STALE_SUFFIX}: this run computes it again")
        else:
            os.replace(path, path + DAMAGED_SUFFIX)
            log(f"atspectrum: {path}: {problem}; moved to {path + DAMAGED_SUFFIX}: this run makes it again")
    return found
