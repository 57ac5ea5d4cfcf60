"""A training job killed at any moment (SIGKILL) resumes from its last complete epoch and ends with the weights of
an uninterrupted run; a partial checkpoint is never taken for a complete one."""
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch

from atspectrum import models
from atspectrum.train import TrainConfig, train
from synthetic import bars

SCRIPT = """
import sys, torch
sys.path.insert(0, {tests!r})
from synthetic import bars
from atspectrum import models
from atspectrum.train import TrainConfig, train
torch.manual_seed(0)
model = models.build("resnet18", num_classes=3, in_channels=1, width=2)
cfg = TrainConfig(**{cfg!r})
train(model, bars(96, 0), bars(32, 1), cfg, state_path=sys.argv[1],
      on_epoch_end=lambda row: print("epoch", row["epoch"], flush=True))
"""
CFG = dict(eps=8, epochs=4, batch_size=16, lr=0.05, lr_milestones=(3,), attack_steps=3, crop_padding=2, seed=5)


def fresh():
    torch.manual_seed(0)
    return models.build("resnet18", num_classes=3, in_channels=1, width=2)


def test_sigkill_mid_epoch_then_resume_gives_the_uninterrupted_weights(tmp_path):
    reference, _, _ = train(fresh(), bars(96, 0), bars(32, 1), TrainConfig(**CFG))
    state = tmp_path / "state" / "last.pt"
    code = SCRIPT.format(tests=str(Path(__file__).parent), cfg=CFG)
    proc = subprocess.Popen([sys.executable, "-c", code, str(state)], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # "epoch 1": its checkpoint is written
    assert line.strip() == "epoch 1", line
    time.sleep(0.3)  # now inside epoch 2
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    saved = torch.load(state, weights_only=True)
    assert saved["epoch"] in (1, 2)  # the last complete epoch, never a partial one
    (state.parent / ".last.pt.abc123.tmp").write_bytes(b"half a checkpoint")  # as a kill during a write leaves
    messages = []
    resumed, rows, _ = train(fresh(), bars(96, 0), bars(32, 1), TrainConfig(**CFG), state_path=str(state),
                             log=messages.append)
    assert any("resuming" in m for m in messages)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert not list(state.parent.glob(".*.tmp"))  # the half-written file was cleared, never read
    for (k, a), b in zip(reference.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), k
