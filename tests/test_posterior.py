"""Odds-ratio tables from posterior draws, checked against draws whose quantiles are known."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import special, stats

import bayes_ubpr as bu
from bayes_ubpr.priors import Prior


@pytest.fixture
def known_idata(rng) -> az.InferenceData:
    """Draws of beta for two factors (chain 4, draw 2500): fascia ~ N(1, 0.5), age = 0 exactly."""
    beta = np.stack([rng.normal(1.0, 0.5, size=(4, 2500)), np.zeros((4, 2500))], axis=-1)
    return az.from_dict(
        posterior={"beta": beta}, coords={"factor": ["fascia_injury", "age"]}, dims={"beta": ["factor"]}
    )


def test_odds_ratio_table_is_the_exponentiated_quantiles(known_idata):
    table = bu.odds_ratio_table(known_idata, prob=0.9)
    draws = known_idata.posterior["beta"].sel(factor="fascia_injury").to_numpy().ravel()
    row = table.set_index("factor").loc["fascia_injury"]
    assert row["or_median"] == pytest.approx(np.exp(np.median(draws)))
    assert row["or_lower"] == pytest.approx(np.exp(np.quantile(draws, 0.05)))
    assert row["or_upper"] == pytest.approx(np.exp(np.quantile(draws, 0.95)))
    assert row["prob_positive"] == pytest.approx((draws > 0).mean())
    assert table.attrs["prob"] == 0.9


def test_quantiles_agree_with_the_known_law(known_idata):
    # 10,000 draws of N(1, 0.5): the 5% quantile has MC SE sqrt(q(1-q)/n)/density.
    table = bu.odds_ratio_table(known_idata, prob=0.9).set_index("factor")
    from scipy import stats

    q = 0.05
    se = np.sqrt(q * (1 - q) / 10_000) / stats.norm.pdf(stats.norm.ppf(q), 1.0, 0.5)
    assert abs(np.log(table.loc["fascia_injury", "or_lower"]) - stats.norm.ppf(q, 1.0, 0.5)) < 4 * se


def test_paper_columns_sit_beside_and_missing_factors_are_nan(known_idata):
    table = bu.odds_ratio_table(known_idata).set_index("factor")
    assert table.loc["fascia_injury", ["paper_or", "paper_lower", "paper_upper"]].tolist() == [3.805, 1.661, 8.717]
    assert table.loc["age", ["paper_or", "paper_lower", "paper_upper"]].isna().all()
    assert table.loc["age", "or_median"] == 1.0
    assert table.loc["age", "label"] == "Age"


def test_table_from_a_real_fit(small_fit):
    table = bu.odds_ratio_table(small_fit)
    assert list(table["factor"]) == list(bu.SIX_FACTORS)
    assert (table["or_lower"] < table["or_median"]).all() and (table["or_median"] < table["or_upper"]).all()
    text = bu.format_odds_ratio_table(table)
    assert "Lumbodorsal fascia injury" in text and "3.81 (1.66 to 8.72)" in text


def test_errors(known_idata):
    with pytest.raises(ValueError, match="prob must be strictly between 0 and 1; got 95"):
        bu.odds_ratio_table(known_idata, prob=95)
    empty = az.from_dict(posterior={"alpha": np.zeros((2, 10))})
    with pytest.raises(ValueError, match="no posterior variable 'beta'"):
        bu.odds_ratio_table(empty)


def test_format_shows_dash_for_missing_paper_values(known_idata):
    text = bu.format_odds_ratio_table(bu.odds_ratio_table(known_idata))
    age_line = next(line for line in text.splitlines() if line.startswith("Age"))
    assert age_line.rstrip().endswith("-")


class TestOddsRatioTableOptions:
    def test_hdi_is_arviz_hdi_of_the_log_odds_ratio(self, known_idata):
        table = bu.odds_ratio_table(known_idata, interval="hdi", prob=0.8).set_index("factor")
        draws = known_idata.posterior["beta"].sel(factor="fascia_injury").to_numpy().ravel()
        low, high = az.hdi(draws, hdi_prob=0.8)
        assert table.loc["fascia_injury", "or_lower"] == pytest.approx(np.exp(low))
        assert table.loc["fascia_injury", "or_upper"] == pytest.approx(np.exp(high))
        assert table.attrs["interval"] == "hdi"

    def test_width_ratio_and_overlap(self, known_idata):
        table = bu.odds_ratio_table(known_idata).set_index("factor")
        row = table.loc["fascia_injury"]
        expected = (np.log(row.or_upper) - np.log(row.or_lower)) / (np.log(8.717) - np.log(1.661))
        assert row["width_ratio"] == pytest.approx(expected)
        assert row["overlaps_paper"] == (row.or_lower <= 8.717 and row.or_upper >= 1.661)
        assert pd.isna(table.loc["age", "overlaps_paper"])

    def test_diagnostics_columns(self, small_fit):
        table = bu.odds_ratio_table(small_fit)
        summary = az.summary(small_fit, var_names=["beta"], kind="diagnostics", round_to="none")
        np.testing.assert_allclose(table["r_hat"], summary["r_hat"])
        np.testing.assert_allclose(table["ess_bulk"], summary["ess_bulk"])
        draws = small_fit.posterior["beta"].stack(s=("chain", "draw")).transpose("s", "factor").to_numpy()
        np.testing.assert_allclose(table["log_or_mean"], draws.mean(axis=0))

    def test_per_sd_scale_multiplies_log_odds_ratios_by_the_sample_sd(self, small_fit):
        unit = bu.odds_ratio_table(small_fit).set_index("factor")
        per_sd = bu.odds_ratio_table(small_fit, scale="sd").set_index("factor")
        sd = pd.Series(small_fit.constant_data["x_scale"].to_numpy(), index=unit.index)
        np.testing.assert_allclose(np.log(per_sd["or_median"]), np.log(unit["or_median"]) * sd, rtol=1e-9)
        np.testing.assert_allclose(per_sd["paper_or"], unit["paper_or"] ** sd)
        assert per_sd.loc["cement_volume_ml", "unit"].startswith("1 SD (")

    def test_mle_columns_are_statsmodels_logit_on_the_same_data(self, small_fit, small_cohort):
        import statsmodels.api as sm

        table = bu.odds_ratio_table(small_fit, include_mle=True).set_index("factor")
        x = sm.add_constant(small_cohort[list(bu.SIX_FACTORS)].astype(float))
        result = sm.Logit(small_cohort["ubpr"], x).fit(disp=0)
        np.testing.assert_allclose(table["mle_or"], np.exp(result.params.iloc[1:]), rtol=1e-6)
        ci = np.exp(result.conf_int().iloc[1:])
        np.testing.assert_allclose(table["mle_lower"], ci[0], rtol=1e-6)
        np.testing.assert_allclose(table["mle_upper"], ci[1], rtol=1e-6)

    def test_option_errors(self, known_idata):
        with pytest.raises(ValueError, match="interval must be one of 'eti', 'hdi'; got 'ci'"):
            bu.odds_ratio_table(known_idata, interval="ci")
        with pytest.raises(ValueError, match="scale must be one of 'unit', 'sd'"):
            bu.odds_ratio_table(known_idata, scale="SD")
        with pytest.raises(ValueError, match="holds no fitted data"):
            bu.odds_ratio_table(known_idata, scale="sd")


class TestReanalysePublished:
    def test_matches_numerical_integration_of_prior_times_likelihood(self):
        # Posterior of a log OR under N(B, SE^2) likelihood and N(m, s^2) prior, on a fine grid.
        table = bu.reanalyse_published({"depression": (0.2, 0.7)}).set_index("factor")
        b, se = 1.231, 0.559
        grid = np.linspace(-6, 8, 200_001)
        density = stats.norm.pdf(b, grid, se) * stats.norm.pdf(grid, 0.2, 0.7)
        density /= np.trapezoid(density, grid)
        mean = np.trapezoid(grid * density, grid)
        sd = np.sqrt(np.trapezoid((grid - mean) ** 2 * density, grid))
        row = table.loc["depression"]
        assert row["posterior_mean"] == pytest.approx(mean, abs=1e-7)
        assert row["posterior_sd"] == pytest.approx(sd, abs=1e-7)
        cdf = np.cumsum(density) * (grid[1] - grid[0])
        assert row["prob_or_gt_1.5"] == pytest.approx(1 - np.interp(np.log(1.5), grid, cdf), abs=1e-4)

    @pytest.mark.slow
    def test_matches_a_pymc_fit_of_the_one_parameter_model(self):
        import pymc as pm

        table = bu.reanalyse_published("sceptical").set_index("factor")
        row = table.loc["fascia_injury"]
        with pm.Model():
            log_or = pm.Normal("log_or", row["prior_mean"], row["prior_sd"])
            pm.Normal("b", log_or, 0.423, observed=1.336)
            idata = pm.sample(2000, tune=1000, chains=2, random_seed=3, progressbar=False)
        draws = idata.posterior["log_or"].to_numpy().ravel()
        ess = float(az.ess(idata)["log_or"])
        assert abs(draws.mean() - row["posterior_mean"]) < 4 * row["posterior_sd"] / np.sqrt(ess)
        assert abs(draws.std() - row["posterior_sd"]) < 4 * row["posterior_sd"] / np.sqrt(2 * ess)

    def test_presets_shrink_towards_their_centres(self):
        sceptical = bu.reanalyse_published("sceptical").set_index("factor")
        weak = bu.reanalyse_published("weakly_informative").set_index("factor")
        paper_b = np.log(sceptical["paper_or"])
        # sceptical pulls every estimate towards 0 more than the weak prior does
        assert (np.abs(sceptical["posterior_mean"]) < np.abs(weak["posterior_mean"])).all()
        assert (np.abs(weak["posterior_mean"]) <= np.abs(paper_b) + 1e-3).all()
        enthusiastic = bu.reanalyse_published("enthusiastic").set_index("factor")
        assert (enthusiastic["prior_mean"] * paper_b > 0).all()  # centred on the paper's direction

    def test_errors(self):
        with pytest.raises(ValueError, match="priors must be one of 'sceptical', 'weakly_informative', 'enthusiastic'"):
            bu.reanalyse_published("flat")
        with pytest.raises(ValueError, match='Unknown factor of Table 5 "age"'):
            bu.reanalyse_published({"age": (0, 1)})
        with pytest.raises(ValueError, match='prior sd for "depression" must be positive'):
            bu.reanalyse_published({"depression": (0, 0)})
        with pytest.raises(ValueError, match="thresholds must be positive"):
            bu.reanalyse_published(thresholds=(0,))


@pytest.fixture(scope="module")
def cc_fit():
    """A 1:3 case-control fit of a 3,000-patient cohort, with its cohort."""
    cohort = bu.simulate_cohort(n=3000, seed=7)
    sample = bu.case_control_sample(cohort, controls_per_case=3, seed=8)
    return cohort, bu.fit(sample, design="case_control", chains=2, seed=1, check=False)


@pytest.mark.slow
class TestRisk:
    def test_risk_draws_are_the_logistic_model(self, cc_fit):
        cohort, idata = cc_fit
        patients = cohort.head(5)
        draws = bu.risk_draws(idata, patients)
        post = idata.posterior
        x = patients[list(bu.SIX_FACTORS)].to_numpy(float)
        eta = post["intercept_population"].to_numpy()[..., None] + post["beta"].to_numpy() @ x.T
        np.testing.assert_allclose(draws.to_numpy(), special.expit(eta))
        assert list(draws.coords["patient"].values) == list(patients.index)

    def test_predict_risk_summary_and_prevalence_override(self, cc_fit):
        cohort, idata = cc_fit
        patients = cohort.head(20)
        base = bu.predict_risk(idata, patients)
        assert (base["risk_lower"] <= base["risk_median"]).all() and (base["risk_median"] <= base["risk_upper"]).all()
        higher = bu.predict_risk(idata, patients, prevalence=0.2)
        assert (higher["risk_median"] > base["risk_median"]).all()

    def test_population_scale_risks_track_the_true_risks(self, cc_fit):
        # Mean predicted risk over the whole cohort within its posterior interval of the cohort's prevalence.
        cohort, idata = cc_fit
        mean_risk = bu.risk_draws(idata, cohort).mean("patient").to_numpy().ravel()
        low, high = np.quantile(mean_risk, [0.005, 0.995])
        assert low < cohort["ubpr"].mean() < high

    def test_errors(self, cc_fit, small_fit, small_cohort):
        cohort, idata = cc_fit
        with pytest.raises(bu.CohortValidationError, match="Missing required column"):
            bu.predict_risk(idata, cohort.drop(columns="depression"))
        with pytest.raises(ValueError, match="prevalence can be changed only for a design='case_control' fit"):
            bu.predict_risk(small_fit, small_cohort.head(3), prevalence=0.1)


class TestPPC:
    def test_well_specified_fit_passes_its_checks(self, small_fit):
        summary = bu.ppc_summary(small_fit, seed=3)
        checks = summary.checks.set_index("statistic")
        assert checks.loc["number of cases", "observed"] == small_fit.observed_data["ubpr"].sum()
        # with 1,000 draws a ppp of a fitted model's sufficient statistic sits well inside (0.01, 0.99)
        assert checks["ppp"].between(0.01, 0.99).all()
        assert set(summary.performance["metric"]) == {
            "auc",
            "brier",
            "calibration_in_the_large",
            "calibration_slope",
            "observed_expected",
        }
        assert summary.calibration["n"].sum() == small_fit.observed_data["ubpr"].size
        assert "Binned calibration" in str(summary)

    def test_performance_is_the_metric_of_the_posterior_risks(self, small_fit):
        from bayes_ubpr import metrics
        from bayes_ubpr.model import Fitted

        summary = bu.ppc_summary(small_fit, seed=3)
        risk = Fitted.of(small_fit).risk_draws
        y = small_fit.observed_data["ubpr"].to_numpy()
        auc = summary.performance.set_index("metric").loc["auc", "median"]
        assert auc == pytest.approx(np.median(metrics.auc(y, risk)))

    def test_a_long_fit_is_thinned_evenly_to_at_most_ppc_draws(self, small_cohort):
        from bayes_ubpr import metrics
        from bayes_ubpr.model import Fitted
        from bayes_ubpr.posterior import PPC_DRAWS

        # 2 x 4,500 = 9,000 draws: every third, 3,000 of them (the default fit's 4,000 are all used, as above)
        long = bu.fit(small_cohort, sampling=bu.Sampling(draws=4500, tune=500, chains=2), seed=6)
        summary = bu.ppc_summary(long, seed=3)
        assert summary.draws.sizes["sample"] == 3000 <= PPC_DRAWS
        risk = Fitted.of(long).risk_draws[::3]
        y = long.observed_data["ubpr"].to_numpy()
        assert np.array_equal(summary.draws["auc"].to_numpy(), metrics.auc(y, risk))
        assert summary.checks["ppp"].between(0.01, 0.99).all()

    def test_a_misfitting_prior_is_caught(self, small_cohort):
        # Depression forced to OR 20 by a tight wrong prior: replicated case groups have far more
        # depression than the observed one, so its posterior-predictive p-value is extreme.
        wrong = bu.fit(small_cohort, priors={"depression": Prior(mu=np.log(20), sigma=0.01)}, chains=2, seed=4)
        checks = bu.ppc_summary(wrong, seed=5).checks.set_index("statistic")
        assert checks.loc["case mean: depression", "ppp"] > 0.999


def test_maximum_likelihood_is_nan_under_separation():
    # fascia_injury = 1 exactly for the cases: no finite MLE exists (statsmodels 0.15 only warns).
    x = np.column_stack([np.r_[np.ones(20), np.zeros(20)], np.linspace(-1, 1, 40)])
    idata = az.InferenceData(
        observed_data=xr.Dataset({"ubpr": ("obs", np.r_[np.ones(20), np.zeros(20)].astype(int))}),
        constant_data=xr.Dataset(
            {"x": (("obs", "factor"), x), "x_scale": ("factor", x.std(axis=0))},
            coords={"factor": ["fascia_injury", "age"]},
        ),
    )
    mle = bu.maximum_likelihood(idata)
    assert mle[["mle_log_or", "mle_se", "mle_or", "mle_lower", "mle_upper"]].isna().all().all(), mle
