"""The workflow's configuration: validation with errors naming the key, the grid it describes, resource
estimates. Torch-free: every Snakemake start imports it."""

from .core import *  # noqa: F403
