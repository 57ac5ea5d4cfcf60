"""Dataset sources: where CIFAR-10, CIFAR-100, SVHN, Fashion-MNIST and an ImageFolder are (reading them:
:mod:`.readers`; prepared splits: :mod:`.prepared`).

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

import os
import subprocess
from typing import Optional

import numpy as np

from atspectrum.specs import DataError

__all__ = [
    "CIFAR10_DIRNAME",
    "CIFAR100_DIRNAME",
    "SVHN_FILES",
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
    "resolve_root",
]


DATASETS = ("cifar10", "cifar100", "fashion_mnist", "imagefolder", "svhn")
SPLITS = ("train", "test")

# Where Debian's `dataset-fashion-mnist` installs its files; used when dpkg
# cannot tell us (module-level so tests can point it elsewhere).
DEBIAN_FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
DEBIAN_FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"

CIFAR10_DIRNAME = "cifar-10-batches-py"
# CIFAR-100's python version (torchvision's layout): one pickled dict per split (`train`, `test`) with `data` (uint8
# N×3072, channel-major rows of 32×32 images) and `fine_labels` (the 100 classes)
CIFAR100_DIRNAME = "cifar-100-python"
CIFAR100_SIZES = {"train": 50_000, "test": 10_000}

# SVHN's cropped-digits format (http://ufldl.stanford.edu/housenumbers/, torchvision's layout): one MATLAB file per
# split, `X` uint8 32×32×3×N and `y` N×1 with labels 1..10, 10 standing for the digit 0
SVHN_FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat"}

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
    if name == "cifar100":
        return (
            f"set data.root to a directory containing {CIFAR100_DIRNAME}/ (the extracted cifar-100-python.tar.gz "
            "from https://www.cs.toronto.edu/~kriz/cifar.html), or set data.download: true to let torchvision "
            "download it"
        )
    if name == "imagefolder":
        return (
            "set data.root to a directory with train/ and test/, each holding one folder of images per class "
            "(torchvision's ImageFolder layout; there is nothing to download)"
        )
    if name == "svhn":
        return (
            f"set data.root to a directory holding {' and '.join(SVHN_FILES.values())} (SVHN's cropped digits from "
            "http://ufldl.stanford.edu/housenumbers/, torchvision's layout), or set data.download: true to let "
            "torchvision download them"
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
