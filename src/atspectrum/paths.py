"""Artifact paths under ``results/<run>/``: one place for the layout the rules and the scripts share.

Wildcards are canonical tokens (``eps8``, ``delta4``) so paths never change with number formatting.
"""
from __future__ import annotations


def run_dir(run: str) -> str:
    return f"results/{run}"


def data_file(root: str, dataset: str, split: str) -> str:
    return f"{root}/data/{dataset}/{split}.npz"


def model_dir(root: str, model: str, eps) -> str:
    return f"{root}/models/{model}/eps{eps}"


def model_file(root: str, model: str, eps) -> str:
    return f"{model_dir(root, model, eps)}/model.pt"


def train_state_file(root: str, model: str, eps) -> str:
    """The resume checkpoint: deliberately not a rule output, so a failed job never deletes it."""
    return f"{model_dir(root, model, eps)}/state/last.pt"


def eval_file(root: str, model: str, eps, attack: str, delta, layer: str = "none", beta=None) -> str:
    base = f"{root}/eval/{model}/eps{eps}/{attack}/delta{delta}"
    return f"{base}/none.parquet" if layer == "none" else f"{base}/{layer}/beta{beta}.parquet"


def table_files(root: str, stem: str) -> list[str]:
    return [f"{root}/tables/{stem}.{ext}" for ext in ("csv", "md", "tex")]


def figure_files(root: str, stem: str, exts=("png", "pdf")) -> list[str]:
    return [f"{root}/figures/{stem}.{ext}" for ext in exts]
