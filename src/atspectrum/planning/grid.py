"""The grid a configuration asks for, enumerated once: :class:`Plan`.

Every evaluation cell the tables, the checklist, the claims and the search read comes from here, for every model and
training seed; :meth:`Plan.units` groups them into jobs. Where two cells are the same computation they are planned
once (:meth:`Plan.canonical`): the PGD_δ examples of (model, seed, ε, δ) serve the PGD cell, BPDA's unquantized cell
and transfer's unquantized cell when those attacks have the grid's PGD settings (the paper's and the demo's case),
and the PGD unit then also writes the cached transfer examples (:meth:`Plan.adv_from_pgd`). The user's attacks
(``eval.extra_attacks``) are cells of their own at every ε and δ > 0 of the overdesign grid (:meth:`Plan.extra_cells`),
one unit per (model, seed, attack, δ) like PGD's.

Torch-free and pandas-free: the Snakefile builds one Plan of the run's config (and one of the paper's, for the
compute table's projection).
"""

from __future__ import annotations

import functools

from atspectrum import config as atconfig
from atspectrum.specs import WORST

from . import checklist
from .cells import NONE, PGD, PGD_TWINS, Cell, Unit, more_steps_of, sorted_cells

ATTACK_KEYS = ("steps", "step_factor", "random_start")


class Plan:
    """The cells, units and jobs of a (validated) config under ``root`` (``results/<run>``)."""

    def __init__(self, config: dict, root: str = "results"):
        self.config, self.root = config, root
        self.models = sorted(config["models"])
        self.seeds = sorted(int(s) for s in config["seeds"])
        self.quantization = atconfig.quantization_enabled(config)
        self.eval_attacks = atconfig.quant_eval_attacks(config)
        self.extra_attacks = atconfig.extra_attacks(config)  # the user's (eval.extra_attacks), sorted
        self.checklist = checklist.plan(config)
        self.checklist_settings = atconfig.checklist_settings(config)

    # ------------------------------------------------------------------------------------------ attacks and aliases

    def eps(self, model: str) -> list:
        return atconfig.eps_list(self.config, model)

    def settings(self, attack: str) -> dict:
        """The settings of an evaluated attack (pgd: ``overdesign.attack``); a more-steps token multiplies the
        steps of its base attack."""
        more = more_steps_of(attack)
        if more is not None:
            base = self.settings(more[0])
            return {**base, "steps": base["steps"] * more[1]}
        if attack == PGD:
            return dict(self.config["overdesign"]["attack"])
        if attack in self.extra_attacks:
            return atconfig.extra_attack(self.config, attack)
        return atconfig.quant_attack(self.config, attack)

    def _same_as_pgd(self, attack: str) -> bool:
        """Whether ``attack``'s unquantized cells are the grid's PGD computation (the same PGD settings)."""
        if attack not in PGD_TWINS or attack not in self.eval_attacks:
            return False
        mine, pgd = self.settings(attack), self.settings(PGD)
        return all(mine.get(k) == pgd.get(k) for k in ATTACK_KEYS)

    @functools.cached_property
    def pgd_serves(self) -> list[str]:
        """The attacks whose unquantized cells the PGD cells are (see :meth:`canonical`)."""
        return [a for a in PGD_TWINS if self._same_as_pgd(a)]

    @property
    def adv_from_pgd(self) -> bool:
        """Whether the PGD units write the cached transfer examples (transfer has the grid's PGD settings)."""
        return "transfer" in self.pgd_serves

    def canonical(self, cell: Cell) -> Cell:
        """The cell that computes ``cell``: its PGD twin for an unquantized transfer or BPDA cell with the grid's
        PGD settings, else itself."""
        if cell.layer == NONE and cell.attack in self.pgd_serves:
            return cell.replace(attack=PGD)
        return cell

    # ------------------------------------------------------------------------------------------------ the cells

    @functools.cache  # planned once: the rules ask for it from inputs and params alike
    def pgd_cells(self, model: str, seed: int) -> list[Cell]:
        """The overdesign grid's PGD evaluations of one (model, seed): each ε at the grid's δ, 0 and ε itself."""
        return [
            Cell(model, seed, e, PGD, d) for e in self.eps(model) for d in atconfig.pgd_deltas(self.config, model, e)
        ]

    def overdesign_cells(self, model: str, seed: int) -> list[Cell]:
        """The PGD cells at the overdesign δ (the claims' C1 reads these)."""
        deltas = atconfig.overdesign_deltas(self.config, model)
        return [Cell(model, seed, e, PGD, d) for e in self.eps(model) for d in deltas]

    @functools.cache  # planned once: the rules ask for it from inputs and params alike
    def extra_cells(self, model: str, seed: int) -> list[Cell]:
        """The user's attacks (``eval.extra_attacks``) on one (model, seed): each at every ε and every δ > 0 of the
        overdesign grid (δ 0, clean accuracy, is the PGD unit's cell)."""
        deltas = atconfig.extra_attack_deltas(self.config, model)
        return [Cell(model, seed, e, a, d) for a in self.extra_attacks for e in self.eps(model) for d in deltas]

    def quant_table_cells(self, model: str, seed: int, attack: str, beta: float) -> list[Cell]:
        """The cells of one quantization table (δ > 0 rows, unquantized and every layer, columns ε); the "worst"
        table reads those of every evaluated attack."""
        layers = [NONE, *atconfig.quant_layers(self.config, model)]
        return [
            Cell(model, seed, e, a, d, layer, beta)
            for a in (self.eval_attacks if attack == WORST else [attack])
            for e in self.eps(model)
            for d in atconfig.quant_deltas(self.config, attack, model)
            if d > 0
            for layer in layers
        ]

    @functools.cache  # planned once: the rules ask for it from inputs and params alike
    def quant_cells(self, model: str, seed: int) -> list[Cell]:
        """Every quantized evaluation of one (model, seed)'s tables: each attack's δ × (unquantized, layers × β)."""
        if not self.quantization:
            return []
        layers = [NONE, *atconfig.quant_layers(self.config, model)]
        return sorted_cells(
            Cell(model, seed, e, a, d, layer, b)
            for a in self.eval_attacks
            for e in self.eps(model)
            for d in atconfig.quant_deltas(self.config, a, model)
            for layer in layers
            for b in atconfig.quant_attack_betas(self.config, a)
        )

    @functools.cache  # planned once: the rules ask for it from inputs and params alike
    def checklist_cells(self, seed: int) -> dict[str, list[Cell]]:
        return checklist.cells(self.checklist, self.checklist_settings, seed)

    # ----------------------------------------------------------------------- every seed: what an aggregate reads

    def runs(self, model: str) -> list[tuple[int, int]]:
        """(seed, ε) of every trained model of ``model``."""
        return [(s, e) for s in self.seeds for e in self.eps(model)]

    @functools.cache  # planned once: the rules ask for it from inputs and params alike
    def overdesign_grid(self, model: str) -> list[Cell]:
        """The overdesign grid's PGD cells of ``model`` over every seed (Section 3's tables)."""
        return [c for s in self.seeds for c in self.pgd_cells(model, s)]

    @functools.cache  # planned once: the rules ask for it from inputs and params alike
    def attack_tables(self, model: str) -> list[Cell]:
        """What the tables of the user's attacks read over every seed: the overdesign grid's PGD cells (its δ 0 the
        clean column of every such table, PGD itself one side of the worst case) and every extra attack's cells."""
        return [c for s in self.seeds for c in self.overdesign_cells(model, s) + self.extra_cells(model, s)]

    @functools.cache  # planned once: the rules ask for it from inputs and params alike
    def quant_table(self, model: str, attack: str, beta: float) -> list[Cell]:
        """The cells of one quantization table over every seed."""
        return [c for s in self.seeds for c in self.quant_table_cells(model, s, attack, beta)]

    @functools.cache  # planned once: the rules ask for it from inputs and params alike
    def quant_grid(self, model: str) -> list[Cell]:
        """Every quantized evaluation of ``model``'s tables over every seed (Tables 18/19, the gain heatmaps)."""
        return [c for s in self.seeds for c in self.quant_cells(model, s)]

    @functools.cache  # planned once: the rules ask for it from inputs and params alike
    def checklist_reads(self) -> tuple[list[Cell], list[tuple[str, int, int, int]]]:
        """The cells and the transfer examples ((model, seed, ε, δ)) the checklist reads, over every seed."""
        per_seed = [self.checklist_cells(s) for s in self.seeds]
        cells = [c for kinds in per_seed for group in kinds.values() for c in group]
        return cells, [a for s in self.seeds for a in checklist.adv_needed(self.checklist, s)]

    def search_runs(self) -> list[tuple[int, int]]:
        """(seed, δ) of every overdesign search of a searched model."""
        return [(s, d) for s in self.seeds for d in atconfig.search_deltas(self.config)]

    def adv_needed(self, model: str, seed: int) -> list[tuple[int, int]]:
        """(ε, δ) of the cached transfer examples of one (model, seed): every ε at each transfer δ > 0."""
        if "transfer" not in self.eval_attacks:
            return []
        deltas = [d for d in atconfig.quant_deltas(self.config, "transfer", model) if d > 0]
        return [(e, d) for e in self.eps(model) for d in deltas]

    # ------------------------------------------------------------------------------------------------ the units

    def _unit_cells(self) -> list[Cell]:
        cells = []
        for model in self.models:
            for seed in self.seeds:
                cells += self.pgd_cells(model, seed) + self.quant_cells(model, seed) + self.extra_cells(model, seed)
                if self.adv_from_pgd:  # the PGD unit at δ makes the transfer examples: its cells include (ε, δ)
                    cells += [Cell(model, seed, e, PGD, d) for e, d in self.adv_needed(model, seed)]
        for seed in self.seeds:
            extra = self.checklist_cells(seed)
            cells += extra["pgd"] + extra["quantized"]
        return cells

    @functools.cached_property
    def units(self) -> dict[Unit, list[Cell]]:
        """Every evaluation unit and its cells (sorted by ε, then layer), each computation once."""
        units: dict[Unit, set[Cell]] = {}
        for cell in self._unit_cells():
            cell = self.canonical(cell)
            units.setdefault(cell.unit, set()).add(cell)
        return {u: sorted(c, key=lambda c: (c.eps, c.layer)) for u, c in sorted(units.items())}

    def unit_of(self, cell: Cell) -> Unit | None:
        """The unit that computes ``cell`` (after :meth:`canonical`); None when no unit does."""
        cell = self.canonical(cell)
        return cell.unit if cell in self._unit_index else None

    @functools.cached_property
    def _unit_index(self) -> frozenset[Cell]:
        return frozenset(c for cells in self.units.values() for c in cells)

    def unit_adv(self, unit: Unit) -> list[int]:
        """The ε whose transfer examples a PGD unit writes (none unless :attr:`adv_from_pgd`)."""
        if not self.adv_from_pgd or unit.attack != PGD or unit.delta == 0:
            return []
        return sorted(e for e, d in self.adv_needed(unit.model, unit.seed) if d == unit.delta)

    def adv_source(self, model: str, seed: int, eps: int, delta: int) -> str:
        """The file a reader of the transfer examples of (model, seed, ε, δ) declares: the PGD unit's manifest that
        lists them, or the transfer_examples job's own output."""
        from atspectrum.runtime import paths

        if self.adv_from_pgd:
            return Unit(model, seed, PGD, delta, NONE).file(self.root)
        return paths.adv_file(self.root, model, seed, eps, delta, "transfer")

    def inputs(self, cells) -> list[str]:
        """What a reader of ``cells`` declares: each unit's manifest once, other cells' own files."""
        out = set()
        for cell in cells:
            unit = self.unit_of(cell)
            out.add(cell.path(self.root) if unit is None else unit.file(self.root))
        return sorted(out)
