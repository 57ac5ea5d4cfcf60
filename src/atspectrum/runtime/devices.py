"""Choosing the compute device."""

from __future__ import annotations

import torch


def resolve(device: str = "auto") -> torch.device:
    """``auto`` → the (first visible) CUDA GPU when there is one, else the CPU; ``cpu`` / ``cuda[:i]`` as given."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but CUDA is not available on this machine")
    return dev


def generator(device: torch.device, seed: int) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g
