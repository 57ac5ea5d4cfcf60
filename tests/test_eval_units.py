"""Evaluation units: the per-cell cache that keeps reruns and failures cheap (which cells a unit holds is
atspectrum.planning's: tests/test_planning.py)."""

import numpy as np
import pandas as pd
import pytest

from atspectrum.evaluation import units as U
from atspectrum.planning import Cell


def frame(seed: int, n: int = 20) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    pred = np.where(rng.random(n) < 0.5, labels, (labels + 1) % 10)
    return pd.DataFrame({"index": np.arange(n), "label": labels, "pred": pred, "correct": pred == labels})


def test_a_cell_key_changes_with_everything_that_determines_the_cell():
    params = {"model": "rn", "attack": "bpda", "settings": {"steps": 20}, "seed": 0, "delta": 4, "q": "beta8"}
    files = {"model": "m1", "test": "t1", "adv": None}
    key = U.cell_key(params, 8, "conv0", files)
    assert key == U.cell_key(dict(reversed(params.items())), 8, "conv0", dict(files))
    variants = [
        U.cell_key({**params, k: v}, 8, "conv0", files)
        for k, v in (
            ("settings", {"steps": 21}),
            ("seed", 1),
            ("delta", 5),
            ("q", "beta4"),
            ("attack", "bpda5x"),
            ("model", "wrn"),
        )
    ]
    variants += [U.cell_key(params, 12, "conv0", files), U.cell_key(params, 8, "layer1", files)]
    variants += [U.cell_key(params, 8, "conv0", {**files, k: "other"}) for k in files]
    assert len({key, *variants}) == len(variants) + 1


def test_file_digest_follows_the_contents(tmp_path):
    f = tmp_path / "model.pt"
    f.write_bytes(b"a" * 100)
    first = U.file_digest(f)
    f.write_bytes(b"b" * 100)
    assert U.file_digest(f) != first
    f.write_bytes(b"a" * 100)
    assert U.file_digest(f) == first


def cells_in(tmp_path, n=3):
    cells = [Cell("rn", 0, e, "bpda", 4, "conv0", 8) for e in range(n)]
    return [(c, c.path(str(tmp_path))) for c in cells]


def by_eps(fn):
    """``fn(eps)`` as a function of a cell."""
    return lambda cell: fn(cell.eps)


def test_a_unit_that_fails_half_way_keeps_its_finished_cells_and_its_rerun_computes_only_the_rest(tmp_path):
    cells = cells_in(tmp_path)
    calls = []

    def failing(cell):
        eps = cell.eps
        calls.append(eps)
        if eps == 1:
            raise RuntimeError("out of memory")
        return frame(eps)

    with pytest.raises(RuntimeError, match="out of memory"):
        U.run(cells, by_eps(lambda e: f"key{e}"), failing, log=lambda _: None)
    assert calls == [0, 1]
    assert pd.read_parquet(cells[0][1]).equals(frame(0)) and U.stored_key(cells[0][1]) == "key0"
    assert U.stored_key(cells[1][1]) is None  # nothing half-written

    calls.clear()
    manifest = U.run(
        cells, by_eps(lambda e: f"key{e}"), by_eps(lambda e: calls.append(e) or frame(e)), log=lambda _: None
    )
    assert calls == [1, 2] and (manifest["reused"], manifest["computed"]) == (1, 2)
    assert [c["key"] for c in manifest["cells"]] == ["key0", "key1", "key2"]
    assert [c["cell"] for c in manifest["cells"]] == [c.as_dict() for c, _ in cells]
    for cell, path in cells:
        assert pd.read_parquet(path).equals(frame(cell.eps)) and U.stored_key(path) == f"key{cell.eps}"


def test_a_cell_whose_key_changed_is_recomputed(tmp_path, monkeypatch):
    cells = cells_in(tmp_path, 2)
    U.run(cells, by_eps(lambda e: "old"), by_eps(frame), log=lambda _: None)
    calls = []
    manifest = U.run(
        cells,
        by_eps(lambda e: "new" if e == 1 else "old"),
        by_eps(lambda e: calls.append(e) or frame(10 + e)),
        log=lambda _: None,
    )
    assert calls == [1] and manifest["reused"] == 1
    assert pd.read_parquet(cells[1][1]).equals(frame(11)) and U.stored_key(cells[1][1]) == "new"
    # ATSPECTRUM_RECOMPUTE: every cell again, whatever its key
    monkeypatch.setenv(U.RECOMPUTE_ENV, "1")
    calls.clear()
    assert (
        U.run(
            cells,
            by_eps(lambda e: "new" if e == 1 else "old"),
            by_eps(lambda e: calls.append(e) or frame(e)),
            log=lambda _: None,
        )["reused"]
        == 0
    )
    assert calls == [0, 1]


def test_a_file_without_a_key_or_unreadable_is_no_cached_cell(tmp_path):
    plain = tmp_path / "plain.parquet"
    frame(0).to_parquet(plain)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet")
    assert U.stored_key(plain) is None and U.stored_key(broken) is None
    assert U.stored_key(tmp_path / "missing.parquet") is None


def test_a_cell_that_is_not_fresh_is_recomputed_even_with_its_key(tmp_path):
    """A PGD cell that also writes transfer examples is current only with them (``fresh``)."""
    cells = cells_in(tmp_path, 2)
    U.run(cells, by_eps(lambda e: "k"), by_eps(frame), log=lambda _: None)
    calls = []
    manifest = U.run(
        cells,
        by_eps(lambda e: "k"),
        by_eps(lambda e: calls.append(e) or frame(e)),
        lambda _: None,
        fresh=lambda cell, key: cell.eps != 1,
    )
    assert calls == [1] and manifest["reused"] == 1
