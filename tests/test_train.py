import pytest
import torch
from torch.optim.optimizer import register_optimizer_step_pre_hook

import atspectrum.train as training
from atspectrum import attacks, models
from atspectrum.data import augment
from atspectrum.models import CheckpointError
from atspectrum.train import TrainConfig, train


def tiny_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=g)
    images = torch.randint(0, 60, (n, 1, 16, 16), generator=g, dtype=torch.uint8)
    for i, c in enumerate(labels.tolist()):
        images[i, 0, c * 5 : c * 5 + 5, 3:13] = 220  # a learnable class-dependent bar
    return images, labels


def cfg(**kw):
    base = dict(
        eps=8,
        epochs=3,
        batch_size=16,
        lr=0.05,
        lr_milestones=(2,),
        attack_steps=2,
        val_attack_steps=2,
        crop_padding=2,
        eval_batch_size=32,
        seed=3,
    )
    return TrainConfig(**(base | kw))


def fresh():
    torch.manual_seed(0)
    return models.build("resnet18", num_classes=3, in_channels=1, width=2)


class Interrupt(Exception):
    pass


def test_resumed_training_ends_with_the_same_weights(tmp_path):
    tr, va = tiny_data(64, 0), tiny_data(32, 1)
    ref, ref_rows, ref_summary = train(fresh(), tr, va, cfg(), state_path=str(tmp_path / "a.pt"))

    def stop_after_first(row):
        if row["epoch"] == 1:
            raise Interrupt

    state = tmp_path / "b.pt"
    with pytest.raises(Interrupt):
        train(fresh(), tr, va, cfg(), state_path=str(state), on_epoch_end=stop_after_first)
    assert torch.load(state, weights_only=True)["epoch"] == 1
    messages = []
    resumed, rows, summary = train(fresh(), tr, va, cfg(), state_path=str(state), log=messages.append)
    assert any("resuming" in m for m in messages)
    assert len(rows) == 3 and [r["epoch"] for r in rows] == [1, 2, 3]
    for (k, a), b in zip(ref.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
    assert summary["selected_epoch"] == ref_summary["selected_epoch"]


def test_best_val_selects_the_epoch_with_the_highest_validation_robust_accuracy(tmp_path):
    tr, va = tiny_data(64, 0), tiny_data(32, 1)
    model, rows, summary = train(fresh(), tr, va, cfg(epochs=4))
    scores = [r["val_robust_acc"] for r in rows]
    assert summary["selected_epoch"] == scores.index(max(scores)) + 1
    _, rows_last, summary_last = train(fresh(), tr, va, cfg(epochs=4, select="last"))
    assert summary_last["selected_epoch"] == 4


def test_standard_training_learns():
    tr, va = tiny_data(96, 0), tiny_data(48, 1)
    _, rows, summary = train(fresh(), tr, va, cfg(eps=0, epochs=6, lr=0.1, lr_milestones=(100,)))
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert rows[0]["val_robust_acc"] == rows[0]["val_clean_acc"]  # ε = 0: robust is clean
    assert summary["val_clean_acc"] > 50  # three classes: chance is 33%


def test_corrupt_state_is_an_error_naming_the_file_and_is_kept(tmp_path):
    state = tmp_path / "state.pt"
    state.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(CheckpointError, match=str(state)):
        train(fresh(), tiny_data(16, 0), tiny_data(8, 1), cfg(epochs=1), state_path=str(state))
    assert state.read_bytes() == b"PK\x03\x04 truncated"  # never silently retrained over


def test_state_from_other_hyperparameters_is_kept_aside_not_resumed(tmp_path):
    tr, va = tiny_data(32, 0), tiny_data(16, 1)
    state = tmp_path / "state.pt"
    train(fresh(), tr, va, cfg(epochs=1), state_path=str(state))
    messages = []
    _, rows, _ = train(fresh(), tr, va, cfg(epochs=1, lr=0.01), state_path=str(state), log=messages.append)
    assert len(rows) == 1 and not any("resuming" in m for m in messages)
    assert len(list(tmp_path.glob("state.pt.stale-*"))) == 1


def test_best_val_without_validation_split_is_refused():
    with pytest.raises(ValueError, match="val_size"):
        train(fresh(), tiny_data(16, 0), tiny_data(0, 1), cfg(epochs=1))


def test_augmentation_crops_and_flips_within_the_padded_image():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).view(2, 1, 6, 6) + 1
    g = torch.Generator().manual_seed(0)
    out = augment.random_crop_flip(x, padding=2, flip=True, generator=g)
    assert out.shape == x.shape
    for i in range(2):
        padded = torch.nn.functional.pad(x[i], (2, 2, 2, 2))
        windows = [padded[:, r : r + 6, c : c + 6] for r in range(5) for c in range(5)]
        assert any(torch.equal(out[i], w) or torch.equal(out[i], w.flip(2)) for w in windows)
    assert torch.equal(augment.random_crop_flip(x, padding=0, flip=False), x)


def recorded_batches(monkeypatch, model) -> tuple[list, list]:
    """``(clean, fitted)``: filled as ``model`` trains with every clean (augmented) batch and every batch it is fitted
    on (the training forward is the only one in train mode: PGD crafts in eval mode, validation is eval mode)."""
    clean, fitted = [], []

    def recording_crop_flip(*args, **kwargs):
        out = augment.random_crop_flip(*args, **kwargs)
        clean.append(out.clone())
        return out

    monkeypatch.setattr(training, "random_crop_flip", recording_crop_flip)
    model.register_forward_pre_hook(lambda m, inp: fitted.append(inp[0].detach().clone()) if m.training else None)
    return clean, fitted


@pytest.mark.parametrize("eps, random_start", [(8, True), (8, False), (0, True)])
def test_adversarial_training_fits_the_pgd_examples_not_the_clean_batch(monkeypatch, eps, random_start):
    model = fresh()
    clean, fitted = recorded_batches(monkeypatch, model)
    c = cfg(eps=eps, epochs=1, select="last", attack_random_start=random_start)
    train(model, tiny_data(48, 0), tiny_data(8, 1), c)
    assert len(fitted) == len(clean) == 3  # 48 images in batches of 16
    budget = eps / 255
    gaps = []
    for x, x_fit in zip(clean, fitted):
        gap = (x_fit - x).abs().flatten(1).amax(1)  # per example
        assert x_fit.min() >= 0 and x_fit.max() <= 1
        assert gap.max() <= budget + 1e-6
        if eps == 0:
            assert torch.equal(x_fit, x)  # standard training fits the augmented batch itself
        else:
            # every example is perturbed; from the clean image, PGD cannot move an example whose input gradient is
            # exactly zero (a tiny network can have dead examples), so there most of the batch
            moved = (gap > 0).float().mean().item()
            assert moved == 1.0 if random_start else moved >= 0.75, gap
        gaps.append(gap.max().item())
    # how far PGD reaches in [0, 1] pixels: from a random start in the ball some pixel ends on its border (ε);
    # from the clean image, `steps` signed steps of α = factor·ε (2 · ε/4 here)
    reach = budget if random_start else min(budget, c.attack_steps * c.attack_step_factor * budget)
    assert max(gaps) == pytest.approx(reach, abs=1e-6)


# Scripted validation results (%), one pair per epoch: clean peaks at epoch 2; robust peaks at epoch 3 and ties at
# epoch 4, where the earlier epoch is kept (a tie is no improvement); the last epoch (5) is neither.
SCRIPTED_CLEAN = [10.0, 50.0, 20.0, 30.0, 25.0]
SCRIPTED_ROBUST = [5.0, 10.0, 40.0, 40.0, 30.0]
EPOCHS = len(SCRIPTED_ROBUST)


def script_validation(monkeypatch):
    """``validate`` returns the scripted results in order, one pair per call, across runs (a resume continues)."""
    results = iter(zip(SCRIPTED_CLEAN, SCRIPTED_ROBUST))
    monkeypatch.setattr(training, "validate", lambda *args, **kwargs: next(results))


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def train_scripted(select, **kw):
    """Standard training (fast) under scripted validation; returns the run and each epoch's weights."""
    model, per_epoch = fresh(), []
    out = train(
        model,
        tiny_data(32, 0),
        tiny_data(8, 1),
        cfg(eps=0, epochs=EPOCHS, select=select),
        on_epoch_end=lambda row: per_epoch.append(weights(model)),
        **kw,
    )
    return out, per_epoch


@pytest.mark.parametrize("select, epoch", [("best_val", 3), ("last", EPOCHS)])
def test_the_returned_weights_are_those_of_the_selected_epoch(monkeypatch, select, epoch):
    script_validation(monkeypatch)
    (model, rows, summary), per_epoch = train_scripted(select)
    assert [r["val_robust_acc"] for r in rows] == SCRIPTED_ROBUST
    assert summary["selected_epoch"] == epoch  # best_val: robust accuracy, not clean (epoch 2), first maximum
    assert summary["val_robust_acc"] == SCRIPTED_ROBUST[epoch - 1]
    assert summary["val_clean_acc"] == SCRIPTED_CLEAN[epoch - 1]
    assert len(per_epoch) == EPOCHS
    returned = weights(model)
    for e, w in enumerate(per_epoch, start=1):
        assert same_weights(returned, w) == (e == epoch), e  # the epochs' weights all differ: only one matches


def test_a_resumed_run_keeps_the_best_epoch_of_the_interrupted_one(tmp_path, monkeypatch):
    script_validation(monkeypatch)  # the interrupted run validates epochs 1-4, the resumed one epoch 5
    state, model, per_epoch = str(tmp_path / "state.pt"), fresh(), []

    def snapshot_then_stop_after_fourth(row):  # the best epoch (3) is then neither the current nor the last one
        per_epoch.append(weights(model))
        if row["epoch"] == 4:
            raise Interrupt

    tr, va = tiny_data(32, 0), tiny_data(8, 1)
    with pytest.raises(Interrupt):
        train(model, tr, va, cfg(eps=0, epochs=EPOCHS), state_path=state, on_epoch_end=snapshot_then_stop_after_fourth)
    model = fresh()
    _, rows, summary = train(
        model,
        tr,
        va,
        cfg(eps=0, epochs=EPOCHS),
        state_path=state,
        on_epoch_end=lambda row: per_epoch.append(weights(model)),
    )
    assert [r["epoch"] for r in rows] == list(range(1, EPOCHS + 1)) and len(per_epoch) == EPOCHS
    assert summary["selected_epoch"] == 3 and summary["val_robust_acc"] == SCRIPTED_ROBUST[2]
    returned = weights(model)
    for e, w in enumerate(per_epoch, start=1):
        assert same_weights(returned, w) == (e == 3), e


def test_learning_rate_steps_at_epoch_milestones_not_batches():
    lrs = []
    handle = register_optimizer_step_pre_hook(lambda opt, args, kwargs: lrs.append(opt.param_groups[0]["lr"]))
    try:
        _, rows, _ = train(
            fresh(),
            tiny_data(32, 0),
            tiny_data(0, 1),
            cfg(eps=0, epochs=3, lr=0.05, lr_milestones=(2,), lr_gamma=0.1, select="last"),
        )
    finally:
        handle.remove()
    assert lrs == pytest.approx([0.05] * 4 + [0.005] * 2)  # two batches per epoch, ×0.1 after epoch 2
    assert [r["lr"] for r in rows] == pytest.approx([0.05, 0.05, 0.005])


def test_a_diverging_run_stops_naming_the_epoch_and_never_saves_its_weights(tmp_path):
    # lr_gamma = inf: epoch 1 trains normally, epoch 2 steps with an infinite learning rate
    tr, va = tiny_data(32, 0), tiny_data(16, 1)
    state = tmp_path / "state.pt"
    with pytest.raises(training.Diverged, match="epoch 2 of 3"):
        train(fresh(), tr, va, cfg(lr_milestones=(1,), lr_gamma=float("inf")), state_path=str(state))
    saved = torch.load(state, weights_only=True)
    assert saved["epoch"] == 1  # the last finite epoch, never the diverged one
    assert all(torch.isfinite(t).all() for t in saved["model"].values() if t.is_floating_point())
    assert all(torch.isfinite(t).all() for t in saved["best_model"].values() if t.is_floating_point())


def test_a_nan_learning_rate_stops_in_the_first_epoch_with_nothing_saved(tmp_path):
    state = tmp_path / "state.pt"
    with pytest.raises(training.Diverged, match="epoch 1 of 3"):
        train(fresh(), tiny_data(32, 0), tiny_data(16, 1), cfg(lr=float("nan")), state_path=str(state))
    assert not state.exists()


# ---- training methods (issue #24, part 3): TRADES against a reference written here, FGSM-RS as configured ---------


def reference_trades_loss(model, x, y, eps, steps, step, beta, seed):
    """TRADES as its authors' reference recipe states it, written independently of atspectrum (a model without
    BatchNorm, so train and eval mode agree): PGD on KL(f(x) || f(x')) from x + 0.001 N(0, 1), then
    CE(f(x), y) + beta KL(f(x) || f(x')) averaged over the batch."""
    p_clean = torch.softmax(model(x), 1).detach()
    g = torch.Generator().manual_seed(seed)
    adv = (x + 0.001 * torch.randn(x.shape, generator=g)).clamp(x - eps, x + eps).clamp(0, 1)
    for _ in range(steps):
        adv = adv.detach().requires_grad_(True)
        kl = (p_clean * (p_clean.log() - torch.log_softmax(model(adv), 1))).sum()
        (grad,) = torch.autograd.grad(kl, adv)
        adv = torch.min(torch.max(adv.detach() + step * grad.sign(), x - eps), x + eps).clamp(0, 1)
    logits = model(x)
    p = torch.softmax(logits, 1)
    kl = (p * (p.log() - torch.log_softmax(model(adv), 1))).sum(1).mean()
    return torch.nn.functional.cross_entropy(logits, y) + beta * kl


def test_trades_loss_is_the_reference_recipes():
    """Bugs caught: the KL's direction reversed, the clean term on the examples, beta not applied, the batch sum
    instead of the mean, a uniform start."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    x = torch.rand(10, 1, 8, 8)
    y = torch.randint(0, 3, (10,))
    c = cfg(eps=16, method="trades", trades_beta=3.0, attack_steps=4, attack_step_factor=0.25)
    run = training._Run(
        model, model, None, c, torch.device("cpu"), torch.contiguous_format, lambda m, i: m(i), 16 / 255
    )
    loss, _ = training.trades_loss(run, x, y, torch.Generator().manual_seed(5))
    expected = reference_trades_loss(model, x, y, 16 / 255, 4, 0.25 * 16 / 255, 3.0, seed=5)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
    plain = reference_trades_loss(model, x, y, 16 / 255, 4, 0.25 * 16 / 255, 0.0, seed=5)
    assert abs(expected.item() - plain.item()) > 1e-3  # the KL term weighs in: the comparison can fail


def test_trades_training_learns_and_differs_from_pgd_at():
    data = tiny_data(96, 0), tiny_data(16, 1)
    trades, rows, _ = train(fresh(), *data, cfg(method="trades", select="last"))
    pgd, _, _ = train(fresh(), *data, cfg(select="last"))
    assert rows[-1]["val_clean_acc"] > 50  # three classes: chance is 33%
    assert not same_weights(weights(trades), weights(pgd))


def test_fgsm_rs_is_one_step_of_its_factor_from_a_uniform_start_and_eps_0_stays_standard():
    from atspectrum import config as atconfig

    config = atconfig.load("config/demo.yaml", check_data=False)
    name = next(iter(config["models"]))
    config["train"].update(method="fgsm_rs", fgsm_rs={"step_factor": 1.5})
    c = atconfig.train_config(config, name, 8)
    assert (c.method, c.attack_steps, c.attack_step_factor, c.attack_random_start) == ("fgsm_rs", 1, 1.5, True)
    standard = atconfig.train_config(config, name, 0)
    assert standard.method == "pgd" and standard.attack_steps == config["train"]["attack"]["steps"]


def test_adding_a_training_option_leaves_existing_models_params_alone():
    """A training job's params are what decides whether Snakemake retrains it: a key added with the value that means
    the old behaviour must not appear in them (else every finished model retrains after an upgrade). These are the
    params' keys of a PGD-AT model as they were before training methods existed; a new TrainConfig field must join
    NEUTRAL_TRAIN_KEYS (or be conditional, as trades_beta) to keep them so."""
    from atspectrum import config as atconfig

    config = atconfig.load("config/demo.yaml", check_data=False)
    name = next(iter(config["models"]))
    before = {"eps", "epochs", "batch_size", "lr", "momentum", "weight_decay", "lr_milestones", "lr_gamma"}
    before |= {"attack_steps", "attack_step_factor", "attack_random_start", "attack_bn_eval", "crop_padding", "flip"}
    before |= {"select", "val_attack_steps", "val_attack_step_factor", "seed", "precision", "channels_last", "compile"}
    for eps in (0, 8):
        assert set(atconfig.train_hparams(config, name, eps)) == before
    config["train"]["trades"] = {"beta": 2.0}  # not used by PGD-AT: no change
    assert set(atconfig.train_hparams(config, name, 8)) == before
    config["train"]["method"] = "trades"
    hp = atconfig.train_hparams(config, name, 8)
    assert hp["method"] == "trades" and hp["trades_beta"] == 2.0
    assert TrainConfig(**hp).params() == hp
    assert set(atconfig.train_hparams(config, name, 0)) == before  # eps 0: standard training whatever the method


# --------------------------------------------------------------------------------------------------------------
# the L2 threat model


@pytest.mark.parametrize("method", ["pgd", "trades", "fgsm_rs"])
def test_l2_training_fits_examples_in_the_l2_ball(monkeypatch, method):
    """Bugs caught: the training attack run as L∞ (far outside the L2 ball), the radius read as 1/255 units
    (0.5/255: barely moved), the random start or TRADES' start left unprojected."""
    model = fresh()
    clean, fitted = recorded_batches(monkeypatch, model)
    fgsm = dict(attack_steps=1, attack_step_factor=1.25) if method == "fgsm_rs" else {}
    eps = 0.5
    c = cfg(eps=eps, norm="l2", method=method, epochs=1, select="last", **fgsm)
    train(model, tiny_data(48, 0), tiny_data(8, 1), c)
    per_batch = 2 if method == "trades" else 1  # TRADES fits the clean batch, then its examples
    assert len(fitted) == per_batch * len(clean) == per_batch * 3
    for i, x in enumerate(clean):
        x_fit = fitted[per_batch * i + per_batch - 1]
        if method == "trades":
            assert torch.equal(fitted[2 * i], x)
        dist = attacks.distance(x_fit, x, "l2")
        assert x_fit.min() >= 0 and x_fit.max() <= 1
        assert (dist <= eps * (1 + 1e-5)).all(), dist.max()
        assert (dist > 0).all() and dist.max() > 0.3 * eps, dist


def test_l2_validation_attacks_in_the_l2_ball(monkeypatch):
    seen = []
    real = training.evaluate.pgd_per_example

    def recording(*args, **kwargs):
        seen.append((args[3], kwargs.get("norm", "linf")))
        return real(*args, **kwargs)

    monkeypatch.setattr(training.evaluate, "pgd_per_example", recording)
    images, labels = tiny_data(8, 1)
    training.validate(fresh(), images, labels, cfg(eps=0.5, norm="l2"), torch.device("cpu"))
    training.validate(fresh(), images, labels, cfg(eps=8), torch.device("cpu"))
    assert seen == [(0.5, "l2"), (8, "linf")]


def test_train_config_norm_is_neutral_at_linf_and_l2_eps_is_a_radius():
    """Bugs caught: the norm in every run's params (every finished model would retrain), a fractional L2 radius
    refused or truncated, an unknown norm accepted."""
    linf = cfg(eps=8)
    assert "norm" not in linf.params() and linf.params() == cfg(eps=8, norm="linf").params()
    assert TrainConfig(**linf.params()).params() == linf.params()
    l2 = cfg(eps=0.5, norm="l2")
    assert l2.params()["norm"] == "l2" and l2.params()["eps"] == 0.5
    assert TrainConfig(**l2.params()).params() == l2.params()
    assert isinstance(cfg(eps=1, norm="l2").eps, float) and type(cfg(eps=8.0).eps) is int
    with pytest.raises(ValueError, match="linf.*l2"):
        cfg(norm="l1")
    for bad in (dict(eps=0.5), dict(eps=-0.1, norm="l2"), dict(eps=float("nan"), norm="l2"), dict(eps=True)):
        with pytest.raises(ValueError, match="eps"):
            cfg(**bad)
