"""Benchmark (not a test): the fixed cost of starting Snakemake, written to bench/results/job-start-<date>.json.

(a) ``import atspectrum.config`` in a fresh interpreter (every Snakemake start imports it: each dry run, and on
    SLURM each job's own Snakemake start on the node), and whether that import loaded torch;
(b) a dry run of the demo config (``snakemake -n --configfile config/demo.yaml``) in an empty working directory;
(c) a dry run of the paper grid (config/config.yaml), of the paper grid with five training seeds (an overlay
    ``seeds: [0, 1, 2, 3, 4]``) and of a dense spectrum (the paper's ResNet-18 alone at ε 0–24, PGD δ 1–24, 12 β and
    quantization δ 1–12): wall seconds, jobs planned, the peak memory of the dry run;
(d) the fixed cost of one evaluation job before its first batch: a fresh interpreter importing what the evaluation
    scripts import, loading the demo-sized model and the test split (no CUDA here: a GPU adds its context start).

One run each: on a loaded machine the numbers move; compare ratios measured in one run.
Usage: python bench/job_start.py [--src REPO_ROOT] [--label NAME]   (--src: another checkout, e.g. an older commit
exported with ``git archive``; its src/ goes first on PYTHONPATH)
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time

from results_file import write as write_result  # bench/, the script's own directory

HERE = os.path.dirname(os.path.abspath(__file__))
IMPORT_PROBE = (
    "import sys, time; t = time.perf_counter(); import atspectrum.config; "
    "print(time.perf_counter() - t, 'torch' in sys.modules)"
)


def timed(cmd: list[str], env: dict, cwd: str | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return wall, out.stdout


def dense_config() -> dict:
    """The paper's ResNet-18 at a dense spectrum (issue 15's planning benchmark)."""
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src"))
    import yaml

    with open(os.path.join(os.path.dirname(HERE), "config", "config.yaml")) as fh:
        cfg = yaml.safe_load(fh)
    cfg["run"] = "dense"
    cfg["models"] = {"resnet18": {**cfg["models"]["resnet18"], "eps": list(range(25))}}
    cfg["overdesign"]["delta"] = list(range(1, 25))
    cfg["overdesign"]["search"]["models"] = ["resnet18"]
    cfg["quantization"]["beta"] = [2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14, 16]
    cfg["quantization"]["delta"] = list(range(1, 13))
    return cfg


def planned(snakefile: str, configfile: str, env: dict, *overlays: str) -> dict:
    """A dry run of ``configfile`` (merged with ``overlays``): wall seconds, jobs, and the peak resident memory of the
    Snakemake process."""
    import re
    import resource

    with tempfile.TemporaryDirectory() as work:
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        wall, out = timed(
            [
                sys.executable,
                "-m",
                "snakemake",
                "-n",
                "--snakefile",
                snakefile,
                "--configfile",
                configfile,
                *overlays,
                "--directory",
                work,
                "--cores",
                "1",
                "--quiet",
                "rules",
            ],
            env,
        )
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    total = re.search(r"^total\s+(\d+)", out, flags=re.M)
    return {
        "wall_s": wall,
        "jobs": int(total.group(1)) if total else None,
        "peak_rss_mb": peak / 1024 if peak > before else None,
    }


JOB_PROBE = """
import sys, time
t = time.perf_counter()
from atspectrum import data, models
from atspectrum.evaluation import evaluate
from atspectrum.runtime import jobs
from atspectrum.attacks import transfer
from atspectrum.attacks.quantize import Quantizer
imported = time.perf_counter()
model = models.build("resnet18", 10, 1, width=8)
images, labels = data.load("fashion_mnist", None, "test")
model(evaluate._as_float(images[:300], "cpu"))
print(imported - t, time.perf_counter() - t)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", default=os.path.dirname(HERE), help="repository root to measure (default: this one)")
    ap.add_argument("--label", default="", help="a name for this measurement in the output file")
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args()
    src = os.path.abspath(args.src)
    env = dict(os.environ, PYTHONPATH=os.path.join(src, "src"))

    wall, out = timed([sys.executable, "-c", IMPORT_PROBE], env)
    import_s, torch_loaded = out.split()
    with tempfile.TemporaryDirectory() as work:
        dry_s, _ = timed(
            [
                sys.executable,
                "-m",
                "snakemake",
                "-n",
                "--snakefile",
                os.path.join(src, "Snakefile"),
                "--configfile",
                os.path.join(src, "config", "demo.yaml"),
                "--directory",
                work,
                "--cores",
                "1",
                "--quiet",
            ],
            env,
        )
    result = {
        "label": args.label,
        "src": src,
        "python": platform.python_version(),
        "machine": platform.node(),
        "cpus": os.cpu_count(),
        "import_config_s": float(import_s),
        "import_config_process_s": wall,
        "import_config_loads_torch": torch_loaded == "True",
        "demo_dry_run_s": dry_s,
    }
    snakefile = os.path.join(src, "Snakefile")
    result["paper_dry_run"] = planned(snakefile, os.path.join(src, "config", "config.yaml"), env)
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as fh:
        fh.write("seeds: [0, 1, 2, 3, 4]\n")
        fh.flush()
        try:  # a checkout from before training seeds (issue 22) refuses the key
            result["paper_5_seeds_dry_run"] = planned(
                snakefile, os.path.join(src, "config", "config.yaml"), env, fh.name
            )
        except SystemExit as exc:
            result["paper_5_seeds_dry_run"] = {"error": str(exc)[:300]}
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as fh:
        import yaml

        yaml.safe_dump(dense_config(), fh)
        fh.flush()
        result["dense_dry_run"] = planned(snakefile, fh.name, env)
    wall, out = timed([sys.executable, "-c", JOB_PROBE], env)
    imports_s, first_batch_s = (float(v) for v in out.split())
    result["eval_job_start"] = {"process_s": wall, "imports_s": imports_s, "to_first_batch_s": first_batch_s}
    write_result(args.out, "job-start", result, args.label)


if __name__ == "__main__":
    main()
