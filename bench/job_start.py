"""Benchmark (not a test): the fixed cost of starting Snakemake, written to bench/results/job-start-<date>.json.

(a) ``import atspectrum.config`` in a fresh interpreter (every Snakemake start imports it: each dry run, and on
    SLURM each job's own Snakemake start on the node), and whether that import loaded torch;
(b) a dry run of the demo config (``snakemake -n --configfile config/demo.yaml``) in an empty working directory.

One run each: on a loaded machine the numbers move; compare ratios measured in one run.
Usage: python bench/job_start.py [--src REPO_ROOT] [--label NAME]   (--src: another checkout, e.g. an older commit
exported with ``git archive``; its src/ goes first on PYTHONPATH)
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
IMPORT_PROBE = ("import sys, time; t = time.perf_counter(); import atspectrum.config; "
                "print(time.perf_counter() - t, 'torch' in sys.modules)")


def timed(cmd: list[str], env: dict, cwd: str | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if out.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return wall, out.stdout


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
        dry_s, _ = timed([sys.executable, "-m", "snakemake", "-n", "--snakefile", os.path.join(src, "Snakefile"),
                          "--configfile", os.path.join(src, "config", "demo.yaml"), "--directory", work,
                          "--cores", "1", "--quiet"], env)
    result = {"label": args.label, "src": src, "python": platform.python_version(), "machine": platform.node(),
              "cpus": os.cpu_count(), "import_config_s": float(import_s), "import_config_process_s": wall,
              "import_config_loads_torch": torch_loaded == "True", "demo_dry_run_s": dry_s}
    os.makedirs(args.out, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    path = os.path.join(args.out, f"job-start-{stamp}{'-' + args.label if args.label else ''}.json")
    with open(path, "w") as fh:
        json.dump(result, fh, indent=2)
    print(json.dumps(result, indent=2))
    print(f"written to {path}")


if __name__ == "__main__":
    main()
