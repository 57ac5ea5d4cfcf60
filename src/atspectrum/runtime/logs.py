"""Logging for workflow jobs: timestamped lines to the rule's log file (and stderr), and the job's failure.

Every workflow script starts with ``log = logs.to_file(snakemake.log[0])``. Besides returning the logger's ``info``,
that installs a :data:`sys.excepthook` which appends an uncaught exception (type, message and traceback) to the same
log file, then hands it to the previous hook (Python's prints it to stderr) — and the interpreter still exits with
status 1. So the log Snakemake points at ("check log file(s) for error details") holds the error, locally and under
SLURM alike (the job runs the same script, writing the same log)."""

from __future__ import annotations

import logging
import os
import sys
import time
import traceback

_TIME = "%Y-%m-%d %H:%M:%S"


def to_file(path: str | None, name: str = "atspectrum"):
    """A logger appending to ``path`` (created) and writing to stderr; returns its ``info`` method. Appending keeps
    the log of an earlier attempt (a job killed before its time limit, then resubmitted by ``--retries``). With a
    ``path``, an uncaught exception is also written there (:func:`log_failures`)."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(message)s", _TIME)
    handlers = [logging.StreamHandler(sys.stderr)]
    if path:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="a"))
        log_failures(path)
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    logger.info(f"---- job started (pid {os.getpid()})")
    return logger.info


def log_failures(path: str) -> None:
    """Install a :data:`sys.excepthook` that appends an uncaught exception with its traceback to ``path``, then
    calls the hook it replaced (stderr and the exit status stay as they were). Calling it again retargets the hook
    instead of stacking a second one."""
    previous = getattr(sys.excepthook, "_atspectrum_previous", sys.excepthook)

    def hook(kind, value, tb):
        try:
            with open(path, "a") as fh:
                fh.write(f"{time.strftime(_TIME)} ---- job failed (pid {os.getpid()}): {kind.__name__}: {value}\n")
                fh.write("".join(traceback.format_exception(kind, value, tb)))
        except OSError:  # the log cannot be written: stderr below still gets the error
            pass
        previous(kind, value, tb)

    hook._atspectrum_previous = previous
    sys.excepthook = hook
