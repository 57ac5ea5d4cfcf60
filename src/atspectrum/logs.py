"""Logging for workflow jobs: timestamped lines to the rule's log file (and stderr)."""
from __future__ import annotations

import logging
import os
import sys


def to_file(path: str | None, name: str = "atspectrum"):
    """A logger writing to ``path`` (created) and to stderr; returns its ``info`` method."""
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers = [logging.StreamHandler(sys.stderr)]
    if path:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        handlers.append(logging.FileHandler(path, mode="w"))
    for h in handlers:
        h.setFormatter(fmt)
        logger.addHandler(h)
    return logger.info
