import pytest
import torch
import torch.nn.functional as F
from torch import nn

from atspectrum import attacks, models


def linear_binary(dim=20, seed=0):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(dim, 2))
    return model


def test_pgd_finds_the_closed_form_worst_case_of_a_linear_classifier():
    model = linear_binary()
    x = torch.rand(16, 1, 4, 5)
    y = torch.randint(0, 2, (16,))
    eps = 8 / 255
    w = model[1].weight.detach()
    # The loss grows with the margin (w_other - w_true)·x: the worst case inside the ball and the box puts each
    # pixel at its upper bound where that direction is positive and at its lower bound elsewhere.
    direction = (w[1 - y] - w[y]).view_as(x)
    expected = torch.where(direction > 0, (x + eps).clamp(max=1), (x - eps).clamp(min=0))
    adv = attacks.pgd(model, x, y, eps, steps=10, step_size=eps / 4)
    assert torch.allclose(adv, expected, atol=1e-6)
    assert (F.cross_entropy(model(adv), y, reduction="none") >= F.cross_entropy(model(x), y, reduction="none")).all()


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(1)
    return models.build("resnet18", 10, 1, width=4)


@pytest.mark.parametrize("delta", [1, 4, 12])
def test_budget_and_box_hold_exactly(net, delta):
    x = torch.rand(8, 1, 28, 28)
    x[0] = 0.0
    x[1] = 1.0  # images at the box edges
    y = torch.randint(0, 10, (8,))
    eps = attacks.pixels(delta)
    adv = attacks.pgd(net, x, y, eps, steps=5, step_size=2.5 * eps)  # oversized steps must still be projected
    assert (adv - x).abs().max().item() <= eps + 1e-7
    assert adv.min().item() >= 0.0 and adv.max().item() <= 1.0
    assert not torch.equal(adv, x)


def test_pgd_increases_the_loss(net):
    torch.manual_seed(3)
    x = torch.rand(32, 1, 28, 28)
    y = net.eval()(x).argmax(1)
    eps = 8 / 255
    clean = F.cross_entropy(net(x), y).item()
    adv = attacks.pgd(net, x, y, eps, steps=10, step_size=eps / 4)
    rand = attacks.pgd(net, x, y, eps, steps=0, step_size=0.0)  # random start only
    with torch.no_grad():
        assert F.cross_entropy(net(adv), y).item() > max(clean, F.cross_entropy(net(rand), y).item())


def test_delta_zero_returns_the_input(net):
    x = torch.rand(4, 1, 28, 28)
    adv = attacks.pgd(net, x, torch.zeros(4, dtype=torch.long), 0.0, steps=20, step_size=0.0)
    assert torch.equal(adv, x)


def test_model_state_is_left_as_found(net):
    net.train()
    net.layer1[0].conv1.weight.requires_grad_(False)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    x, y = torch.rand(4, 1, 28, 28), torch.zeros(4, dtype=torch.long)
    attacks.pgd(net, x, y, 4 / 255, steps=3, step_size=1 / 255)
    assert net.training  # mode restored
    assert all(p.grad is None for p in net.parameters())  # no gradient left on the parameters
    assert not net.layer1[0].conv1.weight.requires_grad and net.conv1.weight.requires_grad
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # BatchNorm statistics untouched (eval mode)
    net.layer1[0].conv1.weight.requires_grad_(True)
    net.eval()


def test_random_start_is_reproducible_with_a_generator(net):
    x, y = torch.rand(4, 1, 28, 28), torch.zeros(4, dtype=torch.long)
    a = attacks.pgd(net, x, y, 8 / 255, 2, 2 / 255, generator=torch.Generator().manual_seed(5))
    b = attacks.pgd(net, x, y, 8 / 255, 2, 2 / 255, generator=torch.Generator().manual_seed(5))
    c = attacks.pgd(net, x, y, 8 / 255, 2, 2 / 255, generator=torch.Generator().manual_seed(6))
    assert torch.equal(a, b) and not torch.equal(a, c)
