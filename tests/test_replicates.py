"""Tables and figures with one version per training seed (atspectrum.reporting.replicates, the figures' seed
column): one seed reads exactly as before seeds existed; several seeds give a CSV row per seed and a Markdown/LaTeX
table (and figures) of the mean with the across-seed SD."""

import os

import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.container import ErrorbarContainer

from atspectrum.reporting import figures, tables

N = 40  # examples behind every percentage cell: 40% and 60% are whole counts
KEYS = ["delta", "layer"]


def table(eps0=(40.0, 60.0, 50.0), eps8=(12.5, 25.0, float("nan")), layers=("none", "conv1", "none")) -> pd.DataFrame:
    return pd.DataFrame({"delta": [0, 0, 8], "layer": list(layers), "eps0": list(eps0), "eps8": list(eps8)})


def marks(**cells) -> pd.DataFrame:
    """Marks for :func:`table`: ``eps0=["", "+", ""]``; unnamed columns unmarked."""
    out = pd.DataFrame("", index=range(3), columns=["delta", "layer", "eps0", "eps8"])
    for col, values in cells.items():
        out[col] = values
    return out


def mcnemar_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"delta": [0, 0], "layer": ["conv1", "conv1"], "column": ["eps0", "eps8"], "p_value": [0.01, 0.5]}
    ).assign(significant=lambda t: t["p_value"] < 0.05)


def read(path) -> str:
    with open(path) as fh:
        return fh.read()


def test_one_seed_reads_as_write(tmp_path):
    """Bug caught: the one-seed table gets the means' caption sentence, SDs instead of Wilson half-widths, or loses
    its marks; or its CSVs lose their rows or the seed column."""
    df, m = table(), marks(eps0=["", "+", ""], eps8=["", "-", ""])
    old = tables.write(df, str(tmp_path / "old" / "t"), "Caption.", m, n=N, tests=mcnemar_frame())
    new = tables.write_seeds(
        {3: tables.Replicate(df, m, n=N, tests=mcnemar_frame())}, str(tmp_path / "new" / "t"), "Caption.", keys=KEYS
    )
    assert (
        [os.path.basename(p) for p in new]
        == [os.path.basename(p) for p in old]
        == ["t.csv", "t.md", "t.tex", "t_ci.csv"]
    )
    for ext in ("md", "tex"):
        assert read(tmp_path / "new" / f"t.{ext}") == read(tmp_path / "old" / f"t.{ext}")
    assert "**" in read(tmp_path / "new" / "t.md") and "±" in read(tmp_path / "new" / "t.md")
    for name in ("t.csv", "t_ci.csv"):
        seeded, plain = pd.read_csv(tmp_path / "new" / name), pd.read_csv(tmp_path / "old" / name)
        assert list(seeded.columns) == ["seed", *plain.columns] and (seeded["seed"] == 3).all()
        pd.testing.assert_frame_equal(seeded.drop(columns="seed"), plain)
    # without n: no intervals, and still write's Markdown
    tables.write(df, str(tmp_path / "old" / "u"), "Caption.", m)
    assert len(tables.write_seeds({0: tables.Replicate(df, m)}, str(tmp_path / "new" / "u"), "Caption.")) == 3
    assert read(tmp_path / "new" / "u.md") == read(tmp_path / "old" / "u.md")


def test_csv_holds_one_row_per_seed_and_row(tmp_path):
    """Bug caught: seeds written in the mapping's order (not ascending), a seed's rows reordered, or the seed
    column missing or not first."""
    a, b = table(eps0=(40.0, 60.0, 50.0)), table(eps0=(60.0, 40.0, 50.0))
    tables.write_seeds({7: tables.Replicate(b), 2: tables.Replicate(a)}, str(tmp_path / "t"), keys=KEYS)
    csv = pd.read_csv(tmp_path / "t.csv")
    assert list(csv.columns) == ["seed", "delta", "layer", "eps0", "eps8"]
    assert list(csv["seed"]) == [2, 2, 2, 7, 7, 7]
    assert list(csv["layer"]) == ["none", "conv1", "none"] * 2
    assert list(csv["eps0"]) == [40.0, 60.0, 50.0, 60.0, 40.0, 50.0]


def test_markdown_and_latex_show_mean_and_sd(tmp_path):
    """Bug caught: the population SD (ddof=0: 10.00), the Wilson half-width or the first seed's value shown
    instead of mean ± sample SD; key columns averaged; the caption not saying how many seeds."""
    a, b = table(eps0=(40.0, 60.0, 50.0)), table(eps0=(60.0, 40.0, 50.0))
    paths = tables.write_seeds(
        {0: tables.Replicate(a, n=N), 1: tables.Replicate(b, n=N)}, str(tmp_path / "t"), "Caption.", keys=KEYS
    )
    assert [os.path.basename(p) for p in paths] == ["t.csv", "t.md", "t.tex", "t_ci.csv"]
    md = read(tmp_path / "t.md")
    assert md.startswith(
        "Caption. Mean ± SD over 2 training seeds (0, 1); one row per seed in the CSV.\n\n"
        "| delta | layer | eps0 | eps8 |"
    )
    assert "| 0 | none | 50.00 ± 14.14 | 12.50 ± 0.00 |" in md
    assert "| 8 | none | 50.00 ± 0.00 | – |" in md  # a cell missing in the seeds stays missing
    tex = read(tmp_path / "t.tex")
    assert r"0 & conv1 & 50.00 $\pm$ 14.14 & 25.00 $\pm$ 0.00 \\" in tex
    assert "Mean ± SD over 2 training seeds (0, 1)" in tex


def test_marks_kept_only_where_every_seed_agrees(tmp_path):
    """Bug caught: the first (or any) seed's marks carried over where the seeds disagree."""
    a, b = table(), table(eps0=(60.0, 40.0, 50.0))
    ma = marks(eps0=["", "+", ""], eps8=["", "-", ""])
    mb = marks(eps0=["", "+", ""], eps8=["", "", ""])
    tables.write_seeds({0: tables.Replicate(a, ma), 1: tables.Replicate(b, mb)}, str(tmp_path / "t"), keys=KEYS)
    md = read(tmp_path / "t.md")
    assert "| 0 | conv1 | **50.00 ± 14.14** | 25.00 ± 0.00 |" in md
    assert "_" not in md.replace("| ", "").split("\n", 2)[-1]  # no italic cell: only seed 0 marks eps8 '-'
    # a seed without marks: no mark survives
    tables.write_seeds({0: tables.Replicate(a, ma), 1: tables.Replicate(b)}, str(tmp_path / "u"), keys=KEYS)
    assert "**" not in read(tmp_path / "u.md")


def test_non_numeric_columns_shown_when_seeds_agree(tmp_path):
    """Bug caught: a text column averaged (TypeError) or the first seed's text shown where the seeds differ; the
    default keys (the non-numeric columns) not used."""
    a = pd.DataFrame({"claim": ["C1", "C2"], "verdict": ["holds", "fails"], "value": [1.0, 2.0]})
    b = a.assign(verdict=["holds", "holds"], value=[3.0, 4.0])
    tables.write_seeds(
        {0: tables.Replicate(a), 1: tables.Replicate(b)}, str(tmp_path / "t"), keys=["claim"]
    )  # verdict: a value
    md = read(tmp_path / "t.md")
    assert "| C1 | holds | 2.00 ± 1.41 |" in md and "| C2 | varies | 3.00 ± 1.41 |" in md
    with pytest.raises(ValueError, match="seed 1"):  # by default verdict is a key: the rows differ
        tables.write_seeds({0: tables.Replicate(a), 1: tables.Replicate(b)}, str(tmp_path / "u"))


@pytest.mark.parametrize(
    "other, match",
    [
        (table().rename(columns={"eps8": "eps4"}), "seed 5: columns"),
        (table(layers=("none", "conv2", "none")), "seed 5: the rows"),
        (table().iloc[[1, 0, 2]], "seed 5: the rows"),  # same rows, another order
        (table().iloc[:2], "seed 5: the rows"),
    ],
)
def test_mismatched_seed_raises_naming_it(tmp_path, other, match):
    """Bug caught: seeds averaged row by row position without checking that the rows are the same ones."""
    per_seed = {1: tables.Replicate(table()), 5: tables.Replicate(other)}
    with pytest.raises(ValueError, match=match):
        tables.write_seeds(per_seed, str(tmp_path / "t"), keys=KEYS)
    assert not (tmp_path / "t.csv").exists()


def test_ci_file_has_every_seeds_statistics(tmp_path):
    """Bug caught: the long statistics of only one seed written, without the seed column, or without the tests."""
    a, b = table(), table(eps0=(60.0, 40.0, 50.0))
    tables.write_seeds(
        {0: tables.Replicate(a, n=N, tests=mcnemar_frame()), 1: tables.Replicate(b, n=N)},
        str(tmp_path / "t"),
        keys=KEYS,
    )
    ci = pd.read_csv(tmp_path / "t_ci.csv")
    assert list(ci.columns[:3]) == ["seed", "delta", "layer"] and "p_value" in ci.columns
    assert list(ci["seed"]) == [0] * 5 + [1] * 5  # 5 non-missing cells per seed
    assert list(ci.loc[ci["seed"] == 1, "count"]) == [24, 5, 16, 10, 20]
    assert ci.loc[(ci["seed"] == 0) & (ci["layer"] == "conv1"), "p_value"].tolist() == [0.01, 0.5]
    assert ci.loc[ci["seed"] == 1, "p_value"].isna().all()


# figures


@pytest.fixture
def drawn(monkeypatch):
    """The figures the figure functions save (inspectable after they are written)."""
    saved, save = [], figures.save

    def keep(fig, paths):
        saved.append(fig)
        save(fig, paths)

    monkeypatch.setattr(figures, "save", keep)
    return saved


EPS = [0, 2, 4]


def grid(seed: int) -> pd.DataFrame:
    return pd.DataFrame(
        [{"eps": e, "delta": d, "accuracy": 80.0 - abs(e - d) - 2 * seed, "n": N} for e in EPS for d in (0, 2)]
    )


def gain(seed: int) -> pd.DataFrame:
    rows = [(b, d, layer, e) for b in (0.1, 0.5) for d in (0, 2) for layer in ("conv1", "block1") for e in EPS]
    return pd.DataFrame(
        [{"beta": b, "delta": d, "layer": layer, "eps": e, "gain": 1.0 + 2 * seed} for b, d, layer, e in rows]
    )


def norms(seed: int) -> pd.DataFrame:
    kinds = [("conv1", "3x3", 1), ("short", "1x1", None), ("conv2", "3x3", 2), ("conv3", "3x3", 3)]
    frame = pd.DataFrame(
        [
            {"layer": name, "kind": kind, "index": idx, "eps": e, "mean": (idx or 0) + e + seed, "max": 1.0 + seed}
            for e in EPS
            for name, kind, idx in kinds
        ]
    )
    return frame.astype({"index": "Int64"})


def summary(seed: int) -> dict:
    stat = {"mean": 0.5 + seed, "neg_minus_pos_fraction": 0.1 * seed, "neg_minus_pos": seed, "severity": 5}
    return {e: {k: dict(stat) for k in ("code", "text", "clean")} for e in EPS}


def seeded(make, seeds) -> pd.DataFrame:
    return pd.concat([make(s).assign(seed=s) for s in seeds], ignore_index=True)


FIGURES = {
    "robust_error": (grid, lambda x, p: figures.robust_error(x, [0, 2], "title", [p])),
    "quantization_gain": (gain, lambda x, p: figures.quantization_gain(x, "title", p)),
    "filter_norms": (norms, lambda x, p: figures.filter_norms(x, "mean", "title", p)),
}


@pytest.mark.parametrize("name", FIGURES)
def test_figure_with_one_seed_draws_as_without_seeds(tmp_path, name):
    """Bug caught: a ``seed`` column with a single seed drawn as several (a band of nothing, '± nan' labels, a
    'mean over 1 seeds' colour bar), or tripping the function up."""
    make, draw = FIGURES[name]
    draw(make(0), str(tmp_path / "plain.png"))
    draw(make(0).assign(seed=4), str(tmp_path / "seeded.png"))
    assert (tmp_path / "plain.png").read_bytes() == (tmp_path / "seeded.png").read_bytes()


def test_robust_error_with_seeds_draws_mean_and_band(tmp_path, drawn):
    """Bug caught: the seeds' points drawn without their spread, or ε* taken from one seed."""
    figures.robust_error(seeded(grid, [0, 1]), [0, 2], "title", [str(tmp_path / "f.png")])
    assert (tmp_path / "f.png").stat().st_size > 1000
    (ax,) = drawn[0].axes
    assert np.allclose(ax.lines[0].get_ydata(), [21.0 + e for e in EPS])  # δ=0: errors 20 + ε and 22 + ε
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2  # one per δ
    y = bands[0].get_paths()[0].vertices[:, 1]
    assert (y.min(), y.max()) == pytest.approx((21 - np.sqrt(2), 25 + np.sqrt(2)))  # ± the SD, √2 (not a CI)
    best = [c.get_offsets()[0].tolist() for c in ax.collections if isinstance(c, PathCollection)]
    assert best == [[0, 21.0], [2, 21.0]]  # ε* per δ, on the mean curve


def test_quantization_gain_with_seeds_shows_the_mean(tmp_path, drawn):
    """Bug caught: several rows per cell not averaged (pivot fails) or the cells not annotated mean ± SD."""
    figures.quantization_gain(seeded(gain, [0, 1]), "title", str(tmp_path / "f.png"))
    assert (tmp_path / "f.png").stat().st_size > 1000
    texts = {t.get_text() for ax in drawn[0].axes[:-1] for t in ax.texts}
    assert texts == {"2.0\n±1.4"}  # gains 1 and 3: mean 2, SD √2
    assert drawn[0].axes[-1].get_ylim() == pytest.approx((-2.0, 2.0))  # the colour scale spans the means


def test_filter_norms_with_seeds_draws_mean_and_bands(tmp_path, drawn):
    """Bug caught: each seed's points joined into one zigzag line, or no spread drawn."""
    figures.filter_norms(seeded(norms, [0, 1, 2]), "mean", "title", str(tmp_path / "f.png"))
    assert (tmp_path / "f.png").stat().st_size > 1000
    (ax,) = drawn[0].axes
    assert np.allclose(ax.lines[0].get_ydata(), [1 + e + 1 for e in EPS])  # layer 1, mean of seeds 0–2
    assert len(ax.lines) == 3 and sum(isinstance(c, PolyCollection) for c in ax.collections) == 3


def test_preact_figure3_takes_one_summary_per_seed(tmp_path, drawn):
    """Bug caught: ``{seed: {ε: summary}}`` read as ``{ε: summary}``, the seeds not averaged, a one-seed mapping
    drawn differently from today's ``{ε: summary}``, or seeds with other ε accepted."""
    figures.preact_figure3({0: summary(0), 1: summary(1)}, "pre-ReLU", "title", str(tmp_path / "two.png"))
    assert (tmp_path / "two.png").stat().st_size > 1000
    left, right = drawn[0].axes
    assert len(left.containers) == 3 and all(isinstance(c, ErrorbarContainer) for c in left.containers)
    assert np.allclose(left.containers[0].lines[0].get_ydata(), [1.0] * len(EPS))  # 0.5 and 1.5
    assert np.allclose(right.containers[0].lines[0].get_ydata(), [5.0] * len(EPS))  # 0 % and 10 %
    figures.preact_figure3(summary(1), "pre-ReLU", "title", str(tmp_path / "plain.png"))
    figures.preact_figure3({7: summary(1)}, "pre-ReLU", "title", str(tmp_path / "one.png"))
    assert (tmp_path / "plain.png").read_bytes() == (tmp_path / "one.png").read_bytes()
    assert not drawn[1].axes[0].containers  # one seed: plain lines, no error bars
    other = {e: v for e, v in summary(1).items() if e != 4}
    with pytest.raises(ValueError, match="seed 1"):
        figures.preact_figure3({0: summary(0), 1: other}, "pre-ReLU", "title", str(tmp_path / "bad.png"))
