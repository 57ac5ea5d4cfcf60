"""The sanity checklist: every check passes on sound input and fails on a deliberately broken one."""

import numpy as np
import pandas as pd
import pytest
import torch
from synthetic import bars
from torch import nn

from atspectrum import config as atconfig
from atspectrum.attacks import transfer
from atspectrum.attacks.quantize import Quantizer, apply
from atspectrum.evaluation import evaluate
from atspectrum.planning import CellIndex, Plan
from atspectrum.planning import checklist as CP
from atspectrum.reporting import checklist as C
from atspectrum.runtime import paths
from atspectrum.specs import APGDSpec, PGDSpec


def frame(correct: int, n: int = 100, seed: int = 0) -> pd.DataFrame:
    """A per-example frame with ``correct`` of ``n`` examples right (labels 0..2, wrong ones predicted +1)."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 3, n)
    ok = np.zeros(n, bool)
    ok[:correct] = True
    pred = np.where(ok, label, (label + 1) % 3)
    return pd.DataFrame({"index": np.arange(n), "label": label, "pred": pred, "correct": ok})


class Tiny(nn.Module):
    """conv → ReLU → (quantization point ``conv0``) → linear: small enough to attack in milliseconds."""

    quant_points = ("conv0",)

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.linear = nn.Linear(4 * 28 * 28, 3)

    def forward(self, x, quantize=None):
        h = apply(torch.relu(self.conv(x)), "conv0", quantize)
        return self.linear(h.flatten(1))


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """The model is tiny: one thread is faster than two fighting over a loaded machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    model = Tiny()
    images, labels = bars(256, 0)
    x = images.float() / 255
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(60):
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), labels).backward()
        opt.step()
    return model.eval()


@pytest.fixture(scope="module")
def test_set():
    return bars(64, 2)


def pgd(net, test_set, delta, steps, random_start=True, **kw):
    images, labels = test_set
    return evaluate.attack_per_example(net, images, labels, delta, PGDSpec(steps, 0.1, random_start), **kw)


def test_the_model_is_trained(net, test_set):
    assert C.accuracy(evaluate.classify_per_example(net, *test_set)) > 90


# ------------------------------------------------------------------------------------------ monotone in delta


def test_monotone_passes_when_accuracy_falls_and_fails_when_it_rises():
    falling = {0: frame(90), 4: frame(70), 8: frame(40), 16: frame(5)}
    ok = C.check_monotone(falling, tolerance=0.0)
    assert ok["status"] == "pass" and ok["value"] == 0 and "16: 5.00" in ok["measured"]
    rising = {**falling, 16: frame(42)}  # accuracy at delta 16 above that at delta 8
    bad = C.check_monotone(rising, tolerance=0.5)
    assert bad["status"] == "fail" and bad["value"] == pytest.approx(2.0) and bad["limit"] == 0.5
    assert "delta 8 to 16" in bad["measured"]
    assert C.check_monotone(rising, tolerance=2.0)["status"] == "pass"


def test_monotone_catches_a_slow_creep_over_several_deltas():
    # each neighbour rises 0.4 pp (under the tolerance), but delta 2 to 8 rises 1.2 pp
    creep = {d: frame(500 + 4 * i, n=1000) for i, d in enumerate((2, 4, 6, 8))}
    verdict = C.check_monotone(creep, tolerance=0.5)
    assert verdict["status"] == "fail" and verdict["value"] == pytest.approx(1.2)


def test_monotone_on_a_real_attack(net, test_set):
    frames = {d: pgd(net, test_set, d, 20)[0] for d in (0, 16, 32, 64)}
    assert C.check_monotone(frames, 0.0)["status"] == "pass"
    assert C.check_monotone({0: frames[0]}, 0.0)["status"] == "n/a"


# ------------------------------------------------------------------------------ very large delta, more steps


def test_large_delta_passes_for_pgd_and_fails_for_an_attack_that_does_nothing(net, test_set):
    real, _ = pgd(net, test_set, 64, 20)
    ok = C.check_large_delta(real, 64, 20, max_accuracy=1.0)
    assert ok["status"] == "pass" and ok["value"] <= 1.0 and "PGD_64-20" in ok["measured"]
    # the "attack" that does nothing: zero steps from no random start leaves the clean examples
    null, _ = pgd(net, test_set, 64, 0, random_start=False)
    bad = C.check_large_delta(null, 64, 20, max_accuracy=1.0)
    assert bad["status"] == "fail" and bad["value"] > 90


def test_more_steps_passes_for_a_converged_attack_and_fails_for_one_that_does_nothing(net, test_set):
    # delta 32: PGD-20 leaves about 44% of this model's test set, PGD-100 one example (1.6 pp) less
    base, _ = pgd(net, test_set, 32, 20)
    more, _ = pgd(net, test_set, 32, 100)
    assert 10 < C.accuracy(more) < 90
    ok = C.check_more_steps(base, more, 32, 20, 100, tolerance=2.0)
    assert ok["status"] == "pass", ok["measured"]
    for weak in (0, 5):  # an attack that does nothing, and one with too few steps to get anywhere
        null, _ = pgd(net, test_set, 32, weak, random_start=False)
        bad = C.check_more_steps(null, more, 32, weak, 100, tolerance=2.0)
        assert bad["status"] == "fail" and bad["value"] == pytest.approx(C.accuracy(null) - C.accuracy(more))
        assert bad["value"] > 40 and "PGD_32-100" in bad["measured"]


# ------------------------------------------------------------------------------------- transfer against BPDA


def test_transfer_far_below_bpda_fails():
    cell = {"delta": 8, "layer": "conv0", "beta": 4.0, "attack": "bpda"}
    good = [
        {**cell, "transfer": frame(50), "whitebox": frame(45)},
        {**cell, "layer": "layer2", "transfer": frame(30), "whitebox": frame(30)},
    ]
    assert C.check_transfer_vs_whitebox(good, tolerance=1.0)["status"] == "pass"
    bad = good + [{**cell, "beta": 8.0, "transfer": frame(10), "whitebox": frame(60)}]
    verdict = C.check_transfer_vs_whitebox(bad, tolerance=1.0)
    assert verdict["status"] == "fail" and verdict["value"] == pytest.approx(50.0)
    assert "beta 8" in verdict["measured"] and "1 of 3 cells" in verdict["measured"]
    assert C.check_transfer_vs_whitebox([], 1.0)["status"] == "n/a"


def test_gradient_masking_is_caught_and_bpda_passes(net, test_set):
    """PGD through the real floor (zero gradient) masks the gradient; the straight-through BPDA does not."""
    images, labels = test_set
    real = Quantizer("conv0", 2.0)
    _, adv = pgd(net, test_set, 40, 20, keep_adv=True)
    transferred = evaluate.classify_per_example(net, adv, labels, real)
    bpda, _ = pgd(net, test_set, 40, 20, attack_quantize=real._replace(straight_through=True), eval_quantize=real)
    masked, _ = pgd(net, test_set, 40, 20, attack_quantize=real, eval_quantize=real)
    assert C.accuracy(transferred) < 50 and C.accuracy(masked) > 90  # the floor's zero gradient stops PGD
    cell = {"delta": 40, "layer": "conv0", "beta": 2.0, "transfer": transferred}
    assert C.check_transfer_vs_whitebox([{**cell, "attack": "bpda", "whitebox": bpda}], 1.0)["status"] == "pass"
    verdict = C.check_transfer_vs_whitebox([{**cell, "attack": "masked", "whitebox": masked}], 1.0)
    assert verdict["status"] == "fail", verdict["measured"]


# ------------------------------------------------------------- gradient masking by the quantizer, under BPDA


class _GarbledFloor(torch.autograd.Function):
    """floor(β·h)/β whose backward is zero (``noise`` None) or the identity swamped by Gaussian noise ``noise`` times
    the gradient's mean magnitude: a deliberately masked straight-through quantizer."""

    @staticmethod
    def forward(ctx, h, beta, noise):
        ctx.noise = noise
        return torch.floor(h * beta) / beta

    @staticmethod
    def backward(ctx, grad):
        if ctx.noise is None:
            return torch.zeros_like(grad), None, None
        return grad + ctx.noise * grad.abs().mean() * torch.randn_like(grad), None, None


class Garbled(Tiny):
    """The trained ``net`` with a masked straight-through quantizer: BPDA's and APGD-BPDA's attack pass (a quantizer
    with ``straight_through``) differentiates through :class:`_GarbledFloor`; the verdict (the real quantizer) and
    every forward value are the sound model's."""

    def __init__(self, net, noise):
        super().__init__()
        self.load_state_dict(net.state_dict())
        self.noise = noise
        self.eval()

    def forward(self, x, quantize=None):
        h = torch.relu(self.conv(x))
        if quantize is not None and quantize.straight_through:
            h = _GarbledFloor.apply(h, quantize.beta, self.noise)
        else:
            h = apply(h, "conv0", quantize)
        return self.linear(h.flatten(1))


REAL = Quantizer("conv0", 2.0)


def bpda(model, test_set, delta, steps):
    return pgd(model, test_set, delta, steps, attack_quantize=REAL._replace(straight_through=True), eval_quantize=REAL)[
        0
    ]


def apgd_bpda(model, test_set, delta, steps):
    images, labels = test_set
    return evaluate.apgd_per_example(
        model,
        images,
        labels,
        delta,
        APGDSpec(steps, 1, ("ce", "dlr")),
        attack_quantize=REAL._replace(straight_through=True),
        eval_quantize=REAL,
    )[0]


@pytest.fixture(scope="module")
def noisy_bpda(net, test_set):
    """BPDA-20 at δ 48 through the noise-swamped straight-through quantizer (about 40% left; sound BPDA: 0%)."""
    return bpda(Garbled(net, 3.0), test_set, 48, 20)


def test_bpda_large_delta_fails_when_the_quantizer_masks_the_gradient(net, test_set):
    sound = C.check_large_delta(bpda(net, test_set, 64, 20), 64, 20, 1.0, "BPDA")
    assert sound["status"] == "pass" and "BPDA_64-20" in sound["measured"]
    zero = bpda(Garbled(net, None), test_set, 64, 20)  # the straight-through gradient is zero: BPDA cannot move
    masked = C.check_large_delta(zero, 64, 20, 1.0, "BPDA")
    assert masked["status"] == "fail" and masked["value"] > 90


def test_bpda_more_steps_fails_when_the_gradient_is_garbled(net, test_set, noisy_bpda):
    # sound: BPDA-20 at δ 40 leaves about 17%, BPDA-40 one example (1.6 pp) less
    sound = C.check_more_steps(bpda(net, test_set, 40, 20), bpda(net, test_set, 40, 40), 40, 20, 40, 2.0, "BPDA")
    assert sound["status"] == "pass" and "BPDA_40-40" in sound["measured"]
    # garbled: each step's sign is mostly noise, so twice the steps get much further
    more = bpda(Garbled(net, 3.0), test_set, 48, 40)
    masked = C.check_more_steps(noisy_bpda, more, 48, 20, 40, 2.0, "BPDA")
    assert masked["status"] == "fail" and masked["value"] > 10


def test_apgd_vs_bpda_fails_when_bpda_understates_the_attack(net, test_set, noisy_bpda):
    sound = C.check_drop(
        bpda(net, test_set, 48, 20), apgd_bpda(net, test_set, 48, 20), "BPDA_48-20", "APGD-BPDA_48-20", 1.0
    )
    assert sound["status"] == "pass"
    # the same masked quantizer under both: APGD (adaptive step, DLR loss) gets through where BPDA-20 does not
    masked = C.check_drop(
        noisy_bpda, apgd_bpda(Garbled(net, 3.0), test_set, 48, 20), "BPDA_48-20", "APGD-BPDA_48-20", 1.0
    )
    assert masked["status"] == "fail" and masked["value"] > 20 and "APGD-BPDA_48-20" in masked["measured"]


def test_combine_fails_if_any_cell_fails_and_reports_the_worst():
    ok = C.check_large_delta(frame(0), 64, 20, 1.0, "BPDA")
    bad = C.check_large_delta(frame(30), 64, 20, 1.0, "BPDA")
    worse = C.check_large_delta(frame(50), 64, 20, 1.0, "BPDA")
    assert C.combine({"a": ok, "b": ok})["status"] == "pass"
    verdict = C.combine({"a": ok, "b": bad, "c": worse})
    assert verdict["status"] == "fail" and verdict["value"] == 50 and verdict["limit"] == 1.0
    assert (
        verdict["measured"].startswith("worst cell c: BPDA_64-20: 50.00%")
        and "2 of 3 cells fail" in verdict["measured"]
    )
    assert C.combine({})["status"] == "n/a"


# ------------------------------------------------------------------------------------------ cached examples


def test_cached_examples_in_budget_pass_and_out_of_budget_fail(tmp_path, net, test_set):
    images, labels = test_set
    _, adv = pgd(net, test_set, 8, 10, keep_adv=True)
    path = tmp_path / "delta8.npz"
    transfer.save(path, adv, labels, 8)
    a, stored_labels, stored_delta = C.read_adv(path)
    imgs, labs = images.numpy(), labels.numpy()
    stats = C.adv_stats(a, stored_labels, stored_delta, imgs, labs, 8, chunk=10)
    assert stats["max_dist"] == pytest.approx(8, abs=1e-3) and 0 <= stats["min"] and stats["max"] <= 1
    ok = C.check_adv_budget([stats], tolerance=1e-3)
    assert ok["status"] == "pass" and "delta 8: 8.0000" in ok["measured"]

    outside = a.copy()  # one pixel moved 2/255 past its budget (still inside [0, 1])
    x0 = imgs[0, 0, 0, 0] / 255.0
    outside[0, 0, 0, 0] = x0 + 10 / 255 if x0 < 0.5 else x0 - 10 / 255
    bad = C.check_adv_budget([C.adv_stats(outside, stored_labels, 8, imgs, labs, 8)], 1e-3)
    assert bad["status"] == "fail" and bad["value"] == pytest.approx(2.0, abs=1e-3)
    assert "outside its budget" in bad["measured"]

    box = a.copy()  # below 0 by 1/255 where the clean pixel is 0: inside the budget, outside the box
    i = tuple(np.argwhere(imgs == 0)[0])
    box[i] = -1 / 255
    verdict = C.check_adv_budget([C.adv_stats(box, stored_labels, 8, imgs, labs, 8)], 1e-3)
    assert verdict["status"] == "fail" and "outside [0, 1]" in verdict["measured"]
    assert "outside its budget" not in verdict["measured"]

    wrong = C.check_adv_budget(
        [C.adv_stats(a, (stored_labels + 1) % 3, 8, imgs, labs, 8), C.adv_stats(a, stored_labels, 4, imgs, labs, 8)],
        1e-3,
    )
    assert wrong["status"] == "fail" and "labels mismatch" in wrong["measured"]
    assert "stored delta mismatch" in wrong["measured"]
    assert C.check_adv_budget([], 1e-3)["status"] == "n/a"


# ----------------------------------------------------------------------------------------------- large beta


def test_large_beta_equals_unquantized_and_a_coarse_beta_does_not(net, test_set):
    images, labels = test_set
    base = evaluate.classify_per_example(net, images, labels)
    big = evaluate.classify_per_example(net, images, labels, Quantizer("conv0", 1e6))
    ok = C.check_large_beta(base, {"conv0": big}, 1e6, tolerance=0.0)
    assert ok["status"] == "pass" and "0 predictions changed" in ok["measured"] and "1000000" in ok["measured"]
    coarse = evaluate.classify_per_example(net, images, labels, Quantizer("conv0", 0.05))
    bad = C.check_large_beta(base, {"conv0": big, "coarse": coarse}, 1e6, tolerance=0.0)
    assert bad["status"] == "fail" and bad["value"] == pytest.approx(abs(C.accuracy(coarse) - C.accuracy(base)))
    assert C.check_large_beta(base, {}, 1e6, 0.0)["status"] == "n/a"


# ---------------------------------------------------------------------------------------- plan, files, table


def demo_config(**checklist):
    """The demo's grid with the checklist's defaults (the demo's own section aside) and ``checklist`` overrides."""
    cfg = atconfig.load("config/demo.yaml", check_data=False)
    cfg["checklist"] = checklist
    return atconfig.validate(cfg, check_data=False)


def test_plan_adds_the_extra_evaluations_at_the_largest_eps():
    cfg = demo_config()
    plan = CP.plan(cfg)
    m = plan["models"]["resnet18"]
    assert m["large_delta"] == [32] and m["more_steps"] == [[32, 32]] and m["large_beta"] == [32]
    assert 64 in m["pgd"][32] and all(64 not in m["pgd"][e] for e in (0, 8, 16))
    assert m["whitebox"]["bpda"] == {"deltas": [16], "betas": [4.0, 8.0]} and m["adv"] == [16]
    files = input_files(plan, atconfig.checklist_settings(cfg), "R")
    assert "R/eval/resnet18/seed0/eps32/pgd5x/delta32/none.parquet" in files["pgd"]
    assert "R/eval/resnet18/seed0/eps32/pgd/delta64/none.parquet" in files["pgd"]
    assert "R/eval/resnet18/seed0/eps32/transfer/delta0/layer2/beta1000000.parquet" in files["quantized"]
    assert "R/eval/resnet18/seed0/eps0/bpda/delta16/conv0/beta8.parquet" in files["quantized"]
    assert files["adv"] == [f"R/adv/resnet18/seed0/eps{e}/pgd/delta16.npz" for e in (0, 8, 16, 32)]
    # gradient masking: the demo's two quantization points at beta 8, BPDA at delta 64 and BPDA-100 at the BPDA
    # delta nearest eps 32 (16) at eps 32, APGD-BPDA against BPDA at every eps
    masking = m["masking"]
    assert (masking["beta"], masking["layers"], masking["large_delta"], masking["more_steps"]) == (
        8.0,
        ["conv0", "layer2"],
        [32],
        [[32, 16]],
    )
    assert masking["apgd_deltas"] == [16] and masking["eps"] == [0, 8, 16, 32]
    for layer in ("conv0", "layer2"):
        assert f"R/eval/resnet18/seed0/eps32/bpda/delta64/{layer}/beta8.parquet" in files["quantized"]
        assert f"R/eval/resnet18/seed0/eps32/bpda5x/delta16/{layer}/beta8.parquet" in files["quantized"]
        assert f"R/eval/resnet18/seed0/eps0/apgd-bpda/delta16/{layer}/beta8.parquet" in files["quantized"]
    assert not any("bpda5x" in f and "beta4" in f for f in files["quantized"])  # the headline beta only


def test_masking_cells_follow_the_config():
    cfg = demo_config(masking={"layers": 1})
    cfg["quantization"]["beta"] = [4, 6]  # no 8: the largest configured beta is the headline
    cfg["quantization"]["apgd-bpda"]["beta"] = [4]
    cfg = atconfig.validate(cfg, check_data=False)
    masking = CP.plan(cfg)["models"]["resnet18"]["masking"]
    assert (masking["beta"], masking["layers"]) == (6.0, ["conv0"])
    assert "apgd_deltas" not in masking and "does not run at beta 6" in masking["apgd_reason"]
    cfg["quantization"]["attacks"] = ["transfer", "bpda"]
    masking = CP.plan(cfg)["models"]["resnet18"]["masking"]
    assert masking["apgd_reason"] == "apgd-bpda is not in quantization.attacks"
    cfg["quantization"]["attacks"] = ["transfer"]
    assert CP.plan(cfg)["models"]["resnet18"]["masking"] == {"reason": "bpda is not in quantization.attacks"}
    # BPDA with more steps runs at the BPDA delta nearest eps (ties: the larger)
    cfg = demo_config(more_steps={"eps": "all"})
    cfg["quantization"]["delta"] = [4, 12, 20]
    masking = CP.plan(atconfig.validate(cfg, check_data=False))["models"]["resnet18"]["masking"]
    assert masking["more_steps"] == [[0, 4], [8, 12], [16, 20], [32, 20]]
    bad = demo_config()
    bad["checklist"]["masking"]["beta"] = 5
    with pytest.raises(atconfig.ConfigError, match="checklist.masking.beta"):
        atconfig.validate(bad, check_data=False)


def test_plan_every_eps_and_a_standard_model():
    cfg = demo_config(large_delta={"eps": "all", "delta": 40}, more_steps={"eps": "all", "factor": 3})
    m = CP.plan(cfg)["models"]["resnet18"]
    assert m["large_delta"] == [0, 8, 16, 32] and all(40 in m["pgd"][e] for e in m["eps"])
    assert m["more_steps"] == [[0, 4], [8, 8], [16, 16], [32, 32]]  # eps 0: the grid's smallest delta
    files = input_files(CP.plan(cfg), atconfig.checklist_settings(cfg), "R")["pgd"]
    assert "R/eval/resnet18/seed0/eps0/pgd3x/delta4/none.parquet" in files


def test_checklist_settings_defaults_and_invalid_values_name_the_key():
    s = atconfig.checklist_settings({})
    assert s["strict"] is False and s["large_delta"] == {"delta": 64, "max_accuracy": 1.0, "eps": "largest"}
    assert s["more_steps"]["factor"] == 5 and s["large_beta"]["beta"] == 1e6
    cfg = atconfig.load("config/demo.yaml", check_data=False)
    cfg["checklist"] = {"large_delta": {"eps": "some"}}
    with pytest.raises(atconfig.ConfigError, match="checklist.large_delta.eps"):
        atconfig.validate(cfg, check_data=False)


def input_files(plan, settings, root, seed=0):
    """Every file the checklist reads for one seed, by kind (the cells' own files: no units in these tests)."""
    cells = CP.cells(plan, settings, seed)
    return {
        "pgd": sorted(c.path(root) for c in cells["pgd"] + cells["more_steps"]),
        "quantized": [c.path(root) for c in cells["quantized"]],
        "adv": [paths.adv_file(root, m, s, e, d) for m, s, e, d in CP.adv_needed(plan, seed)],
    }


def collect(plan, settings, root, images, labels, seed=0):
    """The checklist's rows from every file of :func:`input_files` (its declared inputs)."""
    index = CellIndex.of([f for files in input_files(plan, settings, root, seed).values() for f in files])
    return C.collect(plan, settings, index, images, labels, seed)


def write_grid(root, plan, settings, images, labels, acc, excess=0):
    """Evaluation files for every path the plan reads; ``acc(path)`` gives the number correct of 100; the cached
    examples lie ``excess`` (1/255) outside their budget."""
    files = input_files(plan, settings, root)
    for path in files["pgd"] + files["quantized"]:
        f = frame(acc(path), n=len(labels))
        f["label"] = labels
        f["pred"] = np.where(f["correct"], labels, (labels + 1) % 3)
        f.to_parquet(_mk(path), index=False)
    for path in files["adv"]:
        delta = int(path.rsplit("delta", 1)[1].split(".")[0])
        adv = np.clip(images / 255.0 + (delta + excess) / 255.0, 0, 1).astype(np.float32)
        transfer.save(_mk(path), torch.from_numpy(adv), torch.from_numpy(labels), delta)


def _mk(path):
    import os

    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def sound_accuracy(path):
    """Correct counts that pass every check: falling with delta, near zero at delta 64, steady with more steps."""
    delta = int(path.split("/delta")[1].split("/")[0])
    if "/pgd/" in path or "pgd5x" in path:
        return 0 if delta >= 64 else max(1, 90 - 2 * delta)
    if "beta1000000" in path:
        return 90  # the clean accuracy
    if delta >= 64:
        return 0  # BPDA at the very large delta
    return 40 if "/transfer/" in path else 35  # BPDA, BPDA with more steps and APGD-BPDA alike


def test_collect_on_a_grid_of_files_passes_and_names_what_breaks(tmp_path):
    cfg = demo_config()
    cfg["models"]["resnet18"]["eps"] = [0, 8]
    plan, settings = CP.plan(cfg), atconfig.checklist_settings(cfg)
    images = np.random.default_rng(0).integers(0, 256, (100, 1, 28, 28)).astype(np.uint8)
    labels = np.random.default_rng(1).integers(0, 3, 100)
    root = str(tmp_path)
    write_grid(root, plan, settings, images, labels, sound_accuracy)
    rows = collect(plan, settings, root, images, labels)
    table, marks = C.table(rows)
    assert list(table.columns) == C.COLUMNS
    assert set(table["check"]) == set(C.CHECKS)
    assert (table["status"] == "pass").all(), table[table["status"] != "pass"].to_string()
    assert len(table[table["check"] == "monotone_delta"]) == 2 and (marks["status"] == "").all()
    assert C.enforce(rows, strict=True) == []

    # break two things: accuracy at delta 64 stays up, and BPDA is far stronger than transfer nowhere but here
    def bad(p):
        return 80 if "/pgd/delta64/" in p else (5 if "eps8/transfer/delta16/conv0/beta4" in p else sound_accuracy(p))

    write_grid(root, plan, settings, images, labels, bad)
    rows = collect(plan, settings, root, images, labels)
    table, marks = C.table(rows)
    failed = C.failures(rows)
    assert sorted(failed) == [
        "large_delta (resnet18, eps 8)",
        "monotone_delta (resnet18, eps 8)",
        "transfer_vs_bpda (resnet18, eps 8)",
    ]
    assert (marks.loc[table["status"] == "fail", "status"] == "+").all()
    with pytest.raises(C.ChecklistFailed, match="large_delta \\(resnet18, eps 8\\)"):
        C.enforce(rows, strict=True)
    assert C.enforce(rows, strict=False) == failed
    assert C.summary(rows).startswith(f"{len(rows) - 3} passed, 3 failed")


def broken_accuracy(path):
    """Correct counts that fail every check: PGD accuracy rising with delta (and high at delta 64), five times the
    steps at zero, transfer far below BPDA, beta 1e6 far from the clean accuracy, BPDA high at delta 64, BPDA with
    more steps and APGD-BPDA at zero."""
    delta = int(path.split("/delta")[1].split("/")[0])
    if "/pgd/" in path:
        return 10 + delta
    if "beta1000000" in path:
        return 90
    if "/transfer/" in path:
        return 5
    return 60 if "/bpda/" in path else 0  # pgd5x, bpda5x, apgd-bpda


def test_a_grid_that_breaks_every_check_fails_every_check(tmp_path):
    cfg = demo_config()
    cfg["models"]["resnet18"]["eps"] = [0, 8]
    plan, settings = CP.plan(cfg), atconfig.checklist_settings(cfg)
    images = np.full((100, 1, 28, 28), 100, np.uint8)
    labels = np.random.default_rng(1).integers(0, 3, 100)
    write_grid(str(tmp_path), plan, settings, images, labels, broken_accuracy, excess=5)
    rows = collect(plan, settings, str(tmp_path), images, labels)
    table, marks = C.table(rows)
    assert (table["status"] == "fail").all(), table[table["status"] != "fail"].to_string()
    assert set(table["check"]) == set(C.CHECKS) and (marks["status"] == "+").all()
    assert C.summary(rows) == f"0 passed, {len(rows)} failed, 0 not applicable"
    with pytest.raises(C.ChecklistFailed, match=f"{len(rows)} check\\(s\\) failed"):
        C.enforce(rows, strict=True)


def test_quantization_off_gives_not_applicable_rows(tmp_path):
    cfg = demo_config()
    del cfg["quantization"]
    plan, settings = CP.plan(cfg), atconfig.checklist_settings(cfg)
    files = input_files(plan, settings, str(tmp_path))
    assert files["quantized"] == [] and files["adv"] == []
    images = np.zeros((100, 1, 28, 28), np.uint8)
    labels = np.random.default_rng(1).integers(0, 3, 100)
    write_grid(str(tmp_path), plan, settings, images, labels, sound_accuracy)
    table, _ = C.table(collect(plan, settings, str(tmp_path), images, labels))
    na = table[table["status"] == "n/a"]
    assert set(na["check"]) == {
        "transfer_vs_bpda",
        "bpda_large_delta",
        "bpda_more_steps",
        "apgd_vs_bpda",
        "adv_budget",
        "large_beta",
    }
    assert na["eps"].isna().all() and (na["measured"] == "quantization is off").all()
    assert (table.loc[table["status"] != "n/a", "status"] == "pass").all()


def test_extra_jobs_of_the_paper_grid():
    """What the paper grid's dry run adds for the checklist: PGD_12-100 at eps 12 of each architecture as jobs;
    PGD_64-20 at eps 12, beta = 1e6 after each of ResNet-18's 5 and WRN-28-10's 4 quantization points, and on the
    first two points of each at beta 8 BPDA_64-20 and BPDA_12-100, as cells of the evaluation units."""
    cfg = atconfig.load("config/config.yaml", check_data=False)
    assert CP.extra_jobs(cfg) == {"evaluate_pgd_steps": 2}

    def cells(attack, delta, q):
        units = Plan(cfg).units.items()
        return {
            u.model: [[c.eps, c.layer] for c in cs] for u, cs in units if (u.attack, u.delta, u.q) == (attack, delta, q)
        }

    assert cells("transfer", 0, "beta1000000") == {
        "resnet18": [[12, lay] for lay in ["conv0", "layer1", "layer2", "layer3", "layer4"]],
        "wrn28_10": [[12, lay] for lay in ["init_conv", "layer0", "layer1", "layer2"]],
    }
    assert cells("bpda", 64, "beta8") == {
        "resnet18": [[12, "conv0"], [12, "layer1"]],
        "wrn28_10": [[12, "init_conv"], [12, "layer0"]],
    }
    assert cells("pgd", 64, "none") == {"resnet18": [[12, "none"]], "wrn28_10": [[12, "none"]]}
    assert cells("bpda5x", 12, "beta8") == cells("bpda", 64, "beta8")
    cfg["checklist"]["large_delta"]["delta"] = 12  # already on the grid (PGD and BPDA): no extra unit
    assert cells("pgd", 64, "none") == {} and cells("bpda", 64, "beta8") == {}
    cfg["checklist"]["masking"]["layers"] = 1
    assert cells("bpda5x", 12, "beta8") == {"resnet18": [[12, "conv0"]], "wrn28_10": [[12, "init_conv"]]}


def test_checklist_table_prints_small_limits_with_their_digits(tmp_path):
    """adv_budget's tolerance 0.001 (1/255 units) printed as 0.00 read as "no tolerance at all" (issue 14)."""
    from atspectrum.reporting import tables

    verdict = C.check_adv_budget([], 1e-3) | {"status": "pass", "value": 0.0004, "limit": 1e-3}
    table, marks = C.table([{"check": "adv_budget", "model": "r", "eps": 8, **verdict}])
    tables.write(table, str(tmp_path / "checklist"), "caption", marks)
    row = next(line for line in (tmp_path / "checklist.md").read_text().splitlines() if "adv_budget" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[4:6] == ["0.0004", "0.001"]  # value, limit
