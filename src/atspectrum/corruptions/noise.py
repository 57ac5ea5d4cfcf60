"""Noise corruptions (numbered by their position in ``CORRUPTIONS``; constants in ``common.CONSTANTS``):

1. ``gaussian_noise``  — x + N(0, c²). As the original.
2. ``shot_noise``      — Poisson(x·c)/c. As the original.
3. ``impulse_noise``   — salt & pepper as ``skimage.util.random_noise(mode='s&p', amount=c)``: each value (per
   channel) is replaced with probability c, by 1 or 0 with equal probability. Drawn directly with our generator.
16. ``speckle_noise``  — x + x·N(0, c²), as the original.
"""

from __future__ import annotations

from .common import _float, _to_uint8


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
