"""Figures of the paper (seaborn on a non-interactive matplotlib backend), written atomically.

Training seeds: every figure takes one result per training seed. The frames (:func:`robust_error`,
:func:`quantization_gain`, :func:`filter_norms`) may hold a ``seed`` column; :func:`preact_figure3` takes either one
summary per ε or one such mapping per seed. With several seeds a figure draws the mean over seeds and their sample
standard deviation (a band or error bars); with one seed, or no ``seed`` column, it draws what it drew before seeds
existed."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from atspectrum.runtime import io  # noqa: E402
from atspectrum.strengths import norm_of, unit_label  # noqa: E402


def save(fig, paths: list[str]) -> None:
    for path in paths:
        fmt = os.path.splitext(path)[1].lstrip(".")
        with io.atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, bbox_inches="tight", dpi=150)
    plt.close(fig)


def n_seeds(frame: pd.DataFrame) -> int:
    """The number of training seeds in ``frame``: its distinct ``seed`` values, 1 without that column."""
    return int(frame["seed"].nunique()) if "seed" in frame.columns else 1


def seed_mean(frame: pd.DataFrame, by: list[str], value: str) -> pd.DataFrame:
    """Per ``by`` group (sorted, as columns): ``value``, the mean over the group's rows (its seeds), and ``sd``,
    their sample standard deviation (ddof=1; missing for one seed)."""
    groups = frame.groupby(by, sort=True)[value]
    return pd.concat({value: groups.mean(), "sd": groups.std(ddof=1)}, axis=1).reset_index()


def strength_unit(values) -> str:
    """The unit of the strengths ``values`` (a model's ε or δ): ``×1/255`` for L∞, ``L2 radius`` for L2
    (atspectrum.strengths: a float strength is an L2 radius)."""
    first = next(iter(values), 0)
    return unit_label(norm_of(first.item() if hasattr(first, "item") else first))


def robust_error(grid: pd.DataFrame, deltas: list[int], title: str, paths: list[str]) -> None:
    """Figure 1: x = ε, y = PGD_δ-20 robust error (%), one curve per δ; each curve's minimum ε* marked. ``grid``:
    columns eps, delta, accuracy and optionally seed (several seeds: the mean curve in a ± SD band, ε* the minimum
    of the mean)."""
    sub = grid[grid["delta"].isin(deltas)].assign(error=lambda d: 100.0 - d["accuracy"])
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    palette = sns.color_palette("viridis", n_colors=len(deltas))
    band = {"errorbar": "sd"} if n_seeds(sub) > 1 else {}
    sns.lineplot(data=sub, x="eps", y="error", hue="delta", palette=palette, marker="o", ax=ax, **band)
    mean = seed_mean(sub, ["delta", "eps"], "error")
    for color, d in zip(palette, sorted(deltas)):
        curve = mean[mean["delta"] == d]
        best = curve.loc[curve["error"].idxmin()]
        ax.scatter([best["eps"]], [best["error"]], s=120, facecolors="none", edgecolors=[color], linewidths=2)
    unit = strength_unit(deltas)
    ax.set_xlabel(f"training strength ε ({unit})")
    ax.set_ylabel("robust error under PGD$_δ$-20 (%)")
    ax.set_title(title)
    ax.legend(title=f"δ ({unit})", ncol=2, fontsize="small")
    save(fig, paths)


def _gain_panel(ax, cells: pd.DataFrame, layers: list, limit: float, annot: bool, several: bool) -> None:
    """One heatmap panel: ``cells`` (layer, eps, gain = the mean over seeds, sd) as layer × ε; with ``annot`` each
    cell shows its mean, and with ``several`` seeds its ± SD below it."""
    grid = cells.pivot(index="layer", columns="eps", values="gain").reindex(layers)
    if annot and several:
        sd = cells.pivot(index="layer", columns="eps", values="sd").reindex(layers)
        annot = np.vectorize(lambda m, s: f"{m:.1f}\n±{s:.1f}")(grid.to_numpy(), sd.to_numpy())
    sns.heatmap(
        grid,
        ax=ax,
        cmap="RdBu",
        center=0,
        vmin=-limit,
        vmax=limit,
        cbar=False,
        annot=annot,
        fmt="" if several else ".1f",
        annot_kws={"size": 6 if several else 7},
        linewidths=0.5,
        linecolor="white",
    )


def quantization_gain(gain: pd.DataFrame, title: str, path: str) -> None:
    """Heatmaps of quantized − unquantized accuracy (points): one panel per (β, δ), layer × ε cells, a diverging
    palette centred at zero shared by all panels. ``gain`` has columns beta, delta, layer, eps, gain and optionally
    seed: with several seeds the cells show the mean gain over seeds, annotated with the mean and ± its SD."""
    several = n_seeds(gain) > 1
    cells = seed_mean(gain, ["beta", "delta", "layer", "eps"], "gain")
    betas, deltas = sorted(gain["beta"].unique()), sorted(gain["delta"].unique())
    layers = list(dict.fromkeys(gain["layer"]))
    n_eps = gain["eps"].nunique()
    limit = max(float(cells["gain"].abs().max()), 1e-9)
    fig, axes = plt.subplots(
        len(betas),
        len(deltas),
        squeeze=False,
        figsize=(len(deltas) * (1.6 + 0.6 * n_eps) + 1.2, len(betas) * (1.1 + 0.45 * len(layers))),
    )
    mesh = None
    for i, b in enumerate(betas):
        for j, d in enumerate(deltas):
            ax = axes[i][j]
            _gain_panel(ax, cells[(cells["beta"] == b) & (cells["delta"] == d)], layers, limit, n_eps <= 13, several)
            mesh = ax.collections[0]
            ax.set_title(f"β = {b:g}, δ = {d}", fontsize=9)
            ax.set_xlabel(f"ε ({strength_unit(gain['eps'])})" if i == len(betas) - 1 else "")
            ax.set_ylabel("quantized after" if j == 0 else "")
            ax.tick_params(axis="y", rotation=0)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.9, 1))
    cax = fig.add_axes((0.92, 0.15, 0.02, 0.7))
    label = f"accuracy gain (points), mean over {n_seeds(gain)} seeds" if several else "accuracy gain (points)"
    fig.colorbar(mesh, cax=cax, label=label)
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
    out. With a ``seed`` column holding several seeds: each layer's mean over seeds in a ± SD band."""
    if stat not in FILTER_NORM_LABELS:
        raise ValueError(f"unknown filter-norm statistic {stat!r}; choose one of {list(FILTER_NORM_LABELS)}")
    sub = frame[frame["kind"] != "1x1"].dropna(subset=[stat])
    several = n_seeds(sub) > 1
    names = sub.drop_duplicates("index").set_index("index")["layer"]
    sub = seed_mean(sub, ["index", "eps"], stat)
    layers = sorted(sub["index"].dropna().unique())
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ramp = sns.color_palette("Blues_d", n_colors=max(len(layers) - 2, 1))
    for k, idx in enumerate(layers):
        curve = sub[sub["index"] == idx]
        color = ("tab:red", "tab:orange")[k] if k < 2 else ramp[k - 2]
        if several:
            low, high = curve[stat] - curve["sd"], curve[stat] + curve["sd"]
            ax.fill_between(curve["eps"], low, high, color=color, alpha=0.2 if k < 2 else 0.1, lw=0)
        if k < 2:
            ax.plot(
                curve["eps"],
                curve[stat],
                marker="o",
                lw=2.5,
                color=color,
                label=f"layer {idx} ({names[idx]})",
                zorder=3,
            )
        else:
            ax.plot(curve["eps"], curve[stat], lw=1, color=color, alpha=0.8, label="layers 3+" if k == 2 else None)
    ax.set_xlabel(f"training strength ε ({strength_unit(frame['eps'])})")
    ax.set_ylabel(FILTER_NORM_LABELS[stat])
    ax.set_title(title)
    ax.legend(fontsize="small")
    save(fig, [path])


def _per_seed(summary: dict) -> dict:
    """``{seed: {ε: summary}}`` from either shape :func:`preact_figure3` takes: a value that is itself a summary
    (it has the key ``code``) means one seed's ``{ε: summary}``. Every seed must have the same ε."""
    if not summary:
        raise ValueError("no Figure 3 summary to plot")
    runs = {None: summary} if "code" in next(iter(summary.values())) else dict(summary)
    eps = sorted(next(iter(runs.values())))
    for seed, run in runs.items():
        if sorted(run) != eps:
            raise ValueError(f"seed {seed}: Figure 3 summaries for ε {sorted(run)}, other seeds for ε {eps}")
    return runs


def _seed_line(ax, x: list, values: np.ndarray, style: str, label: str) -> None:
    """``values`` (one row per seed) against ``x``: the line itself for one seed, else the mean with ± SD bars."""
    if len(values) == 1:
        ax.plot(x, values[0], style, label=label)
    else:
        ax.errorbar(x, values.mean(axis=0), yerr=values.std(axis=0, ddof=1), fmt=style, label=label, capsize=3)


def preact_figure3(summary: dict, kind: str, title: str, path: str) -> None:
    """Figure 3 from :func:`atspectrum.analysis.figure3` per ε. Left: the mean final ``kind`` feature value, as the
    paper's code computes it (average of the per-corruption means at severity 5; its figure), as its text describes
    it (all corruptions and severities pooled), and on the clean set (ours). Right: (count negative − count
    positive) / number of values, the same three ways (the code plots the raw count, averaged over corruptions).

    ``summary`` is ``{ε: summary}`` (one seed) or ``{seed: {ε: summary}}``; told apart by whether its values are
    summaries (they hold ``code``). With several seeds each point is the mean over seeds with ± SD error bars."""
    runs = _per_seed(summary)
    eps = sorted(next(iter(runs.values())))
    sev = next(iter(runs.values()))[eps[0]]["code"]["severity"]
    lines = (
        ("code", "-o", f"code: mean of per-corruption values, severity {sev}"),
        ("text", "--s", "text: all corruptions × severities pooled"),
        ("clean", ":^", "clean test set (ours)"),
    )
    sns.set_theme(style="whitegrid")
    fig, (a, b) = plt.subplots(1, 2, figsize=(10.4, 4.0))
    for key, style, label in lines:
        means = np.array([[run[e][key]["mean"] for e in eps] for run in runs.values()])
        fractions = np.array([[100 * run[e][key]["neg_minus_pos_fraction"] for e in eps] for run in runs.values()])
        _seed_line(a, eps, means, style, label)
        _seed_line(b, eps, fractions, style, label)
    a.set_ylabel(f"mean of final {kind} features")
    b.set_ylabel("(# negative − # positive) / # values (%)")
    for ax in (a, b):
        ax.set_xlabel(f"training strength ε ({strength_unit(eps)})")
        ax.legend(fontsize="small")
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, [path])
