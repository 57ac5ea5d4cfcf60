"""What a configured dataset is: its classes and channels, its image shape, how many images a training epoch sees,
the WRN's input normalisation and the extra params of its data preparation. The four named datasets have them fixed
(:mod:`atspectrum.specs`); an ImageFolder (``data.dataset: imagefolder``) has them from its folders
(:mod:`atspectrum.imagefolder`, read without torch).
"""

from __future__ import annotations

import math

from atspectrum import imagefolder
from atspectrum.specs import DATASET_INFO, IMAGE_SHAPE, TRAIN_IMAGES, WRN_NORMALIZATION

IMAGEFOLDER = "imagefolder"
# the WRN's input normalisation for an ImageFolder (ours): 0.5 / 0.5 per channel, [0, 1] mapped onto [-1, 1] (its
# statistics are not known when the run is planned)
IMAGEFOLDER_NORMALIZATION = 0.5


def info(data: dict) -> dict:
    """``{"num_classes", "in_channels"}`` of the configured dataset."""
    if data["dataset"] == IMAGEFOLDER:
        return imagefolder.info(data["root"])
    return dict(DATASET_INFO[data["dataset"]])


def image_shape(data: dict) -> tuple[int, int, int]:
    """The prepared images' shape (H, W, C), as CIFAR-10-C stores them: what a corruption directory must hold."""
    if data["dataset"] == IMAGEFOLDER:
        return (data["image_size"], data["image_size"], info(data)["in_channels"])
    return IMAGE_SHAPE[data["dataset"]]


def l2_diameter(data: dict) -> float:
    """The L2 diameter of the [0, 1] image cube of the prepared images, sqrt(H·W·C) (an ImageFolder counted with three
    channels, so that planning reads no image): an L2 ball of a larger radius holds every image."""
    h, w, c = (data["image_size"], data["image_size"], 3) if data["dataset"] == IMAGEFOLDER else image_shape(data)
    return math.sqrt(h * w * c)


def train_images(data: dict) -> int:
    """Images per training epoch (for the time limits): ``data.train_size``, else the training split less the
    validation images."""
    if data["train_size"]:
        return int(data["train_size"])
    if data["dataset"] == IMAGEFOLDER:
        return max(1, len(imagefolder.layout(data["root"])["files"]["train"]) - int(data["val_size"]))
    return TRAIN_IMAGES[data["dataset"]]


def wrn_normalization(data: dict) -> dict | None:
    """The WRN's mean and std for the dataset, None for its default (CIFAR-10's; 0.5 / 0.5 for one channel)."""
    if data["dataset"] == IMAGEFOLDER:
        c = info(data)["in_channels"]
        return {"mean": [IMAGEFOLDER_NORMALIZATION] * c, "std": [IMAGEFOLDER_NORMALIZATION] * c}
    found = WRN_NORMALIZATION.get(data["dataset"])
    return None if found is None else {k: list(v) for k, v in found.items()}


def prepare_params(data: dict) -> dict:
    """Params of the data preparation beyond those every dataset has: an ImageFolder's ``image_size``. Empty for
    the other datasets, so that the option's existence leaves their prepared data (and every model) up to date."""
    return {"image_size": data["image_size"]} if data["dataset"] == IMAGEFOLDER else {}
