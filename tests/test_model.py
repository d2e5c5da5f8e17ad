"""The Bayesian logistic model: structure, priors honoured, convergence checks, and recovery of
known odds ratios from a large simulated cohort."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest

import bayes_ubpr as bu
from bayes_ubpr.exceptions import StatisticalWarning
from bayes_ubpr.priors import Prior


def test_build_model_structure(small_cohort):
    model = bu.build_model(small_cohort, bu.ModelSpec(factors=["fascia_injury", "cement_volume_ml"]))
    assert {rv.name for rv in model.free_RVs} == {"alpha", "beta_std"}
    assert list(model.coords["factor"]) == ["fascia_injury", "cement_volume_ml"]
    standardised = model["X"].get_value()
    assert standardised.shape == (len(small_cohort), 2)
    np.testing.assert_allclose(standardised.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(standardised.std(axis=0), 1.0)
    raw = small_cohort[["fascia_injury", "cement_volume_ml"]]
    np.testing.assert_allclose(model["x_center"].get_value(), raw.mean())
    np.testing.assert_allclose(model["x_scale"].get_value(), raw.std(ddof=0))


def test_standardisation_leaves_the_prior_unchanged(small_cohort):
    # beta = beta_std / s: the prior of beta implied by the model must be the per-unit prior asked for.
    spec = bu.ModelSpec(factors=["cement_volume_ml"], priors={"cement_volume_ml": Prior(mu=-1, sigma=2)})
    model = bu.build_model(small_cohort, spec)
    draws = pm.draw(model["beta"], draws=20_000, random_seed=1)[:, 0]
    # Normal(-1, 2): the sample mean has SE 2/sqrt(n), the sample SD about 2/sqrt(2n).
    assert abs(draws.mean() + 1) < 4 * 2 / np.sqrt(20_000)
    assert abs(draws.std() - 2) < 4 * 2 / np.sqrt(2 * 20_000)


def test_constant_factor_is_an_error(small_cohort):
    with pytest.raises(bu.CohortValidationError, match=r'"depression" is constant .*every row is 1'):
        bu.build_model(small_cohort.assign(depression=1))


def test_build_model_validates_its_data(small_cohort):
    with pytest.raises(bu.CohortValidationError, match='"depression" must be 0 or 1'):
        bu.build_model(small_cohort.assign(depression=5))


def test_fit_returns_labelled_inference_data(small_fit, small_cohort):
    posterior = small_fit.posterior
    assert list(posterior["beta"].coords["factor"].values) == list(bu.SIX_FACTORS)
    assert posterior.sizes["chain"] == 2 and posterior.sizes["draw"] == 500
    assert {"alpha", "intercept", "beta"} <= set(posterior.data_vars)
    spec = bu.ModelSpec.from_idata(small_fit)
    assert spec.factor_names == bu.SIX_FACTORS
    assert spec.prior_spec().coefficients["cement_volume_ml"].sigma == pytest.approx(bu.priors.DEFAULT_SCALE / 0.46)
    assert small_fit.observed_data["ubpr"].sum() == small_cohort["ubpr"].sum()


def test_intercept_is_log_odds_at_zero(small_fit):
    post = small_fit.posterior
    center = small_fit.constant_data["x_center"]
    expected = post["alpha"] - (post["beta"] * center).sum("factor")
    np.testing.assert_allclose(post["intercept"], expected, rtol=1e-10)


def test_same_seed_same_draws(small_cohort):
    kwargs = {"factors": ["fascia_injury"], "draws": 1000, "tune": 1000, "chains": 2, "seed": 9}
    a = bu.fit(small_cohort, **kwargs)
    b = bu.fit(small_cohort, **kwargs)
    np.testing.assert_array_equal(a.posterior["beta"], b.posterior["beta"])


def test_a_tight_prior_is_honoured(small_cohort):
    # A prior of SD 0.01 at log OR 2 dominates 400 patients: the posterior stays within a few prior SDs.
    priors = {"depression": Prior(mu=2.0, sigma=0.01)}
    idata = bu.fit(small_cohort, priors=priors, draws=500, tune=500, chains=2, seed=4)
    depression = idata.posterior["beta"].sel(factor="depression")
    assert abs(float(depression.mean()) - 2.0) < 4 * 0.01
    assert float(depression.std()) < 0.0105


@pytest.mark.slow
def test_mixed_prior_families_build_and_fit(small_cohort):
    priors = {
        "depression": Prior("student_t", 0.0, 1.0, nu=3),
        "fascia_injury": Prior("laplace", 0.0, 1.0),
        "intercept": Prior("student_t", 0.0, 2.5, nu=4),
    }
    model = bu.build_model(small_cohort, bu.ModelSpec(priors=priors))
    names = {rv.name for rv in model.free_RVs}
    assert {"beta_std_depression", "beta_std_fascia_injury", "beta_std_n_fractures"} <= names
    idata = bu.fit(small_cohort, priors=priors, draws=1000, tune=1000, chains=2, seed=2)
    assert list(idata.posterior["beta"].coords["factor"].values) == list(bu.SIX_FACTORS)


def test_too_short_a_run_warns_naming_the_parameter(small_cohort):
    with pytest.warns(StatisticalWarning, match=r"may not have converged.*(alpha|beta\[)"):
        bu.fit(small_cohort, factors=["fascia_injury"], draws=5, tune=5, chains=2, seed=1)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"draws": 0}, ValueError, "draws must be >= 1; got 0"),
        ({"chains": 1.5}, TypeError, "chains must be an integer"),
        ({"sampler": "stan"}, ValueError, "sampler must be one of 'nutpie', 'pymc', 'numpyro'; got 'stan'"),
        ({"factors": ["bmd"]}, bu.CohortValidationError, r"Missing required column\(s\): bmd\."),
        ({"seed": -3}, ValueError, "seed must be a non-negative integer; got -3"),
    ],
)
def test_fit_argument_errors(small_cohort, kwargs, error, message):
    with pytest.raises(error, match=message):
        bu.fit(small_cohort, **kwargs)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["pymc", "nutpie"])
def test_recovers_true_odds_ratios_from_a_large_cohort(sampler):
    # 20,000 patients at the paper's prevalence (about 900 cases), all fifteen factors: each
    # posterior mean log OR lies within 4 posterior SDs of the truth (six real effects, nine nulls).
    cohort = bu.simulate_cohort(n=20_000, seed=99)
    factors = list(bu.RISK_FACTORS)
    idata = bu.fit(cohort, factors=factors, draws=1000, tune=1000, chains=2, seed=1, sampler=sampler)
    beta = idata.posterior["beta"]
    mean, sd = beta.mean(("chain", "draw")), beta.std(("chain", "draw"))
    truth = np.array([cohort.attrs["truth"]["log_odds_ratios"][f] for f in factors])
    z = (mean.to_numpy() - truth) / sd.to_numpy()
    assert np.all(np.abs(z) < 4), dict(zip(factors, np.round(z, 2), strict=True))
    # and the effects are actually resolved, not just covered by wide intervals
    assert float(sd.sel(factor="fascia_injury")) < 0.15


def test_convergence_check_uses_unrounded_r_hat(rng):
    # An R-hat of 1.0105-1.0149 prints as 1.01 when rounded to two decimals; it still exceeds the 1.01 limit.
    import arviz as az

    base = rng.normal(size=(4, 2000))
    for shift in np.linspace(0.25, 0.45, 201):
        draws = base + np.array([shift, 0, 0, 0])[:, None]
        r_hat = float(az.rhat(az.convert_to_dataset({"alpha": draws}))["alpha"])
        if 1.0105 < r_hat < 1.0149:
            break
    else:
        pytest.fail("no shift gave an R-hat between 1.0105 and 1.0149")
    idata = az.from_dict(posterior={"alpha": draws})
    with pytest.warns(StatisticalWarning, match=r"alpha \(R-hat 1\.01"):
        table = bu.check_convergence(idata, var_names=["alpha"])
    assert table.loc["alpha", "r_hat"] == pytest.approx(r_hat)


def test_large_data_linear_predictor_as_column_sum_equals_the_matrix_product(monkeypatch):
    # From COLUMN_SUM_ROWS patients the linear predictor is built as a sum of columns (faster for large data);
    # the log density and its gradient must be those of the matrix product, to rounding.
    from bayes_ubpr.model import _build

    cohort = bu.simulate_cohort(n=800, prevalence=0.2, seed=3)
    point = np.random.default_rng(0).normal(scale=0.3, size=len(bu.SIX_FACTORS) + 1)
    values = {}
    for rows in (10**9, 1):
        monkeypatch.setattr(_build, "COLUMN_SUM_ROWS", rows)
        inputs = _build.prepare_inputs(cohort, bu.ModelSpec())
        assert inputs.column_sum == (rows == 1)
        function = _build.build_from_inputs(inputs).logp_dlogp_function(ravel_inputs=True)
        function.set_extra_values({})
        values[rows] = function(point)
    (logp_product, grad_product), (logp_sum, grad_sum) = values[10**9], values[1]
    assert logp_sum == pytest.approx(logp_product, rel=1e-12)
    np.testing.assert_allclose(grad_sum, grad_product, rtol=1e-10, atol=1e-10)


@pytest.mark.slow
def test_progress_of_pymcs_sampler_is_printed_as_lines_when_stderr_is_not_a_terminal(capsys):
    # A long fit run in a batch job or with its output in a log file must still say how far it is.
    with pytest.warns(StatisticalWarning, match="not have converged"):  # 50 draws: too few, on purpose
        bu.fit(bu.simulate_cohort(n=300, prevalence=0.3, seed=2), sampler="pymc", draws=50, tune=50, chains=2,
               cores=1, seed=1, check=False, progressbar=True, log_likelihood=False)  # fmt: skip
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("sampling:")]
    assert [int(line.split()[1].rstrip("%")) for line in lines] == list(range(10, 101, 10))
    assert "(200 of 200 iterations)" in lines[-1]


def test_progress_of_nutpie_is_printed_as_lines_when_stderr_is_not_a_terminal(capsys, monkeypatch):
    import bayes_ubpr.model._interrupt as interrupt_module

    # 40,000 iterations take a second or two, so the polled trace is seen to grow.
    monkeypatch.setattr(interrupt_module, "PROGRESS_POLL_SECONDS", 0.01)
    idata = bu.fit(bu.simulate_cohort(n=300, prevalence=0.3, seed=2), sampler="nutpie", draws=20_000, tune=50,
                   chains=2, cores=1, seed=1, check=False, progressbar=True, log_likelihood=False)  # fmt: skip
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("sampling:")]
    shares = [int(line.split()[1].rstrip("%")) for line in lines]
    assert shares == sorted(set(shares)) and shares[-1] == 100 and len(shares) >= 3, lines
    assert "(40,100 of 40,100 iterations)" in lines[-1]
    assert idata.posterior.sizes == {"chain": 2, "draw": 20_000, "factor": 6}


def test_cores_must_be_a_positive_whole_number():
    with pytest.raises(ValueError, match="cores"):
        bu.fit(bu.simulate_cohort(n=200, prevalence=0.3, seed=1), cores=0, check=False)


def test_one_off_sampler_checks_the_data_and_picks_nutpie_only_where_the_kernel_covers(small_cohort):
    from bayes_ubpr.model import one_off_sampler

    with pytest.raises(bu.CohortValidationError, match="fascia_injury"):
        one_off_sampler(small_cohort.drop(columns="fascia_injury"), bu.ModelSpec())
    assert one_off_sampler(small_cohort, bu.ModelSpec()) == "nutpie"
    assert one_off_sampler(small_cohort, bu.ModelSpec(priors="domains")) == "nutpie"  # the kernel covers it
    slopes = bu.ModelSpec(group="site", varying_slopes=["fascia_injury"])
    assert one_off_sampler(small_cohort.assign(site=np.arange(len(small_cohort)) % 3), slopes) == "pymc"


def test_estimate_fit_seconds_names_an_unknown_sampler(small_cohort):
    from bayes_ubpr.model import estimate_fit_seconds

    with pytest.raises(ValueError, match="sampler"):
        estimate_fit_seconds(small_cohort, sampling=bu.Sampling(sampler="stan"))
    with pytest.warns(DeprecationWarning, match=r"estimate_fit_seconds\(draws=\.\.\.\) is deprecated"):
        assert estimate_fit_seconds(small_cohort, draws=10, repeats=1) > 0


def test_model_keywords_outside_fit_still_work_and_warn(small_cohort):
    # Loose model keywords are fit's convenience alone; elsewhere they warn for one release.
    with pytest.warns(
        DeprecationWarning, match=r"build_model\(factors=\.\.\.\) is deprecated.*spec=bayes_ubpr.ModelSpec"
    ):
        model = bu.build_model(small_cohort, factors=["fascia_injury"])
    assert list(model.coords["factor"]) == ["fascia_injury"]
    sample = bu.case_control_sample(small_cohort, seed=1)
    # population_mapping, which fit takes, used to be a TypeError here
    with pytest.warns(DeprecationWarning, match=r"prior_predictive\(design=\.\.\., population_mapping=\.\.\.\)"):
        bu.prior_predictive(sample, design="case_control", population_mapping="anchored", draws=100, seed=1)
    with pytest.raises(TypeError, match="either as spec or as keywords, not both"), pytest.warns(DeprecationWarning):
        bu.build_model(small_cohort, bu.ModelSpec(), factors=["fascia_injury"])


def test_sampling_keywords_and_a_sampling_exclude_each_other_in_fit(small_cohort):
    with pytest.raises(TypeError, match=r"fit: pass draws inside sampling=Sampling\(\.\.\.\), not beside it"):
        bu.fit(small_cohort, sampling=bu.Sampling(), draws=10)
    with pytest.raises(TypeError, match="sampling must be a bayes_ubpr.Sampling; got dict"):
        bu.fit(small_cohort, sampling={"draws": 10})
