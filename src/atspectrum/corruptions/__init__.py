"""The 19 CIFAR-10-C corruptions (Hendrycks & Dietterich, ICLR 2019), re-implemented on numpy/scipy/scikit-image/Pillow.

``corrupt(images, name, severity, seed)`` takes uint8 ``N×C×H×W`` images (numpy or torch; ``C`` = 1 or 3;
``H, W`` >= 28, not necessarily square) and returns a corrupted copy of the same shape, dtype and type. It is
deterministic in ``(images, name, severity, seed)``: every random draw comes from a ``numpy.random.default_rng``
seeded from ``(seed, crc32(name), severity, chunk)``, never from global RNG state (images are processed in chunks
of ``CHUNK`` images, the chunk index being part of the seed, so memory stays bounded for 50,000-image sets).

Source of every constant: ``ImageNet-C/create_c/make_cifar_c.py`` in github.com/hendrycks/robustness, the script that
generated CIFAR-10-C. The per-severity constants are collected, unchanged, in :data:`CONSTANTS` (defined in
:mod:`atspectrum.corruptions.common`). The code here is a fresh implementation of what that script does, not a copy
of it.

Modules
-------
The corruptions are grouped by Hendrycks & Dietterich's four families. Each family module's docstring describes its
corruptions, their source and every deviation from the original, numbered by their position in :data:`CORRUPTIONS`.

- ``common``   — the names, severities and per-severity constants (:data:`CONSTANTS`), validation, seeding, and the
  helpers the families share (float/uint8 conversion, luminance, HSV editing, Gaussian blur, linear interpolation).
- ``noise``    — 1. ``gaussian_noise``, 2. ``shot_noise``, 3. ``impulse_noise``, 16. ``speckle_noise``.
- ``blur``     — 4. ``defocus_blur``, 5. ``glass_blur``, 6. ``motion_blur``, 7. ``zoom_blur``, 17. ``gaussian_blur``;
  also the centre-zoom and ImageMagick motion-blur operators that ``snow`` reuses.
- ``weather``  — 8. ``snow``, 9. ``frost`` (and its photographs: :data:`FROST_FILES`), 10. ``fog``, 18. ``spatter``.
- ``digital``  — 11. ``brightness``, 12. ``contrast``, 13. ``elastic_transform``, 14. ``pixelate``,
  15. ``jpeg_compression``, 19. ``saturate``.
- ``dispatch`` — :func:`corrupt`: checks the arguments, splits the images into chunks, seeds each chunk's generator
  and calls the corruption ``name`` with its severity's constants.

Image size
----------
The original works on 32×32 images. Constants that are lengths in pixels are multiplied by ``s = min(H, W) / 32``
(``s`` = 1 for 32×32, so the CIFAR constant is used unchanged; ``s`` = 0.875 for 28×28 Fashion-MNIST):
glass-blur sigma (its pixel-shift distance becomes ``max(1, round(1·s))``), motion-blur radius and sigma,
Gaussian-blur sigma, snow's motion-blur radius and sigma, spatter's blur sigmas and its distance clip (20 px),
elastic-transform's three lengths (the original writes them as ``IMSIZE·k`` with ``IMSIZE = 32``; we use
``IMSIZE = min(H, W)``), frost's photograph shrink factor (0.2·s, see ``weather``, 9.). Defocus blur's disk radius
and alias sigma are multiplied by ``max(1, s)`` (see ``blur``, 4.). Pixelate shrinks to ``(int(W·c), int(H·c))``
(the original: ``int(32·c)``). Fog's plasma fractal has side ``2^ceil(log2(max(H, W)))`` (32 for both 28×28 and
32×32) and is cropped to ``H×W``.
Not scaled (relative or per-pixel quantities): noise amplitudes, colour/contrast constants, JPEG quality, zoom-blur
factors, snow's zoom factor.

Grayscale (C = 1)
-----------------
Spatial operations run per channel, so they apply to one channel unchanged. Where the original mixes colours:
``snow`` uses the image itself as its gray version; ``spatter`` and ``frost`` use the luminance
(ITU-R 601: 0.299 R + 0.587 G + 0.114 B, OpenCV's RGB2GRAY weights) of their colours (frost: of the RGB crop of the
photograph, so a gray image gets the luminance of exactly the frost an RGB image of the same size and seed gets);
``brightness`` on a gray pixel (R = G = B) is exactly ``clip(x + c)``; ``saturate`` treats the gray image as RGB
with equal channels, applies the HSV transform and converts back to luminance, so **on gray input saturate is the
identity at severities 1–3** (see ``digital``, 19.).

Common to all corruptions
-------------------------
Images are float64 in [0, 1] while corrupted; the final float → uint8 conversion **rounds**
(the original's ``np.uint8(...)`` cast truncated, a systematic −0.5 gray-level bias; intermediate quantisations that
the original performs — glass blur, snow, spatter — keep its truncation/rounding). Random draws come from a seeded
``Generator``, batch-wise, so the random numbers differ from the original's (it used the global ``np.random``).
"""

from .common import CHUNK, CONSTANTS, CORRUPTIONS, MIN_SIZE, SEVERITIES, scale_factor
from .dispatch import corrupt
from .weather import FROST_CHOICES, FROST_FILES, FROST_RESIZE

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
