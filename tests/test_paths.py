"""atspectrum.runtime.paths.run_root: the scripts find their run directory from their own outputs."""

import pytest

from atspectrum.evaluation import search
from atspectrum.planning import Cell, Unit
from atspectrum.runtime import paths as P


@pytest.mark.parametrize("run", ["demo", "paper", "tables", "results", "my.run-2"])
def test_run_root_of_every_kind_of_artifact_is_its_run_directory(run):
    root = P.run_dir(run)
    artifacts = [
        *P.table_files(root, "models_rn", ci=True),
        *P.figure_files(root, "robust_error_rn"),
        f"{root}/figures/claims/C1_robust_error_rn.png",  # the claims' figure copies
        P.data_file(root, "cifar10", "test"),
        P.model_file(root, "rn", 0, 8),
        P.train_state_file(root, "rn", 1, 8),
        Cell("rn", 0, 8, "pgd", 4).path(root),
        Cell("tables", 2, 8, "bpda", 4, "conv0", 7.5).path(root),  # a model named like an artifact directory
        Unit("rn", 0, "transfer", 4, "beta8").file(root),
        P.adv_file(root, "rn", 0, 8, 4),
        P.analysis_file(root, "rn", 0, 8, "preact.json"),
        search.step_file(root, "rn", 0, 2, 4),
        f"{root}/corruptions/cifar10/labels.npy",
        f"{root}/logs/train/rn_eps8.log",
        f"{root}/benchmarks/claims.tsv",
    ]
    for path in artifacts:
        assert P.run_root(path) == root, path
        assert P.run_root(f"./{path}") == root, path


def test_run_root_of_an_absolute_path_keeps_the_working_directory():
    assert P.run_root("/scratch/results/old/results/demo/tables/claims.csv") == "/scratch/results/old/results/demo"
    assert P.run_root("/home/results/demo/eval/rn/seed0/eps0/pgd/delta0/none.parquet") == "/home/results/demo"


@pytest.mark.parametrize(
    "path", ["results/demo/config_used.yaml", "results/demo/tables", "tables/claims.csv", "results/demo/other/x.csv"]
)
def test_run_root_refuses_a_path_that_is_no_artifact(path):
    with pytest.raises(ValueError, match="results/<run>/"):
        P.run_root(path)
