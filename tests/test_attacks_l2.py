"""The L2 threat model: PGD-L2 against torchattacks' PGDL2, the budget and the box for PGD and APGD, the seeded random
starts, APGD-L2's strength, the transfer examples' budget check; and that every L∞ result is what it was before the
norm existed (the old formulas, copied here)."""

import hashlib
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from synthetic import bars, trained_bars_model
from torch import nn

from atspectrum import attacks
from atspectrum.attacks import apgd, transfer
from atspectrum.evaluation import evaluate
from atspectrum.specs import APGDSpec, PGDSpec

SLACK = 1 + 1e-5  # float32 rounding of an L2 distance


def small_conv(seed=0, classes=5):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 6, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(6, 8, 3, stride=2),
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(8 * 5 * 5, classes),
    ).eval()


def edge_batch(n=12, seed=0, shape=(3, 12, 12)):
    """Random images, two of them at the box's edges and one half saturated: clamping to [0, 1] matters there."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, *shape, generator=g)
    x[0], x[1] = 0.0, 1.0
    x[2, :, : shape[1] // 2] = 1.0
    return x, torch.randint(0, 5, (n,), generator=g)


def l2(a, b):
    return (a - b).flatten(1).norm(dim=1)


# --------------------------------------------------------------------------------------------------------------
# the helpers


def test_budget_and_norm_names():
    assert attacks.NORMS == ("linf", "l2")
    assert attacks.budget(8, "linf") == 8 / 255 == attacks.pixels(8)
    assert attacks.budget(0.5, "l2") == 0.5 and isinstance(attacks.budget(1, "l2"), float)
    for bad in ("l1", "Linf", None):
        with pytest.raises(ValueError, match="linf.*l2"):
            attacks.budget(1, bad)
    x, _ = edge_batch(4)
    with pytest.raises(ValueError, match="unknown norm"):
        attacks.pgd(small_conv(), x, torch.zeros(4, dtype=torch.long), 0.0, 1, 0.1, norm="l1")


def test_distance_per_example():
    a = torch.zeros(3, 1, 2, 2)
    b = a.clone()
    b[0, 0, 0, 0], b[1] = 0.3, 0.5  # one pixel; all four pixels
    assert torch.allclose(attacks.distance(a, b, "linf"), torch.tensor([0.3, 0.5, 0.0]))
    assert torch.allclose(attacks.distance(a, b, "l2"), torch.tensor([0.3, 1.0, 0.0]))


def test_l2_projection_shrinks_only_what_leaves_the_ball_and_stays_in_the_box():
    x = torch.full((3, 1, 4, 4), 0.5)
    step = torch.zeros_like(x)
    step[0, 0, 0, :2] = 0.3  # norm 0.42: inside a ball of 0.5
    step[1, 0, 0, :] = 0.4  # norm 0.8: outside, pulled back onto the sphere along the same direction
    step[2, 0, 0, 0] = 0.9  # norm 0.9 but leaving the box: onto the sphere, then clamped to 1
    out = attacks.project(x + step, x, 0.5, "l2")
    assert torch.allclose(out[0], (x + step)[0], atol=1e-7)
    assert l2(out, x)[1].item() == pytest.approx(0.5, rel=1e-6)
    assert torch.allclose(out[1] - x[1], step[1] * 0.5 / 0.8, atol=1e-7)
    assert out[2, 0, 0, 0].item() == pytest.approx(1.0) and (out[2].flatten()[1:] == 0.5).all()
    assert (l2(out, x) <= 0.5 * SLACK).all()


# --------------------------------------------------------------------------------------------------------------
# PGD-L2 against an outside implementation


def test_pgd_l2_equals_torchattacks_pgdl2():
    """Bugs caught: an L∞ (sign) step in the L2 branch, the gradient normalised over the batch instead of per
    example, clamping to the box before scaling back into the ball (torchattacks scales, then clamps)."""
    torchattacks = pytest.importorskip("torchattacks")
    model = small_conv()
    x, y = edge_batch()
    eps, alpha, steps = 0.5, 0.15, 10
    ours = attacks.pgd(model, x, y, eps, steps, alpha, random_start=False, norm="l2")
    theirs = torchattacks.PGDL2(model, eps=eps, alpha=alpha, steps=steps, random_start=False)(x, y)
    torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)
    # the comparison has teeth: the steps add up to 3ε, so the projection acted; every example moved most of the
    # way to the sphere; the box clipped some of them
    dist = l2(ours, x)
    assert alpha * steps > 2 * eps and (dist > 0.9 * eps).all()
    assert (ours == 1).any() and (ours == 0).any()


# --------------------------------------------------------------------------------------------------------------
# the budget and the box


@pytest.mark.parametrize("eps", [0.25, 1.0, 3.0])
def test_l2_pgd_and_apgd_stay_in_the_ball_and_the_box(eps):
    """Bugs caught: the L∞ projection in the L2 branch, clamping to the box without projecting, a start or init left
    unprojected, the norm not passed on from the evaluation to the attack."""
    model = small_conv(1)
    x, y = edge_batch(seed=1)
    outside = x + torch.randn(x.shape, generator=torch.Generator().manual_seed(2)) * eps  # an init beyond the ball
    runs = {
        "pgd": attacks.pgd(model, x, y, eps, 5, 2.5 * eps, norm="l2"),  # oversized steps must still be projected
        "pgd-init": attacks.pgd(model, x, y, eps, 0, 0.1, init=outside, norm="l2"),
        "apgd": apgd.apgd(model, x, y, eps, 10, "ce", init=outside, norm="l2"),
        "apgd-dlr": apgd.apgd(model, x, y, eps, 10, "dlr", norm="l2"),
    }
    images = (x * 255).round().to(torch.uint8)
    clean = images.float() / 255
    _, runs["eval-pgd"] = evaluate.attack_per_example(model, images, y, eps, PGDSpec(5, 0.5), keep_adv=True, norm="l2")
    _, runs["eval-apgd"] = evaluate.apgd_per_example(model, images, y, eps, APGDSpec(5, 2), keep_adv=True, norm="l2")
    for name, adv in runs.items():
        ref = clean if name.startswith("eval") else x
        assert (l2(adv, ref) <= eps * SLACK).all(), name
        assert adv.min() >= 0 and adv.max() <= 1, name
        assert not torch.equal(adv, ref), name
    assert torch.equal(runs["pgd-init"], attacks.project(outside, x, eps, "l2"))  # no step: the projected init


def test_apgd_l2_first_step_is_2eps_along_the_normalised_gradient():
    """From the far side of the ball (``x − ε·u``, ``u`` the unit gradient direction of a linear classifier), the
    paper's first step ``x + 2ε·g/‖g‖₂`` ends exactly on the sphere at ``x + ε·u``. Bugs caught: a step along the
    unnormalised gradient (here ‖g‖₂ < 1: it stops inside), a first step of ε instead of 2ε (back at ``x``), a sign
    step (another direction)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(20, 2))
    with torch.no_grad():
        model[1].weight.mul_(0.5)
    x = torch.full((8, 1, 4, 5), 0.5)
    y = torch.randint(0, 2, (8,))
    w = model[1].weight.detach()
    u = (w[1 - y] - w[y]).view_as(x)
    u /= u.flatten(1).norm(dim=1).view(-1, 1, 1, 1)
    eps = 0.1
    adv = apgd.apgd(model, x, y, eps, steps=1, init=x - eps * u, norm="l2")
    torch.testing.assert_close(adv, x + eps * u, atol=1e-6, rtol=0)


def test_l2_eps_zero_returns_the_input():
    x, y = edge_batch(4)
    assert torch.equal(attacks.pgd(small_conv(), x, y, 0.0, 3, 0.1, norm="l2"), x)
    assert torch.equal(apgd.apgd(small_conv(), x, y, 0.0, 3, norm="l2"), x)


# --------------------------------------------------------------------------------------------------------------
# random starts


def test_l2_start_noise_lies_in_the_unit_ball_is_seeded_and_spread():
    """Bugs caught: the direction not normalised (outside the ball), every start on the sphere (no radius drawn), one
    radius for the whole set, the seed ignored."""
    shape = torch.Size((200, 3, 8, 8))
    noise = attacks.start_noise(shape, 5, "l2")
    radius = noise.flatten(1).norm(dim=1)
    assert (radius <= SLACK).all()
    assert radius.min() < 0.1 and radius.max() > 0.9 and 0.4 < radius.mean() < 0.6  # uniform radii
    assert torch.equal(noise, attacks.start_noise(shape, 5, "l2"))
    assert not torch.equal(noise, attacks.start_noise(shape, 6, "l2"))
    # directions, not a fixed pattern: two examples' noise is far from parallel
    cos = F.cosine_similarity(noise[0].flatten(), noise[1].flatten(), dim=0)
    assert cos.abs() < 0.5
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    start = attacks.uniform_start(x, 0.5, torch.Generator().manual_seed(1), norm="l2")
    assert (l2(start, x) <= 0.5 * SLACK).all() and start.min() >= 0 and start.max() <= 1
    assert not torch.equal(start, attacks.uniform_start(x, 0.5, torch.Generator().manual_seed(2), norm="l2"))


def test_linf_starts_are_the_old_formulas_bit_for_bit():
    shape = torch.Size((16, 3, 8, 8))
    old = torch.rand(shape, generator=torch.Generator().manual_seed(7)).mul_(2).sub_(1)
    assert torch.equal(attacks.start_noise(shape, 7), old)
    assert torch.equal(attacks.start_noise(shape, 7, "linf"), old)
    x = torch.rand(shape)
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(3), dtype=x.dtype)
    old_start = (x + (2 * noise - 1) * (8 / 255)).clamp_(0, 1)
    assert torch.equal(attacks.uniform_start(x, 8 / 255, torch.Generator().manual_seed(3)), old_start)


def old_linf_pgd(model, x, y, eps, steps, step_size, start):
    """PGD as it was written before the norms existed (the bounds once, a sign step, a clip)."""
    lower, upper = (x - eps).clamp_(min=0), (x + eps).clamp_(max=1)
    adv = start
    for _ in range(steps):
        adv = adv.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(model(adv), y, reduction="sum"), adv)
        adv = torch.max(torch.min(adv.detach() + step_size * grad.sign(), upper), lower)
    return adv.detach()


def test_linf_pgd_is_the_old_formula_bit_for_bit():
    model = small_conv(2)
    x, y = edge_batch(seed=3)
    eps = 8 / 255
    old_start = attacks.uniform_start(x, eps, torch.Generator().manual_seed(4))
    expected = old_linf_pgd(model, x, y, eps, 6, eps / 4, old_start)
    ours = attacks.pgd(model, x, y, eps, 6, eps / 4, generator=torch.Generator().manual_seed(4))
    assert torch.equal(ours, expected)
    assert torch.equal(
        attacks.pgd(model, x, y, eps, 6, eps / 4, random_start=False),
        old_linf_pgd(model, x, y, eps, 6, eps / 4, x.clone()),
    )


# --------------------------------------------------------------------------------------------------------------
# strength


def test_apgd_l2_is_at_least_as_strong_as_pgd_l2_and_stronger_than_clean():
    """Bugs caught: APGD-L2 stepping by an unnormalised gradient (or an L∞ step), its step size not starting at
    2ε, PGD-L2 results standing in for APGD's."""
    net = trained_bars_model()
    images, labels = bars(96, 2)
    pgd_frame, _ = evaluate.attack_per_example(net, images, labels, 0.75, PGDSpec(20, 0.1), norm="l2")
    apgd_frame, _ = evaluate.apgd_per_example(net, images, labels, 0.75, APGDSpec(steps=50), norm="l2")
    clean = evaluate.classify_per_example(net, images, labels)
    slack = 100 / len(labels)  # one example
    assert evaluate.accuracy(apgd_frame) <= evaluate.accuracy(pgd_frame) + slack
    assert evaluate.accuracy(apgd_frame) < evaluate.accuracy(clean) - 10


# --------------------------------------------------------------------------------------------------------------
# cached transfer examples


def test_transfer_load_checks_the_l2_ball(tmp_path):
    """Bugs caught: the L∞ distance used for L2 examples (a small change in every pixel passes it), a fractional δ
    truncated to an integer, the norm not checked."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(60, 190, (6, 3, 8, 8), generator=g, dtype=torch.uint8)  # no clamping
    labels = torch.randint(0, 3, (6,), generator=g)
    x = images.float() / 255
    direction = torch.randn(x.shape, generator=g).sign() / x[0].numel() ** 0.5  # unit L2 norm, spread out
    eps = 0.5
    path = tmp_path / "l2.npz"
    inside = x + direction * eps * (1 - 1e-3)
    transfer.save(path, inside, labels, eps, norm="l2")
    with np.load(path) as z:
        assert z["delta"].dtype == np.float64 and z["delta"].item() == 0.5
    assert torch.equal(transfer.load(path, images, labels, eps, norm="l2"), inside)
    with pytest.raises(transfer.TransferError, match="another test set or delta"):
        transfer.load(path, images, labels, 0.25, norm="l2")
    with pytest.raises(transfer.TransferError, match="norm l2"):
        transfer.load(path, images, labels, eps)  # L2 examples read as L∞ ones
    outside = x + direction * eps * 1.01
    assert (outside - x).abs().max() < 10 / 255  # within an L∞ budget of 10/255: only the L2 check refuses it
    transfer.save(path, outside, labels, eps, norm="l2")
    with pytest.raises(transfer.TransferError, match=r"budget: max \|\|x_adv - x\|\|_2 = 0.505 > delta 0.5"):
        transfer.load(path, images, labels, eps, norm="l2")


def test_transfer_linf_files_and_keys_are_unchanged(tmp_path):
    images = torch.randint(0, 256, (4, 1, 4, 4), dtype=torch.uint8)
    labels = torch.arange(4)
    path = tmp_path / "linf.npz"
    transfer.save(path, images.float() / 255, labels, 8)
    with np.load(path) as z:
        assert z["delta"].dtype == np.int64 and "norm" not in z.files
    transfer.load(path, images, labels, 8)
    settings = {"steps": 10, "step_factor": 0.25}
    payload = {"examples": "transfer", "model": "m", "test": "t", "settings": settings, "seed": 1, "delta": 8}
    old = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    assert transfer.examples_key("m", "t", settings, 1, 8) == old
    keys = {transfer.examples_key("m", "t", settings, 1, d, norm) for d, norm in [(8, "l2"), (0.5, "l2"), (0.25, "l2")]}
    assert len(keys) == 3 and old not in keys
