"""The documented path ``atspectrum.apgd``: APGD lives in :mod:`atspectrum.attacks.apgd`."""

from atspectrum.attacks.apgd import *  # noqa: F403
