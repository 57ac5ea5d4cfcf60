"""What the checklist checks for a config, and so which evaluations the workflow must run for it.

:func:`plan` turns a (validated) config into plain lists and numbers (a rule's params): per model the ε, the PGD δ
of each ε (the grid's plus the very large δ), the (ε, δ) re-run with more steps, and, with quantization on, the
quantized cells of the transfer-vs-white-box check, the cached transfer δ, the ε of the very-large-β check and the
gradient-masking cells (:func:`_masking_plan`). :func:`input_files` and :func:`masking_files` name the files the
checklist reads; :func:`extra_jobs` counts the PGD jobs it adds to the grid; :func:`more_steps_attack` is the
attack token of a run with more steps.
"""

from __future__ import annotations

from atspectrum import config as atconfig
from atspectrum.runtime import paths


def more_steps_attack(factor: int, attack: str = "pgd") -> str:
    """The attack token (path component) of the run with ``factor``× the grid's steps, e.g. ``pgd5x``, ``bpda5x``."""
    return f"{attack}{int(factor)}x"


def _nearest(deltas: list[int], eps: int) -> int:
    """The δ of ``deltas`` nearest ``eps`` (ties: the larger)."""
    return min(deltas, key=lambda d: (abs(d - eps), -d))


def _masking_plan(config: dict, model: str, eps: list[int], s: dict) -> dict:
    """The gradient-masking checks' cells of one model: the first ``masking.layers`` quantization points at the
    headline β; BPDA at the very large δ and with more steps at the ε the PGD checks use, APGD-BPDA on every ε."""
    beta = atconfig.masking_beta(config)
    if beta is None:
        return {"reason": "bpda is not in quantization.attacks"}
    bpda_deltas = atconfig.quant_deltas(config, "bpda")
    plan = {
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
        plan["apgd_reason"] = f"apgd-bpda does not run at beta {paths.beta_token(beta)} (quantization.apgd-bpda.beta)"
    else:
        plan["apgd_deltas"] = [d for d in atconfig.quant_deltas(config, "apgd-bpda") if d in bpda_deltas]
        plan["apgd_steps"] = int(config["quantization"]["apgd-bpda"]["steps"])
    return plan


def _chosen(eps: list[int], mode: str) -> list[int]:
    return list(eps) if mode == "all" else [max(eps)]


def plan(config: dict) -> dict:
    """What the checklist checks for a (validated) config: plain lists and numbers, so it can be a rule's params.
    The extra evaluations it needs (very large δ, more steps, very large β) are at the ε chosen by each check's
    ``eps`` setting (``largest``: the model's largest ε; ``all``)."""
    s = atconfig.checklist_settings(config)
    grid_deltas = atconfig.overdesign_deltas(config)
    quant = atconfig.quantization_enabled(config)
    attacks = list(config["quantization"]["attacks"]) if quant else []
    transfer_deltas = [d for d in atconfig.quant_deltas(config, "transfer") if d > 0] if "transfer" in attacks else []
    out = {"steps": int(config["overdesign"]["attack"]["steps"]), "quantization": quant, "models": {}}
    for model in sorted(config["models"]):
        eps = atconfig.eps_list(config, model)
        large = _chosen(eps, s["large_delta"]["eps"])
        pgd = {
            e: sorted(
                set(atconfig.pgd_deltas(config, model, e)) | ({s["large_delta"]["delta"]} if e in large else set())
            )
            for e in eps
        }
        m = {
            "eps": eps,
            "pgd": pgd,
            "large_delta": large,
            # the grid's own PGD_eps evaluation (delta = eps), or its smallest delta for a standard model
            "more_steps": [[e, e if e > 0 else grid_deltas[0]] for e in _chosen(eps, s["more_steps"]["eps"])],
        }
        if quant:
            # every white-box attack on the quantized model (bpda, apgd-bpda; not the "worst" aggregate), on the
            # cells it shares with transfer
            transfer_betas = atconfig.quant_attack_betas(config, "transfer")
            m.update(
                layers=atconfig.quant_layers(config, model),
                adv=transfer_deltas,
                whitebox={
                    a: {
                        "deltas": [d for d in atconfig.quant_deltas(config, a) if d in transfer_deltas],
                        "betas": [b for b in atconfig.quant_attack_betas(config, a) if b in transfer_betas],
                    }
                    for a in attacks
                    if a not in ("transfer", "worst")
                },
                large_beta=_chosen(eps, s["large_beta"]["eps"]),
                masking=_masking_plan(config, model, eps, s),
            )
        out["models"][model] = m
    return out


def input_files(the_plan: dict, settings: dict, root: str) -> dict[str, list[str]]:
    """Every file the checklist reads, by kind (``pgd`` includes the very-large-δ and more-steps runs)."""
    big_beta, factor = settings["large_beta"]["beta"], settings["more_steps"]["factor"]
    files = {"pgd": [], "quantized": [], "adv": []}
    for model, m in the_plan["models"].items():
        files["pgd"] += [paths.eval_file(root, model, e, "pgd", d) for e in m["eps"] for d in m["pgd"][e]]
        files["pgd"] += [paths.eval_file(root, model, e, more_steps_attack(factor), d) for e, d in m["more_steps"]]
        if not the_plan["quantization"]:
            continue
        for attack, cells in m["whitebox"].items():
            for a in ("transfer", attack):
                files["quantized"] += [
                    paths.eval_file(root, model, e, a, d, layer, b)
                    for e in m["eps"]
                    for d in cells["deltas"]
                    for layer in m["layers"]
                    for b in cells["betas"]
                ]
        files["quantized"] += [
            paths.eval_file(root, model, e, "transfer", 0, layer, big_beta)
            for e in m["large_beta"]
            for layer in m["layers"]
        ]
        files["quantized"] += [
            path for cell in masking_files(m["masking"], settings, root, model).values() for path in cell.values()
        ]
        files["adv"] += [paths.adv_file(root, model, e, d) for e in m["eps"] for d in m["adv"]]
    return {k: sorted(set(v)) for k, v in files.items()}


def masking_files(masking: dict, settings: dict, root: str, model: str) -> dict[tuple, dict[str, str]]:
    """The files of the gradient-masking checks (``masking`` from :func:`plan`), per (check, ε, δ, layer): the
    frames each compares (``bpda`` and ``large`` / ``more`` / ``apgd``)."""
    if "beta" not in masking:
        return {}
    b, big_delta = masking["beta"], settings["large_delta"]["delta"]
    more = more_steps_attack(settings["more_steps"]["factor"], "bpda")
    files = {}
    for layer in masking["layers"]:
        for e in masking["large_delta"]:
            files[("bpda_large_delta", e, big_delta, layer)] = {
                "large": paths.eval_file(root, model, e, "bpda", big_delta, layer, b)
            }
        for e, d in masking["more_steps"]:
            files[("bpda_more_steps", e, d, layer)] = {
                "bpda": paths.eval_file(root, model, e, "bpda", d, layer, b),
                "more": paths.eval_file(root, model, e, more, d, layer, b),
            }
        for e in masking["eps"] if "apgd_deltas" in masking else []:
            for d in masking["apgd_deltas"]:
                files[("apgd_vs_bpda", e, d, layer)] = {
                    "bpda": paths.eval_file(root, model, e, "bpda", d, layer, b),
                    "apgd": paths.eval_file(root, model, e, "apgd-bpda", d, layer, b),
                    # the same comparison on the unquantized model: a drop as large there is BPDA's general
                    # weakness, a larger one on the quantized cell is masking by the quantizer
                    "bpda_none": paths.eval_file(root, model, e, "bpda", d),
                    "apgd_none": paths.eval_file(root, model, e, "apgd-bpda", d),
                }
    return files


def extra_jobs(config: dict) -> dict[str, int]:
    """The jobs the checklist adds to a (validated) config's grid outside the evaluation units, per rule (for compute
    projections): PGD with more steps. Its other evaluations (PGD at the very large δ, the very large β, and on the
    gradient-masking cells BPDA at the very large δ and with more steps) join the grid's evaluation units
    (:func:`atspectrum.evaluation.units.plan`)."""
    return {"evaluate_pgd_steps": sum(len(m["more_steps"]) for m in plan(config)["models"].values())}
