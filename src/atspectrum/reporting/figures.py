"""Figures of the paper (seaborn on a non-interactive matplotlib backend), written atomically."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from atspectrum.runtime import io  # noqa: E402


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
    fig, axes = plt.subplots(
        len(betas),
        len(deltas),
        squeeze=False,
        figsize=(len(deltas) * (1.6 + 0.6 * n_eps) + 1.2, len(betas) * (1.1 + 0.45 * len(layers))),
    )
    mesh = None
    for i, b in enumerate(betas):
        for j, d in enumerate(deltas):
            sub = gain[(gain["beta"] == b) & (gain["delta"] == d)]
            grid = sub.pivot(index="layer", columns="eps", values="gain").reindex(layers)
            ax = axes[i][j]
            sns.heatmap(
                grid,
                ax=ax,
                cmap="RdBu",
                center=0,
                vmin=-limit,
                vmax=limit,
                cbar=False,
                annot=n_eps <= 13,
                fmt=".1f",
                annot_kws={"size": 7},
                linewidths=0.5,
                linecolor="white",
            )
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


FILTER_NORM_LABELS = {
    "mean": "mean over slices of max|w[o, i, :, :]| (paper)",
    "max": "max over slices of max|w[o, i, :, :]| (paper)",
    "op_norm": "L∞ operator norm  max_o Σ|w[o]| (ours)",
    "op_norm_bn": "BN-rescaled  max_o |γ_o|/σ_o · Σ|w[o]| (ours)",
}


def filter_norms(frame: pd.DataFrame, stat: str, title: str, path: str) -> None:
    """Figure 2 / 5 (``stat`` mean or max: the paper's) and our operator-norm figures (``op_norm``, ``op_norm_bn``):
    ``stat`` of each non-1×1 layer against ε; the first two layers in strong colours and thick lines, the others
    thin on a blue ramp. Layers without a value (``op_norm_bn`` of a conv no BatchNorm directly follows) are left
    out."""
    if stat not in FILTER_NORM_LABELS:
        raise ValueError(f"unknown filter-norm statistic {stat!r}; choose one of {list(FILTER_NORM_LABELS)}")
    sub = frame[frame["kind"] != "1x1"].dropna(subset=[stat]).sort_values(["index", "eps"])
    layers = sorted(sub["index"].dropna().unique())
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ramp = sns.color_palette("Blues_d", n_colors=max(len(layers) - 2, 1))
    for k, idx in enumerate(layers):
        curve = sub[sub["index"] == idx]
        if k < 2:
            ax.plot(
                curve["eps"],
                curve[stat],
                marker="o",
                lw=2.5,
                color=("tab:red", "tab:orange")[k],
                label=f"layer {idx} ({curve['layer'].iloc[0]})",
                zorder=3,
            )
        else:
            ax.plot(
                curve["eps"], curve[stat], lw=1, color=ramp[k - 2], alpha=0.8, label="layers 3+" if k == 2 else None
            )
    ax.set_xlabel("training strength ε (×1/255)")
    ax.set_ylabel(FILTER_NORM_LABELS[stat])
    ax.set_title(title)
    ax.legend(fontsize="small")
    save(fig, [path])


def preact_figure3(summary: dict[int, dict], kind: str, title: str, path: str) -> None:
    """Figure 3 from :func:`atspectrum.analysis.figure3` per ε. Left: the mean final ``kind`` feature value, as the
    paper's code computes it (average of the per-corruption means at severity 5; its figure), as its text describes
    it (all corruptions and severities pooled), and on the clean set (ours). Right: (count negative − count
    positive) / number of values, the same three ways (the code plots the raw count, averaged over corruptions)."""
    eps = sorted(summary)
    sev = summary[eps[0]]["code"]["severity"]
    lines = (
        ("code", "-o", f"code: mean of per-corruption values, severity {sev}"),
        ("text", "--s", "text: all corruptions × severities pooled"),
        ("clean", ":^", "clean test set (ours)"),
    )
    sns.set_theme(style="whitegrid")
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.4, 4.0))
    for key, style, label in lines:
        a.plot(eps, [summary[e][key]["mean"] for e in eps], style, label=label)
        b.plot(eps, [100 * summary[e][key]["neg_minus_pos_fraction"] for e in eps], style, label=label)
    a.set_ylabel(f"mean of final {kind} features")
    b.set_ylabel("(# negative − # positive) / # values (%)")
    for ax in (a, b):
        ax.set_xlabel("training strength ε (×1/255)")
        ax.legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, [path])
