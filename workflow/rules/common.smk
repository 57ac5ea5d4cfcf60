# Target builders and the small functions the rules share. Logic lives in atspectrum.config / atspectrum.paths.
import atspectrum.paths as P

R = P.run_dir(config["run"])
DATASET = config["data"]["dataset"]
MODELS = sorted(config["models"])


wildcard_constraints:
    model="|".join(MODELS),
    eps=r"\d+",
    delta=r"\d+",
    dataset=r"[a-z0-9_]+",


def data_input(split):
    return P.data_file(R, DATASET, split)


def pgd_eval_targets(model):
    return [
        P.eval_file(R, model, eps, "pgd", delta)
        for eps in atconfig.eps_list(config, model)
        for delta in atconfig.pgd_deltas(config, model, eps)
    ]


def overdesign_outputs(model):
    return (
        P.table_files(R, f"models_{model}")
        + P.table_files(R, f"robust_accuracy_{model}")
        + P.table_files(R, f"overdesign_{model}")
        + P.figure_files(R, f"robust_error_{model}")
    )


def all_targets():
    return [f for model in MODELS for f in overdesign_outputs(model)]
