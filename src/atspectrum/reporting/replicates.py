"""Tables with one version per training seed: the CSV keeps every seed's rows, Markdown and LaTeX show the mean
over seeds with the across-seed standard deviation. One seed reads exactly as :func:`tables.write` writes it.

Re-exported by :mod:`atspectrum.reporting.tables` (``tables.Replicate``, ``tables.write_seeds``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from atspectrum.reporting import tables

VARIES = "varies"


@dataclass
class Replicate:
    """One training seed's version of a table: what :func:`tables.write` takes for it (``n``: the examples behind
    each percentage cell, one number or one per row; ``None``: no intervals)."""

    df: pd.DataFrame
    marks: pd.DataFrame | None = None
    n: object = None
    value_columns: list[str] | None = None
    tests: pd.DataFrame | None = None


def default_keys(df: pd.DataFrame) -> list[str]:
    """The columns that identify a row unless told otherwise: those that are not numeric (nor boolean)."""
    return [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]


def _averaged(column: pd.Series) -> bool:
    """Whether a non-key column is averaged over seeds (numbers) rather than shown when the seeds agree."""
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _key_rows(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    return df[keys].reset_index(drop=True).astype(object)


def _check(per_seed: Mapping[int, Replicate], seeds: list[int], keys: list[str]) -> None:
    """Every seed's table has the first seed's columns and key rows, in the same order; ValueError naming the seed
    otherwise."""
    ref, first = per_seed[seeds[0]], seeds[0]
    columns = list(ref.df.columns)
    if "seed" in columns:
        raise ValueError(f"seed {first}: the table already has a 'seed' column")
    if missing := [k for k in keys if k not in columns]:
        raise ValueError(f"seed {first}: key columns {missing} are not among the table's columns {columns}")
    rows = _key_rows(ref.df, keys)
    for seed in seeds:
        rep = per_seed[seed]
        if list(rep.df.columns) != columns:
            raise ValueError(f"seed {seed}: columns {list(rep.df.columns)} differ from seed {first}'s {columns}")
        if not _key_rows(rep.df, keys).equals(rows):
            raise ValueError(f"seed {seed}: the rows (keys {keys}) differ from seed {first}'s, or their order does")
        if rep.marks is not None and rep.marks.shape != rep.df.shape:
            raise ValueError(f"seed {seed}: marks of shape {rep.marks.shape} for a table of shape {rep.df.shape}")
        if (rep.n is None) != (ref.n is None):
            raise ValueError(f"seed {seed}: n is given for some seeds only (seed {first}: n={ref.n!r})")


def stack(parts: Mapping[int, pd.DataFrame]) -> pd.DataFrame:
    """One frame of every seed's rows, a first column ``seed``, seeds in the order given."""
    return pd.concat([p.assign(seed=s)[["seed", *p.columns]] for s, p in parts.items()], ignore_index=True)


def _same(values: list) -> bool:
    a = values[0]
    return all((b == a) or (pd.isna(a) and pd.isna(b)) for b in values[1:])


def mean_table(frames: list[pd.DataFrame], keys: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The table of means over ``frames`` (one per seed, same rows) and its spread (shaped like it): ``keys`` as
    they are; numeric columns the mean over the frames with their sample SD (ddof=1) as spread (missing, '–', where
    a frame lacks the cell); other columns the frames' common value, or ``varies``."""
    first = frames[0].reset_index(drop=True)
    mean = first.copy()
    sd = pd.DataFrame(np.nan, index=first.index, columns=first.columns)
    for col in first.columns:
        if col in keys:
            continue
        values = pd.concat([f[col].reset_index(drop=True) for f in frames], axis=1, ignore_index=True)
        if _averaged(first[col]):
            v = values.to_numpy(dtype=float)
            mean[col], sd[col] = v.mean(axis=1), v.std(axis=1, ddof=1)
        else:
            same = [_same(list(row)) for row in values.itertuples(index=False)]
            mean[col] = first[col].astype(object).where(same, VARIES)
    return mean, sd


def agreed_marks(marks: list[pd.DataFrame | None], like: pd.DataFrame) -> pd.DataFrame | None:
    """A cell keeps its mark ('+', '-', '2') only where every seed marks it the same (no marks: all '')."""
    if all(m is None for m in marks):
        return None
    arrays = [
        np.full(like.shape, "", dtype=object) if m is None else m.fillna("").to_numpy(dtype=object) for m in marks
    ]
    agree = np.logical_and.reduce([a == arrays[0] for a in arrays])
    return pd.DataFrame(np.where(agree, arrays[0], ""), columns=like.columns)


def seeds_caption(caption: str, seeds: list[int]) -> str:
    """``caption`` followed by the sentence saying what the table of means shows."""
    note = f"Mean ± SD over {len(seeds)} training seeds ({', '.join(map(str, seeds))}); one row per seed in the CSV."
    return f"{caption} {note}" if caption else note


def write_seeds(
    per_seed: Mapping[int, Replicate], stem: str, caption: str = "", keys: list[str] | None = None
) -> list[str]:
    """Write one table with a version per training seed (``{seed: Replicate}``); returns the paths, as
    :func:`tables.write`.

    ``<stem>.csv`` holds every seed's rows (a first column ``seed``, seeds ascending), ``<stem>_ci.csv`` (where
    ``n`` is given) every seed's long statistics (:func:`tables.statistics`), likewise. With one seed, Markdown and
    LaTeX are what :func:`tables.write` writes. With several, they show one row per key row (``keys``: the columns
    that identify a row, default :func:`default_keys`; a column that is the same in every seed by design may be
    named too): numeric columns as ``mean ± SD`` over the seeds, other columns their common value or ``varies``,
    marks where every seed agrees, and the caption says so. A seed whose table has other columns, or other key
    rows or row order, than the first seed's raises ValueError naming it."""
    if not per_seed:
        raise ValueError(f"{stem}: no seed to write")
    seeds = sorted(per_seed)
    ref = per_seed[seeds[0]]
    keys = default_keys(ref.df) if keys is None else list(keys)
    _check(per_seed, seeds, keys)
    os.makedirs(os.path.dirname(stem) or ".", exist_ok=True)
    stats, extra = {}, []
    if ref.n is not None:
        stats = {s: tables.statistics(r.df, r.n, r.value_columns, r.tests) for s, r in sorted(per_seed.items())}
        tables.write_csv(stack({s: ci for s, (ci, _) in stats.items()}), f"{stem}_ci.csv", "%.10g")
        extra = [f"{stem}_ci.csv"]
    tables.write_csv(stack({s: per_seed[s].df for s in seeds}), f"{stem}.csv")
    if len(seeds) == 1:
        spread = stats[seeds[0]][1] if stats else None
        written = tables.render(ref.df, stem, caption, ref.marks, spread)
    else:
        mean, sd = mean_table([per_seed[s].df for s in seeds], keys)
        marks = agreed_marks([per_seed[s].marks for s in seeds], mean)
        written = tables.render(mean, stem, seeds_caption(caption, seeds), marks, sd)
    return [f"{stem}.csv", *written, *extra]


def write_robust_accuracy(
    grids: Mapping[int, pd.DataFrame],
    deltas: list,
    stem: str,
    caption: str,
    tests: Mapping[int, pd.DataFrame] | None = None,
) -> list[str]:
    """The robust-accuracy table of one attack (rows ε, columns δ: :func:`tables.robust_accuracy_table`) from each
    seed's accuracy grid (:func:`tables.accuracy_grid`), with 95% intervals; written as :func:`write_seeds`. With
    ``tests`` (per seed, :func:`tables.paired_tests` of this attack's cells against a reference attack's, rows keyed
    by ``eps`` and ``column``) the tests join the ``_ci.csv`` and a cell significantly below / above the reference
    is marked '-' / '+'."""
    per_seed = {}
    for s, g in sorted(grids.items()):
        table = tables.robust_accuracy_table(g, deltas)
        seed_tests = None if tests is None else tests[s]
        marks = None if seed_tests is None else tables.versus_marks(table, seed_tests)
        per_seed[s] = Replicate(table, marks, n=int(g["n"].iloc[0]), tests=seed_tests)
    return write_seeds(per_seed, stem, caption, keys=["eps"])
