"""CIFAR-10-C's on-disk layout: writing our own corrupted sets and reading them (or the real CIFAR-10-C).

Layout of a corruption directory (exactly CIFAR-10-C's, https://zenodo.org/record/2535967):

* ``<root>/<corruption>.npy`` — uint8, shape ``(5·N, H, W, C)`` (NHWC); rows ``[(s-1)·N, s·N)`` hold
  severity ``s``.
  The real CIFAR-10-C has 19 such files of shape ``(50000, 32, 32, 3)``.
* ``<root>/labels.npy`` — integer, shape ``(5·N,)``: the ``N`` labels tiled 5 times (uint8 in the real CIFAR-10-C,
  int64 in what :func:`write` produces).

:func:`load` memory-maps the files (``mmap_mode="r"``, ``allow_pickle=False``) so that a 150 MB file is not read
whole to get one severity block. :func:`check` validates a whole directory up front from the ``.npy`` headers.
Every problem with the files raises :class:`CorruptionDataError` naming the file and what is wrong.
"""

from __future__ import annotations

import os
import zlib
from typing import Iterable, Optional, Sequence

import numpy as np
import torch

from atspectrum.corruptions import CORRUPTIONS, SEVERITIES, corrupt
from atspectrum.corruptions.common import _check_images as _validate_images
from atspectrum.runtime.io import atomic_path

__all__ = ["CorruptionDataError", "LABELS_FILE", "derive_seed", "write", "load", "check"]

LABELS_FILE = "labels.npy"


class CorruptionDataError(Exception):
    """A corruption directory is missing a file or holds a malformed one (the message names the file)."""


def derive_seed(seed: int, name: str, severity: int) -> int:
    """The seed :func:`write` passes to ``corrupt(images, name, severity, seed=...)``: a deterministic 32-bit value
    that differs per (seed, corruption, severity)."""
    state = np.random.SeedSequence([int(seed), zlib.crc32(name.encode()), int(severity)]).generate_state(1)
    return int(state[0])


# ---------------------------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------------------------
def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_names(corruptions: Iterable[str]) -> list[str]:
    names = list(corruptions)
    if not names:
        raise ValueError("corruptions must name at least one corruption")
    for name in names:
        if name not in CORRUPTIONS:
            raise ValueError(f"unknown corruption {name!r}; expected one of {', '.join(CORRUPTIONS)}")
    if len(set(names)) != len(names):
        raise ValueError(f"corruptions contains duplicates: {names}")
    return names


def _check_severities(severities: Iterable[int]) -> list[int]:
    sev = list(severities)
    if not sev:
        raise ValueError("severities must name at least one severity")
    for s in sev:
        if not _is_int(s) or s not in SEVERITIES:
            raise ValueError(f"severities must be integers from 1 to 5, got {s!r}")
    if len(set(sev)) != len(sev):
        raise ValueError(f"severities contains duplicates: {sev}")
    return [int(s) for s in sev]


def _as_numpy(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def write(
    out_dir,
    images,
    labels,
    seed: int = 0,
    corruptions: Sequence[str] = CORRUPTIONS,
    severities: Sequence[int] = SEVERITIES,
) -> list[str]:
    """Corrupt ``images`` (uint8 N×C×H×W, numpy or torch) and write them in CIFAR-10-C's layout under ``out_dir``.

    For each corruption, ``<out_dir>/<corruption>.npy`` gets shape ``(5·N, H, W, C)`` uint8 whose severity-``s``
    block is ``corrupt(images, name, s, seed=derive_seed(seed, name, s))`` in NHWC. Severities not listed in
    ``severities`` keep all-zero blocks (the layout always has 5 blocks; pass the default to get a complete set).
    ``<out_dir>/labels.npy`` gets ``labels`` (1-D, length N, any integer dtype) as int64, tiled 5 times.
    Every file is written to a temporary file in ``out_dir`` and renamed into place only when complete (the
    corrupted arrays are streamed into a memory-mapped temporary ``.npy``, so memory stays bounded).
    Returns the written paths: the corruption files in order, then ``labels.npy``.
    """
    names = _check_names(corruptions)
    sev = _check_severities(severities)
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    imgs = _as_numpy(images)
    lab = _as_numpy(labels)
    _validate_images(imgs)  # the checks corrupt() makes, before any file is created
    n, c, h, w = imgs.shape
    if n == 0:
        raise ValueError("images must hold at least one image, got N = 0")
    if lab.ndim != 1 or lab.shape[0] != n:
        raise ValueError(f"labels must be 1-D with one label per image ({n}), got shape {tuple(lab.shape)}")
    if lab.size and not np.issubdtype(lab.dtype, np.integer):
        raise ValueError(f"labels must be integers, got dtype {lab.dtype}")
    lab = lab.astype(np.int64)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for name in names:
        path = os.path.join(out_dir, f"{name}.npy")
        with atomic_path(path) as tmp:
            # a new memory-mapped .npy starts zero-filled: unrequested severities stay all-zero
            arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(5 * n, h, w, c))
            try:
                for s in sev:
                    block = corrupt(imgs, name, s, seed=derive_seed(seed, name, s))
                    arr[(s - 1) * n : s * n] = block.transpose(0, 2, 3, 1)
                arr.flush()
            finally:
                del arr
            _fsync(tmp)
        written.append(path)
    path = os.path.join(out_dir, LABELS_FILE)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, np.tile(lab, 5), allow_pickle=False)
            fh.flush()
            os.fsync(fh.fileno())
    written.append(path)
    return written


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------------------------------------
# Reading and validation
# ---------------------------------------------------------------------------------------------------------------
def _open(path: str) -> np.ndarray:
    """Memory-map a ``.npy`` file (header read only), or raise CorruptionDataError naming it."""
    if not os.path.isfile(path):
        raise CorruptionDataError(f"{path}: file is missing")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except Exception as exc:  # not an .npy file, truncated, pickled object array, ...
        raise CorruptionDataError(f"{path}: not a readable .npy array ({type(exc).__name__}: {exc})") from exc


def _check_labels(path: str) -> np.ndarray:
    labels = _open(path)
    if labels.ndim != 1:
        raise CorruptionDataError(f"{path}: labels must be 1-D, got shape {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise CorruptionDataError(f"{path}: labels must have an integer dtype, got {labels.dtype}")
    if labels.shape[0] == 0 or labels.shape[0] % 5:
        raise CorruptionDataError(
            f"{path}: labels length {labels.shape[0]} is not a positive multiple of 5 (5 severities × N images)"
        )
    return labels


def _check_images(path: str, n_labels: int) -> np.ndarray:
    arr = _open(path)
    if arr.dtype != np.uint8:
        raise CorruptionDataError(f"{path}: dtype must be uint8, got {arr.dtype}")
    if arr.ndim != 4:
        raise CorruptionDataError(f"{path}: must be 4-D (5·N, H, W, C), got shape {arr.shape}")
    if arr.shape[3] not in (1, 3):
        raise CorruptionDataError(f"{path}: last axis must be the channels (1 or 3, NHWC), got shape {arr.shape}")
    rows = arr.shape[0]
    if rows == 0 or rows % 5:
        raise CorruptionDataError(f"{path}: {rows} rows is not a positive multiple of 5 (5 severities × N images)")
    if rows != n_labels:
        raise CorruptionDataError(
            f"{path}: {rows} rows but {LABELS_FILE} has {n_labels} labels (they must match, one label per row)"
        )
    return arr


def _check_name(name) -> str:
    if not isinstance(name, str) or name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption {name!r}; expected one of {', '.join(CORRUPTIONS)}")
    return name


def check(root, corruptions: Sequence[str] = CORRUPTIONS, image_shape: Optional[tuple] = None) -> None:
    """Validate ``<root>/labels.npy`` and every ``<root>/<corruption>.npy`` from their headers (memory-mapped, no
    pixel data is read). Raises :class:`CorruptionDataError` naming every missing file at once, else the first
    malformed one; files must also agree on the image shape ``(H, W, C)``, and with ``image_shape`` be of that shape
    (the dataset's images: corrupted 32x32x3 images cannot be evaluated by a model of 28x28x1 ones)."""
    root = os.fspath(root)
    names = _check_names(corruptions)
    labels_path = os.path.join(root, LABELS_FILE)
    missing = [p for p in [labels_path] + [os.path.join(root, f"{n}.npy") for n in names] if not os.path.isfile(p)]
    if missing:
        raise CorruptionDataError(
            f"{len(missing)} file(s) missing: " + "; ".join(f"{p}: file is missing" for p in missing)
        )
    n_labels = _check_labels(labels_path).shape[0]
    first_shape: Optional[tuple] = None
    first_path = None
    for name in names:
        path = os.path.join(root, f"{name}.npy")
        shape = _check_images(path, n_labels).shape[1:]
        if image_shape is not None and tuple(shape) != tuple(image_shape):
            raise CorruptionDataError(
                f"{path}: images of shape (H, W, C) = {tuple(shape)}, but the dataset's are {tuple(image_shape)}"
            )
        if first_shape is None:
            first_shape, first_path = shape, path
        elif shape != first_shape:
            raise CorruptionDataError(
                f"{path}: image shape (H, W, C) = {shape} differs from {first_shape} in {first_path}"
            )


def load(
    root, name: str, severity: int, n: Optional[int] = None, rows: Optional[Sequence[int]] = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Severity ``severity`` of corruption ``name`` from ``root``: (uint8 N×C×H×W images, int64 N labels).

    Reads ``<root>/<name>.npy`` and ``<root>/labels.npy`` memory-mapped and copies only the requested block (the
    first ``n`` images of it when ``n`` is given; the images at positions ``rows`` of the block, in that order, when
    ``rows`` is given: the real CIFAR-10-C's row ``k`` of each block is test image ``k``). Works for the real
    CIFAR-10-C (uint8 labels) as for :func:`write`'s output. Raises :class:`CorruptionDataError` naming the file for
    a missing or malformed file or when ``n`` or a row exceeds the images per severity; ``ValueError`` for an
    unknown name, a severity outside 1..5, a negative ``n`` or both ``n`` and ``rows``.
    """
    name = _check_name(name)
    if not _is_int(severity) or severity not in SEVERITIES:
        raise ValueError(f"severity must be an integer from 1 to 5, got {severity!r}")
    severity = int(severity)
    if n is not None and (not _is_int(n) or n < 0):
        raise ValueError(f"n must be None or a non-negative integer, got {n!r}")
    if rows is not None:
        if n is not None:
            raise ValueError("give n (the first n images) or rows (which images), not both")
        rows = np.asarray(rows)
        if rows.ndim != 1 or (rows.size and (not np.issubdtype(rows.dtype, np.integer) or rows.min() < 0)):
            raise ValueError(f"rows must be a 1-D sequence of non-negative integers, got {rows!r}")
    root = os.fspath(root)
    labels_path = os.path.join(root, LABELS_FILE)
    labels = _check_labels(labels_path)
    path = os.path.join(root, f"{name}.npy")
    arr = _check_images(path, labels.shape[0])
    per = arr.shape[0] // 5
    take = per if n is None else int(n)
    if rows is None and take > per:
        raise CorruptionDataError(f"{path}: holds {per} images per severity, {take} were requested")
    if rows is not None and rows.size and rows.max() >= per:
        raise CorruptionDataError(f"{path}: holds {per} images per severity, row {int(rows.max())} was requested")
    start = (severity - 1) * per
    select = slice(start, start + take) if rows is None else start + rows.astype(np.int64)
    try:
        # an explicit copy: for C = 1 the transposed view is already contiguous and would stay memory-mapped
        block = np.array(arr[select].transpose(0, 3, 1, 2), dtype=np.uint8, order="C", copy=True)
        lab = np.asarray(labels[select]).astype(np.int64)
    except (OSError, ValueError) as exc:  # e.g. a file truncated after its header
        raise CorruptionDataError(f"{path}: could not read severity {severity} ({exc})") from exc
    finally:
        del arr, labels
    return torch.from_numpy(block), torch.from_numpy(lab)
