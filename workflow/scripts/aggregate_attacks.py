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


def versus_pgd(attack, seed):
    """Exact McNemar tests of ``attack``'s cells (δ > 0) of one seed against PGD's on the same test examples, one
    family per table (``stats``): where an attack of the user's breaks significantly more examples than PGD, PGD's
    tables overstate the robustness."""
    cells = [
        ({"eps": e, "column": tables.delta_column(d)}, (attack, e, d), (PGD, e, d))
        for (s, e, d) in frames
        if s == seed and d > 0
    ]
    keyed = {(a, e, d): frames[(seed, e, d)][a] for _, (a, e, d), _ in cells} | {
        (PGD, e, d): frames[(seed, e, d)][PGD] for _, _, (_, e, d) in cells
    }
    return tables.paired_tests(keyed, cells, p.stats["alpha"], p.stats["correction"])


for attack in [*p.attacks, WORST]:
    per_seed = {}  # seed -> {(eps, delta): frame}
    for at in frames:
        per_seed.setdefault(at[0], {})[at[1:]] = frame_of(attack, at)
    grids = {seed: tables.accuracy_grid(f) for seed, f in per_seed.items()}
    tests = None if attack == WORST else {seed: versus_pgd(attack, seed) for seed in grids}
    pgd = f"PGD_delta-{p.overdesign['attack']['steps']}"
    what = f"per-example worst case over {pgd}, {', '.join(p.attacks)}" if attack == WORST else p.targets[attack]
    title = f"{model}: {attack} ({what}) accuracy, rows eps, columns delta."
    stem = paths.declared_stem(snakemake.output, attack_table_stem(model, attack))
    caption = captions.heading(
        title, snakemake.input.caption, model=model, root=root, overdesign=p.overdesign, stats=p.stats
    )
    replicates.write_robust_accuracy(grids, p.deltas, stem, caption, tests)
    for seed, grid in grids.items():
        log(f"{attack} seed {seed}:\n{tables.robust_accuracy_table(grid, p.deltas).to_string()}")
