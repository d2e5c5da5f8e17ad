"""R-hat and ESS on arrays, every parameter at once, equal to ArviZ's; the lean draws equal a fit's."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

import bayes_ubpr as bu
from bayes_ubpr.model import ModelSpec
from bayes_ubpr.model._build import prepare_inputs
from bayes_ubpr.model._diagnostics import ess_bulk, ess_tail, rhat
from bayes_ubpr.model._draws import sample_arrays


def _ar1(rng, chains, n, k, phi):
    x = np.zeros((chains, n, k))
    noise = rng.normal(size=(chains, n, k))
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    return x + rng.normal(size=(chains, 1, k)) * 0.1


@pytest.mark.parametrize(
    ("chains", "n", "k", "phi"), [(4, 250, 7, 0.0), (4, 250, 7, 0.6), (4, 1001, 3, 0.9), (2, 100, 5, -0.3)]
)
def test_diagnostics_equal_arviz(rng, chains, n, k, phi):
    draws = _ar1(rng, chains, n, k, phi)
    expected = np.array(
        [
            [az.rhat(draws[..., j]) for j in range(k)],
            [az.ess(draws[..., j], method="bulk") for j in range(k)],
            [az.ess(draws[..., j], method="tail") for j in range(k)],
        ]
    )
    # the same estimators (Vehtari et al. 2021) in another order of floating-point operations
    np.testing.assert_allclose(np.stack([rhat(draws), ess_bulk(draws), ess_tail(draws)]), expected, rtol=1e-10)


def test_a_constant_parameter_has_full_ess_and_a_stuck_chain_a_large_rhat(rng):
    draws = rng.normal(size=(4, 200, 2))
    draws[..., 0] = 1.0
    draws[0, :, 1] += 5.0
    assert ess_bulk(draws)[0] == 800
    assert rhat(draws)[1] > 1.5


def test_lean_draws_equal_the_fits_and_the_verdict_arviz(small_cohort):
    spec = ModelSpec(factors=("fascia_injury", "age"))
    idata = bu.fit(small_cohort, spec, draws=300, tune=300, chains=2, seed=4, check=False)
    arrays = sample_arrays(prepare_inputs(small_cohort, spec), draws=300, tune=300, chains=2, seed=4)
    np.testing.assert_array_equal(arrays.draws["beta"], idata.posterior["beta"].to_numpy())
    summary = bu.check_convergence(idata)
    assert arrays.rhat_max == pytest.approx(summary["r_hat"].max(), rel=1e-10)
    assert arrays.ess_bulk_min == pytest.approx(summary["ess_bulk"].min(), rel=1e-10)
    assert arrays.ess_tail_min == pytest.approx(summary["ess_tail"].min(), rel=1e-10)
