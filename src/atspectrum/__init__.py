"""atspectrum: adversarial training at a spectrum of perturbation strengths.

The library behind the Snakemake workflow; importable without Snakemake.
Packages by concern: :mod:`atspectrum.config` (validation, the grid, resources; torch-free), :mod:`atspectrum.data`
(sources, prepared splits, CIFAR-10-C files), :mod:`atspectrum.corruptions` (the CIFAR-10-C generator),
:mod:`atspectrum.models`, :mod:`atspectrum.attacks` (PGD, APGD, the quantizer, transfer examples),
:mod:`atspectrum.train`, :mod:`atspectrum.evaluation` (per-example frames, evaluation units, the search),
:mod:`atspectrum.analysis` (filter norms, pre-activation statistics), :mod:`atspectrum.reporting` (tables, figures,
statistics, checklist, claims, accounting), :mod:`atspectrum.runtime` (paths, io, logs, devices, jobs) and
:mod:`atspectrum.specs` (the fixed names and checks the torch-free planning shares with the models).
"""

__version__ = "0.1.0"
