from atspectrum.evaluation.frames import read_cell
from atspectrum.reporting import captions, tables
from atspectrum.runtime import logs, paths
from atspectrum.specs import accuracy

log = logs.to_file(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
root = paths.run_root(snakemake.output[0])  # results/<run>
beta = paths.beta_value(w.beta)
layers = ["none", *p.layers]
frames = {
    (e, d, layer): read_cell(root, w.model, e, w.attack, d, layer, beta, p.worst_of)
    for e in p.eps
    for d in p.deltas
    for layer in layers
}
acc = {key: accuracy(frame) for key, frame in frames.items()}
# every quantized cell against the unquantized model at its (delta, eps), paired by test example
cells = [
    ({"delta": d, "layer": layer, "column": f"eps{e}"}, (e, d, layer), (e, d, "none"))
    for d in p.deltas
    for layer in p.layers
    for e in p.eps
]
tests = tables.paired_tests(frames, cells, p.stats["alpha"], p.stats["correction"])
table, marks = tables.quantization_table(acc, p.eps, p.deltas, p.layers, tables.significance(tests, ["delta", "layer"]))
caption = captions.heading(
    f"{w.model} under {p.label} at β = {beta:g}.",
    snakemake.input.caption,
    model=w.model,
    root=root,
    stats=p.stats,
)
tables.write(
    table,
    f"{root}/tables/quantization_{w.model}_{w.attack}_beta{w.beta}",
    caption,
    marks,
    n=len(next(iter(frames.values()))),
    tests=tests,
)
log(table.to_string())
