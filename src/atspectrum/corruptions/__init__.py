"""The CIFAR-10-C corruption generator (19 corruptions x 5 severities, Hendrycks & Dietterich)."""

from .generator import *  # noqa: F403
