"""A dataset of the user's own images: ``data.dataset: imagefolder`` (torchvision's ImageFolder layout).

``data.root`` holds ``train/`` and ``test/``, each with one folder per class of image files (``.png``, ``.jpg``, ...,
the extensions of :data:`EXTENSIONS`). The classes are the sub-folders of ``train/``, sorted by name (label ``i`` is
the ``i``-th, as torchvision's ``ImageFolder`` numbers them); ``test/`` may lack a class but may not add one.

Read without torch (planning needs the number of classes and channels before any job): :func:`layout` scans the
folders once per run start. The images are read with Pillow by :func:`read_split` (the data preparation), converted
to the dataset's channels (:func:`channels`) and resized to ``data.image_size`` (:func:`fit`).
"""

from __future__ import annotations

import functools
import os

from atspectrum.specs import DataError

SPLIT_DIRS = ("train", "test")
# the image extensions torchvision's ImageFolder reads (IMG_EXTENSIONS), compared case-insensitively
EXTENSIONS = (".bmp", ".jpeg", ".jpg", ".pgm", ".png", ".ppm", ".tif", ".tiff", ".webp")
# Pillow modes without colour: a dataset whose every sampled image has one of them is read with one channel
GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F", "P;L"})


def _is_image(name: str) -> bool:
    return name.lower().endswith(EXTENSIONS) and not name.startswith(".")


def _subdirs(path: str) -> list[str]:
    return sorted(e.name for e in os.scandir(path) if e.is_dir() and not e.name.startswith("."))


def _images(path: str) -> list[str]:
    return sorted(e.name for e in os.scandir(path) if e.is_file() and _is_image(e.name))


def split_dir(root: str, split: str) -> str:
    return os.path.join(root, split)


def check_root(root: str | None) -> str:
    """``root`` (absolute) when it has ``train/`` and ``test/``, and ``train/`` at least two class folders; a
    DataError naming what is missing otherwise."""
    if not root:
        raise DataError("data.dataset imagefolder needs data.root: a directory with train/ and test/ class folders")
    root = os.path.abspath(os.path.expanduser(root))
    missing = [split_dir(root, s) for s in SPLIT_DIRS if not os.path.isdir(split_dir(root, s))]
    if missing:
        raise DataError(
            f"ImageFolder root {root!r} lacks {' and '.join(missing)}: it needs train/ and test/, each with one "
            f"folder of images per class"
        )
    classes = _subdirs(split_dir(root, "train"))
    if len(classes) < 2:
        raise DataError(
            f"ImageFolder {split_dir(root, 'train')!r} has {len(classes)} class folder(s): a classifier needs at "
            f"least two (one folder of images per class)"
        )
    return root


@functools.lru_cache(maxsize=8)
def _layout(root: str, stamp: tuple) -> dict:
    """:func:`layout` of a checked ``root`` whose folders have the modification times of ``stamp``."""
    classes = _subdirs(split_dir(root, "train"))
    extra = sorted(set(_subdirs(split_dir(root, "test"))) - set(classes))
    if extra:
        raise DataError(
            f"ImageFolder {split_dir(root, 'test')!r} has class folder(s) {extra} that {split_dir(root, 'train')!r} "
            f"lacks: the test classes must be training classes ({classes})"
        )
    label = {c: i for i, c in enumerate(classes)}
    files = {}
    for split in SPLIT_DIRS:
        present = [c for c in classes if os.path.isdir(os.path.join(root, split, c))]
        files[split] = [
            (os.path.join(root, split, c, f), label[c]) for c in present for f in _images(os.path.join(root, split, c))
        ]
    empty = sorted(set(classes) - {classes[y] for _, y in files["train"]})
    if empty:
        raise DataError(
            f"ImageFolder class folder(s) {empty} under {split_dir(root, 'train')!r} hold no image "
            f"({', '.join(EXTENSIONS)}): every class needs training images"
        )
    if not files["test"]:
        raise DataError(f"ImageFolder {split_dir(root, 'test')!r} holds no image ({', '.join(EXTENSIONS)})")
    return {"classes": classes, "files": files, "channels": _channels(files["train"])}


def directories(root: str) -> list[str]:
    """The folders of an ImageFolder (``train/``, ``test/`` and every class folder): what the data preparation
    records (:func:`atspectrum.planning.heal.stamps`). A folder's modification time changes when an image in it is
    added, removed or renamed (replaced by ``mv``), so such a change prepares the data again; an image overwritten
    in place under its own name is not noticed."""
    found = []
    for split in SPLIT_DIRS:
        base = split_dir(root, split)
        if os.path.isdir(base):
            found += [base] + [os.path.join(base, c) for c in _subdirs(base)]
    return found


def layout(root: str) -> dict:
    """``{"classes": [names], "files": {split: [(path, label), ...]}, "channels": 1 or 3}`` of the ImageFolder at
    ``root`` (scanned again whenever one of its folders changed; planning asks for it once per model and job)."""
    root = check_root(root)
    stamp = tuple((d, os.stat(d).st_mtime_ns) for d in directories(root))
    return _layout(root, stamp)


def channels(root: str) -> int:
    """1 when the first training image of every class is grayscale (a Pillow mode without colour), else 3: every
    image is read in that mode (``L`` or ``RGB``). Read once per scan of the folders (:func:`layout`)."""
    return layout(root)["channels"]


def _channels(train: list[tuple[str, int]]) -> int:
    """:func:`channels` of the training files: only the first image's header of each class is read."""
    from PIL import Image

    first = {}
    for path, label in train:
        first.setdefault(label, path)
    modes = []
    for path in first.values():
        try:
            with Image.open(path) as im:
                modes.append(im.mode)
        except Exception as exc:  # not an image, truncated header
            raise DataError(f"ImageFolder image {path!r} is unreadable ({type(exc).__name__}: {exc})") from exc
    return 1 if all(m in GRAY_MODES for m in modes) else 3


def info(root: str) -> dict:
    """``{"num_classes", "in_channels"}`` of the ImageFolder at ``root``."""
    return {"num_classes": len(layout(root)["classes"]), "in_channels": channels(root)}


def fit(image, size: int):
    """``image`` (a Pillow image) as ``size``×``size``: its shorter side resized to ``size`` (bilinear, antialiased),
    then the centre cropped to a square (torchvision's ``Resize(size)`` then ``CenterCrop(size)``). An image of that
    size already is returned as it is."""
    from PIL import Image

    w, h = image.size
    if (w, h) == (size, size):
        return image
    # torchvision's sizes: the longer side truncated, the crop's corner rounded
    nw, nh = (size, int(size * h / w)) if w <= h else (int(size * w / h), size)
    image = image.resize((nw, nh), Image.Resampling.BILINEAR)
    left, top = int(round((nw - size) / 2)), int(round((nh - size) / 2))
    return image.crop((left, top, left + size, top + size))


def read_split(root: str, split: str, image_size: int):
    """One split as numpy arrays: images uint8 N×C×size×size (C from :func:`channels`), labels int64; a DataError
    naming the file for an unreadable image."""
    import numpy as np
    from PIL import Image

    found = layout(root)
    files, mode = found["files"][split], "L" if found["channels"] == 1 else "RGB"
    images = np.empty((len(files), 1 if mode == "L" else 3, image_size, image_size), dtype=np.uint8)
    for i, (path, _) in enumerate(files):
        try:
            with Image.open(path) as im:
                pixels = np.asarray(fit(im.convert(mode), image_size), dtype=np.uint8)
        except Exception as exc:  # truncated, not an image, unsupported
            raise DataError(f"ImageFolder image {path!r} is unreadable ({type(exc).__name__}: {exc})") from exc
        images[i] = pixels[None] if mode == "L" else pixels.transpose(2, 0, 1)
    labels = np.asarray([label for _, label in files], dtype=np.int64)
    return images, labels
