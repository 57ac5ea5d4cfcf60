"""Running the claims: :func:`evaluate` reads every artifact the claims plan names (:mod:`atspectrum.planning.claims`:
the tables, and the PGD cells of :meth:`atspectrum.planning.Plan.claims_cells`) and runs each claim
(:mod:`.c1_overdesign` … :mod:`.c4_corruptions`) for every model and training seed: the claims table.
"""

from __future__ import annotations

import os

import pandas as pd

from atspectrum.planning import Cell
from atspectrum.planning.claims import figure_sources, quant_table_stem, table_inputs

from .c1_overdesign import overdesign
from .c2_quantization import quantization
from .c3_filter_norms import filter_norms
from .c4_corruptions import corruptions
from .verdicts import CLAIMS, COLUMNS, not_run


def _of_seed(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """One seed's rows of a table written per seed (tables.write_seeds: a ``seed`` column)."""
    if "seed" not in frame.columns:
        return frame
    return frame[frame["seed"] == seed].drop(columns="seed").reset_index(drop=True)


def _claims_of_model(plan: dict, root: str, m: str, frames: dict, tables: dict) -> list[dict]:
    """Every claim's rows for model ``m`` of one seed: ``frames`` its PGD cells by (ε, δ), ``tables`` its tables."""
    alpha, correction, spec = plan["stats"]["alpha"], plan["stats"]["correction"], plan["models"][m]
    mine = figure_sources(plan, root, m)
    rows = overdesign(frames, plan["deltas"], alpha, correction, m, mine["C1"])
    if spec["betas"]:
        cis = {a: (b, tables[quant_table_stem(m, a, b) + "_ci"]) for a, b in spec["betas"].items()}
        rows += quantization(cis, spec["arch"], spec["quant_layers"], alpha, m, spec["labels"], mine["C2"])
    else:
        rows.append(not_run("C2", m, "claim", "quantization is not configured"))
    if plan["filters"]:
        rows += filter_norms(tables[f"filter_norms_{m}"], spec["arch"], m, mine["C3"])
    else:
        rows.append(not_run("C3", m, "claim", "filters is off"))
    if plan["corruptions"]:
        t = [tables[f"corruptions_{m}"], tables[f"corruptions_{m}_ci"], tables[f"preact_{m}"]]
        rows += corruptions(*t, alpha, m, mine["C4"])
    else:
        rows.append(not_run("C4", m, "claim", "corruptions is not configured"))
    return rows


def _read_tables(files) -> dict[str, pd.DataFrame]:
    """The tables the claims read, by file stem (``filter_norms_<model>``'s ``index`` as nullable integers)."""
    return {
        os.path.basename(f).removesuffix(".csv"): pd.read_csv(
            f, dtype={"index": "Int64"} if "filter_norms" in f else None
        )
        for f in files
    }


def evaluate(plan: dict, root: str, index, cells, table_files=None) -> pd.DataFrame:
    """Every claim for every model of ``plan`` and every training seed, from the PGD cells ``cells`` (the plan's
    :meth:`~atspectrum.planning.Plan.claims_cells`, as cells or their dicts) read through ``index`` (a
    :class:`atspectrum.planning.CellIndex`) and the tables (``table_files``, default :func:`table_inputs` under
    ``root``): the claims table, one row per (claim, model, part, seed)."""
    tables = _read_tables(table_inputs(plan, root) if table_files is None else table_files)
    frames: dict[tuple[int, str], dict] = {}  # (seed, model) -> {(eps, delta): per-example frame}
    for cell in (c if isinstance(c, Cell) else Cell(**c) for c in cells):
        frames.setdefault((cell.seed, cell.model), {})[(cell.eps, cell.delta)] = index.frame(cell)
    seeds = sorted({seed for seed, _ in frames})
    rows = []
    for (seed, m), seed_frames in sorted(frames.items()):
        mine = {name: _of_seed(t, seed) for name, t in tables.items()}
        rows += [{**r, "seed": int(seed)} for r in _claims_of_model(plan, root, m, seed_frames, mine)]
    table = pd.DataFrame(rows, columns=[*COLUMNS, "seed"])
    order = {c: i for i, c in enumerate(f"{k} {v}" for k, v in CLAIMS.items())}
    table = table.sort_values(
        ["claim", "model", "seed"], key=lambda s: s.map(order) if s.name == "claim" else s, kind="stable"
    ).reset_index(drop=True)
    return table[["seed", *COLUMNS]] if len(seeds) > 1 else table[COLUMNS]
