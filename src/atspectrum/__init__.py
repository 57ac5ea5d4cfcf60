"""atspectrum: adversarial training at a spectrum of perturbation strengths.

The library behind the Snakemake workflow; importable without Snakemake.
Public surface: :mod:`atspectrum.data`, :mod:`atspectrum.models`, :mod:`atspectrum.attacks`,
:mod:`atspectrum.quantize`, :mod:`atspectrum.train`, :mod:`atspectrum.evaluate`, :mod:`atspectrum.tables`.
"""

__version__ = "0.1.0"
