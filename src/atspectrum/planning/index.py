"""Reading what a job declared: the cells (and transfer examples) behind its input files.

A reader declares unit manifests (and, for cells no unit computes, the cell files themselves);
:meth:`CellIndex.of` turns those inputs into a lookup from :class:`~.cells.Cell` to the file that holds it, so a job
reads exactly what it declared and nothing it rebuilt by name. A PGD unit's manifest also lists the transfer examples
it wrote (``adv``). An unquantized transfer or BPDA cell that no declared input holds is its PGD twin: the plan
declares the PGD unit for it exactly when the two are the same computation (:meth:`~.grid.Plan.canonical`).

**Every read verifies.** A cell a manifest lists is read only if the key stored in its file is the key the manifest
recorded for it (the key of exactly that cell: model, seed, attack and settings, δ, ε, layer, β and the files it
read): a cell file copied over another's, damaged, truncated or deleted is a :class:`DamagedCell` naming the file,
both keys and the manifest, never a wrong number. Transfer examples carry their key the same way
(:meth:`CellIndex.adv_key`, checked by :func:`atspectrum.attacks.transfer.load`).
"""

from __future__ import annotations

import json
import os

from atspectrum.strengths import strength

from .cells import CELL_KEY, NONE, PGD, PGD_TWINS, Cell, parse, parse_adv


class DamagedCell(RuntimeError):
    """A cell file that does not hold what its manifest recorded (another cell's result, damage, or nothing)."""


class MissingInput(KeyError):
    """A cell or transfer file that none of the job's declared inputs holds."""

    def __str__(self):
        return str(self.args[0])


class CellIndex:
    """Cell → file and (model, seed, ε, δ) → transfer-examples file, from a job's declared inputs."""

    def __init__(self):
        self.files: dict[Cell, str] = {}
        self.advs: dict[tuple[str, int, int, int], str] = {}
        self.keys: dict[str, str] = {}  # file -> the key its manifest recorded
        self.manifests: dict[str, str] = {}  # file -> the manifest that lists it
        self._frames: dict[str, object] = {}

    @classmethod
    def of(cls, inputs) -> CellIndex:
        index = cls()
        for path in _flatten(inputs):
            path = os.fspath(path)
            if path.endswith(".json") and "/units/" in path:
                index.add_manifest(path)
            elif parse(path) is not None:
                index.files[parse(path)] = path
            elif parse_adv(path) is not None:
                index.advs[parse_adv(path)] = path
        return index

    def add_manifest(self, path: str) -> None:
        with open(path) as fh:
            manifest = json.load(fh)
        for entry in manifest["cells"] + manifest.get("adv", []):
            if "key" in entry:
                self.keys[entry["file"]] = entry["key"]
            self.manifests[entry["file"]] = path
        for entry in manifest["cells"]:
            self.files[Cell(**entry["cell"])] = entry["file"]
        for entry in manifest.get("adv", []):
            c = entry["cell"]
            self.advs[(c["model"], c["seed"], c["eps"], c["delta"])] = entry["file"]

    def path(self, cell: Cell) -> str:
        if cell not in self.files and cell.layer == NONE and cell.attack in PGD_TWINS:
            cell = cell.replace(attack=PGD)  # computed by the PGD unit (the same attack)
        try:
            return self.files[cell]
        except KeyError:
            raise MissingInput(f"{cell} is not among this job's declared inputs") from None

    def frame(self, cell: Cell):
        """The cell's per-example frame (each file read once), after checking that the file holds the key its
        manifest recorded (:class:`DamagedCell` otherwise)."""
        path = self.path(cell)
        if path not in self._frames:
            self._frames[path] = self._read(cell, path)
        return self._frames[path]

    def _read(self, cell: Cell, path: str):
        import pyarrow.parquet as pq

        expected = self.keys.get(path)
        try:
            table = pq.read_table(path)
        except (OSError, ValueError) as exc:  # missing, truncated, not parquet (ArrowInvalid is a ValueError)
            raise self._damaged(cell, path, f"cannot be read ({type(exc).__name__}: {exc})") from None
        stored = (table.schema.metadata or {}).get(CELL_KEY)
        stored = stored.decode() if stored else None
        if expected is not None and stored != expected:
            raise self._damaged(cell, path, f"holds key {stored} but its manifest expects {expected}")
        return table.to_pandas()

    def _damaged(self, cell: Cell, path: str, what: str) -> DamagedCell:
        manifest = self.manifests.get(path)
        heal = (
            f"a plain rerun of snakemake recomputes it (it checks every manifest's files at start; or remove "
            f"{manifest} by hand)"
            if manifest
            else f"delete {path} and rerun snakemake"
        )
        return DamagedCell(f"cell {cell}: file {path} {what}; nothing was read from it; {heal}")

    def adv_key(self, model: str, seed: int, eps: int, delta: int) -> str | None:
        """The key the manifest recorded for these transfer examples (None: declared directly, no manifest)."""
        return self.keys.get(self.adv(model, seed, eps, delta))

    def adv(self, model: str, seed: int, eps: int, delta: int) -> str:
        try:
            return self.advs[(model, int(seed), strength(eps), strength(delta))]
        except KeyError:
            raise MissingInput(
                f"transfer examples of {model} seed {seed} eps {eps} delta {delta} are not among this job's inputs"
            ) from None


def _flatten(inputs):
    if isinstance(inputs, (str, os.PathLike)):
        yield inputs
        return
    if hasattr(inputs, "values") and not isinstance(inputs, list) and not hasattr(inputs, "_names"):
        inputs = list(inputs.values())
    for item in inputs:
        yield from _flatten(item)
