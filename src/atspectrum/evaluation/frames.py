"""Per-example frames combined and read back, without torch (the aggregate jobs import this, not
:mod:`atspectrum.evaluation.evaluate`): the per-example worst case over several attacks and one quantization cell's
frame read from a job's declared inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from atspectrum.specs import WORST


class FrameMismatchError(ValueError):
    """Per-example frames that do not describe the same test examples."""


def worst_case(frames) -> pd.DataFrame:
    """The per-example worst case over several attacks on one cell: an example is correct only if it is correct under
    every attack. ``frames`` maps attack names to per-example frames (or is a sequence of frames), paired by
    ``index``; their indices and labels must agree. ``pred`` is the prediction under the first attack (in the given
    order) that misclassifies the example, else the label; ``attack`` names that attack ("" when none did)."""
    named = list(frames.items()) if hasattr(frames, "items") else [(str(i), f) for i, f in enumerate(frames)]
    if not named:
        raise ValueError("worst_case needs at least one frame")
    ref_name, ref = named[0]
    ref = ref.sort_values("index", kind="stable").reset_index(drop=True)
    correct = np.ones(len(ref), dtype=bool)
    pred = ref["label"].to_numpy(dtype=np.int64).copy()
    broken_by = np.full(len(ref), "", dtype=object)
    for name, frame in named:
        f = frame.sort_values("index", kind="stable").reset_index(drop=True)
        if len(f) != len(ref) or not np.array_equal(f["index"].to_numpy(), ref["index"].to_numpy()):
            raise FrameMismatchError(
                f"worst case: the examples of {name!r} ({len(f)}) are not those of "
                f"{ref_name!r} ({len(ref)}): indices differ"
            )
        if not np.array_equal(f["label"].to_numpy(), ref["label"].to_numpy()):
            raise FrameMismatchError(
                f"worst case: labels of {name!r} differ from those of {ref_name!r} (another test set?)"
            )
        first = correct & ~f["correct"].to_numpy(dtype=bool)
        pred[first], broken_by[first] = f["pred"].to_numpy(dtype=np.int64)[first], name
        correct &= ~first
    return pd.DataFrame(
        {
            "index": ref["index"].to_numpy(dtype=np.int64),
            "label": ref["label"].to_numpy(np.int64),
            "pred": pred,
            "correct": correct,
            "attack": broken_by,
        }
    )


def read_cell(index, cell, worst_of=()) -> pd.DataFrame:
    """The per-example frame of one cell from a job's declared inputs (``index``, an
    :class:`atspectrum.planning.CellIndex`); a cell of attack ``worst`` combines the cells of every attack in
    ``worst_of`` with :func:`worst_case` (an aggregate: nothing is evaluated)."""
    if cell.attack != WORST:
        return index.frame(cell)
    if not worst_of:
        raise ValueError("the worst case needs the attacks it combines (worst_of)")
    return worst_case({a: index.frame(cell.replace(attack=a)) for a in worst_of})
