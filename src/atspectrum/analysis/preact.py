"""Section 6: streaming statistics of the final pre-activation features (pre-ReLU for ResNet-18, pre-Swish for
WRN-28-10).

Per set of images: the mean of every value of the final pre-activation tensor (examples × channels × positions) and
how many values are negative and positive (the paper's code counts ``arr < 0`` and ``arr > 0`` over the flattened
tensor; exact zeros are in neither count)."""

from __future__ import annotations

import contextlib

import torch
from torch import nn


class PreactStats:
    """Streaming count, sum and sign counts of feature values (never holds more than one batch); exact: the sum is
    accumulated in float64 and the counts are integers."""

    def __init__(self):
        self.count = 0
        self.total = 0.0
        self.negative = 0
        self.positive = 0

    def update(self, features: torch.Tensor) -> None:
        f = features.detach()
        self.count += f.numel()
        self.total += f.double().sum().item()
        self.negative += int((f < 0).sum().item())
        self.positive += int((f > 0).sum().item())

    def merge(self, other: "PreactStats") -> None:
        self.count += other.count
        self.total += other.total
        self.negative += other.negative
        self.positive += other.positive

    def result(self) -> dict:
        """``mean`` (None when nothing was recorded), ``units`` (values recorded), ``negative``, ``positive``,
        ``neg_minus_pos`` (the paper's code's count) and ``neg_minus_pos_fraction`` (that count / ``units``)."""
        n = self.count
        diff = self.negative - self.positive
        return {
            "mean": self.total / n if n else None,
            "units": n,
            "negative": self.negative,
            "positive": self.positive,
            "neg_minus_pos": diff,
            "neg_minus_pos_fraction": diff / n if n else None,
        }


@contextlib.contextmanager
def recording_preact(model: nn.Module, stats: PreactStats):
    """While active, every forward pass of ``model`` adds its final pre-activation features to ``stats``."""
    handle = model.final_preact.register_forward_hook(lambda module, inp, out: stats.update(out))
    try:
        yield stats
    finally:
        handle.remove()


CODE_SEVERITY = 5  # the paper's code reads rows 40000: of each CIFAR-10-C file, i.e. severity 5 only


def figure3(preact: dict, severity: int = CODE_SEVERITY) -> dict:
    """Figure 3's statistics from one model's pre-activation statistics (:func:`corruption_eval.evaluate_corruptions`'
    second result, or its JSON):

    - ``text``: the paper text's "mean on the complete CIFAR-10-C dataset": every corruption and evaluated severity
      pooled (``mean``; ``neg_minus_pos_fraction`` over the same values);
    - ``code``: the paper's code (``test_firing_on_corruptions*.py``): per corruption the mean and the count
      (negative − positive) of the values at ``severity`` (5), then the plain average of those per-corruption numbers
      over the corruptions (``mean``, ``neg_minus_pos``; ``neg_minus_pos_fraction`` divides each count by its number
      of values first). If ``severity`` was not evaluated, the highest evaluated one is used and named in
      ``severity``;
    - ``clean``: the clean test set (ours: the paper shows no clean statistic)."""
    per = preact.get("per_severity") or {}
    if not per:
        raise ValueError("pre-activation statistics hold no per_severity entry: re-run evaluate_corruptions")
    evaluated = sorted({int(s) for by in per.values() for s in by})
    chosen = severity if severity in evaluated else max(evaluated)
    cells = []
    for name, by in per.items():
        cell = {int(s): r for s, r in by.items()}.get(chosen)
        if cell is None:
            raise ValueError(f"corruption {name!r} has no pre-activation statistics at severity {chosen}")
        cells.append(cell)

    def average(key):
        return sum(c[key] for c in cells) / len(cells)

    pick = ("mean", "neg_minus_pos_fraction", "units")
    return {
        "text": {k: preact["corrupted"][k] for k in pick},
        "code": {
            "mean": average("mean"),
            "neg_minus_pos": average("neg_minus_pos"),
            "neg_minus_pos_fraction": average("neg_minus_pos_fraction"),
            "units": sum(c["units"] for c in cells),
            "severity": chosen,
            "corruptions": len(cells),
        },
        "clean": {k: preact["clean"][k] for k in pick},
    }
