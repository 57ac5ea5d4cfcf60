"""Data: dataset sources (CIFAR-10, Fashion-MNIST: :mod:`.sources`), prepared splits (:mod:`.prepared`),
augmentation (:mod:`.augment`) and CIFAR-10-C files (:mod:`.cifar10c`)."""

from .prepared import *  # noqa: F403
from .sources import *  # noqa: F403
