"""What a job costs: the adversarial-training throughput per (architecture, precision), measured
(``bench/results/throughput-*.json``) or from the table below, and the time limit of a training job."""

from __future__ import annotations

import json
import os
from pathlib import Path

from atspectrum.config import datasets
from atspectrum.config.grid import train_config

# PGD-10 adversarial-training images/s on one H200 at the paper's batch sizes, per (architecture, training precision);
# used only to size SLURM time limits (docs/performance.md; bench/throughput.py): ResNet-18 (batch 256) 3,098 in
# fp32 and 4,221 in bf16 (+ channels-last); WRN-28-10 (batch 128) 907 in bf16 (+ channels-last). WRN-28-10 in fp32
# was not measured: estimated as its bf16 rate / _FP32_SLOWDOWN (ours: a compute-bound WRN-28-10 loses bf16's tensor
# cores in full, unlike ResNet-18, which is launch-bound at batch 256 and only 1.36 x slower in fp32).
_FP32_SLOWDOWN = 2.5
_AT_IMAGES_PER_S = {
    ("resnet18", "fp32"): 3098.0,
    ("resnet18", "bf16"): 4221.0,
    ("wrn28_10", "bf16"): 907.0,
    ("wrn28_10", "fp32"): 907.0 / _FP32_SLOWDOWN,
}
BENCH_DIR = Path(__file__).resolve().parents[3] / "bench" / "results"


def at_images_per_second(arch: str, precision: str, bench_dir: str | os.PathLike | None = BENCH_DIR) -> float:
    """PGD-10 AT throughput of ``arch`` trained in ``precision`` on 32×32 images: the slowest uncompiled measurement
    of that pair in the newest ``bench_dir/throughput-*.json`` (bench/throughput.py) that has one, else the table
    above; for an architecture in neither (one of the user's or torchvision's), the table's slowest rate in that
    precision (WRN-28-10's: generous for most models at this size; a measurement of the architecture replaces it)."""
    files = sorted(Path(bench_dir).glob("throughput-*.json"), reverse=True) if bench_dir else []
    for path in files:
        try:
            rows = json.loads(path.read_text()).get("rows", [])
            rates = [
                float(r["at_images_per_s"])
                for r in rows
                if r.get("arch") == arch
                and str(r.get("config", "")).split("+")[0] == precision
                and "compile" not in str(r.get("config"))
            ]
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            continue  # an unreadable or cut-off benchmark file: the next one, else the table
        if rates:
            return min(rates)
    if (arch, precision) in _AT_IMAGES_PER_S:
        return _AT_IMAGES_PER_S[(arch, precision)]
    return min(rate for (_, p), rate in _AT_IMAGES_PER_S.items() if p == precision)


def train_runtime_minutes(config: dict, model: str, eps: int, bench_dir: str | os.PathLike | None = BENCH_DIR) -> int:
    """A generous time limit for one training job: 1.5 × the cost of its epochs at the measured throughput of its
    architecture in its precision (:func:`at_images_per_second`; images larger than 32×32 cost in proportion to
    their pixels), plus 30 minutes. Override it with Snakemake's
    ``--set-resources train:runtime=<minutes>``."""
    t = train_config(config, model, eps)
    h, w, _ = datasets.image_shape(config["data"])
    images = datasets.train_images(config["data"]) * max(1.0, h * w / 32**2)  # larger images cost their pixels
    # forward-backward passes per image, in units of a PGD-10 AT step's 11; TRADES adds the clean term's pass
    passes = (t.attack_steps + 1 + (t.method == "trades")) / 11 if eps else 1 / 11
    rate = at_images_per_second(config["models"][model]["arch"], t.precision, bench_dir)
    seconds = t.epochs * images / rate * passes
    return int(30 + 1.5 * seconds / 60)
