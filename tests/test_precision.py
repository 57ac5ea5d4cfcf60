"""Speed options: bf16 training, channels-last, and the guarantee that evaluation attacks stay in fp32."""

import pytest
import torch
import torch.nn.functional as F
from synthetic import bars

from atspectrum import attacks, models
from atspectrum.evaluation import evaluate
from atspectrum.specs import PGDSpec
from atspectrum.train import TrainConfig, train


def net(seed=0):
    torch.manual_seed(seed)
    return models.build("resnet18", num_classes=3, in_channels=1, width=4)


def test_bf16_adversarial_training_runs_and_learns():
    cfg = TrainConfig(
        eps=8,
        epochs=4,
        batch_size=32,
        lr=0.05,
        lr_milestones=(10,),
        attack_steps=2,
        crop_padding=0,
        flip=False,
        select="last",
        precision="bf16",
        channels_last=True,
    )
    model, rows, _ = train(net(), bars(128, 0), bars(32, 1), cfg)
    assert rows[-1]["train_loss"] < 0.7 * rows[0]["train_loss"]
    assert all(p.dtype == torch.float32 for p in model.parameters())  # master weights stay fp32
    assert model.conv1.weight.is_contiguous()  # handed back in the default memory format
    assert rows[-1]["val_clean_acc"] > 50


def test_evaluation_attacks_refuse_reduced_precision_unless_allowed():
    m = net().eval()
    x, y = torch.rand(4, 1, 28, 28), torch.zeros(4, dtype=torch.long)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        with pytest.raises(attacks.ReducedPrecisionError, match="allow_reduced_precision"):
            attacks.pgd(m, x, y, 8 / 255, 2, 2 / 255)
        with pytest.raises(attacks.ReducedPrecisionError, match="attack under autocast"):
            evaluate.pgd_per_example(m, (x * 255).to(torch.uint8), y, 8, PGDSpec(2, 0.25))
        adv = attacks.pgd(m, x, y, 8 / 255, 2, 2 / 255, allow_reduced_precision=True)
        assert (adv - x).abs().max() <= 8 / 255 + 1e-7
    with pytest.raises(attacks.ReducedPrecisionError, match="bfloat16"):
        attacks.pgd(m.to(torch.bfloat16), x.to(torch.bfloat16), y, 8 / 255, 2, 2 / 255)


def straightforward_pgd(model, x, y, eps, steps, alpha, start):
    """The textbook loop, written plainly: the reference our attack must match exactly."""
    model.eval()
    adv = start.clone()
    for _ in range(steps):
        adv = adv.clone().requires_grad_(True)
        loss = F.cross_entropy(model(adv), y)
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            adv = adv + alpha * adv.grad.sign()
            adv = torch.min(torch.max(adv, x - eps), x + eps).clamp(0, 1)
    return adv.detach()


def test_fast_attack_path_matches_the_straightforward_implementation_exactly():
    m = net(3).eval()
    x = torch.rand(16, 1, 28, 28)
    y = torch.randint(0, 3, (16,))
    eps, alpha = 8 / 255, 2 / 255
    g = torch.Generator().manual_seed(0)
    start = (x + (2 * torch.rand(x.shape, generator=g) - 1) * eps).clamp(0, 1)
    fast = attacks.pgd(m, x, y, eps, 10, alpha, init=start)
    slow = straightforward_pgd(m, x, y, eps, 10, alpha, start)
    assert torch.equal(fast, slow)
    # and the seeded random start is that same draw
    assert torch.equal(attacks.pgd(m, x, y, eps, 10, alpha, generator=torch.Generator().manual_seed(0)), fast)
