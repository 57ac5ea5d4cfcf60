import functools

import pandas as pd

from atspectrum.evaluation.frames import read_cell
from atspectrum.reporting import captions, figures, tables
from atspectrum.runtime import logs, paths
from atspectrum.specs import accuracy

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
root = paths.run_root(snakemake.output[0])  # results/<run>


@functools.cache  # each unquantized result is the baseline of every (layer, beta): read it once
def frame(attack, eps, delta, layer, beta=None):
    return read_cell(root, model, eps, attack, delta, layer, beta, p.worst_of)


def acc(*key):
    return accuracy(frame(*key))


n, value_columns, tests = 1, [], None  # quantization.clean: false leaves no cell to test
if 0 in p.deltas.get("transfer", []):
    keys = [(e, "none", None) for e in p.eps] + [(e, layer, b) for e in p.eps for layer in p.layers for b in p.betas]
    frames = {k: frame("transfer", k[0], 0, k[1], k[2]) for k in keys}
    clean = {k: accuracy(f) for k, f in frames.items()}
    cells = [
        ({"beta": f"{b:g}", "layer": layer, "column": f"eps{e}"}, (e, layer, b), (e, "none", None))
        for b in p.betas
        for layer in p.layers
        for e in p.eps
    ]
    tests = tables.paired_tests(frames, cells, p.stats["alpha"], p.stats["correction"])
    table, marks = tables.quantization_clean_table(
        clean, p.eps, p.layers, p.betas, tables.significance(tests, ["beta", "layer"])
    )
    n, value_columns = len(frames[keys[0]]), None
else:  # quantization.clean: false
    table, marks = pd.DataFrame({"note": ["quantization.clean is false: no clean evaluation was run"]}), None
tables.write(
    table,
    f"{root}/tables/quantization_clean_{model}",
    captions.heading(
        f"Tables 18/19 ({model}): clean accuracy after quantization, no attack.",
        snakemake.input.caption,
        model=model,
        root=root,
        stats=p.stats,
    ),
    marks,
    n=n,
    value_columns=value_columns,
    tests=tests,
)
for attack, deltas in p.deltas.items():
    rows = [
        {
            "beta": b,
            "delta": d,
            "layer": layer,
            "eps": e,
            "gain": acc(attack, e, d, layer, b) - acc(attack, e, d, "none"),
        }
        for b in p.attack_betas[attack]
        for d in deltas
        if d > 0
        for layer in p.layers
        for e in p.eps
    ]
    figures.quantization_gain(
        pd.DataFrame(rows),
        f"{model}, {attack}: quantized − unquantized accuracy",
        paths.figure_files(root, f"quantization_gain_{model}_{attack}", ("png",))[0],
    )
log(table.to_string())
