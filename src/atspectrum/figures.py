"""Figures of the paper (seaborn on a non-interactive matplotlib backend), written atomically."""
from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from . import io  # noqa: E402


def save(fig, paths: list[str]) -> None:
    for path in paths:
        fmt = os.path.splitext(path)[1].lstrip(".")
        with io.atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, bbox_inches="tight", dpi=150)
    plt.close(fig)


def robust_error(grid: pd.DataFrame, deltas: list[int], title: str, paths: list[str]) -> None:
    """Figure 1: x = ε, y = PGD_δ-20 robust error (%), one curve per δ; each curve's minimum ε* marked."""
    sub = grid[grid["delta"].isin(deltas)].assign(error=lambda d: 100.0 - d["accuracy"])
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    palette = sns.color_palette("viridis", n_colors=len(deltas))
    sns.lineplot(data=sub, x="eps", y="error", hue="delta", palette=palette, marker="o", ax=ax)
    for color, d in zip(palette, sorted(deltas)):
        curve = sub[sub["delta"] == d]
        best = curve.loc[curve["error"].idxmin()]
        ax.scatter([best["eps"]], [best["error"]], s=120, facecolors="none", edgecolors=[color], linewidths=2)
    ax.set_xlabel("training strength ε (×1/255)")
    ax.set_ylabel("robust error under PGD$_δ$-20 (%)")
    ax.set_title(title)
    ax.legend(title="δ (×1/255)", ncol=2, fontsize="small")
    save(fig, paths)
