import pandas as pd

from atspectrum.evaluation import search
from atspectrum.runtime import io, logs

log = logs.to_file(snakemake.log[0])
steps = snakemake.input.steps
last = search.read_step(steps[-1] if isinstance(steps, list) else steps)
tests = snakemake.params.tests  # the files: the inputs are their units' manifests where the grid evaluates them
result = search.result_record(last, pd.read_parquet(tests["star"]), pd.read_parquet(tests["base"]))
io.write_json(snakemake.output[0], result)
log(
    f"delta={result['delta']}: eps*={result['eps_star']} ({result['reason']}), test error "
    f"{result['test_error_at_eps_star']:.2f}% vs {result['test_error_at_delta']:.2f}% at eps=delta "
    f"(p={result['p_value']:.3g})"
)
