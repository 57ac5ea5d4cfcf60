"""The workflow's configuration: validation with errors naming the key, the grid it describes, resource
estimates. Torch-free: every Snakemake start imports it.

Modules, each importing only those above it: :mod:`~atspectrum.config.schema` (the schema, its defaults,
:class:`ConfigError`), :mod:`~atspectrum.config.grid` (what the configuration describes),
:mod:`~atspectrum.config.inputs` (checks that read the dataset and CIFAR-10-C files),
:mod:`~atspectrum.config.validation` (:func:`validate`, :func:`check`, :func:`load`) and
:mod:`~atspectrum.config.resources` (throughput and time limits). Everything is re-exported here: the Snakefile, the
rules and the jobs use ``atspectrum.config.<name>``.
"""

from atspectrum.config import datasets
from atspectrum.config.architectures import check_architectures
from atspectrum.config.grid import (
    HEADLINE_BETA,
    QUANT_EVAL_ATTACKS,
    arch_files,
    checklist_settings,
    corruption_dir,
    corruptions_enabled,
    eps_list,
    masking_beta,
    model_spec,
    overdesign_deltas,
    pgd_deltas,
    quant_attack,
    quant_attack_betas,
    quant_attack_label,
    quant_betas,
    quant_deltas,
    quant_eval_attacks,
    quant_layers,
    quantization_enabled,
    search_deltas,
    search_enabled,
    search_models,
    search_settings,
    search_val_fraction,
    threat_model,
    train_config,
    train_hparams,
    train_settings,
)
from atspectrum.config.inputs import (
    check_before_jobs,
    check_corruptions,
    check_dataset,
    check_inputs,
    corruption_inputs,
    dataset_inputs,
    missing_dataset_files,
    prepared_test_rows,
)
from atspectrum.config.resources import BENCH_DIR, at_images_per_second, train_runtime_minutes
from atspectrum.config.schema import SCHEMA_PATH, ConfigError, key_path, load_schema
from atspectrum.config.validation import (
    canonical,
    check,
    check_betas,
    check_finite,
    check_masking,
    check_quant_attacks,
    check_search,
    load,
    validate,
)

# the shared definitions of atspectrum.specs this package has always exposed (atconfig.WORST in the rules)
from atspectrum.specs import (
    DATASET_INFO,
    QUANT_POINTS,
    SELECTABLE_QUANT_POINTS,
    WORST,
    DataError,
    TrainConfig,
    bn_momentum,
    check_beta,
    relu_between_blocks_of,
    search_part_size,
)

__all__ = [
    "datasets",
    # schema
    "SCHEMA_PATH",
    "ConfigError",
    "key_path",
    "load_schema",
    # validation
    "canonical",
    "check",
    "check_finite",
    "check_betas",
    "check_masking",
    "check_quant_attacks",
    "check_search",
    "load",
    "validate",
    # grid
    "HEADLINE_BETA",
    "arch_files",
    "QUANT_EVAL_ATTACKS",
    "checklist_settings",
    "corruption_dir",
    "corruptions_enabled",
    "eps_list",
    "masking_beta",
    "model_spec",
    "overdesign_deltas",
    "pgd_deltas",
    "quant_attack",
    "quant_attack_betas",
    "quant_attack_label",
    "quant_betas",
    "quant_deltas",
    "quant_eval_attacks",
    "quant_layers",
    "quantization_enabled",
    "search_deltas",
    "search_enabled",
    "search_models",
    "search_settings",
    "search_val_fraction",
    "train_config",
    "train_hparams",
    "threat_model",
    "train_settings",
    # inputs
    "check_architectures",
    "check_before_jobs",
    "check_corruptions",
    "check_dataset",
    "check_inputs",
    "corruption_inputs",
    "dataset_inputs",
    "missing_dataset_files",
    "prepared_test_rows",
    # resources
    "BENCH_DIR",
    "at_images_per_second",
    "train_runtime_minutes",
    # from atspectrum.specs
    "DATASET_INFO",
    "QUANT_POINTS",
    "SELECTABLE_QUANT_POINTS",
    "WORST",
    "DataError",
    "TrainConfig",
    "bn_momentum",
    "check_beta",
    "relu_between_blocks_of",
    "search_part_size",
]
