"""Atomic file writes: a temporary file in the target's directory, renamed into place only when complete."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on failure remove it."""
    path = os.fspath(path)
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    base = os.path.basename(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{base}.", suffix=".tmp", dir=directory)
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600; a result gets the permissions a plain open() would give
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def remove_stale_temporaries(path: str | os.PathLike) -> list[str]:
    """Delete temporary files that a killed writer of ``path`` left behind (never the file itself)."""
    path = os.fspath(path)
    pattern = os.path.join(os.path.dirname(path) or ".", f".{glob.escape(os.path.basename(path))}.*.tmp")
    stale = glob.glob(pattern)
    for tmp in stale:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
    return stale


def write_text(path: str | os.PathLike, text: str) -> None:
    with atomic_path(path) as tmp, open(tmp, "w") as fh:
        fh.write(text)


def write_json(path: str | os.PathLike, obj) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_parquet(path: str | os.PathLike, frame, metadata: dict[bytes, bytes] | None = None) -> None:
    """``frame`` as parquet, atomically; ``metadata`` joins the file's schema metadata."""
    if not metadata:
        with atomic_path(path) as tmp:
            frame.to_parquet(tmp, index=False)
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **metadata})
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)
