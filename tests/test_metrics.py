"""Metric kernels against reference software (statsmodels GLM, scipy Mann-Whitney) and by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
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
    assert metrics.mean_absolute_risk_error(p, p) == 0.0
    assert metrics.mean_absolute_risk_error([0.1, 0.2], [0.2, 0.4]) == pytest.approx(0.15)


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


def test_the_old_ici_name_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning, match="mean_absolute_risk_error"):
        value = metrics.integrated_calibration_index([0.1, 0.2], [0.2, 0.4])
    assert value == metrics.mean_absolute_risk_error([0.1, 0.2], [0.2, 0.4])


def test_mean_absolute_risk_error_refuses_outcomes():
    # The old function silently returned mean |y - p| when given outcomes instead of true risks.
    with pytest.raises(ValueError, match="look like outcomes, not risks.*calibration_indices"):
        metrics.mean_absolute_risk_error([0, 1, 1], [0.2, 0.6, 0.9])
    with pytest.raises(ValueError, match="between 0 and 1"):
        metrics.mean_absolute_risk_error([0.2, 1.6], [0.2, 0.6])


def _lowess_reference(y, p, frac):
    """The smoothed curve computed directly with statsmodels, as Austin & Steyerberg's ICI prescribes."""
    fitted = sm.nonparametric.lowess(y, p, frac=frac, it=0, delta=0.01 * np.ptp(p), return_sorted=False)
    return np.abs(p - fitted)


@pytest.mark.parametrize("frac", [2 / 3, 0.3])
def test_calibration_indices_match_a_direct_statsmodels_lowess(outcomes, frac):
    y, p = outcomes
    error = _lowess_reference(y, p, frac)
    indices = metrics.calibration_indices(y, p, frac=frac)
    assert indices["ici"] == pytest.approx(error.mean(), rel=1e-12)
    assert indices["e50"] == pytest.approx(np.median(error), rel=1e-12)
    assert indices["e90"] == pytest.approx(np.quantile(error, 0.9), rel=1e-12)
    assert indices["emax"] == pytest.approx(error.max(), rel=1e-12)
    # the fixture's risks are miscalibrated on purpose (slope 1.4, intercept 0.3): a clearly non-zero ICI
    assert indices["ici"] > 0.03


def test_calibration_curve_matches_statsmodels_and_is_vectorised(outcomes):
    y, p = outcomes
    reference = sm.nonparametric.lowess(y, p, frac=2 / 3, it=0, delta=0.01 * np.ptp(p), return_sorted=False)
    np.testing.assert_allclose(metrics.calibration_curve(y, p), reference, rtol=1e-12)
    many = np.stack([p, np.clip(0.5 * p, 0.001, 1)])
    curves = metrics.calibration_curve(y, many, at=[0.1, 0.5])
    assert curves.shape == (2, 2)
    order = np.argsort(p)
    np.testing.assert_allclose(curves[0], np.interp([0.1, 0.5], p[order], reference[order]))
    indices = metrics.calibration_indices(y, many)
    assert indices["ici"].shape == (2,)
    assert indices["ici"][0] == pytest.approx(metrics.calibration_indices(y, p)["ici"])


def test_ici_separates_calibrated_from_miscalibrated_risks():
    # Tolerance derived by simulation: the ICI of perfectly calibrated risks (y ~ Bernoulli(p)) over 200
    # cohorts of 1,000 gives its sampling distribution; its 99.5th percentile bounds a calibrated cohort's ICI.
    rng = np.random.default_rng(8281)
    n = 1000
    null = []
    for _ in range(200):
        p = rng.uniform(0.02, 0.6, n)
        y = (rng.random(n) < p).astype(int)
        null.append(metrics.calibration_indices(y, p)["ici"])
    bound = np.quantile(null, 0.995)
    assert bound < 0.05  # a calibrated model's ICI is a few percentage points at most at this size
    p = rng.uniform(0.02, 0.6, n)
    y = (rng.random(n) < p).astype(int)
    assert metrics.calibration_indices(y, p)["ici"] < bound
    # risks too extreme (slope 0.5 on the logit scale): true ICI about 0.1, far above the calibrated bound
    too_extreme = special.expit(2 * special.logit(p))
    assert metrics.calibration_indices(y, too_extreme)["ici"] > 2 * bound


def test_calibration_kernel_errors():
    with pytest.raises(ValueError, match="y must be a 1-d array of 3 outcomes"):
        metrics.calibration_indices([0, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="y must hold 0/1 outcomes"):
        metrics.calibration_curve([0, 2, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"frac must be in \(0, 1\]"):
        metrics.calibration_curve([0, 1, 1], [0.1, 0.2, 0.3], frac=0)


# --- decision curves -------------------------------------------------------------------------------


def test_net_benefit_by_hand():
    y = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    p = np.array([0.8, 0.35, 0.1, 0.5, 0.3, 0.2, 0.2, 0.05, 0.05, 0.01])
    # t = 0.2: treated are risks >= 0.2: TP 2 (0.8, 0.35), FP 4 (0.5, 0.3, 0.2, 0.2); NB = 2/10 - 4/10 * 0.25
    # t = 0.4: TP 1, FP 1; NB = 1/10 - 1/10 * 2/3. t = 0.9: nobody treated, NB = 0
    expected = [0.2 - 0.4 * 0.25, 0.1 - 0.1 * (0.4 / 0.6), 0.0]
    np.testing.assert_allclose(metrics.net_benefit(y, p, [0.2, 0.4, 0.9]), expected, rtol=1e-12)
    np.testing.assert_allclose(metrics.net_benefit_treat_all(y, [0.2, 0.4]), [0.3 - 0.7 * 0.25, 0.3 - 0.7 * 0.4 / 0.6])
    # treating everyone is the model whose risks are all above the threshold
    np.testing.assert_allclose(
        metrics.net_benefit(y, np.full(10, 0.99), [0.2, 0.4]), metrics.net_benefit_treat_all(y, [0.2, 0.4])
    )
    draws = np.stack([p, np.full(10, 0.99)])
    np.testing.assert_allclose(metrics.net_benefit(y, draws, [0.2])[:, 0], [expected[0], 0.3 - 0.7 * 0.25])


def test_net_benefit_matches_its_closed_form_on_random_data(outcomes):
    y, p = outcomes
    t = np.linspace(0.01, 0.8, 40)
    treated = p[:, None] >= t
    tp = (treated & (y[:, None] == 1)).sum(axis=0)
    fp = (treated & (y[:, None] == 0)).sum(axis=0)
    np.testing.assert_allclose(metrics.net_benefit(y, p, t), tp / len(y) - fp / len(y) * t / (1 - t), rtol=1e-12)


def test_net_benefit_matches_dcurves(outcomes):
    dcurves = pytest.importorskip("dcurves")  # reference software (dcurves 1.1.7); not installable with pandas 3
    y, p = outcomes
    t = np.round(np.arange(0.01, 0.81, 0.01), 2)
    frame = pd.DataFrame({"y": y, "model": p})
    result = dcurves.dca(data=frame, outcome="y", modelnames=["model"], thresholds=t)
    ours = pd.Series(metrics.net_benefit(y, p, t), index=t)
    for name, expected in (("model", ours), ("all", pd.Series(metrics.net_benefit_treat_all(y, t), index=t))):
        theirs = result[result["model"] == name].set_index("threshold")["net_benefit"]
        np.testing.assert_allclose(theirs.reindex(t).to_numpy(), expected.to_numpy(), atol=1e-12)


def test_bayesian_decision_curve_posterior_means_match_the_conjugate_posterior(outcomes):
    # With one set of risks, E[NB_model] = E[Se] E[pi] - (1 - E[Sp]) (1 - E[pi]) t/(1-t) exactly (independent
    # Beta posteriors); the Monte Carlo mean of 40,000 draws must lie within 4 Monte Carlo SEs of it.
    y, p = outcomes
    t = np.array([0.1, 0.3, 0.6])
    n, d = len(y), y.sum()
    tp = ((p[:, None] >= t) & (y[:, None] == 1)).sum(axis=0)
    tn = ((p[:, None] < t) & (y[:, None] == 0)).sum(axis=0)
    mean_pi, mean_se, mean_sp = (1 + d) / (2 + n), (1 + tp) / (2 + d), (1 + tn) / (2 + n - d)
    expected = mean_se * mean_pi - (1 - mean_sp) * (1 - mean_pi) * t / (1 - t)
    curve = metrics.bayesian_decision_curve(y, p, t, n_draws=40_000, seed=4)
    # median of a nearly normal posterior ~ its mean; MCSE of a median ~ 1.25 sd / sqrt(draws)
    sd = (curve["nb_model_upper"] - curve["nb_model_lower"]) / (2 * 1.96)
    assert np.all(np.abs(curve["nb_model_median"] - expected) < 4 * 1.25 * sd / np.sqrt(40_000) + 1e-4)
    np.testing.assert_allclose(curve["nb_model"], metrics.net_benefit(y, p, t))
    np.testing.assert_allclose(curve["nb_all"], metrics.net_benefit_treat_all(y, t))
    assert (curve["nb_none"] == 0).all()
    total = curve[["prob_best_model", "prob_best_all", "prob_best_none"]].sum(axis=1)
    np.testing.assert_allclose(total, 1.0)
    np.testing.assert_allclose(curve["prob_useful"], curve["prob_best_model"])


def test_bayesian_decision_curve_intervals_shrink_with_the_validation_sample():
    # The posterior SD of NB reflects the sample: quadrupling n should about halve the interval width.
    rng = np.random.default_rng(5)
    widths = []
    for n in (500, 2000):
        p = rng.uniform(0.01, 0.5, n)
        y = (rng.random(n) < p).astype(int)
        curve = metrics.bayesian_decision_curve(y, p, [0.2], n_draws=20_000, seed=6)
        widths.append(float(curve["nb_model_upper"].iloc[0] - curve["nb_model_lower"].iloc[0]))
    assert 1.6 < widths[0] / widths[1] < 2.5


def test_bayesian_decision_curve_uses_the_draws_of_the_risks(outcomes):
    y, p = outcomes
    rng = np.random.default_rng(7)
    draws = special.expit(special.logit(p) + rng.normal(0, 0.8, size=(200, 1)))  # uncertain intercept
    single = metrics.bayesian_decision_curve(y, p, [0.3], seed=1)
    many = metrics.bayesian_decision_curve(y, draws, [0.3], seed=1)
    width = lambda c: float(c["nb_model_upper"].iloc[0] - c["nb_model_lower"].iloc[0])  # noqa: E731
    assert width(many) > 1.2 * width(single)


@pytest.mark.parametrize("bad", [[0.0, 0.2], [0.5, 1.0], [-0.1], [1.5]])
def test_thresholds_outside_zero_one_are_refused(bad):
    y, p = [0, 1, 1], [0.2, 0.5, 0.7]
    for call in (
        lambda: metrics.net_benefit(y, p, bad),
        lambda: metrics.net_benefit_treat_all(y, bad),
        lambda: metrics.bayesian_decision_curve(y, p, bad),
    ):
        with pytest.raises(ValueError, match="thresholds must be risks strictly between 0 and 1"):
            call()


def test_bayesian_decision_curve_argument_errors():
    y, p = [0, 1, 1], [0.2, 0.5, 0.7]
    with pytest.raises(ValueError, match="prior must be two positive Beta shapes"):
        metrics.bayesian_decision_curve(y, p, [0.2], prior=(0, 1))
    with pytest.raises(ValueError, match="prob must be strictly between 0 and 1"):
        metrics.bayesian_decision_curve(y, p, [0.2], prob=1.5)
    with pytest.raises(ValueError, match="thresholds must be a non-empty"):
        metrics.net_benefit(y, p, [])
