"""Models of the paper and their self-describing checkpoints.

``build(name, num_classes, in_channels=3, width=None, bn_momentum=None)`` makes a model; ``save(path, model, **meta)``
writes a checkpoint holding the architecture's arguments (BatchNorm momentum included) beside the weights;
``load(path)`` rebuilds the model from that file alone (``torch.load(..., weights_only=True)``: loading never executes
code). Each model's ``quant_points`` are the paper's quantization points (the tensors its code quantizes, see
:mod:`.resnet` and :mod:`.wideresnet`); ``selectable_quant_points()`` adds the named extras (ResNet-18
``conv0_post``).
"""

from __future__ import annotations

import functools
import os

import torch
from torch import nn

from atspectrum.runtime.io import atomic_path
from atspectrum.runtime.paths import parse_model_file
from atspectrum.specs import DEFAULT_WIDTH, PAPER_BN_MOMENTUM, is_paper_arch

from .base import SpectrumModel
from .generic import ArchError, HookedModel
from .resnet import ResNet18
from .wideresnet import WideResNet

ARCHS = {"resnet18": ResNet18, "wrn28_10": WideResNet}  # the names of atspectrum.specs
FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint file is missing, truncated, corrupt or not an atspectrum checkpoint."""


def build(
    name: str,
    num_classes: int = 10,
    in_channels: int = 3,
    width: int | None = None,
    seed: int | None = None,
    **kwargs,
) -> SpectrumModel:
    """A fresh model. With ``seed`` its initial weights are drawn from torch's generator seeded with it (the global
    random state is left as it was), so the same ``seed`` gives the same weights in any process; without, they come
    from the global generator, which torch seeds differently in every process. ``name`` is one of :data:`ARCHS` or
    an architecture of the user's (``torchvision:<name>``, ``file.py:Class``, ``module:Class``:
    :class:`.generic.HookedModel`, which takes no width)."""
    if is_paper_arch(name):
        width = DEFAULT_WIDTH[name] if width is None else width
        if int(width) != width or width < 1:
            raise ValueError(f"width must be a positive integer, got {width!r}")
        make = functools.partial(ARCHS[name], num_classes=num_classes, in_channels=in_channels, width=int(width))
    else:
        if ":" not in str(name):
            raise ValueError(
                f"unknown architecture {name!r}; choose one of {sorted(ARCHS)}, torchvision:<name>, "
                f"path/to/file.py:ClassName or package.module:ClassName"
            )
        if width is not None:
            raise ValueError(f"width applies to {sorted(ARCHS)} only, not {name}; leave it unset")
        make = functools.partial(HookedModel, name, num_classes=num_classes, in_channels=in_channels)
    if seed is None:
        return make(**kwargs)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return make(**kwargs)


def checkpoint_dict(model: SpectrumModel, **meta) -> dict:
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    return {"format": FORMAT_VERSION, "spec": dict(model.spec), "state_dict": state, "meta": meta}


def save(path: str | os.PathLike, model: SpectrumModel, **meta) -> None:
    """Write ``model`` (architecture arguments + weights + ``meta``) atomically to ``path``."""
    with atomic_path(path) as tmp:
        torch.save(checkpoint_dict(model, **meta), tmp)


def read_checkpoint(path: str | os.PathLike) -> dict:
    """Load a checkpoint dict with ``weights_only=True``; any failure names the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, bad pickle, wrong format: all the same to the user
        raise CheckpointError(
            f"checkpoint {path} is corrupt or truncated ({type(exc).__name__}: {exc}); delete it to recompute it"
        ) from exc
    if not isinstance(ckpt, dict) or "spec" not in ckpt or "state_dict" not in ckpt:
        raise CheckpointError(f"checkpoint {path} is not an atspectrum checkpoint (no 'spec'/'state_dict')")
    _check_identity(ckpt, path)
    return ckpt


def _check_identity(ckpt: dict, path: str) -> None:
    """A checkpoint under the run layout (``models/<model>/seed<s>/eps<ε>/model.pt``) holds that training run's
    weights: the (model, seed, ε) the training job stored (``identity``) must be those of its path. A checkpoint
    copied over another's is an error, never another model's numbers."""
    expected, stored = parse_model_file(path), (ckpt.get("meta") or {}).get("identity")
    if expected is None or stored is None:  # outside the run layout, or written before identities were stored
        return
    if {k: stored.get(k) for k in expected} != expected:
        raise CheckpointError(
            f"checkpoint {path} holds the model of {stored}, not of {expected} (copied over?); delete it and rerun "
            f"snakemake: a plain rerun retrains it (every planned checkpoint is a target)"
        )


def from_checkpoint(ckpt: dict, path: str = "<checkpoint>") -> SpectrumModel:
    spec = dict(ckpt["spec"])
    arch = spec.pop("arch", None)
    if not isinstance(arch, str) or not (arch in ARCHS or ":" in arch):
        raise CheckpointError(f"checkpoint {path} names unknown architecture {arch!r}")
    if arch == "resnet18":  # checkpoints written before the key existed hold the standard ResNet-18
        spec.setdefault("relu_between_blocks", True)
    try:
        model = ARCHS[arch](**spec) if arch in ARCHS else HookedModel(arch, **spec)
    except ArchError as exc:
        raise CheckpointError(f"checkpoint {path}: cannot build its architecture: {exc}") from exc

    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint {path} does not match its architecture: {exc}") from exc
    return model.eval()


def load(path: str | os.PathLike, device: str | torch.device = "cpu") -> SpectrumModel:
    """The model stored in the checkpoint at ``path``, in eval mode, on ``device``."""
    return from_checkpoint(read_checkpoint(path), os.fspath(path)).to(device)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "ARCHS",
    "ArchError",
    "CheckpointError",
    "HookedModel",
    "PAPER_BN_MOMENTUM",
    "ResNet18",
    "SpectrumModel",
    "WideResNet",
    "build",
    "count_parameters",
    "load",
    "read_checkpoint",
    "save",
]
