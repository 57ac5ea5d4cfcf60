import functools

import pandas as pd

from atspectrum import evaluate, figures, logs, paths, tables

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model


@functools.cache  # each unquantized result is the baseline of every (layer, beta): read it once
def acc(attack, eps, delta, layer, beta=None):
    return evaluate.accuracy(pd.read_parquet(paths.eval_file(p.root, model, eps, attack, delta, layer, beta)))


if 0 in p.deltas.get("transfer", []):
    clean = {(e, "none", None): acc("transfer", e, 0, "none") for e in p.eps}
    clean |= {(e, layer, b): acc("transfer", e, 0, layer, b) for e in p.eps for layer in p.layers for b in p.betas}
    table, marks = tables.quantization_clean_table(clean, p.eps, p.layers, p.betas)
else:  # quantization.clean: false
    table, marks = pd.DataFrame({"note": ["quantization.clean is false: no clean evaluation was run"]}), None
tables.write(table, f"{p.root}/tables/quantization_clean_{model}",
             f"{model}: clean test accuracy (%) after quantizing the features of one layer, rows beta x layer, "
             f"columns eps (Tables 18/19). Bold / italic: above / below the unquantized model.", marks)
for attack, deltas in p.deltas.items():
    rows = [{"beta": b, "delta": d, "layer": layer, "eps": e,
             "gain": acc(attack, e, d, layer, b) - acc(attack, e, d, "none")}
            for b in p.betas for d in deltas if d > 0 for layer in p.layers for e in p.eps]
    figures.quantization_gain(pd.DataFrame(rows), f"{model}, {attack}: quantized − unquantized accuracy",
                              paths.figure_files(p.root, f"quantization_gain_{model}_{attack}", ("png",))[0])
log(table.to_string())
