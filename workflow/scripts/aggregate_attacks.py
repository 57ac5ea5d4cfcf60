from atspectrum.evaluation.frames import worst_case
from atspectrum.planning import PGD, Cell, CellIndex
from atspectrum.planning.outputs import attack_table_stem
from atspectrum.reporting import captions, replicates, tables
from atspectrum.runtime import logs, paths
from atspectrum.specs import WORST

log = logs.to_file(snakemake.log[0])
p, model = snakemake.params, snakemake.wildcards.model
root = paths.run_root(snakemake.output[0])  # results/<run>
index = CellIndex.of(snakemake.input.evals)
frames = {}  # (seed, eps, delta) -> {attack: per-example frame}
for cell in map(lambda c: Cell(**c), p.cells):
    frames.setdefault((cell.seed, cell.eps, cell.delta), {})[cell.attack] = index.frame(cell)


def frame_of(attack, at):
    """The per-example frame of ``attack`` at one (seed, eps, delta): delta 0 is every attack's clean evaluation (the
    PGD cell); the worst case counts an example as robust only if PGD and every extra attack leave it correct."""
    if at[2] == 0:
        return frames[at][PGD]
    if attack == WORST:
        return worst_case({a: frames[at][a] for a in [PGD, *p.attacks]})
    return frames[at][attack]


for attack in [*p.attacks, WORST]:
    per_seed = {}  # seed -> {(eps, delta): frame}
    for at in frames:
        per_seed.setdefault(at[0], {})[at[1:]] = frame_of(attack, at)
    grids = {seed: tables.accuracy_grid(f) for seed, f in per_seed.items()}
    pgd = f"PGD_delta-{p.overdesign['attack']['steps']}"
    what = f"per-example worst case over {pgd}, {', '.join(p.attacks)}" if attack == WORST else p.targets[attack]
    title = f"{model}: {attack} ({what}) accuracy, rows eps, columns delta."
    stem = paths.declared_stem(snakemake.output, attack_table_stem(model, attack))
    caption = captions.heading(title, snakemake.input.caption, model=model, root=root, overdesign=p.overdesign)
    replicates.write_robust_accuracy(grids, p.deltas, stem, caption)
    for seed, grid in grids.items():
        log(f"{attack} seed {seed}:\n{tables.robust_accuracy_table(grid, p.deltas).to_string()}")
