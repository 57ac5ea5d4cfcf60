"""Weather corruptions (numbered by their position in ``CORRUPTIONS``; constants in ``common.CONSTANTS``):

8. ``snow``            — the original algorithm: N(loc, scale) layer, clipped zoom, threshold, 8-bit truncation,
   ImageMagick motion blur (our re-implementation in :mod:`atspectrum.corruptions.blur`, 6., angle
   ~ U(−135°, −45°)) rounded to 8 bits, image blended towards ``max(x, 1.5·gray + 0.5)``, layer and its 180°
   rotation added.
9. ``frost``           — ``c0·x + c1·frost`` with a random crop of one of the original's frost photographs,
   shipped as package data (``atspectrum/frost/``, Apache-2.0, from hendrycks/robustness; read with Pillow through
   ``importlib.resources``): per image ``randint(5)`` picks one of ``frost1.png`` … ``frost5.jpg`` (the file list
   has a sixth, ``frost6.jpg``, which ``randint(5)`` never picks; we ship it too, unused; ``frost2.png`` and
   ``frost3.png`` hold the same pixels, so that texture is drawn with probability 2/5), the photograph is shrunk
   ×0.2 with OpenCV's ``INTER_LINEAR`` (at exactly 0.2 that samples source pixel ``5i + 2``; our re-implementation
   is pixel-identical to OpenCV there) and the crop's top-left corner is ``(randint(0, rows − 32),
   randint(0, columns − 32))`` (as the original: the last row/column offset is never drawn), RGB order; the
   blend is clipped, then rounded (as every corruption's output, see the package docstring). Other sizes: the
   shrink factor is ``0.2·s`` (the crop covers the same part of the photograph as a 32×32 crop at 0.2; OpenCV's
   8-bit fixed point differs from our float interpolation by at most one level there), enlarged where a photograph
   would be smaller than ``(H + 1) × (W + 1)`` (wide or large images); the crop is ``H×W``. Draws: photo index,
   then rows, then columns, for the whole batch from our generator.
10. ``fog``            — plasma fractal (diamond-square, our implementation, same wibble/decay scheme and min-max
    normalisation as the original) added with weight c0, rescaled by ``max/(max + c0)``. Vectorised over the batch.
18. ``spatter``        — the original algorithm (water for severities 1–3, mud for 4–5). Water uses OpenCV for
    edge detection and distance maps; here: ``skimage.feature.canny`` (σ = 0, thresholds 50/150 on the 8-bit scale, L2
    gradient magnitude — OpenCV's default is L1 and it does not drop the 1-px border) instead of ``cv2.Canny``;
    exact Euclidean distance (``scipy.ndimage.distance_transform_edt``) instead of OpenCV's 5×5 chamfer
    approximation; OpenCV's box blurs, ``equalizeHist`` and ``filter2D`` (8-bit saturating output) re-implemented
    with their rounding and reflect-101 borders. Guards the original lacks: the liquid layer is clipped to [0, 1]
    before its uint8 conversion (the original could wrap around above 1), and an image without any liquid gets no
    water (the original divides by zero there and produces NaN). The water colour is RGB (175, 238, 238)/255 as in
    the original (its BGR/RGB confusion cancels out); mud is RGB (63, 42, 20)/255.
"""

from __future__ import annotations

import functools
import importlib.resources
import math

import numpy as np
from PIL import Image
from scipy import ndimage as ndi
from skimage.feature import canny

from .blur import _clipped_zoom, _motion_blur
from .common import _colour, _float, _gaussian, _gray, _linear_weights, _to_uint8, scale_factor

_WATER_RGB = np.array([175.0, 238.0, 238.0]) / 255.0
_MUD_RGB = np.array([63.0, 42.0, 20.0]) / 255.0

# frost: the original's file list (package data in atspectrum/frost/, Apache-2.0, see its README.md); per image its
# randint(5) draws one of the first FROST_CHOICES, which is shrunk by FROST_RESIZE (OpenCV INTER_LINEAR)
FROST_DIR = "frost"
FROST_FILES: tuple[str, ...] = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg")
FROST_CHOICES = 5
FROST_RESIZE = 0.2


# ---------------------------------------------------------------------------------------------------------------
# Helpers: plasma fractal (fog), OpenCV equalizeHist and box blur (spatter), frost photographs
# ---------------------------------------------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------------------------------------------
# The corruptions
# ---------------------------------------------------------------------------------------------------------------
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
