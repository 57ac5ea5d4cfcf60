"""GPU slot assignment, on CPU with fake GPUs: concurrent jobs never share a slot; killed jobs free theirs."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

HOLD = """
import json, os, sys, time
from atspectrum.runtime import gpu_slots
t0 = time.time()
slot = gpu_slots.claim()
start = time.time()
time.sleep(float(sys.argv[1]))
print(json.dumps({"slot": slot, "start": start, "end": time.time(), "env": os.environ.get("CUDA_VISIBLE_DEVICES")}))
"""


def env(tmp_path, gpus, **extra):
    e = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    e.update(ATSPECTRUM_NUM_GPUS=str(gpus), ATSPECTRUM_GPU_LOCK_DIR=str(tmp_path / "locks"), **extra)
    return e


def test_concurrent_jobs_never_share_a_gpu(tmp_path):
    procs = [
        subprocess.Popen([sys.executable, "-c", HOLD, "0.6"], stdout=subprocess.PIPE, text=True, env=env(tmp_path, 2))
        for _ in range(5)
    ]
    runs = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert all(r["slot"] in ("0", "1") and r["env"] == r["slot"] for r in runs)
    for slot in ("0", "1"):
        spans = sorted((r["start"], r["end"]) for r in runs if r["slot"] == slot)
        for (s1, e1), (s2, e2) in zip(spans, spans[1:]):
            assert s2 >= e1, f"GPU {slot} held by two jobs at once"
    assert {r["slot"] for r in runs} == {"0", "1"}  # both GPUs were used


def test_a_killed_job_frees_its_gpu(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, "60"], stdout=subprocess.PIPE, text=True, env=env(tmp_path, 1)
    )
    lock = tmp_path / "locks" / "gpu0.lock"
    for _ in range(100):
        if lock.exists() and lock.read_text().strip() == str(holder.pid):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the holder never claimed GPU 0")
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    out = subprocess.run(
        [sys.executable, "-c", HOLD, "0"], capture_output=True, text=True, timeout=30, env=env(tmp_path, 1)
    )
    assert json.loads(out.stdout)["slot"] == "0"


def test_a_scheduler_choice_is_respected_and_no_gpu_means_no_claim(tmp_path):
    out = subprocess.run(
        [sys.executable, "-c", HOLD, "0"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env(tmp_path, 4, CUDA_VISIBLE_DEVICES="3"),
    )
    assert json.loads(out.stdout)["slot"] == "3"
    assert not (tmp_path / "locks").exists()
    out = subprocess.run(
        [sys.executable, "-c", HOLD, "0"], capture_output=True, text=True, timeout=30, env=env(tmp_path, 0)
    )
    assert json.loads(out.stdout)["slot"] is None


@pytest.fixture
def slots(tmp_path, monkeypatch):
    from atspectrum.runtime import gpu_slots

    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("ATSPECTRUM_NUM_GPUS", "1")
    monkeypatch.setenv("ATSPECTRUM_GPU_LOCK_DIR", str(tmp_path / "locks"))
    yield gpu_slots
    gpu_slots.release()
    os.environ.pop("CUDA_VISIBLE_DEVICES", None)


def test_a_planted_symlink_lock_changes_nothing_outside_the_lock_folder(tmp_path, slots):
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file\n")
    (tmp_path / "locks").mkdir(mode=0o700)
    (tmp_path / "locks" / "gpu0.lock").symlink_to(victim)
    with pytest.raises(slots.UnsafeLockDir, match="gpu0.lock"):
        slots.claim(wait_seconds=0)
    assert victim.read_text() == "the user's own file\n"


@pytest.mark.parametrize("kind", ["symlink", "open to others"])
def test_a_lock_folder_that_is_not_private_is_refused(tmp_path, slots, kind):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    if kind == "symlink":
        (tmp_path / "locks").symlink_to(elsewhere)
    else:
        (tmp_path / "locks").mkdir()
        os.chmod(tmp_path / "locks", 0o777)
    with pytest.raises(slots.UnsafeLockDir, match=str(tmp_path / "locks")):
        slots.claim(wait_seconds=0)
    assert list(elsewhere.iterdir()) == []


def test_the_default_lock_folder_is_private_to_the_user(tmp_path, slots, monkeypatch):
    monkeypatch.delenv("ATSPECTRUM_GPU_LOCK_DIR")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    assert slots.claim(wait_seconds=0) == "0"
    folder = tmp_path / "atspectrum-gpu-locks"
    assert (folder.stat().st_mode & 0o777) == 0o700 and folder.stat().st_uid == os.getuid()
    assert (folder / "gpu0.lock").read_text() == f"{os.getpid()}\n"
