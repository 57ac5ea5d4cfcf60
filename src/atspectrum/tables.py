"""Tables of the paper, built from per-example evaluation results, written as CSV, Markdown and LaTeX."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd

from . import io


def accuracy_grid(frames: dict[tuple[int, int], pd.DataFrame]) -> pd.DataFrame:
    """Long table (eps, delta, accuracy %, n) from per-example frames keyed by (ε, δ)."""
    rows = [{"eps": e, "delta": d, "accuracy": 100.0 * float(f["correct"].mean()), "n": len(f)}
            for (e, d), f in sorted(frames.items())]
    return pd.DataFrame(rows, columns=["eps", "delta", "accuracy", "n"])


def models_table(grid: pd.DataFrame, metrics: dict[int, dict]) -> pd.DataFrame:
    """Table 3/4: per ε the clean accuracy (δ = 0) and the PGD_ε-20 accuracy (δ = ε), plus the selected epoch."""
    acc = grid.set_index(["eps", "delta"])["accuracy"]
    rows = []
    for eps in sorted(grid["eps"].unique()):
        m = metrics.get(int(eps), {})
        rows.append({"eps": int(eps), "clean_acc": acc[(eps, 0)], "pgd_eps_acc": acc[(eps, eps)],
                     "selected_epoch": m.get("selected_epoch"), "val_robust_acc": m.get("val_robust_acc")})
    return pd.DataFrame(rows)


def robust_accuracy_table(grid: pd.DataFrame, deltas: list[int]) -> pd.DataFrame:
    """Rows ε, columns δ: PGD_δ-20 accuracy (%)."""
    sub = grid[grid["delta"].isin(deltas)]
    table = sub.pivot(index="eps", columns="delta", values="accuracy").sort_index()
    table.columns = [f"delta{d}" for d in table.columns]
    return table.reset_index()


def overdesign_table(grid: pd.DataFrame, deltas: list[int]) -> pd.DataFrame:
    """Per δ: the ε with the lowest robust error (ties: the smaller ε), ε* − δ, and its error against the largest ε's."""
    rows = []
    max_eps = int(grid["eps"].max())
    for d in sorted(deltas):
        sub = grid[grid["delta"] == d].sort_values("eps")
        err = 100.0 - sub.set_index("eps")["accuracy"]
        best = int(err.idxmin())
        rows.append({"delta": d, "eps_star": best, "eps_star_minus_delta": best - d,
                     "error_at_eps_star": float(err[best]), "max_eps": max_eps,
                     "error_at_max_eps": float(err[max_eps]), "gain": float(err[max_eps] - err[best])})
    return pd.DataFrame(rows)


def _direction(value: float, base: float) -> str:
    """'+' above the unquantized value, '-' below it, '' for a tie."""
    return "" if value == base else ("+" if value > base else "-")


def quantization_table(acc: dict[tuple[int, int, str], float], eps: list[int], deltas: list[int],
                       layers: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 1 / 6–17: rows (δ, layer) with the unquantized row ``none`` first, columns ε; plus the marks:
    '+' where a quantized cell beats the unquantized one of its (δ, ε), '-' where it falls below it."""
    rows, marks = [], []
    for d in sorted(deltas):
        for layer in ["none", *[l for l in layers if l != "none"]]:
            values = [acc[(e, d, layer)] for e in eps]
            base = [acc[(e, d, "none")] for e in eps]
            rows.append({"delta": d, "layer": layer, **{f"eps{e}": v for e, v in zip(eps, values)}})
            marks.append(["", ""] + ["" if layer == "none" else _direction(v, b) for v, b in zip(values, base)])
    table = pd.DataFrame(rows)
    return table, pd.DataFrame(marks, columns=table.columns)


def quantization_clean_table(acc: dict[tuple[int, str, float | None], float], eps: list[int], layers: list[str],
                             betas: list[float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tables 18/19: clean accuracy after quantization, rows β × layer (the unquantized row first), columns ε."""
    rows, marks = [], []
    base = [acc[(e, "none", None)] for e in eps]
    rows.append({"beta": "–", "layer": "none", **{f"eps{e}": v for e, v in zip(eps, base)}})
    marks.append([""] * (2 + len(eps)))
    for b in betas:
        for layer in layers:
            values = [acc[(e, layer, b)] for e in eps]
            rows.append({"beta": f"{b:g}", "layer": layer, **{f"eps{e}": v for e, v in zip(eps, values)}})
            marks.append(["", ""] + [_direction(v, u) for v, u in zip(values, base)])
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
        rows.append({"corruption": name, **{f"eps{e}": 100.0 * f.loc[f["corruption"] == name, "correct"].mean()
                                             for e, f in sorted(frames.items())}})
    table = pd.DataFrame(rows)
    cols = [c for c in table.columns if c != "corruption"]
    table = pd.concat([table, pd.DataFrame([{"corruption": "average", **table[cols].mean().to_dict()}])],
                      ignore_index=True)
    return table, best_marks(table, cols)


def corruption_severity_table(frames: dict[int, pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accuracy over all corruptions per severity (rows), columns ε; the clean accuracy as severity 0."""
    per = {e: f.groupby("severity")["correct"].mean().mul(100.0) for e, f in sorted(frames.items())}
    table = pd.DataFrame({f"eps{e}": s for e, s in per.items()}).rename_axis("severity").reset_index()
    return table, best_marks(table, [c for c in table.columns if c != "severity"])


def corruption_average_table(averages: dict[str, pd.Series]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Table 2: one row per model, columns the union of ε (a model without that ε shows –)."""
    table = pd.DataFrame(averages).T
    table = table[sorted(table.columns, key=lambda c: int(c.removeprefix("eps")))]
    table = table.rename_axis("model").reset_index()
    return table, best_marks(table, [c for c in table.columns if c != "model"])


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    if isinstance(v, (float, np.floating)):
        return f"{v:.2f}"
    return str(v)


MARKDOWN_MARKS = {"+": "**{}**", "-": "_{}_", "2": "<u>{}</u>"}
LATEX_MARKS = {"+": r"\textbf{{{}}}", "-": r"\textit{{{}}}", "2": r"\underline{{{}}}"}


def _cells(df: pd.DataFrame, marks: pd.DataFrame | None, styles: dict, escape=lambda s: s) -> list[list[str]]:
    """Formatted cells; where ``marks`` (same shape) holds '+' or '-', the cell is wrapped in that style."""
    rows = []
    for i, row in enumerate(df.itertuples(index=False)):
        cells = []
        for j, v in enumerate(row):
            text = escape(_fmt(v))
            mark = marks.iat[i, j] if marks is not None else ""
            cells.append(styles[mark].format(text) if mark in styles else text)
        rows.append(cells)
    return rows


def to_markdown(df: pd.DataFrame, caption: str = "", marks: pd.DataFrame | None = None) -> str:
    header = "| " + " | ".join(map(str, df.columns)) + " |"
    sep = "|" + "|".join("---:" for _ in df.columns) + "|"
    body = ["| " + " | ".join(cells) + " |" for cells in _cells(df, marks, MARKDOWN_MARKS)]
    text = "\n".join([header, sep, *body]) + "\n"
    return (f"{caption}\n\n" if caption else "") + text


def _tex_escape(s: str) -> str:
    return str(s).replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%").replace("&", r"\&")


def to_latex(df: pd.DataFrame, caption: str = "", label: str = "", marks: pd.DataFrame | None = None) -> str:
    cols = "r" * len(df.columns)
    lines = [r"\begin{table}[t]", r"\centering", rf"\begin{{tabular}}{{{cols}}}", r"\toprule",
             " & ".join(_tex_escape(c) for c in df.columns) + r" \\", r"\midrule"]
    lines += [" & ".join(cells) + r" \\" for cells in _cells(df, marks, LATEX_MARKS, _tex_escape)]
    lines += [r"\bottomrule", r"\end{tabular}"]
    if caption:
        lines.append(rf"\caption{{{_tex_escape(caption)}}}")
    if label:
        lines.append(rf"\label{{{label}}}")
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"


def write(df: pd.DataFrame, stem: str, caption: str = "", marks: pd.DataFrame | None = None) -> list[str]:
    """Write ``stem``.csv, .md and .tex atomically; returns the paths. ``marks`` (same shape as ``df``, cells '+',
    '-' or '') styles cells in Markdown/LaTeX: '+' bold, '-' italic."""
    os.makedirs(os.path.dirname(stem) or ".", exist_ok=True)
    with io.atomic_path(f"{stem}.csv") as tmp:
        df.to_csv(tmp, index=False, float_format="%.4f")
    io.write_text(f"{stem}.md", to_markdown(df, caption, marks))
    io.write_text(f"{stem}.tex", to_latex(df, caption, label=f"tab:{os.path.basename(stem)}", marks=marks))
    return [f"{stem}.{ext}" for ext in ("csv", "md", "tex")]
