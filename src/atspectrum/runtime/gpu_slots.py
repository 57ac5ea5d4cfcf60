"""Give each concurrent local job its own GPU.

``snakemake --cores 8 --resources gpu=4`` limits how many GPU jobs run at once but does not say which GPU each job
should use, so without help every job lands on GPU 0. ``claim()``:

- respects ``CUDA_VISIBLE_DEVICES`` when it is already set (a scheduler such as SLURM, or the user, chose);
- otherwise takes the first GPU index whose lock file it can lock exclusively (``fcntl.flock``) and sets
  ``CUDA_VISIBLE_DEVICES`` to it. The lock lives as long as the process: the kernel releases it when the job ends,
  however it ends (SIGKILL included), so a killed job never leaves a GPU claimed.

It must run before CUDA is initialised in the process (the workflow scripts call it first, through ``jobs.setup``).
The number of GPUs comes from ``ATSPECTRUM_NUM_GPUS`` when set (tests use it to fake GPUs), else from
``nvidia-smi -L``; none means nothing to claim.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time

LOCK_DIR_ENV = "ATSPECTRUM_GPU_LOCK_DIR"
COUNT_ENV = "ATSPECTRUM_NUM_GPUS"
_held: list = []  # open lock files: closing them (or exiting) releases the claim


def gpu_count() -> int:
    if os.environ.get(COUNT_ENV):
        return int(os.environ[COUNT_ENV])
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


def lock_dir() -> str:
    return os.environ.get(LOCK_DIR_ENV) or os.path.join("/tmp", f"atspectrum-gpu-locks-{os.getuid()}")


def claim(wait_seconds: float = 3600.0, poll: float = 0.2) -> str | None:
    """Choose this process's GPU; returns the ``CUDA_VISIBLE_DEVICES`` value in force (None: no GPU)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None:
        return os.environ["CUDA_VISIBLE_DEVICES"]
    count = gpu_count()
    if count == 0:
        return None
    directory = lock_dir()
    os.makedirs(directory, exist_ok=True)
    deadline = time.monotonic() + wait_seconds
    while True:
        for index in range(count):
            fh = open(os.path.join(directory, f"gpu{index}.lock"), "a+")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                continue
            fh.seek(0)
            fh.truncate()
            fh.write(f"{os.getpid()}\n")
            fh.flush()
            _held.append(fh)
            os.environ["CUDA_VISIBLE_DEVICES"] = str(index)
            return str(index)
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"no free GPU among {count} after {wait_seconds:.0f} s (locks in {directory}); "
                f"run with --resources gpu=<number of GPUs> so jobs do not outnumber them"
            )
        time.sleep(poll)


def release() -> None:
    """Give the claimed GPU back before the process ends (normally not needed: exiting releases it)."""
    while _held:
        _held.pop().close()
