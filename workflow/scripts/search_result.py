import pandas as pd

from atspectrum.evaluation import search
from atspectrum.planning import Cell, CellIndex
from atspectrum.runtime import io, logs

log = logs.to_file(snakemake.log[0])
steps = snakemake.input.steps
last = search.read_step(steps[-1] if isinstance(steps, list) else steps)
index = CellIndex.of(snakemake.input.tests)  # the grid's units' manifests, or the search's own test files


def read(cell, path):
    """A test evaluation: the grid's cell through its unit's manifest, else the search's own file."""
    return index.frame(Cell(**cell)) if cell is not None else pd.read_parquet(path)


tests = snakemake.params.tests
result = search.result_record(last, read(*tests["star"]), read(*tests["base"]))
io.write_json(snakemake.output[0], result)
log(
    f"delta={result['delta']}: eps*={result['eps_star']} ({result['reason']}), test error "
    f"{result['test_error_at_eps_star']:.2f}% vs {result['test_error_at_delta']:.2f}% at eps=delta "
    f"(p={result['p_value']:.3g})"
)
