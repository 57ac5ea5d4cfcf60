"""atspectrum.paper: the paper's tables typed in as CSV — shapes, spot values copied from the paper's text, and the
cells the paper prints twice."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from atspectrum import paper
from atspectrum.specs import QUANT_POINTS

DELTAS = (2, 4, 6, 8, 10, 12)
BETAS = (4.0, 6.0, 8.0, 10.0, 12.0)
EPS = {"resnet18": tuple(range(13)), "wrn28_10": (0, 2, 4, 6, 8, 10, 12)}
LAYERS = {model: ("none", *points) for model, points in QUANT_POINTS.items()}
TABLE1_EPS = (2, 4, 8, 12)

# the appendix quantization tables: table -> (model, attack, beta)
APPENDIX = {
    6: ("resnet18", "bpda", 8.0),
    7: ("wrn28_10", "bpda", 8.0),
    8: ("resnet18", "transfer", 8.0),
    9: ("resnet18", "transfer", 4.0),
    10: ("resnet18", "transfer", 6.0),
    11: ("resnet18", "transfer", 10.0),
    12: ("resnet18", "transfer", 12.0),
    13: ("wrn28_10", "transfer", 8.0),
    14: ("wrn28_10", "transfer", 4.0),
    15: ("wrn28_10", "transfer", 6.0),
    16: ("wrn28_10", "transfer", 10.0),
    17: ("wrn28_10", "transfer", 12.0),
}
KEYS = {
    "quantization": ["table", "model", "attack", "beta", "eps", "delta", "layer"],
    "clean_quantized": ["table", "model", "beta", "eps", "layer"],
    "corruption_average": ["table", "model", "eps"],
    "corruptions": ["table", "model", "eps", "corruption"],
    "clean_and_pgd": ["table", "model", "eps", "metric"],
}
CORRUPTIONS = (
    "gaussian_noise shot_noise impulse_noise defocus_blur glass_blur motion_blur zoom_blur snow frost fog brightness "
    "contrast elastic_transform pixelate jpeg_compression speckle_noise gaussian_blur spatter saturate average"
).split()


def frames() -> dict[str, pd.DataFrame]:
    return {name: getattr(paper, name)() for name in KEYS}


def cell(frame: pd.DataFrame, **key) -> float:
    rows = frame.loc[(frame[list(key)] == pd.Series(key)).all(axis=1), "accuracy"]
    assert len(rows) == 1, (key, len(rows))
    return float(rows.iloc[0])


def test_columns_and_types():
    columns = {name: [*keys, "accuracy"] for name, keys in KEYS.items()}
    for name, frame in frames().items():
        assert list(frame.columns) == columns[name], name
        assert frame["accuracy"].dtype == "float64" and frame["table"].dtype == "int64", name
        assert frame["eps"].dtype == "int64", name


def test_accuracies_in_range_and_keys_unique():
    for name, frame in frames().items():
        assert frame["accuracy"].notna().all() and frame["accuracy"].between(0, 100).all(), name
        assert not frame.duplicated(KEYS[name]).any(), name


def test_loaders_return_copies():
    frame = paper.quantization()
    frame.loc[:, "accuracy"] = -1.0
    assert (paper.quantization()["accuracy"] >= 0).all()


def test_quantization_appendix_tables_are_full_grids():
    q = paper.quantization()
    assert set(q["table"]) == {1, *APPENDIX}
    for table, (model, attack, beta) in APPENDIX.items():
        t = q[q["table"] == table]
        assert len(t) == len(DELTAS) * len(LAYERS[model]) * len(EPS[model]), table  # 468 or 210
        assert set(t["model"]) == {model} and set(t["attack"]) == {attack} and set(t["beta"]) == {beta}, table
        assert set(zip(t["delta"], t["layer"], t["eps"])) == set(itertools.product(DELTAS, LAYERS[model], EPS[model]))


def test_table1_shape():
    t = paper.quantization().query("table == 1")
    assert len(t) == len(DELTAS) * 2 * len(TABLE1_EPS) * sum(len(layers) for layers in LAYERS.values())  # 528
    assert set(t["beta"]) == {8.0}
    for model, layers in LAYERS.items():
        m = t[t["model"] == model]
        grid = itertools.product(("transfer", "bpda"), DELTAS, layers, TABLE1_EPS)
        assert set(zip(m["attack"], m["delta"], m["layer"], m["eps"])) == set(grid), model


def test_table1_repeats_appendix_cells():
    """Table 1's cells are cells of Tables 8 and 6 (ResNet-18 transfer, BPDA) and 13 and 7 (WRN-28-10)."""
    q = paper.quantization()
    source = {
        ("resnet18", "transfer"): 8,
        ("resnet18", "bpda"): 6,
        ("wrn28_10", "transfer"): 13,
        ("wrn28_10", "bpda"): 7,
    }
    key = ["model", "attack", "beta", "eps", "delta", "layer"]
    t1 = q[q["table"] == 1]
    appendix = q[q["table"] != 1].assign(source=lambda f: [source.get((m, a)) for m, a in zip(f["model"], f["attack"])])
    appendix = appendix[appendix["table"] == appendix["source"]]
    merged = t1.merge(appendix, on=key, suffixes=("_t1", "_appendix"), validate="one_to_one")
    assert len(merged) == len(t1)
    differ = merged[merged["accuracy_t1"] != merged["accuracy_appendix"]]
    assert differ.empty, differ.to_string()


def test_unquantized_rows_agree_across_tables():
    """The ``none`` row is the unquantized model under PGD_δ-20: one value per model, δ, ε in every table."""
    q = paper.quantization()
    none = q[q["layer"] == "none"]
    assert (none.groupby(["model", "delta", "eps"])["accuracy"].nunique() == 1).all()
    c = paper.clean_quantized()
    assert (c[c["layer"] == "none"].groupby(["model", "eps"])["accuracy"].nunique() == 1).all()


@pytest.mark.parametrize(
    ("table", "model", "attack", "beta", "delta", "layer", "eps", "accuracy"),
    [
        # Table 1: first cell, last ResNet-18 and WRN cells, cells inside
        (1, "resnet18", "transfer", 8.0, 2, "none", 2, 77.85),
        (1, "resnet18", "bpda", 8.0, 2, "conv0", 2, 77.29),
        (1, "resnet18", "transfer", 8.0, 6, "conv0", 2, 41.13),
        (1, "resnet18", "bpda", 8.0, 12, "layer4", 12, 40.36),
        (1, "wrn28_10", "transfer", 8.0, 2, "init_conv", 2, 81.63),
        (1, "wrn28_10", "bpda", 8.0, 2, "init_conv", 2, 81.62),
        (1, "wrn28_10", "transfer", 8.0, 8, "layer0", 2, 22.75),
        (1, "wrn28_10", "transfer", 8.0, 12, "layer2", 12, 42.26),
        (1, "wrn28_10", "bpda", 8.0, 12, "layer2", 12, 42.65),
        # Table 6
        (6, "resnet18", "bpda", 8.0, 2, "none", 0, 18.15),
        (6, "resnet18", "bpda", 8.0, 8, "conv0", 1, 8.72),
        (6, "resnet18", "bpda", 8.0, 12, "layer4", 12, 40.36),
        # Table 7
        (7, "wrn28_10", "bpda", 8.0, 2, "none", 0, 2.43),
        (7, "wrn28_10", "bpda", 8.0, 4, "init_conv", 6, 72.91),
        (7, "wrn28_10", "bpda", 8.0, 12, "layer2", 12, 42.65),
        # Table 8 (δ labels slid in the text: the row printed "4 layer4" is δ = 2, "12 conv0" is δ = 10)
        (8, "resnet18", "transfer", 8.0, 2, "none", 0, 18.15),
        (8, "resnet18", "transfer", 8.0, 2, "layer4", 0, 18.33),
        (8, "resnet18", "transfer", 8.0, 10, "conv0", 2, 13.15),
        (8, "resnet18", "transfer", 8.0, 12, "layer4", 12, 39.02),
        # Table 9 (β = 4; slid labels as in Table 8)
        (9, "resnet18", "transfer", 4.0, 2, "none", 0, 18.15),
        (9, "resnet18", "transfer", 4.0, 2, "conv0", 0, 39.35),
        (9, "resnet18", "transfer", 4.0, 10, "conv0", 0, 0.31),
        (9, "resnet18", "transfer", 4.0, 12, "layer4", 12, 39.32),
        # Table 10 (β = 6)
        (10, "resnet18", "transfer", 6.0, 2, "none", 0, 18.15),
        (10, "resnet18", "transfer", 6.0, 6, "conv0", 8, 60.09),
        (10, "resnet18", "transfer", 6.0, 12, "layer4", 12, 39.06),
        # Table 11 (β = 10)
        (11, "resnet18", "transfer", 10.0, 2, "none", 0, 18.15),
        (11, "resnet18", "transfer", 10.0, 8, "conv0", 11, 53.06),
        (11, "resnet18", "transfer", 10.0, 12, "layer4", 12, 38.95),
        # Table 12 (β = 12; slid labels as in Table 8)
        (12, "resnet18", "transfer", 12.0, 2, "none", 0, 18.15),
        (12, "resnet18", "transfer", 12.0, 2, "layer4", 0, 18.39),
        (12, "resnet18", "transfer", 12.0, 10, "conv0", 1, 3.32),
        (12, "resnet18", "transfer", 12.0, 12, "layer4", 12, 39.03),
        # Table 13
        (13, "wrn28_10", "transfer", 8.0, 2, "none", 0, 2.43),
        (13, "wrn28_10", "transfer", 8.0, 2, "init_conv", 0, 2.35),
        (13, "wrn28_10", "transfer", 8.0, 12, "layer2", 12, 42.26),
        # Tables 14-17 (β = 4, 6, 10, 12)
        (14, "wrn28_10", "transfer", 4.0, 2, "none", 0, 2.43),
        (14, "wrn28_10", "transfer", 4.0, 10, "layer0", 2, 12.25),
        (14, "wrn28_10", "transfer", 4.0, 12, "layer2", 12, 42.14),
        (15, "wrn28_10", "transfer", 6.0, 2, "none", 0, 2.43),
        (15, "wrn28_10", "transfer", 6.0, 6, "layer0", 2, 40.59),
        (15, "wrn28_10", "transfer", 6.0, 12, "layer2", 12, 42.19),
        (16, "wrn28_10", "transfer", 10.0, 2, "none", 0, 2.43),
        (16, "wrn28_10", "transfer", 10.0, 8, "layer1", 6, 50.00),
        (16, "wrn28_10", "transfer", 10.0, 12, "layer2", 12, 42.21),
        (17, "wrn28_10", "transfer", 12.0, 2, "none", 0, 2.43),
        (17, "wrn28_10", "transfer", 12.0, 2, "layer0", 12, 71.20),
        (17, "wrn28_10", "transfer", 12.0, 12, "layer2", 12, 42.27),
    ],
)
def test_quantization_spot_values(table, model, attack, beta, delta, layer, eps, accuracy):
    frame = paper.quantization()
    key = dict(table=table, model=model, attack=attack, beta=beta, delta=delta, layer=layer, eps=eps)
    assert cell(frame, **key) == accuracy


def test_clean_quantized_shape():
    c = paper.clean_quantized()
    assert set(c["table"]) == {18, 19}
    for table, model in ((18, "resnet18"), (19, "wrn28_10")):
        t = c[c["table"] == table]
        assert len(t) == len(BETAS) * len(LAYERS[model]) * len(EPS[model]), table  # 390, 175
        assert set(t["model"]) == {model}
        assert set(zip(t["beta"], t["layer"], t["eps"])) == set(itertools.product(BETAS, LAYERS[model], EPS[model]))


@pytest.mark.parametrize(
    ("table", "model", "beta", "layer", "eps", "accuracy"),
    [
        (18, "resnet18", 4.0, "none", 0, 85.58),
        (18, "resnet18", 4.0, "none", 1, 92.25),  # as printed; Table 3 has 88.25 for this model's clean accuracy
        (18, "resnet18", 4.0, "layer4", 0, 85.30),  # printed on a row labelled "6" (slid β label)
        (18, "resnet18", 10.0, "layer1", 1, 92.30),  # printed on a row labelled "12"
        (18, "resnet18", 12.0, "conv0", 0, 82.60),
        (18, "resnet18", 12.0, "layer4", 12, 76.30),
        (19, "wrn28_10", 4.0, "none", 0, 85.45),
        (19, "wrn28_10", 6.0, "layer1", 2, 93.50),
        (19, "wrn28_10", 12.0, "layer2", 12, 75.50),
    ],
)
def test_clean_quantized_spot_values(table, model, beta, layer, eps, accuracy):
    assert cell(paper.clean_quantized(), table=table, model=model, beta=beta, layer=layer, eps=eps) == accuracy


def test_corruption_average():
    a = paper.corruption_average()
    assert set(a["table"]) == {2}
    assert len(a) == len(EPS["resnet18"]) + len(EPS["wrn28_10"])  # the WRN row's "-" cells left out
    for model, eps in EPS.items():
        assert sorted(a.loc[a["model"] == model, "eps"]) == list(eps)
    assert cell(a, model="resnet18", eps=0) == 66.0
    assert cell(a, model="resnet18", eps=1) == 81.8  # underlined in the paper
    assert cell(a, model="resnet18", eps=12) == 69.37
    assert cell(a, model="wrn28_10", eps=0) == 58.48
    assert cell(a, model="wrn28_10", eps=12) == 68.48


def test_corruptions():
    c = paper.corruptions()
    assert set(c["table"]) == {20, 21}
    for table, model in ((20, "resnet18"), (21, "wrn28_10")):
        t = c[c["table"] == table]
        assert len(t) == len(CORRUPTIONS) * len(EPS[model]), table  # 260, 140
        assert set(t["model"]) == {model}
        assert set(zip(t["corruption"], t["eps"])) == set(itertools.product(CORRUPTIONS, EPS[model]))
    spots = [
        (20, "gaussian_noise", 0, 51.33),
        (20, "gaussian_noise", 2, 84.09),
        (20, "frost", 2, 84.86),
        (20, "saturate", 12, 72.89),
        (20, "average", 12, 69.37),
        (21, "gaussian_noise", 0, 28.42),
        (21, "fog", 0, 72.36),
        (21, "jpeg_compression", 6, 86.0),
        (21, "average", 12, 68.48),
    ]
    for table, corruption, eps, accuracy in spots:
        assert cell(c, table=table, corruption=corruption, eps=eps) == accuracy, (table, corruption, eps)


def test_corruption_average_is_tables_20_21_average_row():
    a = paper.corruption_average()
    c = paper.corruptions().query("corruption == 'average'")
    merged = a.merge(c, on=["model", "eps"], validate="one_to_one")
    assert len(merged) == len(a)
    assert (merged["accuracy_x"] == merged["accuracy_y"]).all()
    # and that row is the mean of the 19 corruptions, to the printed rounding
    per = paper.corruptions().query("corruption != 'average'").groupby(["model", "eps"])["accuracy"].mean()
    assert ((per - c.set_index(["model", "eps"])["accuracy"]).abs() <= 0.011).all()


def test_clean_and_pgd():
    p = paper.clean_and_pgd()
    assert set(p["table"]) == {3, 4}
    for table, model in ((3, "resnet18"), (4, "wrn28_10")):
        t = p[p["table"] == table]
        assert len(t) == 2 * len(EPS[model]), table  # 26, 14
        assert set(zip(t["metric"], t["eps"])) == set(itertools.product(("clean", "pgd"), EPS[model]))
    spots = [
        (3, "clean", 0, 85.58),
        (3, "clean", 1, 88.25),
        (3, "pgd", 8, 48.75),
        (3, "pgd", 12, 39.06),
        (4, "clean", 0, 85.45),
        (4, "clean", 2, 88.41),
        (4, "pgd", 12, 42.17),
    ]
    for table, metric, eps, accuracy in spots:
        assert cell(p, table=table, metric=metric, eps=eps) == accuracy, (table, metric, eps)


def test_layer_names_valid_for_model():
    for frame in (paper.quantization(), paper.clean_quantized()):
        for model, layers in frame.groupby("model")["layer"]:
            assert set(layers) == set(LAYERS[model]), model
