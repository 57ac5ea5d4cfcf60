"""The one plan of the grid: the only place that enumerates what a configuration asks for and maps an evaluation
cell to its file and back. Torch-free (the Snakefile imports it to plan); ``evaluation`` and ``reporting`` both
import it, and neither imports the other.

- :mod:`.cells`: :class:`Cell` (model, seed, ε, attack, δ, layer, β), its path and :func:`parse`, :class:`Unit`;
- :mod:`.grid`: :class:`Plan`, every cell of a config for every training seed, grouped into units, each
  computation once;
- :mod:`.checklist`: what the sanity checklist checks and the cells it reads;
- :mod:`.outputs`: the tables and figures of each aggregate, every target of a run;
- :mod:`.jobs`: job counts (the compute table's projection) and units' time limits;
- :mod:`.index`: a job's declared inputs as a lookup from cell to file.
"""

from .cells import (
    NONE,
    PGD,
    Cell,
    Unit,
    adv_path,
    beta_token,
    beta_value,
    eval_path,
    more_steps_attack,
    parse,
    parse_adv,
)
from .grid import Plan
from .index import CellIndex, DamagedCell, MissingInput

__all__ = [
    "NONE",
    "PGD",
    "Cell",
    "CellIndex",
    "DamagedCell",
    "MissingInput",
    "Plan",
    "Unit",
    "adv_path",
    "beta_token",
    "beta_value",
    "eval_path",
    "more_steps_attack",
    "parse",
    "parse_adv",
]
