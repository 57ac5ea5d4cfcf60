"""Blur corruptions (numbered by their position in ``CORRUPTIONS``; constants in ``common.CONSTANTS``), and the
centre-zoom and motion-blur operators that ``snow`` (:mod:`atspectrum.corruptions.weather`) reuses:

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
17. ``gaussian_blur``  — ``skimage.filters.gaussian`` semantics (mode 'nearest', truncate 4), done with
    ``scipy.ndimage.gaussian_filter`` on the 4-D batch.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage as ndi

from .common import _float, _gaussian, _linear_weights, _to_uint8, scale_factor


# ---------------------------------------------------------------------------------------------------------------
# Operators: centre zoom (zoom_blur, snow), ImageMagick motion blur (motion_blur, snow), anti-aliased disk
# ---------------------------------------------------------------------------------------------------------------
def _zoom_rows(n_in: int, factor: float, n_keep: int) -> np.ndarray:
    """Linear-interpolation matrix (n_keep × n_in) of ``scipy.ndimage.zoom(order=1)`` along one axis, restricted to
    the centred ``n_keep`` output samples (the ones ``clipped_zoom`` keeps)."""
    n_out = int(round(n_in * factor))  # scipy's output length
    scale = (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0  # scipy's grid_mode=False coordinate mapping
    start = (n_out - n_keep) // 2
    pos = np.arange(start, start + n_keep) * scale
    lo = np.clip(np.floor(pos).astype(np.int64), 0, n_in - 1)
    return _linear_weights(lo, pos - lo, n_in)


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
    """ImageMagick MotionBlurImage semantics on N×C×H×W floats, one angle per image (see the module docstring, 6.)."""
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


# ---------------------------------------------------------------------------------------------------------------
# The corruptions
# ---------------------------------------------------------------------------------------------------------------
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


def _gaussian_blur(images, c, rng):
    s = scale_factor(*images.shape[2:])
    return _to_uint8(_gaussian(_float(images), c * s))
