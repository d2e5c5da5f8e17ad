"""The population mappings of a case-control fit: the anchored intercept against scipy's brentq."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, special

import bayes_ubpr as bu
from bayes_ubpr.model.mapping import anchored_intercept, offset_intercept


def _design(rng: np.random.Generator, n_cases: int = 60, n_controls: int = 60) -> tuple[np.ndarray, np.ndarray]:
    x = np.column_stack([rng.normal(3.0, 0.3, n_cases + n_controls), rng.integers(0, 2, n_cases + n_controls)])
    return x, np.r_[np.ones(n_cases, int), np.zeros(n_controls, int)]


def _brentq(x: np.ndarray, y: np.ndarray, beta: np.ndarray, pi: float) -> float:
    n1, n0 = y.sum(), len(y) - y.sum()
    weight = np.where(y == 1, pi / n1, (1 - pi) / n0)

    def gap(c: float) -> float:
        return float((weight * special.expit(c + x @ beta)).sum() - pi)

    return optimize.brentq(gap, -200.0, 200.0, xtol=1e-14, rtol=1e-14)


@pytest.mark.parametrize(("n_controls", "scale"), [(60, 1.0), (240, 1.0), (60, 8.0)])
def test_anchored_intercept_matches_brentq_draw_by_draw(rng, n_controls, scale):
    # reference: scipy.optimize.brentq on each draw's equation; scale 8 gives near-separated, extreme risks
    x, y = _design(rng, n_controls=n_controls)
    beta = rng.normal(0.0, scale, size=(50, 2))
    pi = rng.beta(60.5, 1256.5, size=50)
    c = anchored_intercept(x, y, beta, pi)
    expected = [_brentq(x, y, beta[s], pi[s]) for s in range(50)]
    np.testing.assert_allclose(c, expected, rtol=0, atol=1e-9)


def test_anchored_mean_risk_is_the_prevalence_and_a_fixed_prevalence_broadcasts(rng):
    x, y = _design(rng)
    beta = rng.normal(0.0, 1.0, size=(20, 2))
    c = anchored_intercept(x, y, beta, 0.046)
    weight = np.where(y == 1, 0.046 / 60, (1 - 0.046) / 60)
    mean_risk = (weight * special.expit(c[:, None] + beta @ x.T)).sum(axis=1)
    np.testing.assert_allclose(mean_risk, 0.046, rtol=1e-10)
    assert anchored_intercept(x, y, beta[0], 0.046).shape == (1,)


def test_with_no_effects_both_mappings_agree(rng):
    # beta = 0: every risk equals the prevalence, and the offset of a 1:1 sample with intercept 0 is logit(pi)
    x, y = _design(rng)
    c = anchored_intercept(x, y, np.zeros((3, 2)), np.array([0.01, 0.1, 0.5]))
    np.testing.assert_allclose(c, special.logit([0.01, 0.1, 0.5]), atol=1e-12)
    np.testing.assert_allclose(offset_intercept(np.zeros(3), y, np.array([0.01, 0.1, 0.5])), c, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"y": np.array([1, 1, 1])}, "both cases and controls"),
        ({"y": np.array([1, 2, 0])}, "coded 0/1"),
        ({"y": np.array([1, 0])}, "one outcome per row of x"),
        ({"beta": np.zeros((2, 3))}, "one column per column of x"),
        ({"prevalence": 1.2}, "strictly between 0 and 1"),
    ],
)
def test_anchored_intercept_rejects_bad_input(kwargs, match):
    arguments = {"x": np.zeros((3, 1)), "y": np.array([1, 0, 0]), "beta": np.zeros((2, 1)), "prevalence": 0.1}
    with pytest.raises(ValueError, match=match):
        anchored_intercept(**{**arguments, **kwargs})


def test_population_mapping_is_a_checked_spec_field_that_round_trips():
    spec = bu.ModelSpec(design="case_control", population_mapping="anchored")
    assert bu.ModelSpec.from_dict(spec.to_dict()) == spec
    old = spec.to_dict()
    del old["population_mapping"]  # a fit saved before the field existed used the offset
    assert bu.ModelSpec.from_dict(old).population_mapping == "offset"
    with pytest.raises(ValueError, match="population_mapping must be one of 'offset', 'anchored'"):
        bu.ModelSpec(design="case_control", population_mapping="anchor")


@pytest.mark.slow
def test_an_anchored_fit_stores_anchored_population_intercepts():
    cohort = bu.simulate_cohort(n=1316, seed=3)
    sample = bu.case_control_sample(cohort, 1, seed=4)
    idata = bu.fit(
        sample, design="case_control", population_mapping="anchored", chains=2, draws=300, seed=1, check=False
    )
    post = idata.posterior
    beta = post["beta"].transpose("chain", "draw", "factor").to_numpy().reshape(-1, 6)
    x = idata.constant_data["x"].to_numpy()
    y = idata.observed_data["ubpr"].to_numpy()
    expected = anchored_intercept(x, y, beta, post["prevalence"].to_numpy().reshape(-1))
    np.testing.assert_allclose(post["intercept_population"].to_numpy().reshape(-1), expected)
    centre = idata.constant_data["x_center"].to_numpy()
    np.testing.assert_allclose(post["alpha_population"].to_numpy().reshape(-1), expected + beta @ centre)
    assert bu.ModelSpec.from_idata(idata).population_mapping == "anchored"
    # re-targeting the prevalence keeps the anchored mapping: mean weighted risk equals the new prevalence
    risk = bu.risk_draws(idata, sample[list(bu.ModelSpec.from_idata(idata).factor_names)], prevalence=0.1)
    weight = np.where(y == 1, 0.1 / y.sum(), 0.9 / (len(y) - y.sum()))
    mean_risk = (risk.stack(sample=("chain", "draw")).transpose("sample", "patient").to_numpy() * weight).sum(axis=1)
    np.testing.assert_allclose(mean_risk, 0.1, rtol=1e-9)
