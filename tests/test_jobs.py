"""Per-job setup: the allocator keeps freed memory, so a CPU attack step does not fault its activations in again."""

import ast
import ctypes
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = r"""
import resource, sys, torch
from atspectrum import models
from atspectrum.runtime import jobs
if sys.argv[1] == "setup":
    jobs.setup(1, "cpu")
else:
    torch.set_num_threads(1)
model = models.build("resnet18", num_classes=10, in_channels=1, width=8, seed=0).eval()
x = torch.rand(128, 1, 28, 28)
def step():
    inp = x.clone().requires_grad_(True)
    torch.autograd.grad(model(inp).sum(), inp)
step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(mode: str) -> int:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", CHILD, mode], env=env, check=True, capture_output=True, text=True)
    return int(out.stdout.strip().splitlines()[-1])


GLIBC = sys.platform.startswith("linux") and hasattr(ctypes.CDLL(None), "mallopt")


@pytest.mark.skipif(not GLIBC, reason="the C library is not glibc")
def test_job_setup_stops_attack_steps_from_faulting_their_memory_in_again():
    # five forward-backward passes of the demo network on 128 images: with glibc's defaults every pass unmaps and
    # faults in its activations again (about 45,000 minor faults here), after jobs.setup they are reused (about 3,000)
    default, tuned = _faults("default"), _faults("setup")
    assert tuned * 4 < default, (tuned, default)


# the jobs that read tables and frames: each would pay torch's import (about 2 s) for nothing
REPORTING_SCRIPTS = [
    "aggregate_quantization",
    "aggregate_quantization_clean",
    "aggregate_overdesign",
    "aggregate_filter_norms",
    "aggregate_corruption_average",
    "checklist",
    "claims",
    "compute_accounting",
    "run_config",
    "search_step",
    "search_result",
    "aggregate_search",
]


def test_reporting_jobs_import_no_torch():
    scripts = Path(__file__).resolve().parents[1] / "workflow" / "scripts"
    imports = []
    for name in REPORTING_SCRIPTS:
        tree = ast.parse((scripts / f"{name}.py").read_text())
        imports += [ast.unparse(node) for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    code = "\n".join(sorted(set(imports))) + "\nimport sys\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split() == ["False"], code
