"""Attacks: L-infinity PGD (pgd_linf), APGD (apgd), the feature quantizer and its straight-through
version (quantize), cached transfer examples (transfer)."""

from .pgd_linf import *  # noqa: F403
