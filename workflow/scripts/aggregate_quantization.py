from atspectrum.evaluation import evaluate
from atspectrum.reporting import tables
from atspectrum.runtime import logs, paths

log = logs.to_file(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
beta = paths.beta_value(w.beta)
layers = ["none", *p.layers]
frames = {
    (e, d, layer): evaluate.read_cell(p.root, w.model, e, w.attack, d, layer, beta, p.worst_of)
    for e in p.eps
    for d in p.deltas
    for layer in layers
}
acc = {key: evaluate.accuracy(frame) for key, frame in frames.items()}
# every quantized cell against the unquantized model at its (delta, eps), paired by test example
cells = [
    ({"delta": d, "layer": layer, "column": f"eps{e}"}, (e, d, layer), (e, d, "none"))
    for d in p.deltas
    for layer in p.layers
    for e in p.eps
]
tests = tables.paired_tests(frames, cells, p.stats["alpha"], p.stats["correction"])
table, marks = tables.quantization_table(acc, p.eps, p.deltas, p.layers, tables.significance(tests, ["delta", "layer"]))
name = p.label
tables.write(
    table,
    f"{p.root}/tables/quantization_{w.model}_{w.attack}_beta{w.beta}",
    f"{w.model} under {name}: test accuracy (%) with the features at one quantization point quantized as "
    f"floor({beta:g} x)/{beta:g}; rows delta x layer (none = unquantized), columns eps. "
    f"{tables.significance_note(p.stats)}",
    marks,
    n=len(next(iter(frames.values()))),
    tests=tests,
)
log(table.to_string())
