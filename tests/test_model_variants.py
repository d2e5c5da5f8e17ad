"""The model family on simulated data with known truth: shrinkage, literature priors, multilevel
intercepts, the case-control correction, design checks and compiled-model reuse."""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import special

import bayes_ubpr as bu
from bayes_ubpr.exceptions import StatisticalWarning
from bayes_ubpr.model import _fit as fit_module
from bayes_ubpr.model import check_design, clear_compiled_models, expected_shrinkage, max_cox_snell_r2
from bayes_ubpr.priors import PopulationPrevalence, Prior


def _draws(idata, name="beta"):
    return idata.posterior[name].stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy()


class TestCaseControlCorrection:
    @pytest.mark.slow
    def test_population_risks_match_the_cohort_only_when_corrected(self):
        # The paper's design on a simulated 1,316-patient cohort at 4.6%: every case and as many
        # random controls. Corrected population risks average to the cohort prevalence; the
        # uncorrected model (sample scale, about 50%) does not.
        cohort = bu.simulate_cohort(seed=21)
        sample = bu.case_control_sample(cohort, seed=22)
        x = cohort[list(bu.SIX_FACTORS)].to_numpy(float)
        observed = cohort["ubpr"].mean()
        with pytest.warns(StatisticalWarning, match="events"):
            corrected = bu.fit(sample, design="case_control", seed=1)
        with pytest.warns(StatisticalWarning, match="events"):
            uncorrected = bu.fit(sample, design="cohort", seed=1)
        beta = _draws(corrected)
        mean_risk = special.expit(_draws(corrected, "intercept_population")[:, None] + beta @ x.T).mean(axis=1)
        low, high = np.quantile(mean_risk, [0.005, 0.995])
        assert low < observed < high
        beta_u = _draws(uncorrected)
        naive_risk = special.expit(_draws(uncorrected, "intercept_population")[:, None] + beta_u @ x.T).mean(axis=1)
        assert np.quantile(naive_risk, 0.005) > observed
        # the correction changes the intercept only: the odds ratios agree within Monte Carlo error
        se = np.sqrt(beta.var(axis=0) / az.ess(corrected, var_names=["beta"])["beta"].to_numpy())
        assert np.all(np.abs(beta.mean(axis=0) - beta_u.mean(axis=0)) < 4 * np.sqrt(2) * se)

    @pytest.mark.slow
    def test_correction_is_the_prentice_pyke_shift(self, small_cohort):
        sample = bu.case_control_sample(small_cohort, controls_per_case=2, seed=1)
        idata = bu.fit(sample, design="case_control", population_prevalence=0.05, seed=2, chains=2, check=False)
        post = idata.posterior
        expected = special.logit(0.05) - np.log(1 / 2)
        np.testing.assert_allclose(post["intercept_population"] - post["intercept"], expected)
        assert bu.ModelSpec.from_idata(idata).population_prevalence == 0.05

    @pytest.mark.slow
    def test_uncertain_prevalence_defaults_to_the_cohort_counts(self, small_cohort):
        sample = bu.case_control_sample(small_cohort, seed=3)
        idata = bu.fit(sample, design="case_control", seed=4, chains=2, check=False)
        prevalence = _draws(idata, "prevalence")
        n_cases, size = sample.attrs["n_cases"], sample.attrs["cohort_size"]
        a, b = n_cases + 0.5, size - n_cases + 0.5
        # Beta(a, b) mean, with Monte Carlo SE sd / sqrt(n draws) (prevalence draws are near independent)
        sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        assert abs(prevalence.mean() - a / (a + b)) < 4 * sd / np.sqrt(len(prevalence) / 2)

    def test_errors(self, small_cohort):
        with pytest.raises(ValueError, match="design must be one of 'cohort', 'case_control'; got 'cc'"):
            bu.fit(small_cohort, design="cc")
        with pytest.raises(ValueError, match='population_prevalence applies only to design="case_control"'):
            bu.fit(small_cohort, population_prevalence=0.1)
        with pytest.raises(ValueError, match="strictly between 0 and 1 or a PopulationPrevalence; got 1.2"):
            bu.fit(small_cohort, design="case_control", population_prevalence=1.2)
        with pytest.raises(ValueError, match="PopulationPrevalence alpha must be a positive number"):
            PopulationPrevalence(0, 1)


class TestShrinkage:
    @pytest.mark.slow
    @pytest.mark.parametrize("priors", ["horseshoe", "domains"])
    def test_null_factors_shrink_and_real_ones_keep_their_effect(self, priors):
        # 1,000 patients at 20% prevalence; only the paper's six factors matter. Against the weakly
        # informative Normal(0, 2.5) (priors="wide", the default before issue 14), the shrinkage prior
        # pulls the null factors' estimates towards OR 1 (on average, and none moves away by more than
        # Monte Carlo error), and the six real effects stay within 4 posterior SD of the truth.
        cohort = bu.simulate_cohort(n=1000, prevalence=0.2, seed=31)
        factors = list(bu.RISK_FACTORS)
        shrunk = bu.fit(cohort, factors=factors, priors=priors, seed=1, chains=2, check=False)
        default = bu.fit(cohort, factors=factors, priors="wide", seed=1, chains=2, check=False)
        truth = pd.Series(cohort.attrs["truth"]["log_odds_ratios"])[factors].to_numpy()
        null = [factors.index(f) for f in bu.NULL_FACTORS]
        real = [factors.index(f) for f in bu.SIX_FACTORS]
        median_shrunk = np.median(_draws(shrunk, "beta_std"), axis=0)
        median_default = np.median(_draws(default, "beta_std"), axis=0)
        assert np.abs(median_shrunk[null]).mean() < np.abs(median_default[null]).mean()
        # A null factor in a domain with real effects is barely shrunk: its two medians may then differ
        # by Monte Carlo noise alone, so each may exceed the other's by at most 3 MCSEs of the difference.
        mcse = [
            az.mcse(fit, var_names=["beta_std"], method="median")["beta_std"].to_numpy() for fit in (shrunk, default)
        ]
        slack = 3 * np.hypot(*mcse)
        assert np.all(np.abs(median_shrunk[null]) < np.abs(median_default[null]) + slack[null])
        beta = _draws(shrunk)
        z = (beta.mean(axis=0)[real] - truth[real]) / beta.std(axis=0)[real]
        assert np.all(np.abs(z) < 4), z

    def test_structures_build_with_their_parameters(self, small_cohort):
        horseshoe = bu.build_model(small_cohort, bu.ModelSpec(priors="horseshoe"))
        assert {"z", "local_scale_normal", "global_scale_inverse_gamma", "slab_variance"} <= {
            rv.name for rv in horseshoe.free_RVs
        }
        assert {"local_scale", "global_scale", "beta_std"} <= set(horseshoe.named_vars)
        domains = bu.build_model(small_cohort, bu.ModelSpec(factors=list(bu.RISK_FACTORS), priors="domains"))
        assert list(domains.coords["domain"]) == list(bu.paper.DOMAINS)
        # tau0 = p0 / (D - p0) * 2 / sqrt(n) with p0 = 6 >= D - 0.5 capped at 5.5 for six factors
        np.testing.assert_allclose(horseshoe["tau0"].get_value(), 5.5 / 0.5 * 2 / np.sqrt(len(small_cohort)))

    def test_domain_shrinkage_is_centred_where_the_data_are_informative(self):
        # cases * controls / patients / factors: the 1,316-patient cohort (~60 cases) carries about 9.5 per
        # factor and samples centred; the paper's 60:60 sample of it, 5.0, non-centred (see
        # CENTRED_INFORMATION_PER_FACTOR); the horseshoe never centres
        from bayes_ubpr.model._build import CENTRED_INFORMATION_PER_FACTOR, prepare_inputs
        from bayes_ubpr.studies import simulate_cohorts

        cohort = next(simulate_cohorts(1, seed=5, n_cases=60)).drop(columns="replicate")
        sample = bu.case_control_sample(cohort, 1, seed=1)
        spec = bu.ModelSpec(priors="domains")
        information = {
            name: data.ubpr.sum() * (len(data) - data.ubpr.sum()) / len(data) / 6
            for name, data in (("cohort", cohort), ("sample", sample))
        }
        assert information["sample"] < CENTRED_INFORMATION_PER_FACTOR < information["cohort"]
        assert prepare_inputs(cohort, spec).centred
        assert not prepare_inputs(sample, spec.replace(design="case_control")).centred
        assert not prepare_inputs(cohort, spec.replace(priors="horseshoe")).centred

    def test_domain_shrinkage_needs_a_domain_for_every_factor(self, small_cohort):
        with pytest.raises(ValueError, match="no domain for factor"):
            bu.fit(small_cohort, priors=bu.DomainShrinkage(domains={"bone": ("bmd_tscore_abs",)}))


class TestPaperPriors:
    @pytest.mark.slow
    def test_posterior_moves_from_the_paper_to_the_local_data_as_the_sample_grows(self):
        # A new hospital where fascia injury has no effect (OR 1). With the paper's prior
        # (B = 1.336, SE 0.423 x 2), a small local cohort stays near the paper; a large one
        # overrules it. The posterior mean falls monotonically and its SD shrinks.
        means, sds = [], []
        for n in (150, 1500, 15000):
            cohort = bu.simulate_cohort(n=n, prevalence=0.2, seed=n, odds_ratios={"fascia_injury": 1.0})
            idata = bu.fit(cohort, priors="paper", seed=1, check=False)
            fascia = idata.posterior["beta"].sel(factor="fascia_injury")
            means.append(float(fascia.mean()))
            sds.append(float(fascia.std()))
        assert means[0] > means[1] > means[2]
        assert sds[0] > sds[1] > sds[2]
        assert abs(means[0] - 1.336) < 2 * 0.846  # still inside the prior's own spread
        assert abs(means[2] - 0.0) < 4 * sds[2]  # the large cohort's truth


class TestMultilevel:
    @pytest.mark.slow
    def test_recovers_the_between_site_sd(self):
        cohort = bu.simulate_cohort(n=8000, prevalence=0.2, seed=41, n_sites=25, site_sd=0.6)
        # The intercept mixes slowly against 25 site offsets: 2,000 draws keep its R-hat within 1.01.
        idata = bu.fit(cohort, group="site", draws=2000, tune=1500, seed=1, check=False)
        site_sd = _draws(idata, "group_sd")
        assert abs(np.median(site_sd) - 0.6) < 4 * site_sd.std()
        # site offsets, centred, track the true site intercepts, centred
        truth = np.array(cohort.attrs["truth"]["site_intercepts"])
        offsets = _draws(idata, "group_offset")
        estimate = offsets - offsets.mean(axis=1, keepdims=True)
        z = (estimate.mean(axis=0) - (truth - truth.mean())) / estimate.std(axis=0)
        assert np.all(np.abs(z) < 4), z
        assert list(idata.posterior["group_offset"].coords["group"].values) == list(range(1, 26))

    @pytest.mark.slow
    def test_varying_slopes_build_and_sample(self, small_cohort):
        data = small_cohort.assign(site=np.arange(len(small_cohort)) % 4)
        # With four sites and no true site effects the slope SD has a funnel-shaped posterior and a few
        # divergences may be reported; this test is about structure, so that warning is let through.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            idata = bu.fit(data, group="site", varying_slopes=["fascia_injury"], seed=2, chains=2, check=False)
        assert idata.posterior["slope_sd"].dims == ("chain", "draw", "slope")
        assert idata.posterior["slope_offset_std"].sizes["group"] == 4

    def test_group_errors(self, small_cohort):
        with pytest.raises(bu.CohortValidationError, match='group column "sites" is not in the data'):
            bu.build_model(small_cohort.assign(site=1), bu.ModelSpec(group="sites"))
        with pytest.raises(bu.CohortValidationError, match="single level"):
            bu.build_model(small_cohort.assign(site=1), bu.ModelSpec(group="site"))
        with pytest.raises(ValueError, match="varying_slopes needs a group column"):
            bu.build_model(small_cohort, bu.ModelSpec(varying_slopes=["fascia_injury"]))
        with pytest.raises(ValueError, match='Unknown varying slope .* "age"'):
            bu.build_model(
                small_cohort.assign(site=np.arange(len(small_cohort)) % 3),
                bu.ModelSpec(group="site", varying_slopes=["age"]),
            )


class TestPriorPredictive:
    def test_tight_priors_imply_their_own_prevalence_and_odds_ratios(self, small_cohort):
        # Intercept fixed near logit(0.1) and odds ratios near known values with tiny prior SDs:
        # the implied prevalence and OR quantiles are the prior's own.
        tight = {f: Prior(mu=0.0, sigma=1e-4) for f in bu.SIX_FACTORS}
        tight["intercept"] = Prior(mu=special.logit(0.1), sigma=1e-4)
        summary = bu.prior_predictive(small_cohort, bu.ModelSpec(priors=tight), draws=4000, seed=1).set_index(
            "quantity"
        )
        np.testing.assert_allclose(summary.loc["prevalence"], 0.1, rtol=1e-3)
        tight["fascia_injury"] = Prior(mu=np.log(2.0), sigma=0.3)
        summary = bu.prior_predictive(small_cohort, bu.ModelSpec(priors=tight), draws=4000, seed=1).set_index(
            "quantity"
        )
        fascia = summary.loc["OR per unit: fascia_injury"]
        # 4,000 draws: the 2.5% quantile of N(log 2, 0.3) has SE ~ sqrt(.025*.975/4000)/phi(1.96)/... < 0.02 on log scale
        se = np.sqrt(0.025 * 0.975 / 4000) / (np.exp(-(1.96**2) / 2) / np.sqrt(2 * np.pi)) * 0.3
        assert abs(np.log(fascia["q2.5"]) - (np.log(2) - 1.96 * 0.3)) < 4 * se
        assert abs(np.log(fascia["q50"]) - np.log(2)) < 4 * 0.3 * np.sqrt(np.pi / 2 / 4000)

    def test_case_control_prior_prevalence_is_population_scale(self, small_cohort):
        sample = bu.case_control_sample(small_cohort, seed=1)
        spec = bu.ModelSpec(design="case_control", population_prevalence=0.01)
        summary = bu.prior_predictive(sample, spec, draws=2000, seed=2).set_index("quantity")
        assert summary.loc["prevalence", "q50"] < summary.loc["prevalence", "q97.5"]
        cohort_scale = bu.prior_predictive(sample, draws=2000, seed=2).set_index("quantity")
        assert summary.loc["prevalence", "q50"] < cohort_scale.loc["prevalence", "q50"]


class TestDesignChecks:
    def test_paper_sized_sample_has_few_events_per_parameter(self):
        sample = bu.case_control_sample(bu.simulate_cohort(seed=5), seed=6)
        # all fifteen Table 4 candidates on about 60 cases: about 4 events per parameter
        report = check_design(sample, bu.RISK_FACTORS).set_index("check")
        assert report.loc["events_per_parameter", "severity"] == "warning"
        assert report.loc["events_per_parameter", "value"] == pytest.approx(sample["ubpr"].sum() / 15)
        assert report.loc["expected_shrinkage", "value"] < 0.9

    def test_riley_shrinkage_solves_its_equation(self):
        n, p, r2 = 500, 10, 0.2
        s = expected_shrinkage(n, p, r2)
        assert n == pytest.approx(p / ((s - 1) * np.log(1 - r2 / s)))
        # the max R2 of a 50% outcome is 1 - 1/4 (lnL_null / n = ln(1/2))
        assert max_cox_snell_r2(0.5) == pytest.approx(0.75)

    def test_binary_separation_is_named(self, small_cohort):
        separated = small_cohort.copy()
        separated.loc[separated["ubpr"] == 0, "depression"] = 0
        separated.loc[separated["ubpr"] == 1, "depression"] = 1
        report = check_design(separated)
        row = report[report["check"] == "separation"].iloc[0]
        assert row["factor"] == "depression" and "separates the outcome" in row["message"]

    def test_multivariate_separation_is_found(self, rng):
        n = 200
        data = pd.DataFrame({"bmd_tscore_abs": rng.uniform(2.5, 4.0, n), "cement_volume_ml": rng.uniform(3.0, 7.0, n)})
        data["ubpr"] = (data["bmd_tscore_abs"] - data["cement_volume_ml"] + 2.0 > 0).astype(int)
        report = check_design(data, ["bmd_tscore_abs", "cement_volume_ml"])
        assert report.loc[report["check"] == "separation", "factor"].tolist() == ["bmd_tscore_abs, cement_volume_ml"]

    def test_collinearity_and_constant_columns(self, small_cohort):
        collinear = small_cohort.assign(weight_kg=small_cohort["height_cm"] * 0.5 - 20)
        report = check_design(collinear, ["height_cm", "weight_kg", "age"])
        assert "height_cm, weight_kg" in report.loc[report["check"] == "collinearity", "factor"].tolist()
        constant = check_design(small_cohort.assign(copd=0), ["copd", "age"])
        assert constant.loc[constant["check"] == "constant", "severity"].tolist() == ["error"]

    @pytest.mark.slow
    def test_separated_fit_is_finite_and_warns_naming_the_factor(self, small_cohort):
        separated = small_cohort.copy()
        separated["depression"] = separated["ubpr"]
        with pytest.warns(StatisticalWarning, match="depression separates the outcome"):
            idata = bu.fit(separated, seed=3, chains=2, priors="wide")
        depression = idata.posterior["beta"].sel(factor="depression")
        assert np.isfinite(depression).all()
        # prior-dominated: the likelihood only says "large"; the prior sets how large. The default
        # prior (SD 1) instead of the wide one (SD 2.5) pulls the posterior median down by more than half.
        with pytest.warns(StatisticalWarning, match="depression separates the outcome"):
            tighter = bu.fit(separated, seed=3, chains=2)
        tight_median = float(tighter.posterior["beta"].sel(factor="depression").median())
        assert 0 < tight_median < float(depression.median()) - 2 * float(depression.std())


class TestSampling:
    @pytest.mark.slow
    def test_refit_reuses_the_compiled_model_on_new_data(self, small_cohort, monkeypatch):
        # Two prior families: a structure outside the hand-written density, compiled from PyMC.
        mixed = {"fascia_injury": Prior("student_t", nu=3), "age": Prior(sigma=0.1)}
        clear_compiled_models()
        first = bu.fit(small_cohort, factors=["fascia_injury", "age"], priors=mixed, seed=1, chains=2)
        assert len(fit_module._COMPILED) == 1
        import nutpie

        def refuse(*args, **kwargs):
            raise AssertionError("recompiled a model whose structure is cached")

        monkeypatch.setattr(nutpie, "compile_pymc_model", refuse)
        smaller = small_cohort.iloc[:300]
        second = bu.fit(smaller, factors=["fascia_injury", "age"], priors=mixed, seed=1, chains=2)
        assert second.observed_data["ubpr"].size == 300
        assert not np.allclose(first.posterior["beta"].mean(), second.posterior["beta"].mean())

    @pytest.mark.slow
    def test_divergences_trigger_one_retry_at_higher_target_accept(self, small_cohort, monkeypatch):
        calls = []
        real_sample = fit_module._sample

        def fake_sample(inputs, *, target_accept, **kwargs):
            calls.append(target_accept)
            idata = real_sample(inputs, target_accept=target_accept, **kwargs)
            if len(calls) == 1:  # pretend the first run diverged once
                idata.sample_stats["diverging"][0, 0] = True
            return idata

        monkeypatch.setattr(fit_module, "_sample", fake_sample)
        idata = bu.fit(small_cohort, factors=["fascia_injury"], seed=1, chains=2)
        assert calls == [0.8, 0.99]
        assert idata.attrs["target_accept"] == 0.99

    @pytest.mark.slow
    def test_samplers_agree(self, small_cohort):
        # nutpie and PyMC sample the same posterior: means agree within Monte Carlo error.
        kwargs = {"factors": ["fascia_injury", "cement_volume_ml"], "chains": 2}
        a = bu.fit(small_cohort, sampler="nutpie", seed=1, **kwargs)
        b = bu.fit(small_cohort, sampler="pymc", cores=1, seed=1, **kwargs)  # no forked workers (see test_kernel)
        for idata_pair in [(a, b)]:
            mean_a, mean_b = (_draws(i).mean(axis=0) for i in idata_pair)
            se = np.sqrt(
                sum(_draws(i).var(axis=0) / az.ess(i, var_names=["beta"])["beta"].to_numpy() for i in idata_pair)
            )
            assert np.all(np.abs(mean_a - mean_b) < 4 * se)

    def test_numpyro_needs_numpyro(self, small_cohort):
        from importlib.util import find_spec

        if find_spec("numpyro") is not None:
            pytest.skip("numpyro is installed")
        with pytest.raises(ImportError, match='sampler="numpyro" needs numpyro and jax'):
            bu.fit(small_cohort, sampler="numpyro")
