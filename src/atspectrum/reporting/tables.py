"""Tables of the paper, built from per-example evaluation results, written as CSV, Markdown and LaTeX."""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd

from atspectrum import stats
from atspectrum.runtime import io
from atspectrum.strengths import L2_SUFFIX, TOKEN_RE, strength, token


def eps_column(eps) -> str:
    """The column of a training strength: ``eps8``, ``eps0p5_l2`` (the token names an L2 strength's norm)."""
    return f"eps{token(eps)}"


def delta_column(delta) -> str:
    """The column of an attack strength: ``delta4``, ``delta0p5_l2``."""
    return f"delta{token(delta)}"


L2_NOTE = (
    "Threat model L2: eps and delta are L2 radii in [0, 1] pixel space (column eps0p5_l2 is eps = 0.5, "
    "delta1_l2 is delta = 1.0)."
)


def threat_note(df: pd.DataFrame) -> str:
    """The sentence that names the norm of a table of L2 strengths (a column or an eps / delta value in L2), else
    empty: an L∞ table reads as it always has, its strengths in 1/255."""
    columns = any(str(c).endswith(L2_SUFFIX) and c in percentage_columns(df) for c in df.columns)
    values = any(
        c in df.columns and df[c].map(lambda v: isinstance(v, float) and not pd.isna(v)).any() for c in ("eps", "delta")
    )
    return L2_NOTE if columns or values else ""


def accuracy_grid(frames: dict[tuple[int, int], pd.DataFrame]) -> pd.DataFrame:
    """Long table (eps, delta, accuracy %, n) from per-example frames keyed by (ε, δ)."""
    rows = [
        {"eps": e, "delta": d, "accuracy": 100.0 * float(f["correct"].mean()), "n": len(f)}
        for (e, d), f in sorted(frames.items())
    ]
    return pd.DataFrame(rows, columns=["eps", "delta", "accuracy", "n"])


def models_table(grid: pd.DataFrame, metrics: dict[int, dict]) -> pd.DataFrame:
    """Table 3/4: per ε the clean accuracy (δ = 0) and the PGD_ε-20 accuracy (δ = ε), plus the selected epoch."""
    acc = grid.set_index(["eps", "delta"])["accuracy"]
    rows = []
    for eps in sorted(grid["eps"].unique()):
        m = metrics.get(strength(eps), {})
        rows.append(
            {
                "eps": strength(eps),
                "clean_acc": acc[(eps, 0)],
                "pgd_eps_acc": acc[(eps, eps)],
                "selected_epoch": m.get("selected_epoch"),
                "val_robust_acc": m.get("val_robust_acc"),
            }
        )
    return pd.DataFrame(rows)


def robust_accuracy_table(grid: pd.DataFrame, deltas: list[int]) -> pd.DataFrame:
    """Rows ε, columns δ: PGD_δ-20 accuracy (%)."""
    sub = grid[grid["delta"].isin(deltas)]
    table = sub.pivot(index="eps", columns="delta", values="accuracy").sort_index()
    table.columns = [delta_column(d) for d in table.columns]
    return table.reset_index()


def overdesign_table(grid: pd.DataFrame, deltas: list[int]) -> pd.DataFrame:
    """Per δ: the ε with the lowest robust error (ties: the smaller ε), ε* − δ, and its error against the largest
    ε's."""
    rows = []
    max_eps = strength(grid["eps"].max())
    for d in sorted(deltas):
        sub = grid[grid["delta"] == d].sort_values("eps")
        err = 100.0 - sub.set_index("eps")["accuracy"]
        best = strength(err.idxmin())
        rows.append(
            {
                "delta": d,
                "eps_star": best,
                "eps_star_minus_delta": best - d,
                "error_at_eps_star": float(err[best]),
                "max_eps": max_eps,
                "error_at_max_eps": float(err[max_eps]),
                "gain": float(err[max_eps] - err[best]),
            }
        )
    return pd.DataFrame(rows)


def _direction(value: float, base: float, significant: bool = True) -> str:
    """'+' above the unquantized value, '-' below it, '' for a tie or a change that is not significant."""
    return "" if value == base or not significant else ("+" if value > base else "-")


CORRECTIONS = ("holm", "none")


def paired_tests(
    frames: dict, cells: list[tuple[dict, object, object]], alpha: float = 0.05, correction: str = "holm"
) -> pd.DataFrame:
    """Exact McNemar tests of quantized cells against their unquantized baseline, one family per table.

    ``frames`` maps a key to a per-example frame (``index``, ``correct``); each of ``cells`` is
    ``(row, key, base_key)``: ``row`` (a dict: the table's row keys and ``column``) names the cell in the long
    statistics file. Examples are paired by ``index``. ``correction`` is ``holm`` (family-wise error at ``alpha``
    over the table's cells) or ``none``. Columns: the row keys, ``gained`` (right only when quantized), ``lost``
    (right only unquantized), ``p_value``, ``p_adjusted`` and ``significant``."""
    if correction not in CORRECTIONS:
        raise ValueError(f"stats.correction must be one of {CORRECTIONS}, not {correction!r}")
    rows, p_values = [], []
    for row, key, base_key in cells:
        a, b = frames[key], frames[base_key]
        if len(a) != len(b) or not np.array_equal(a["index"].to_numpy(), b["index"].to_numpy()):
            raise ValueError(f"cannot pair {key} with {base_key}: they hold different test examples")
        test = stats.mcnemar(a["correct"].to_numpy(), b["correct"].to_numpy())
        rows.append({**row, "gained": test["a_only"], "lost": test["b_only"], "p_value": test["p_value"]})
        p_values.append(test["p_value"])
    out = pd.DataFrame(rows)
    if not rows:
        return out
    if correction == "holm":
        adjusted, reject = stats.holm(p_values, alpha)
    else:
        adjusted = np.asarray(p_values)
        reject = adjusted <= alpha
    out["p_adjusted"], out["significant"] = adjusted, reject
    return out


def versus_marks(table: pd.DataFrame, tests: pd.DataFrame) -> pd.DataFrame:
    """Marks shaped like a rows-ε table (:func:`robust_accuracy_table`) from :func:`paired_tests` of its cells (keyed
    by ``eps`` and ``column``) against a reference attack's: '-' where the cell is significantly below the reference
    (this attack breaks significantly more examples), '+' where significantly above, '' elsewhere."""
    marks = pd.DataFrame("", index=table.index, columns=table.columns)
    row_of = {strength(e): i for i, e in enumerate(table["eps"])}
    for _, t in tests.iterrows() if tests is not None else ():
        if t["significant"] and t["gained"] != t["lost"]:
            marks.iat[row_of[strength(t["eps"])], table.columns.get_loc(t["column"])] = (
                "+" if t["gained"] > t["lost"] else "-"
            )
    return marks


def significance(tests: pd.DataFrame, keys: list[str]) -> dict[tuple, bool]:
    """``{(row keys..., column): significant}`` from :func:`paired_tests`' frame."""
    if tests is None or tests.empty:
        return {}
    return {tuple(r[k] for k in keys) + (r["column"],): bool(r["significant"]) for _, r in tests.iterrows()}


def quantization_table(
    acc: dict[tuple[int, int, str], float],
    eps: list[int],
    deltas: list[int],
    layers: list[str],
    significant: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 1 / 6–17: rows (δ, layer) with the unquantized row ``none`` first, columns ε; plus the marks:
    '+' where a quantized cell beats the unquantized one of its (δ, ε), '-' where it falls below it. With
    ``significant`` (``{(δ, layer, "eps<ε>"): bool}``, see :func:`significance`) only significant changes are marked."""
    rows, marks = [], []
    for d in sorted(deltas):
        for layer in ["none", *[name for name in layers if name != "none"]]:
            values = [acc[(e, d, layer)] for e in eps]
            base = [acc[(e, d, "none")] for e in eps]
            rows.append({"delta": d, "layer": layer, **{eps_column(e): v for e, v in zip(eps, values)}})
            sig = [significant is None or layer == "none" or significant[(d, layer, eps_column(e))] for e in eps]
            marks.append(
                ["", ""] + ["" if layer == "none" else _direction(v, b, s) for v, b, s in zip(values, base, sig)]
            )
    table = pd.DataFrame(rows)
    return table, pd.DataFrame(marks, columns=table.columns)


def quantization_clean_table(
    acc: dict[tuple[int, str, float | None], float],
    eps: list[int],
    layers: list[str],
    betas: list[float],
    significant: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tables 18/19: clean accuracy after quantization, rows β × layer (the unquantized row first), columns ε;
    marks as in :func:`quantization_table` (``significant`` keyed ``("<β>", layer, "eps<ε>")``)."""
    rows, marks = [], []
    base = [acc[(e, "none", None)] for e in eps]
    rows.append({"beta": "–", "layer": "none", **{eps_column(e): v for e, v in zip(eps, base)}})
    marks.append([""] * (2 + len(eps)))
    for b in betas:
        for layer in layers:
            values = [acc[(e, layer, b)] for e in eps]
            rows.append({"beta": f"{b:g}", "layer": layer, **{eps_column(e): v for e, v in zip(eps, values)}})
            sig = [True if significant is None else significant[(f"{b:g}", layer, eps_column(e))] for e in eps]
            marks.append(["", ""] + [_direction(v, u, g) for v, u, g in zip(values, base, sig)])
    table = pd.DataFrame(rows)
    return table, pd.DataFrame(marks, columns=table.columns)


def best_marks(table: pd.DataFrame, value_columns: list[str]) -> pd.DataFrame:
    """Per row: '+' on the largest value, '2' on the second largest (ties share the mark)."""
    marks = pd.DataFrame("", index=table.index, columns=table.columns)
    for i, row in table.iterrows():
        values = sorted({float(v) for v in row[value_columns] if pd.notna(v)}, reverse=True)
        for col in value_columns:
            v = row[col]
            if pd.notna(v) and values and float(v) == values[0]:
                marks.loc[i, col] = "+"
            elif pd.notna(v) and len(values) > 1 and float(v) == values[1]:
                marks.loc[i, col] = "2"
    return marks


def corruption_table(frames: dict[int, pd.DataFrame], names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tables 20/21: rows corruptions (accuracy averaged over the evaluated severities) and their average,
    columns ε (eps0 is the standard, non-robust model); best and second best per row marked."""
    rows = []
    for name in names:
        rows.append(
            {
                "corruption": name,
                **{
                    eps_column(e): 100.0 * f.loc[f["corruption"] == name, "correct"].mean()
                    for e, f in sorted(frames.items())
                },
            }
        )
    table = pd.DataFrame(rows)
    cols = [c for c in table.columns if c != "corruption"]
    table = pd.concat(
        [table, pd.DataFrame([{"corruption": "average", **table[cols].mean().to_dict()}])], ignore_index=True
    )
    return table, best_marks(table, cols)


def corruption_severity_table(frames: dict[int, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accuracy over all corruptions per severity (rows), columns ε; the clean accuracy as severity 0."""
    per = {e: f.groupby("severity")["correct"].mean().mul(100.0) for e, f in sorted(frames.items())}
    table = pd.DataFrame({eps_column(e): s for e, s in per.items()}).rename_axis("severity").reset_index()
    return table, best_marks(table, [c for c in table.columns if c != "severity"])


def corruption_average_table(averages: dict[str, pd.Series]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 2: one row per model, columns the union of ε (a model without that ε shows –)."""
    table = pd.DataFrame(averages).T
    table = table[sorted(table.columns, key=lambda c: strength(c.removeprefix("eps")))]
    table = table.rename_axis("model").reset_index()
    return table, best_marks(table, [c for c in table.columns if c != "model"])


def preact_table(summary: dict[int, dict]) -> pd.DataFrame:
    """Figure 3's numbers, one row per ε, from :func:`atspectrum.analysis.figure3` per ε: ``code_*`` (the paper's
    code: per-corruption values at severity ``code_severity``, averaged over the corruptions; ``code_neg_minus_pos``
    is its raw count), ``text_*`` (the paper's text: every corruption and severity pooled) and ``clean_*`` (ours);
    ``*_neg_minus_pos_pct`` is 100 · (count negative − count positive) / number of values."""
    rows = []
    for e, s in sorted(summary.items()):
        row = {
            "eps": strength(e),
            "code_severity": s["code"]["severity"],
            "code_mean": s["code"]["mean"],
            "code_neg_minus_pos": s["code"]["neg_minus_pos"],
        }
        for key in ("code", "text", "clean"):
            if key != "code":
                row[f"{key}_mean"] = s[key]["mean"]
            row[f"{key}_neg_minus_pos_pct"] = 100.0 * s[key]["neg_minus_pos_fraction"]
        rows.append(row)
    return pd.DataFrame(rows)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    if isinstance(v, (float, np.floating)):
        return f"{v:.2f}" if v == 0 or abs(v) >= 0.01 else f"{v:.2g}"  # 0.001 stays 0.001, not 0.00
    return str(v)


MARKDOWN_MARKS = {"+": "**{}**", "-": "_{}_", "2": "<u>{}</u>"}
LATEX_MARKS = {"+": r"\textbf{{{}}}", "-": r"\textit{{{}}}", "2": r"\underline{{{}}}"}


def _cells(
    df: pd.DataFrame,
    marks: pd.DataFrame | None,
    styles: dict,
    escape=lambda s: s,
    spread: pd.DataFrame | None = None,
    pm: str = "±",
) -> list[list[str]]:
    """Formatted cells; where ``marks`` (same shape) holds '+' or '-', the cell is wrapped in that style; where
    ``spread`` (same shape) holds a number, it follows the value as ``± spread``."""
    rows = []
    for i, row in enumerate(df.itertuples(index=False)):
        cells = []
        for j, v in enumerate(row):
            text = escape(_fmt(v))
            h = spread.iat[i, j] if spread is not None else None
            if h is not None and pd.notna(h):
                text = f"{text} {pm} {h:.2f}"
            mark = marks.iat[i, j] if marks is not None else ""
            cells.append(styles[mark].format(text) if mark in styles else text)
        rows.append(cells)
    return rows


def percentage_columns(df: pd.DataFrame) -> list[str]:
    """The columns that hold an accuracy per ε or δ (``eps<ε>``, ``delta<δ>``)."""
    return [c for c in df.columns if re.fullmatch(rf"(eps|delta){TOKEN_RE}", str(c))]


def cell_intervals(df: pd.DataFrame, value_columns: list[str], n, z: float = stats.Z95) -> pd.DataFrame:
    """Long format, one row per non-missing percentage cell: the row's other columns (its keys), ``column``,
    ``value``, ``count`` and ``n`` (the cell is ``100 · count / n``) and the Wilson interval ``ci_low``/``ci_high``
    (in %, 95% by default). ``n`` is the number of examples behind every cell, or one number per row."""
    per_row = np.broadcast_to(np.asarray(n, dtype=np.int64), (len(df),))
    keys = [c for c in df.columns if c not in value_columns]
    rows = []
    for (_, row), rn in zip(df.iterrows(), per_row):
        for col in value_columns:
            v = row[col]
            if pd.isna(v):
                continue
            count = int(round(float(v) * rn / 100.0))
            if rn <= 0 or abs(100.0 * count / rn - float(v)) > 1e-6:
                raise ValueError(f"cell {col}={v} is not a percentage of {rn} examples")
            lo, hi = stats.wilson(count, int(rn), z)
            rows.append(
                {
                    **{k: row[k] for k in keys},
                    "column": col,
                    "value": float(v),
                    "count": count,
                    "n": int(rn),
                    "ci_low": 100.0 * lo,
                    "ci_high": 100.0 * hi,
                }
            )
    return pd.DataFrame(rows, columns=[*keys, "column", "value", "count", "n", "ci_low", "ci_high"])


def _spread(df: pd.DataFrame, ci: pd.DataFrame, value_columns: list[str]) -> pd.DataFrame:
    """Half the width of each cell's interval, shaped like ``df`` (missing where the cell has none)."""
    spread = pd.DataFrame(np.nan, index=range(len(df)), columns=df.columns)
    it = iter((ci["ci_high"] - ci["ci_low"]).div(2).tolist())
    for i in range(len(df)):
        for col in value_columns:
            if pd.notna(df[col].iat[i]):
                spread.at[i, col] = next(it)
    return spread


def to_markdown(
    df: pd.DataFrame, caption: str = "", marks: pd.DataFrame | None = None, spread: pd.DataFrame | None = None
) -> str:
    header = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---:" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cells) + " |" for cells in _cells(df, marks, MARKDOWN_MARKS, spread=spread)]
    text = "\n".join([header, sep, *body]) + "\n"
    return (f"{caption}\n\n" if caption else "") + text


def _tex_escape(s: str) -> str:
    return str(s).replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")


def to_latex(
    df: pd.DataFrame,
    caption: str = "",
    label: str = "",
    marks: pd.DataFrame | None = None,
    spread: pd.DataFrame | None = None,
) -> str:
    cols = "r" * len(df.columns)
    lines = [
        r"\begin{table}[t]",
        r"\centering",
        rf"\begin{{tabular}}{{{cols}}}",
        r"\toprule",
        " & ".join(_tex_escape(c) for c in df.columns) + r" \\",
        r"\midrule",
    ]
    lines += [" & ".join(cells) + r" \\" for cells in _cells(df, marks, LATEX_MARKS, _tex_escape, spread, r"$\pm$")]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(rf"\caption{{{_tex_escape(caption)}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def statistics(
    df: pd.DataFrame, n, value_columns: list[str] | None = None, tests: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The long statistics of ``df``'s percentage cells (:func:`cell_intervals` of ``value_columns``, default
    :func:`percentage_columns`, joined with ``tests`` where given) and their half-widths shaped like ``df``."""
    value_columns = percentage_columns(df) if value_columns is None else value_columns
    ci = cell_intervals(df, value_columns, n)
    spread = _spread(df, ci, value_columns)
    if tests is not None and not tests.empty:
        keys = [c for c in tests.columns if c in ci.columns]
        ci = ci.merge(tests, on=keys, how="left", validate="one_to_one")
    return ci, spread


def write_csv(df: pd.DataFrame, path: str, float_format: str = "%.4f") -> None:
    """``df`` as CSV at ``path``, atomically, without the index."""
    with io.atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format)


def render(
    df: pd.DataFrame, stem: str, caption: str, marks: pd.DataFrame | None, spread: pd.DataFrame | None
) -> list[str]:
    """Write ``stem``.md and .tex (see :func:`to_markdown`, :func:`to_latex`); returns their paths. A table of an L2
    model says so after its caption (:func:`threat_note`)."""
    caption = " ".join(part for part in (caption, threat_note(df)) if part)
    io.write_text(f"{stem}.md", to_markdown(df, caption, marks, spread))
    io.write_text(
        f"{stem}.tex", to_latex(df, caption, label=f"tab:{os.path.basename(stem)}", marks=marks, spread=spread)
    )
    return [f"{stem}.md", f"{stem}.tex"]


def write(
    df: pd.DataFrame,
    stem: str,
    caption: str = "",
    marks: pd.DataFrame | None = None,
    n=None,
    value_columns: list[str] | None = None,
    tests: pd.DataFrame | None = None,
) -> list[str]:
    """Write ``stem``.csv, .md and .tex atomically; returns the paths. ``marks`` (same shape as ``df``, cells '+',
    '-' or '') styles cells in Markdown/LaTeX: '+' bold, '-' italic.

    With ``n`` (examples behind each percentage cell: one number, or one per row) the table's percentage cells
    (``value_columns``; default :func:`percentage_columns`) get a 95% Wilson interval: ``± half-width`` in Markdown
    and LaTeX, and ``<stem>_ci.csv`` holds every interval in long format, joined with ``tests`` (from
    :func:`paired_tests`, keyed by the same row keys and ``column``) where given. One table per training seed:
    :func:`atspectrum.reporting.replicates.write_seeds`."""
    os.makedirs(os.path.dirname(stem) or ".", exist_ok=True)
    spread, extra = None, []
    if n is not None:
        ci, spread = statistics(df, n, value_columns, tests)
        write_csv(ci, f"{stem}_ci.csv", "%.10g")
        extra = [f"{stem}_ci.csv"]
    write_csv(df, f"{stem}.csv")
    return [f"{stem}.csv", *render(df, stem, caption, marks, spread), *extra]


def __getattr__(name: str):
    """``Replicate`` and ``write_seeds`` live in :mod:`atspectrum.reporting.replicates` (which builds on this module)
    and are re-exported here, imported on first use."""
    if name in ("Replicate", "write_seeds"):
        from atspectrum.reporting import replicates

        return getattr(replicates, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
