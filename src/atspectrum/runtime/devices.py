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


def check(device: str) -> None:
    """Before any job: a requested CUDA device exists here (``cuda`` needs one GPU, ``cuda:i`` needs i + 1); a
    RuntimeError saying what is missing otherwise. ``auto`` and ``cpu`` always pass."""
    if not device.startswith("cuda"):
        return
    index = int(device.split(":")[1]) if ":" in device else 0
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if index >= count:
        raise RuntimeError(
            f"device {device!r} requested but this machine has {count} usable CUDA device(s); "
            f"use device: auto (the GPU when there is one, else the CPU) or cpu"
        )


def generator(device: torch.device, seed: int) -> torch.Generator:
    g = torch.Generator(device=device)
    g.manual_seed(int(seed))
    return g
