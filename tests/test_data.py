"""Tests for atspectrum.data, on tiny datasets written in the real on-disk formats."""

from __future__ import annotations

import gzip
import os
import struct
import subprocess

import numpy as np
import pytest
import torch

from atspectrum import data
from atspectrum.data import DataError, sources

# --------------------------------------------------------------------------- #
# fixtures: tiny Fashion-MNIST (idx files) and CIFAR-10 (python pickles)
# --------------------------------------------------------------------------- #
N_FASHION_TRAIN, N_FASHION_TEST = 20, 10


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path, monkeypatch):
    """Keep every test's staging/download cache inside tmp_path (never ~/.cache)."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("ATSPECTRUM_CACHE", str(cache))
    return cache


def _idx_images(images: np.ndarray) -> bytes:
    n, h, w = images.shape
    return struct.pack(">IIII", 2051, n, h, w) + images.astype(np.uint8).tobytes()


def _idx_labels(labels: np.ndarray) -> bytes:
    return struct.pack(">II", 2049, len(labels)) + labels.astype(np.uint8).tobytes()


def _fashion_arrays(seed: int = 0):
    rng = np.random.default_rng(seed)
    return {
        "train": (
            rng.integers(0, 256, size=(N_FASHION_TRAIN, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=N_FASHION_TRAIN).astype(np.int64),
        ),
        "test": (
            rng.integers(0, 256, size=(N_FASHION_TEST, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=N_FASHION_TEST).astype(np.int64),
        ),
    }


def _write_fashion(directory, arrays, gz: bool = True) -> None:
    """Write the four idx files flat into ``directory`` (Debian's layout when gz)."""
    os.makedirs(directory, exist_ok=True)
    prefix = {"train": "train", "test": "t10k"}
    for split, (images, labels) in arrays.items():
        for kind, payload in (("images-idx3", _idx_images(images)), ("labels-idx1", _idx_labels(labels))):
            name = f"{prefix[split]}-{kind}-ubyte"
            if gz:
                with gzip.open(os.path.join(directory, name + ".gz"), "wb") as fh:
                    fh.write(payload)
            else:
                with open(os.path.join(directory, name), "wb") as fh:
                    fh.write(payload)


@pytest.fixture
def fashion():
    return _fashion_arrays()


@pytest.fixture
def fashion_flat(tmp_path, fashion):
    root = tmp_path / "fashion-flat"
    _write_fashion(root, fashion, gz=True)
    return str(root)


# --------------------------------------------------------------------------- #
# CIFAR-10
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar10_loads_exact_pixels_and_labels(cifar_checksums, split):
    images, labels = data.load("cifar10", root=cifar_checksums["root"], split=split)
    want_imgs, want_labels = cifar_checksums[split]
    assert images.dtype == torch.uint8 and labels.dtype == torch.int64
    assert tuple(images.shape) == (len(want_labels), 3, 32, 32)
    assert images.is_contiguous()
    np.testing.assert_array_equal(images.numpy(), want_imgs)
    np.testing.assert_array_equal(labels.numpy(), want_labels)
    if split == "train":  # channel order (R, G, B) and no H/W transposition
        assert images[0, 0, 0, 1] == 200 and images[0, 0, 1, 0] == 10
        assert (images[0, 1] == 20).all() and (images[0, 2] == 30).all()


def test_cifar10_fake_files_fail_real_checksums(cifar):
    # Without the checksum patch torchvision's MD5 check rejects our files; the
    # error must become a DataError naming the root, the directory and the bad file.
    with pytest.raises(DataError) as exc:
        data.load("cifar10", root=cifar["root"], split="test")
    msg = str(exc.value)
    assert cifar["root"] in msg and "cifar-10-batches-py" in msg
    assert "test_batch" in msg and "MD5" in msg


def test_cifar10_missing_batches_dir_names_expected_dir(tmp_path):
    root = tmp_path / "empty"
    root.mkdir()
    with pytest.raises(DataError) as exc:
        data.load("cifar10", root=str(root), split="train")
    msg = str(exc.value)
    assert str(root / "cifar-10-batches-py") in msg and "data.download" in msg


def test_cifar10_missing_file_is_named(cifar_checksums):
    os.unlink(cifar_checksums["base"] / "data_batch_3")
    with pytest.raises(DataError, match="missing: .*data_batch_3"):
        data.load("cifar10", root=cifar_checksums["root"], split="train")


# --------------------------------------------------------------------------- #
# Fashion-MNIST
# --------------------------------------------------------------------------- #
def _assert_fashion(images, labels, want):
    want_imgs, want_labels = want
    assert images.dtype == torch.uint8 and labels.dtype == torch.int64
    assert tuple(images.shape) == (len(want_labels), 1, 28, 28)
    np.testing.assert_array_equal(images[:, 0].numpy(), want_imgs)
    np.testing.assert_array_equal(labels.numpy(), want_labels)


@pytest.mark.parametrize("split", ["train", "test"])
def test_fashion_flat_gz_dir_exact(fashion_flat, fashion, split, _isolated_cache):
    images, labels = data.load("fashion_mnist", root=fashion_flat, split=split)
    _assert_fashion(images, labels, fashion[split])
    # staged (decompressed) into the cache from ATSPECTRUM_CACHE, source left untouched
    staged = list(_isolated_cache.glob("fashion_mnist/staged/*/FashionMNIST/raw/t10k-images-idx3-ubyte"))
    assert len(staged) == 1 and not staged[0].is_symlink()
    assert sorted(os.listdir(fashion_flat)) == sorted(
        f + ".gz"
        for f in (
            "train-images-idx3-ubyte",
            "train-labels-idx1-ubyte",
            "t10k-images-idx3-ubyte",
            "t10k-labels-idx1-ubyte",
        )
    )


def test_fashion_flat_plain_dir_exact(tmp_path, fashion):
    root = tmp_path / "plain"
    _write_fashion(root, fashion, gz=False)
    for split in ("train", "test"):
        _assert_fashion(*data.load("fashion_mnist", root=str(root), split=split), fashion[split])


def test_fashion_torchvision_layout_exact(tmp_path, fashion, _isolated_cache):
    root = tmp_path / "tv"
    _write_fashion(root / "FashionMNIST" / "raw", fashion, gz=False)
    for split in ("train", "test"):
        _assert_fashion(*data.load("fashion_mnist", root=str(root), split=split), fashion[split])
    assert not _isolated_cache.exists()  # read in place, nothing staged


def test_fashion_raw_dir_with_only_gz_is_accepted(tmp_path, fashion):
    # torchvision's layout but only the downloaded archives (torchvision itself
    # needs them extracted)
    root = tmp_path / "tvgz"
    _write_fashion(root / "FashionMNIST" / "raw", fashion, gz=True)
    _assert_fashion(*data.load("fashion_mnist", root=str(root), split="test"), fashion["test"])


def test_fashion_restages_when_source_changes(tmp_path, fashion):
    root = tmp_path / "changing"
    _write_fashion(root, fashion, gz=True)
    _assert_fashion(*data.load("fashion_mnist", root=str(root), split="test"), fashion["test"])
    other = _fashion_arrays(seed=7)
    _write_fashion(root, other, gz=True)
    for f in os.listdir(root):  # make sure the mtime differs even on coarse clocks
        os.utime(root / f, ns=(1_000_000_000, 1_000_000_000))
    _assert_fashion(*data.load("fashion_mnist", root=str(root), split="test"), other["test"])


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_truncated_file_names_it(tmp_path, fashion, gz):
    root = tmp_path / "trunc"
    _write_fashion(root, fashion, gz=gz)
    name = "t10k-images-idx3-ubyte" + (".gz" if gz else "")
    path = root / name
    blob = path.read_bytes()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError) as exc:
        data.load("fashion_mnist", root=str(root), split="test")
    assert str(path) in str(exc.value)


def test_fashion_truncated_file_in_torchvision_layout_names_it(tmp_path, fashion):
    raw = tmp_path / "tv" / "FashionMNIST" / "raw"
    _write_fashion(raw, fashion, gz=False)
    path = raw / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(DataError, match="truncated") as exc:
        data.load("fashion_mnist", root=str(tmp_path / "tv"), split="train")
    assert str(path) in str(exc.value)


def test_fashion_missing_file_is_named(fashion_flat):
    os.unlink(os.path.join(fashion_flat, "train-labels-idx1-ubyte.gz"))
    with pytest.raises(DataError) as exc:
        data.load("fashion_mnist", root=fashion_flat, split="train")
    msg = str(exc.value)
    assert "train-labels-idx1-ubyte" in msg and fashion_flat in msg
    listed = msg.split("missing ", 1)[1].split(" (looked in", 1)[0]
    assert listed == "train-labels-idx1-ubyte[.gz]"  # only the missing one is listed
    assert "apt-get install dataset-fashion-mnist" in msg


def test_fashion_debian_package_real_test_split():
    root = data.default_root("fashion_mnist")
    if root is None:
        pytest.skip("Debian package dataset-fashion-mnist is not installed (apt-get install dataset-fashion-mnist)")
    images, labels = data.load("fashion_mnist", split="test")  # root=None -> the package's directory
    assert tuple(images.shape) == (10000, 1, 28, 28) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64 and labels.shape == (10000,)
    assert int(labels.min()) == 0 and int(labels.max()) == 9
    assert torch.bincount(labels).tolist() == [1000] * 10  # balanced test set


# --------------------------------------------------------------------------- #
# locating data, argument errors
# --------------------------------------------------------------------------- #
def test_default_root_parses_dpkg_listing(tmp_path, monkeypatch):
    pkg = tmp_path / "pkgdir"
    pkg.mkdir()
    (pkg / "train-images-idx3-ubyte.gz").write_bytes(b"")
    listing = f"/.\n/usr\n{pkg}\n{pkg}/t10k-images-idx3-ubyte.gz\n{pkg}/train-images-idx3-ubyte.gz\n"

    def fake_run(cmd, **kwargs):
        assert cmd[:2] == ["dpkg", "-L"] and cmd[2] == "dataset-fashion-mnist"
        return subprocess.CompletedProcess(cmd, 0, stdout=listing, stderr="")

    monkeypatch.setattr(sources.subprocess, "run", fake_run)
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    assert data.default_root("fashion_mnist") == str(pkg)
    assert data.default_root("cifar10") is None


def test_default_root_without_dpkg_uses_fallback_or_none(tmp_path, monkeypatch):
    def no_dpkg(cmd, **kwargs):
        raise FileNotFoundError("dpkg")

    monkeypatch.setattr(sources.subprocess, "run", no_dpkg)
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    assert data.default_root("fashion_mnist") is None
    fallback = tmp_path / "fallback"
    fallback.mkdir()
    (fallback / "train-images-idx3-ubyte.gz").write_bytes(b"")
    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST_DIR", str(fallback))
    assert data.default_root("fashion_mnist") == str(fallback)


def test_missing_root_without_download_names_root(tmp_path):
    missing = tmp_path / "does-not-exist"
    for name in data.DATASETS:
        with pytest.raises(DataError) as exc:
            data.load(name, root=str(missing), split="test")
        assert str(missing) in str(exc.value)
    assert not missing.exists()


def test_root_is_created_when_download(tmp_path):
    target = tmp_path / "new" / "root"
    assert data.resolve_root("cifar10", str(target), download=True) == str(target)
    assert target.is_dir()


def test_no_root_no_system_data(monkeypatch, _isolated_cache):
    monkeypatch.setattr(sources, "default_root", lambda name: None)
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist.*data.root.*data.download: true"):
        data.resolve_root("fashion_mnist", None, download=False)
    with pytest.raises(DataError, match="data.root.*cifar-10-batches-py.*data.download: true"):
        data.resolve_root("cifar10", None, download=False)
    assert data.resolve_root("cifar10", None, download=True) == str(_isolated_cache / "cifar10")
    assert (_isolated_cache / "cifar10").is_dir()


def test_unknown_dataset_and_split(fashion_flat):
    with pytest.raises(DataError, match="'mnist'.*cifar10, cifar100, fashion_mnist, imagefolder, svhn"):
        data.load("mnist", root=fashion_flat)
    with pytest.raises(DataError, match="'imagenet'"):
        data.resolve_root("imagenet", None, False)
    with pytest.raises(DataError, match="'valid'.*train, test"):
        data.load("fashion_mnist", root=fashion_flat, split="valid")


# --------------------------------------------------------------------------- #
# splitting
# --------------------------------------------------------------------------- #
def test_split_train_val_properties():
    tr, va = data.split_train_val(100, 30, seed=3)
    assert tr.dtype == torch.int64 and va.dtype == torch.int64
    assert len(tr) == 70 and len(va) == 30
    assert torch.equal(tr, torch.sort(tr).values) and torch.equal(va, torch.sort(va).values)
    assert set(tr.tolist()).isdisjoint(va.tolist())
    assert sorted(tr.tolist() + va.tolist()) == list(range(100))
    tr2, va2 = data.split_train_val(100, 30, seed=3)
    assert torch.equal(tr, tr2) and torch.equal(va, va2)
    _, va3 = data.split_train_val(100, 30, seed=4)
    assert not torch.equal(va, va3)
    assert va.tolist() != list(range(70, 100)) and va.tolist() != list(range(30))  # actually shuffled


def test_split_train_val_edges():
    tr, va = data.split_train_val(5, 0, seed=0)
    assert tr.tolist() == [0, 1, 2, 3, 4] and va.numel() == 0 and va.dtype == torch.int64
    with pytest.raises(DataError, match="val_size"):
        data.split_train_val(5, 5, seed=0)
    with pytest.raises(DataError, match="val_size"):
        data.split_train_val(5, -1, seed=0)


# --------------------------------------------------------------------------- #
# prepare / load_prepared
# --------------------------------------------------------------------------- #
def test_prepare_round_trip(tmp_path, fashion_flat, fashion):
    out = tmp_path / "prepared"
    counts = data.prepare(
        "fashion_mnist", fashion_flat, False, str(out), val_size=5, seed=11, train_size=8, test_size=4
    )
    assert counts == {"train": 8, "val": 5, "test": 4}
    assert sorted(os.listdir(out)) == ["test.npz", "train.npz", "val.npz"]  # no temp files left

    indices = {}
    for split, source in (("train", "train"), ("val", "train"), ("test", "test")):
        images, labels = data.load_prepared(out / f"{split}.npz")
        assert images.dtype == torch.uint8 and labels.dtype == torch.int64
        assert tuple(images.shape) == (counts[split], 1, 28, 28) and labels.shape == (counts[split],)
        with np.load(out / f"{split}.npz", allow_pickle=False) as npz:
            index = npz["index"]
        assert index.dtype == np.int64
        src_imgs, src_labels = fashion[source]
        np.testing.assert_array_equal(images[:, 0].numpy(), src_imgs[index])  # traceable to the source row
        np.testing.assert_array_equal(labels.numpy(), src_labels[index])
        indices[split] = index
    assert set(indices["train"]).isdisjoint(indices["val"])
    # val is exactly split_train_val's held-out part; train is a subset of the rest
    tr_idx, va_idx = data.split_train_val(N_FASHION_TRAIN, 5, 11)
    assert indices["val"].tolist() == va_idx.tolist()
    assert set(indices["train"]) <= set(tr_idx.tolist())
    # the subsets are seeded random draws, not simply the first rows
    assert indices["train"].tolist() != tr_idx.tolist()[:8]
    assert indices["test"].tolist() != [0, 1, 2, 3]

    # deterministic for a seed, different for another
    out2 = tmp_path / "again"
    data.prepare("fashion_mnist", fashion_flat, False, str(out2), val_size=5, seed=11, train_size=8, test_size=4)
    out3 = tmp_path / "other-seed"
    data.prepare("fashion_mnist", fashion_flat, False, str(out3), val_size=5, seed=12, train_size=8, test_size=4)
    for split in ("train", "val", "test"):
        with np.load(out2 / f"{split}.npz") as a:
            assert a["index"].tolist() == indices[split].tolist()
    with np.load(out3 / "val.npz") as a:
        assert a["index"].tolist() != indices["val"].tolist()


def test_prepare_without_subsets_keeps_everything(tmp_path, fashion_flat):
    counts = data.prepare("fashion_mnist", fashion_flat, False, str(tmp_path / "o"), val_size=0, seed=0)
    assert counts == {"train": N_FASHION_TRAIN, "val": 0, "test": N_FASHION_TEST}
    images, labels = data.load_prepared(tmp_path / "o" / "val.npz")
    assert tuple(images.shape) == (0, 1, 28, 28) and labels.dtype == torch.int64


@pytest.mark.parametrize("key,kwargs", [("train_size", {"train_size": 16}), ("test_size", {"test_size": 11})])
def test_prepare_sizes_too_large(tmp_path, fashion_flat, key, kwargs):
    with pytest.raises(DataError, match=key):
        data.prepare("fashion_mnist", fashion_flat, False, str(tmp_path / "o"), val_size=5, seed=0, **kwargs)


def test_load_prepared_errors(tmp_path, fashion_flat):
    out = tmp_path / "p"
    data.prepare("fashion_mnist", fashion_flat, False, str(out), val_size=2, seed=0)
    good = out / "train.npz"

    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(good.read_bytes()[:200])
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file at all")
    missing = tmp_path / "missing.npz"
    for path in (corrupt, garbage, missing):
        with pytest.raises(DataError) as exc:
            data.load_prepared(path)
        assert str(path) in str(exc.value)

    # a zip whose member data is damaged (CRC mismatch) must also be a DataError
    blob = bytearray(good.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(bytes(blob))
    with pytest.raises(DataError, match="damaged.npz"):
        data.load_prepared(damaged)

    wrong_dtype = tmp_path / "wrong.npz"
    np.savez(wrong_dtype, images=np.zeros((2, 1, 28, 28), np.float32), labels=np.zeros(2, np.int64))
    with pytest.raises(DataError, match="'images'"):
        data.load_prepared(wrong_dtype)
    no_labels = tmp_path / "nolabels.npz"
    np.savez(no_labels, images=np.zeros((2, 1, 28, 28), np.uint8))
    with pytest.raises(DataError, match="labels"):
        data.load_prepared(no_labels)
    mismatch = tmp_path / "mismatch.npz"
    np.savez(mismatch, images=np.zeros((2, 1, 28, 28), np.uint8), labels=np.zeros(3, np.int64))
    with pytest.raises(DataError, match="'labels'"):
        data.load_prepared(mismatch)


def test_to_float():
    x = torch.tensor([[0, 51, 255]], dtype=torch.uint8)
    y = data.to_float(x)
    assert y.dtype == torch.float32
    assert torch.allclose(y, torch.tensor([[0.0, 0.2, 1.0]]))
    assert x.tolist() == [[0, 51, 255]]  # input untouched
    with pytest.raises(TypeError, match="expects a uint8 tensor, got torch.float32"):
        data.to_float(y)


def test_a_payload_in_torchvisions_processed_cache_names_the_file(tmp_path):
    """A pickled object (not tensors) in FashionMNIST/processed/*.pt: refused by torch's weights-only loading, and
    the error names the file (it was a bare UnpicklingError from the Snakefile)."""
    import datetime

    processed = tmp_path / "tv" / "FashionMNIST" / "processed"
    processed.mkdir(parents=True)
    for name in ("training.pt", "test.pt"):
        torch.save({"payload": datetime.datetime(2020, 1, 1)}, processed / name)
    with pytest.raises(DataError) as exc:
        data.load("fashion_mnist", root=str(tmp_path / "tv"), split="test")
    assert str(processed / "test.pt") in str(exc.value)


# ---- SVHN (issue #24, part 1): the cropped-digits MATLAB files, read by SciPy ----------------------------------


@pytest.mark.parametrize("split", ["train", "test"])
def test_svhn_loads_exact_pixels_and_maps_label_10_to_digit_0(tmp_path, split):
    from synthetic import write_svhn

    x, y = write_svhn(str(tmp_path), {"train": 30, "test": 12})[split]
    images, labels = data.load("svhn", str(tmp_path), split)
    assert images.dtype == torch.uint8 and images.shape == (x.shape[3], 3, 32, 32)
    assert torch.equal(images, torch.from_numpy(x).permute(3, 2, 0, 1))  # X is H×W×C×N
    assert labels.dtype == torch.int64 and labels.tolist() == [int(v) % 10 for v in y[:, 0]]
    assert (y[:, 0] == 10).any()  # the case that matters: 10 is the digit 0


def test_svhn_missing_or_malformed_file_is_named(tmp_path):
    from scipy.io import savemat

    with pytest.raises(DataError, match="test_32x32.mat.*missing.*data.root"):
        data.load("svhn", str(tmp_path), "test")
    (tmp_path / "test_32x32.mat").write_bytes(b"not a mat file")
    with pytest.raises(DataError, match="test_32x32.mat.*unreadable"):
        data.load("svhn", str(tmp_path), "test")
    savemat(tmp_path / "test_32x32.mat", {"X": np.zeros((28, 28, 1, 4), np.uint8), "y": np.ones((4, 1))})
    with pytest.raises(DataError, match="test_32x32.mat.*32x32x3xN"):
        data.load("svhn", str(tmp_path), "test")
    savemat(tmp_path / "test_32x32.mat", {"X": np.zeros((32, 32, 3, 4), np.uint8), "y": np.zeros((4, 1))})
    with pytest.raises(DataError, match="test_32x32.mat.*labels in 0..0"):
        data.load("svhn", str(tmp_path), "test")


def test_svhn_config_names_every_missing_file_before_any_job(tmp_path):
    from atspectrum import config as atconfig

    with pytest.raises(atconfig.ConfigError, match="data.root.*2 svhn file.*train_32x32.mat.*test_32x32.mat"):
        atconfig.check_dataset({"dataset": "svhn", "root": str(tmp_path)}, files=True)


# ---- CIFAR-100 (issue #24, part 1): a pickle reader that builds arrays, lists and dicts only ----------------------


@pytest.mark.parametrize("split", ["train", "test"])
def test_cifar100_loads_exact_pixels_and_fine_labels(tmp_path, split):
    from synthetic import write_cifar100

    flat, fine = write_cifar100(str(tmp_path), {"train": 20, "test": 8})[split]
    images, labels = data.load("cifar100", str(tmp_path), split)
    assert images.dtype == torch.uint8 and images.shape == (len(fine), 3, 32, 32)
    assert torch.equal(images.reshape(len(fine), -1), torch.from_numpy(flat))  # channel-major rows
    assert labels.dtype == torch.int64 and labels.tolist() == list(fine)


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch payload-ran",))


def test_cifar100_refuses_a_pickled_payload_before_it_runs(tmp_path, monkeypatch):
    import pickle

    monkeypatch.chdir(tmp_path)
    (tmp_path / "cifar-100-python").mkdir()
    with open(tmp_path / "cifar-100-python" / "test", "wb") as fh:
        pickle.dump({"data": _Payload(), "fine_labels": [0]}, fh)
    with pytest.raises(DataError, match="cifar-100-python/test.*unreadable.*os.system|cifar-100-python/test.*posix"):
        data.load("cifar100", str(tmp_path), "test")
    assert not (tmp_path / "payload-ran").exists()


def test_cifar100_full_size_file_must_be_the_official_one(tmp_path, monkeypatch):
    """A file with as many images as the real split is held to torchvision's MD5 (a damaged or altered copy of the
    official file is refused); smaller files (subsets, fixtures) are checked for their structure only."""
    from synthetic import write_cifar100

    from atspectrum.data import readers

    monkeypatch.setitem(readers.CIFAR100_SIZES, "test", 8)  # our 8-image file counts as full size
    write_cifar100(str(tmp_path), {"test": 8})
    with pytest.raises(DataError, match="cifar-100-python/test.*not the official file.*MD5"):
        data.load("cifar100", str(tmp_path), "test")


def test_cifar100_malformed_or_missing_files_are_named(tmp_path):
    import pickle

    from atspectrum import config as atconfig

    with pytest.raises(atconfig.ConfigError, match="2 cifar100 file.*cifar-100-python/train.*cifar-100-python/test"):
        atconfig.check_dataset({"dataset": "cifar100", "root": str(tmp_path)}, files=True)
    with pytest.raises(DataError, match="cifar-100-python/test.*missing"):
        data.load("cifar100", str(tmp_path), "test")
    (tmp_path / "cifar-100-python").mkdir()
    path = tmp_path / "cifar-100-python" / "test"
    path.write_bytes(b"\x80\x02garbage")
    with pytest.raises(DataError, match="cifar-100-python/test.*unreadable"):
        data.load("cifar100", str(tmp_path), "test")
    with open(path, "wb") as fh:
        pickle.dump({"data": np.zeros((4, 100), np.uint8), "fine_labels": [0] * 4}, fh)
    with pytest.raises(DataError, match="uint8 N×3072"):
        data.load("cifar100", str(tmp_path), "test")
    with open(path, "wb") as fh:
        pickle.dump({"data": np.zeros((4, 3072), np.uint8), "fine_labels": [0, 1, 2, 100]}, fh)
    with pytest.raises(DataError, match="fine_labels.*0..99"):
        data.load("cifar100", str(tmp_path), "test")


# --------------------------------------------------------------------------- #
# ImageFolder
# --------------------------------------------------------------------------- #
def test_imagefolder_labels_follow_sorted_class_folders_and_images_are_resized_like_torchvision(tmp_path):
    """Label i is the i-th class folder by name (torchvision's ImageFolder numbering), the images are read in RGB and
    resized as torchvision's Resize(s) + CenterCrop(s) would, the pixels exactly (PNG) as written."""
    import torchvision
    import torchvision.transforms as T
    from PIL import Image
    from synthetic import write_imagefolder

    write_imagefolder(str(tmp_path), classes=("zebra", "ant", "mole"), sizes={"train": 30, "test": 9})
    reference = torchvision.datasets.ImageFolder(str(tmp_path / "test"))
    assert reference.classes == ["ant", "mole", "zebra"]
    for size in (32, 24):
        images, labels = data.load("imagefolder", str(tmp_path), "test", image_size=size)
        assert images.shape == (9, 3, size, size) and images.dtype == torch.uint8
        assert labels.tolist() == [label for _, label in reference.samples]
        for i, (path, _) in enumerate(reference.samples):
            expected = np.asarray(T.CenterCrop(size)(T.Resize(size)(Image.open(path).convert("RGB"))))
            assert np.array_equal(images[i].permute(1, 2, 0).numpy(), expected), path
    # a class missing from test/ is fine; labels still number the training classes
    for path in (tmp_path / "test" / "ant").iterdir():
        os.remove(path)
    _, labels = data.load("imagefolder", str(tmp_path), "test")
    assert set(labels.tolist()) == {1, 2}


def test_imagefolder_of_grayscale_images_has_one_channel_and_sets_the_models_input(tmp_path):
    from synthetic import write_imagefolder

    from atspectrum import config as atconfig

    write_imagefolder(str(tmp_path), sizes={"train": 12, "test": 6}, gray=True, side=(32, 32))
    images, _ = data.load("imagefolder", str(tmp_path), "train")
    assert images.shape == (12, 1, 32, 32)
    cfg = atconfig.validate(
        {
            "data": {"dataset": "imagefolder", "root": str(tmp_path), "image_size": 32, "val_size": 2},
            "models": {"w": {"arch": "wrn28_10", "width": 1, "eps": [0]}},
        }
    )
    spec = atconfig.model_spec(cfg, "w")
    assert (spec["num_classes"], spec["in_channels"]) == (3, 1)
    assert spec["mean"] == [0.5] and spec["std"] == [0.5]
    assert atconfig.datasets.image_shape(cfg["data"]) == (32, 32, 1)
    assert atconfig.datasets.prepare_params(cfg["data"]) == {"image_size": 32}
    cfg["data"]["dataset"] = "cifar10"  # the other datasets' preparation has no image_size param
    assert atconfig.datasets.prepare_params(cfg["data"]) == {}


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda root: __import__("shutil").rmtree(root / "test"), r"lacks .*/test"),
        (lambda root: [__import__("shutil").rmtree(root / "train" / c) for c in ("bee", "cat")], "1 class folder"),
        (lambda root: (root / "test" / "dog").mkdir(), r"\['dog'\].*test classes must be training classes"),
        (lambda root: [os.remove(p) for p in (root / "train" / "bee").iterdir()], r"\['bee'\].*hold no image"),
    ],
)
def test_imagefolder_layout_errors_name_the_folder_before_any_job(tmp_path, damage, message):
    from synthetic import write_imagefolder

    from atspectrum import config as atconfig

    write_imagefolder(str(tmp_path), sizes={"train": 12, "test": 6})
    damage(tmp_path)
    with pytest.raises(atconfig.ConfigError, match="config key 'data.root'.*" + message):
        atconfig.check_dataset({"dataset": "imagefolder", "root": str(tmp_path)}, files=True)
    with pytest.raises(DataError, match=message):
        data.load("imagefolder", str(tmp_path), "train")


def test_imagefolder_unreadable_image_download_or_no_root_is_named(tmp_path):
    from synthetic import write_imagefolder

    from atspectrum import config as atconfig

    written = write_imagefolder(str(tmp_path), sizes={"train": 12, "test": 6})
    bad = written["test"][2][0]
    with open(bad, "wb") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n truncated")
    with pytest.raises(DataError, match=f"{bad}.*unreadable"):
        data.load("imagefolder", str(tmp_path), "test")
    with pytest.raises(atconfig.ConfigError, match="data.download.*nothing to download"):
        atconfig.check_dataset({"dataset": "imagefolder", "root": str(tmp_path), "download": True})
    with pytest.raises(atconfig.ConfigError, match="data.root.*needs data.root"):
        atconfig.check_dataset({"dataset": "imagefolder", "root": None})
    with pytest.raises(DataError, match="nothing to download"):
        data.load("imagefolder", str(tmp_path), "test", download=True)


def test_imagefolder_sizes_beyond_its_images_fail_before_any_job(tmp_path):
    from synthetic import write_imagefolder

    from atspectrum import config as atconfig

    write_imagefolder(str(tmp_path), sizes={"train": 12, "test": 6})
    base = {"dataset": "imagefolder", "root": str(tmp_path), "val_size": 4, "train_size": 8, "test_size": 6}
    atconfig.check_dataset(base)  # exactly what there is
    for key, value, match in (("train_size", 9, "8 training images left"), ("test_size", 7, "6 test images")):
        with pytest.raises(atconfig.ConfigError, match=f"data.{key}': {value} is more than the {match}"):
            atconfig.check_dataset(base | {key: value})
    with pytest.raises(atconfig.ConfigError, match="data.val_size': 12 is more than the 11 of its 12 training"):
        atconfig.check_dataset(base | {"val_size": 12, "train_size": None})
