"""The sanity checklist: checks that the attacks behind every table work, each verdict with its numbers.

A robustness number is only as good as the attack that produced it. These checks catch the usual ways an evaluation
goes wrong (a weak or broken attack, gradient masking, cached examples that left their budget, a quantizer that is
not what it claims to be):

``monotone_delta``   PGD accuracy never increases with δ (per model and ε, over every evaluated δ, clean included).
``large_delta``      at a very large δ (default 64/255) PGD accuracy is at most ``max_accuracy`` (default 1%).
``more_steps``       PGD with ``factor``× the steps (default 5×) lowers accuracy by at most ``tolerance`` points.
``transfer_vs_bpda`` on every quantized cell, transfer accuracy is not below the white-box (BPDA) accuracy by more
                     than ``tolerance`` points: otherwise the white-box attack fails (gradient masking).
``bpda_large_delta`` ``large_delta`` for BPDA on the quantized cells of the first ``masking.layers`` quantization
                     points at the headline β (``masking.beta``): a quantizer that masks BPDA's gradient leaves
                     accuracy up even at a very large δ.
``bpda_more_steps``  ``more_steps`` for BPDA on those cells (at the BPDA δ nearest ε).
``apgd_vs_bpda``     on those cells (every ε, every δ both ran), APGD-BPDA lowers BPDA's accuracy by at most
                     ``masking.apgd_tolerance`` points: otherwise the BPDA tables understate the attack (n/a
                     without ``apgd-bpda`` at that β).
``adv_budget``       cached transfer examples lie in their δ-ball (max abs(x_adv − x) reported in 1/255 units) and in
                     [0, 1], and match the test labels and their δ.
``large_beta``       clean accuracy with the features quantized at a very large β (default 10⁶) equals the
                     unquantized accuracy (floor(β·x)/β → x).

The package holds three modules: :mod:`.verdicts`, the pure check functions (they take per-example frames
(``index``, ``label``, ``pred``, ``correct``) or arrays and return a verdict: ``status`` pass / fail / n/a,
``value``, ``limit``, ``measured``, ``criterion``); :mod:`.rows`, where :func:`collect` reads the cells and runs
every check and :func:`table` lays the rows out. What to check (and so which evaluations the workflow must run) is
planned in :mod:`atspectrum.planning.checklist`. Every name is re-exported here. Accuracies and tolerances are
percentage points; strengths are in 1/255 units.
"""

from atspectrum.specs import accuracy

from .rows import ChecklistFailed, collect, enforce, failures, masking_rows, read_adv, row, summary, table
from .verdicts import (
    CHECKS,
    COLUMNS,
    FAIL,
    MASKING_CHECKS,
    NA,
    PASS,
    adv_stats,
    check_adv_budget,
    check_drop,
    check_large_beta,
    check_large_delta,
    check_monotone,
    check_more_steps,
    check_transfer_vs_whitebox,
    combine,
    not_applicable,
)

__all__ = [
    "CHECKS",
    "COLUMNS",
    "FAIL",
    "MASKING_CHECKS",
    "NA",
    "PASS",
    "ChecklistFailed",
    "accuracy",
    "adv_stats",
    "check_adv_budget",
    "check_drop",
    "check_large_beta",
    "check_large_delta",
    "check_monotone",
    "check_more_steps",
    "check_transfer_vs_whitebox",
    "collect",
    "combine",
    "enforce",
    "failures",
    "masking_rows",
    "not_applicable",
    "read_adv",
    "row",
    "summary",
    "table",
]
