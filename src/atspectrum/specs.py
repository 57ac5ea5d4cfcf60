"""The fixed names and pure-python checks shared by the configuration and the jobs, importable without torch.

Every Snakemake start (each dry run, and on SLURM each job's own start on its node) imports :mod:`atspectrum.config`,
which checks a configuration against what is defined here; :mod:`atspectrum.models`,
:mod:`atspectrum.attacks.quantize`, :mod:`atspectrum.train`, :mod:`atspectrum.evaluation.evaluate` and
:mod:`atspectrum.data` import the same definitions from here (one source), so planning a run never imports torch.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re

from atspectrum import strengths
from atspectrum.runtime.user_code import split as split_target

DATASET_INFO = {
    "cifar10": {"num_classes": 10, "in_channels": 3},
    "cifar100": {"num_classes": 100, "in_channels": 3},
    "fashion_mnist": {"num_classes": 10, "in_channels": 1},
    "svhn": {"num_classes": 10, "in_channels": 3},
}
# each dataset's images as CIFAR-10-C stores them, (H, W, C): what a corruption directory must hold for that dataset
IMAGE_SHAPE = {"cifar10": (32, 32, 3), "cifar100": (32, 32, 3), "fashion_mnist": (28, 28, 1), "svhn": (32, 32, 3)}
# The WRN-28-10 normalises its input inside (ResNet-18 does not, as in the paper's code): by CIFAR-10's channel mean
# and standard deviation (the paper's), 0.5 / 0.5 for a single channel, and by these for the datasets listed (the
# training split's per-channel statistics as commonly quoted; ours). A dataset listed here passes them to the model.
WRN_NORMALIZATION = {
    "cifar100": {"mean": (0.5071, 0.4865, 0.4409), "std": (0.2673, 0.2564, 0.2762)},
    "svhn": {"mean": (0.4377, 0.4438, 0.4728), "std": (0.1980, 0.2010, 0.1970)},
}
# images trained on per epoch for the time limits when data.train_size is not set: the training split less the
# default 1,000 validation images
TRAIN_IMAGES = {"cifar10": 49_000, "cifar100": 49_000, "fashion_mnist": 59_000, "svhn": 72_257}

# The architectures: the paper's quantization points in forward order (the default grid; each model's docstring says
# which tensor each point is), every selectable point (the paper's and named extras, in forward order), default width.
QUANT_POINTS = {
    "resnet18": ("conv0", "layer1", "layer2", "layer3", "layer4"),
    "wrn28_10": ("init_conv", "layer0", "layer1", "layer2"),
}
SELECTABLE_QUANT_POINTS = {
    "resnet18": ("conv0", "conv0_post", "layer1", "layer2", "layer3", "layer4"),
    "wrn28_10": QUANT_POINTS["wrn28_10"],
}
DEFAULT_WIDTH = {"resnet18": 64, "wrn28_10": 10}
PAPER_ARCHS = tuple(QUANT_POINTS)
TORCHVISION_RESNETS = ("resnet", "resnext", "wide_resnet")  # torchvision families whose stem has a CIFAR convention
SMALL_IMAGE_SIDE = 64  # images of at most this side get the CIFAR stem (3×3 stride 1, no max-pool)


def is_paper_arch(arch: str) -> bool:
    return arch in PAPER_ARCHS


def split_arch(arch: str) -> tuple[str, str]:
    """An architecture of the user's, ``<source>:<name>``, as ``(source, name)``: ``torchvision:mobilenet_v2``,
    ``path/to/file.py:ClassName`` or ``package.module:ClassName``. ValueError saying what is valid otherwise."""
    parts = split_target(arch)
    if parts is None:
        valid = f"{list(PAPER_ARCHS)}, torchvision:<model name>, path/to/file.py:ClassName or package.module:ClassName"
        raise ValueError(f"{arch!r} is not an architecture; use one of {valid}")
    return parts


def small_stem(arch: str, image_side: int) -> bool:
    """Whether a torchvision ResNet-family model gets the CIFAR stem: on images of at most ``SMALL_IMAGE_SIDE``."""
    if is_paper_arch(arch):
        return False
    source, name = split_arch(arch)
    return source == "torchvision" and name.startswith(TORCHVISION_RESNETS) and image_side <= SMALL_IMAGE_SIDE


# BatchNorm momentum of both of the paper's models: its code builds every BatchNorm as nn.BatchNorm2d(c), PyTorch's
# default 0.1 (models/resnet_ours.py, models/dm_wide_resnet.py of perturb-spectrum/analysis_and_methods)
PAPER_BN_MOMENTUM = 0.1


def bn_momentum(value: float | None) -> float:
    """The BatchNorm momentum to build with: ``None`` → the paper's 0.1; otherwise a number in (0, 1]."""
    if value is None:
        return PAPER_BN_MOMENTUM
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise ValueError(
            f"bn_momentum must be a number in (0, 1] (or None for the paper's {PAPER_BN_MOMENTUM}), got {value!r}"
        )
    return float(value)


# The paper's code trains ``ResNet18_preReLU`` (PGDAT.py, ST.py): its blocks are ``BasicBlock_withoutReLU`` and a
# ReLU is applied only between stages, so inside a stage the first block's residual sum enters the second block with
# no ReLU. ``relu_between_blocks=None`` builds that network; ``True`` builds the standard ResNet-18 of the paper's
# text (He et al.; this repository's network before issue #12).
PAPER_RELU_BETWEEN_BLOCKS = False


def relu_between_blocks_of(value: bool | None) -> bool:
    """Whether each stage's first block ends with a ReLU: ``None`` → the paper code's ``False``."""
    if value is None:
        return PAPER_RELU_BETWEEN_BLOCKS
    if not isinstance(value, bool):
        raise ValueError(
            f"relu_between_blocks must be true, false or None (the paper code's "
            f"{PAPER_RELU_BETWEEN_BLOCKS}), got {value!r}"
        )
    return value


# The largest quantization scale: floor(x * beta) / beta must not overflow float32 (about 3.4e38) for any activation a
# network produces, and above ~1e7 the quantizer is already the identity at float32 precision. The schema's
# ``$defs/beta`` states the same bound (a test checks that they agree).
MAX_BETA = 1e9


def check_beta(beta: float) -> float:
    """``beta`` as a float; anything but a finite number in (0, :data:`MAX_BETA`] (negative, zero, NaN, infinite,
    1e39) is a ValueError."""
    beta = float(beta)
    if not (0 < beta <= MAX_BETA):
        raise ValueError(f"quantization beta must be a finite number > 0 and at most {MAX_BETA:g}, got {beta!r}")
    return beta


WORST = "worst"  # the per-example worst case over the other configured attacks: an aggregate, not an evaluation
# every attack name of the workflow's own (an extra attack, eval.extra_attacks, may take none of them), and the
# checklist's runs of PGD or BPDA with <k>x the steps (pgd5x, bpda5x)
BUILTIN_ATTACKS = ("pgd", "transfer", "bpda", "apgd-bpda", WORST)
MORE_STEPS_ATTACK = re.compile(r"(?P<attack>pgd|bpda)(?P<factor>[0-9]+)x")
# an extra attack's target, and the optional dependency most of them come from (the ``attacks`` extra)
VALID_ATTACK_TARGETS = "path/to/file.py:ClassName or package.module:ClassName (e.g. torchattacks:FGSM)"
OPTIONAL_ATTACKS = "torchattacks"


def install_hint(module: str | None) -> str:
    """How to get a missing module: the pip command for torchattacks (an optional dependency), else nothing."""
    if module != OPTIONAL_ATTACKS:
        return ""
    return f"; {OPTIONAL_ATTACKS} is an optional dependency: pip install --no-deps -r envs/requirements-attacks.txt"


def accuracy(frame) -> float:
    """Accuracy in percent of a per-example frame (a pandas DataFrame with a boolean ``correct`` column)."""
    return 100.0 * float(frame["correct"].mean()) if len(frame) else float("nan")


class DataError(Exception):
    """A user-facing problem with the data (missing, corrupt, misconfigured)."""


def search_part_size(n: int, search_fraction: float) -> int:
    """How many of ``n`` validation examples :func:`atspectrum.data.split_val_parts` holds out for the search (the
    fraction rounded half up); a DataError unless both parts keep at least one example."""
    fraction = float(search_fraction)
    if not 0 < fraction < 1:
        raise DataError(f"search_fraction must lie strictly between 0 and 1, got {search_fraction!r}")
    size = math.floor(fraction * n + 0.5)
    if not 0 < size < n:
        raise DataError(
            f"search_fraction={fraction} of {n} validation examples leaves {size} for the search and "
            f"{n - size} for checkpoint selection; each part needs at least one"
        )
    return size


SELECT = ("best_val", "last")
TRAIN_METHODS = ("pgd", "trades", "fgsm_rs")
# Training keys added after a run's params were first written, each with the value that means the behaviour from
# before it existed: at that value it stays out of a training job's params (config.train_hparams), so that adding
# an option never retrains finished models. A new TrainConfig field must be listed here (tests/test_config.py).
NEUTRAL_TRAIN_KEYS = {"method": "pgd", "norm": "linf"}
PRECISIONS = ("fp32", "bf16")
# The threat models: the L∞ ball (the paper's; strengths in 1/255 units) and the L2 ball (strengths are radii in
# [0, 1] pixel space). :mod:`atspectrum.attacks.norms` implements them.
NORMS = strengths.NORMS


def check_norm(norm: str) -> str:
    """``norm`` itself when it is one of :data:`NORMS`; a ValueError naming the valid ones otherwise."""
    if norm not in NORMS:
        raise ValueError(f"unknown norm {norm!r}; choose from {list(NORMS)}")
    return norm


def train_eps(eps, norm: str) -> int | float:
    """A training strength checked for ``norm``: a finite number >= 0, kept an ``int`` for L∞ (1/255 units, so the
    params of existing runs stay as they were) and made a ``float`` for L2."""
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not math.isfinite(eps) or eps < 0:
        raise ValueError(f"eps must be a finite number >= 0, got {eps!r}")
    if norm == "l2":
        return float(eps)
    if not float(eps).is_integer():
        raise ValueError(f"an L∞ eps is an integer in 1/255 units, got {eps!r}")
    return int(eps)


@dataclasses.dataclass
class TrainConfig:
    """Hyperparameters of one training job; ``eps`` is the training strength in the units of ``norm``: an integer in
    1/255 units for L∞, an L2 radius in [0, 1] pixel space (a float) for L2 (0 = standard training)."""

    eps: int | float
    epochs: int
    batch_size: int
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 2e-4
    lr_milestones: tuple[int, ...] = (75, 90, 100)
    lr_gamma: float = 0.1
    attack_steps: int = 10
    attack_step_factor: float = 0.25  # α = factor · ε
    attack_random_start: bool = True
    attack_bn_eval: bool = True  # craft training examples with BatchNorm in eval mode (the public code's choice)
    crop_padding: int = 4
    flip: bool = True
    select: str = "best_val"
    val_attack_steps: int = 10
    val_attack_step_factor: float = 0.25
    eval_batch_size: int = 512  # speed only: validation results do not depend on it
    seed: int = 0
    precision: str = "fp32"  # fp32 | bf16: autocast for the training forward/backward and its PGD (not validation)
    channels_last: bool = False
    compile: bool = False  # torch.compile the model used for training and its attack
    method: str = "pgd"  # pgd | trades | fgsm_rs (fgsm_rs is pgd with one step from a uniform start)
    trades_beta: float = 6.0  # TRADES: the weight of its KL term (only with method trades)
    norm: str = "linf"  # linf | l2: the threat model of the training attack and of validation (see NORMS)

    def __post_init__(self):
        self.lr_milestones = tuple(int(m) for m in self.lr_milestones)
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.method not in TRAIN_METHODS:
            raise ValueError(f"method must be one of {TRAIN_METHODS}, got {self.method!r}")
        if self.select not in SELECT:
            raise ValueError(f"select must be one of {SELECT}, got {self.select!r}")
        for key in ("epochs", "batch_size", "eval_batch_size"):
            if int(getattr(self, key)) < 1:
                raise ValueError(f"{key} must be >= 1, got {getattr(self, key)!r}")
        check_norm(self.norm)
        self.eps = train_eps(self.eps, self.norm)

    def params(self) -> dict:
        """What defines the training run, as plain values (a training job's params; the record a resumed state must
        match): every field but the validation batch size (speed only), less the keys of ``NEUTRAL_TRAIN_KEYS`` at
        their neutral value and ``trades_beta`` unless the method is TRADES. ``TrainConfig(**params)`` is this
        config again."""
        record = dataclasses.asdict(self) | {"lr_milestones": list(self.lr_milestones)}
        del record["eval_batch_size"]
        for key, neutral in NEUTRAL_TRAIN_KEYS.items():
            if record[key] == neutral:
                del record[key]
        if self.method != "trades":
            del record["trades_beta"]
        return record


# ----------------------------------------------------------------------------------------- attack specifications

APGD_LOSSES = ("ce", "dlr")  # cross-entropy and the difference of logits ratio (Croce & Hein 2020)


@dataclasses.dataclass(frozen=True)
class PGDSpec:
    """PGD as configured: ``steps`` steps of size ``step_factor`` · δ, from a seeded random start in the δ-ball
    (``random_start``) or from the clean image. δ itself, and with it the norm of the ball (L∞ or L2:
    :mod:`atspectrum.strengths`), is the cell's and is passed beside the spec."""

    steps: int
    step_factor: float
    random_start: bool = True

    def __post_init__(self):
        if isinstance(self.steps, bool) or not isinstance(self.steps, int) or self.steps < 0:
            raise ValueError(f"PGD steps must be an integer >= 0, got {self.steps!r}")
        if not (
            isinstance(self.step_factor, (int, float)) and math.isfinite(self.step_factor) and self.step_factor > 0
        ):
            raise ValueError(f"PGD step_factor must be a finite number > 0, got {self.step_factor!r}")
        if not isinstance(self.random_start, bool):
            raise ValueError(f"PGD random_start must be true or false, got {self.random_start!r}")

    @classmethod
    def of(cls, settings: dict) -> PGDSpec:
        """The spec of a config section (``steps``, ``step_factor``, ``random_start``; other keys ignored)."""
        keys = [f.name for f in dataclasses.fields(cls)]
        return cls(**{k: settings[k] for k in keys if k in settings})


@dataclasses.dataclass(frozen=True)
class APGDSpec:
    """APGD as configured (Croce & Hein 2020): ``steps`` iterations per run, one run per loss in ``losses`` and
    restart; the per-example worst case over the runs."""

    steps: int = 100
    restarts: int = 1
    losses: tuple[str, ...] = APGD_LOSSES

    def __post_init__(self):
        object.__setattr__(self, "losses", tuple(self.losses))
        for name in ("steps", "restarts"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"APGD {name} must be an integer >= 1, got {value!r}")
        unknown = [loss for loss in self.losses if loss not in APGD_LOSSES]
        if not self.losses or unknown:
            raise ValueError(f"APGD losses must be a non-empty subset of {APGD_LOSSES}, got {list(self.losses)}")

    @classmethod
    def of(cls, settings: dict) -> APGDSpec:
        """The spec of a config section (``steps``, ``restarts``, ``losses``; other keys such as ``beta`` ignored)."""
        keys = [f.name for f in dataclasses.fields(cls)]
        return cls(**{k: settings[k] for k in keys if k in settings})
