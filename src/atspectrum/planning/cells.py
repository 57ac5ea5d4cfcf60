"""The value types of the grid and their files: one evaluation :class:`Cell`, the :class:`Unit` (job) that computes
several cells, and the only mapping between them and their paths (:meth:`Cell.path`, :func:`parse`).

A cell is everything that determines one per-example result: the model, the training seed, the training strength ε,
the attack (``pgd``, ``transfer``, ``bpda``, ``apgd-bpda``, the checklist's more-steps runs ``pgd<k>x`` /
``bpda<k>x``, the name of one of the user's ``eval.extra_attacks``), the attack strength δ, and where the features are
quantized (``layer``, ``beta``; ``none`` for the unquantized model). Its file::

    results/<run>/eval/<model>/seed<s>/eps<ε>/<attack>/delta<δ>/none.parquet
    results/<run>/eval/<model>/seed<s>/eps<ε>/<attack>/delta<δ>/<layer>/beta<β>.parquet

ε and δ are spelled as strength tokens (``8``; an L2 radius ``0p5_l2``: atspectrum.strengths).

A unit is one job: every (ε, layer) cell of one (model, seed, attack, δ, q), q = ``none`` or ``beta<β>``; its output
is its manifest ``results/<run>/eval/<model>/seed<s>/units/<attack>/delta<δ>/<q>.json``, which lists its cells.

Torch-free and pandas-free: the Snakefile imports it to plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from atspectrum.runtime.paths import adv_file as adv_path  # noqa: F401 (re-exported: a cell's path vocabulary)
from atspectrum.runtime.paths import beta_token, beta_value, qpoint  # noqa: F401 (beta_token re-exported)
from atspectrum.specs import MORE_STEPS_ATTACK
from atspectrum.strengths import TOKEN_RE, strength
from atspectrum.strengths import token as strength_token

# the parquet metadata entry holding a cell file's key (written by atspectrum.evaluation.units, checked by CellIndex)
CELL_KEY = b"atspectrum.cell_key"

NONE = "none"
PGD = "pgd"
# the attacks whose unquantized cell is the grid's PGD cell when they share its settings (Plan.canonical)
PGD_TWINS = ("transfer", "bpda")
_TOKEN = r"[A-Za-z0-9_.-]+"
_EVAL = re.compile(
    rf"^(?P<root>.+)/eval/(?P<model>{_TOKEN})/seed(?P<seed>[0-9]+)/eps(?P<eps>{TOKEN_RE})/(?P<attack>{_TOKEN})/"
    rf"delta(?P<delta>{TOKEN_RE})/(?:none|(?P<layer>[^/]+)/beta(?P<beta>[0-9p]+))\.parquet$"
)


def q_of(layer: str, beta=None) -> str:
    """The unit token of a cell's quantization: ``none`` or ``beta<β>`` (a unit holds every layer at one β)."""
    return NONE if layer == NONE else f"beta{beta_token(beta)}"


def eval_path(root: str, model, seed, eps, attack, delta, layer: str = NONE, beta=None) -> str:
    """The file of a cell (:meth:`Cell.path`); with wildcards (``"{model}"``, …) a rule's output pattern."""
    eps, delta = strength_token(eps), strength_token(delta)
    return f"{root}/eval/{model}/seed{seed}/eps{eps}/{attack}/delta{delta}/{qpoint(layer, beta)}.parquet"


def more_steps_attack(factor: int, attack: str = PGD) -> str:
    """The attack token of a run with ``factor``× the grid's steps, e.g. ``pgd5x``, ``bpda5x``."""
    return f"{attack}{int(factor)}x"


def more_steps_of(attack: str) -> tuple[str, int] | None:
    """(base attack, factor) of a more-steps token (``bpda5x`` → ("bpda", 5)); None for any other attack."""
    m = MORE_STEPS_ATTACK.fullmatch(attack)
    return None if m is None else (m["attack"], int(m["factor"]))


@dataclass(frozen=True)
class Cell:
    """One evaluation: per-example results of (model, seed, ε) under ``attack`` at δ, quantized at (layer, β). ε and δ
    are strengths (atspectrum.strengths: int for L∞, float for L2; a token is parsed)."""

    model: str
    seed: int
    eps: int | float
    attack: str
    delta: int | float
    layer: str = NONE
    beta: float | None = field(default=None)

    q: str = field(init=False, repr=False, compare=False)  # the unit token: none or beta<β>

    def __post_init__(self):
        set_ = object.__setattr__
        set_(self, "seed", int(self.seed))
        set_(self, "eps", strength(self.eps))
        set_(self, "delta", strength(self.delta))
        if self.layer == NONE:
            set_(self, "beta", None)
        elif self.beta is None:
            raise ValueError(f"a quantized cell needs a beta: {self.layer}")
        else:
            set_(self, "beta", beta_value(self.beta) if isinstance(self.beta, str) else float(self.beta))
        set_(self, "q", q_of(self.layer, self.beta))

    @property
    def unit(self) -> Unit:
        return Unit(self.model, self.seed, self.attack, self.delta, self.q)

    def path(self, root: str) -> str:
        return eval_path(root, self.model, self.seed, self.eps, self.attack, self.delta, self.layer, self.beta)

    def sort_key(self) -> tuple:
        return (self.model, self.seed, self.attack, self.delta, self.q, self.eps, self.layer)

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "seed": self.seed,
            "eps": self.eps,
            "attack": self.attack,
            "delta": self.delta,
            "layer": self.layer,
            "beta": self.beta,
        }

    def replace(self, **changes) -> Cell:
        return Cell(**{**self.as_dict(), **changes})


def parse(path: str) -> Cell | None:
    """The cell of an evaluation file (the inverse of :meth:`Cell.path`); None for any other path."""
    m = _EVAL.match(str(path))
    if m is None:
        return None
    layer = m["layer"] or NONE
    beta = None if m["beta"] is None else beta_value(m["beta"])
    return Cell(m["model"], int(m["seed"]), m["eps"], m["attack"], m["delta"], layer, beta)


def sorted_cells(cells) -> list[Cell]:
    return sorted(set(cells), key=Cell.sort_key)


@dataclass(frozen=True, order=True)
class Unit:
    """One evaluation job: every (ε, layer) cell of (model, seed, attack, δ, q), q = ``none`` or ``beta<β>``."""

    model: str
    seed: int
    attack: str
    delta: int | float
    q: str

    def __post_init__(self):
        if not (isinstance(self.delta, str) and self.delta.startswith("{")):  # a rule's "{delta}" stays a wildcard
            object.__setattr__(self, "delta", strength(self.delta))

    @property
    def beta(self) -> float | None:
        return None if self.q == NONE else beta_value(self.q.removeprefix("beta"))

    def file(self, root: str) -> str:
        """The unit's manifest (its job's output)."""
        delta = strength_token(self.delta)
        return f"{root}/eval/{self.model}/seed{self.seed}/units/{self.attack}/delta{delta}/{self.q}.json"

    def cell(self, eps, layer: str = NONE) -> Cell:
        return Cell(self.model, self.seed, eps, self.attack, self.delta, layer, self.beta)


_ADV = re.compile(
    rf"^(?P<root>.+)/adv/(?P<model>{_TOKEN})/seed(?P<seed>[0-9]+)/eps(?P<eps>{TOKEN_RE})/(?:pgd|transfer)/"
    rf"delta(?P<delta>{TOKEN_RE})\.npz$"
)


def parse_adv(path: str) -> tuple[str, int, int, int] | None:
    """(model, seed, ε, δ) of a transfer-examples file (the inverse of :func:`adv_path`); None for any other path."""
    m = _ADV.match(str(path))
    return None if m is None else (m["model"], int(m["seed"]), strength(m["eps"]), strength(m["delta"]))
