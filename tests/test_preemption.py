"""A training job killed at any moment (SIGKILL) or stopped by SIGTERM/SIGUSR1 (what SLURM sends before a time limit, at
it, on preemption and on scancel) resumes from its last complete epoch and ends with the weights of an uninterrupted
run; a partial checkpoint is never taken for a complete one."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from synthetic import bars

from atspectrum import models
from atspectrum.train import Interrupted, TrainConfig, train

SCRIPT = """
import sys, torch
sys.path.insert(0, {tests!r})
from synthetic import bars
from atspectrum import models
from atspectrum.train import Interrupted, TrainConfig, train
torch.manual_seed(0)
model = models.build("resnet18", num_classes=3, in_channels=1, width=2)
cfg = TrainConfig(**{cfg!r})
try:
    train(model, bars(96, 0), bars(32, 1), cfg, state_path=sys.argv[1],
          on_epoch_end=lambda row: print("epoch", row["epoch"], flush=True), log=lambda m: print(m, flush=True))
except Interrupted as stop:  # as workflow/scripts/train.py does
    sys.exit(128 + stop.signum)
"""
CFG = dict(eps=8, epochs=4, batch_size=16, lr=0.05, lr_milestones=(3,), attack_steps=3, crop_padding=2, seed=5)


def fresh():
    torch.manual_seed(0)
    return models.build("resnet18", num_classes=3, in_channels=1, width=2)


@pytest.fixture(scope="module")
def reference():
    """The weights of an uninterrupted run."""
    model, _, _ = train(fresh(), bars(96, 0), bars(32, 1), TrainConfig(**CFG))
    return model


def start_and_wait_for_epoch_1(state):
    """Train in a subprocess; return it once epoch 1 is checkpointed (it printed "epoch 1")."""
    code = SCRIPT.format(tests=str(Path(__file__).parent), cfg=CFG)
    proc = subprocess.Popen([sys.executable, "-c", code, str(state)], stdout=subprocess.PIPE, text=True)
    lines = []
    while not lines or lines[-1] != "epoch 1":
        line = proc.stdout.readline()
        assert line, f"training ended before epoch 1 was reported: {lines}"
        lines.append(line.strip())
    return proc


def resume_and_compare(state, reference):
    messages = []
    resumed, rows, _ = train(
        fresh(), bars(96, 0), bars(32, 1), TrainConfig(**CFG), state_path=str(state), log=messages.append
    )
    assert any("resuming" in m for m in messages)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    for (k, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k


def test_sigkill_mid_epoch_then_resume_gives_the_uninterrupted_weights(tmp_path, reference):
    state = tmp_path / "state" / "last.pt"
    proc = start_and_wait_for_epoch_1(state)
    time.sleep(0.3)  # now inside epoch 2
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    saved = torch.load(state, weights_only=True)
    assert saved["epoch"] in (1, 2)  # the last complete epoch, never a partial one
    (state.parent / ".last.pt.abc123.tmp").write_bytes(b"half a checkpoint")  # as a kill during a write leaves
    resume_and_compare(state, reference)
    assert not list(state.parent.glob(".*.tmp"))  # the half-written file was cleared, never read


def test_sigterm_mid_epoch_stops_promptly_then_resume_gives_the_uninterrupted_weights(tmp_path, reference):
    state = tmp_path / "state" / "last.pt"
    proc = start_and_wait_for_epoch_1(state)
    time.sleep(0.1)  # inside epoch 2
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, out  # a clean exit with a status saying why
    stopped = [m for m in out.splitlines() if m.startswith("received SIGTERM")]
    assert len(stopped) == 1, out
    saved = torch.load(state, weights_only=True)
    assert 1 <= saved["epoch"] < CFG["epochs"]  # stopped before the end, at a complete epoch
    assert f"holds epoch {saved['epoch']} of {CFG['epochs']}" in stopped[0]
    assert "epoch 4" not in out and not list(state.parent.glob(".*.tmp"))
    resume_and_compare(state, reference)


def test_a_stop_signal_between_epochs_raises_interrupted_and_keeps_the_epochs_done(tmp_path):
    """In process, deterministic: SIGUSR1 arrives at the end of epoch 2; no further batch runs."""
    state = tmp_path / "last.pt"
    before = signal.getsignal(signal.SIGUSR1)

    def at_epoch_end(row):
        if row["epoch"] == 2:
            os.kill(os.getpid(), signal.SIGUSR1)

    with pytest.raises(Interrupted) as stop:
        train(fresh(), bars(96, 0), bars(32, 1), TrainConfig(**CFG), state_path=str(state), on_epoch_end=at_epoch_end)
    assert stop.value.signum == signal.SIGUSR1 and stop.value.completed_epochs == 2
    assert "received SIGUSR1" in str(stop.value) and "holds epoch 2 of 4" in str(stop.value)
    assert torch.load(state, weights_only=True)["epoch"] == 2
    assert signal.getsignal(signal.SIGUSR1) is before  # the handler is put back


def test_stop_signals_can_be_left_alone():
    before = signal.getsignal(signal.SIGTERM)
    seen = []
    train(
        fresh(),
        bars(32, 0),
        bars(8, 1),
        TrainConfig(**CFG | {"epochs": 1}),
        stop_signals=(),
        on_epoch_end=lambda row: seen.append(signal.getsignal(signal.SIGTERM)),
    )
    assert seen == [before]
