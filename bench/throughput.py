"""GPU throughput of PGD-k adversarial training (not a test): images/s per precision / memory format / compile,
and the projected GPU-hours of the paper's ResNet-18 and WRN-28-10 spectra. Writes bench/results/throughput-*.json.

The arithmetic floor (issue 7): CIFAR ResNet-18 ≈ 1.1 GFLOP per forward, PGD-10 AT ≈ 25 GFLOP per image; at an
H100's ≈ 800 TFLOP/s bf16 that is ≈ 31,000 img/s. Goal: ≥ 8,000 img/s in bf16.
Usage: python bench/throughput.py [--images 10240] [--configs fp32,fp32+cl,bf16,bf16+cl,bf16+cl+compile]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
from atspectrum import models  # noqa: E402
from atspectrum.train import TrainConfig, train  # noqa: E402

PAPER = {  # (AT models, AT epochs, AT batch, standard epochs, standard batch), CIFAR-10 minus 1,000 validation
    "resnet18": (12, 200, 256, 50, 512),
    "wrn28_10": (6, 200, 128, 50, 512),
}
TRAIN_IMAGES = 49_000


def epoch_rate(arch, width, images, labels, eps, batch, precision, channels_last, compile_, steps=10):
    cfg = TrainConfig(
        eps=eps,
        epochs=2,
        batch_size=batch,
        attack_steps=steps,
        select="last",
        precision=precision,
        channels_last=channels_last,
        compile=compile_,
    )
    torch.manual_seed(0)
    model = models.build(arch, 10, 3, width=width)
    _, rows, _ = train(model, (images, labels), (images[:0], labels[:0]), cfg, device="cuda")
    return len(labels) / rows[-1]["train_seconds"], rows[0]["train_seconds"]  # epoch 2: compiled and warm


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=10240)
    ap.add_argument("--configs", default="fp32,fp32+cl,bf16,bf16+cl,bf16+cl+compile")
    ap.add_argument("--wrn", default="bf16+cl", help="configs for WRN-28-10 (comma separated, '' for none)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    args = ap.parse_args()
    assert torch.cuda.is_available(), "throughput.py measures a CUDA GPU"
    torch.backends.cudnn.benchmark = True
    images = torch.randint(0, 256, (args.images, 3, 32, 32), dtype=torch.uint8)
    labels = torch.randint(0, 10, (args.images,))
    result = {"gpu": torch.cuda.get_device_name(), "torch": torch.__version__, "images": args.images, "rows": []}
    confs = [c for c in args.configs.split(",") if c]
    plan = (
        [("resnet18", 64, c) for c in confs if "compile" not in c]
        + [("wrn28_10", 10, c) for c in args.wrn.split(",") if c]
        + [("resnet18", 64, c) for c in confs if "compile" in c]
    )  # compiling is slow: last
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"throughput-{time.strftime('%Y%m%d-%H%M%S')}.json")
    for arch, width, conf in plan:
        parts = conf.split("+")
        opts = dict(precision=parts[0], channels_last="cl" in parts, compile_="compile" in parts)
        at_batch, clean_batch = PAPER[arch][2], PAPER[arch][4]
        at, first = epoch_rate(arch, width, images, labels, 8, at_batch, **opts)
        clean, _ = epoch_rate(arch, width, images, labels, 0, clean_batch, **opts)
        n_at, e_at, _, e_std, _ = PAPER[arch]
        hours = (n_at * e_at * TRAIN_IMAGES / at + e_std * TRAIN_IMAGES / clean) / 3600
        row = {
            "arch": arch,
            "config": conf,
            "at_images_per_s": at,
            "clean_images_per_s": clean,
            "first_epoch_s": first,
            "projected_training_gpu_hours": hours,
        }
        result["rows"].append(row)
        print(
            f"{arch:9s} {conf:18s} PGD-10 AT {at:8.0f} img/s  clean {clean:8.0f} img/s  "
            f"spectrum training ≈ {hours:6.2f} GPU-h",
            flush=True,
        )
        with open(path, "w") as fh:  # after every row: a cut-off run keeps what it measured
            json.dump(result, fh, indent=2)
    print(f"written to {path}")


if __name__ == "__main__":
    main()
