"""Section 6: accuracy of a model on every corruption × severity, with the final pre-activation statistics of the
same forward passes (clean set, corrupted set, and per corruption) accumulated streaming."""

from __future__ import annotations

import os
from typing import Callable, Optional

import numpy as np
import pandas as pd
import torch
from torch import nn

from atspectrum import analysis, data
from atspectrum.evaluation import evaluate


def paired_inputs(
    test_file: str | os.PathLike, test_size: Optional[int], real: bool
) -> tuple[tuple[torch.Tensor, torch.Tensor], np.ndarray]:
    """The clean images a corruption evaluation scores and the row of each in every severity block of the corrupted
    directory, so that corrupted row ``k`` is the corruption of clean row ``k``.

    ``test_file`` is the prepared test set (:func:`data.prepare`; its ``index`` is each row's position in the
    dataset's test split). The clean images are its first ``test_size`` rows (all when None: ``corruptions.test_size``).
    A ``real`` CIFAR-10-C directory holds test image ``i`` at row ``i`` of each block, so the rows are those images'
    ``index`` (a seeded ``data.test_size`` subset included); a directory written by ``prepare_corruptions`` from the
    prepared test set holds its rows in their order, so the rows are positions."""
    images, labels, index = data.load_prepared_rows(test_file)
    n = len(labels) if test_size is None else int(test_size)
    if n > len(labels):
        raise ValueError(
            f"corruptions.test_size={n} is larger than the {len(labels)} images of the prepared test set "
            f"{os.fspath(test_file)!r} (data.test_size); lower corruptions.test_size"
        )
    rows = index[:n] if real else np.arange(n, dtype=np.int64)
    return (images[:n], labels[:n]), rows


def evaluate_corruptions(
    model: nn.Module,
    clean: tuple[torch.Tensor, torch.Tensor],
    source: Callable[[str, int], tuple[torch.Tensor, torch.Tensor]],
    names: list[str],
    severities: list[int],
    batch_size: int = 512,
    device: str | torch.device = "cpu",
) -> tuple[pd.DataFrame, dict]:
    """``source(name, severity)`` gives the corrupted images (uint8) and labels. Returns the per-example frame
    (``corruption``, ``severity``, ``index``, ``label``, ``pred``, ``correct``; the clean set as corruption
    ``clean``, severity 0) and the pre-activation statistics (:meth:`analysis.PreactStats.result` each)
    ``{"clean": …, "corrupted": … (every corruption and severity pooled), "per_corruption": {name: …} (its severities
    pooled), "per_severity": {name: {"<s>": …}}}``.

    Row ``index`` ``k`` of a corruption and severity is row ``k`` of what ``source`` gives, and row ``k`` of the clean
    set has index ``k``: ``source`` must give the corrupted images in the clean set's order (:func:`paired_inputs`
    says which rows). Labels that differ from the clean set's raise ``ValueError``: the images are not paired."""
    frames, per, per_severity = [], {}, {}
    clean_stats, corrupted = analysis.PreactStats(), analysis.PreactStats()
    with analysis.recording_preact(model, clean_stats):
        frame = evaluate.classify_per_example(model, *clean, batch_size=batch_size, device=device)
    frames.append(frame.assign(corruption="clean", severity=0))
    for name in names:
        pooled, per_severity[name] = analysis.PreactStats(), {}
        for s in severities:
            images, labels = source(name, s)
            if not torch.equal(labels, clean[1]):
                wrong = int((labels != clean[1]).sum()) if labels.shape == clean[1].shape else len(clean[1])
                raise ValueError(
                    f"corruption {name} severity {s}: {wrong} of {len(clean[1])} labels differ from the "
                    f"clean test images' labels, so the corrupted images are not those test images "
                    f"(is the CIFAR-10-C directory of this dataset's test split?)"
                )
            stats = analysis.PreactStats()
            with analysis.recording_preact(model, stats):
                frame = evaluate.classify_per_example(model, images, labels, batch_size=batch_size, device=device)
            frames.append(frame.assign(corruption=name, severity=s))
            per_severity[name][str(s)] = stats.result()
            pooled.merge(stats)
        per[name] = pooled.result()
        corrupted.merge(pooled)
    out = pd.concat(frames, ignore_index=True)[["corruption", "severity", "index", "label", "pred", "correct"]]
    return out, {
        "clean": clean_stats.result(),
        "corrupted": corrupted.result(),
        "per_corruption": per,
        "per_severity": per_severity,
    }
