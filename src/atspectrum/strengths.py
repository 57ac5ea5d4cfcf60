"""Attack and training strengths (ε, δ) and their threat model, importable without torch.

A model's ``threat_model`` (config) is ``linf`` or ``l2``. An L∞ strength is an integer in units of 1/255 (the
paper's: 8 means a pixel may move by 8/255); an L2 strength is a float, the radius of the L2 ball in [0, 1] pixel
space (0.5 means ‖x_adv − x‖₂ ≤ 0.5). The value's type carries the norm through the plan: :func:`strength` keeps
L∞ strengths ``int`` and L2 strengths ``float``, and every file name spells a strength with :func:`token`, which
names the norm of an L2 strength (``eps8``, ``delta4`` for L∞ as always; ``eps0p5_l2``, ``delta1_l2`` for L2), so a
path, a wildcard and a table column say which ball they mean and parse back to the same value.
"""

from __future__ import annotations

import decimal
import functools
import numbers
import re

LINF, L2 = "linf", "l2"
NORMS = (LINF, L2)
L2_SUFFIX = "_l2"
# a strength's token as a wildcard's regular expression (Snakemake's constraints and the path parsers)
TOKEN_RE = r"[0-9]+(?:p[0-9]+)?(?:_l2)?"
_TOKEN = re.compile(r"(?P<int>[0-9]+)(?:p(?P<frac>[0-9]+))?(?P<l2>_l2)?")


def strength(value) -> int | float:
    """The canonical value of a strength: a token (``"8"``, ``"0p5_l2"``) parsed, an integer (also numpy's) as
    ``int`` (L∞), any other real number as ``float`` (L2). ValueError for anything else, naming it."""
    if isinstance(value, str):
        return _parse(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"a strength must be a number, got {value!r}")
    return int(value) if isinstance(value, numbers.Integral) else float(value)


@functools.lru_cache(maxsize=1024)  # planning parses the same few tokens many times
def _parse(text: str) -> int | float:
    m = _TOKEN.fullmatch(text)
    if m is None or (m["frac"] is not None and m["l2"] is None):
        raise ValueError(f"{text!r} is not a strength token (8 for L∞ 8/255, 0p5_l2 for an L2 radius of 0.5)")
    if m["l2"] is None:
        return int(m["int"])
    return float(f"{m['int']}.{m['frac'] or 0}")


def norm_of(value) -> str:
    """The threat model a strength (value or token) belongs to: ``l2`` for a float, ``linf`` for an integer."""
    return L2 if isinstance(strength(value), float) else LINF


def as_norm(value, norm: str) -> int | float:
    """A configured strength as ``norm``'s value: ``float`` for L2 (``1`` in an L2 model's config means 1.0); for L∞
    an integer, ValueError for a fractional one (the caller names the key)."""
    if norm == L2:
        return float(value)
    if norm != LINF:
        raise ValueError(f"unknown threat model {norm!r}; valid: {', '.join(NORMS)}")
    v = strength(value)
    if isinstance(v, float) and not v.is_integer():
        raise ValueError(f"{value!r} is not an integer")
    return int(v)


def like(value, reference) -> int | float:
    """``value`` as a strength of ``reference``'s threat model (δ = 0 of an L2 model is ``0.0``)."""
    return as_norm(value, norm_of(reference))


@functools.lru_cache(maxsize=1024)
def _float_token(value: float) -> str:
    if value.is_integer():
        return str(int(value)) + L2_SUFFIX
    # the shortest decimal that reads back as this float, never in exponent form (1e-05 → 0.00001)
    return format(decimal.Decimal(repr(value)), "f").replace(".", "p") + L2_SUFFIX


def token(value) -> str:
    """A strength as a path token: L∞ ``8`` → ``8``; L2 ``0.5`` → ``0p5_l2``, ``1.0`` → ``1_l2``. A string is
    taken as a token (or a rule's ``{wildcard}``) already."""
    if isinstance(value, str):
        return value
    v = strength(value)
    return _float_token(v) if isinstance(v, float) else str(v)


def label(value) -> str:
    """A strength for people: ``8/255`` (L∞) or ``0.5 (L2)``."""
    v = strength(value)
    return f"{v:g} (L2)" if isinstance(v, float) else f"{v}/255"


def unit_label(norm: str) -> str:
    """The unit of a threat model's strengths, for axis labels and captions."""
    return "L2 radius" if norm == L2 else "×1/255"
