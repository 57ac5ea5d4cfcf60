"""Section 6: accuracy of a model on every corruption × severity, with the final pre-activation statistics of the
same forward passes (clean set, corrupted set, and per corruption) accumulated streaming."""
from __future__ import annotations

from typing import Callable

import pandas as pd
import torch
from torch import nn

from . import analysis, evaluate


def evaluate_corruptions(model: nn.Module, clean: tuple[torch.Tensor, torch.Tensor],
                         source: Callable[[str, int], tuple[torch.Tensor, torch.Tensor]], names: list[str],
                         severities: list[int], batch_size: int = 512,
                         device: str | torch.device = "cpu") -> tuple[pd.DataFrame, dict]:
    """``source(name, severity)`` gives the corrupted images (uint8) and labels. Returns the per-example frame
    (``corruption``, ``severity``, ``index``, ``label``, ``pred``, ``correct``; the clean set as corruption
    ``clean``, severity 0) and the pre-activation statistics (:meth:`analysis.PreactStats.result` each)
    ``{"clean": …, "corrupted": … (every corruption and severity pooled), "per_corruption": {name: …} (its severities
    pooled), "per_severity": {name: {"<s>": …}}}``.

    Row ``index`` ``k`` of a corruption and severity is row ``k`` of what ``source`` gives, and row ``k`` of the clean
    set has index ``k``: ``source`` must give the corrupted images in the clean set's order (as our generated
    directories and CIFAR-10-C do)."""
    frames, per, per_severity = [], {}, {}
    clean_stats, corrupted = analysis.PreactStats(), analysis.PreactStats()
    with analysis.recording_preact(model, clean_stats):
        frame = evaluate.classify_per_example(model, *clean, batch_size=batch_size, device=device)
    frames.append(frame.assign(corruption="clean", severity=0))
    for name in names:
        pooled, per_severity[name] = analysis.PreactStats(), {}
        for s in severities:
            images, labels = source(name, s)
            stats = analysis.PreactStats()
            with analysis.recording_preact(model, stats):
                frame = evaluate.classify_per_example(model, images, labels, batch_size=batch_size, device=device)
            frames.append(frame.assign(corruption=name, severity=s))
            per_severity[name][str(s)] = stats.result()
            pooled.merge(stats)
        per[name] = pooled.result()
        corrupted.merge(pooled)
    out = pd.concat(frames, ignore_index=True)[["corruption", "severity", "index", "label", "pred", "correct"]]
    return out, {"clean": clean_stats.result(), "corrupted": corrupted.result(), "per_corruption": per,
                 "per_severity": per_severity}
