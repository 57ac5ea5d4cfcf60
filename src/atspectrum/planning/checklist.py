"""What the checklist checks for a config, and so which evaluations the workflow must run for it.

:func:`plan` turns a (validated) config into plain lists and numbers (a rule's params): per model the ε, the PGD δ
of each ε (the grid's plus the very large δ), the (ε, δ) re-run with more steps, and, with quantization on, the
quantized cells of the transfer-vs-white-box check, the cached transfer δ, the ε of the very-large-β check and the
gradient-masking cells (:func:`_masking_plan`). :func:`cells` and :func:`masking_cells` name the cells the checklist
reads for one training seed (the same checks run on every seed); :func:`extra_jobs` counts the jobs it adds to the
grid outside the evaluation units.
"""

from __future__ import annotations

from atspectrum import config as atconfig
from atspectrum.strengths import L2, like

from .cells import Cell, beta_token, more_steps_attack


def _big_delta_plan(config: dict, model: str, s: dict) -> dict:
    """``{"big_delta": δ}`` for an L2 model: ``large_delta.l2_delta``, else (ours) the radius of the smallest L2 ball
    that holds the L∞ ball of ``large_delta.delta``, δ/255 · sqrt(H·W·C) (the L2 attack is then at least as strong
    a threat as the L∞ one, which moves every pixel as far). Empty for an L∞ model, whose very large δ is
    ``large_delta.delta`` (left out of the plan so that an L∞ run's params stay as they were)."""
    if atconfig.threat_model(config, model) != L2:
        return {}
    own = s["large_delta"].get("l2_delta")
    if own is None:
        own = round(s["large_delta"]["delta"] / 255 * atconfig.datasets.l2_diameter(config["data"]), 4)
    return {"big_delta": float(own)}


def big_delta(plan_part: dict, settings: dict):
    """The very large δ of a model's plan (or of its masking plan): see :func:`_big_delta_plan`."""
    return plan_part.get("big_delta", settings["large_delta"]["delta"])


def _nearest(deltas: list[int], eps: int) -> int:
    """The δ of ``deltas`` nearest ``eps`` (ties: the larger)."""
    return min(deltas, key=lambda d: (abs(d - eps), -d))


def _chosen(eps: list[int], mode: str) -> list[int]:
    return list(eps) if mode == "all" else [max(eps)]


def _masking_plan(config: dict, model: str, eps: list[int], s: dict) -> dict:
    """The gradient-masking checks' cells of one model: the first ``masking.layers`` quantization points at the
    headline β; BPDA at the very large δ and with more steps at the ε the PGD checks use, APGD-BPDA on every ε."""
    beta = atconfig.masking_beta(config)
    if beta is None:
        return {"reason": "bpda is not in quantization.attacks"}
    bpda_deltas = atconfig.quant_deltas(config, "bpda", model)
    plan = {
        **_big_delta_plan(config, model, s),
        "beta": beta,
        "layers": atconfig.quant_layers(config, model)[: s["masking"]["layers"]],
        "eps": list(eps),
        "bpda_steps": int(config["quantization"]["bpda"]["steps"]),
        "large_delta": _chosen(eps, s["large_delta"]["eps"]),
        "more_steps": [[e, _nearest(bpda_deltas, e)] for e in _chosen(eps, s["more_steps"]["eps"])],
    }
    if "apgd-bpda" not in atconfig.quant_eval_attacks(config):
        plan["apgd_reason"] = "apgd-bpda is not in quantization.attacks"
    elif beta not in atconfig.quant_attack_betas(config, "apgd-bpda"):
        plan["apgd_reason"] = f"apgd-bpda does not run at beta {beta_token(beta)} (quantization.apgd-bpda.beta)"
    else:
        plan["apgd_deltas"] = [d for d in atconfig.quant_deltas(config, "apgd-bpda", model) if d in bpda_deltas]
        plan["apgd_steps"] = int(config["quantization"]["apgd-bpda"]["steps"])
    return plan


def _quantized_plan(config: dict, model: str, eps: list[int], s: dict) -> dict:
    """The quantized checks of one model: every white-box attack on the quantized model (bpda, apgd-bpda; not the
    "worst" aggregate) on the cells it shares with transfer, the cached transfer δ, the very large β's ε, masking."""
    attacks = list(config["quantization"]["attacks"])
    transfer_deltas = (
        [d for d in atconfig.quant_deltas(config, "transfer", model) if d > 0] if "transfer" in attacks else []
    )
    transfer_betas = atconfig.quant_attack_betas(config, "transfer")
    return {
        "layers": atconfig.quant_layers(config, model),
        "adv": transfer_deltas,
        "whitebox": {
            a: {
                "deltas": [d for d in atconfig.quant_deltas(config, a, model) if d in transfer_deltas],
                "betas": [b for b in atconfig.quant_attack_betas(config, a) if b in transfer_betas],
            }
            for a in attacks
            if a not in ("transfer", "worst")
        },
        "large_beta": _chosen(eps, s["large_beta"]["eps"]),
        "masking": _masking_plan(config, model, eps, s),
    }


def plan(config: dict) -> dict:
    """What the checklist checks for a (validated) config: plain lists and numbers, so it can be a rule's params.
    The extra evaluations it needs (very large δ, more steps, very large β) are at the ε chosen by each check's
    ``eps`` setting (``largest``: the model's largest ε; ``all``)."""
    s = atconfig.checklist_settings(config)
    quant = atconfig.quantization_enabled(config)
    out = {"steps": int(config["overdesign"]["attack"]["steps"]), "quantization": quant, "models": {}}
    for model in sorted(config["models"]):
        eps = atconfig.eps_list(config, model)
        large = _chosen(eps, s["large_delta"]["eps"])
        own = _big_delta_plan(config, model, s)
        big = {big_delta(own, s)}
        grid_deltas = atconfig.overdesign_deltas(config, model)
        m = {
            **own,
            "eps": eps,
            "pgd": {
                e: sorted(set(atconfig.pgd_deltas(config, model, e)) | (big if e in large else set())) for e in eps
            },
            "large_delta": large,
            # the grid's own PGD_eps evaluation (delta = eps), or its smallest delta for a standard model
            "more_steps": [[e, e if e > 0 else grid_deltas[0]] for e in _chosen(eps, s["more_steps"]["eps"])],
        }
        if quant:
            m.update(_quantized_plan(config, model, eps, s))
        out["models"][model] = m
    return out


def cells(the_plan: dict, settings: dict, seed: int) -> dict[str, list[Cell]]:
    """Every cell the checklist reads for one training seed, by kind: ``pgd`` (the very-large-δ runs included),
    ``more_steps`` (PGD with more steps: one job each, outside the units) and ``quantized``."""
    big_beta, factor = settings["large_beta"]["beta"], settings["more_steps"]["factor"]
    out = {"pgd": [], "more_steps": [], "quantized": []}
    for model, m in the_plan["models"].items():
        out["pgd"] += [Cell(model, seed, e, "pgd", d) for e in m["eps"] for d in m["pgd"][e]]
        out["more_steps"] += [Cell(model, seed, e, more_steps_attack(factor), d) for e, d in m["more_steps"]]
        if not the_plan["quantization"]:
            continue
        for attack, w in m["whitebox"].items():
            out["quantized"] += [
                Cell(model, seed, e, a, d, layer, b)
                for a in ("transfer", attack)
                for e in m["eps"]
                for d in w["deltas"]
                for layer in m["layers"]
                for b in w["betas"]
            ]
        out["quantized"] += [
            Cell(model, seed, e, "transfer", like(0, e), layer, big_beta)
            for e in m["large_beta"]
            for layer in m["layers"]
        ]
        out["quantized"] += [
            c for group in masking_cells(m["masking"], settings, model, seed).values() for c in group.values()
        ]
    return {k: sorted(set(v), key=Cell.sort_key) for k, v in out.items()}


def adv_needed(the_plan: dict, seed: int) -> list[tuple[str, int, int, int]]:
    """The cached transfer examples the checklist judges: (model, seed, ε, δ)."""
    return [
        (model, seed, e, d)
        for model, m in the_plan["models"].items()
        if the_plan["quantization"]
        for e in m["eps"]
        for d in m["adv"]
    ]


def masking_cells(masking: dict, settings: dict, model: str, seed: int) -> dict[tuple, dict[str, Cell]]:
    """The cells of the gradient-masking checks (``masking`` from :func:`plan`), per (check, ε, δ, layer): the
    frames each compares (``bpda`` and ``large`` / ``more`` / ``apgd``)."""
    if "beta" not in masking:
        return {}
    b, big = masking["beta"], big_delta(masking, settings)
    more = more_steps_attack(settings["more_steps"]["factor"], "bpda")
    out = {}
    for layer in masking["layers"]:
        for e in masking["large_delta"]:
            out[("bpda_large_delta", e, big, layer)] = {"large": Cell(model, seed, e, "bpda", big, layer, b)}
        for e, d in masking["more_steps"]:
            out[("bpda_more_steps", e, d, layer)] = {
                "bpda": Cell(model, seed, e, "bpda", d, layer, b),
                "more": Cell(model, seed, e, more, d, layer, b),
            }
        for e in masking["eps"] if "apgd_deltas" in masking else []:
            for d in masking["apgd_deltas"]:
                out[("apgd_vs_bpda", e, d, layer)] = {
                    "bpda": Cell(model, seed, e, "bpda", d, layer, b),
                    "apgd": Cell(model, seed, e, "apgd-bpda", d, layer, b),
                    # the same comparison on the unquantized model: a drop as large there is BPDA's general
                    # weakness, a larger one on the quantized cell is masking by the quantizer
                    "bpda_none": Cell(model, seed, e, "bpda", d),
                    "apgd_none": Cell(model, seed, e, "apgd-bpda", d),
                }
    return out


def extra_jobs(config: dict) -> dict[str, int]:
    """The jobs the checklist adds to one training seed of a (validated) config's grid outside the evaluation units,
    per rule: PGD with more steps. Its other evaluations join the grid's units."""
    return {"evaluate_pgd_steps": sum(len(m["more_steps"]) for m in plan(config)["models"].values())}
