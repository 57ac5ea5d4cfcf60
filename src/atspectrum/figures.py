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


def quantization_gain(gain: pd.DataFrame, title: str, path: str) -> None:
    """Heatmaps of quantized − unquantized accuracy (points): one panel per (β, δ), layer × ε cells, a diverging
    palette centred at zero shared by all panels. ``gain`` has columns beta, delta, layer, eps, gain."""
    betas, deltas = sorted(gain["beta"].unique()), sorted(gain["delta"].unique())
    layers = list(dict.fromkeys(gain["layer"]))
    n_eps = gain["eps"].nunique()
    limit = max(float(gain["gain"].abs().max()), 1e-9)
    fig, axes = plt.subplots(len(betas), len(deltas), squeeze=False,
                             figsize=(len(deltas) * (1.6 + 0.6 * n_eps) + 1.2, len(betas) * (1.1 + 0.45 * len(layers))))
    mesh = None
    for i, b in enumerate(betas):
        for j, d in enumerate(deltas):
            sub = gain[(gain["beta"] == b) & (gain["delta"] == d)]
            grid = sub.pivot(index="layer", columns="eps", values="gain").reindex(layers)
            ax = axes[i][j]
            sns.heatmap(grid, ax=ax, cmap="RdBu", center=0, vmin=-limit, vmax=limit, cbar=False,
                        annot=n_eps <= 13, fmt=".1f", annot_kws={"size": 7}, linewidths=0.5, linecolor="white")
            mesh = ax.collections[0]
            ax.set_title(f"β = {b:g}, δ = {d}", fontsize=9)
            ax.set_xlabel("ε (×1/255)" if i == len(betas) - 1 else "")
            ax.set_ylabel("quantized after" if j == 0 else "")
            ax.tick_params(axis="y", rotation=0)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    cax = fig.add_axes((0.92, 0.15, 0.02, 0.7))
    fig.colorbar(mesh, cax=cax, label="accuracy gain (points)")
    save(fig, [path])
