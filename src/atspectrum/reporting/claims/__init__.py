"""A verdict on each of the paper's four claims for whatever grid ran: *holds*, *does not hold* or *inconclusive*,
with the statistic it rests on and its numbers in words (``tables/claims``, the report's first category).

Every verdict is computed here from the run's artifacts; none is asserted. One row per (claim, model, part); the
part ``claim`` combines the parts the claim is made of (:func:`combine`: *does not hold* if any of them does not,
*holds* if all of them hold, else *inconclusive*). A part whose inputs were not configured is *inconclusive* with
the reason ``not run``. ``alpha`` and ``correction`` are the config's ``stats`` (0.05, Holm by default).

- **C1 overdesign** (Section 3), per δ of ``overdesign.delta`` from the per-example PGD_δ results
  (``eval/<model>/seed<s>/eps<ε>/pgd/delta<δ>/none.parquet``, per training seed); ε* is the most accurate ε (ties:
  the smaller), as in ``tables/overdesign_<model>``. Every per-δ comparison is an exact McNemar test on the same test
  examples, corrected over the δ's (one family per part).

  - *ε* > δ, significant gain over ε = δ*: tested at every δ that is itself a trained ε with a larger ε in the
    grid. Supports at δ when ε* > δ and ε* beats ε = δ significantly; opposes when ε* ≤ δ and ε* beats the best
    ε > δ significantly. The part **holds** if more than half of the tested δ support it and none opposes,
    **does not hold** if more than half oppose and none supports, else is inconclusive (:func:`majority`).
  - *the largest ε is worse than ε**: at every δ, ε* against the largest ε (supports when significant); where
    ε* is the largest ε, the largest against the best smaller ε (opposes when significant); by :func:`majority`.
  - *ε* − δ grows with δ* (reported beside the claim, not part of it: the paper states no trend): Kendall's τ
    between δ and ε* − δ over every δ (exact p-value where there are no ties), holds for τ > 0 and
    p ≤ alpha, does not hold for τ < 0 and p ≤ alpha.

- **C2 quantization** (Section 4), from the ``_ci.csv`` of ``quantization_<model>_<attack>_beta<β>`` (β = 8, the
  paper's headline, where that attack ran at 8, else its largest β): at the first configured quantization point
  (ResNet-18; ``quant_layers`` order) or the second (WideResNet), count the cells (δ > 0, ε) where quantization is
  significantly better (``significant`` and gained > lost) and significantly worse than the unquantized model. Per
  attack, a two-sided sign test of wins against losses: **holds** if wins > losses with p ≤ alpha, **does not
  hold** if losses > wins with p ≤ alpha. The claim is transfer PGD and BPDA (the paper's attacks); APGD-BPDA and
  the per-example worst case are reported beside it (``survives …``). The cells share test images, so the sign
  test's independence is an approximation.

- **C3 filter norms** (Section 5), from ``tables/filter_norms_<model>.csv`` (the paper's measure: over each
  layer's 3×3 kernel slices, the mean / max of max|w|; 1×1 shortcut convs excluded). The weights are what was
  trained, with no sampling error to test: *first two layers largest* **holds** if at every ε both of layers 1
  and 2 have a larger mean than every other layer, else does not hold; *max norms monotone* (ResNet-18 only, as
  the paper: not WideResNet) holds if the max of layers 1 and 2 never decreases from one ε to the next.

- **C4 corruptions** (Section 6), over the ε > 0 models (as the paper's Table 2; ε = 0 is given in the numbers)
  from ``tables/corruptions_<model>`` (the ``average`` row and its Wilson intervals) and ``tables/preact_<model>``:

  - *best at a small ε*: ε_best (highest average accuracy, ties: the smaller) ≤ max(2, the smallest ε > 0) holds;
    a larger ε_best does not hold when its 95% Wilson interval lies above that of the best small ε, else
    inconclusive;
  - *falls beyond it*: least-squares slope of the average accuracy against ε over ε ≥ ε_best with its 95% t
    interval (at least three ε): holds if the interval is below 0, does not hold if above;
  - *pre-activation mean moves towards zero*: Kendall's τ between ε and |mean| of the final pre-activation features
    by the paper code's statistic (``code_mean``: per corruption at severity 5, averaged over the corruptions):
    holds for τ < 0 with p ≤ alpha, does not hold for τ > 0 with p ≤ alpha.

The package: :mod:`.verdicts` (the table's constants, :func:`row`, :func:`not_run`, :func:`combine`,
:func:`majority`, :func:`signed` and the statistics :func:`kendall`, :func:`slope_interval`, :func:`sign_test`),
one module per claim (:mod:`.c1_overdesign` :func:`overdesign`, :mod:`.c2_quantization` :func:`quantization`,
:mod:`.c3_filter_norms` :func:`filter_norms`, :mod:`.c4_corruptions` :func:`corruptions`) and :mod:`.driver`
(:func:`evaluate`: every claim per training seed); what the claims read (:func:`plan`, :func:`table_inputs`,
:func:`figure_sources`) is planned in :mod:`atspectrum.planning.claims`.
Every name is re-exported here (``atspectrum.reporting.claims.plan`` is the function).
"""

from atspectrum.planning.claims import figure_sources, plan, table_inputs

from .c1_overdesign import overdesign
from .c2_quantization import quant_cells, quant_point, quantization
from .c3_filter_norms import filter_norms
from .c4_corruptions import corruptions, small_eps
from .driver import evaluate
from .verdicts import (
    CLAIMS,
    COLUMNS,
    FAILS,
    HEADLINE_BETA,
    HOLDS,
    INCONCLUSIVE,
    NOT_RUN,
    QUANT_POINT,
    SMALL_EPS,
    VERDICTS,
    combine,
    kendall,
    majority,
    not_run,
    row,
    sign_test,
    signed,
    slope_interval,
)

__all__ = [
    "CLAIMS",
    "COLUMNS",
    "FAILS",
    "HEADLINE_BETA",
    "HOLDS",
    "INCONCLUSIVE",
    "NOT_RUN",
    "QUANT_POINT",
    "SMALL_EPS",
    "VERDICTS",
    "combine",
    "corruptions",
    "evaluate",
    "figure_sources",
    "filter_norms",
    "kendall",
    "majority",
    "not_run",
    "overdesign",
    "plan",
    "quant_cells",
    "quant_point",
    "quantization",
    "row",
    "sign_test",
    "table_inputs",
    "signed",
    "slope_interval",
    "small_eps",
]
