"""The dispatcher :func:`corrupt`: argument checks, chunks of ``CHUNK`` images each with its own seeded generator,
and the corruption functions of the four families by name (in ``CORRUPTIONS`` order)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from .blur import _defocus_blur, _gaussian_blur, _glass_blur, _motion_blur_corruption, _zoom_blur
from .common import (
    _CONSTANTS,
    CHUNK,
    CORRUPTIONS,
    _check_images,
    _check_name,
    _check_seed,
    _check_severity,
    _generator,
    _to_numpy,
)
from .digital import _brightness, _contrast, _elastic_transform, _jpeg_compression, _pixelate, _saturate
from .noise import _gaussian_noise, _impulse_noise, _shot_noise, _speckle_noise
from .weather import _fog, _frost, _snow, _spatter

_FUNCTIONS: dict[str, Callable] = {
    "gaussian_noise": _gaussian_noise,
    "shot_noise": _shot_noise,
    "impulse_noise": _impulse_noise,
    "defocus_blur": _defocus_blur,
    "glass_blur": _glass_blur,
    "motion_blur": _motion_blur_corruption,
    "zoom_blur": _zoom_blur,
    "snow": _snow,
    "frost": _frost,
    "fog": _fog,
    "brightness": _brightness,
    "contrast": _contrast,
    "elastic_transform": _elastic_transform,
    "pixelate": _pixelate,
    "jpeg_compression": _jpeg_compression,
    "speckle_noise": _speckle_noise,
    "gaussian_blur": _gaussian_blur,
    "spatter": _spatter,
    "saturate": _saturate,
}
assert tuple(_FUNCTIONS) == CORRUPTIONS == tuple(_CONSTANTS)


def corrupt(images, name: str, severity: int, seed: int = 0):
    """Apply CIFAR-10-C corruption ``name`` at ``severity`` (1..5) to uint8 N×C×H×W ``images``.

    Returns a new array/tensor of the same type, shape and dtype (a tensor comes back on its device). Deterministic
    for ``(images, name, severity, seed)``. Raises ``ValueError`` for an unknown name, a severity outside 1..5, a
    negative seed, a non-uint8 dtype, a shape that is not N×C×H×W with C in {1, 3}, or H or W below 28.
    """
    name = _check_name(name)
    severity = _check_severity(severity)
    seed = _check_seed(seed)
    arr, device = _to_numpy(images)
    _check_images(arr)
    out = np.empty_like(arr)
    fn = _FUNCTIONS[name]
    param = _CONSTANTS[name][severity - 1]
    for chunk, start in enumerate(range(0, arr.shape[0], CHUNK)):
        part = arr[start : start + CHUNK]
        rng = _generator(seed, name, severity, chunk)
        out[start : start + CHUNK] = fn(part, param, rng)
    if device is not None:
        return torch.from_numpy(out).to(device)
    return out
