"""APGD (Croce & Hein 2020) and APGD-BPDA: known answers, exact budget, strength against PGD-20 BPDA, restarts,
reproducibility; the per-example worst case over attacks; the configuration of both."""

import copy
import math
import os
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from synthetic import bars, trained_bars_model
from torch import nn

from atspectrum import attacks, models
from atspectrum import config as atconfig
from atspectrum.attacks import apgd
from atspectrum.attacks.quantize import Quantizer
from atspectrum.attacks.quantize import apply as quantize_features
from atspectrum.evaluation import evaluate
from atspectrum.planning import Cell, CellIndex, Plan, jobs
from atspectrum.specs import APGDSpec, PGDSpec

# --------------------------------------------------------------------------------------------------------------
# models with known answers


class Flip(nn.Module):
    """Three classes; a known adversarial example inside δ = 16 exists only through the quantizer at β = 4.

    Pixels 0–2 encode the class (0.6 for the true class, 0.1 elsewhere: ±16/255 never moves them across a multiple
    of 1/4, so their quantized values 0.5 / 0 are stable). Pixels 3–18 are "attack" pixels at 51/255 (weight +1) or
    77/255 (weight −1): pushed by +16/255 resp. −16/255 each crosses a multiple of 1/4 and its quantized value changes
    by 1/4 in the weight's favour; a random start crosses one with probability 1/10. With ``S = Σ w·q`` over the
    attack pixels (``S = −2`` unperturbed, ``−2 + n/4`` with n crossed), class ``y + 1`` gets ``1.4·code_y·(S + 2)``,
    so it overtakes the true class (logit 2) only when at least 12 of the 16 pixels have crossed, i.e. at (or near)
    ``x + δ·sign(w)``; class ``y + 2`` gets ``−code_y`` (no tied logits, whose sort order would steer DLR's
    gradient).
    Through the real quantizer the gradient is zero: plain PGD cannot move from its start.
    """

    quant_points = ("feat",)

    def __init__(self):
        super().__init__()
        self.register_buffer("w", torch.tensor([1.0, -1.0] * 8))

    def forward(self, x, quantize=None):
        h = quantize_features(x.flatten(1), "feat", quantize)
        code, s = h[:, :3], h[:, 3:19] @ self.w
        return 4 * code + 1.4 * code.roll(1, dims=1) * (s[:, None] + 2) - code.roll(2, dims=1)


def flip_data(n=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.zeros(n, 1, 1, 19, dtype=torch.uint8)
    x[:, 0, 0, :3] = 26  # 0.1
    x[torch.arange(n), 0, 0, y] = 153  # 0.6
    x[:, 0, 0, 3::2] = 51  # 0.2, weight +1
    x[:, 0, 0, 4::2] = 77  # 0.302, weight -1
    return x, y


class Peak(nn.Module):
    """One pixel; the loss peaks at x = 0.3 inside the box: a fixed step as large as the ball oscillates around it,
    halving steps converge to it. Always classified as class 0 (no early exit)."""

    def forward(self, x):
        h = -100 * (x.flatten(1)[:, :1] - 0.3) ** 2 - 0.01
        return torch.cat([torch.zeros_like(h), h, torch.full_like(h, -10.0)], 1)


@pytest.fixture(scope="module")
def net():
    """A tiny trained model, so that the attacks have something to break."""
    return trained_bars_model()


@pytest.fixture(scope="module")
def batch():
    return bars(96, 2)


ST, REAL = Quantizer("conv0", 8.0, True), Quantizer("conv0", 8.0, False)


# --------------------------------------------------------------------------------------------------------------
# the pieces of the algorithm


def test_checkpoints_follow_the_paper():
    # p = 0, .22, .41, .57, .70, .80, .87, .93, .99 (p_{j+1} = p_j + max(p_j − p_{j−1} − .03, .06))
    assert apgd.checkpoints(100) == [22, 41, 57, 70, 80, 87, 93, 99]
    assert apgd.checkpoints(1000) == [220, 410, 570, 700, 800, 870, 930, 990]
    assert apgd.checkpoints(5) == [2, 3, 4, 5]  # ⌈p·5⌉ with duplicates collapsed
    assert all(apgd.checkpoints(n) == reference_checkpoints(n) for n in range(1, 301))  # the same, in fractions
    assert apgd.RHO == 0.75 and apgd.ALPHA == 0.75


def test_dlr_loss_on_hand_cases():
    z = torch.tensor([[2.0, 5.0, 1.0, 3.0], [2.0, 5.0, 1.0, 3.0], [0.0, 0.0, 0.0, 1.0]])
    y = torch.tensor([0, 1, 3])
    # y=0: −(2 − 5)/(5 − 2) = 1; y=1: −(5 − 3)/(5 − 2) = −2/3; y=3: −(1 − 0)/(1 − 0) = −1
    assert torch.allclose(apgd.dlr_loss(z, y), torch.tensor([1.0, -2 / 3, -1.0]))
    assert torch.allclose(apgd.dlr_loss(3 * z - 7, y), apgd.dlr_loss(z, y))  # shift and scale invariant
    assert torch.allclose(apgd.margin(z, y), torch.tensor([-3.0, 2.0, 1.0]))
    assert torch.allclose(apgd.ce_loss(z, y), F.cross_entropy(z, y, reduction="none"))
    with pytest.raises(ValueError, match="3 classes"):
        apgd.dlr_loss(torch.zeros(2, 2), torch.zeros(2, dtype=torch.long))


def test_step_size_is_halved_where_the_loss_stalls_and_converges_to_the_peak():
    model = Peak()
    x = torch.full((2, 1, 1, 1), 0.5)
    init = torch.tensor([0.05, 0.95]).view(2, 1, 1, 1)
    trace = []
    out = apgd.apgd(model, x, torch.zeros(2, dtype=torch.long), 0.5, steps=100, loss="ce", init=init, trace=trace)
    assert [t["step"] for t in trace] == apgd.checkpoints(100)
    assert trace[-1]["eta"].max() < 2 * 0.5 / 8  # halved several times
    assert (out.flatten() - 0.3).abs().max() < 0.02  # the best point found is the peak
    # PGD with the same initial step (2ε) only jumps between the box edges
    pgd = attacks.pgd(model, x, torch.zeros(2, dtype=torch.long), 0.5, 100, 1.0, init=init)
    assert (pgd.flatten() - 0.3).abs().min() > 0.1
    # a loss that never rises: every checkpoint halves every example's step
    flat, trace = nn.Sequential(nn.Flatten(), nn.Linear(1, 3)), []
    nn.init.zeros_(flat[1].weight), nn.init.zeros_(flat[1].bias)  # all logits tie: class 0, never broken
    apgd.apgd(flat, x, torch.zeros(2, dtype=torch.long), 0.25, steps=20, trace=trace)
    assert all(t["halved"].all() for t in trace)
    assert torch.allclose(trace[-1]["eta"], torch.full((2,), 0.5 / 2 ** len(trace)))


@pytest.fixture(scope="module")
def untrained():
    torch.manual_seed(1)
    return models.build("resnet18", 10, 1, width=4).eval()


@pytest.mark.parametrize("loss, delta", [("ce", 1), ("dlr", 4), ("ce", 16)])
def test_budget_and_box_hold_exactly(untrained, loss, delta):
    net = untrained
    torch.manual_seed(delta)
    x = torch.rand(8, 1, 28, 28)
    x[0], x[1] = 0.0, 1.0  # images at the box edges
    y = torch.randint(0, 10, (8,))
    eps = attacks.pixels(delta)
    init = x + (2 * torch.rand(x.shape) - 1) * 3 * eps  # a start outside the ball is projected
    adv = apgd.apgd(net, x, y, eps, steps=10, loss=loss, init=init)
    lower, upper = (x - eps).clamp(min=0), (x + eps).clamp(max=1)
    assert ((adv >= lower) & (adv <= upper)).all()  # exactly inside, as computed
    assert (adv - x).abs().max().item() <= eps + 1e-7
    assert adv.min().item() >= 0.0 and adv.max().item() <= 1.0
    assert not torch.equal(adv, x)
    frame, full = evaluate.apgd_per_example(net, x, y, delta, APGDSpec(steps=5, restarts=2), keep_adv=True)
    assert ((full >= lower) & (full <= upper)).all()


def test_model_state_is_left_as_found():
    torch.manual_seed(1)
    net = models.build("resnet18", 10, 1, width=4).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x, y = torch.rand(4, 1, 28, 28), torch.zeros(4, dtype=torch.long)
    apgd.attack(net, x, y, 4 / 255, steps=3, restarts=2)
    assert net.training and all(p.requires_grad and p.grad is None for p in net.parameters())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # BatchNorm untouched: eval mode


# --------------------------------------------------------------------------------------------------------------
# APGD against a plain reference, iterate by iterate


def reference_checkpoints(steps):
    """``⌈p_j·steps⌉`` for ``p_1 = 0.22``, ``p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06) ≤ 1`` (exact fractions)."""
    p = [Fraction(0), Fraction(22, 100)]
    while (nxt := p[-1] + max(p[-1] - p[-2] - Fraction(3, 100), Fraction(6, 100))) <= 1:
        p.append(nxt)
    return sorted({math.ceil(q * steps) for q in p[1:]})


def reference_loss(logits, y, loss):
    """One example's loss: cross-entropy, or DLR ``−(z_y − max_{i≠y} z_i) / (z_π1 − z_π3 + 1e−12)``."""
    z = logits[0]
    if loss == "ce":
        return F.cross_entropy(logits, y)
    top = z.sort(descending=True).values
    return -(z[y[0]] - torch.cat([z[: y[0]], z[y[0] + 1 :]]).max()) / (top[0] - top[2] + 1e-12)


def reference_apgd(model, x, y, eps, steps, loss, start):
    """Croce & Hein 2020, Algorithm 1 (L∞, sign of the gradient), written plainly, one example at a time, with the
    conventions of ``atspectrum.attacks.apgd``: an example leaves the run at its first misclassified iterate;
    checkpoints are judged after iterate ``w_j``, whose loss the rise count includes; a restart replaces the current
    iterate by the best one and keeps the previous one (the momentum goes on). Returns the points and, per example, a
    log."""
    marks = reference_checkpoints(steps)
    outs, logs = [], []
    for i in range(len(x)):
        xi, yi = x[i : i + 1], y[i : i + 1]
        lo, up = (xi - eps).clamp(min=0), (xi + eps).clamp(max=1)

        def project(z):
            return torch.max(torch.min(z, up), lo)

        def evaluate_at(z):
            z = z.clone().requires_grad_(True)
            logits = model(z)
            value = reference_loss(logits, yi, loss)
            (grad,) = torch.autograd.grad(value, z)
            return value.item(), grad, logits.argmax(1).item() != yi.item()

        log = {"checkpoints": [], "fooled_at": None}
        logs.append(log)
        eta = 2 * eps
        x_k = project(start[i : i + 1])
        f_k, g_k, fooled = evaluate_at(x_k)
        if fooled:
            log["fooled_at"] = 0
            outs.append(x_k)
            continue
        x_prev = x_k
        x_max, f_max, g_max = x_k, f_k, g_k
        rises, w_last, eta_at_w_last, f_max_at_w_last = 0, 0, eta, f_k
        for k in range(steps):  # makes iterate k + 1
            z = project(x_k + eta * g_k.sign())
            x_new = z if k == 0 else project(x_k + 0.75 * (z - x_k) + 0.25 * (x_k - x_prev))
            f_new, g_new, fooled = evaluate_at(x_new)
            rises += f_new > f_k
            x_prev, x_k, f_k, g_k = x_k, x_new, f_new, g_new
            if fooled:
                log["fooled_at"] = k + 1
                break
            if f_k > f_max:
                x_max, f_max, g_max = x_k, f_k, g_k
            if k + 1 in marks:
                condition_1 = rises < 0.75 * (k + 1 - w_last)
                condition_2 = eta == eta_at_w_last and f_max == f_max_at_w_last
                entry = {
                    "step": k + 1,
                    "rises": rises,
                    "window": k + 1 - w_last,
                    "condition_1": condition_1,
                    "condition_2": condition_2,
                    "restart_moved": not torch.equal(x_k, x_max),
                }
                eta_at_w_last, f_max_at_w_last, rises, w_last = eta, f_max, 0, k + 1
                if condition_1 or condition_2:
                    eta = eta / 2
                    x_k, f_k, g_k = x_max, f_max, g_max
                log["checkpoints"].append(entry | {"eta": eta})
        outs.append(x_k if log["fooled_at"] is not None else x_max)
    return torch.cat(outs), logs


class SineNet(nn.Module):
    """A small MLP with a sine activation: a bumpy loss on which APGD halves, restarts from points it has left and
    breaks some examples (float64, for exact agreement)."""

    def __init__(self, seed=0):
        super().__init__()
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            self.a, self.b = nn.Linear(16, 12).double(), nn.Linear(12, 4).double()

    def forward(self, x):
        return self.b(torch.sin(3 * self.a(x.flatten(1))))


class TwoWells(nn.Module):
    """Two pixels; logits ``(1, h, −10)`` with ``h = −(x_0 − 0.05)² − (x_1 − 0.25)²``, so class 0 always wins and
    CE and DLR both grow with ``h``. In the ball ``[0, 1]²`` (x = 0.5, ε = 0.5, step 1), at the first checkpoint of
    16 steps (``w_1 = 4``), the loss has risen at three steps of four (3 ≮ 0.75·4: condition 1 holds not) from either
    start: from ``(0.1, 0.05)`` it dropped at the first step and stayed below the start's, so condition 2 alone halves
    the step and the run restarts from the start point; from ``(0.9, 0.1)`` it rose above the start's, so the step is
    kept."""

    def forward(self, x):
        v = x.flatten(1)
        h = -((v[:, :1] - 0.05) ** 2) - (v[:, 1:2] - 0.25) ** 2
        return torch.cat([torch.ones_like(h), h, torch.full_like(h, -10.0)], 1)


def reference_case(name):
    if name == "sine":
        model = SineNet().eval()
        x = torch.rand(12, 1, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
        eps = 0.15
        start = x + attacks.start_noise(x.shape, 2).double() * eps
        return model, x, model(x).argmax(1).detach(), eps, start
    x = torch.full((2, 1, 1, 2), 0.5, dtype=torch.float64)
    start = torch.tensor([[0.1, 0.05], [0.9, 0.1]], dtype=torch.float64).view(2, 1, 1, 2)
    return TwoWells(), x, torch.zeros(2, dtype=torch.long), 0.5, start


@pytest.mark.parametrize(
    "case, loss, steps, events",
    [
        ("sine", "ce", 40, {"some broken"}),
        ("sine", "dlr", 40, {"some broken"}),
        ("sine", "dlr", 13, {"some broken", "a step kept"}),
        ("wells", "ce", 16, {"condition 2 alone", "kept at 3 rises of 4"}),
    ],
)
def test_apgd_matches_the_plain_reference_iterate_by_iterate(case, loss, steps, events):
    model, x, y, eps, start = reference_case(case)
    ref, logs = reference_apgd(model, x, y, eps, steps, loss, start)
    trace = []
    got = apgd.apgd(model, x, y, eps, steps, loss, init=start, allow_reduced_precision=True, trace=trace)
    # the comparison means something only where the reference halved the step and restarted from a best point that
    # was not the current one, and where each case's events happened
    marks = [m for log in logs for m in log["checkpoints"]]
    halved = [m for m in marks if m["condition_1"] or m["condition_2"]]
    assert any(m["restart_moved"] for m in halved)
    happened = {
        "some broken": 0 < sum(log["fooled_at"] is not None for log in logs) < len(x),
        "a step kept": len(halved) < len(marks),
        "condition 2 alone": any(m["condition_2"] and not m["condition_1"] and m["restart_moved"] for m in halved),
        "kept at 3 rises of 4": any(
            m["rises"] == 3 and m["window"] == 4 and not (m["condition_1"] or m["condition_2"]) for m in marks
        ),
    }
    assert all(happened[e] for e in events), happened
    assert torch.equal(got, ref)
    # the checkpoints: the same steps, step sizes after them and halvings, for the examples still in the run
    seen = {
        (int(i), t["step"]): (e.item(), bool(h)) for t in trace for i, e, h in zip(t["index"], t["eta"], t["halved"])
    }
    expected = {
        (i, m["step"]): (m["eta"], m["condition_1"] or m["condition_2"])
        for i, log in enumerate(logs)
        for m in log["checkpoints"]
    }
    assert seen == expected


class Lottery(nn.Module):
    """Three classes; class 1 wins exactly where the first pixel lies in ``(lo, hi)``, class 0 elsewhere. The gradient
    is zero everywhere: APGD stays at its start, so only the random start decides."""

    def __init__(self, lo, hi):
        super().__init__()
        self.lo, self.hi = lo, hi

    def forward(self, x):
        v = x.flatten(1)
        inside = ((v[:, 0] > self.lo) & (v[:, 0] < self.hi)).to(x.dtype)[:, None]
        return torch.cat([1 - 2 * inside, torch.zeros_like(inside), torch.full_like(inside, -1.0)], 1) + 0 * v[:, :1]


def test_each_restart_starts_elsewhere_and_a_later_one_can_break_what_the_first_cannot():
    x, y, eps = torch.full((1, 1, 1, 1), 0.5), torch.zeros(1, dtype=torch.long), 0.1
    starts = [(x + attacks.start_noise(x.shape, apgd.run_seed(0, "ce", r)) * eps).flatten()[0].item() for r in range(2)]
    assert starts[0] != starts[1]
    # a window around restart 1's start that excludes restart 0's
    half = abs(starts[1] - starts[0]) / 2
    model = Lottery(starts[1] - half, starts[1] + half).eval()
    runs = {r: apgd.attack(model, x, y, eps, steps=3, losses=["ce"], restarts=r)[1] for r in (1, 2, 3)}
    assert runs[1].tolist() == [0]  # the first start misses
    assert runs[2].tolist() == runs[3].tolist() == [1]  # the second hits
    # with random_start=False every restart repeats the first run
    assert apgd.attack(model, x, y, eps, steps=3, losses=["ce"], restarts=3, random_start=False)[1].tolist() == [0]


# --------------------------------------------------------------------------------------------------------------
# APGD-BPDA


def test_apgd_bpda_breaks_every_example_where_a_flip_is_known_to_exist():
    model = Flip().eval()
    images, labels = flip_data()
    st, real = Quantizer("feat", 4.0, True), Quantizer("feat", 4.0, False)
    x = images.float() / 255
    known = x.clone()
    known[:, 0, 0, 3:19] += torch.tensor([1.0, -1.0] * 8) * 16 / 255  # the perturbation the construction plants
    assert (model(x, quantize=real).argmax(1) == labels).all()  # clean: all correct
    assert (model(known, quantize=real).argmax(1) != labels).all()  # the known flip, inside the budget
    frame, adv = evaluate.apgd_per_example(
        model, images, labels, 16, APGDSpec(steps=20), attack_quantize=st, eval_quantize=real, keep_adv=True
    )
    assert evaluate.accuracy(frame) == 0.0
    assert (adv - x).abs().max() <= 16 / 255 + 1e-7
    assert (model(adv, quantize=real).argmax(1) != labels).all()  # the verdict is the real quantizer's
    # without the straight-through backward the gradient vanishes and the attack cannot leave its random start
    masked, _ = evaluate.apgd_per_example(
        model, images, labels, 16, APGDSpec(steps=20), attack_quantize=real, eval_quantize=real
    )
    assert evaluate.accuracy(masked) == 100.0
    # each loss alone finds it too
    for loss in ("ce", "dlr"):
        alone, _ = evaluate.apgd_per_example(
            model, images, labels, 16, APGDSpec(steps=20, losses=[loss]), attack_quantize=st, eval_quantize=real
        )
        assert evaluate.accuracy(alone) == 0.0, loss


def test_apgd_bpda_is_at_least_as_strong_as_pgd20_bpda(net, batch):
    images, labels = batch
    pgd, _ = evaluate.attack_per_example(
        net, images, labels, 8, PGDSpec(20, 0.1), attack_quantize=ST, eval_quantize=REAL
    )
    strong, _ = evaluate.apgd_per_example(
        net, images, labels, 8, APGDSpec(steps=100), attack_quantize=ST, eval_quantize=REAL
    )
    clean = evaluate.classify_per_example(net, images, labels, REAL)
    assert evaluate.accuracy(strong) <= evaluate.accuracy(pgd) < evaluate.accuracy(clean)
    assert not (strong["correct"] & ~clean["correct"]).any()  # never "repairs" a clean mistake
    both = evaluate.worst_case({"bpda": pgd, "apgd-bpda": strong})
    assert evaluate.accuracy(both) <= evaluate.accuracy(strong)


def test_restarts_and_more_losses_never_make_it_worse(net, batch):
    images, labels = batch[0][:48], batch[1][:48]
    kw = dict(attack_quantize=ST, eval_quantize=REAL, keep_adv=True)
    ce1, adv1 = evaluate.apgd_per_example(net, images, labels, 8, APGDSpec(10, 1, ["ce"]), **kw)
    ce3, adv3 = evaluate.apgd_per_example(net, images, labels, 8, APGDSpec(10, 3, ["ce"]), **kw)
    both, _ = evaluate.apgd_per_example(net, images, labels, 8, APGDSpec(10, 1, ["ce", "dlr"]), **kw)
    # per example: robust with more runs ⇒ robust with fewer (the first runs are the same runs)
    assert not (ce3["correct"] & ~ce1["correct"]).any()
    assert not (both["correct"] & ~ce1["correct"]).any()
    # and an example that stays robust keeps the example of lowest margin over the runs
    with torch.no_grad():
        m1, m3 = (apgd.margin(net(adv, quantize=REAL), labels) for adv in (adv1, adv3))
    robust = torch.tensor(ce3["correct"].to_numpy())
    assert robust.any() and (m3[robust] <= m1[robust] + 1e-6).all()


def test_results_are_reproducible_and_do_not_depend_on_the_batch_size(net, batch):
    images, labels = batch[0][:40], batch[1][:40]
    spec, kw = APGDSpec(steps=8, restarts=2), dict(attack_quantize=ST, eval_quantize=REAL, keep_adv=True)
    a, adv_a = evaluate.apgd_per_example(net, images, labels, 8, spec, seed=3, **kw)
    b, adv_b = evaluate.apgd_per_example(net, images, labels, 8, spec, seed=3, **kw)
    c, adv_c = evaluate.apgd_per_example(net, images, labels, 8, spec, seed=3, batch_size=7, **kw)
    d, adv_d = evaluate.apgd_per_example(net, images, labels, 8, spec, seed=4, **kw)
    assert a.equals(b) and torch.equal(adv_a, adv_b)
    assert a.equals(c) and torch.allclose(adv_a, adv_c, atol=1e-6)
    assert not torch.equal(adv_a, adv_d)


def test_delta_zero_is_the_clean_verdict(net, batch):
    images, labels = batch
    frame, adv = evaluate.apgd_per_example(
        net, images, labels, 0, attack_quantize=ST, eval_quantize=REAL, keep_adv=True
    )
    assert frame.equals(evaluate.classify_per_example(net, images, labels, REAL))
    assert torch.equal(adv, images.float() / 255)


def test_bad_arguments_are_refused(net, batch):
    images, labels = batch
    with pytest.raises(ValueError, match="unknown APGD loss"):
        apgd.attack(net, images, labels, 0.03, losses=["cw"])
    with pytest.raises(ValueError, match="restarts"):
        apgd.attack(net, images, labels, 0.03, restarts=0)
    with pytest.raises(attacks.ReducedPrecisionError, match="evaluation attacks run in fp32"):
        apgd.apgd(net.double(), images.double() / 255, labels, 0.03)
    net.float()


# --------------------------------------------------------------------------------------------------------------
# the per-example worst case over the attacks of one cell


def frame(correct, pred=None, label=None, index=None):
    correct = np.asarray(correct, dtype=bool)
    label = np.zeros(len(correct), dtype=np.int64) if label is None else np.asarray(label, dtype=np.int64)
    pred = np.where(correct, label, label + 1) if pred is None else np.asarray(pred, dtype=np.int64)
    index = np.arange(len(correct), dtype=np.int64) if index is None else np.asarray(index, dtype=np.int64)
    return pd.DataFrame({"index": index, "label": label, "pred": pred, "correct": correct})


def test_worst_case_is_correct_only_under_every_attack():
    a = frame([1, 1, 0, 1, 0], pred=[0, 0, 2, 0, 1])
    b = frame([1, 0, 1, 1, 0], pred=[0, 1, 0, 0, 2])
    c = frame([1, 1, 1, 0, 1], pred=[0, 0, 0, 2, 0])
    worst = evaluate.worst_case({"transfer": a, "bpda": b, "apgd-bpda": c})
    assert worst["correct"].tolist() == [True, False, False, False, False]
    assert worst["pred"].tolist() == [0, 1, 2, 2, 1]  # from the first attack that breaks the example
    assert worst["attack"].tolist() == ["", "bpda", "transfer", "apgd-bpda", "transfer"]
    assert evaluate.accuracy(worst) == 20.0
    assert evaluate.accuracy(worst) <= min(map(evaluate.accuracy, (a, b, c)))
    # rows in another order are paired by index
    shuffled = b.iloc[[3, 0, 4, 1, 2]]
    assert evaluate.worst_case([a, shuffled, c])["correct"].equals(worst["correct"])


def test_worst_case_refuses_frames_of_other_examples():
    a = frame([1, 1, 0])
    with pytest.raises(evaluate.FrameMismatchError, match="indices"):
        evaluate.worst_case({"a": a, "b": frame([1, 1])})
    with pytest.raises(evaluate.FrameMismatchError, match="indices"):
        evaluate.worst_case({"a": a, "b": frame([1, 1, 0], index=[0, 1, 5])})
    with pytest.raises(evaluate.FrameMismatchError, match="labels"):
        evaluate.worst_case({"a": a, "b": frame([1, 1, 0], label=[0, 1, 0])})
    with pytest.raises(ValueError, match="at least one frame"):
        evaluate.worst_case({})


def test_read_cell_combines_the_evaluation_files(tmp_path):
    root = str(tmp_path)
    frames = {"transfer": frame([1, 0, 1, 1]), "bpda": frame([1, 1, 0, 1]), "apgd-bpda": frame([0, 1, 1, 1])}
    files = []
    for attack, f in frames.items():
        path = Cell("rn", 0, 8, attack, 4, "conv0", 8.0).path(root)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        f.to_parquet(path)
        files.append(path)
    index = CellIndex.of(files)
    worst = Cell("rn", 0, 8, "worst", 4, "conv0", 8.0)
    assert evaluate.read_cell(index, worst, worst_of=list(frames)).equals(evaluate.worst_case(frames))
    assert evaluate.read_cell(index, worst.replace(attack="bpda")).equals(frames["bpda"])
    with pytest.raises(ValueError, match="worst_of"):
        evaluate.read_cell(index, worst)


# --------------------------------------------------------------------------------------------------------------
# configuration

BASE = {
    "data": {"dataset": "fashion_mnist", "download": True},
    "models": {"rn": {"arch": "resnet18", "eps": [0, 8]}},
    "quantization": {"delta": [4], "beta": [8]},
}


def test_config_defaults_labels_and_worst_needs_two_attacks():
    cfg = atconfig.validate(copy.deepcopy(BASE), check_data=False)
    assert cfg["quantization"]["attacks"] == ["transfer", "bpda"]  # the paper's, unchanged by default
    assert cfg["quantization"]["apgd-bpda"] == {"steps": 100, "restarts": 1, "losses": ["ce", "dlr"], "beta": None}
    assert atconfig.quant_attack_betas(cfg, "apgd-bpda") == [8.0]
    # APGD-100 with two losses: 202 passes per cell, ten times BPDA-20's 21
    plan = Plan(cfg)
    assert jobs.runtime_minutes(plan, "apgd-bpda", 10) - 30 > 9 * (jobs.runtime_minutes(plan, "bpda", 10) - 30)
    full = copy.deepcopy(BASE)
    full["quantization"] |= {
        "attacks": ["transfer", "bpda", "apgd-bpda", "worst"],
        "beta": [4, 8, 12],
        "apgd-bpda": {"steps": 10, "restarts": 2, "beta": [12, 8]},
    }
    cfg = atconfig.validate(full, check_data=False)
    assert atconfig.quant_eval_attacks(cfg) == ["transfer", "bpda", "apgd-bpda"]
    # the beta subset decides which jobs exist, it is no setting of a job (changing it reruns none)
    assert atconfig.quant_attack(cfg, "apgd-bpda") == {"steps": 10, "restarts": 2, "losses": ["ce", "dlr"]}
    assert atconfig.quant_attack_betas(cfg, "apgd-bpda") == [8.0, 12.0]
    assert atconfig.quant_attack_betas(cfg, "bpda") == [4.0, 8.0, 12.0]
    assert atconfig.quant_attack_betas(cfg, "worst") == [8.0, 12.0]  # where every attack ran
    assert atconfig.quant_attack_label(cfg, "apgd-bpda") == "APGD-BPDA_delta-10 (CE+DLR, 2 restarts)"
    assert atconfig.quant_attack_label(cfg, "worst") == (
        "the per-example worst case over Transfer PGD_delta-20 + "
        "BPDA_delta-20 + APGD-BPDA_delta-10 (CE+DLR, 2 restarts)"
    )
    assert atconfig.quant_deltas(cfg, "worst") == [4]
    for attacks_ in (["bpda", "worst"], ["worst"]):
        bad = copy.deepcopy(BASE)
        bad["quantization"]["attacks"] = attacks_
        with pytest.raises(atconfig.ConfigError, match="quantization.attacks"):
            atconfig.validate(bad, check_data=False)
    for section in ({"losses": ["cw"]}, {"beta": [6]}, {"steps": 0}):
        bad = copy.deepcopy(BASE)
        bad["quantization"]["apgd-bpda"] = section
        with pytest.raises(atconfig.ConfigError, match="apgd-bpda"):
            atconfig.validate(bad, check_data=False)


def test_demo_plans_apgd_bpda_at_its_beta_and_worst_as_an_aggregate(tmp_path):
    """The demo's dry run: APGD-BPDA units only at apgd-bpda.beta (and the unquantized one), no evaluation job for
    worst, and worst / apgd-bpda tables only at the beta where they apply."""
    from workflow_run import ROOT, snakemake_on

    from atspectrum import data

    if data.default_root("fashion_mnist") is None:
        pytest.skip("needs Debian's dataset-fashion-mnist")
    res = snakemake_on(tmp_path, ROOT / "config" / "demo.yaml", "-n")
    assert res.returncode == 0, res.stderr[-3000:]
    outputs = {
        f
        for line in (res.stdout + res.stderr).splitlines()
        if line.strip().startswith("output:")
        for f in line.strip().removeprefix("output:").strip().split(", ")
    }
    apgd_runs = {o.split("/apgd-bpda/")[1] for o in outputs if "/eval/" in o and "/apgd-bpda/" in o}
    assert apgd_runs == {"delta16/none.json", "delta16/beta8.json"}
    units = {
        (u.attack, u.delta, u.q): [(c.eps, c.layer) for c in cells]
        for u, cells in Plan(atconfig.load(ROOT / "config" / "demo.yaml", check_data=False)).units.items()
        if u.attack == "apgd-bpda"
    }
    eps = (0, 8, 16, 32)
    assert units == {
        ("apgd-bpda", 16, "none"): [(e, "none") for e in eps],
        ("apgd-bpda", 16, "beta8"): [(e, layer) for e in eps for layer in ("conv0", "layer2")],
    }
    assert not any("/worst/" in o for o in outputs)
    tables = {o.rsplit("/", 1)[1] for o in outputs if "/tables/quantization_" in o}
    assert {
        "quantization_resnet18_worst_beta8.csv",
        "quantization_resnet18_apgd-bpda_beta8.csv",
        "quantization_resnet18_bpda_beta4.csv",
    } <= tables
    assert not {"quantization_resnet18_worst_beta4.csv", "quantization_resnet18_apgd-bpda_beta4.csv"} & tables
