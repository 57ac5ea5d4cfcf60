"""Section 5 and 6 analyses of a trained model: filter norms and pre-activation statistics."""

from .features import *  # noqa: F403
