"""The decision rules of the replicated verdicts (atspectrum.inference), checked by simulation: per-seed, per-image
results with a known effect, between-seed variance and within-image correlation (docs/statistics.md)."""

import math

import numpy as np
import pytest
from scipy.stats import kendalltau

from atspectrum import inference as inf

ALPHA = 0.05


def _paired(gen, seeds, images, effect, seed_sd, versions=1, image_sd=1.5, gain_sd=0.0):
    """Per-seed, per-image differences (points) of model A − model B, paired by image (common random numbers), with
    a seed effect of sd ``seed_sd`` (logits) and, with ``versions`` > 1, that many versions per image, correlated
    through the image's difficulty and its own gain (sd ``gain_sd``: A helps some images more than others)."""
    a = gen.normal(0, image_sd, (1, images, 1)) + gen.normal(0, 0.3, (1, images, versions))
    gain = effect + gen.normal(0, gain_sd, (1, images, 1))
    b_a, b_b = gen.normal(0, seed_sd, (2, seeds, 1, 1))
    u = gen.random((seeds, images, versions))
    p_a, p_b = 1 / (1 + np.exp(-(a + b_a + gain))), 1 / (1 + np.exp(-(a + b_b)))
    return 100.0 * ((u < p_a).astype(float) - (u < p_b).astype(float))


def _verdicts(effect, seeds, seed_sd, margin=0.5, reps=300, images=300, at_least=False):
    gen = np.random.default_rng(7)
    out = []
    for r in range(reps):
        d = _paired(gen, seeds, images, effect, seed_sd)[..., 0]
        est = inf.crossed(d)[0]
        out.append(inf.decide([inf.pvalues(est, margin, at_least)], ALPHA)[0])
    return out


def _rate(verdicts, verdict, how=None):
    return np.mean([v == verdict and (how is None or h == how) for v, h, _ in verdicts])


def _mc_bound(rate, reps=300):
    return rate + 3 * math.sqrt(rate * (1 - rate) / reps)


@pytest.mark.parametrize("seeds,seed_sd", [(5, 0.3), (3, 0.3), (5, 0.05)])
def test_no_effect_gives_false_verdicts_at_most_alpha(seeds, seed_sd):
    """True effect 0: a false *holds* at most α/2 (one side of the 95% interval) and a false *opposite* as often."""
    v = _verdicts(0.0, seeds, seed_sd)
    assert _rate(v, inf.HOLDS) <= _mc_bound(ALPHA / 2)
    assert _rate(v, inf.FAILS, inf.OPPOSITE) <= _mc_bound(ALPHA / 2)


def test_an_effect_at_the_margin_rarely_holds_by_at_least_it():
    """A claim "by at least Δ" with a true effect of exactly Δ (log-odds 0.2 ≈ 4.6 points at p 0.5, at the bounds
    of the data's mean difference): *holds* at most α/2."""
    gen = np.random.default_rng(3)
    d = [_paired(gen, 5, 300, 0.2, 0.3)[..., 0] for _ in range(200)]
    true = float(np.mean([x.mean() for x in d]))  # the effect in points, by Monte Carlo
    holds = [inf.decide([inf.pvalues(inf.crossed(x)[0], true, True)], ALPHA)[0][0] for x in d]
    assert np.mean([h == inf.HOLDS for h in holds]) <= _mc_bound(ALPHA / 2, 200)


def test_a_large_effect_is_found_and_no_effect_is_shown_equivalent_with_enough_data():
    assert _rate(_verdicts(0.3, 5, 0.1, reps=60), inf.HOLDS) >= 0.9
    gen = np.random.default_rng(5)
    d = _paired(gen, 5, 4000, 0.0, 0.02)[..., 0]
    verdict, how, _ = inf.decide([inf.pvalues(inf.crossed(d)[0], 3.0)], ALPHA)[0]
    assert (verdict, how) == (inf.FAILS, inf.EQUIVALENT)


def test_correlated_versions_need_the_clustered_interval():
    """Every image in 20 correlated versions (as a corruption set): the interval that treats the versions as
    independent images covers the true effect far too rarely; averaging them per image first (clusters) covers."""
    gen = np.random.default_rng(11)
    naive = clustered = 0
    reps = 80
    true = _paired(np.random.default_rng(0), 1, 100_000, 0.2, 0.0, versions=2, gain_sd=2.0)[0].mean()
    for r in range(reps):
        d = _paired(gen, 1, 100, 0.2, 0.0, versions=20, gain_sd=2.0)[0]  # images × versions
        lo, hi = inf.crossed(d.reshape(1, -1))[0].interval()
        naive += lo <= true <= hi
        lo, hi = inf.crossed(d.mean(axis=1)[None])[0].interval()
        clustered += lo <= true <= hi
    assert clustered / reps >= 0.88
    assert naive / reps <= 0.75


def test_seed_resamples_are_reproducible_and_keyed():
    d = np.random.default_rng(1).normal(0, 1, (4, 6))
    a = inf.seed_bootstrap(d, np.mean, 200, inf.rng(0, "C3 resnet18"))
    b = inf.seed_bootstrap(d, np.mean, 200, inf.rng(0, "C3 resnet18"))
    c = inf.seed_bootstrap(d, np.mean, 200, inf.rng(0, "C4 resnet18"))
    assert np.array_equal(a.samples, b.samples) and a.interval() == b.interval()
    assert not np.array_equal(a.samples, c.samples)


def test_the_standard_error_matches_the_spread_of_the_effect_under_seed_image_interaction():
    """Pure seed × image interaction (independent flips): the variance counts it twice, a standard error about √2
    times the effect's true spread over replications (the pigeonhole bootstrap's would be √3 times, the unbiased
    estimate's 1 but anti-conservative with few seeds: docs/statistics.md)."""
    gen = np.random.default_rng(9)
    effects, ses = [], []
    for _ in range(200):
        d = 100.0 * (gen.random((5, 400)) < 0.3) - 100.0 * (gen.random((5, 400)) < 0.3)
        est = inf.crossed(d)[0]
        effects.append(est.effect)
        ses.append(est.se)
    assert 1.3 < np.mean(ses) / np.std(effects) < 1.55


def test_one_value_per_seed_gives_a_t_interval_and_none_with_one_seed():
    est = inf.seeds_only([1.0, 2.0, 3.0])
    assert est.effect == 2.0 and est.df == 2 and est.interval()[0] == pytest.approx(2 - 4.302653 / np.sqrt(3), 1e-5)
    assert np.isnan(inf.seeds_only([1.0]).interval()[0])


def test_bad_values_are_refused():
    with pytest.raises(ValueError, match="NaN"):
        inf.crossed(np.array([[1.0, math.nan]]))


def test_holm_steps_down_over_the_family():
    """Three endpoints, p 0.01, 0.02, 0.04 against Holm's thresholds 0.05/3, 0.05/2, 0.05: all three are decided;
    with p 0.03 first (0.03 × 3 > 0.05) the step-down stops at once and none is."""
    fam = [{inf.HOLDS: p, inf.OPPOSITE: 1.0, inf.EQUIVALENT: 1.0} for p in (0.01, 0.02, 0.04)]
    assert [v for v, _, _ in inf.decide(fam, ALPHA)] == [inf.HOLDS] * 3
    fam[0][inf.HOLDS] = 0.03  # 0.02*3 = 0.06 > 0.05: the step-down stops at the first
    out = inf.decide(fam, ALPHA)
    assert [v for v, _, _ in out] == [inf.INCONCLUSIVE] * 3
    assert out[0][2] == pytest.approx(0.06)
    assert inf.decide([None, fam[1]], ALPHA)[0] == (inf.INCONCLUSIVE, "", math.nan) or math.isnan(
        inf.decide([None, fam[1]], ALPHA)[0][2]
    )


def test_all_of_is_intersection_union():
    holds = {inf.HOLDS: 0.001, inf.OPPOSITE: 1.0, inf.EQUIVALENT: 1.0}
    weak = {inf.HOLDS: 0.2, inf.OPPOSITE: 1.0, inf.EQUIVALENT: 0.01}
    both = inf.all_of([holds, weak])
    assert both[inf.HOLDS] == 0.2 and both[inf.EQUIVALENT] == pytest.approx(0.02)


def test_seeds_needed_projects_from_the_seed_variance():
    gen = np.random.default_rng(4)
    d = _paired(gen, 3, 2000, 0.15, 0.4)[..., 0]
    est = inf.crossed(d)[0]
    words = inf.seeds_needed(est, 0.5)
    assert words.startswith("about ") and int(words.split()[1]) > 3
    one = inf.crossed(d[:1])[0]
    assert "one seed" in inf.seeds_needed(one, 0.5)


def test_a_trends_interval_stays_within_the_range_of_kendalls_tau():
    """The proxy's C3 max-norm trend read tau 0.33 [-0.79, +1.46]: a t interval of a bounded statistic is cut to it."""
    values = np.array([[0.1, 0.2, 0.3, 0.4], [0.4, 0.3, 0.2, 0.1], [0.1, 0.3, 0.2, 0.4], [0.2, 0.1, 0.4, 0.3]])
    est = inf.seed_bootstrap(
        values, lambda y: float(np.nan_to_num(kendalltau(np.arange(4), y)[0])), 400, inf.rng(0, "t")
    )
    low, high = est.interval()
    assert est.se > 0.3 and -1.0 <= low < high <= 1.0  # unclipped: effect ± t(3) se reaches far beyond ±1
