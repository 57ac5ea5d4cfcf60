"""The claims' rules on the paper's own numbers (:mod:`atspectrum.paper`, docs/statistics.md "The rules on the
paper's own numbers"): the same endpoints, margins, outcomes and Holm correction, per architecture.

The paper has one model per ε and no per-image results: each difference of two accuracies p₁, p₂ gets the binomial
variance of an unpaired difference on the 10,000 CIFAR-10 test images, (p₁(1 − p₁) + p₂(1 − p₂)) / 10,000 (larger
than the paired one when the models' errors correlate); a mean over cells that share their images gets the mean of
the cells' standard errors (the bound for perfectly correlated cells). C1 and C3 are figures in the paper: not
available.
"""

from __future__ import annotations

import numpy as np

from atspectrum import inference as inf
from atspectrum import paper

from . import c1_overdesign, c2_quantization, c3_filter_norms, c4_corruptions
from .design import Endpoint, Settings, decided, verdict_words

N_TEST = 10_000  # the CIFAR-10 test images behind every number of the paper
ARCHS = ("resnet18", "wrn28_10")
BETA = 8.0


def _se(p1, p2) -> np.ndarray:
    """Points: the standard error of a difference of two accuracies (in points) on :data:`N_TEST` images."""
    p1, p2 = np.asarray(p1) / 100.0, np.asarray(p2) / 100.0
    return 100.0 * np.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / N_TEST)


def _mean_difference(a, b, settings: Settings, key: str) -> inf.Estimate:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return inf.normal(float(np.mean(a - b)), float(np.mean(_se(a, b))), N_TEST)


def quantization(arch: str, settings: Settings) -> Endpoint:
    point = settings.quant_point.get(arch)
    q = paper.quantization()
    q = q[(q["model"] == arch) & (q["beta"] == BETA) & (q["eps"] > 0) & (q["delta"] > 0) & (q["table"] != 1)]
    clean = paper.clean_quantized()
    clean = clean[(clean["model"] == arch) & (clean["beta"] == BETA) & (clean["eps"] > 0)].set_index(["eps", "layer"])
    drop = float(
        np.mean(
            [
                clean.at[(e, "none"), "accuracy"] - clean.at[(e, point), "accuracy"]
                for e in sorted({e for e, _ in clean.index})
            ]
        )
    )
    premise = f"clean accuracy lost by quantizing: {drop:.2f} points on average (limit {settings.clean_drop:g})"
    label = f"paper {arch}"
    if drop > settings.clean_drop:
        return Endpoint.undecided("C2", label, c2_quantization.ENDPOINT, inf.NOT_APPLICABLE, "", premise=premise)
    ests = {}
    for a in c2_quantization.CLAIMED:
        t = q[q["attack"] == a].pivot_table(index=["eps", "delta"], columns="layer", values="accuracy")
        ests[a] = _mean_difference(t[point], t["none"], settings, f"paper C2 {arch} {a}")
    margin = settings.margin["C2"]
    pvalues = inf.all_of([inf.pvalues(e, margin) for e in ests.values()])
    numbers = "; ".join(f"{a}: {e.effect:+.2f}" for a, e in ests.items())
    shown = min(ests.values(), key=lambda e: e.effect)
    return Endpoint("C2", label, c2_quantization.ENDPOINT, shown, pvalues, margin, premise=premise, numbers=numbers)


def corruptions(arch: str, settings: Settings) -> Endpoint:
    avg = paper.corruption_average()
    acc = avg[avg["model"] == arch].set_index("eps")["accuracy"].sort_index()
    small = c4_corruptions.small_eps(acc.index, settings.small_eps)
    label = f"paper {arch}"
    prem = _mean_difference([acc[small]], [acc[0]], settings, f"paper C4 premise {arch}")
    lo, hi = prem.interval()
    premise = f"eps {small} beats eps 0 by {prem.effect:+.2f} [{lo:+.2f}, {hi:+.2f}] points"
    curve = ", ".join(f"eps {e}: {a:.2f}%" for e, a in acc.items())
    if not lo > 0:
        return Endpoint.undecided("C4", label, c4_corruptions.ENDPOINT, inf.NOT_APPLICABLE, curve, premise=premise)
    margin = settings.margin["C4"]
    ests = [_mean_difference([acc[small]], [acc[e]], settings, f"paper C4 {arch} {e}") for e in acc.index if e > small]
    pvalues = inf.all_of([inf.pvalues(e, margin) for e in ests])
    shown = min(ests, key=lambda e: e.effect)
    return Endpoint("C4", label, c4_corruptions.ENDPOINT, shown, pvalues, margin, premise=premise, numbers=curve)


def endpoints(settings: Settings) -> list[Endpoint]:
    """Every claim on each of the paper's architectures (C1 and C3 not available: figures only)."""
    out = []
    for arch in ARCHS:
        label = f"paper {arch}"
        why = "the paper gives this claim as a figure only (no numbers)"
        out.append(Endpoint.undecided("C1", label, c1_overdesign.ENDPOINT, inf.NOT_AVAILABLE, why))
        out.append(quantization(arch, settings))
        out.append(Endpoint.undecided("C3", label, c3_filter_norms.ENDPOINT, inf.NOT_AVAILABLE, why))
        out.append(corruptions(arch, settings))
    return out


def verdicts(settings: Settings) -> dict[tuple[str, str], str]:
    """(claim, architecture) → the verdict on the paper's numbers in words (with its effect and interval)."""
    eps = endpoints(settings)
    out = {}
    for e, (verdict, how, _) in zip(eps, decided(eps, settings.alpha)):
        words = verdict_words(verdict, how)
        if e.estimate is not None:
            lo, hi = e.estimate.interval()
            words += f": {e.estimate.effect:+.2f} [{lo:+.2f}, {hi:+.2f}]"
        out[(e.claim, e.model.removeprefix("paper "))] = words
    return out
