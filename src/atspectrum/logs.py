"""Logging for workflow jobs: timestamped lines to the rule's log file (and stderr)."""
from __future__ import annotations

import logging
import os
import sys


def to_file(path: str | None, name: str = "atspectrum"):
    """A logger appending to ``path`` (created) and writing to stderr; returns its ``info`` method. Appending keeps
    the log of an earlier attempt (a job killed before its time limit, then resubmitted by ``--retries``)."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers = [logging.StreamHandler(sys.stderr)]
    if path:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="a"))
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    logger.info(f"---- job started (pid {os.getpid()})")
    return logger.info
