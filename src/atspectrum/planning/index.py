"""Reading what a job declared: the cells (and transfer examples) behind its input files.

A reader declares unit manifests (and, for cells no unit computes, the cell files themselves);
:meth:`CellIndex.of` turns those inputs into a lookup from :class:`~.cells.Cell` to the file that holds it, so a job
reads exactly what it declared and nothing it rebuilt by name. A PGD unit's manifest also lists the transfer examples
it wrote (``adv``). An unquantized transfer or BPDA cell that no declared input holds is its PGD twin: the plan
declares the PGD unit for it exactly when the two are the same computation (:meth:`~.grid.Plan.canonical`).
"""

from __future__ import annotations

import json
import os

from .cells import NONE, PGD, PGD_TWINS, Cell, parse, parse_adv


class MissingInput(KeyError):
    """A cell or transfer file that none of the job's declared inputs holds."""

    def __str__(self):
        return str(self.args[0])


class CellIndex:
    """Cell → file and (model, seed, ε, δ) → transfer-examples file, from a job's declared inputs."""

    def __init__(self):
        self.files: dict[Cell, str] = {}
        self.advs: dict[tuple[str, int, int, int], str] = {}
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
        """The cell's per-example frame (each file read once)."""
        import pandas as pd

        path = self.path(cell)
        if path not in self._frames:
            self._frames[path] = pd.read_parquet(path)
        return self._frames[path]

    def adv(self, model: str, seed: int, eps: int, delta: int) -> str:
        try:
            return self.advs[(model, int(seed), int(eps), int(delta))]
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
