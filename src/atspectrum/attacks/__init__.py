"""Attacks: the threat models (norms: L∞ and L2 budgets, distances, projections), PGD (pgd_linf, either norm), APGD
(apgd), the feature quantizer and its straight-through version (quantize), cached transfer examples (transfer)."""

from .norms import *  # noqa: F403
from .pgd_linf import *  # noqa: F403
