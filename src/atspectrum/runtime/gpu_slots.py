"""Give each concurrent local job its own GPU.

``snakemake --cores 8 --resources gpu=4`` limits how many GPU jobs run at once but does not say which GPU each job
should use, so without help every job lands on GPU 0. ``claim()``:

- respects ``CUDA_VISIBLE_DEVICES`` when it is already set (a scheduler such as SLURM, or the user, chose);
- otherwise takes the first GPU index whose lock file it can lock exclusively (``fcntl.flock``) and sets
  ``CUDA_VISIBLE_DEVICES`` to it. The lock lives as long as the process: the kernel releases it when the job ends,
  however it ends (SIGKILL included), so a killed job never leaves a GPU claimed.

The lock folder is private to the user: ``$ATSPECTRUM_GPU_LOCK_DIR`` when set, else
``$XDG_RUNTIME_DIR/atspectrum-gpu-locks`` (a per-user tmpfs), else ``/tmp/atspectrum-gpu-locks-<uid>``. It is
created with mode 0700 and used only when it is a real folder (not a symlink) owned by the user and closed to
others; a lock file is opened with ``O_NOFOLLOW`` and never truncated, so a symlink planted by another local user
can neither redirect the run's writes nor make it overwrite a file.

It must run before CUDA is initialised in the process (the workflow scripts call it first, through ``jobs.setup``).
The number of GPUs comes from ``ATSPECTRUM_NUM_GPUS`` when set (tests use it to fake GPUs), else from
``nvidia-smi -L``; none means nothing to claim.
"""

from __future__ import annotations

import fcntl
import os
import stat
import subprocess
import time

LOCK_DIR_ENV = "ATSPECTRUM_GPU_LOCK_DIR"
COUNT_ENV = "ATSPECTRUM_NUM_GPUS"
_held: list[int] = []  # open lock file descriptors: closing them (or exiting) releases the claim


def gpu_count() -> int:
    if os.environ.get(COUNT_ENV):
        return int(os.environ[COUNT_ENV])
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(1 for line in out.splitlines() if line.startswith("GPU "))


class UnsafeLockDir(RuntimeError):
    """The GPU lock folder is not a private folder of this user."""


def lock_dir() -> str:
    if os.environ.get(LOCK_DIR_ENV):
        return os.environ[LOCK_DIR_ENV]
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime):
        return os.path.join(runtime, "atspectrum-gpu-locks")
    return os.path.join("/tmp", f"atspectrum-gpu-locks-{os.getuid()}")


def private_dir(directory: str) -> str:
    """Creates ``directory`` (mode 0700) if needed and checks that it is a real folder owned by this user that no one
    else can write to; :class:`UnsafeLockDir` otherwise, naming the folder."""
    try:
        os.mkdir(directory, 0o700)
    except FileExistsError:
        pass
    st = os.lstat(directory)
    problem = None
    if not stat.S_ISDIR(st.st_mode):
        problem = "is not a folder (a symlink or a file)"
    elif st.st_uid != os.getuid():
        problem = f"belongs to uid {st.st_uid}, not to this user ({os.getuid()})"
    elif st.st_mode & 0o022:
        problem = f"can be written by others (mode {stat.S_IMODE(st.st_mode):o})"
    if problem:
        raise UnsafeLockDir(
            f"GPU lock folder {directory} {problem}; remove it, or set {LOCK_DIR_ENV} to a private folder"
        )
    return directory


def _open_lock(path: str) -> int:
    """The lock file's descriptor: created if missing (0600), never following a symlink, never truncated."""
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)


def claim(wait_seconds: float = 3600.0, poll: float = 0.2) -> str | None:
    """Choose this process's GPU; returns the ``CUDA_VISIBLE_DEVICES`` value in force (None: no GPU)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES") is not None:
        return os.environ["CUDA_VISIBLE_DEVICES"]
    count = gpu_count()
    if count == 0:
        return None
    directory = private_dir(lock_dir())
    deadline = time.monotonic() + wait_seconds
    while True:
        for index in range(count):
            path = os.path.join(directory, f"gpu{index}.lock")
            try:
                fd = _open_lock(path)
            except OSError as exc:  # ELOOP: a symlink sits where the lock should be
                raise UnsafeLockDir(f"GPU lock {path} cannot be opened safely ({exc}); remove it") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)  # our own lock file, held: who holds it, for a user looking
            os.write(fd, f"{os.getpid()}\n".encode())
            _held.append(fd)
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
        os.close(_held.pop())
