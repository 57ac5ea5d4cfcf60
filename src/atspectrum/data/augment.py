"""Batched data augmentation on tensors, on whatever device the batch lives: random crop with zero padding and
horizontal flip (the paper's CIFAR-10 augmentation), driven by an explicit generator so runs are reproducible."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_crop_flip(
    x: torch.Tensor, padding: int = 4, flip: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Crop each image of ``x`` (N×C×H×W) at a random offset from its zero-padded copy; flip half of them."""
    n, c, h, w = x.shape
    device = x.device
    gdev = generator.device if generator is not None else device
    if padding > 0:
        padded = F.pad(x, (padding, padding, padding, padding))
        oy = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device=gdev).to(device)
        ox = torch.randint(0, 2 * padding + 1, (n,), generator=generator, device=gdev).to(device)
        rows = (oy[:, None] + torch.arange(h, device=device))[:, None, :, None]
        cols = (ox[:, None] + torch.arange(w, device=device))[:, None, None, :]
        x = padded[
            torch.arange(n, device=device)[:, None, None, None],
            torch.arange(c, device=device)[None, :, None, None],
            rows,
            cols,
        ]
    if flip:
        mask = torch.rand(n, generator=generator, device=gdev).to(device) < 0.5
        x = torch.where(mask[:, None, None, None], x.flip(3), x)
    return x
