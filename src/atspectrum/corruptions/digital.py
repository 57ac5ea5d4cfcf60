"""Digital corruptions (numbered by their position in ``CORRUPTIONS``; constants in ``common.CONSTANTS``):

11. ``brightness``     — HSV value + c (skimage colour conversion), as the original. On a gray pixel (R = G = B)
    that is exactly ``clip(x + c)``, which gray images get directly.
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
19. ``saturate``       — HSV saturation ``·c0 + c1``, as the original. Gray input (C = 1) is treated as RGB with
    equal channels, transformed, and converted back to luminance. A gray pixel has saturation 0 and CIFAR-10-C's
    saturate severities 1–3 only *scale* saturation (offset 0), so **on gray input saturate is the identity at
    severities 1–3**; severities 4–5 add 0.1 / 0.2 saturation at hue 0 (red), which darkens the luminance by a
    factor ``1 − 0.701·c``. We keep this rather than invent a gray analogue; the tests exempt gray saturate at
    severities 1–3 and say why.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

from .common import _float, _gaussian, _gray, _hsv_apply, _to_uint8


def _brightness(images, c, rng):
    x = _float(images)
    if x.shape[1] == 1:  # HSV value of a gray pixel is the pixel itself
        return _to_uint8(x + c)

    def edit(hsv):
        hsv[..., 2] = np.clip(hsv[..., 2] + c, 0, 1)

    return _to_uint8(_hsv_apply(x, edit))


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


def _saturate(images, c, rng):
    x = _float(images)
    gray = x.shape[1] == 1
    rgb = np.repeat(x, 3, axis=1) if gray else x

    def edit(hsv):
        hsv[..., 1] = np.clip(hsv[..., 1] * c[0] + c[1], 0, 1)

    out = _hsv_apply(rgb, edit)
    return _to_uint8(_gray(out) if gray else out)
