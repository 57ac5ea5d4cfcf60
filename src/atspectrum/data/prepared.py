"""Prepared splits: the seeded train / validation / test subsets of a dataset written as ``.npz`` files
(``images`` uint8 N×C×H×W, ``labels`` int64, ``index`` each row's position in the source split), read back checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from typing import Optional

import numpy as np
import torch

from atspectrum.data.readers import load
from atspectrum.data.sources import check_count, check_name
from atspectrum.runtime import io
from atspectrum.specs import DataError, search_part_size

__all__ = [
    "load_prepared",
    "load_prepared_rows",
    "prepare",
    "split_train_val",
    "split_val_parts",
    "subset",
    "to_float",
    "write_rows",
]


def _derived_generator(seed: int, purpose: str) -> torch.Generator:
    """A torch generator for an independent stream derived from ``seed``."""
    digest = hashlib.sha256(f"{int(seed)}:{purpose}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)


def split_train_val(n: int, val_size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded split of ``range(n)`` into sorted, disjoint (train_idx, val_idx)."""
    n = check_count(n, "n")
    val_size = check_count(val_size, "val_size")
    if val_size >= n:
        raise DataError(
            f"val_size={val_size} must be smaller than the {n} available training examples; lower data.val_size"
        )
    gen = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(n, generator=gen)
    val_idx = torch.sort(perm[:val_size]).values.to(torch.int64)
    train_idx = torch.sort(perm[val_size:]).values.to(torch.int64)
    return train_idx, val_idx


def split_val_parts(n: int, search_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded split of a validation split's rows ``range(n)`` into sorted, disjoint (select_rows, search_rows) that
    cover it: ``round(search_fraction * n)`` random rows for the overdesign search, the rest for checkpoint
    selection. Its stream is derived from ``seed`` apart from the train/val split's (same seed, other purpose)."""
    n = check_count(n, "n")
    size = search_part_size(n, search_fraction)
    perm = torch.randperm(n, generator=_derived_generator(seed, "search_val"))
    return torch.sort(perm[size:]).values, torch.sort(perm[:size]).values


def write_rows(src, dst, rows) -> int:
    """Write the rows ``rows`` (positions) of the prepared file ``src`` to ``dst``, keeping each row's source
    ``index``; returns how many were written."""
    images, labels, index = load_prepared_rows(src)
    rows = np.asarray(rows, dtype=np.int64)
    os.makedirs(os.path.dirname(os.fspath(dst)) or ".", exist_ok=True)
    _write_npz_atomic(os.fspath(dst), images.numpy()[rows], labels.numpy()[rows], index[rows])
    return int(len(rows))


def subset(indices: torch.Tensor, size: Optional[int], key: str, seed: int, what: str) -> torch.Tensor:
    """A seeded random subset of ``size`` of ``indices`` (sorted; all of them when ``size`` is None); ``key`` names
    the config key in errors and the seed's purpose."""
    size = check_count(size, key, allow_none=True)
    if size is None:
        return indices
    if size > len(indices):
        raise DataError(f"{key}={size} is larger than the {len(indices)} {what} available; lower {key} (data.{key})")
    perm = torch.randperm(len(indices), generator=_derived_generator(seed, key))
    return torch.sort(indices[perm[:size]]).values


def _write_npz_atomic(
    path: str, images: np.ndarray, labels: np.ndarray, index: np.ndarray, sources: str = "{}"
) -> None:
    with io.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, images=images, labels=labels, index=index, sources=np.str_(sources))
        fh.flush()
        os.fsync(fh.fileno())


def prepare(
    name: str,
    root: Optional[str],
    download: bool,
    out_dir: str,
    val_size: int,
    seed: int,
    train_size: Optional[int] = None,
    test_size: Optional[int] = None,
    sources: Optional[dict] = None,
    image_size: int = 32,
) -> dict[str, int]:
    """Write ``out_dir/{train,val,test}.npz`` and return their sizes.

    ``sources`` (the dataset files read, each with its size and modification time) is stored in every file as
    ``sources`` (JSON): a run's start compares it with the files now (:mod:`atspectrum.planning.heal`), so a replaced
    dataset file prepares the data again.
    The source train split is split into train/val (:func:`split_train_val`);
    then ``train_size`` / ``test_size`` optionally keep a seeded random subset of
    the train part / test split (``image_size``: the side an ImageFolder's images
    are resized to). Each file has ``images`` (uint8 N×C×H×W),
    ``labels`` (int64) and ``index`` (int64 row in the original source split).
    """
    check_name(name)
    tr_images, tr_labels = load(name, root, "train", download, image_size)
    te_images, te_labels = load(name, root, "test", download, image_size)
    train_idx, val_idx = split_train_val(len(tr_labels), val_size, seed)
    train_idx = subset(train_idx, train_size, "train_size", seed, "training examples left after the validation split")
    test_idx = subset(torch.arange(len(te_labels), dtype=torch.int64), test_size, "test_size", seed, "test examples")
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create output directory {out_dir!r}: {exc}") from exc
    counts = {}
    for split, images, labels, idx in (
        ("train", tr_images, tr_labels, train_idx),
        ("val", tr_images, tr_labels, val_idx),
        ("test", te_images, te_labels, test_idx),
    ):
        _write_npz_atomic(
            os.path.join(out_dir, f"{split}.npz"),
            images[idx].numpy(),
            labels[idx].numpy().astype(np.int64, copy=False),
            idx.numpy().astype(np.int64, copy=False),
            json.dumps(sources or {}, sort_keys=True),
        )
        counts[split] = int(len(idx))
    return counts


def load_prepared(path) -> tuple[torch.Tensor, torch.Tensor]:
    """Read a file written by :func:`prepare`: ``(images uint8, labels int64)``."""
    images, labels, _ = load_prepared_rows(path)
    return images, labels


def load_prepared_rows(path) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Read a file written by :func:`prepare`: ``(images uint8, labels int64, index)``, ``index`` each row's position
    in the dataset's split (int64; ``arange`` for a file written without one)."""
    path = os.fspath(path)
    fix = "re-run the data preparation step to regenerate it"
    try:
        loaded = np.load(path, allow_pickle=False)
    except FileNotFoundError as exc:
        raise DataError(f"prepared data file {path!r} does not exist; {fix}") from exc
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(
            f"prepared data file {path!r} is corrupt or unreadable ({type(exc).__name__}: {exc}); {fix}"
        ) from exc
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise DataError(f"{path!r} is a single .npy array, not a prepared .npz archive; {fix}")
    with loaded as npz:
        missing = [k for k in ("images", "labels") if k not in npz.files]
        if missing:
            raise DataError(f"prepared data file {path!r} lacks array(s) {', '.join(missing)}; {fix}")
        try:
            images = npz["images"]
            labels = npz["labels"]
            index = npz["index"] if "index" in npz.files else None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise DataError(
                f"prepared data file {path!r} is corrupt or unreadable ({type(exc).__name__}: {exc}); {fix}"
            ) from exc
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
        raise DataError(
            f"prepared data file {path!r}: 'images' is {images.dtype} {images.shape}, expected uint8 N×C×H×W "
            f"with C in (1, 3); {fix}"
        )
    if labels.dtype != np.int64 or labels.shape != (images.shape[0],):
        raise DataError(
            f"prepared data file {path!r}: 'labels' is {labels.dtype} {labels.shape}, expected int64 "
            f"({images.shape[0]},); {fix}"
        )
    if index is not None and (index.dtype != np.int64 or index.shape != (images.shape[0],)):
        raise DataError(
            f"prepared data file {path!r}: 'index' is {index.dtype} {index.shape}, expected int64 "
            f"({images.shape[0]},); {fix}"
        )
    if index is None:
        index = np.arange(len(labels), dtype=np.int64)
    return torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(np.ascontiguousarray(labels)), index


def to_float(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 images -> float32 in [0, 1]."""
    if images_uint8.dtype != torch.uint8:
        raise TypeError(f"to_float expects a uint8 tensor, got {images_uint8.dtype}")
    return images_uint8.to(torch.float32).div_(255.0)
