"""Checks of the inputs a run reads, not only its configuration: the dataset files, the prepared test rows, a
configured CIFAR-10-C directory. They import :mod:`atspectrum.data` (and torch, for :func:`prepared_test_rows`)
lazily, inside the functions, so that importing :mod:`atspectrum.config` stays torch-free.
"""

from __future__ import annotations

import os

from atspectrum import imagefolder
from atspectrum.config import datasets, extra_attack_checks
from atspectrum.config.architectures import check_architectures
from atspectrum.config.grid import corruptions_enabled
from atspectrum.config.schema import ConfigError
from atspectrum.specs import DataError


def check_dataset(data: dict, files: bool = False) -> None:
    """The dataset can be found: ``data.root`` exists (with ``files``: and holds every file, all missing ones named
    at once) or the dataset has a default location, unless ``data.download`` is set."""
    from atspectrum import data as datamod

    root, name = data.get("root"), data["dataset"]
    if name == datasets.IMAGEFOLDER:
        _check_imagefolder(data)
        return
    if data.get("download"):
        return
    if root is not None:
        if not os.path.isdir(root):
            raise ConfigError(
                f"config key 'data.root': dataset directory {root!r} does not exist and "
                f"data.download is false; point data.root at the {name} files or set "
                f"data.download: true"
            )
        missing = missing_dataset_files(name, root) if files else []
        if missing:
            raise ConfigError(
                f"config key 'data.root': {len(missing)} {name} file(s) missing under {root!r}: "
                f"{', '.join(missing)}; point data.root at the {name} files or set data.download: true"
            )
        return
    if datamod.default_root(name) is None:
        hint = {
            "fashion_mnist": "install Debian's dataset-fashion-mnist package (apt-get install dataset-fashion-mnist)",
            "svhn": f"set it to a directory holding {' and '.join(datamod.SVHN_FILES.values())}",
            "cifar100": f"set it to a directory holding {datamod.CIFAR100_DIRNAME}",
        }.get(name, "set it to a directory holding cifar-10-batches-py")
        raise ConfigError(
            f"config key 'data.root' is not set and {name} has no default location; {hint}, or set data.download: true"
        )


def _check_imagefolder(data: dict) -> None:
    """An ImageFolder: ``data.root`` set and laid out as ``train/`` and ``test/`` class folders with images (the
    folders are scanned: cheap, and the plan needs the classes), nothing to download."""
    if data.get("download"):
        raise ConfigError(
            "config key 'data.download': an ImageFolder has nothing to download; set it to false and data.root to "
            "your images"
        )
    try:
        files = imagefolder.layout(data.get("root") or "")["files"]
    except DataError as exc:
        raise ConfigError(f"config key 'data.root': {exc}") from None
    n_train, n_test = len(files["train"]), len(files["test"])
    for key, wanted, have, what in (
        ("val_size", data.get("val_size") or 0, n_train - 1, f"of its {n_train} training images (one must be left)"),
        ("train_size", data.get("train_size"), n_train - (data.get("val_size") or 0), "training images left"),
        ("test_size", data.get("test_size"), n_test, "test images"),
    ):
        if wanted is not None and wanted > have:
            raise ConfigError(
                f"config key 'data.{key}': {wanted} is more than the {have} {what} under {data['root']!r}; lower it"
            )


def _fixed_files(name: str, root: str) -> list[str] | None:
    """The files a dataset with a fixed layout reads under ``root`` (None for Fashion-MNIST, whose layouts vary):
    CIFAR-10's python batches, CIFAR-100's two pickles, SVHN's two ``.mat`` files."""
    from atspectrum import data as datamod

    if name == "cifar10":
        names = [f"data_batch_{b}" for b in range(1, 6)] + ["test_batch", "batches.meta"]
        return [os.path.join(root, datamod.CIFAR10_DIRNAME, f) for f in names]
    if name == "cifar100":
        return [os.path.join(root, datamod.CIFAR100_DIRNAME, f) for f in ("train", "test")]
    if name == "svhn":
        return [os.path.join(root, f) for f in datamod.SVHN_FILES.values()]
    return None


def missing_dataset_files(name: str, root: str) -> list[str]:
    """The dataset files the data preparation reads that ``root`` lacks (every one): CIFAR-10's python batches
    under ``<root>/cifar-10-batches-py``; CIFAR-100's ``train`` and ``test`` under ``<root>/cifar-100-python``;
    SVHN's two ``.mat`` files in ``root``; Fashion-MNIST's four idx files (``.gz`` or not) in ``root`` or
    torchvision's ``<root>/FashionMNIST/raw`` (or its processed ``.pt`` files)."""
    from atspectrum import data as datamod

    if name == datasets.IMAGEFOLDER:
        return [d for d in (imagefolder.split_dir(root, s) for s in imagefolder.SPLIT_DIRS) if not os.path.isdir(d)]
    fixed = _fixed_files(name, root)
    if fixed is not None:
        return [p for p in fixed if not os.path.isfile(p)]
    tv = os.path.join(root, "FashionMNIST")
    if all(os.path.isfile(os.path.join(tv, "processed", f)) for f in ("training.pt", "test.pt")):
        return []
    found = {**datamod.find_fashion_sources(os.path.join(tv, "raw")), **datamod.find_fashion_sources(root)}
    return [os.path.join(root, f"{stem}[.gz]") for stem in datamod.FASHION_FILES if stem not in found]


def dataset_inputs(data: dict) -> list[str]:
    """The dataset files the data preparation reads, as far as they exist now. The preparation records them (size
    and modification time) in the prepared arrays; a run's start moves arrays whose files were replaced aside
    (``*.stale``, :mod:`atspectrum.planning.heal`), so the data is prepared again and what depends on it reruns. A
    missing one is named by the checks before the first job. Empty with ``data.download`` (the files appear during
    the preparation)."""
    from atspectrum import data as datamod

    if data.get("download"):  # the files appear during the preparation: declaring them would rerun it once more
        return []
    if data["dataset"] == datasets.IMAGEFOLDER:  # its folders: images added, removed or renamed
        return imagefolder.directories(data["root"]) if data.get("root") else []
    root = data.get("root") or datamod.default_root(data["dataset"])
    if root is None or not os.path.isdir(root):
        return []
    fixed = _fixed_files(data["dataset"], root)
    if fixed is not None:
        return [p for p in fixed if os.path.isfile(p)]
    tv = os.path.join(root, "FashionMNIST")
    processed = [os.path.join(tv, "processed", f) for f in ("training.pt", "test.pt")]
    if all(os.path.isfile(p) for p in processed):
        return processed
    found = {**datamod.find_fashion_sources(os.path.join(tv, "raw")), **datamod.find_fashion_sources(root)}
    return sorted(found.values())


def corruption_inputs(config: dict) -> list[str]:
    """The files of a configured CIFAR-10-C directory the corruption evaluation reads (each configured corruption's
    ``.npy`` and ``labels.npy``), as far as they exist now: declared as inputs, so replacing one reruns the
    corruption evaluations (and only them) and their aggregates; a missing one is named before the first job
    (:func:`check_corruptions`)."""
    from atspectrum.data import cifar10c

    if not corruptions_enabled(config) or config["corruptions"]["root"] is None:
        return []
    root = config["corruptions"]["root"]
    names = [f"{n}.npy" for n in config["corruptions"]["names"]] + [cifar10c.LABELS_FILE]
    return [p for p in (os.path.join(root, n) for n in names) if os.path.isfile(p)]


def prepared_test_rows(config: dict, prepared_test: str | None = None):
    """(source index, labels) of the prepared test set's rows: read from ``prepared_test`` when it exists, else
    computed as the data preparation will (the dataset's test split, then the seeded ``data.test_size`` subset);
    None with ``data.download`` before a download. A dataset that cannot be read raises ConfigError."""
    import torch

    from atspectrum import data as datamod

    data = config["data"]
    if prepared_test is not None and os.path.exists(prepared_test):
        _, labels, index = datamod.load_prepared_rows(prepared_test)
        if data["test_size"] in (None, len(index)):  # else data.test_size changed: prepare_data will run again
            return index, labels.numpy()
    if data.get("download"):
        return None
    check_dataset(data, files=True)
    try:
        _, labels = datamod.load(data["dataset"], data["root"], "test")
        # the same seeded subset data.prepare draws (data.test_size)
        index = datamod.subset(
            torch.arange(len(labels), dtype=torch.int64),
            data["test_size"],
            "test_size",
            config["data"]["seed"],
            "test examples",
        )
    except datamod.DataError as exc:
        key = "data.test_size" if "test_size" in str(exc) else "data.root"
        raise ConfigError(f"config key '{key}': {exc}") from None
    return index.numpy(), labels[index].numpy()


def check_inputs(config: dict, prepared_test: str | None = None) -> None:
    """Everything later jobs read from the inputs, checked before the first job (the Snakefile's onstart): the
    dataset files (every missing one named), ``data.test_size`` against the test split, and a configured CIFAR-10-C
    directory (:func:`check_corruptions`) against the test images it must pair with."""
    if not (prepared_test and os.path.exists(prepared_test)):
        check_dataset(config["data"], files=True)
    check_corruptions(config, prepared_test_rows(config, prepared_test) if corruptions_enabled(config) else None)


def check_before_jobs(config: dict, local: bool) -> None:
    """What the workflow's ``onstart`` checks before the first job (not in a dry run, which only plans): the inputs
    (:func:`check_inputs`, against the prepared test split once it exists), the architectures of the user's
    (:func:`~atspectrum.config.architectures.check_architectures`), the attacks of the user's
    (:func:`~atspectrum.config.extra_attack_checks.check_constructible`) and, when the jobs run on this machine
    (``local``), that a CUDA device asked for exists (on SLURM each job checks its own). Raises :class:`ConfigError`
    naming the key. A Snakefile that imports the workflow as a module calls it from its own ``onstart`` (Snakemake
    runs only the importing Snakefile's)."""
    from atspectrum.runtime import paths

    root, dataset = paths.run_dir(config["run"]), config["data"]["dataset"]
    splits = [paths.data_file(root, dataset, s) for s in ("train", "val", "test")]
    check_inputs(config, splits[-1] if all(os.path.exists(f) for f in splits) else None)
    check_architectures(config)
    extra_attack_checks.check_constructible(config)
    if local and config["device"].startswith("cuda"):
        from atspectrum.runtime import devices

        try:
            devices.check(config["device"])
        except RuntimeError as exc:
            raise ConfigError(f"config key 'device': {exc}") from None


def check_corruptions(config: dict, test=None) -> None:
    """A configured CIFAR-10-C root must hold every configured corruption, well formed (checked up front), and the
    images the corruption evaluation pairs with the clean ones: ``test`` is (source index, labels) of the prepared
    test rows (:func:`prepared_test_rows`; None: unknown yet). Row ``i`` of each severity block is test image ``i``,
    so every evaluated image's index must lie within a block and its label must agree."""
    import numpy as np

    from atspectrum.data import cifar10c

    if not corruptions_enabled(config):
        return
    root, size = config["corruptions"]["root"], config["corruptions"]["test_size"]
    if test is not None and size is not None and size > len(test[0]):
        raise ConfigError(
            f"config key 'corruptions.test_size': {size} is larger than the {len(test[0])} images of "
            f"the prepared test set; lower corruptions.test_size"
        )
    if root is None:
        return
    if not os.path.isdir(root):
        raise ConfigError(f"config key 'corruptions.root': CIFAR-10-C directory {root!r} does not exist")
    try:
        cifar10c.check(root, config["corruptions"]["names"], datasets.image_shape(config["data"]))
    except cifar10c.CorruptionDataError as exc:
        raise ConfigError(f"config key 'corruptions.root': {exc}") from None
    labels_file = os.path.join(root, cifar10c.LABELS_FILE)
    labels = np.load(labels_file, mmap_mode="r", allow_pickle=False)
    per = len(labels) // 5
    if test is None:  # the test images are not known yet: at least the count must fit
        for key, n in (("corruptions.test_size", size), ("data.test_size", config["data"]["test_size"])):
            if n is not None and n > per:
                raise ConfigError(
                    f"config key '{key}': {n} test images but {labels_file} holds {per} images per "
                    f"severity; lower {key}"
                )
        return
    index, test_labels = (np.asarray(a)[:size] for a in test)
    if len(index) and int(index.max()) >= per:
        key = (
            "data.test_size"
            if config["data"]["test_size"] is not None
            else "corruptions.test_size"
            if size is not None
            else "corruptions.root"
        )
        raise ConfigError(
            f"config key '{key}': the evaluated test images include test image {int(index.max())} "
            f"but {labels_file} holds {per} images per severity (row i of each severity is test image "
            f"i); its corrupted version does not exist. Lower {key} or use the complete CIFAR-10-C"
        )
    wrong = int((np.asarray(labels[:per])[index] != test_labels).sum())
    if wrong:
        raise ConfigError(
            f"config key 'corruptions.root': {labels_file} disagrees with the test split's labels on "
            f"{wrong} of the {len(index)} evaluated test images: it is not the CIFAR-10-C of this "
            f"test split"
        )
