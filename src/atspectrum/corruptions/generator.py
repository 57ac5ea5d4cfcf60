"""The 19 CIFAR-10-C corruptions (Hendrycks & Dietterich, ICLR 2019), re-implemented on numpy/scipy/scikit-image/Pillow.

``corrupt(images, name, severity, seed)`` takes uint8 ``N×C×H×W`` images (numpy or torch; ``C`` = 1 or 3;
``H, W`` >= 28, not necessarily square) and returns a corrupted copy of the same shape, dtype and type. It is
deterministic in ``(images, name, severity, seed)``: every random draw comes from a ``numpy.random.default_rng``
seeded from ``(seed, crc32(name), severity, chunk)``, never from global RNG state (images are processed in chunks
of ``CHUNK`` images, the chunk index being part of the seed, so memory stays bounded for 50,000-image sets).

Source of every constant: ``ImageNet-C/create_c/make_cifar_c.py`` in github.com/hendrycks/robustness, the script that
generated CIFAR-10-C. The per-severity constants are collected, unchanged, in :data:`CONSTANTS` below. The code here
is a fresh implementation of what that script does, not a copy of it.

Image size
----------
The original works on 32×32 images. Constants that are lengths in pixels are multiplied by ``s = min(H, W) / 32``
(``s`` = 1 for 32×32, so the CIFAR constant is used unchanged; ``s`` = 0.875 for 28×28 Fashion-MNIST):
glass-blur sigma (its pixel-shift distance becomes ``max(1, round(1·s))``), motion-blur radius and sigma,
Gaussian-blur sigma, snow's motion-blur radius and sigma, spatter's blur sigmas and its distance clip (20 px),
elastic-transform's three lengths (the original writes them as ``IMSIZE·k`` with ``IMSIZE = 32``; we use
``IMSIZE = min(H, W)``), frost's photograph shrink factor (0.2·s, see 9.). Defocus blur's disk radius and alias
sigma are multiplied by ``max(1, s)`` (see 4. below). Pixelate shrinks to ``(int(W·c), int(H·c))`` (the original:
``int(32·c)``). Fog's plasma fractal has side ``2^ceil(log2(max(H, W)))`` (32 for both 28×28 and 32×32) and is
cropped to ``H×W``.
Not scaled (relative or per-pixel quantities): noise amplitudes, colour/contrast constants, JPEG quality, zoom-blur
factors, snow's zoom factor.

Grayscale (C = 1)
-----------------
Spatial operations run per channel, so they apply to one channel unchanged. Where the original mixes colours:
``snow`` uses the image itself as its gray version; ``spatter`` and ``frost`` use the luminance
(ITU-R 601: 0.299 R + 0.587 G + 0.114 B, OpenCV's RGB2GRAY weights) of their colours (frost: of the RGB crop of the
photograph, so a gray image gets the luminance of exactly the frost an RGB image of the same size and seed gets);
``brightness`` on a gray pixel (R = G = B) is exactly ``clip(x + c)``; ``saturate`` treats the gray image as RGB
with equal channels, applies the HSV transform and converts back to luminance. A gray pixel has saturation 0 and
CIFAR-10-C's saturate severities 1–3 only *scale* saturation (offset 0), so **on gray input saturate is the identity
at severities 1–3**; severities 4–5 add 0.1 / 0.2 saturation at hue 0 (red), which darkens the luminance by a
factor ``1 − 0.701·c``. We keep this rather than invent a gray analogue; the tests exempt gray saturate at
severities 1–3 and say why.

The corruptions, their source and every deviation from the original
--------------------------------------------------------------------
Common to all: images are float64 in [0, 1] while corrupted; the final float → uint8 conversion **rounds**
(the original's ``np.uint8(...)`` cast truncated, a systematic −0.5 gray-level bias; intermediate quantisations that
the original performs — glass blur, snow, spatter — keep its truncation/rounding). Random draws come from a seeded
``Generator``, batch-wise, so the random numbers differ from the original's (it used the global ``np.random``).

1. ``gaussian_noise``  — x + N(0, c²). As the original.
2. ``shot_noise``      — Poisson(x·c)/c. As the original.
3. ``impulse_noise``   — salt & pepper as ``skimage.util.random_noise(mode='s&p', amount=c)``: each value (per
   channel) is replaced with probability c, by 1 or 0 with equal probability. Drawn directly with our generator.
4. ``defocus_blur``    — correlation with an anti-aliased disk (disk on a 17×17 grid blurred by a 3×3 Gaussian of
   sigma ``alias_blur``, as OpenCV's ``GaussianBlur``), reflect-101 borders (OpenCV's default). As the original,
   with scipy instead of OpenCV. Size: the disk is discrete and radius 1 (severity 4) lies exactly on the boundary
   where it gains its 4 neighbours, so radius and alias sigma are scaled by ``max(1, s)``: images of 28–31 px use
   the 32×32 kernel unchanged (shrinking it would make severity 4 a near-identity), larger images a wider one.
   For radii > 8 (only reachable for images ≥ 171 px) the grid is ``±ceil(radius)`` and the blur 5×5 (the
   original: ``arange(-radius, radius + 1)`` with a float radius).
5. ``glass_blur``      — Gaussian blur, uint8 truncation, local pixel shuffle, Gaussian blur. The original's shuffle
   loop ``x[h, w], x[h', w'] = x[h', w'], x[h, w]`` on an H×W×3 numpy array does *not* swap: the right-hand side
   holds views, so ``x[h, w]`` receives ``x[h', w']`` and ``x[h', w']`` is left unchanged (it copies a neighbour).
   With ``max_delta`` = 1 the offsets are drawn from ``randint(-1, 1)`` = {−1, 0}, so every source pixel lies up/left
   of its target and is visited later in the loop's bottom-right → top-left order: each pass is exactly
   ``out[h, w] = in[h + dy, w + dx]`` for ``h, w`` in ``(max_delta, size − max_delta]``, which we compute
   vectorised over the whole batch — exactly the operation CIFAR-10-C's loop performed, without the Python loop
   (a true swap, as the code reads, is *not* what produced CIFAR-10-C). For ``max_delta`` ≥ 2 (images ≥ 48 px)
   sources can lie below/right of the target, which the sequential loop would already have overwritten; we still
   read every source from the image as it was before the pass.
6. ``motion_blur``     — the original calls ImageMagick's ``MotionBlurImage(radius, sigma, angle)`` with
   angle ~ U(−45°, 45°). We re-implement that operator: a one-sided line kernel of ``width = 2·ceil(radius) + 1``
   taps with weights ``exp(−i²/(2σ²))`` (normalised), tap ``i`` sampling the pixel at offset
   ``(round(i·cos θ), round(i·sin θ))`` (x, y), edge pixels replicated (ImageMagick's default virtual-pixel method),
   computed as a gather-and-sum over the batch. Differences: no ImageMagick PNG round trip, no 16-bit quantum
   arithmetic (we work in float64 and round once at the end); ImageMagick's "round half up" offsets are reproduced.
7. ``zoom_blur``       — average of the image and its centre zooms (``clipped_zoom``: centre crop, bilinear zoom,
   centre trim) for zoom factors ``np.arange(1, end, 0.01)``, exactly the original's lists (floating-point makes
   the first two lists include their end point: 7, 12, 16, 21 and 26 factors). The zoom is
   ``scipy.ndimage.zoom(order=1)``'s interpolation (same output size and coordinate mapping; equal to 1e-15)
   written as two matrix products over the whole batch. Float64 (the original float32). Snow uses the same zoom.
8. ``snow``            — the original algorithm: N(loc, scale) layer, clipped zoom, threshold, 8-bit truncation,
   ImageMagick motion blur (our re-implementation above, angle ~ U(−135°, −45°)) rounded to 8 bits, image blended
   towards ``max(x, 1.5·gray + 0.5)``, layer and its 180° rotation added.
9. ``frost``           — ``c0·x + c1·frost`` with a random crop of one of the original's frost photographs,
   shipped as package data (``atspectrum/frost/``, Apache-2.0, from hendrycks/robustness; read with Pillow through
   ``importlib.resources``): per image ``randint(5)`` picks one of ``frost1.png`` … ``frost5.jpg`` (the file list
   has a sixth, ``frost6.jpg``, which ``randint(5)`` never picks; we ship it too, unused; ``frost2.png`` and
   ``frost3.png`` hold the same pixels, so that texture is drawn with probability 2/5), the photograph is shrunk
   ×0.2 with OpenCV's ``INTER_LINEAR`` (at exactly 0.2 that samples source pixel ``5i + 2``; our re-implementation
   is pixel-identical to OpenCV there) and the crop's top-left corner is ``(randint(0, rows − 32),
   randint(0, columns − 32))`` (as the original: the last row/column offset is never drawn), RGB order; the
   blend is clipped, then rounded (see above). Other sizes: the shrink factor is ``0.2·s`` (the crop covers the same
   part of the photograph as a 32×32 crop at 0.2; OpenCV's 8-bit fixed point differs from our float interpolation by
   at most one level there), enlarged where a photograph would be smaller than ``(H + 1) × (W + 1)`` (wide or large
   images); the crop is ``H×W``. Draws: photo index, then rows, then columns, for the whole batch from our generator.
10. ``fog``            — plasma fractal (diamond-square, our implementation, same wibble/decay scheme and min-max
    normalisation as the original) added with weight c0, rescaled by ``max/(max + c0)``. Vectorised over the batch.
11. ``brightness``     — HSV value + c (skimage colour conversion), as the original.
12. ``contrast``       — ``(x − mean)·c + mean`` with per-image, per-channel means, as the original.
13. ``elastic_transform`` — random affine (3 points jittered by U(±c2)) then a smoothed random displacement field
    (σ = c1, amplitude c0) sampled with bilinear ``map_coordinates`` (mode 'reflect'), as the original. The affine
    warp is OpenCV's ``warpAffine`` (bilinear, reflect-101 borders) in the original; we sample it with
    ``scipy.ndimage.map_coordinates(order=1, mode='mirror')`` (same borders; OpenCV quantises sub-pixel positions to
    1/32 px, we do not). For non-square images the affine reference points use (x, y) = (W//2, H//2) as centre
    (the original mixes the axes, which only matters for non-square images).
14. ``pixelate``       — Pillow BOX downscale to ``(int(W·c), int(H·c))`` and BOX upscale back, as the original.
15. ``jpeg_compression`` — Pillow JPEG at quality c (Pillow's default 4:2:0 chroma subsampling for RGB; gray as
    mode 'L'), as the original.
16. ``speckle_noise``  — x + x·N(0, c²), as the original.
17. ``gaussian_blur``  — ``skimage.filters.gaussian`` semantics (mode 'nearest', truncate 4), done with
    ``scipy.ndimage.gaussian_filter`` on the 4-D batch.
18. ``spatter``        — the original algorithm (water for severities 1–3, mud for 4–5). Water uses OpenCV for
    edge detection and distance maps; here: ``skimage.feature.canny`` (σ = 0, thresholds 50/150 on the 8-bit scale, L2
    gradient magnitude — OpenCV's default is L1 and it does not drop the 1-px border) instead of ``cv2.Canny``;
    exact Euclidean distance (``scipy.ndimage.distance_transform_edt``) instead of OpenCV's 5×5 chamfer
    approximation; OpenCV's box blurs, ``equalizeHist`` and ``filter2D`` (8-bit saturating output) re-implemented
    with their rounding and reflect-101 borders. Guards the original lacks: the liquid layer is clipped to [0, 1]
    before its uint8 conversion (the original could wrap around above 1), and an image without any liquid gets no
    water (the original divides by zero there and produces NaN). The water colour is RGB (175, 238, 238)/255 as in
    the original (its BGR/RGB confusion cancels out); mud is RGB (63, 42, 20)/255.
19. ``saturate``       — HSV saturation ``·c0 + c1``, as the original (gray input: see above).
"""

from __future__ import annotations

import functools
import importlib.resources
import io
import math
import types
import zlib
from typing import Callable

import numpy as np
import torch
from PIL import Image
from scipy import ndimage as ndi
from skimage import color as skcolor
from skimage.feature import canny

__all__ = [
    "CORRUPTIONS",
    "SEVERITIES",
    "CONSTANTS",
    "MIN_SIZE",
    "CHUNK",
    "FROST_FILES",
    "FROST_CHOICES",
    "FROST_RESIZE",
    "corrupt",
    "scale_factor",
]

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
# (These differ from ImageNet-C's make_imagenet_c.py.) Pixel lengths refer to 32×32 images; see the module
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
_WATER_RGB = np.array([175.0, 238.0, 238.0]) / 255.0
_MUD_RGB = np.array([63.0, 42.0, 20.0]) / 255.0

# frost: the original's file list (package data in atspectrum/frost/, Apache-2.0, see its README.md); per image its
# randint(5) draws one of the first FROST_CHOICES, which is shrunk by FROST_RESIZE (OpenCV INTER_LINEAR)
FROST_DIR = "frost"
FROST_FILES: tuple[str, ...] = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg")
FROST_CHOICES = 5
FROST_RESIZE = 0.2


# ---------------------------------------------------------------------------------------------------------------
# Validation and dispatch
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


def _zoom_rows(n_in: int, factor: float, n_keep: int) -> np.ndarray:
    """Linear-interpolation matrix (n_keep × n_in) of ``scipy.ndimage.zoom(order=1)`` along one axis, restricted to
    the centred ``n_keep`` output samples (the ones ``clipped_zoom`` keeps)."""
    n_out = int(round(n_in * factor))  # scipy's output length
    scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0  # scipy's grid_mode=False coordinate mapping
    start = (n_out - n_keep) // 2
    pos = np.arange(start, start + n_keep) * scale
    lo = np.clip(np.floor(pos).astype(np.int64), 0, n_in - 1)
    return _linear_weights(lo, pos - lo, n_in)


def _linear_weights(lo: np.ndarray, frac: np.ndarray, n_in: int) -> np.ndarray:
    """The (len(lo), n_in) matrix of linear interpolation: output i is ``(1 − frac_i)·x[lo_i] + frac_i·x[lo_i + 1]``
    (the upper neighbour clamped to the last sample)."""
    hi = np.minimum(lo + 1, n_in - 1)
    m = np.zeros((len(lo), n_in))
    rows = np.arange(len(lo))
    np.add.at(m, (rows, lo), 1.0 - frac)
    np.add.at(m, (rows, hi), frac)
    return m


def _clipped_zoom(a: np.ndarray, factor: float) -> np.ndarray:
    """Zoom the last two axes by ``factor`` (>= 1) about the centre, bilinear, cropped back to the input size.

    Same result as the original's ``scipy.ndimage.zoom(crop, factor, order=1)`` followed by the centre trim, computed
    as two small matrix products (separable bilinear interpolation) so it is fast on a whole batch."""
    h, w = a.shape[-2:]
    ch, cw = int(math.ceil(h / factor)), int(math.ceil(w / factor))
    top, left = (h - ch) // 2, (w - cw) // 2
    crop = a[..., top : top + ch, left : left + cw]
    return _zoom_rows(ch, factor, h) @ crop @ _zoom_rows(cw, factor, w).T


def _motion_blur(x: np.ndarray, radius: float, sigma: float, angles_deg: np.ndarray) -> np.ndarray:
    """ImageMagick MotionBlurImage semantics on N×C×H×W floats, one angle per image (see module docstring)."""
    n, c, h, w = x.shape
    width = int(2 * math.ceil(radius) + 1)
    sigma = max(sigma, 1e-12)
    taps = np.arange(width)
    weights = np.exp(-(taps.astype(np.float64) ** 2) / (2.0 * sigma * sigma))
    weights /= weights.sum()
    theta = np.deg2rad(np.asarray(angles_deg, dtype=np.float64))
    # ImageMagick: offset = ceil(i * cos/sin - 0.5) ("round half up"); x is the column, y the row
    off_x = np.ceil(taps[None, :] * np.cos(theta)[:, None] - 0.5).astype(np.int64)  # (N, width)
    off_y = np.ceil(taps[None, :] * np.sin(theta)[:, None] - 0.5).astype(np.int64)
    rows = np.clip(np.arange(h)[None, None, :, None] + off_y[:, :, None, None], 0, h - 1)  # (N, width, H, 1)
    cols = np.clip(np.arange(w)[None, None, None, :] + off_x[:, :, None, None], 0, w - 1)  # (N, width, 1, W)
    xt = x.transpose(1, 0, 2, 3)  # C×N×H×W so the gathered axes stay together
    nidx = np.arange(n)[:, None, None]
    out = np.zeros_like(xt)
    for i in range(width):
        out += weights[i] * xt[:, nidx, rows[:, i], cols[:, i]]
    return out.transpose(1, 0, 2, 3)


def _plasma_fractal(rng: np.random.Generator, n: int, mapsize: int, decay: float) -> np.ndarray:
    """N diamond-square height maps (mapsize × mapsize, toroidal), each min-max normalised to [0, 1]."""
    grid = np.zeros((n, mapsize, mapsize))
    step = mapsize
    wibble = 100.0

    def jitter(total: np.ndarray) -> np.ndarray:
        # mean of the four neighbours plus a uniform perturbation of amplitude wibble² (the original's scheme)
        return total / 4.0 + wibble * rng.uniform(-wibble, wibble, total.shape)

    while step >= 2:
        half = step // 2
        corners = grid[:, 0::step, 0::step]
        # square step: centre of each square from its four corners
        total = corners + np.roll(corners, -1, axis=1)
        total = total + np.roll(total, -1, axis=2)
        grid[:, half::step, half::step] = jitter(total)
        # diamond step: edge midpoints from the two corners and two centres around them
        centres = grid[:, half::step, half::step]
        corners = grid[:, 0::step, 0::step]
        top_edges = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=2)
        grid[:, 0::step, half::step] = jitter(top_edges)
        left_edges = centres + np.roll(centres, 1, axis=2) + corners + np.roll(corners, -1, axis=1)
        grid[:, half::step, 0::step] = jitter(left_edges)
        step = half
        wibble /= decay
    grid -= grid.min(axis=(1, 2), keepdims=True)
    top = grid.max(axis=(1, 2), keepdims=True)
    return grid / np.where(top > 0, top, 1.0)


def _disk_kernel(radius: float, alias_blur: float) -> np.ndarray:
    """Anti-aliased disk: OpenCV-GaussianBlur(3×3, or 5×5 for radius > 8) of an aliased disk, normalised to sum 1."""
    if radius <= 8:
        half, ksize = 8, 3
    else:
        half, ksize = int(math.ceil(radius)), 5
    coords = np.arange(-half, half + 1)
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    disk = (xx**2 + yy**2 <= radius**2).astype(np.float64)
    disk /= disk.sum()
    k = ksize // 2
    taps = np.arange(-k, k + 1, dtype=np.float64)
    g = np.exp(-(taps**2) / (2.0 * max(alias_blur, 1e-12) ** 2))
    g /= g.sum()
    blurred = ndi.correlate1d(disk, g, axis=0, mode="mirror")
    blurred = ndi.correlate1d(blurred, g, axis=1, mode="mirror")
    # trim all-zero borders (exact zeros contribute nothing)
    nz_r = np.flatnonzero(blurred.any(axis=1))
    nz_c = np.flatnonzero(blurred.any(axis=0))
    r = max(half - nz_r[0], nz_r[-1] - half, half - nz_c[0], nz_c[-1] - half)
    return blurred[half - r : half + r + 1, half - r : half + r + 1]


def _equalize_hist_u8(img: np.ndarray) -> np.ndarray:
    """OpenCV equalizeHist on a uint8 image."""
    hist = np.bincount(img.ravel(), minlength=256)
    total = img.size
    first = int(np.flatnonzero(hist)[0])
    if hist[first] == total:
        return np.full_like(img, first)
    scale = 255.0 / (total - hist[first])
    lut = np.clip(np.rint((np.cumsum(hist) - hist[first]) * scale), 0, 255).astype(np.uint8)
    return lut[img]


def _box3(a: np.ndarray) -> np.ndarray:
    """OpenCV blur(3×3) with its default reflect-101 border, float result."""
    return ndi.uniform_filter(a.astype(np.float64), size=3, mode="mirror")


# ---------------------------------------------------------------------------------------------------------------
# The corruptions: f(uint8 N×C×H×W, severity constants, rng) -> uint8 N×C×H×W
# ---------------------------------------------------------------------------------------------------------------
def _gaussian_noise(images, c, rng):
    x = _float(images)
    return _to_uint8(x + rng.normal(0.0, c, size=x.shape))


def _shot_noise(images, c, rng):
    x = _float(images)
    return _to_uint8(rng.poisson(x * c) / c)


def _impulse_noise(images, c, rng):
    x = _float(images)
    hit = rng.random(x.shape) < c
    salt = rng.random(x.shape) < 0.5
    x[hit & salt] = 1.0
    x[hit & ~salt] = 0.0
    return _to_uint8(x)


def _speckle_noise(images, c, rng):
    x = _float(images)
    return _to_uint8(x + x * rng.normal(0.0, c, size=x.shape))


def _gaussian_blur(images, c, rng):
    s = scale_factor(*images.shape[2:])
    return _to_uint8(_gaussian(_float(images), c * s))


def _defocus_blur(images, c, rng):
    # The aliased disk is discrete and CIFAR's radius 1 lies exactly on the boundary where it gains its 4
    # neighbours: shrinking radii for 28-31 px images would make severity 4 a near-identity. So the 32x32 kernel
    # is kept below 32 px and radius / alias sigma grow with the image above it.
    s = max(1.0, scale_factor(*images.shape[2:]))
    kernel = _disk_kernel(c[0] * s, c[1] * s)
    return _to_uint8(ndi.correlate(_float(images), kernel[None, None], mode="mirror"))


def _glass_blur(images, c, rng):
    sigma, max_delta, iterations = c
    n, _, h, w = images.shape
    s = scale_factor(h, w)
    sigma = sigma * s
    delta = max(1, int(round(max_delta * s)))
    # blur, then 8-bit truncation as the original's np.uint8(... * 255)
    x = np.floor(np.clip(_gaussian(_float(images), sigma), 0, 1) * 255.0)
    hs = np.arange(delta + 1, h - delta + 1)  # the original's range(size - delta, delta, -1)
    ws = np.arange(delta + 1, w - delta + 1)
    nidx = np.arange(n)[:, None, None]
    for _ in range(iterations):
        # offsets from randint(-delta, delta): values in [-delta, delta - 1]
        dy = rng.integers(-delta, delta, size=(n, hs.size, ws.size))
        dx = rng.integers(-delta, delta, size=(n, hs.size, ws.size))
        src_r = hs[None, :, None] + dy
        src_c = ws[None, None, :] + dx
        xt = x.transpose(1, 0, 2, 3)  # C×N×H×W
        moved = xt[:, nidx, src_r, src_c]  # C×N×len(hs)×len(ws), read before writing
        xt = xt.copy()
        xt[:, :, hs[0] : hs[-1] + 1, ws[0] : ws[-1] + 1] = moved
        x = xt.transpose(1, 0, 2, 3)
    return _to_uint8(_gaussian(x / 255.0, sigma))


def _motion_blur_corruption(images, c, rng):
    s = scale_factor(*images.shape[2:])
    angles = rng.uniform(-45.0, 45.0, size=images.shape[0])
    return _to_uint8(_motion_blur(_float(images), c[0] * s, c[1] * s, angles))


def _zoom_blur(images, c, rng):
    x = _float(images)
    acc = x.copy()
    for factor in c:
        acc += _clipped_zoom(x, factor)
    return _to_uint8(acc / (len(c) + 1))


def _snow(images, c, rng):
    loc, scale, zoom, threshold, radius, sigma, blend = c
    x = _float(images)
    n, ch, h, w = x.shape
    s = scale_factor(h, w)
    layer = rng.normal(loc, scale, size=(n, 1, h, w))
    layer = _clipped_zoom(layer, zoom)
    layer[layer < threshold] = 0.0
    layer = np.floor(np.clip(layer, 0, 1) * 255.0)  # the original's (... * 255).astype(np.uint8)
    angles = rng.uniform(-135.0, -45.0, size=n)
    layer = np.rint(_motion_blur(layer, radius * s, sigma * s, angles)) / 255.0  # 8-bit PNG out of ImageMagick
    x = blend * x + (1.0 - blend) * np.maximum(x, _gray(x) * 1.5 + 0.5)
    return _to_uint8(x + layer + layer[:, :, ::-1, ::-1])


def _linear_resize_matrix(n_in: int, n_out: int, factor: float) -> np.ndarray:
    """(n_out × n_in) matrix of OpenCV's ``resize(INTER_LINEAR)`` along one axis at scale ``factor``: source
    position ``(i + 0.5) / factor − 0.5`` (half-pixel centres), linear weights, clamped at the borders, no
    anti-aliasing. At factor 0.2 every position is the integer ``5i + 2``, i.e. pure sampling (checked against
    OpenCV 5.0 on the six frost photographs: identical)."""
    pos = (np.arange(n_out) + 0.5) * (1.0 / factor) - 0.5
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    outside = (lo < 0) | (lo >= n_in - 1)
    lo = np.clip(lo, 0, n_in - 1)
    frac[outside] = 0.0
    return _linear_weights(lo, frac, n_in)


@functools.lru_cache(maxsize=len(FROST_FILES))
def _frost_photo_u8(index: int) -> np.ndarray:
    """Frost photograph ``FROST_FILES[index]`` as uint8 H×W×3 RGB, read from package data (alpha dropped, as
    OpenCV's ``imread`` does; Pillow decodes all six to the same pixels as OpenCV)."""
    resource = importlib.resources.files("atspectrum").joinpath(FROST_DIR, FROST_FILES[index])
    with resource.open("rb") as fh, Image.open(fh) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).copy()


@functools.lru_cache(maxsize=64)
def _frost_photo(index: int, height: int, width: int) -> np.ndarray:
    """Photograph ``index`` resized for ``height × width`` images: read-only float H'×W'×3 RGB in [0, 1].

    Factor ``FROST_RESIZE · s`` (``s = scale_factor(height, width)``; 0.2 for 32×32, as the original), enlarged
    where needed so that the photograph is at least ``(height + 1) × (width + 1)`` (the original's
    ``randint(0, size − 32)`` needs one spare row and column); rounded to 8 bits like OpenCV's uint8 resize."""
    photo = _frost_photo_u8(index)
    ph, pw = photo.shape[:2]
    factor = max(FROST_RESIZE * scale_factor(height, width), (height + 1) / ph, (width + 1) / pw)
    out_h, out_w = max(height + 1, round(ph * factor)), max(width + 1, round(pw * factor))
    rows = _linear_resize_matrix(ph, out_h, factor)
    cols = _linear_resize_matrix(pw, out_w, factor)
    resized = np.stack([rows @ photo[..., k].astype(np.float64) @ cols.T for k in range(3)], axis=-1)
    out = np.rint(resized) / 255.0
    out.flags.writeable = False
    return out


def _frost(images, c, rng):
    x = _float(images)
    n, ch, h, w = x.shape
    choice = rng.integers(0, FROST_CHOICES, size=n)  # the original's randint(5)
    photos = [_frost_photo(i, h, w) for i in range(FROST_CHOICES)]
    top = rng.integers(0, np.array([p.shape[0] for p in photos])[choice] - h)  # randint(0, rows − 32)
    left = rng.integers(0, np.array([p.shape[1] for p in photos])[choice] - w)  # randint(0, columns − 32)
    layer = np.empty((n, 3, h, w))
    for i in range(n):
        layer[i] = photos[choice[i]][top[i] : top[i] + h, left[i] : left[i] + w].transpose(2, 0, 1)
    if ch == 1:
        layer = _gray(layer)  # luminance of the frost crop
    return _to_uint8(c[0] * x + c[1] * layer)


def _fog(images, c, rng):
    weight, decay = c
    x = _float(images)
    n, _, h, w = x.shape
    mapsize = 1 << int(math.ceil(math.log2(max(h, w))))
    fractal = _plasma_fractal(rng, n, mapsize, decay)[:, None, :h, :w]
    peak = x.max(axis=(1, 2, 3), keepdims=True)
    x = x + weight * fractal
    return _to_uint8(x * peak / (peak + weight))


def _brightness(images, c, rng):
    x = _float(images)
    if x.shape[1] == 1:  # HSV value of a gray pixel is the pixel itself
        return _to_uint8(x + c)

    def edit(hsv):
        hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)

    return _to_uint8(_hsv_apply(x, edit))


def _saturate(images, c, rng):
    x = _float(images)
    gray = x.shape[1] == 1
    rgb = np.repeat(x, 3, axis=1) if gray else x

    def edit(hsv):
        hsv[..., 1] = np.clip(hsv[..., 1] * c[0] + c[1], 0, 1)

    out = _hsv_apply(rgb, edit)
    return _to_uint8(_gray(out) if gray else out)


def _contrast(images, c, rng):
    x = _float(images)
    means = x.mean(axis=(2, 3), keepdims=True)
    return _to_uint8((x - means) * c + means)


def _elastic_transform(images, c, rng):
    x = _float(images)
    n, ch, h, w = x.shape
    size = min(h, w)  # IMSIZE of the original
    alpha, sigma, jitter = (v * size for v in c)
    # random affine from three jittered reference points, (x, y) = (column, row)
    centre = np.array([w // 2, h // 2], dtype=np.float64)
    half = size // 3
    src = np.array([centre + half, [centre[0] + half, centre[1] - half], centre - half])
    dst = src[None] + rng.uniform(-jitter, jitter, size=(n, 3, 2))
    # inverse map dst -> src (what warpAffine samples): solve [dst 1] @ A = src per image
    lhs = np.concatenate([dst, np.ones((n, 3, 1))], axis=2)
    inv = np.linalg.solve(lhs, np.broadcast_to(src, (n, 3, 2)))  # (N, 3, 2)
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij")
    sx = cols[None] * inv[:, 0, 0, None, None] + rows[None] * inv[:, 1, 0, None, None] + inv[:, 2, 0, None, None]
    sy = cols[None] * inv[:, 0, 1, None, None] + rows[None] * inv[:, 1, 1, None, None] + inv[:, 2, 1, None, None]
    shape = (n, ch, h, w)
    nn = np.broadcast_to(np.arange(n, dtype=np.float64)[:, None, None, None], shape)
    cc = np.broadcast_to(np.arange(ch, dtype=np.float64)[None, :, None, None], shape)
    coords = np.stack([nn, cc, np.broadcast_to(sy[:, None], shape), np.broadcast_to(sx[:, None], shape)])
    x = ndi.map_coordinates(x, coords, order=1, mode="mirror")
    # smoothed random displacement field
    dx = _gaussian(rng.uniform(-1, 1, size=(n, h, w)), sigma, mode="reflect", truncate=3.0) * alpha
    dy = _gaussian(rng.uniform(-1, 1, size=(n, h, w)), sigma, mode="reflect", truncate=3.0) * alpha
    coords[2] = np.broadcast_to((rows[None] + dy)[:, None], shape)
    coords[3] = np.broadcast_to((cols[None] + dx)[:, None], shape)
    return _to_uint8(ndi.map_coordinates(x, coords, order=1, mode="reflect"))


def _pil_images(images: np.ndarray):
    mode = "L" if images.shape[1] == 1 else "RGB"
    for img in images:
        arr = img[0] if mode == "L" else img.transpose(1, 2, 0)
        yield Image.fromarray(np.ascontiguousarray(arr), mode=mode)


def _from_pil(pil: Image.Image, channels: int) -> np.ndarray:
    arr = np.asarray(pil, dtype=np.uint8)
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


def _pixelate(images, c, rng):
    _, ch, h, w = images.shape
    small = (max(1, int(w * c)), max(1, int(h * c)))
    out = np.empty_like(images)
    for i, pil in enumerate(_pil_images(images)):
        pil = pil.resize(small, Image.Resampling.BOX).resize((w, h), Image.Resampling.BOX)
        out[i] = _from_pil(pil, ch)
    return out


def _jpeg_compression(images, c, rng):
    ch = images.shape[1]
    out = np.empty_like(images)
    for i, pil in enumerate(_pil_images(images)):
        buf = io.BytesIO()
        pil.save(buf, format="JPEG", quality=int(c))
        buf.seek(0)
        with Image.open(buf) as decoded:
            out[i] = _from_pil(decoded.convert("L" if ch == 1 else "RGB"), ch)
    return out


def _spatter(images, c, rng):
    loc, scale, sigma, threshold, strength, mud = c
    x = _float(images)
    n, ch, h, w = x.shape
    s = scale_factor(h, w)
    liquid = _gaussian(rng.normal(loc, scale, size=(n, h, w)), sigma * s)
    liquid[liquid < threshold] = 0.0
    if mud == 0:
        m = np.zeros((n, h, w))
        clip_at = 20.0 * s
        kernel = np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]])
        for i in range(n):
            liq8 = np.floor(np.clip(liquid[i], 0, 1) * 255.0)  # (liquid * 255).astype(np.uint8), no wrap
            if not liq8.any():
                continue  # no liquid: no water (original: NaN)
            edges = canny(liq8 / 255.0, sigma=0.0, low_threshold=50 / 255, high_threshold=150 / 255)
            if edges.any():
                dist = ndi.distance_transform_edt(~edges)
            else:
                dist = np.full((h, w), clip_at)
            dist = np.minimum(dist, clip_at)  # THRESH_TRUNC
            dist = np.floor(_box3(dist)).astype(np.uint8)  # blur, .astype(np.uint8)
            dist = _equalize_hist_u8(dist)
            dist = np.clip(np.rint(ndi.correlate(dist.astype(np.float64), kernel, mode="mirror")), 0, 255)
            dist = np.rint(_box3(dist))  # uint8 blur (rounded), then float
            mi = liq8 * dist
            top = mi.max()
            if top > 0:
                m[i] = mi / top * strength
        return _to_uint8(x + m[:, None] * _colour(_WATER_RGB, ch))
    mask = (liquid > threshold).astype(np.float64)
    mask = _gaussian(mask, strength * s)
    mask[mask < 0.8] = 0.0
    m = mask[:, None]
    return _to_uint8(x * (1.0 - m) + m * _colour(_MUD_RGB, ch))


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
