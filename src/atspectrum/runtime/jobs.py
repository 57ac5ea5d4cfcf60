"""Per-job setup shared by the workflow scripts."""

from __future__ import annotations

import ctypes
import sys

import torch

from atspectrum.runtime import devices, gpu_slots

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
KEEP_FREED_BYTES = 1 << 30


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse instead of handing it back to the kernel at once.

    By default glibc serves a large block (over 128 KiB at first, up to 32 MiB as it adapts) with its own mmap and
    unmaps it when it is freed, and trims the heap top; a CPU attack allocates and frees its activations (megabytes
    each) every step, so each step faults every page of them in again. With blocks up to 1 GiB served from the heap and
    no trimming, the pages are reused: PGD-10 on 300 images with the demo's network on one CPU core ran 15% faster,
    with a fifth of the page faults and of the system time (``bench/allocator.py``). The peak memory of a job is
    unchanged; what it freed stays with it until it exits. It changes no number. Returns whether it took effect
    (only where the C library is glibc: elsewhere it is a no-op)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, KEEP_FREED_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, KEEP_FREED_BYTES))


def setup(threads: int | None, device: str = "auto") -> torch.device:
    """Limit torch's intra-op threads to the job's Snakemake ``threads``, keep freed memory for reuse
    (:func:`keep_freed_memory`), claim a GPU of its own for this job (when the device is ``auto`` or ``cuda`` and no
    scheduler chose one) and resolve the device."""
    if threads:
        torch.set_num_threads(int(threads))
    keep_freed_memory()
    if device in ("auto", "cuda"):
        gpu_slots.claim()
    return devices.resolve(device)
