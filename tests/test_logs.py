"""A failing job's log holds its failure: exception type, message and traceback (stderr keeps it too)."""

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "workflow" / "scripts"


def _run(code: str, tmp_path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_an_uncaught_exception_goes_to_the_log_and_stderr_and_the_job_fails(tmp_path):
    log = tmp_path / "logs" / "job.log"
    proc = _run(
        f"""
        from atspectrum.runtime import logs
        logs.to_file({str(tmp_path / "other.log")!r})  # an earlier call: the hook is retargeted, not stacked
        log = logs.to_file({str(log)!r})
        log("working")
        def inner():
            raise ValueError("bad value 42 in key 'x'")
        inner()
        """,
        tmp_path,
    )
    assert proc.returncode == 1
    text = log.read_text()
    assert "working" in text
    assert re.search(r"---- job failed \(pid \d+\): ValueError: bad value 42 in key 'x'", text)
    assert "Traceback (most recent call last)" in text and "in inner" in text
    assert text.count("Traceback") == 1
    assert "---- job failed" not in (tmp_path / "other.log").read_text()
    assert "Traceback" in proc.stderr and "ValueError: bad value 42" in proc.stderr  # stderr too, once
    assert proc.stderr.count("Traceback") == 1


def test_a_real_script_writes_its_failure_to_its_log(tmp_path):
    """search_step.py (torch-free, so quick), run as Snakemake runs it: a module with a global ``snakemake``, here
    with a validation frame that does not exist."""
    log = tmp_path / "logs" / "search_step" / "r_d2_eps2.log"
    missing = tmp_path / "eval" / "val_pgd_delta2.parquet"
    proc = _run(
        f"""
        import runpy
        from types import SimpleNamespace as NS
        smk = NS(log=[{str(log)!r}], wildcards=NS(model="r", delta="2", eps="2"),
                 input=NS(val={str(missing)!r}), output=[{str(tmp_path / "step.json")!r}],
                 params=NS(settings=dict(delta=2, step=1, patience=2, max_eps=8)))
        runpy.run_path({str(SCRIPTS / "search_step.py")!r}, init_globals={{"snakemake": smk}})
        """,
        tmp_path,
    )
    assert proc.returncode == 1
    text = log.read_text()
    assert "---- job started" in text
    assert re.search(r"---- job failed \(pid \d+\): FileNotFoundError: .*val_pgd_delta2\.parquet", text)
    assert "Traceback (most recent call last)" in text and "search_step.py" in text
    assert "FileNotFoundError" in proc.stderr


def test_every_script_with_a_log_starts_its_log_with_the_failure_hook():
    """A new script that logs some other way would lose its errors from its log again."""
    for script in sorted(SCRIPTS.glob("*.py")):
        assert "logs.to_file(snakemake.log[0])" in script.read_text(), script.name
