"""Small synthetic datasets for tests."""

import functools
import os

import numpy as np
import torch


def bars(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Three classes told apart by where a brighter bar lies on noise: a task a tiny network learns in seconds and
    that small perturbations can still attack (uint8 N×1×28×28 images, int64 labels)."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=g)
    images = torch.randint(0, 80, (n, 1, 28, 28), generator=g, dtype=torch.uint8)
    for i, c in enumerate(labels.tolist()):
        images[i, 0, 4 + 7 * c : 10 + 7 * c, 4:24] += 80
    return images, labels


@functools.cache
def trained_bars_model():
    """A tiny ResNet-18 trained on the bars (train accuracy > 90%), so that attacks and quantization matter.
    Trained once per test session; callers only attack and evaluate it (eval mode, parameters untouched)."""
    from atspectrum import models
    from atspectrum.train import TrainConfig, train

    torch.manual_seed(0)
    m = models.build("resnet18", num_classes=3, in_channels=1, width=4)
    cfg = TrainConfig(
        eps=0, epochs=4, batch_size=32, lr=0.05, lr_milestones=(10,), crop_padding=0, flip=False, select="last"
    )
    m, rows, _ = train(m, bars(192, 0), bars(0, 1), cfg)
    assert rows[-1]["train_acc"] > 90
    return m.eval()


def write_svhn(root, sizes=None, seed=0):
    """SVHN's cropped-digits files (``train_32x32.mat``, ``test_32x32.mat``) in their real format: ``X`` uint8
    32×32×3×N, ``y`` N×1 with labels 1..10 (10 is the digit 0), each image with a bright class-dependent bar so that
    a small model can learn it. Returns ``{split: (X, y)}`` as written."""
    from scipy.io import savemat

    sizes = sizes or {"train": 400, "test": 64}
    g = np.random.default_rng(seed)
    written = {}
    for split, n in sizes.items():
        y = g.integers(1, 11, size=(n, 1)).astype(np.uint8)
        x = g.integers(0, 80, size=(32, 32, 3, n)).astype(np.uint8)
        for i, label in enumerate(y[:, 0] % 10):
            x[3 * label : 3 * label + 3, 4:28, :, i] = 230
        savemat(os.path.join(root, f"{split}_32x32.mat"), {"X": x, "y": y})
        written[split] = (x, y)
    return written


def write_cifar100(root, sizes=None, seed=0, classes=100):
    """CIFAR-100's python version (``<root>/cifar-100-python/{train,test}``) in its real format: a pickled dict with
    ``data`` (uint8 N×3072, the channel-major rows of 32×32×3 images), ``fine_labels`` and ``coarse_labels``; each
    image has a bright class-dependent bar (labels drawn from the first ``classes`` classes). Returns
    ``{split: (data, fine_labels)}`` as written."""
    import pickle

    sizes = sizes or {"train": 400, "test": 64}
    base = os.path.join(root, "cifar-100-python")
    os.makedirs(base, exist_ok=True)
    g = np.random.default_rng(seed)
    written = {}
    for split, n in sizes.items():
        fine = g.integers(0, classes, size=n)
        images = g.integers(0, 80, size=(n, 3, 32, 32)).astype(np.uint8)
        for i, label in enumerate(fine):
            images[i, :, label % 32, 4:28] = 230
        data = images.reshape(n, 3072)
        batch = {"data": data, "fine_labels": fine.tolist(), "coarse_labels": (fine // 5).tolist()}
        with open(os.path.join(base, split), "wb") as fh:
            pickle.dump(batch, fh, protocol=2)
        written[split] = (data, fine)
    return written


def write_imagefolder(root, classes=("ant", "bee", "cat"), sizes=None, seed=0, side=(40, 36), gray=False):
    """An ImageFolder (``<root>/{train,test}/<class>/<i>.png``, every fourth image a ``.jpg``) of ``side`` (W, H)
    images, RGB or (``gray``) single-channel, each with a bright bar whose row depends on its class. Returns
    ``{split: [(path, label), ...]}`` in the order the files sort."""
    from PIL import Image

    sizes = sizes or {"train": 400, "test": 64}
    g = np.random.default_rng(seed)
    written = {}
    for split, n in sizes.items():
        written[split] = []
        for i in range(n):
            label = i % len(classes)
            pixels = g.integers(0, 80, size=(side[1], side[0], 3)).astype(np.uint8)
            row = side[1] * (label + 1) // (len(classes) + 1)
            pixels[row - 2 : row + 2, 4:-4] = 230
            folder = os.path.join(root, split, classes[label])
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, f"{i:04d}.{'jpg' if i % 4 == 3 else 'png'}")
            image = Image.fromarray(pixels)
            (image.convert("L") if gray else image).save(path)
            written[split].append((path, label))
        written[split].sort()
    return written


# A user's own network, as the text of its file (issue #24, part 2): conv-BN-ReLU, a strided conv and ReLU, pooled,
# linear; built with the data's classes and channels
OWN_NET = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, num_classes, in_channels, width=4):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, stride=2, padding=1), nn.ReLU(),
        )
        self.head = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.head(self.body(x).mean(dim=(2, 3)))
"""


# A user's own attacks, as the text of their file (issue #24, part 5): torchattacks-style classes, built as
# Class(model, eps=<budget in [0, 1]>, **kwargs) and called as attack(images, labels)
OWN_ATTACKS = '''
import torch


class RandomSign:
    """Every pixel moved by +-scale * eps at random, from torch's global RNG (as torchattacks' random starts)."""

    def __init__(self, model, eps, scale=1.0):
        self.model, self.eps, self.scale = model, eps, scale

    def __call__(self, images, labels):
        step = torch.randint(0, 2, images.shape, device=images.device).float().mul(2).sub(1)
        return (images + self.scale * self.eps * step).clamp(0, 1)


class Overshoot(RandomSign):
    """A user's bug: twice the budget."""

    def __init__(self, model, eps):
        super().__init__(model, eps, scale=2.0)
'''
