import os

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sst

from atspectrum import stats
from atspectrum.reporting import tables


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (50, 100), (9990, 10000), (10000, 10000), (1, 1)])
def test_wilson_matches_scipy(k, n):
    low, high = stats.wilson(k, n)
    ref = sst.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert low == pytest.approx(ref.low, abs=1e-9) and high == pytest.approx(ref.high, abs=1e-9)
    assert low <= k / n <= high


@pytest.mark.parametrize("a_only,b_only", [(0, 0), (5, 0), (12, 30), (40, 41), (3, 17)])
def test_mcnemar_exact_matches_a_binomial_test_on_the_discordant_pairs(a_only, b_only):
    concordant = 50
    a = np.array([True] * a_only + [False] * b_only + [True] * concordant + [False] * 7)
    b = np.array([False] * a_only + [True] * b_only + [True] * concordant + [False] * 7)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(a))  # pairing is by example, whatever the order
    result = stats.mcnemar(a[perm], b[perm])
    assert (result["a_only"], result["b_only"]) == (a_only, b_only)
    expected = 1.0 if a_only + b_only == 0 else sst.binomtest(a_only, a_only + b_only, 0.5).pvalue
    assert result["p_value"] == pytest.approx(expected, rel=1e-9)


def test_mcnemar_refuses_unpaired_results():
    with pytest.raises(ValueError, match="same examples"):
        stats.mcnemar(np.ones(3, bool), np.ones(4, bool))


def test_holm_step_down():
    adjusted, reject = stats.holm([0.01, 0.04, 0.03, 0.005], alpha=0.05)
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → monotone 0.06
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert list(reject) == [True, False, False, True]


def _frame(correct):
    correct = np.asarray(correct, dtype=bool)
    return pd.DataFrame({"index": np.arange(len(correct)), "label": 0, "pred": 0, "correct": correct})


def test_tables_mark_only_the_significant_quantized_cells():
    n = 200
    base = np.zeros(n, bool)
    base[:100] = True  # 50%
    big = base.copy()
    big[100:140] = True  # +40 examples, none lost: p ~ 2e-12
    small = base.copy()
    small[100:103] = True  # +3 examples: p = 0.25, not significant
    worse = base.copy()
    worse[:30] = False  # -30 examples: significant
    frames = {
        (0, 8, "none"): _frame(base),
        (0, 8, "conv0"): _frame(big),
        (0, 8, "layer1"): _frame(small),
        (4, 8, "none"): _frame(base),
        (4, 8, "conv0"): _frame(worse),
        (4, 8, "layer1"): _frame(base),
    }
    cells = [
        ({"delta": 8, "layer": layer, "column": f"eps{e}"}, (e, 8, layer), (e, 8, "none"))
        for layer in ("conv0", "layer1")
        for e in (0, 4)
    ]
    tests = tables.paired_tests(frames, cells, alpha=0.05, correction="holm")
    by_cell = tests.set_index(["layer", "column"])
    assert (by_cell.loc[("conv0", "eps0"), "gained"], by_cell.loc[("conv0", "eps0"), "lost"]) == (40, 0)
    assert by_cell.loc[("layer1", "eps0"), "p_value"] == pytest.approx(sst.binomtest(3, 3, 0.5).pvalue)
    # Holm: 4 tests; the smallest p is multiplied by 4, the largest (no discordant pairs: p = 1) stays 1
    assert by_cell.loc[("conv0", "eps0"), "p_adjusted"] == pytest.approx(4 * by_cell.loc[("conv0", "eps0"), "p_value"])
    assert list(by_cell["significant"]) == [True, True, False, False]
    acc = {k: 100 * f["correct"].mean() for k, f in frames.items()}
    table, marks = tables.quantization_table(
        acc, [0, 4], [8], ["conv0", "layer1"], tables.significance(tests, ["delta", "layer"])
    )
    assert list(marks["eps0"]) == ["", "+", ""]  # layer1's +1.5 points is not significant: unmarked
    assert list(marks["eps4"]) == ["", "-", ""]
    unmarked, _ = tables.quantization_table(acc, [0, 4], [8], ["conv0", "layer1"])
    assert list(_["eps0"]) == ["", "+", "+"]  # without tests every change is marked
    none = tables.paired_tests(frames, cells, alpha=0.05, correction="none")
    assert (none["p_adjusted"] == none["p_value"]).all()
    with pytest.raises(ValueError, match="stats.correction"):
        tables.paired_tests(frames, cells, correction="bonferroni")
    frames[(4, 8, "layer1")] = _frame(base[:-1])
    with pytest.raises(ValueError, match="different test examples"):
        tables.paired_tests(frames, cells)


def test_written_tables_carry_wilson_intervals(tmp_path):
    table = pd.DataFrame({"eps": [0, 8], "delta4": [50.0, 100.0], "delta8": [25.0, float("nan")]})
    paths = tables.write(table, str(tmp_path / "t"), "caption", n=[4, 200])
    assert [os.path.basename(p) for p in paths] == ["t.csv", "t.md", "t.tex", "t_ci.csv"]
    ci = pd.read_csv(tmp_path / "t_ci.csv")
    assert list(ci.columns) == ["eps", "column", "value", "count", "n", "ci_low", "ci_high"]
    assert list(zip(ci["eps"], ci["column"], ci["count"], ci["n"])) == [
        (0, "delta4", 2, 4),
        (0, "delta8", 1, 4),
        (8, "delta4", 200, 200),
    ]
    ref = sst.binomtest(2, 4).proportion_ci(method="wilson")
    assert ci.loc[0, "ci_low"] == pytest.approx(100 * ref.low) and ci.loc[0, "ci_high"] == pytest.approx(100 * ref.high)
    half = (ci.loc[0, "ci_high"] - ci.loc[0, "ci_low"]) / 2
    md = (tmp_path / "t.md").read_text()
    assert f"| 50.00 ± {half:.2f} |" in md and "| – |" in md  # a missing cell has no interval
    assert r"$\pm$" in (tmp_path / "t.tex").read_text()
    assert pd.read_csv(tmp_path / "t.csv").columns.tolist() == ["eps", "delta4", "delta8"]  # the table itself stays
    with pytest.raises(ValueError, match="not a percentage of 3"):
        tables.write(table, str(tmp_path / "u"), n=3)
