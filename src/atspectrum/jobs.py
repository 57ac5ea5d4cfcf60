"""Per-job setup shared by the workflow scripts."""
from __future__ import annotations

import torch

from . import devices


def setup(threads: int | None, device: str = "auto") -> torch.device:
    """Limit torch's intra-op threads to the job's Snakemake ``threads`` and resolve the device."""
    if threads:
        torch.set_num_threads(int(threads))
    return devices.resolve(device)
