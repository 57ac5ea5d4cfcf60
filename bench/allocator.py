"""What keeping freed memory (``atspectrum.runtime.jobs.keep_freed_memory``) does to a CPU attack.

Runs PGD_16-10 (``evaluate.pgd_per_example``) on the demo's network (ResNet-18 of width 8, 1x28x28 inputs) over 300
random images on one thread, in two fresh processes back to back: glibc's defaults, then with the job setting. Reports
wall time per image and attack step, user and system CPU time and minor page faults, and the ratio.

    .venv/bin/python bench/allocator.py [--repeats 3]
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import results_file  # noqa: E402

CHILD = r"""
import json, resource, sys, time
import torch
from atspectrum import models
from atspectrum.evaluation import evaluate
from atspectrum.runtime import jobs
from atspectrum.specs import PGDSpec

torch.set_num_threads(1)
tuned = jobs.keep_freed_memory() if sys.argv[1] == "tuned" else False
model = models.build("resnet18", num_classes=10, in_channels=1, width=8, seed=0)
images = torch.randint(0, 256, (300, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
labels = torch.randint(0, 10, (300,), generator=torch.Generator().manual_seed(1))
spec = PGDSpec(10, 0.2, True)
evaluate.pgd_per_example(model, images[:32], labels[:32], 16, spec)  # warm-up
before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
evaluate.pgd_per_example(model, images, labels, 16, spec, batch_size=300)
wall = time.perf_counter() - start
after = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"tuned": tuned, "ms_per_image_step": wall / 300 / (spec.steps + 1) * 1e3,
                  "wall_s": wall, "user_s": after.ru_utime - before.ru_utime,
                  "sys_s": after.ru_stime - before.ru_stime, "minor_faults": after.ru_minflt - before.ru_minflt}))
"""


def run(mode: str) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, mode], env=env, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--label", default="")
    args = ap.parse_args()
    rounds = [{"default": run("default"), "tuned": run("tuned")} for _ in range(args.repeats)]
    best = {mode: min(r[mode]["wall_s"] for r in rounds) for mode in ("default", "tuned")}
    result = {
        "cpus": os.cpu_count(),
        "rounds": rounds,
        "best_wall_s": best,
        "speedup_default_over_tuned": best["default"] / best["tuned"],
    }
    results_file.write(os.path.join(HERE, "results"), "allocator", result, args.label)


if __name__ == "__main__":
    main()
