"""Running the claims: :func:`evaluate` reads every artifact the claims plan names (:mod:`atspectrum.planning.claims`:
the evaluation cells of :func:`~atspectrum.planning.claims.cells`, the validation evaluations of
:func:`~atspectrum.planning.claims.val_runs`, the per-example corruption results of
:func:`~atspectrum.planning.claims.corruption_runs` and the tables of :func:`~atspectrum.planning.claims.table_inputs`),
makes every claim's endpoint for every model over all its seeds, and decides them as one family.
"""

from __future__ import annotations

import os

import pandas as pd

from atspectrum import inference as inf
from atspectrum.planning import NONE, PGD, Cell
from atspectrum.planning.claims import figure_sources, table_inputs
from atspectrum.strengths import strength

from . import paper_verdicts
from .c1_overdesign import overdesign
from .c2_quantization import ENDPOINT as C2_ENDPOINT
from .c2_quantization import quantization
from .c3_filter_norms import ENDPOINT as C3_ENDPOINT
from .c3_filter_norms import filter_norms
from .c4_corruptions import ENDPOINT as C4_ENDPOINT
from .c4_corruptions import corruptions
from .design import COLUMNS, DETAIL_COLUMNS, Endpoint, Settings, table


def _read_tables(files) -> dict[str, pd.DataFrame]:
    """The tables the claims read, by file stem (``filter_norms_<model>``'s ``index`` as nullable integers)."""
    return {
        os.path.basename(f).removesuffix(".csv"): pd.read_csv(
            f, dtype={"index": "Int64"} if "filter_norms" in f else None
        )
        for f in files
    }


def _by_model(plan: dict, index, cells) -> dict[str, dict]:
    """Per model: C1's test PGD frames (seed, ε, δ), C2's frames (attack, seed, ε, δ, layer) and clean frames."""
    out = {m: {"pgd": {}, "quant": {}, "clean": {}} for m in plan["models"]}
    for c in (c if isinstance(c, Cell) else Cell(**c) for c in cells):
        frames = out[c.model]
        if c.attack == PGD and c.layer == NONE:
            frames["pgd"][(c.seed, c.eps, c.delta)] = index.frame(c)
        elif c.delta == 0:
            frames["clean"][(c.eps, c.seed, c.layer)] = index.frame(c)
        else:
            frames["quant"][(c.attack, c.seed, c.eps, c.delta, c.layer)] = index.frame(c)
    return out


def _endpoints(plan, settings, m, frames, val, corr, tables, root) -> tuple[list[Endpoint], list[dict]]:
    spec, fig = plan["models"][m], figure_sources(plan, root, m)
    endpoints, details = [], []

    def add(result):
        endpoints.append(result[0])
        details.extend(result[1])

    add(
        overdesign(
            frames["pgd"], val.get(m, {}), spec.get("deltas", plan["deltas"]), spec["eps"], settings, m, fig["C1"]
        )
    )
    if spec["point"] and frames["quant"]:
        beta = next(iter(spec["betas"].values()))
        add(quantization(frames["quant"], frames["clean"], spec["point"], beta, settings, m, fig["C2"]))
    else:
        why = "quantization, or its point for C2 (claims.quant_point), is not configured"
        endpoints.append(Endpoint.undecided("C2", m, C2_ENDPOINT, inf.NOT_RUN, why))
    if plan["filters"]:
        add(filter_norms(tables[f"filter_norms_{m}"], spec["arch"], settings, m, fig["C3"]))
    else:
        endpoints.append(Endpoint.undecided("C3", m, C3_ENDPOINT, inf.NOT_RUN, "filters is off"))
    if plan["corruptions"] and corr.get(m):
        add(corruptions(corr[m], tables.get(f"preact_{m}"), settings, m, fig["C4"]))
    else:
        endpoints.append(Endpoint.undecided("C4", m, C4_ENDPOINT, inf.NOT_RUN, "corruptions is not configured"))
    return endpoints, details


def evaluate(plan: dict, root: str, index, cells, val_runs=(), corruption_runs=(), table_files=None):
    """Every claim for every model of ``plan``: the claims table (:data:`~.design.COLUMNS`, one row per claim and
    model) and the details (:data:`~.design.DETAIL_COLUMNS`). ``cells`` (cells or their dicts) are read through
    ``index`` (a :class:`atspectrum.planning.CellIndex`); ``val_runs`` are (model, seed, δ, ε, file) of the
    validation evaluations, ``corruption_runs`` (model, seed, ε, file) of the corruption results."""
    settings = Settings.of(plan.get("claims"), plan["stats"]["alpha"])
    tables = _read_tables(table_inputs(plan, root) if table_files is None else table_files)
    frames = _by_model(plan, index, cells)
    val: dict[str, dict] = {}
    for m, s, d, e, f in val_runs:
        val.setdefault(m, {})[(int(s), strength(e), strength(d))] = pd.read_parquet(f, columns=["index", "correct"])
    corr: dict[str, dict] = {}
    for m, s, e, f in corruption_runs:
        corr.setdefault(m, {})[(int(s), strength(e))] = pd.read_parquet(f, columns=["corruption", "index", "correct"])
    endpoints, details = [], []
    for m in sorted(plan["models"]):
        e, d = _endpoints(plan, settings, m, frames[m], val, corr, tables, root)
        endpoints += e
        details += d
    paper = paper_verdicts.verdicts(settings)
    arch = {m: spec["arch"] for m, spec in plan["models"].items()}
    words = {
        (c, m): paper.get((c, arch[m]), "no paper model of this architecture")
        for c in "C1 C2 C3 C4".split()
        for m in arch
    }
    rows = table(endpoints, settings.alpha, {(c, m): w for (c, m), w in words.items()})
    out = pd.DataFrame(rows, columns=COLUMNS)
    return out, pd.DataFrame(details, columns=DETAIL_COLUMNS)
