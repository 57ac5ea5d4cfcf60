"""Strengths and their threat model (issue #24 part 4): tokens, the config's checks and the plan of an L2 model."""

import copy
import re

import numpy as np
import pytest

from atspectrum import config as C
from atspectrum import strengths
from atspectrum.planning import Plan, cells
from atspectrum.runtime import paths

GOOD = {
    "run": "t",
    "data": {"dataset": "fashion_mnist", "root": None, "val_size": 10},
    "models": {"r": {"arch": "resnet18", "width": 2, "eps": [0, 8]}},
    "overdesign": {"delta": [4, 8]},
    "quantization": {"delta": [8], "beta": [4]},
}
L2_MODEL = {"arch": "resnet18", "width": 2, "eps": [0, 0.5, 1], "threat_model": "l2"}


def l2_config(**top):
    cfg = copy.deepcopy(GOOD)
    cfg["models"] = {"r2": copy.deepcopy(L2_MODEL)}
    cfg["overdesign"]["delta"] = [0.25, 1]
    cfg["quantization"]["delta"] = [0.5]
    cfg.update(top)
    return C.validate(cfg, check_data=False)


@pytest.mark.parametrize(
    "value, token",
    [(8, "8"), (0, "0"), (np.int64(12), "12"), (0.5, "0p5_l2"), (1.0, "1_l2"), (0.0, "0_l2"), (1e-5, "0p00001_l2")],
)
def test_a_token_names_the_norm_and_reads_back_to_the_same_value_and_type(value, token):
    assert strengths.token(value) == token
    back = strengths.strength(token)
    assert back == value and type(back) is (float if isinstance(value, float) else int)
    assert strengths.norm_of(token) == ("l2" if isinstance(value, float) else "linf")


@pytest.mark.parametrize("bad", ["0p5", "8_l3", "-1", "eps8", "", "1.5"])
def test_what_is_no_token_is_refused(bad):
    with pytest.raises(ValueError, match="not a strength token"):
        strengths.strength(bad)


def test_a_wildcard_stays_a_wildcard():
    assert strengths.token("{eps}") == "{eps}"
    assert cells.Unit("m", 0, "pgd", "{delta}", "none").file("r") == "r/eval/m/seed0/units/pgd/delta{delta}/none.json"


def test_an_l2_config_reads_its_strengths_as_floats_and_its_paths_name_the_norm():
    cfg = l2_config()
    assert C.threat_model(cfg, "r2") == "l2"
    assert C.eps_list(cfg, "r2") == [0.0, 0.5, 1.0] and all(type(e) is float for e in C.eps_list(cfg, "r2"))
    assert C.pgd_deltas(cfg, "r2", 0.5) == [0.0, 0.25, 0.5, 1.0]
    assert C.train_config(cfg, "r2", 0.5).eps == 0.5
    plan = Plan(cfg, "results/t")
    every = (
        plan.pgd_cells("r2", 0) + plan.quant_cells("r2", 0) + [c for v in plan.checklist_cells(0).values() for c in v]
    )
    for cell in every:
        path = cell.path("results/t")
        assert "_l2/" in path and f"eps{strengths.token(cell.eps)}/" in path, path
        assert isinstance(cell.eps, float) and isinstance(cell.delta, float), cell  # δ = 0 too: no L∞ 0 sneaks in
        assert cells.parse(path) == cell
    assert paths.model_file("results/t", "r2", 0, 0.5) == "results/t/models/r2/seed0/eps0p5_l2/model.pt"
    assert paths.parse_model_file("results/t/models/r2/seed0/eps0p5_l2/model.pt")["eps"] == 0.5
    # the checklist's very large δ of an L2 model is its own: the L2 ball holding the L∞ ball of 64/255, i.e.
    # 64/255 · 28 on Fashion-MNIST, unless set
    assert any(c.delta == pytest.approx(64 / 255 * 28, abs=1e-4) for c in plan.checklist_cells(0)["pgd"])
    big = l2_config(checklist={"large_delta": {"l2_delta": 3.5}})
    assert any(c.delta == 3.5 for c in Plan(big, "r").checklist_cells(0)["pgd"])


def test_an_linf_models_paths_and_plan_are_as_before():
    cfg = C.validate(copy.deepcopy(GOOD), check_data=False)
    assert C.threat_model(cfg, "r") == "linf"
    plan = Plan(cfg, "results/t")
    assert {c.path("results/t") for c in plan.pgd_cells("r", 0)} == {
        f"results/t/eval/r/seed0/eps{e}/pgd/delta{d}/none.parquet"
        for e, d in [(0, 0), (0, 4), (0, 8), (8, 0), (8, 4), (8, 8)]
    }
    assert all(type(c.eps) is int and type(c.delta) is int for c in plan.pgd_cells("r", 0))
    # nothing L2-specific enters an L∞ model's checklist plan (it is a rule's params: a finished run stays current)
    assert "big_delta" not in C.checklist_settings(cfg) and "big_delta" not in plan.checklist["models"]["r"]


@pytest.mark.parametrize(
    "edit, key",
    [
        (lambda c: c["models"]["r"].update(eps=[0, 0.5]), "models.r.eps[1]"),
        (lambda c: c["overdesign"].update(delta=[4, 0.03]), "overdesign.delta[1]"),
        (lambda c: c["quantization"].update(delta=[2.5]), "quantization.delta[0]"),
    ],
)
def test_an_l2_strength_given_to_an_linf_model_fails_naming_the_key(edit, key):
    cfg = copy.deepcopy(GOOD)
    edit(cfg)
    with pytest.raises(
        C.ConfigError, match=rf"'{re.escape(key)}'.*not an integer.*threat_model linf.*1/255.*threat_model: l2"
    ):
        C.validate(cfg, check_data=False)


def test_linf_strengths_stay_within_the_pixel_range():
    cfg = copy.deepcopy(GOOD)
    cfg["models"]["r"]["eps"] = [0, 300]
    with pytest.raises(C.ConfigError, match=r"'models.r.eps\[1\]'.*above 255"):
        C.validate(cfg, check_data=False)


def test_a_1_255_unit_given_to_an_l2_model_beyond_the_images_diameter_fails():
    cfg = copy.deepcopy(GOOD)
    cfg["models"] = {"r2": {**L2_MODEL, "eps": [0, 64]}}  # Fashion-MNIST: the cube's diameter is 28
    with pytest.raises(C.ConfigError, match=r"'models.r2.eps\[1\]'.*diameter of the image cube \(28.0\).*not 1/255"):
        C.validate(cfg, check_data=False)


def test_the_overdesign_search_refuses_an_l2_model():
    cfg = copy.deepcopy(GOOD)
    cfg["models"]["r2"] = copy.deepcopy(L2_MODEL)
    cfg["overdesign"]["delta"] = [1, 2]
    cfg["overdesign"]["search"] = {"delta": [2]}
    with pytest.raises(C.ConfigError, match=r"'overdesign.search.models'.*'r2' has threat_model l2"):
        C.validate(cfg, check_data=False)
    cfg["overdesign"]["search"]["models"] = ["r"]
    C.validate(cfg, check_data=False)


def test_a_table_of_l2_strengths_says_so_and_an_linf_table_reads_as_before():
    import pandas as pd

    from atspectrum.reporting import tables

    grid = tables.accuracy_grid({(e, d): pd.DataFrame({"correct": [True, False]}) for e in (0, 8) for d in (0, 4)})
    linf = tables.robust_accuracy_table(grid, [4])
    assert list(linf.columns) == ["eps", "delta4"] and tables.threat_note(linf) == ""
    l2_grid = tables.accuracy_grid(
        {(e, d): pd.DataFrame({"correct": [True, False]}) for e in (0.0, 0.5) for d in (0.0, 1.0)}
    )
    l2 = tables.robust_accuracy_table(l2_grid, [1.0])
    assert list(l2.columns) == ["eps", "delta1_l2"] and tables.percentage_columns(l2) == ["delta1_l2"]
    assert tables.threat_note(l2) == tables.L2_NOTE
    assert tables.threat_note(tables.overdesign_table(l2_grid, [1.0])) == tables.L2_NOTE  # eps / delta values
