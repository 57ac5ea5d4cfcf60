"""Attacks of the user's as columns of their own (eval.extra_attacks, issue #24 part 5): planned as cells and units
beside PGD's without changing any other, keyed by their target, kwargs and file, checked at planning (no torch) and
before the first job (the class), and every adversarial batch checked against its budget before it is classified."""

import copy
import importlib.util
import sys

import pytest
import torch
from synthetic import OWN_ATTACKS
from torch import nn

from atspectrum import attacks
from atspectrum import config as atconfig
from atspectrum.attacks import extra
from atspectrum.evaluation import evaluate
from atspectrum.evaluation import units as eval_units
from atspectrum.planning import PGD, Cell, Plan, Unit, jobs, outputs

USER_ATTACKS = (
    OWN_ATTACKS
    + """

class Strict:
    def __init__(self, model, eps):
        self.eps = eps

    def __call__(self, images, labels):
        return images


NOT_A_CLASS = 3
"""
)


@pytest.fixture
def user_file(tmp_path, monkeypatch):
    """``attacks_mine.py`` in a working directory of its own (targets are relative to it)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "attacks_mine.py").write_text(USER_ATTACKS)
    return "attacks_mine.py"


def _config(extra_attacks, **more):
    return {
        "data": {"dataset": "fashion_mnist"},
        "models": {"rn": {"arch": "resnet18", "width": 2, "eps": [0, 8]}},
        "overdesign": {"delta": [4, 8]},
        "eval": {"extra_attacks": extra_attacks},
        **more,
    }


def _plan(extra_attacks, **more):
    return Plan(atconfig.validate(_config(extra_attacks, **more), check_data=False), "results/x")


# ----------------------------------------------------------------------------------------------------------- planning


def test_each_extra_attack_is_a_unit_per_delta_over_every_eps_and_nothing_else_changes(user_file):
    base = Plan(atconfig.validate(_config({}), check_data=False), "results/x")
    del base.config["eval"]["extra_attacks"]  # absent: the key has no default
    plan = _plan({"signs": {"target": f"{user_file}:RandomSign"}, "fgsm": {"target": "torchattacks:FGSM"}})
    assert plan.extra_attacks == ["fgsm", "signs"]
    new = {u: c for u, c in plan.units.items() if u not in base.units}
    assert set(new) == {Unit("rn", 0, a, d, "none") for a in ("fgsm", "signs") for d in (4, 8)}
    for unit, cells in new.items():  # every eps, unquantized, at the unit's delta
        assert cells == [Cell("rn", 0, e, unit.attack, unit.delta) for e in (0, 8)]
    assert {u: plan.units[u] for u in base.units} == base.units  # every other unit as it was
    assert plan.settings("fgsm") == {"target": "torchattacks:FGSM", "kwargs": {}}
    assert jobs.grid_jobs(plan)["evaluate_extra"] == 4 and "evaluate_extra" not in jobs.grid_jobs(base)
    assert jobs.unit_rule("signs") == "evaluate_extra" and jobs.unit_rule("bpda5x") == "evaluate_quantized_steps"
    assert jobs.runtime_minutes(plan, "fgsm", 2) >= 30


def test_no_delta_zero_unit_the_clean_column_is_the_pgd_cell():
    plan = _plan({"fgsm": {"target": "torchattacks:FGSM"}}, overdesign={"delta": [0, 8]})
    assert {u.delta for u in plan.units if u.attack == "fgsm"} == {8}
    cells = plan.attack_tables("rn")
    assert Cell("rn", 0, 0, PGD, 0) in cells and Cell("rn", 0, 8, "fgsm", 8) in cells
    assert not any(c.attack == "fgsm" and c.delta == 0 for c in cells)
    # a reader declares the PGD units (clean and PGD's own side of the worst case) and the attack's units
    assert set(plan.inputs(cells)) == {
        Unit("rn", 0, a, d, "none").file("results/x") for a, d in ((PGD, 0), (PGD, 8), ("fgsm", 8))
    }


def test_the_tables_of_extra_attacks_are_targets_only_when_there_are_some():
    plan = _plan({"fgsm": {"target": "torchattacks:FGSM"}})
    stems = {"robust_accuracy_rn-fgsm", "robust_accuracy_rn-worst"}
    assert set(outputs.attack_outputs(plan, "rn")) == {
        f"results/x/tables/{s}{ext}" for s in stems for ext in (".csv", ".md", ".tex", "_ci.csv")
    }
    assert set(outputs.attack_outputs(plan, "rn")) <= set(outputs.targets(plan))
    assert outputs.attack_outputs(_plan({}), "rn") == []


def test_a_cells_key_follows_the_attacks_target_kwargs_and_file_contents(user_file):
    """What evaluate_unit.py keys a cell with: its unit's params (the settings: target and kwargs) and the digests of
    the files it reads, the attack's file included."""
    plan = _plan({"signs": {"target": f"{user_file}:RandomSign", "kwargs": {"scale": 0.5}}})

    with open("model.pt", "wb") as fh:  # stands in for the checkpoint and the test split the cell reads
        fh.write(b"weights")

    def key(settings, attack_file=user_file):
        params = {"model": "rn", "seed": 0, "attack": "signs", "settings": settings, "delta": 8, "q": "none"}
        files = {"model": "model.pt", "test": "model.pt", "adv": None, "attack_file": attack_file}
        return eval_units.cell_key_of_files(params, 8, "none", files)

    settings = plan.settings("signs")
    first = key(settings)
    assert key(copy.deepcopy(settings)) == first  # the same inputs: the same key
    assert key({**settings, "kwargs": {"scale": 0.25}}) != first
    assert key({**settings, "target": f"{user_file}:Strict"}) != first
    with open(user_file, "a") as fh:
        fh.write("# edited\n")
    assert key(settings) != first
    assert atconfig.extra_attack_files(plan.config, "signs") == [user_file]
    assert atconfig.extra_attack_files(_plan({"f": {"target": "torchattacks:FGSM"}}).config, "f") == []


# --------------------------------------------------------------------------------------------------------- the checks


@pytest.mark.parametrize(
    "name, entry, key, message",
    [
        ("Fgsm", {"target": "torchattacks:FGSM"}, "Fgsm", "lowercase identifier"),
        ("bpda", {"target": "torchattacks:FGSM"}, "bpda", "one of atspectrum's own attacks"),
        ("worst", {"target": "torchattacks:FGSM"}, "worst", "one of atspectrum's own attacks"),
        ("pgd5x", {"target": "torchattacks:FGSM"}, "pgd5x", "one of atspectrum's own attacks"),
        ("f", {"target": "torchattacks.FGSM"}, "f.target", "is not an attack class; use path/to/file.py:ClassName"),
        ("f", {"target": "mine.py:"}, "f.target", "is not an attack class"),
        ("f", {"target": "missing.py:Attack"}, "f.target", "file 'missing.py' does not exist"),
        ("f", {"target": "no_such_package.attacks:A"}, "f.target", "no module named 'no_such_package'"),
        ("f", {"target": "torchattacks:FGSM", "kwargs": [1, 2]}, "f.kwargs", "is not of type 'object'"),
        ("f", {"target": "torchattacks:FGSM", "kwargs": {"eps": 0.1}}, "f.kwargs.eps", "passes eps itself"),
        ("f", {"kwargs": {}}, "f", "'target' is a required property"),
    ],
)
def test_what_a_dry_run_can_tell_is_refused_at_planning_naming_the_key(user_file, name, entry, key, message):
    with pytest.raises(atconfig.ConfigError, match=f"config key 'eval.extra_attacks.{key}'.*{message}"):
        atconfig.validate(_config({name: entry}), check_data=False)


def test_planning_imports_no_attack_and_a_missing_torchattacks_says_how_to_install_it(user_file, monkeypatch):
    cfg = atconfig.validate(_config({"f": {"target": "torchattacks:FGSM"}}), check_data=False)
    assert atconfig.extra_attacks(cfg) == ["f"]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "torchattacks" else real(n, *a))
    with pytest.raises(atconfig.ConfigError, match=r"'eval.extra_attacks.f.target'.*requirements-attacks.txt"):
        atconfig.validate(_config({"f": {"target": "torchattacks:FGSM"}}), check_data=False)
    monkeypatch.setitem(sys.modules, "torchattacks", None)  # `import torchattacks` fails as when it is not installed
    with pytest.raises(extra.AttackClassError, match="pip install --no-deps -r envs/requirements-attacks.txt"):
        extra.attack_class("torchattacks:FGSM")


@pytest.mark.parametrize(
    "entry, key, message",
    [
        ({"target": "attacks_mine.py:Nope"}, "target", r"'Nope' in 'attacks_mine.py' does not exist; .*'RandomSign'"),
        ({"target": "attacks_mine.py:NOT_A_CLASS"}, "target", "is not a class"),
        ({"target": "torchattacks:FGSMM"}, "target", r"'FGSMM' in 'torchattacks' does not exist; .*'FGSM'"),
        ({"target": "attacks_mine.py:RandomSign", "kwargs": {"scael": 2}}, "kwargs", "unexpected keyword.*'scael'"),
        ({"target": "attacks_mine.py:Strict", "kwargs": {"steps": 2}}, "kwargs", "unexpected keyword.*'steps'"),
    ],
)
def test_what_needs_the_class_is_refused_before_the_first_job(user_file, entry, key, message):
    cfg = atconfig.validate(_config({"mine": entry}), check_data=False)  # a dry run plans it
    with pytest.raises(atconfig.ConfigError, match=f"config key 'eval.extra_attacks.mine.{key}'.*{message}"):
        atconfig.extra_attack_checks.check_constructible(cfg)


def test_good_extra_attacks_pass_the_checks(user_file):
    entries = {
        "signs": {"target": f"{user_file}:RandomSign", "kwargs": {"scale": 0.5}},
        "fgsm": {"target": "torchattacks:FGSM"},
        "pgd10": {"target": "torchattacks:PGD", "kwargs": {"steps": 10, "alpha": 0.01}},
    }
    cfg = atconfig.validate(_config(entries), check_data=False)
    atconfig.extra_attack_checks.check_constructible(cfg)


# --------------------------------------------------------------------------------------------- the budget, the seed


class Linear(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc = nn.Linear(2 * 4 * 4, 3)

    def forward(self, x, quantize=None):
        return self.fc(x.flatten(1))


def _data(n=10):
    g = torch.Generator().manual_seed(1)
    return torch.randint(0, 256, (n, 2, 4, 4), dtype=torch.uint8, generator=g), torch.randint(0, 3, (n,), generator=g)


class Beyond:
    """Moves every pixel by ``factor`` × its budget (a user's bug when factor > 1)."""

    def __init__(self, model, eps, factor=1.0):
        self.eps, self.factor = eps, factor

    def __call__(self, images, labels):
        return (images + self.factor * self.eps).clamp(0, 1)


class Returns:
    def __init__(self, model, eps, what):
        self.what = what

    def __call__(self, images, labels):
        return self.what(images)


class Draws:
    """Records what torch's global RNG gives it at each call (and leaves the images as they are)."""

    seen: list = []

    def __init__(self, model, eps):
        pass

    def __call__(self, images, labels):
        Draws.seen.append(torch.rand(1).item())
        return images


@pytest.fixture
def beyond():
    """The module of this file: its attack classes are targets ``<module>:Beyond``, ``<module>:Returns``."""
    return __name__


@pytest.mark.parametrize(
    "target, kwargs, message",
    [
        (
            "Beyond",
            {"factor": 1.01},
            r"extra attack 'bad' at delta 8/255 left its budget: max \|x_adv - x\| = .*8.08/255",
        ),
        ("Returns", {"what": lambda x: x * 2}, r"values in \[.*\], outside \[0, 1\]"),
        ("Returns", {"what": lambda x: x * float("nan")}, "NaN or infinite"),
        ("Returns", {"what": lambda x: x[:1]}, r"returned \(1, 2, 4, 4\), not adversarial images"),
        ("Returns", {"what": lambda x: (x * 255).to(torch.uint8)}, "torch.uint8 images"),
    ],
)
def test_an_attack_that_leaves_its_budget_fails_before_any_number(beyond, target, kwargs, message):
    images, labels = _data()
    settings = {"target": f"{beyond}:{target}", "kwargs": kwargs}
    with pytest.raises(extra.BudgetError, match=message):
        evaluate.extra_per_example(Linear(), images, labels, 8, "bad", settings, batch_size=4)


def test_within_the_budget_the_frame_is_the_attacks_verdict_and_reproducible(beyond, user_file):
    model, (images, labels) = Linear(), _data()
    exact = {"target": f"{beyond}:Beyond", "kwargs": {"factor": 1.0}}  # exactly at the budget passes
    frame = evaluate.extra_per_example(model, images, labels, 8, "edge", exact, batch_size=4)
    x = (images.float() / 255 + attacks.pixels(8)).clamp(0, 1)
    assert frame["pred"].tolist() == model(x).argmax(1).tolist() and len(frame) == 10
    signs = {"target": f"{user_file}:RandomSign", "kwargs": {}}
    runs = [evaluate.extra_per_example(model, images, labels, 8, "signs", signs, batch_size=4) for _ in range(2)]
    assert runs[0].equals(runs[1])
    # torch's global RNG is seeded from the unit's seed, delta and batch before each call (3 batches of 10 examples)
    draws = {"target": f"{beyond}:Draws", "kwargs": {}}
    seen = []
    for seed, delta in ((0, 8), (0, 8), (1, 8), (0, 4)):
        Draws.seen.clear()
        evaluate.extra_per_example(model, images, labels, delta, "draws", draws, batch_size=4, seed=seed)
        seen.append(list(Draws.seen))
    assert seen[0] == seen[1] and len(set(seen[0])) == 3  # the same per run, another per batch
    assert seen[2] != seen[0] and seen[3] != seen[0]  # another seed, another delta: other draws


def test_torchattacks_fgsm_is_the_fgsm_step_within_its_budget():
    model, (images, labels) = Linear(), _data()
    frame = evaluate.extra_per_example(
        model, images, labels, 8, "fgsm", {"target": "torchattacks:FGSM", "kwargs": {}}, batch_size=4
    )
    x = (images.float() / 255).requires_grad_(True)
    (grad,) = torch.autograd.grad(nn.functional.cross_entropy(model(x), labels), x)
    x_adv = (x + attacks.pixels(8) * grad.sign()).clamp(0, 1)
    assert frame["pred"].tolist() == model(x_adv).argmax(1).tolist()
    assert extra.build("torchattacks:FGSM", model, 8, {}).eps == attacks.pixels(8) == 8 / 255  # the one conversion


def test_an_l2_models_attack_gets_its_l2_budget_and_is_held_to_the_l2_ball():
    """An L2 model's δ (a float: atspectrum.strengths) gives the attack eps = δ itself, and the check measures the L2
    distance: an example 0.5·1.01 away in L2 fails at δ 0.5 although each of its pixels moved by far less than 0.5."""
    x = torch.rand(4, 1, 8, 8) * 0.5 + 0.25
    direction = torch.randn_like(x)
    direction /= direction.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    inside = x + 0.5 * 0.99 * direction
    assert extra.check_budget("mine", x, inside, 0.5).shape == x.shape
    with pytest.raises(
        extra.BudgetError, match=r"at delta 0.5 \(L2\) left its budget: max \|\|x_adv - x\|\|_2 = 0.505"
    ):
        extra.check_budget("mine", x, x + 0.5 * 1.01 * direction, 0.5)
    built = extra.build(
        type("Probe", (), {"__init__": lambda self, model, eps: setattr(self, "eps", eps)}), None, 0.5, {}
    )
    assert built.eps == 0.5 and extra.build(type(built), None, 8, {}).eps == pytest.approx(8 / 255)


def test_an_attack_that_breaks_significantly_more_than_pgd_is_marked_and_its_p_values_are_written(tmp_path):
    """The per-attack table tests each cell against PGD's on the same examples (exact McNemar, Holm): 40 examples
    that PGD leaves correct and the attack breaks are significant (italic, '-'); 2 of 40 are not (no mark)."""
    import pandas as pd

    from atspectrum.reporting import replicates, tables

    def frame(correct):
        return pd.DataFrame({"index": range(len(correct)), "correct": correct})

    pgd = {(8, 4): frame([True] * 60 + [False] * 40), (8, 8): frame([True] * 40 + [False] * 60)}
    mine = {(8, 4): frame([True] * 20 + [False] * 80), (8, 8): frame([True] * 38 + [False] * 62)}
    keyed = {("mine", *k): f for k, f in mine.items()} | {("pgd", *k): f for k, f in pgd.items()}
    cells = [({"eps": e, "column": tables.delta_column(d)}, ("mine", e, d), ("pgd", e, d)) for e, d in mine]
    tests = tables.paired_tests(keyed, cells, 0.05, "holm")
    grid = tables.accuracy_grid(mine)
    stem = str(tmp_path / "robust_accuracy_m-mine")
    replicates.write_robust_accuracy({0: grid}, [4, 8], stem, "mine", {0: tests})
    marks = tables.versus_marks(tables.robust_accuracy_table(grid, [4, 8]), tests)
    assert marks.loc[0, "delta4"] == "-" and marks.loc[0, "delta8"] == ""
    ci = pd.read_csv(f"{stem}_ci.csv").set_index("column")
    assert (
        ci.loc["delta4", "lost"] == 40 and ci.loc["delta4", "p_adjusted"] < 1e-6 and ci.loc["delta8", "p_value"] > 0.4
    )
    assert "_20.00" in open(f"{stem}.md").read()  # the Markdown shows the significant cell in italics
