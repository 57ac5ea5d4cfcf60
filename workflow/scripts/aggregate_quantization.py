import pandas as pd

from atspectrum import evaluate, logs, paths, tables

log = logs.to_file(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
beta = paths.beta_value(w.beta)
layers = ["none", *p.layers]
acc = {(e, d, layer): evaluate.accuracy(pd.read_parquet(paths.eval_file(p.root, w.model, e, w.attack, d, layer, beta)))
       for e in p.eps for d in p.deltas for layer in layers}
table, marks = tables.quantization_table(acc, p.eps, p.deltas, p.layers)
name = {"transfer": f"Transfer PGD_delta-{p.steps}", "bpda": f"BPDA_delta-{p.steps}"}[w.attack]
tables.write(table, f"{p.root}/tables/quantization_{w.model}_{w.attack}_beta{w.beta}",
             f"{w.model} under {name}: test accuracy (%) with the features after one layer quantized as "
             f"floor({beta:g} x)/{beta:g}; rows delta x layer (none = unquantized), columns eps. Bold: above the "
             f"unquantized model at the same (delta, eps); italic: below it.", marks)
log(table.to_string())
