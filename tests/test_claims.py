"""The claims verdicts on results where the answer is known: each claim holds, does not hold or is inconclusive."""

import re
from pathlib import Path

import numpy as np
import pandas as pd

from atspectrum import config as atconfig
from atspectrum.planning import CellIndex, Plan
from atspectrum.reporting import claims, tables
from atspectrum.reporting.claims import FAILS, HOLDS, INCONCLUSIVE

N = 400  # test examples behind every synthetic frame


def frame(correct: int, n: int = N) -> pd.DataFrame:
    """Per-example results with the first ``correct`` examples right: two frames differ only in one direction,
    so a large difference is significant and a difference of one or two examples is not."""
    return pd.DataFrame({"index": np.arange(n), "correct": np.arange(n) < correct})


def verdicts(rows) -> dict[str, str]:
    return {r["part"]: r["verdict"] for r in rows}


# ---------------------------------------------------------------------------------------------------- C1 overdesign
EPS = [0, 4, 8, 12, 16]
DELTAS = [4, 8]


def pgd(acc) -> dict:
    """Frames (ε, δ) from ``acc(ε, δ)`` = number of correct examples."""
    return {(e, d): frame(acc(e, d)) for e in EPS for d in DELTAS}


def test_c1_holds_when_a_slightly_larger_eps_wins_significantly():
    # peak at eps = delta + 4, 40 examples above eps = delta and above the largest eps
    rows = claims.overdesign(pgd(lambda e, d: 200 - 10 * abs(e - (d + 4))), DELTAS)
    v = verdicts(rows)
    assert v["claim"] == HOLDS
    assert v["eps* > delta, significant gain over eps = delta"] == HOLDS
    assert v["largest eps worse than eps*"] == HOLDS
    assert "delta 4: eps* 8 50.0% vs eps 4 40.0%" in rows[1]["numbers"]  # the gain over eps = delta
    assert "supports at 2, opposes at 0 of 2" in rows[1]["numbers"]


def test_c1_does_not_hold_when_eps_equal_delta_is_best():
    rows = claims.overdesign(pgd(lambda e, d: 200 - 10 * abs(e - d)), DELTAS)
    v = verdicts(rows)
    assert v["eps* > delta, significant gain over eps = delta"] == FAILS
    assert v["claim"] == FAILS


def test_c1_does_not_hold_when_the_largest_eps_is_best():
    rows = claims.overdesign(pgd(lambda e, d: 100 + 5 * e), DELTAS)
    v = verdicts(rows)
    assert v["largest eps worse than eps*"] == FAILS and v["claim"] == FAILS


def test_c1_inconclusive_when_differences_are_a_few_examples():
    rows = claims.overdesign(pgd(lambda e, d: 200 - abs(e - (d + 4)) // 4), DELTAS)
    v = verdicts(rows)
    assert v["eps* > delta, significant gain over eps = delta"] == INCONCLUSIVE
    assert v["claim"] == INCONCLUSIVE


def test_c1_growth_of_eps_star_minus_delta_is_a_kendall_trend():
    eps, deltas = list(range(0, 17)), [1, 2, 3, 4, 5, 6]
    grows = {(e, d): frame(200 - 10 * abs(e - 2 * d)) for e in eps for d in deltas}  # eps* - delta = delta
    shrinks = {(e, d): frame(200 - 10 * abs(e - 8)) for e in eps for d in deltas}  # eps* = 8: gap falls
    part = "eps* - delta grows with delta (beside the claim)"
    assert verdicts(claims.overdesign(grows, deltas))[part] == HOLDS
    assert verdicts(claims.overdesign(shrinks, deltas))[part] == FAILS


def test_majority_needs_more_than_half_and_no_opposition():
    assert claims.majority(2, 0, 3) == HOLDS
    assert claims.majority(2, 0, 4) == INCONCLUSIVE
    assert claims.majority(3, 1, 4) == INCONCLUSIVE
    assert claims.majority(0, 3, 4) == FAILS


# --------------------------------------------------------------------------------------------------- C2 quantization
def quant_ci(per_layer: dict[str, tuple[int, int]], cells: int = 8) -> pd.DataFrame:
    """A quantization table's statistics: per layer, ``wins`` cells significantly better (gained 30, lost 0),
    ``losses`` significantly worse, the rest not significant."""
    rows = []
    for layer, (wins, losses) in per_layer.items():
        for k in range(cells):
            gained, lost, sig = (30, 0, True) if k < wins else (0, 30, True) if k < wins + losses else (3, 2, False)
            rows.append(
                {
                    "delta": 4 * (1 + k // 4),
                    "layer": layer,
                    "column": f"eps{k % 4}",
                    "gained": gained,
                    "lost": lost,
                    "significant": sig,
                }
            )
    rows.append({"delta": 0, "layer": "conv0", "column": "eps0", "gained": 0, "lost": 30, "significant": True})
    return pd.DataFrame(rows)


def test_c2_holds_when_quantization_wins_significantly_more_cells():
    ci = quant_ci({"conv0": (8, 0), "layer2": (0, 8)})
    rows = claims.quantization({"transfer": (8.0, ci), "bpda": (8.0, ci)}, "resnet18", ["conv0", "layer2"])
    v = verdicts(rows)
    assert v["claim"] == HOLDS
    assert "better in 8, worse in 0" in rows[1]["numbers"]  # the delta-0 (clean) loss is not counted
    assert v["survives apgd-bpda"] == INCONCLUSIVE and "not run" in rows[3]["numbers"]


def test_c2_uses_the_second_point_for_wideresnet():
    ci = quant_ci({"init_conv": (0, 8), "layer0": (8, 0)})
    rows = claims.quantization({"transfer": (8.0, ci), "bpda": (8.0, ci)}, "wrn28_10", ["init_conv", "layer0"])
    assert verdicts(rows)["claim"] == HOLDS and "after layer0" in rows[1]["numbers"]
    one = claims.quantization({"transfer": (8.0, ci)}, "wrn28_10", ["init_conv"])
    assert one[0]["verdict"] == INCONCLUSIVE and "not run: no second quantization point" in one[0]["numbers"]


def test_c2_does_not_hold_when_quantization_loses_and_is_inconclusive_on_few_cells():
    lose = quant_ci({"conv0": (0, 8)})
    assert (
        verdicts(claims.quantization({"transfer": (8.0, lose), "bpda": (8.0, lose)}, "resnet18", ["conv0"]))["claim"]
        == FAILS
    )
    few = quant_ci({"conv0": (3, 1)})
    v = verdicts(
        claims.quantization(
            {"transfer": (8.0, few), "bpda": (8.0, quant_ci({"conv0": (8, 0)})), "worst": (8.0, lose)},
            "resnet18",
            ["conv0"],
        )
    )
    assert v["quantized beats unquantized under transfer"] == INCONCLUSIVE and v["claim"] == INCONCLUSIVE
    assert v["survives the per-example worst case"] == FAILS
    # non-significant changes are not counted, however many point the same way
    none = quant_ci({"conv0": (0, 0)})
    rows = claims.quantization({"transfer": (8.0, none), "bpda": (8.0, none)}, "resnet18", ["conv0"])
    assert rows[0]["verdict"] == INCONCLUSIVE
    assert "better in 0, worse in 0, no significant change in 8" in rows[1]["numbers"]


# --------------------------------------------------------------------------------------------------- C3 filter norms
def norms(mean_of, max_of, eps=(0, 4, 8), layers=5) -> pd.DataFrame:
    rows = [
        {"eps": e, "layer": f"conv{i}", "kind": "3x3", "index": i, "mean": mean_of(e, i), "max": max_of(e, i)}
        for e in eps
        for i in range(1, layers + 1)
    ]
    rows += [{"eps": e, "layer": "shortcut", "kind": "1x1", "index": None, "mean": 99.0, "max": 99.0} for e in eps]
    return pd.DataFrame(rows).astype({"index": "Int64"})


def test_c3_holds_when_the_first_two_layers_dominate_and_grow():
    f = norms(lambda e, i: 1.0 + e if i <= 2 else 0.5, lambda e, i: 2.0 + e if i <= 2 else 1.0)
    v = verdicts(claims.filter_norms(f, "resnet18"))
    assert v == {
        "claim": HOLDS,
        "first two layers' mean norms largest": HOLDS,
        "first two layers' max norms monotone in eps": HOLDS,
    }
    assert "first two layers' max norms monotone in eps" not in verdicts(claims.filter_norms(f, "wrn28_10"))


def test_c3_does_not_hold_when_a_later_layer_is_larger_at_one_eps():
    f = norms(lambda e, i: (1.0 if i <= 2 else 0.5) + (1.0 if (e, i) == (8, 4) else 0.0), lambda e, i: 2.0 + e)
    rows = claims.filter_norms(f, "resnet18")
    assert verdicts(rows)["first two layers' mean norms largest"] == FAILS and rows[0]["verdict"] == FAILS
    assert "not larger at eps 8" in rows[1]["numbers"]


def test_c3_monotone_fails_when_a_max_norm_drops():
    f = norms(lambda e, i: 1.0 if i <= 2 else 0.5, lambda e, i: 3.0 - (e == 4) if i == 2 else 2.0 + e)
    rows = claims.filter_norms(f, "resnet18")
    assert verdicts(rows)["first two layers' max norms monotone in eps"] == FAILS
    assert "decreases at layer 2 at eps 4" in rows[2]["numbers"]


# ---------------------------------------------------------------------------------------------------- C4 corruptions
C4_EPS = [0, 1, 2, 4, 6, 8, 10, 12]
N_CORRUPT = 5000


def corruption_tables(acc: dict[int, float], means: dict[int, float]):
    """The corruption table's 'average' row (one stray corruption row besides), its intervals, the preact table."""
    counts = {e: round(a * N_CORRUPT / 100) for e, a in acc.items()}
    cols = {f"eps{e}": 100.0 * c / N_CORRUPT for e, c in counts.items()}
    table = pd.DataFrame([{"corruption": "fog", **{c: 50.0 for c in cols}}, {"corruption": "average", **cols}])
    ci = tables.cell_intervals(table, list(cols), N_CORRUPT)
    preact = pd.DataFrame({"eps": list(means), "code_mean": list(means.values())})
    return table, ci, preact


def test_c4_holds_when_accuracy_peaks_early_falls_and_preact_nears_zero():
    acc = {0: 75.0, 1: 70.0, 2: 71.0, 4: 68.0, 6: 66.5, 8: 64.0, 10: 62.5, 12: 60.0}
    means = {e: -2.0 + 0.1 * e for e in C4_EPS}  # |mean| shrinks
    rows = claims.corruptions(*corruption_tables(acc, means))
    assert all(r["verdict"] == HOLDS for r in rows), rows
    assert "best at eps 2" in rows[1]["numbers"]  # eps 0, more accurate, is not a candidate (as Table 2)
    assert "eps 0 (standard training): 75.0%" in rows[1]["numbers"]


def test_c4_does_not_hold_when_accuracy_rises_with_eps():
    acc = {e: 50.0 + 2 * e for e in C4_EPS}
    means = {e: -2.0 - 0.1 * e for e in C4_EPS}  # |mean| grows
    v = verdicts(claims.corruptions(*corruption_tables(acc, means)))
    assert v["best average corruption accuracy at a small eps (<= 2)"] == FAILS
    assert v["final pre-activation mean moves towards zero as eps grows"] == FAILS
    assert v["claim"] == FAILS


def test_c4_inconclusive_on_a_flat_noisy_curve():
    acc = {0: 60.0, 1: 60.2, 2: 61.0, 4: 60.1, 6: 60.9, 8: 60.3, 10: 60.8, 12: 60.4}
    means = {0: -1.0, 1: -1.1, 2: -0.9, 4: -1.2, 6: -0.95, 8: -1.15, 10: -1.0, 12: -1.05}
    rows = claims.corruptions(*corruption_tables(acc, means))
    v = verdicts(rows)
    assert v["accuracy falls with eps beyond it"] == INCONCLUSIVE
    assert v["final pre-activation mean moves towards zero as eps grows"] == INCONCLUSIVE
    assert v["claim"] == INCONCLUSIVE


def test_c4_fall_is_measured_beyond_the_best_eps_only():
    # a steep rise to eps 2, flat after it: no fall (the rise before the best must not count as a trend)
    acc = {0: 30.0, 1: 40.0, 2: 71.0, 4: 69.6, 6: 70.3, 8: 69.7, 10: 70.2, 12: 69.8}
    rows = claims.corruptions(*corruption_tables(acc, {e: -1.0 for e in C4_EPS}))
    fall = verdicts(rows)["accuracy falls with eps beyond it"]
    assert fall == INCONCLUSIVE and "over eps 2, 4, 6, 8, 10, 12" in rows[2]["numbers"]


def test_small_eps_is_two_or_the_runs_smallest_nonzero():
    assert claims.small_eps([0, 1, 2, 3, 12]) == 2
    assert claims.small_eps([0, 8, 16, 32]) == 8


def test_slope_interval_covers_a_known_slope():
    x = np.arange(10.0)
    slope, lo, hi = claims.slope_interval(x, 3.0 - 0.5 * x + np.tile([0.1, -0.1], 5))
    assert lo < -0.5 < hi and hi < 0 and abs(slope + 0.5) < 0.05


# --------------------------------------------------------------------------------------------- a results tree on disk
CONFIG = {
    "run": "claims",
    "device": "cpu",
    "data": {"dataset": "fashion_mnist", "val_size": 32, "train_size": 96, "test_size": 64},
    "models": {"rn": {"arch": "resnet18", "width": 2, "eps": [0, 4, 8, 12, 16], "quant_layers": ["conv0", "layer2"]}},
    "overdesign": {"delta": [4, 8]},
    "quantization": {"delta": [4, 8], "beta": [8, 12], "attacks": ["transfer", "bpda"]},
}


def write_tree(root: Path, plan: dict, config: dict) -> list:
    """Every file the claims read (the planned PGD cells, :func:`claims.table_inputs`), with answers known: C1 and C2
    hold, C3 fails (a later layer is larger); C4 is not configured. Returns the cells."""
    cells = Plan(config, str(root)).claims_cells()
    for f in [c.path(str(root)) for c in cells] + claims.table_inputs(plan, str(root)):
        path = root / f.removeprefix(f"{root}/")
        path.parent.mkdir(parents=True, exist_ok=True)
        m = re.search(r"eps(\d+)/pgd/delta(\d+)", f)
        if m:
            e, d = map(int, m.groups())
            frame(200 - 10 * abs(e - (d + 4))).to_parquet(path)
        elif "quantization_" in f:
            quant_ci({"conv0": (8, 0), "layer2": (0, 8)}).to_csv(path, index=False)
        elif "filter_norms" in f:
            norms(lambda e, i: 0.5 if i <= 2 else 1.0, lambda e, i: 1.0 + e, eps=(0, 4, 8, 12, 16)).to_csv(
                path, index=False
            )
    return cells


def test_the_claims_table_from_a_results_tree(tmp_path):
    config = atconfig.validate(dict(CONFIG), check_data=False)
    plan = claims.plan(config)
    assert plan["models"]["rn"]["betas"] == {"transfer": 8.0, "bpda": 8.0}  # the headline beta, not the largest
    root = tmp_path / "results" / "claims"
    cells = write_tree(root, plan, config)
    table = claims.evaluate(plan, str(root), CellIndex.of([c.path(str(root)) for c in cells]), cells)
    overall = table[table["part"] == "claim"].set_index("claim")["verdict"].to_dict()
    assert overall == {
        "C1 overdesign": HOLDS,
        "C2 quantization": HOLDS,
        "C3 filter norms": FAILS,
        "C4 corruptions": INCONCLUSIVE,
    }
    c4 = table[table["claim"] == "C4 corruptions"]
    assert c4["numbers"].tolist() == ["not run: corruptions is not configured"]
    assert list(table.columns) == claims.COLUMNS and set(table["verdict"]) <= set(claims.VERDICTS)
    assert "robust_error_rn.png" in table.loc[table["claim"] == "C1 overdesign", "figures"].iloc[0]
    written = tables.write(table, str(root / "tables" / "claims"), "Claims.")
    assert pd.read_csv(written[0])["verdict"].tolist() == table["verdict"].tolist()


def test_the_claims_category_sorts_first_in_the_report():
    """Snakemake's HTML report lists categories sorted by name (localeCompare): the claims must come first."""
    rules = Path(__file__).resolve().parents[1] / "workflow" / "rules"
    text = "\n".join(p.read_text() for p in rules.glob("*.smk"))
    names = set(re.findall(r'"(\d [a-z][a-z ]*)"', text))  # "0 run", "3 overdesign", ...
    claims_category = re.search(r'CLAIMS_CATEGORY = "([^"]+)"', text).group(1)
    assert {"0 checklist", "0 run", "3 overdesign", claims_category} <= names
    assert min(names, key=str.casefold) == claims_category  # a locale-style order ignores case
    assert min(names) == claims_category  # and so does code-point order
