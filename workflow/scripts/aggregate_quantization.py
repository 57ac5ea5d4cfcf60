from atspectrum.evaluation.frames import read_cell
from atspectrum.planning import Cell, CellIndex
from atspectrum.reporting import captions, tables
from atspectrum.runtime import logs, paths
from atspectrum.specs import accuracy

log = logs.to_file(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
root = paths.run_root(snakemake.output[0])  # results/<run>
beta = paths.beta_value(w.beta)
index = CellIndex.of(snakemake.input.evals)
frames = {}  # seed -> {(eps, delta, layer): per-example frame} (the worst case: over every attack's cell)
for cell in map(lambda c: Cell(**c), p.cells):
    key = (cell.eps, cell.delta, cell.layer)
    if key not in frames.get(cell.seed, {}):
        frames.setdefault(cell.seed, {})[key] = read_cell(index, cell.replace(attack=w.attack), p.worst_of)


def replicate(seed_frames):
    """One seed's table: every quantized cell tested against the unquantized model at its (delta, eps)."""
    eps = sorted({e for e, _, _ in seed_frames})
    deltas = sorted({d for _, d, _ in seed_frames})
    layers = [q for q in dict.fromkeys(layer for _, _, layer in seed_frames) if q != "none"]
    cells = [
        ({"delta": d, "layer": q, "column": tables.eps_column(e)}, (e, d, q), (e, d, "none"))
        for (e, d, q) in seed_frames
        if q != "none"
    ]
    tests = tables.paired_tests(seed_frames, cells, p.stats["alpha"], p.stats["correction"])
    acc = {key: accuracy(frame) for key, frame in seed_frames.items()}
    significant = tables.significance(tests, ["delta", "layer"])
    table, marks = tables.quantization_table(acc, eps, deltas, layers, significant)
    return tables.Replicate(table, marks, n=len(next(iter(seed_frames.values()))), tests=tests)


per_seed = {seed: replicate(f) for seed, f in sorted(frames.items())}
caption = captions.heading(
    f"{w.model} under {p.label} at β = {beta:g}.", snakemake.input.caption, model=w.model, root=root, stats=p.stats
)
tables.write_seeds(
    per_seed,
    paths.declared_stem(snakemake.output, f"quantization_{w.model}_{w.attack}_beta{w.beta}"),
    caption,
    ["delta", "layer"],
)
log("\n".join(f"seed {s}:\n{r.df.to_string()}" for s, r in per_seed.items()))
