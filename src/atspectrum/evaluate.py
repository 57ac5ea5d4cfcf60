"""Per-example evaluation of a model under an attack: which test examples stay correctly classified.

Random starts are drawn once for the whole test set from a seeded CPU generator, so results do not depend on the
batch size (a performance knob, not a parameter of the experiment).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import attacks


def start_noise(shape: torch.Size, seed: int) -> torch.Tensor:
    """Uniform [-1, 1] noise for every test example, the same for every batch size."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.rand(shape, generator=g).mul_(2).sub_(1)


def pgd_per_example(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, delta: int, steps: int,
                    step_factor: float, random_start: bool = True, batch_size: int = 512, seed: int = 0,
                    device: str | torch.device = "cpu", forward=None) -> pd.DataFrame:
    """PGD_δ-steps on uint8 ``images``; one row per example: ``index``, ``label``, ``pred``, ``correct``.

    ``delta`` is in 1/255 units (0 → clean accuracy) and the step size is ``step_factor · δ/255``.
    """
    device = torch.device(device)
    model = model.to(device).eval()
    eps = attacks.pixels(delta)
    noise = start_noise(images.shape, seed) if random_start and eps > 0 else None
    preds = []
    for start in range(0, len(labels), batch_size):
        x = images[start:start + batch_size].to(device).float().div_(255)
        y = labels[start:start + batch_size].to(device)
        init = None
        if noise is not None:
            init = (x + noise[start:start + batch_size].to(device) * eps).clamp_(0, 1)
        x_adv = attacks.pgd(model, x, y, eps, steps, step_factor * eps, random_start=False, init=init,
                            forward=forward)
        with torch.no_grad():
            logits = forward(model, x_adv) if forward else model(x_adv)
        preds.append(logits.argmax(1).cpu())
    pred = torch.cat(preds).numpy() if preds else np.zeros(0, dtype=np.int64)
    label = labels.numpy()
    return pd.DataFrame({"index": np.arange(len(label), dtype=np.int64), "label": label.astype(np.int64),
                         "pred": pred.astype(np.int64), "correct": pred == label})


def accuracy(frame: pd.DataFrame) -> float:
    """Accuracy in percent of a per-example frame."""
    return 100.0 * float(frame["correct"].mean()) if len(frame) else float("nan")
