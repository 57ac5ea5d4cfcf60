"""C1 overdesign (Section 3: "for a PGD attack at strength δ there is an AT model at some slightly larger ε that
generalizes best to it"): :func:`overdesign` makes the claim's primary endpoint for one model.

Per δ of ``overdesign.delta`` that is a trained ε with a larger ε in the grid, each seed picks ε*(δ) among the grid's
ε ≥ δ by PGD_δ accuracy on the validation split (ties: the smaller ε); a δ where any seed's ε* is the grid's largest
ε is excluded and named. The endpoint: test PGD_δ accuracy of ε*(δ) minus that of ε = δ, paired per seed and test
image, averaged over the included δ; each δ's difference is reported beside it.
"""

from __future__ import annotations

from atspectrum import inference as inf

from .design import Endpoint, detail, paired

ENDPOINT = "test PGD_delta accuracy of eps*(delta) (picked on validation) minus eps = delta, mean over delta"


def eps_star(val: dict, seed: int, delta: int, grid: list[int]) -> int:
    """The ε ≥ δ of the grid with the highest PGD_δ accuracy on the validation split (ties: the smaller ε)."""
    candidates = [e for e in grid if e >= delta]
    return max(candidates, key=lambda e: (float(val[(seed, e, delta)]["correct"].mean()), -e))


def overdesign(test: dict, val: dict, deltas, grid, settings, model: str = "", figures=()) -> tuple[Endpoint, list]:
    """C1 from per-example PGD frames keyed (seed, ε, δ): ``test`` on the test split, ``val`` on the validation
    split. Returns the endpoint and the per-δ details."""
    grid = sorted(grid)
    seeds = sorted({k[0] for k in test})
    testable = [d for d in sorted(deltas) if d in grid and any(e > d for e in grid)]
    kw = {"figures": list(figures)}
    if not testable or not seeds:
        why = "no delta of overdesign.delta is a trained eps with a larger eps in the grid"
        return Endpoint.undecided("C1", model, ENDPOINT, inf.NOT_RUN, why, **kw), []
    stars = {d: [eps_star(val, s, d, grid) for s in seeds] for d in testable}
    included = [d for d in testable if max(grid) not in stars[d]]
    picked = "; ".join(f"delta {d}: eps* {', '.join(map(str, stars[d]))}" for d in testable)
    excluded = [d for d in testable if d not in included]
    premise = f"eps* per seed (seeds {', '.join(map(str, seeds))}) {picked}"
    if excluded:
        premise += f"; excluded (eps* at the grid's largest eps {max(grid)}): delta {', '.join(map(str, excluded))}"
    if not included:
        why = "every delta's eps* is the grid's largest eps: the grid does not reach the optimum"
        return Endpoint.undecided("C1", model, ENDPOINT, inf.NOT_APPLICABLE, why, premise=premise, **kw), []
    per_delta = [
        paired([test[(s, star, d)] for s, star in zip(seeds, stars[d])], [test[(s, d, d)] for s in seeds])
        for d in included
    ]
    primary = sum(per_delta) / len(per_delta)
    est, *each = inf.crossed([primary, *per_delta])
    margin = settings.margin["C1"]
    details = [
        detail("C1", model, f"delta {d}: eps* minus eps = delta", e, f"eps* {', '.join(map(str, stars[d]))}")
        for d, e in zip(included, each)
    ]
    numbers = "; ".join(f"delta {d}: {e.effect:+.2f}" for d, e in zip(included, each))
    endpoint = Endpoint(
        "C1", model, ENDPOINT, est, inf.pvalues(est, margin), margin, premise=premise, numbers=numbers, **kw
    )
    return endpoint, details
