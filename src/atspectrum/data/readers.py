"""Reading the original dataset files, with :class:`DataError` messages that name the file and the fix: CIFAR-10
through torchvision's reader (official files only: MD5-checked); CIFAR-100 through a pickle reader that builds
nothing but arrays, lists and dicts (a full-size file must be the official one, by torchvision's MD5; a smaller one,
a subset or a test fixture, is checked for its structure); SVHN's MATLAB files through SciPy's; Fashion-MNIST's idx
files checked and, for Debian's flat directory of ``*-ubyte.gz`` files, staged into the ``FashionMNIST/raw/``
layout torchvision expects (in a writable cache, the system directory being read-only); an ImageFolder's images
through Pillow (:mod:`atspectrum.imagefolder`)."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import shutil
import struct
import zlib
from typing import Optional

import numpy as np
import torch

from atspectrum import imagefolder
from atspectrum.data.sources import (
    _FASHION_IMAGE_SIDE,
    _FASHION_SPLIT_FILES,
    CIFAR10_DIRNAME,
    CIFAR100_DIRNAME,
    CIFAR100_SIZES,
    FASHION_FILES,
    SVHN_FILES,
    DataError,
    _check_split,
    _install_hint,
    cache_dir,
    check_name,
    resolve_root,
)
from atspectrum.runtime import io

__all__ = ["find_fashion_sources", "load"]


# --------------------------------------------------------------------------- #
# CIFAR-10
# --------------------------------------------------------------------------- #
def _cifar10_diagnosis(root: str) -> str:
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import check_integrity

    base = os.path.join(root, CIFAR10_DIRNAME)
    if not os.path.isdir(base):
        return f"directory {base!r} does not exist"
    entries = list(CIFAR10.train_list) + list(CIFAR10.test_list) + [[CIFAR10.meta["filename"], CIFAR10.meta["md5"]]]
    missing, corrupt = [], []
    for filename, md5 in entries:
        fpath = os.path.join(base, filename)
        if not os.path.isfile(fpath):
            missing.append(fpath)
        elif not check_integrity(fpath, md5):
            corrupt.append(fpath)
    parts = []
    if missing:
        parts.append("missing: " + ", ".join(missing))
    if corrupt:
        parts.append(
            "MD5 checksum mismatch (corrupted or not the official CIFAR-10 python files; "
            "delete and re-extract them): " + ", ".join(corrupt)
        )
    return "; ".join(parts) if parts else f"files in {base!r} could not be read"


def _load_cifar10(root: str, train: bool, download: bool):
    import torchvision

    try:
        ds = torchvision.datasets.CIFAR10(root, train=train, download=download)
    except (RuntimeError, OSError, ValueError, EOFError, KeyError, pickle.UnpicklingError) as exc:
        what = "download into" if download else "reading"
        raise DataError(
            f"CIFAR-10 {what} {root!r} failed ({type(exc).__name__}: {exc}). "
            f"Expected directory {os.path.join(root, CIFAR10_DIRNAME)!r}: {_cifar10_diagnosis(root)}. "
            f"Fix: {_install_hint('cifar10')}"
        ) from exc
    data = np.asarray(ds.data)
    if data.dtype != np.uint8 or data.ndim != 4 or data.shape[1:] != (32, 32, 3):
        raise DataError(
            f"CIFAR-10 under {os.path.join(root, CIFAR10_DIRNAME)!r} has unexpected image array "
            f"{data.dtype} {data.shape}; expected uint8 N×32×32×3"
        )
    if len(ds.targets) != data.shape[0]:
        raise DataError(
            f"CIFAR-10 under {os.path.join(root, CIFAR10_DIRNAME)!r}: {data.shape[0]} images but "
            f"{len(ds.targets)} labels"
        )
    images = torch.from_numpy(np.ascontiguousarray(data.transpose(0, 3, 1, 2)))
    labels = torch.as_tensor(np.asarray(ds.targets, dtype=np.int64))
    return images, labels


# --------------------------------------------------------------------------- #
# Fashion-MNIST
# --------------------------------------------------------------------------- #
def _check_idx_file(path: str, stem: str, shown: Optional[str] = None) -> int:
    """Validate an un-gzipped idx file's header and size; return its item count.

    ``shown`` is the name to report (e.g. the original .gz a staged copy came from).
    """
    shown = shown or path
    magic, ndim = FASHION_FILES[stem]
    header_len = 4 + 4 * ndim
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            header = fh.read(header_len)
    except OSError as exc:
        raise DataError(f"cannot read Fashion-MNIST file {shown!r}: {exc}") from exc
    if len(header) < header_len:
        raise DataError(
            f"Fashion-MNIST file {shown!r} is truncated ({size} bytes, shorter than the idx header); "
            "delete it and re-install/re-download the data"
        )
    values = struct.unpack(">" + "I" * (1 + ndim), header)
    if values[0] != magic:
        raise DataError(
            f"Fashion-MNIST file {shown!r} is not an idx file of the expected kind "
            f"(magic {values[0]}, expected {magic}); replace it with the original {stem} file"
        )
    dims = values[1:]
    if ndim == 3 and dims[1:] != (_FASHION_IMAGE_SIDE, _FASHION_IMAGE_SIDE):
        raise DataError(f"Fashion-MNIST file {shown!r} holds {dims[1]}×{dims[2]} images, expected 28×28")
    expected = header_len + int(np.prod(dims))
    if size < expected:
        raise DataError(
            f"Fashion-MNIST file {shown!r} is truncated: its header announces {dims[0]} items "
            f"({expected} bytes) but it has {size} bytes; delete it and re-install/re-download the data"
        )
    if size > expected:
        raise DataError(
            f"Fashion-MNIST file {shown!r} has {size - expected} unexpected trailing bytes "
            f"(header announces {dims[0]} items); replace it with the original {stem} file"
        )
    return dims[0]


def find_fashion_sources(directory: str) -> dict:
    """Map each idx stem to an existing file in ``directory`` (plain preferred over .gz)."""
    found = {}
    for stem in FASHION_FILES:
        for candidate in (stem, stem + ".gz"):
            path = os.path.join(directory, candidate)
            if os.path.isfile(path):
                found[stem] = path
                break
    return found


def _atomic_symlink(target: str, link: str) -> None:
    if os.path.islink(link) and os.readlink(link) == target:
        return
    tmp = f"{link}.tmp-{os.getpid()}-{os.urandom(4).hex()}"
    os.symlink(target, tmp)
    os.replace(tmp, link)


def _source_stamp(path: str) -> dict:
    st = os.stat(path)
    return {"source": path, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _stage_fashion(directory: str, sources: dict) -> str:
    """Expose the (flat) ``sources`` as ``<staged>/FashionMNIST/raw/<stem>``.

    Plain idx files are symlinked; gzipped ones are decompressed (atomically,
    re-done whenever the source's size or mtime changes). Returns ``<staged>``,
    the root to hand to torchvision.
    """
    src_dir = os.path.realpath(directory)
    key = hashlib.sha256(src_dir.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    staged_root = os.path.join(cache_dir("fashion_mnist"), "staged", key)
    raw = os.path.join(staged_root, "FashionMNIST", "raw")
    try:
        os.makedirs(raw, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create staging directory {raw!r} for Fashion-MNIST files from {src_dir!r}: {exc}. "
            "Set ATSPECTRUM_CACHE to a writable directory"
        ) from exc
    for stem, src in sources.items():
        src = os.path.abspath(src)
        dest = os.path.join(raw, stem)
        stamp_path = dest + ".source.json"
        if not src.endswith(".gz"):
            _atomic_symlink(src, dest)
            if os.path.exists(stamp_path):
                os.unlink(stamp_path)
            _check_idx_file(dest, stem, shown=src)
            continue
        stamp = _source_stamp(src)
        try:
            with open(stamp_path) as fh:
                up_to_date = json.load(fh) == stamp and os.path.isfile(dest) and not os.path.islink(dest)
        except (OSError, ValueError):
            up_to_date = False
        if not up_to_date:
            try:
                with io.atomic_path(dest) as tmp:
                    with open(tmp, "wb") as out, gzip.open(src, "rb") as inp:
                        shutil.copyfileobj(inp, out, 1 << 20)
                    _check_idx_file(tmp, stem, shown=src)
            except (OSError, EOFError, zlib.error) as exc:
                raise DataError(
                    f"cannot decompress Fashion-MNIST file {src!r} ({type(exc).__name__}: {exc}); "
                    "it is truncated or corrupt: re-install/re-download it"
                ) from exc
            io.write_text(stamp_path, json.dumps(stamp))
    return staged_root


def _load_fashion_mnist(root: str, train: bool, download: bool):
    import torchvision

    split_files = _FASHION_SPLIT_FILES["train" if train else "test"]
    tv_raw = os.path.join(root, "FashionMNIST", "raw")
    tv_processed = os.path.join(root, "FashionMNIST", "processed")

    tv_root = None
    tv_download = False
    # 1. torchvision's own layout: un-gzipped files in <root>/FashionMNIST/raw
    #    (or torchvision's legacy processed/*.pt cache, which it prefers).
    if all(os.path.isfile(os.path.join(tv_processed, f)) for f in ("training.pt", "test.pt")):
        tv_root = root
    elif all(os.path.isfile(os.path.join(tv_raw, stem)) for stem in FASHION_FILES):
        for stem in FASHION_FILES:
            _check_idx_file(os.path.join(tv_raw, stem), stem)
        tv_root = root
    else:
        # 2. a flat directory of the four files (gzipped or not): Debian's layout,
        #    or a raw/ folder holding only the .gz archives.
        best = {}
        for directory in (root, tv_raw):
            found = find_fashion_sources(directory)
            if len(found) == len(FASHION_FILES):
                tv_root = _stage_fashion(directory, found)
                break
            if len(found) > len(best):
                best = found
        if tv_root is None:
            if download:
                # 3. let torchvision download into <root>/FashionMNIST/raw
                tv_root, tv_download = root, True
            else:
                missing = [s + "[.gz]" for s in FASHION_FILES if s not in best]
                raise DataError(
                    f"Fashion-MNIST files not found under data root {root!r}: missing "
                    f"{', '.join(missing)} (looked in {root!r} and {tv_raw!r}). Fix: " + _install_hint("fashion_mnist")
                )

    processed = tv_root == root and os.path.isfile(os.path.join(tv_processed, "training.pt"))
    try:
        ds = torchvision.datasets.FashionMNIST(tv_root, train=train, download=tv_download)
    except (RuntimeError, OSError, ValueError, TypeError, AssertionError, EOFError, pickle.UnpicklingError) as exc:
        what = "download into" if tv_download else "reading"
        if processed:  # torchvision reads its legacy cache, one file per split
            where = os.path.join(tv_processed, "training.pt" if train else "test.pt")
            involved = f"file {where} (torchvision's processed cache; delete it to read the raw files instead)"
        else:
            where = os.path.join(tv_root, "FashionMNIST", "raw")
            involved = f"files involved: {', '.join(split_files)}"
        raise DataError(
            f"Fashion-MNIST {what} {where!r} failed ({type(exc).__name__}: {exc}); {involved}. "
            f"Fix: {_install_hint('fashion_mnist')}"
        ) from exc
    data, targets = ds.data, ds.targets
    if data.dtype != torch.uint8 or data.dim() != 3 or tuple(data.shape[1:]) != (28, 28):
        raise DataError(f"Fashion-MNIST under {tv_root!r} has unexpected images {data.dtype} {tuple(data.shape)}")
    if targets.shape != (data.shape[0],):
        raise DataError(
            f"Fashion-MNIST under {tv_root!r}: {data.shape[0]} images but {tuple(targets.shape)} labels "
            f"(files {', '.join(split_files)} do not belong together)"
        )
    return data.unsqueeze(1).contiguous(), targets.to(torch.int64)


# --------------------------------------------------------------------------- #
# CIFAR-100
# --------------------------------------------------------------------------- #
# what a pickled CIFAR file may build besides dicts, lists, strings and numbers: numpy arrays (both module paths,
# numpy 1's and numpy 2's); anything else (a payload calling os.system, say) is refused before it runs
_ARRAY_GLOBALS = {
    (module, name)
    for module in ("numpy.core.multiarray", "numpy._core.multiarray")
    for name in ("_reconstruct", "scalar")
} | {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}  # the last: bytes in pickle protocol 2


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ARRAY_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it asks for {module}.{name}: only numpy arrays, lists and dicts are read")


def _md5(path: str) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _load_cifar100(root: str, train: bool, download: bool):
    """One split of CIFAR-100 (the 100 fine labels) from ``<root>/cifar-100-python/{train,test}``."""
    split = "train" if train else "test"
    path = os.path.join(root, CIFAR100_DIRNAME, split)
    if not os.path.isfile(path) and download:
        import torchvision

        torchvision.datasets.CIFAR100(root, train=train, download=True)
    if not os.path.isfile(path):
        raise DataError(f"CIFAR-100 file {path!r} is missing. Fix: {_install_hint('cifar100')}")
    try:
        with open(path, "rb") as fh:
            batch = _ArraysOnly(fh, encoding="latin1").load()
        data, labels = np.asarray(batch["data"]), np.asarray(batch["fine_labels"])
    except Exception as exc:  # not a pickle, truncated, a payload, or without data / fine_labels
        raise DataError(
            f"CIFAR-100 file {path!r} is unreadable ({type(exc).__name__}: {exc}); it must be CIFAR-100's python "
            f"version (a dict with data: uint8 N×3072 and fine_labels). Fix: {_install_hint('cifar100')}"
        ) from exc
    n = data.shape[0] if data.ndim == 2 else -1
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise DataError(f"CIFAR-100 file {path!r}: data must be uint8 N×3072, got {data.dtype} {data.shape}")
    if labels.shape != (n,) or not np.isin(labels, np.arange(100)).all():
        raise DataError(f"CIFAR-100 file {path!r}: fine_labels must hold one label in 0..99 per image ({n} images)")
    if n == CIFAR100_SIZES[split]:  # full size: the official file, or a damaged or altered copy of it
        import torchvision

        expected = dict(torchvision.datasets.CIFAR100.train_list + torchvision.datasets.CIFAR100.test_list)[split]
        found = _md5(path)
        if found != expected:
            raise DataError(
                f"CIFAR-100 file {path!r} holds {n} images but is not the official file (MD5 {found}, expected "
                f"{expected}): damaged or altered. Fix: {_install_hint('cifar100')}"
            )
    images = torch.from_numpy(np.ascontiguousarray(data.reshape(n, 3, 32, 32)))
    return images, torch.from_numpy(labels.astype(np.int64))


# --------------------------------------------------------------------------- #
# SVHN
# --------------------------------------------------------------------------- #
def _load_svhn(root: str, train: bool, download: bool):
    """One split of SVHN's cropped digits from ``<root>/{train,test}_32x32.mat`` (read by SciPy, no pickle; with
    ``download`` fetched by torchvision first when absent): uint8 N×3×32×32 images, labels 0..9 (the file's 10 is
    the digit 0)."""
    split = "train" if train else "test"
    path = os.path.join(root, SVHN_FILES[split])
    if not os.path.isfile(path) and download:
        import torchvision

        torchvision.datasets.SVHN(root, split=split, download=True)
    if not os.path.isfile(path):
        raise DataError(f"SVHN file {path!r} is missing. Fix: {_install_hint('svhn')}")
    try:
        from scipy.io import loadmat

        mat = loadmat(path, variable_names=["X", "y"])
        images, labels = mat["X"], mat["y"]
    except Exception as exc:  # not a MATLAB file, truncated, or without X / y
        raise DataError(
            f"SVHN file {path!r} is unreadable ({type(exc).__name__}: {exc}); it must be SVHN's cropped-digits "
            f"format (X: uint8 32x32x3xN, y: N labels 1..10). Fix: {_install_hint('svhn')}"
        ) from exc
    labels = np.asarray(labels).reshape(-1)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[:3] != (32, 32, 3):
        raise DataError(f"SVHN file {path!r}: X must be uint8 of shape 32x32x3xN, got {images.dtype} {images.shape}")
    if labels.shape[0] != images.shape[3] or not np.isin(labels, np.arange(1, 11)).all():
        seen = f"{labels.min():g}..{labels.max():g}" if labels.size else "none"
        raise DataError(
            f"SVHN file {path!r}: y must hold one label in 1..10 per image ({images.shape[3]} images), got "
            f"{labels.shape[0]} labels in {seen}"
        )
    x = torch.from_numpy(np.ascontiguousarray(images.transpose(3, 2, 0, 1)))
    return x, torch.from_numpy(labels.astype(np.int64) % 10)


# --------------------------------------------------------------------------- #
# public loading API
# --------------------------------------------------------------------------- #
def load(
    name: str, root: Optional[str] = None, split: str = "train", download: bool = False, image_size: int = 32
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a split: ``(images uint8 N×C×H×W, labels int64 N)``; ``image_size`` is the side an ImageFolder's images
    are resized to (the other datasets have their own)."""
    check_name(name)
    _check_split(split)
    if name == "imagefolder":
        if download:
            raise DataError(f"data.download: an ImageFolder has nothing to download. Fix: {_install_hint(name)}")
        images, labels = imagefolder.read_split(root, split, int(image_size))  # a missing root: named there
        return torch.from_numpy(images), torch.from_numpy(labels)
    path = resolve_root(name, root, download)
    train = split == "train"
    if name == "cifar10":
        return _load_cifar10(path, train, download)
    if name == "svhn":
        return _load_svhn(path, train, download)
    if name == "cifar100":
        return _load_cifar100(path, train, download)
    return _load_fashion_mnist(path, train, download)
