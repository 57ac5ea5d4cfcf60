import pytest
import torch

from atspectrum import augment, models
from atspectrum.models import CheckpointError
from atspectrum.train import TrainConfig, train


def tiny_data(n, seed):
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=g)
    images = torch.randint(0, 60, (n, 1, 16, 16), generator=g, dtype=torch.uint8)
    for i, c in enumerate(labels.tolist()):
        images[i, 0, c * 5: c * 5 + 5, 3:13] = 220  # a learnable class-dependent bar
    return images, labels


def cfg(**kw):
    base = dict(eps=8, epochs=3, batch_size=16, lr=0.05, lr_milestones=(2,), attack_steps=2, val_attack_steps=2,
                crop_padding=2, eval_batch_size=32, seed=3)
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
        windows = [padded[:, r:r + 6, c:c + 6] for r in range(5) for c in range(5)]
        assert any(torch.equal(out[i], w) or torch.equal(out[i], w.flip(2)) for w in windows)
    assert torch.equal(augment.random_crop_flip(x, padding=0, flip=False), x)
