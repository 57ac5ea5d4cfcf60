"""Per-job setup shared by the workflow scripts."""

from __future__ import annotations

import torch

from atspectrum.runtime import devices, gpu_slots


def setup(threads: int | None, device: str = "auto") -> torch.device:
    """Limit torch's intra-op threads to the job's Snakemake ``threads``, claim a GPU of its own for this job (when
    the device is ``auto`` or ``cuda`` and no scheduler chose one) and resolve the device."""
    if threads:
        torch.set_num_threads(int(threads))
    if device in ("auto", "cuda"):
        gpu_slots.claim()
    return devices.resolve(device)
