"""Metric kernels against reference software (statsmodels GLM, scipy Mann-Whitney) and by hand."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import special, stats

from bayes_ubpr import metrics


@pytest.fixture
def outcomes(rng):
    p = rng.uniform(0.02, 0.9, 400)
    y = (rng.random(400) < special.expit(0.3 + 1.4 * special.logit(p))).astype(int)
    return y, p


def test_calibration_slope_and_intercept_match_statsmodels(outcomes):
    y, p = outcomes
    lp = special.logit(p)
    slope = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit().params[1]
    citl = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=lp).fit().params[0]
    assert metrics.calibration_slope(y, p) == pytest.approx(slope, rel=1e-8)
    assert metrics.calibration_in_the_large(y, p) == pytest.approx(citl, rel=1e-8)


def test_auc_matches_mann_whitney(outcomes):
    y, p = outcomes
    u = stats.mannwhitneyu(p[y == 1], p[y == 0]).statistic
    assert metrics.auc(y, p) == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()))


def test_vectorised_over_draws(outcomes):
    y, p = outcomes
    many = np.stack([p, np.clip(p * 0.5, 0.001, 1), p])
    for name in ("auc", "brier_score", "calibration_in_the_large", "calibration_slope", "observed_expected_ratio"):
        values = getattr(metrics, name)(y, many)
        assert values.shape == (3,)
        assert values[0] == pytest.approx(getattr(metrics, name)(y, p))


def test_simple_values():
    y = np.array([0, 1, 1, 0])
    p = np.array([0.2, 0.6, 0.9, 0.5])
    assert metrics.brier_score(y, p) == pytest.approx((0.04 + 0.16 + 0.01 + 0.25) / 4)
    assert metrics.observed_expected_ratio(y, p) == pytest.approx(2 / 2.2)
    assert metrics.integrated_calibration_index(p, p) == 0.0
    assert metrics.integrated_calibration_index([0.1, 0.2], [0.2, 0.4]) == pytest.approx(0.15)


def test_calibration_fits_that_have_no_finite_estimate_are_nan():
    from bayes_ubpr.metrics import calibration_in_the_large, calibration_slope

    separated = np.array([[0.1, 0.2, 0.3, 0.4], [0.1, 0.3, 0.2, 0.4]])
    slopes = calibration_slope([0, 0, 1, 1], separated)
    assert np.isnan(slopes[0]) and np.isfinite(slopes[1])
    assert np.isnan(calibration_in_the_large([1, 1, 1], [0.2, 0.3, 0.1]))


def test_calibration_fits_with_extreme_risks_match_statsmodels():
    # Risks spread over logit -17..13: plain Newton from (0, 1) overshoots here; the damped fit must not.
    rng = np.random.default_rng(3)
    lp = rng.normal(-2, 5, size=1316)
    y = (rng.random(1316) < special.expit(-3.5 + 0.59 * lp)).astype(int)
    reference = sm.Logit(y, sm.add_constant(lp)).fit(disp=0).params
    assert metrics.calibration_slope(y, special.expit(lp)) == pytest.approx(reference[1], rel=1e-6)
    offset_fit = sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=lp).fit()
    assert metrics.calibration_in_the_large(y, special.expit(lp)) == pytest.approx(offset_fit.params[0], rel=1e-6)
