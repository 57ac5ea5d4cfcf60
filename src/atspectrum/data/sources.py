"""Dataset sources: CIFAR-10 and Fashion-MNIST files, found, checked and read (prepared splits: :mod:`.prepared`).

All parsing of the original dataset files goes through torchvision's readers
(``torchvision.datasets.CIFAR10`` / ``torchvision.datasets.FashionMNIST``).
This module adds:

* locating the data (explicit root, Debian's ``dataset-fashion-mnist`` package,
  or a download cache),
* adapting the flat directory of ``*-ubyte.gz`` files that Debian installs to the
  ``<root>/FashionMNIST/raw/`` layout torchvision expects (staged in a writable
  cache, since the system directory is read-only),
* clear :class:`DataError` messages instead of torchvision's generic ones.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import shutil
import struct
import subprocess
import zlib
from typing import Optional

import numpy as np
import torch

from atspectrum.runtime import io
from atspectrum.specs import DataError

__all__ = [
    "CIFAR10_DIRNAME",
    "DataError",
    "DATASETS",
    "SPLITS",
    "DEBIAN_FASHION_MNIST_DIR",
    "DEBIAN_FASHION_MNIST_PACKAGE",
    "FASHION_FILES",
    "cache_dir",
    "check_count",
    "check_name",
    "default_root",
    "find_fashion_sources",
    "load",
    "resolve_root",
]


DATASETS = ("cifar10", "fashion_mnist")
SPLITS = ("train", "test")

# Where Debian's `dataset-fashion-mnist` installs its files; used when dpkg
# cannot tell us (module-level so tests can point it elsewhere).
DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
DEBIAN_FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"

CIFAR10_DIRNAME = "cifar-10-batches-py"

# The four Fashion-MNIST idx files (names without the .gz suffix), with the
# idx "magic" number and the number of dimensions of each.
FASHION_FILES = {
    "train-images-idx3-ubyte": (2051, 3),
    "train-labels-idx1-ubyte": (2049, 1),
    "t10k-images-idx3-ubyte": (2051, 3),
    "t10k-labels-idx1-ubyte": (2049, 1),
}
_FASHION_SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_FASHION_IMAGE_SIDE = 28

_NPZ_KEYS = ("images", "labels", "index")


# --------------------------------------------------------------------------- #
# small helpers
# --------------------------------------------------------------------------- #
def check_name(name: str) -> str:
    if name not in DATASETS:
        raise DataError(
            f"unknown dataset {name!r}: allowed values are {', '.join(DATASETS)} (set data.name to one of them)"
        )
    return name


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise DataError(f"unknown split {split!r}: allowed values are {', '.join(SPLITS)}")
    return split


def check_count(value, key: str, *, allow_none: bool = False) -> Optional[int]:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DataError(f"{key} must be a non-negative integer, got {value!r}")
    value = int(value)
    if value < 0:
        raise DataError(f"{key} must be a non-negative integer, got {value}")
    return value


def cache_dir(name: Optional[str] = None) -> str:
    """Base cache directory (``$ATSPECTRUM_CACHE`` or ``~/.cache/atspectrum``),
    or the per-dataset subdirectory when ``name`` is given. Not created here."""
    base = os.environ.get("ATSPECTRUM_CACHE") or os.path.join("~", ".cache", "atspectrum")
    base = os.path.abspath(os.path.expanduser(base))
    return os.path.join(base, name) if name else base


def _install_hint(name: str) -> str:
    if name == "fashion_mnist":
        return (
            f"install it with `apt-get install {DEBIAN_FASHION_MNIST_PACKAGE}` "
            f"(files go to {DEBIAN_FASHION_MNIST_DIR}), or set data.root to a directory "
            "holding the four Fashion-MNIST idx files (train-images-idx3-ubyte.gz, "
            "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz; "
            "gzipped or not, flat or in torchvision's FashionMNIST/raw/ layout), "
            "or set data.download: true to let torchvision download it"
        )
    return (
        f"set data.root to a directory containing {CIFAR10_DIRNAME}/ (the extracted "
        "cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html), "
        "or set data.download: true to let torchvision download it"
    )


# --------------------------------------------------------------------------- #
# locating the data
# --------------------------------------------------------------------------- #
def default_root(name: str) -> Optional[str]:
    """System location of dataset ``name`` or None.

    fashion_mnist: the directory where Debian's ``dataset-fashion-mnist``
    installed ``train-images-idx3-ubyte.gz`` (asked from ``dpkg -L``, falling
    back to :data:`DEBIAN_FASHION_MNIST_DIR`). cifar10: always None.
    """
    check_name(name)
    if name != "fashion_mnist":
        return None
    marker = "train-images-idx3-ubyte.gz"
    try:
        proc = subprocess.run(
            ["dpkg", "-L", DEBIAN_FASHION_MNIST_PACKAGE],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        proc = None  # dpkg missing (non-Debian system) or not runnable
    if proc is not None and proc.returncode == 0:
        for line in proc.stdout.splitlines():
            line = line.strip()
            if os.path.basename(line) == marker and os.path.isfile(line):
                return os.path.dirname(line)
    if os.path.isfile(os.path.join(DEBIAN_FASHION_MNIST_DIR, marker)):
        return DEBIAN_FASHION_MNIST_DIR
    return None


def resolve_root(name: str, root: Optional[str], download: bool) -> str:
    """Directory to read dataset ``name`` from.

    An explicit ``root`` must exist, unless ``download`` is true (then it is
    created). Without a root: the system location (:func:`default_root`), else
    with ``download`` a cache directory, else :class:`DataError` explaining how
    to obtain the data. An empty string counts as "no root".
    """
    check_name(name)
    if root is not None and str(root) != "":
        path = os.path.abspath(os.path.expanduser(os.fspath(root)))
        if os.path.isdir(path):
            return path
        if os.path.exists(path):
            raise DataError(
                f"data root {path!r} for {name} exists but is not a directory; set data.root to a directory"
            )
        if download:
            try:
                os.makedirs(path, exist_ok=True)
            except OSError as exc:
                raise DataError(f"cannot create data root {path!r} for {name}: {exc}") from exc
            return path
        raise DataError(
            f"data root {path!r} for {name} does not exist. Fix: create it with the data, "
            f"point data.root elsewhere, or {_install_hint(name)}"
        )
    system = default_root(name)
    if system is not None:
        return system
    if download:
        path = cache_dir(name)
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as exc:
            raise DataError(f"cannot create download cache {path!r} for {name}: {exc}") from exc
        return path
    raise DataError(f"no data found for {name} (data.root is not set). To get it: {_install_hint(name)}")


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

    try:
        ds = torchvision.datasets.FashionMNIST(tv_root, train=train, download=tv_download)
    except (RuntimeError, OSError, ValueError, TypeError, AssertionError, EOFError) as exc:
        where = os.path.join(tv_root, "FashionMNIST", "raw")
        what = "download into" if tv_download else "reading"
        raise DataError(
            f"Fashion-MNIST {what} {where!r} failed ({type(exc).__name__}: {exc}); "
            f"files involved: {', '.join(split_files)}. Fix: {_install_hint('fashion_mnist')}"
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
# public loading API
# --------------------------------------------------------------------------- #
def load(
    name: str, root: Optional[str] = None, split: str = "train", download: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a split: ``(images uint8 N×C×H×W, labels int64 N)``."""
    check_name(name)
    _check_split(split)
    path = resolve_root(name, root, download)
    train = split == "train"
    if name == "cifar10":
        return _load_cifar10(path, train, download)
    return _load_fashion_mnist(path, train, download)
