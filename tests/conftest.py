import hashlib
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torchvision

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _repo_root_cwd():
    """Tests refer to config/ and workflow/ relative to the repository root."""
    old = os.getcwd()
    os.chdir(ROOT)
    yield
    os.chdir(old)


# --- a tiny CIFAR-10 in the real format (tests/test_data.py, tests/test_inputs.py) ---------------------------------


def _md5(path) -> str:
    return hashlib.md5(open(path, "rb").read()).hexdigest()


CIFAR_PER_BATCH, CIFAR_TEST = 2, 3


@pytest.fixture
def cifar(tmp_path):
    """A tiny CIFAR-10 in the real directory/file layout.

    The real files are Python-2 pickles of dicts whose keys are (py2) byte strings
    ``data`` / ``labels``; torchvision unpickles them with ``encoding="latin1"``, which
    turns those keys into ``str``. A Python-3 pickle with ``bytes`` keys would therefore
    *not* load in torchvision (KeyError), so we pickle ``str`` keys: exactly what
    torchvision sees when it reads the real files. ``data`` is uint8 N×3072, each row the
    R, G and B 32×32 planes in row-major order.

    torchvision's CIFAR10 verifies the MD5 of all six batch files (and batches.meta) on
    every load, against checksums hard-coded as class attributes; fake files can never
    match them. Rather than bypassing torchvision's reader, the tests that need a
    successful load monkeypatch those class attributes with our files' checksums, so
    torchvision's real code path, integrity check included, runs. The test
    ``test_cifar10_fake_files_fail_real_checksums`` shows the unpatched check rejects them.
    """
    rng = np.random.default_rng(1)
    base = tmp_path / "cifar-root" / "cifar-10-batches-py"
    base.mkdir(parents=True)
    train_imgs, train_labels = [], []
    for b in range(1, 6):
        imgs = rng.integers(0, 256, size=(CIFAR_PER_BATCH, 3, 32, 32), dtype=np.uint8)
        if b == 1:  # a readable sentinel: constant R/G/B planes, distinct corner pixel
            imgs[0, 0], imgs[0, 1], imgs[0, 2] = 10, 20, 30
            imgs[0, 0, 0, 1] = 200  # row 0, column 1 of the red plane
        labels = rng.integers(0, 10, size=CIFAR_PER_BATCH).tolist()
        with open(base / f"data_batch_{b}", "wb") as fh:
            pickle.dump(
                {
                    "batch_label": f"training batch {b} of 5",
                    "data": imgs.reshape(CIFAR_PER_BATCH, 3072),
                    "labels": labels,
                },
                fh,
            )
        train_imgs.append(imgs)
        train_labels += labels
    test_imgs = rng.integers(0, 256, size=(CIFAR_TEST, 3, 32, 32), dtype=np.uint8)
    test_labels = rng.integers(0, 10, size=CIFAR_TEST).tolist()
    with open(base / "test_batch", "wb") as fh:
        pickle.dump(
            {"batch_label": "testing batch 1 of 1", "data": test_imgs.reshape(CIFAR_TEST, 3072), "labels": test_labels},
            fh,
        )
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    with open(base / "batches.meta", "wb") as fh:
        pickle.dump({"label_names": names, "num_cases_per_batch": CIFAR_PER_BATCH, "num_vis": 3072}, fh)
    return {
        "root": str(base.parent),
        "base": base,
        "train": (np.concatenate(train_imgs), np.array(train_labels)),
        "test": (test_imgs, np.array(test_labels)),
    }


@pytest.fixture
def cifar_checksums(cifar, monkeypatch):
    """Point torchvision's CIFAR10 integrity check at the fake files' MD5s."""
    C = torchvision.datasets.CIFAR10
    base = cifar["base"]
    monkeypatch.setattr(C, "train_list", [[f"data_batch_{b}", _md5(base / f"data_batch_{b}")] for b in range(1, 6)])
    monkeypatch.setattr(C, "test_list", [["test_batch", _md5(base / "test_batch")]])
    monkeypatch.setattr(C, "meta", {**C.meta, "md5": _md5(base / "batches.meta")})
    return cifar
