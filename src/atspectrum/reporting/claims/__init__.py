"""The paper's four claims decided on whatever grid ran, replicated over the training seeds (``tables/claims``, the
report's first category), by the written design in docs/statistics.md ("The claims: a design per claim").

One primary endpoint per claim and model, its effect with a 95% interval from the hierarchical paired bootstrap
(:mod:`atspectrum.inference`: seeds, then test images; corruptions clustered by base image), a margin Δ per claim
(config ``claims.margin``), and four outcomes (*holds*, *does not hold*, *inconclusive* with the seeds that would
decide it, *not applicable* with the premise's numbers; *not run* where a section is not configured), Holm over the
primary endpoints of every claim × model. Secondary parts go to ``tables/claims_details`` with their intervals and
decide nothing. Beside each verdict, the same rules on the paper's own tables (:mod:`.paper_verdicts`).

The package: :mod:`.design` (:class:`Settings`, :class:`Endpoint`, the table), one module per claim
(:mod:`.c1_overdesign` … :mod:`.c4_corruptions`: each returns its endpoint and its details), :mod:`.paper_verdicts`
and :mod:`.driver` (:func:`evaluate`: every claim of every model from the run's artifacts); what the claims read is
planned in :mod:`atspectrum.planning.claims`.
"""

from atspectrum.planning.claims import figure_sources, plan, table_inputs  # noqa: F401 (planned there)

from .c1_overdesign import eps_star, overdesign  # noqa: F401
from .c2_quantization import quantization  # noqa: F401
from .c3_filter_norms import filter_norms  # noqa: F401
from .c4_corruptions import corruptions, small_eps  # noqa: F401
from .design import COLUMNS, DETAIL_COLUMNS, Endpoint, Settings, table  # noqa: F401
from .driver import evaluate  # noqa: F401
