"""The up-front input check (config.check_inputs, the Snakefile's onstart): every input error before the first job."""

import copy
import re

import numpy as np
import pytest

from atspectrum import config as C
from atspectrum.data.cifar10c import write

NAMES = ["contrast", "fog"]
BASE = {
    "run": "t",
    "data": {"dataset": "cifar10", "root": None, "val_size": 10},
    "models": {"r": {"arch": "resnet18", "width": 2, "eps": [0, 8]}},
    "overdesign": {"delta": [4, 8]},
    "corruptions": {"names": NAMES},
}


def configured(**changes):
    """BASE validated (no data checks) with ``{"section.key": value}`` changes."""
    cfg = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        section, key = dotted.split(".")
        cfg[section][key] = value
    return C.validate(cfg, check_data=False)


def prepared_test(path, index, labels):
    """A prepared test file as data.prepare writes it: images, labels and each row's source index."""
    n = len(index)
    np.savez(
        path,
        images=np.zeros((n, 3, 32, 32), np.uint8),
        labels=np.asarray(labels, np.int64),
        index=np.asarray(index, np.int64),
    )
    return str(path)


@pytest.fixture
def cifar10c(tmp_path):
    """A CIFAR-10-C directory in the real layout for a 'test split' of 20 images (labels i % 10)."""
    root = tmp_path / "CIFAR-10-C"
    images = np.full((20, 3, 32, 32), 128, np.uint8)
    write(root, images, np.arange(20) % 10, corruptions=NAMES, severities=[1])
    return str(root)


def test_a_complete_cifar10c_matching_the_test_subset_passes(tmp_path, cifar10c):
    index = [1, 4, 9, 19]
    test = prepared_test(tmp_path / "test.npz", index, np.array(index) % 10)
    C.check_inputs(configured(**{"corruptions.root": cifar10c, "data.test_size": 4, "corruptions.test_size": 3}), test)


def test_test_subset_beyond_the_cifar10c_rows_names_key_and_file(tmp_path, cifar10c):
    """data.test_size drew test image 25, whose corrupted version a 20-per-severity directory lacks."""
    test = prepared_test(tmp_path / "test.npz", [3, 8, 25], [3, 8, 5])
    with pytest.raises(
        C.ConfigError,
        match=r"'data.test_size': the evaluated test images include test image 25 but "
        r".*CIFAR-10-C/labels.npy holds 20 images per severity",
    ):
        C.check_inputs(configured(**{"corruptions.root": cifar10c, "data.test_size": 3}), test)


def test_corruptions_test_size_beyond_the_cifar10c_rows_names_the_key(tmp_path, cifar10c):
    test = prepared_test(tmp_path / "test.npz", range(30), np.arange(30) % 10)  # data.test_size: null
    cfg = configured(**{"corruptions.root": cifar10c, "corruptions.test_size": 25})
    with pytest.raises(C.ConfigError, match=r"'corruptions.test_size': .*test image 24 but .*labels.npy holds 20"):
        C.check_inputs(cfg, test)
    # before the test split is known (nothing prepared, data.download): the counts alone
    cfg["data"]["download"] = True
    with pytest.raises(C.ConfigError, match=r"'corruptions.test_size': 25 test images but .*labels.npy holds 20"):
        C.check_inputs(cfg)


def test_cifar10c_of_another_test_split_is_refused(tmp_path, cifar10c):
    test = prepared_test(tmp_path / "test.npz", [0, 1, 2], [0, 1, 7])
    with pytest.raises(
        C.ConfigError,
        match=r"'corruptions.root': .*labels.npy disagrees with the test split's labels "
        r"on 1 of the 3 evaluated test images",
    ):
        C.check_inputs(configured(**{"corruptions.root": cifar10c}), test)


def test_corruptions_test_size_above_data_test_size_fails_in_a_dry_run():
    with pytest.raises(C.ConfigError, match=r"'corruptions.test_size': 50 is larger than data.test_size \(40\)"):
        configured(**{"data.test_size": 40, "corruptions.test_size": 50})


@pytest.mark.parametrize(
    "dataset, files",
    [
        (
            "cifar10",
            [f"cifar-10-batches-py/data_batch_{b}" for b in range(1, 6)]
            + ["cifar-10-batches-py/test_batch", "cifar-10-batches-py/batches.meta"],
        ),
        (
            "fashion_mnist",
            [
                "train-images-idx3-ubyte[.gz]",
                "train-labels-idx1-ubyte[.gz]",
                "t10k-images-idx3-ubyte[.gz]",
                "t10k-labels-idx1-ubyte[.gz]",
            ],
        ),
    ],
)
def test_an_empty_data_root_names_every_missing_file(tmp_path, dataset, files):
    root = tmp_path / "data"
    root.mkdir()
    cfg = configured(**{"data.dataset": dataset, "data.root": str(root)})
    with pytest.raises(C.ConfigError, match=rf"'data.root': {len(files)} {dataset} file\(s\) missing") as info:
        C.check_inputs(cfg)
    for f in files:
        assert str(root / f) in str(info.value)
    if dataset == "cifar10":  # one file present: the others are still all named
        (root / "cifar-10-batches-py").mkdir()
        (root / "cifar-10-batches-py" / "test_batch").write_bytes(b"")
        with pytest.raises(C.ConfigError, match="6 cifar10 file") as info:
            C.check_inputs(cfg)
        assert "test_batch" not in str(info.value) and "data_batch_5" in str(info.value)


def test_a_missing_cifar10c_file_set_is_named_whole(tmp_path, cifar10c):
    import os

    for name in ("labels.npy", "fog.npy"):
        os.remove(os.path.join(cifar10c, name))
    test = prepared_test(tmp_path / "test.npz", [0], [0])
    with pytest.raises(
        C.ConfigError,
        match=r"'corruptions.root': 2 file\(s\) missing: .*labels.npy: file is missing; "
        r".*fog.npy: file is missing",
    ) as info:
        C.check_inputs(configured(**{"corruptions.root": cifar10c}), test)
    assert not re.search("contrast", str(info.value))


def test_before_preparation_the_test_rows_are_those_prepare_will_write(tmp_path, cifar_checksums):
    """Nothing prepared yet: check_inputs reads the raw test split and draws the data.test_size subset exactly as
    data.prepare will, then pairs it with the CIFAR-10-C rows."""
    from atspectrum import data

    test_images, test_labels = cifar_checksums["test"]
    cfg = configured(**{"data.root": cifar_checksums["root"], "data.test_size": 2})
    index, labels = C.prepared_test_rows(cfg)
    data.prepare(
        "cifar10",
        cifar_checksums["root"],
        False,
        str(tmp_path / "prepared"),
        val_size=2,
        seed=cfg["data"]["seed"],
        test_size=2,
    )
    with np.load(tmp_path / "prepared" / "test.npz") as npz:
        assert index.tolist() == npz["index"].tolist() and labels.tolist() == npz["labels"].tolist()
    complete, short = tmp_path / "c10c", tmp_path / "c10c-short"
    write(complete, test_images, test_labels, corruptions=NAMES, severities=[1])
    write(short, test_images[:2], test_labels[:2], corruptions=NAMES, severities=[1])
    cfg["data"]["test_size"] = None
    C.check_inputs({**cfg, "corruptions": {**cfg["corruptions"], "root": str(complete)}})
    with pytest.raises(C.ConfigError, match=r"'corruptions.root': .*test image 2 but .*c10c-short/labels.npy holds 2"):
        C.check_inputs({**cfg, "corruptions": {**cfg["corruptions"], "root": str(short)}})


def test_the_configured_cifar10c_files_are_declared_inputs(cifar10c):
    """Replacing a CIFAR-10-C file must rerun the corruption evaluations: its files are their inputs (those that
    exist; a missing one is named by the check before the first job)."""
    cfg = configured(**{"corruptions.root": cifar10c})
    assert C.corruption_inputs(cfg) == [f"{cifar10c}/contrast.npy", f"{cifar10c}/fog.npy", f"{cifar10c}/labels.npy"]
    assert C.corruption_inputs(configured(**{"corruptions.root": None})) == []  # generated: prepare_corruptions'


def test_the_dataset_files_are_the_data_preparations_inputs(cifar):
    files = C.dataset_inputs({"dataset": "cifar10", "root": cifar["root"]})
    assert len(files) == 7 and all(f.startswith(cifar["root"]) for f in files)
    assert any(f.endswith("test_batch") for f in files)
    assert C.dataset_inputs({"dataset": "cifar10", "root": cifar["root"], "download": True}) == []


def test_corrupted_images_of_another_shape_than_the_datasets_are_refused_before_any_job(cifar10c):
    """CIFAR-10-C's 32x32x3 images with Fashion-MNIST (28x28x1): refused up front, naming the file and both shapes
    (it failed after training, in the first corruption evaluation)."""
    cfg = C.validate(
        {**copy.deepcopy(BASE), "data": {"dataset": "fashion_mnist", "root": None, "val_size": 10}}
        | {"corruptions": {"names": NAMES, "root": cifar10c}},
        check_data=False,
    )
    with pytest.raises(C.ConfigError, match=re.escape("(32, 32, 3)") + ".*" + re.escape("(28, 28, 1)")) as err:
        C.check_corruptions(cfg)
    assert "corruptions.root" in str(err.value) and f"{cifar10c}/contrast.npy" in str(err.value)
    C.check_corruptions(configured(**{"corruptions.root": cifar10c}))  # CIFAR-10's own shape passes
