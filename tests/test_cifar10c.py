"""atspectrum.data.cifar10c: CIFAR-10-C's on-disk layout (write / load / check)."""

import os

import numpy as np
import pytest
import torch

from atspectrum.corruptions import CORRUPTIONS, corrupt
from atspectrum.data import cifar10c
from atspectrum.data.cifar10c import CorruptionDataError, check, derive_seed, load, write


def tiny_images(n=8, c=3, h=32, w=32, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = rng.uniform(40, 200, (n, c, 1, 1)) + 40 * np.sin(yy / 5.0 + rng.uniform(0, 6, (n, 1, 1, 1))) * xx / w
    return np.clip(np.rint(base), 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("c10c")
    images = tiny_images()
    labels = np.arange(8, dtype=np.int64) % 10
    paths = write(out, images, labels, seed=3)
    return out, images, labels, paths


def test_write_layout_and_round_trip(written):
    out, images, labels, paths = written
    n = len(images)
    assert paths == [str(out / f"{name}.npy") for name in CORRUPTIONS] + [str(out / "labels.npy")]
    assert sorted(os.listdir(out)) == sorted([f"{name}.npy" for name in CORRUPTIONS] + ["labels.npy"])  # no temps
    lab = np.load(out / "labels.npy")
    assert lab.dtype == np.int64 and lab.shape == (5 * n,)
    np.testing.assert_array_equal(lab, np.tile(labels, 5))
    for name in CORRUPTIONS:
        arr = np.load(out / f"{name}.npy")
        assert arr.dtype == np.uint8 and arr.shape == (5 * n, 32, 32, 3)  # NHWC, 5 severity blocks
        for s in range(1, 6):
            expected = corrupt(images, name, s, seed=derive_seed(3, name, s))
            np.testing.assert_array_equal(arr[(s - 1) * n : s * n], expected.transpose(0, 2, 3, 1))
            x, y = load(out, name, s)
            assert x.dtype == torch.uint8 and tuple(x.shape) == (n, 3, 32, 32)
            assert y.dtype == torch.int64
            np.testing.assert_array_equal(x.numpy(), expected)
            np.testing.assert_array_equal(y.numpy(), labels)
    check(out)


def test_derived_seeds_differ_per_corruption_and_severity():
    seeds = {derive_seed(0, name, s) for name in CORRUPTIONS for s in range(1, 6)}
    assert len(seeds) == 5 * len(CORRUPTIONS)
    assert derive_seed(0, "fog", 2) == derive_seed(0, "fog", 2) != derive_seed(1, "fog", 2)


def test_load_subset_and_gray_data_are_copies(tmp_path):
    images = tiny_images(n=6, c=1, h=28, w=28)
    write(tmp_path, torch.from_numpy(images), torch.arange(6), corruptions=("contrast", "fog"))
    x, y = load(tmp_path, "fog", 4, n=2)
    assert tuple(x.shape) == (2, 1, 28, 28) and y.tolist() == [0, 1]
    np.testing.assert_array_equal(x.numpy(), corrupt(images, "fog", 4, seed=derive_seed(0, "fog", 4))[:2])
    # the returned tensor is not backed by the memory-mapped file: overwrite the file's pixels in place
    before = x.clone()
    path = tmp_path / "fog.npy"
    size = os.path.getsize(path)
    with open(path, "r+b") as fh:
        fh.seek(size - 6 * 28 * 28 * 5)
        fh.write(bytes(6 * 28 * 28 * 5))
    assert torch.equal(x, before)
    with pytest.raises(CorruptionDataError, match="contrast.npy: holds 6 images per severity, 7 were requested"):
        load(tmp_path, "contrast", 1, n=7)


def test_unrequested_severities_are_zero_blocks(tmp_path):
    images = tiny_images(n=4)
    write(tmp_path, images, np.zeros(4, np.int64), corruptions=("brightness",), severities=(2,))
    arr = np.load(tmp_path / "brightness.npy")
    assert not arr[:4].any() and arr[4:8].any() and not arr[8:].any()


def test_write_rejects_bad_input_before_creating_files(tmp_path):
    with pytest.raises(ValueError, match="at least 28"):
        write(tmp_path / "a", np.zeros((2, 3, 20, 20), np.uint8), np.zeros(2, np.int64))
    with pytest.raises(ValueError, match="labels"):
        write(tmp_path / "b", tiny_images(n=2), np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="unknown corruption"):
        write(tmp_path / "c", tiny_images(n=2), np.zeros(2, np.int64), corruptions=("rain",))
    with pytest.raises(ValueError, match="severities"):
        write(tmp_path / "d", tiny_images(n=2), np.zeros(2, np.int64), severities=(0,))
    assert not any(p.exists() and any(p.iterdir()) for p in (tmp_path / d for d in "abcd"))


def make_real_format(root, n=4, corruptions=CORRUPTIONS):
    """A directory exactly like CIFAR-10-C: (5·n, 32, 32, 3) uint8 per corruption, uint8 labels.npy."""
    root.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(corruptions):
        arr = np.empty((5 * n, 32, 32, 3), np.uint8)
        for row in range(5 * n):
            arr[row] = (row * 7 + k) % 256  # pixel value encodes the row and the corruption
        arr[:, 0, 0, :] = [0, 1, 2]  # distinguishes the channels (NHWC -> NCHW)
        np.save(root / f"{name}.npy", arr)
    np.save(root / "labels.npy", np.tile(np.arange(n, dtype=np.uint8) + 3, 5))
    return root


def test_real_cifar10c_format_loads(tmp_path):
    root = make_real_format(tmp_path / "CIFAR-10-C")
    check(root)
    k = CORRUPTIONS.index("snow")
    for s in range(1, 6):
        x, y = load(root, "snow", s)
        assert tuple(x.shape) == (4, 3, 32, 32) and x.dtype == torch.uint8
        assert y.dtype == torch.int64 and y.tolist() == [3, 4, 5, 6]
        for i in range(4):
            assert int(x[i, 0, 5, 5]) == (((s - 1) * 4 + i) * 7 + k) % 256
            assert x[i, :, 0, 0].tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    "damage, culprit, match",
    [
        ("missing", "fog.npy", "file is missing"),
        ("float32", "frost.npy", "dtype must be uint8"),
        ("rows", "snow.npy", "not a positive multiple of 5"),
        ("labels_length", "labels.npy", "not a positive multiple of 5"),
        ("labels_mismatch", "gaussian_noise.npy", "rows but labels.npy has"),
        ("three_d", "contrast.npy", "must be 4-D"),
        ("garbage", "pixelate.npy", "not a readable .npy"),
    ],
)
def test_malformed_directories_name_the_file(tmp_path, damage, culprit, match):
    root = make_real_format(tmp_path / "c", n=2)
    path = root / culprit
    if damage == "missing":
        path.unlink()
    elif damage == "float32":
        np.save(path, np.zeros((10, 32, 32, 3), np.float32))
    elif damage == "rows":
        np.save(path, np.zeros((9, 32, 32, 3), np.uint8))
    elif damage == "labels_length":
        np.save(path, np.zeros(11, np.int64))
    elif damage == "labels_mismatch":
        np.save(root / "labels.npy", np.zeros(15, np.int64))  # consistent itself, but every image file has 10 rows
    elif damage == "three_d":
        np.save(path, np.zeros((10, 32, 32), np.uint8))
    elif damage == "garbage":
        path.write_bytes(b"this is not an npy file")
    with pytest.raises(CorruptionDataError, match=match) as info:
        check(root)
    assert culprit in str(info.value)
    name = culprit[:-4] if culprit != "labels.npy" else "fog"
    with pytest.raises(CorruptionDataError, match=match) as info:
        load(root, name, 1)
    assert culprit in str(info.value)


def test_check_names_the_first_bad_file_and_shape_mismatch(tmp_path):
    root = make_real_format(tmp_path / "c", n=2)
    np.save(root / "zoom_blur.npy", np.zeros((10, 28, 28, 3), np.uint8))
    np.save(root / "jpeg_compression.npy", np.zeros((10, 32, 32, 3), np.float32))
    with pytest.raises(CorruptionDataError, match="zoom_blur.npy: image shape"):
        check(root)
    check(root, corruptions=("gaussian_noise", "fog"))  # only the listed files are checked


def test_load_argument_errors(tmp_path):
    root = make_real_format(tmp_path / "c", n=1, corruptions=("fog",))
    with pytest.raises(ValueError, match="unknown corruption"):
        load(root, "rain", 1)
    for bad in (0, 6, 2.0):
        with pytest.raises(ValueError, match="severity"):
            load(root, "fog", bad)
    with pytest.raises(ValueError, match="n must be"):
        load(root, "fog", 1, n=-1)
    with pytest.raises(CorruptionDataError, match="snow.npy: file is missing"):
        load(root, "snow", 1)
    assert cifar10c.LABELS_FILE == "labels.npy"


@pytest.fixture
def subset_and_cifar10c(tmp_path):
    """A 'test split' of 20 known images, its CIFAR-10-C in the real layout (row i of each block: test image i), and
    a prepared test file holding a seeded-style subset of it with each row's source ``index`` (as data.prepare
    writes with data.test_size)."""
    from atspectrum import data

    images = tiny_images(n=20, seed=5)
    labels = np.random.default_rng(5).integers(0, 10, 20)
    root = tmp_path / "CIFAR-10-C"
    write(root, images, labels, corruptions=("contrast", "fog"))
    full = tmp_path / "full.npz"
    np.savez(full, images=images, labels=labels.astype(np.int64), index=np.arange(20, dtype=np.int64))
    subset = np.array([2, 5, 6, 11, 17, 19])
    data.write_rows(full, tmp_path / "test.npz", subset)
    return tmp_path / "test.npz", root, images, subset


@pytest.mark.parametrize("test_size", [None, 4])
def test_corrupted_image_k_is_the_corruption_of_clean_image_k(subset_and_cifar10c, test_size):
    """With a data.test_size subset and a real CIFAR-10-C, row k of every severity is clean row k corrupted
    (contrast is deterministic per image, so it can be recomputed from the clean image alone)."""
    from atspectrum.evaluation.corruption import paired_inputs

    test_file, root, images, subset = subset_and_cifar10c
    (clean, clean_labels), rows = paired_inputs(test_file, test_size, real=True)
    n = len(subset) if test_size is None else test_size
    assert len(clean) == n and rows.tolist() == subset[:n].tolist()
    np.testing.assert_array_equal(clean.numpy(), images[subset[:n]])
    for s in range(1, 6):
        x, y = load(root, "contrast", s, rows=rows)
        np.testing.assert_array_equal(x.numpy(), corrupt(clean.numpy(), "contrast", s))
        assert torch.equal(y, clean_labels)
    # a directory prepare_corruptions wrote from the prepared test set holds its rows in order: positions
    assert paired_inputs(test_file, test_size, real=False)[1].tolist() == list(range(n))


def test_unpaired_corrupted_images_and_oversized_subsets_are_refused(subset_and_cifar10c):
    from atspectrum import models
    from atspectrum.evaluation.corruption import evaluate_corruptions, paired_inputs

    test_file, root, _, subset = subset_and_cifar10c
    clean, _ = paired_inputs(test_file, None, real=True)
    model = models.build("resnet18", 10, 3, width=2).eval()
    # the old pairing: CIFAR-10-C rows 0..N-1 for a subset of other test images
    with pytest.raises(ValueError, match=r"contrast severity 1: \d+ of 6 labels differ from the clean test images"):
        evaluate_corruptions(model, clean, lambda name, s: load(root, name, s, n=len(subset)), ["contrast"], [1])
    with pytest.raises(ValueError, match=r"corruptions.test_size=7 is larger than the 6 images of the prepared test"):
        paired_inputs(test_file, 7, real=True)
    with pytest.raises(CorruptionDataError, match="contrast.npy: holds 20 images per severity, row 20 was requested"):
        load(root, "contrast", 1, rows=[3, 20])
    with pytest.raises(ValueError, match="not both"):
        load(root, "contrast", 1, n=2, rows=[0])
