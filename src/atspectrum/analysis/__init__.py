"""Section 5 and 6 analyses of a trained model: filter norms (:mod:`.filters`) and streaming pre-activation
statistics (:mod:`.preact`)."""

from .filters import PROBE_SIZE, bn_scale, conv_bn_pairs, filter_norms
from .preact import CODE_SEVERITY, PreactStats, figure3, recording_preact

__all__ = [
    "CODE_SEVERITY",
    "PROBE_SIZE",
    "PreactStats",
    "bn_scale",
    "conv_bn_pairs",
    "figure3",
    "filter_norms",
    "recording_preact",
]
