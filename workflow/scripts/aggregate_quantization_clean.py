import pandas as pd

from atspectrum.evaluation.frames import read_cell
from atspectrum.planning import Cell, CellIndex
from atspectrum.reporting import captions, figures, tables
from atspectrum.runtime import logs, paths
from atspectrum.specs import WORST, accuracy

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
root = paths.run_root(snakemake.output[0])  # results/<run>
index = CellIndex.of(snakemake.input.evals)
cells = [Cell(**c) for c in p.cells]
seeds = sorted({c.seed for c in cells})


def worst_of(c):
    """Whether the worst case covers cell ``c``: delta > 0, a beta every attack ran at (or unquantized)."""
    return c.delta > 0 and (c.layer == "none" or c.beta in p.attack_betas.get(WORST, []))


# every table cell of every attack (the worst case: over the other attacks' cells), read once
table_cells = {c.replace(attack=a) for c in cells for a in p.attacks if a == c.attack or (a == WORST and worst_of(c))}
frames = {c: read_cell(index, c, p.worst_of) for c in sorted(table_cells, key=Cell.sort_key)}


def clean_replicate(seed):
    """Tables 18/19 of one seed: the transfer cells at delta 0, each quantized one tested against the unquantized."""
    zero = {
        (c.eps, c.layer, c.beta): f
        for c, f in frames.items()
        if c.seed == seed and c.attack == "transfer" and c.delta == 0
    }
    eps = sorted({e for e, _, _ in zero})
    layers = list(dict.fromkeys(q for _, q, _ in zero if q != "none"))
    betas = sorted({b for _, q, b in zero if q != "none"})
    tests_of = [
        ({"beta": f"{b:g}", "layer": q, "column": tables.eps_column(e)}, (e, q, b), (e, "none", None))
        for (e, q, b) in zero
        if q != "none"
    ]
    tests = tables.paired_tests(zero, tests_of, p.stats["alpha"], p.stats["correction"])
    acc = {k: accuracy(f) for k, f in zero.items()}
    table, marks = tables.quantization_clean_table(
        acc, eps, layers, betas, tables.significance(tests, ["beta", "layer"])
    )
    return tables.Replicate(table, marks, n=len(next(iter(zero.values()))), tests=tests)


if any(c.attack == "transfer" and c.delta == 0 for c in frames):
    per_seed = {seed: clean_replicate(seed) for seed in seeds}
else:  # quantization.clean: false
    note = pd.DataFrame({"note": ["quantization.clean is false: no clean evaluation was run"]})
    per_seed = {seeds[0]: tables.Replicate(note)}
tables.write_seeds(
    per_seed,
    paths.declared_stem(snakemake.output, f"quantization_clean_{model}"),
    captions.heading(
        f"Tables 18/19 ({model}): clean accuracy after quantization, no attack.",
        snakemake.input.caption,
        model=model,
        root=root,
        stats=p.stats,
    ),
    keys=["beta", "layer"] if len(per_seed) > 1 else None,
)
for attack in p.attacks:  # the gain heatmaps: quantized - unquantized accuracy per (seed, beta, delta, layer, eps)
    rows = [
        {
            "seed": c.seed,
            "beta": c.beta,
            "delta": c.delta,
            "layer": c.layer,
            "eps": c.eps,
            "gain": accuracy(f) - accuracy(frames[c.replace(layer="none", beta=None)]),
        }
        for c, f in frames.items()
        if c.attack == attack and c.layer != "none" and c.delta > 0 and c.beta in p.attack_betas[attack]
    ]
    figures.quantization_gain(
        pd.DataFrame(rows),
        f"{model}, {attack}: quantized − unquantized accuracy",
        paths.declared(snakemake.output, f"quantization_gain_{model}_{attack}.png"),
    )
log("\n".join(f"seed {s}:\n{r.df.to_string()}" for s, r in per_seed.items()))
