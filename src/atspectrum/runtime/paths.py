"""Artifact paths under ``results/<run>/``: one place for the layout the rules and the scripts share.

Wildcards are canonical tokens (``eps8``, ``delta4``; an L2 strength ``eps0p5_l2``: atspectrum.strengths) so paths
never change with number formatting.
"""

from __future__ import annotations

import functools
import re
from pathlib import PurePosixPath

from atspectrum.strengths import TOKEN_RE, strength
from atspectrum.strengths import token as strength_token

RESULTS = "results"
# The directories right under a run directory: every artifact path is ``results/<run>/<one of these>/...``.
ARTIFACT_DIRS = frozenset(
    {"adv", "analysis", "benchmarks", "corruptions", "data", "eval", "figures", "logs", "models", "search", "tables"}
)


def run_dir(run: str) -> str:
    return f"{RESULTS}/{run}"


def run_root(path: str) -> str:
    """The run directory ``results/<run>`` of an artifact path ``results/<run>/<kind>/...`` (a table, a figure, an
    evaluation, ...; relative to the working directory as the rules declare it, or absolute), as :func:`run_dir`
    spells it: a script finds the run's other artifacts from one of its own outputs.

    The first ``results/<run>`` followed by an artifact directory (:data:`ARTIFACT_DIRS`) counts, so a working
    directory under some other ``results`` or a model named like an artifact directory cannot mislead it."""
    parts = PurePosixPath(str(path)).parts
    for i in range(len(parts) - 3):
        if parts[i] == RESULTS and parts[i + 2] in ARTIFACT_DIRS:
            return str(PurePosixPath(*parts[: i + 2]))
    raise ValueError(f"{path} is not an artifact path {RESULTS}/<run>/<{'|'.join(sorted(ARTIFACT_DIRS))}>/...")


def data_file(root: str, dataset: str, split: str) -> str:
    return f"{root}/data/{dataset}/{split}.npz"


def model_dir(root: str, model: str, seed, eps) -> str:
    """The (model, training seed, ε) training job's directory."""
    return f"{root}/models/{model}/seed{seed}/eps{strength_token(eps)}"


def model_file(root: str, model: str, seed, eps, name: str = "model.pt") -> str:
    """A file of the (model, seed, ε) training job: ``model.pt``, ``train_log.csv``, ``metrics.json``."""
    return f"{model_dir(root, model, seed, eps)}/{name}"


_MODEL_FILE = re.compile(
    rf"/models/(?P<model>[A-Za-z][A-Za-z0-9_]*)/seed(?P<seed>\d+)/eps(?P<eps>{TOKEN_RE})/model\.pt$"
)


def parse_model_file(path) -> dict | None:
    """``{"model", "seed", "eps"}`` of a checkpoint path :func:`model_file` built; None for any other path."""
    m = _MODEL_FILE.search(str(path).replace("\\", "/"))
    return None if m is None else {"model": m["model"], "seed": int(m["seed"]), "eps": strength(m["eps"])}


def train_state_file(root: str, model: str, seed, eps) -> str:
    """The resume checkpoint: deliberately not a rule output, so a failed job never deletes it."""
    return f"{model_dir(root, model, seed, eps)}/state/last.pt"


def table_files(root: str, stem: str, ci: bool = False) -> list[str]:
    """A table's CSV, Markdown and LaTeX files; with ``ci`` also ``<stem>_ci.csv``, its long-format statistics (a
    95% Wilson interval for every accuracy cell, and the paired tests where the table has them)."""
    files = [f"{root}/tables/{stem}.{ext}" for ext in ("csv", "md", "tex")]
    return files + [ci_file(root, stem)] if ci else files


def ci_file(root: str, stem: str) -> str:
    return f"{root}/tables/{stem}_ci.csv"


def figure_files(root: str, stem: str, exts=("png", "pdf")) -> list[str]:
    return [f"{root}/figures/{stem}.{ext}" for ext in exts]


def beta_token(beta) -> str:
    """β as a path token: 8 → ``8``, 7.5 → ``7p5`` (never ``8.0``); a string is taken as a token already."""
    return beta if isinstance(beta, str) else _number_token(float(beta))


@functools.lru_cache(maxsize=256)  # planning spells the same few β hundreds of thousands of times
def _number_token(b: float) -> str:
    return str(int(b)) if b.is_integer() else repr(b).replace(".", "p")


def beta_value(token: str) -> float:
    return float(str(token).replace("p", "."))


def adv_file(root: str, model: str, seed, eps, delta, attack: str = "pgd") -> str:
    """Transfer examples: PGD_δ against the unquantized (model, seed, ε), full precision, made by ``attack``: ``pgd``
    (the grid's PGD unit, when transfer shares its settings) or ``transfer`` (rule transfer_examples, its own)."""
    return f"{root}/adv/{model}/seed{seed}/eps{strength_token(eps)}/{attack}/delta{strength_token(delta)}.npz"


def qpoint(layer: str, beta=None) -> str:
    """The last part of an evaluation path: ``none`` or ``<layer>/beta<β>``."""
    return "none" if layer == "none" else f"{layer}/beta{beta_token(beta)}"


def analysis_file(root: str, model: str, seed, eps, name: str) -> str:
    return f"{root}/analysis/{model}/seed{seed}/eps{strength_token(eps)}/{name}"


def declared(outputs, filename: str) -> str:
    """The declared output (of a job's ``snakemake.output``) named ``filename``: a script writes only where its rule
    said it would. KeyError naming the file otherwise."""
    for f in outputs:
        if PurePosixPath(str(f)).name == filename:
            return str(f)
    raise KeyError(f"{filename} is not among this job's declared outputs")


def declared_stem(outputs, table: str) -> str:
    """The stem of table ``table`` (``<dir>/<table>`` of its declared ``<table>.csv``; see :func:`declared`)."""
    return declared(outputs, f"{table}.csv").removesuffix(".csv")


def search_dir(root: str, model: str, seed, delta) -> str:
    """The overdesign search's artifacts of (model, seed, δ) (atspectrum.evaluation.search)."""
    return f"{root}/search/{model}/seed{seed}/delta{strength_token(delta)}"


def val_eval_file(root: str, model: str, seed, delta, eps) -> str:
    """PGD_δ per validation example of the (seed, ε)-model (columns as the test evaluations; rule evaluate_pgd_val):
    the overdesign search's measure and what C1 picks its ε* on, one file for both."""
    return f"{root}/val/{model}/seed{seed}/eps{strength_token(eps)}/pgd/delta{strength_token(delta)}.parquet"
