from atspectrum import data
from atspectrum.runtime import logs

log = logs.to_file(snakemake.log[0])
p, src = snakemake.params, snakemake.input[0]
select, search = data.split_val_parts(len(data.load_prepared(src)[1]), p.fraction, p.seed)
n_select = data.write_rows(src, snakemake.output.select, select.numpy())
n_search = data.write_rows(src, snakemake.output.search, search.numpy())
log(
    f"validation split {src}: {n_select} examples select checkpoints, {n_search} (val_fraction {p.fraction}, "
    f"seed {p.seed}) are the overdesign search's, disjoint"
)
