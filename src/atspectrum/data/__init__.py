"""Data: dataset sources (CIFAR-10, Fashion-MNIST: where they are, :mod:`.sources`; reading them, :mod:`.readers`),
prepared splits (:mod:`.prepared`),
augmentation (:mod:`.augment`) and CIFAR-10-C files (:mod:`.cifar10c`)."""

from .prepared import *  # noqa: F403
from .readers import *  # noqa: F403
from .sources import *  # noqa: F403
