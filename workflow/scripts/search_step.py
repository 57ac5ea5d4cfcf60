import pandas as pd

from atspectrum.evaluation import search
from atspectrum.runtime import io, logs

log = logs.to_file(snakemake.log[0])
w = snakemake.wildcards
settings = search.Settings(**snakemake.params.settings)
frame = pd.read_parquet(snakemake.input.val)
previous_file = getattr(snakemake.input, "previous", None)
previous = search.read_step(previous_file) if previous_file else None
record = search.step_record(settings, previous, int(w.eps), search.error_percent(frame), len(frame))
io.write_json(snakemake.output[0], {"model": w.model, "seed": int(w.seed), **record})
what = f"stop ({record['reason']})" if record["stop"] else f"next eps {record['next_eps']}"
log(
    f"{w.model} delta={w.delta} eps={w.eps}: validation error {record['visited'][-1]['val_error']:.2f}%, "
    f"best {record['best_val_error']:.2f}% at eps {record['eps_star']}, {record['rises']} rise(s): {what}"
)
