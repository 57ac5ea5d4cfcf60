import numpy as np
import pytest
from scipy import stats as sst

from atspectrum import stats


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (50, 100), (9990, 10000), (10000, 10000), (1, 1)])
def test_wilson_matches_scipy(k, n):
    low, high = stats.wilson(k, n)
    ref = sst.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert low == pytest.approx(ref.low, abs=1e-9) and high == pytest.approx(ref.high, abs=1e-9)
    assert low <= k / n <= high


@pytest.mark.parametrize("a_only,b_only", [(0, 0), (5, 0), (12, 30), (40, 41), (3, 17)])
def test_mcnemar_exact_matches_a_binomial_test_on_the_discordant_pairs(a_only, b_only):
    concordant = 50
    a = np.array([True] * a_only + [False] * b_only + [True] * concordant + [False] * 7)
    b = np.array([False] * a_only + [True] * b_only + [True] * concordant + [False] * 7)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(a))  # pairing is by example, whatever the order
    result = stats.mcnemar(a[perm], b[perm])
    assert (result["a_only"], result["b_only"]) == (a_only, b_only)
    expected = 1.0 if a_only + b_only == 0 else sst.binomtest(a_only, a_only + b_only, 0.5).pvalue
    assert result["p_value"] == pytest.approx(expected, rel=1e-9)


def test_mcnemar_refuses_unpaired_results():
    with pytest.raises(ValueError, match="same examples"):
        stats.mcnemar(np.ones(3, bool), np.ones(4, bool))


def test_holm_step_down():
    adjusted, reject = stats.holm([0.01, 0.04, 0.03, 0.005], alpha=0.05)
    # sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → monotone 0.06
    assert adjusted == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert list(reject) == [True, False, False, True]
