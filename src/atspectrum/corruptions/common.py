"""What the corruption families share: the names, severities and CIFAR-10-C's per-severity constants
(:data:`CONSTANTS`), argument checks, the per-chunk random generators, and the image helpers (float/uint8
conversion, luminance, HSV editing, Gaussian blur, linear interpolation weights).

Every corruption is a function ``f(uint8 N×C×H×W, severity constants, rng) -> uint8 N×C×H×W``; the package
docstring (:mod:`atspectrum.corruptions`) says how pixel constants scale with the image size and what gray images get.
"""

from __future__ import annotations

import types
import zlib
from typing import Callable

import numpy as np
import torch
from scipy import ndimage as ndi
from skimage import color as skcolor

CORRUPTIONS: tuple[str, ...] = (
    "gaussian_noise",
    "shot_noise",
    "impulse_noise",
    "defocus_blur",
    "glass_blur",
    "motion_blur",
    "zoom_blur",
    "snow",
    "frost",
    "fog",
    "brightness",
    "contrast",
    "elastic_transform",
    "pixelate",
    "jpeg_compression",
    "speckle_noise",
    "gaussian_blur",
    "spatter",
    "saturate",
)
SEVERITIES: tuple[int, ...] = (1, 2, 3, 4, 5)
MIN_SIZE = 28  # smallest accepted H and W
REFERENCE_SIZE = 32  # the image size CIFAR-10-C's pixel constants refer to
CHUNK = 1000  # images per internal chunk (each chunk has its own derived generator)

# ---------------------------------------------------------------------------------------------------------------
# CIFAR-10-C constants, severity 1..5, transcribed from hendrycks/robustness ImageNet-C/create_c/make_cifar_c.py.
# (These differ from ImageNet-C's make_imagenet_c.py.) Pixel lengths refer to 32×32 images; see the package
# docstring for how they are scaled for other sizes.
# ---------------------------------------------------------------------------------------------------------------
_ZOOM_ENDS = (1.06, 1.11, 1.16, 1.21, 1.26)  # zoom_blur: factors np.arange(1, end, 0.01), as in the original

_CONSTANTS = {
    # noise: std of additive N(0, c²) on [0, 1] values
    "gaussian_noise": (0.04, 0.06, 0.08, 0.09, 0.10),
    # Poisson rate multiplier (photons per unit intensity); smaller = noisier
    "shot_noise": (500, 250, 100, 75, 50),
    # fraction of values hit by salt & pepper
    "impulse_noise": (0.01, 0.02, 0.03, 0.05, 0.07),
    # (disk radius px, anti-alias Gaussian sigma px)
    "defocus_blur": ((0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)),
    # (Gaussian sigma px, max pixel shift px, shuffle iterations)
    "glass_blur": ((0.05, 1, 1), (0.25, 1, 1), (0.4, 1, 1), (0.25, 1, 2), (0.4, 1, 2)),
    # ImageMagick motion blur (radius px, sigma px); angle ~ U(-45°, 45°)
    "motion_blur": ((6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5)),
    # zoom factors np.arange(1, end, 0.01)
    "zoom_blur": tuple(tuple(float(z) for z in np.arange(1, end, 0.01)) for end in _ZOOM_ENDS),
    # (loc, scale of N() snow layer, zoom factor, threshold, motion-blur radius px, motion-blur sigma px,
    #  blend weight of the original image); blur angle ~ U(-135°, -45°)
    "snow": (
        (0.1, 0.2, 1, 0.6, 8, 3, 0.95),
        (0.1, 0.2, 1, 0.5, 10, 4, 0.9),
        (0.15, 0.3, 1.75, 0.55, 10, 4, 0.9),
        (0.25, 0.3, 2.25, 0.6, 12, 6, 0.85),
        (0.3, 0.3, 1.25, 0.65, 14, 12, 0.8),
    ),
    # (weight of the image, weight of the frost layer)
    "frost": ((1, 0.2), (1, 0.3), (0.9, 0.4), (0.85, 0.4), (0.75, 0.45)),
    # (fog weight, plasma-fractal wibble decay)
    "fog": ((0.2, 3), (0.5, 3), (0.75, 2.5), (1, 2), (1.5, 1.75)),
    # added to the HSV value channel
    "brightness": (0.05, 0.1, 0.15, 0.2, 0.3),
    # contrast factor around the per-channel mean
    "contrast": (0.75, 0.5, 0.4, 0.3, 0.15),
    # fractions of IMSIZE (32 in the original): (displacement amplitude, displacement smoothing sigma,
    # affine jitter); the original writes them as IMSIZE*0, IMSIZE*0.05, ...
    "elastic_transform": (
        (0, 0, 0.08),
        (0.05, 0.2, 0.07),
        (0.08, 0.06, 0.06),
        (0.1, 0.04, 0.05),
        (0.1, 0.03, 0.03),
    ),
    # downscale factor (BOX down, BOX up)
    "pixelate": (0.95, 0.9, 0.85, 0.75, 0.65),
    # JPEG quality
    "jpeg_compression": (80, 65, 58, 50, 40),
    # std of the multiplicative N(0, c²)
    "speckle_noise": (0.06, 0.1, 0.12, 0.16, 0.2),
    # Gaussian sigma px
    "gaussian_blur": (0.4, 0.6, 0.7, 0.8, 1),
    # (loc, scale of N() liquid layer, blur sigma px, threshold, water opacity / mud blur sigma px, 0 water | 1 mud)
    "spatter": (
        (0.62, 0.1, 0.7, 0.7, 0.5, 0),
        (0.65, 0.1, 0.8, 0.7, 0.5, 0),
        (0.65, 0.3, 1, 0.69, 0.5, 0),
        (0.65, 0.1, 0.7, 0.69, 0.6, 1),
        (0.65, 0.1, 0.5, 0.68, 0.6, 1),
    ),
    # (saturation factor, saturation offset)
    "saturate": ((0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)),
}
#: Read-only view: corruption name -> tuple of the 5 per-severity constants (index severity - 1).
CONSTANTS = types.MappingProxyType(_CONSTANTS)

_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601 / OpenCV RGB2GRAY


# ---------------------------------------------------------------------------------------------------------------
# Validation and seeding
# ---------------------------------------------------------------------------------------------------------------
def scale_factor(height: int, width: int) -> float:
    """``min(H, W) / 32``: the factor applied to CIFAR-10-C's pixel-length constants (1.0 for 32×32)."""
    return min(height, width) / REFERENCE_SIZE


def _check_name(name) -> str:
    if not isinstance(name, str) or name not in _CONSTANTS:
        raise ValueError(f"unknown corruption {name!r}; expected one of {', '.join(CORRUPTIONS)}")
    return name


def _check_severity(severity) -> int:
    if (
        isinstance(severity, (bool, np.bool_))
        or not isinstance(severity, (int, np.integer))
        or not (1 <= int(severity) <= 5)
    ):
        raise ValueError(f"severity must be an integer from 1 to 5, got {severity!r}")
    return int(severity)


def _check_seed(seed) -> int:
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def _check_images(arr: np.ndarray) -> None:
    if arr.dtype != np.uint8:
        raise ValueError(f"images must have dtype uint8, got {arr.dtype}")
    if arr.ndim != 4:
        raise ValueError(f"images must be a 4-D N×C×H×W array, got shape {tuple(arr.shape)} ({arr.ndim}-D)")
    n, c, h, w = arr.shape
    if c not in (1, 3):
        raise ValueError(f"images must have C = 1 or 3 channels (N×C×H×W), got C = {c} in shape {tuple(arr.shape)}")
    if h < MIN_SIZE or w < MIN_SIZE:
        raise ValueError(f"images must be at least {MIN_SIZE}×{MIN_SIZE} pixels, got H×W = {h}×{w}")


def _to_numpy(images) -> tuple[np.ndarray, object]:
    """Return (uint8 numpy array, torch device or None)."""
    if isinstance(images, torch.Tensor):
        if images.dtype != torch.uint8:
            raise ValueError(f"images must have dtype uint8, got {images.dtype}")
        return images.detach().cpu().numpy(), images.device
    if isinstance(images, np.ndarray):
        return images, None
    raise ValueError(f"images must be a numpy array or a torch tensor, got {type(images).__name__}")


def _generator(seed: int, name: str, severity: int, chunk: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(name.encode()), severity, chunk]))


# ---------------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------------
def _float(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) / 255.0


def _to_uint8(y: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(y, 0.0, 1.0) * 255.0).astype(np.uint8)


def _gray(x: np.ndarray) -> np.ndarray:
    """N×C×H×W float -> N×1×H×W luminance (the image itself for C = 1)."""
    if x.shape[1] == 1:
        return x
    return np.tensordot(_LUMA, x, axes=([0], [1]))[:, None]


def _colour(rgb: np.ndarray, channels: int) -> np.ndarray:
    """A colour as a (1, C, 1, 1) array: RGB itself, or its luminance for one channel."""
    value = rgb if channels == 3 else np.array([float(_LUMA @ rgb)])
    return value.reshape(1, channels, 1, 1)


def _hsv_apply(x: np.ndarray, fn: Callable[[np.ndarray], None]) -> np.ndarray:
    """Convert N×3×H×W RGB to HSV, let ``fn`` edit it in place, convert back."""
    hsv = skcolor.rgb2hsv(x.transpose(0, 2, 3, 1))
    fn(hsv)
    return skcolor.hsv2rgb(hsv).transpose(0, 3, 1, 2)


def _gaussian(x: np.ndarray, sigma: float, mode: str = "nearest", truncate: float = 4.0) -> np.ndarray:
    """Gaussian blur of the last two axes (skimage.filters.gaussian defaults: mode 'nearest', truncate 4)."""
    if sigma <= 0:
        return x.copy()
    sig = (0.0,) * (x.ndim - 2) + (sigma, sigma)
    return ndi.gaussian_filter(x, sig, mode=mode, truncate=truncate)


def _linear_weights(lo: np.ndarray, frac: np.ndarray, n_in: int) -> np.ndarray:
    """The (len(lo), n_in) matrix of linear interpolation: output i is ``(1 − frac_i)·x[lo_i] + frac_i·x[lo_i + 1]``
    (the upper neighbour clamped to the last sample)."""
    hi = np.minimum(lo + 1, n_in - 1)
    m = np.zeros((len(lo), n_in))
    rows = np.arange(len(lo))
    np.add.at(m, (rows, lo), 1.0 - frac)
    np.add.at(m, (rows, hi), frac)
    return m
