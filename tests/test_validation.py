"""External validation: plumbing against the metric kernels, calibration of well- and mis-specified models, errors."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from scipy import optimize, special

import bayes_ubpr as bu
from bayes_ubpr import metrics
from bayes_ubpr.cli import main
from bayes_ubpr.simulate import LevelEffects, QuadraticEffect
from bayes_ubpr.validation import intercept_for_mean_risk


@pytest.fixture(scope="module")
def new_cohort():
    """A second hospital of the small_fit's world (prevalence 30%)."""
    return bu.simulate_cohort(n=1500, prevalence=0.3, seed=12)


def _interval(table, metric):
    row = table.set_index("metric").loc[metric]
    return row["lower"], row["median"], row["upper"]


def test_intercept_solver_matches_brentq():
    rng = np.random.default_rng(1)
    eta = rng.normal(0, 1.5, size=(3, 200))
    for row, a in zip(eta, intercept_for_mean_risk(eta, 0.07), strict=True):
        reference = optimize.brentq(lambda c, r=row: special.expit(c + r).mean() - 0.07, -30, 30, xtol=1e-14)
        assert a == pytest.approx(reference, abs=1e-10)


def test_metrics_are_the_kernels_over_the_posterior_draws(small_fit, new_cohort):
    # With bootstrap=False every metric is the metric kernel applied to each thinned draw of the risks.
    result = bu.validate_model(small_fit, new_cohort, n_draws=100, bootstrap=False, seed=1)
    risk = bu.risk_draws(small_fit, new_cohort[list(bu.SIX_FACTORS)]).stack(sample=("chain", "draw"))
    risk = risk.transpose("sample", "patient").to_numpy()
    risk = risk[np.linspace(0, len(risk) - 1, 100).round().astype(int)]
    y = new_cohort["ubpr"].to_numpy()
    table = result.performance.set_index("metric")
    assert table.loc["auc", "median"] == pytest.approx(np.median(metrics.auc(y, risk)))
    assert table.loc["calibration_slope", "median"] == pytest.approx(np.median(metrics.calibration_slope(y, risk)))
    assert table.loc["ici", "upper"] == pytest.approx(np.quantile(metrics.calibration_indices(y, risk)["ici"], 0.975))
    assert result.settings["n_events"] == int(y.sum()) and result.settings["n_draws"] == 100
    assert result.apparent is not None and list(result.apparent["metric"]) == list(result.performance["metric"])
    # the decision curve's point estimates are the closed form at the posterior-mean risks
    np.testing.assert_allclose(
        result.decision["nb_model"], metrics.net_benefit(y, risk.mean(axis=0), bu.validation.DEFAULT_THRESHOLDS)
    )
    curve = result.calibration
    assert (curve["observed_lower"] <= curve["observed_median"]).all()
    assert (curve["observed_median"] <= curve["observed_upper"]).all()


@pytest.mark.slow
def test_a_well_specified_model_validates_in_its_own_world(small_fit, new_cohort):
    # Same world, same prevalence: calibration-in-the-large 0 and slope 1 are inside their 99% intervals, which
    # (bootstrap=True) carry both the posterior and the cohort's sampling error. They must also be narrow enough to
    # tell this model from the one of the next test, whose calibration-in-the-large is -1.35.
    result = bu.validate_model(small_fit, new_cohort, prob=0.99, n_draws=300, seed=2)
    low, _, high = _interval(result.performance, "calibration_in_the_large")
    assert low < 0 < high and high - low < 1.35
    low, _, high = _interval(result.performance, "calibration_slope")
    assert low < 1 < high and high - low < 1.0
    low, _, high = _interval(result.performance, "observed_expected")
    assert low < 1 < high


def test_the_headline_estimate_is_the_metric_at_the_posterior_mean_risk(small_fit, new_cohort):
    # estimate: each metric once, at the posterior-mean risks, on the cohort as observed (no resample)
    result = bu.validate_model(small_fit, new_cohort, n_draws=100, bootstrap=False, thresholds=[0.1], seed=1)
    risk = bu.risk_draws(small_fit, new_cohort).stack(sample=("chain", "draw")).transpose("sample", "patient")
    mean = risk.to_numpy()[np.linspace(0, risk.shape[0] - 1, 100).round().astype(int)].mean(axis=0)
    y = new_cohort["ubpr"].to_numpy()
    table = result.performance.set_index("metric")
    assert list(result.performance.columns) == ["metric", "label", "ideal", "estimate", "median", "lower", "upper"]
    assert table.loc["calibration_slope", "estimate"] == pytest.approx(metrics.calibration_slope(y, mean))
    assert table.loc["brier", "estimate"] == pytest.approx(metrics.brier_score(y, mean))
    indices = metrics.calibration_indices(y, mean)
    for name in ("ici", "e50", "e90", "emax"):
        assert table.loc[name, "estimate"] == pytest.approx(indices[name]), name
    assert result.apparent is not None and "estimate" in result.apparent.columns


@pytest.mark.slow
def test_the_headline_ici_is_not_inflated_like_the_median_over_draws():
    # Known truth: a fit on 2,000 patients of a world, validated in 10 fresh cohorts of 1,000 from it. Per cohort,
    # the ICI of the true risks (a perfect model: only the smoother's noise) is the reference. The headline ICI
    # (posterior-mean risks) differs from it only by the fit's small error: its mean difference is within 4 Monte
    # Carlo SEs (SD of the 10 differences / sqrt(10)) of 0. The median over draws x bootstrap resamples is larger
    # than the headline in every cohort, by more than 4 SEs on average: bounded below by 0, it adds each draw's
    # and each resample's error. Measured: headline - truth 0.0013 (SE 0.0014), median - headline 0.0068 (SE
    # 0.0008), the median 1.67 times the headline on average.
    world = {"n": 2000, "prevalence": 0.2}
    idata = bu.fit(bu.simulate_cohort(**world, seed=31), sampling=bu.Sampling(draws=500, tune=500, chains=2), seed=1)
    rows = []
    for replicate in range(10):
        cohort = bu.simulate_cohort(n=1000, prevalence=0.2, seed=100 + replicate)
        table = bu.validate_model(idata, cohort, n_draws=100, thresholds=[0.1], seed=replicate).performance
        ici = table.set_index("metric").loc["ici"]
        truth = metrics.calibration_indices(cohort["ubpr"].to_numpy(), cohort["true_risk"].to_numpy())["ici"]
        rows.append((ici["estimate"], ici["median"], truth))
    estimate, median, truth = np.array(rows).T
    error, inflation = estimate - truth, median - estimate
    assert abs(error.mean()) < 4 * error.std(ddof=1) / np.sqrt(len(error)), (error.mean(), error.std(ddof=1))
    assert (inflation > 0).all()
    assert inflation.mean() > 4 * inflation.std(ddof=1) / np.sqrt(len(inflation)), inflation


def test_a_cohort_fit_at_another_prevalence_is_miscalibrated_in_the_large(small_fit):
    # The fit's intercept belongs to a 30% world; at 10% its risks are about three times too high: the true
    # shift of the intercept is logit(0.1) - logit(0.3) = -1.35. The posterior SD of calibration-in-the-large is
    # about 0.13 here (99% interval about 0.7 wide), so 0.4 is three SDs; the interval must exclude 0 clearly.
    other = bu.simulate_cohort(n=1500, prevalence=0.1, seed=13)
    result = bu.validate_model(small_fit, other, prob=0.99, n_draws=200, seed=3)
    _, median, high = _interval(result.performance, "calibration_in_the_large")
    assert high < -0.3 and median == pytest.approx(-1.35, abs=0.4)
    assert _interval(result.performance, "observed_expected")[2] < 0.8  # observed events well below expected
    with pytest.raises(ValueError, match="prevalence can be changed only for a design='case_control' fit"):
        bu.validate_model(small_fit, other, prevalence=0.1)


@pytest.mark.slow
def test_the_published_model_at_the_right_prevalence_validates():
    # The simulated world's odds ratios are Table 5's, so with the intercept set to the cohort's prevalence the
    # published model is calibrated: CITL 0, slope 1 and O:E 1 inside their 99% intervals; stated at a prevalence
    # three times too low, its risks are too low and CITL is clearly positive.
    cohort = bu.simulate_cohort(n=3000, prevalence=0.15, seed=14)
    good = bu.validate_model("paper", cohort, prevalence=0.15, prob=0.99, n_draws=300, seed=4)
    for metric, ideal in (("calibration_in_the_large", 0.0), ("calibration_slope", 1.0), ("observed_expected", 1.0)):
        low, _, high = _interval(good.performance, metric)
        assert low < ideal < high, metric
    assert good.apparent is None
    assert good.settings["prevalence"] == 0.15
    bad = bu.validate_model("paper", cohort, prevalence=0.05, prob=0.99, n_draws=300, seed=4)
    assert _interval(bad.performance, "calibration_in_the_large")[0] > 0.5
    assert _interval(bad.performance, "ici")[0] > _interval(good.performance, "ici")[2]
    assert "published model (Table 5) in 3000 patients" in str(good)


@pytest.mark.slow
def test_a_case_control_fit_validates_at_another_prevalence_when_told_it():
    # Paper-sized world at 4.6%, a 1:3 case-control sample fitted with the correction; a second hospital at 15%.
    # Told the new prevalence, the corrected risks are calibrated there (0 and 1 within 99% intervals); left at
    # the fit's 4.6% they are too low and calibration-in-the-large is clearly positive.
    cohort = bu.simulate_cohort(seed=21)
    sample = bu.case_control_sample(cohort, controls_per_case=3, seed=22)
    idata = bu.fit(sample, design="case_control", chains=2, draws=1000, tune=1000, seed=23, check=False)
    other = bu.simulate_cohort(n=2000, prevalence=0.15, seed=24)
    told = bu.validate_model(idata, other, prevalence=0.15, prob=0.99, n_draws=300, seed=5)
    for metric, ideal in (("calibration_in_the_large", 0.0), ("calibration_slope", 1.0)):
        low, _, high = _interval(told.performance, metric)
        assert low < ideal < high, metric
    untold = bu.validate_model(idata, other, prob=0.99, n_draws=300, seed=5)
    assert _interval(untold.performance, "calibration_in_the_large")[0] > 0.5
    assert told.apparent is not None


def test_plots(small_fit, new_cohort):
    result = bu.validate_model(small_fit, new_cohort, n_draws=60, seed=1)
    for draw in (lambda: bu.validation_calibration_plot(result), lambda: bu.decision_curve_plot(result)):
        ax = draw()
        assert isinstance(ax, Axes)
        plt.close(ax.figure)
    with pytest.raises(TypeError, match="result must be a ValidationResult"):
        bu.validation_calibration_plot(result.decision)


def test_bad_input(small_fit, new_cohort):
    with pytest.raises(bu.CohortValidationError, match="Missing required column.*fascia_injury"):
        bu.validate_model(small_fit, new_cohort.drop(columns="fascia_injury"))
    with pytest.raises(bu.CohortValidationError, match='"ubpr" has no cases'):
        bu.validate_model(small_fit, new_cohort.assign(ubpr=0))
    binary_as_grade = new_cohort.assign(fascia_injury=new_cohort["fascia_injury"] * 2)
    with pytest.raises(bu.CohortValidationError, match='"fascia_injury" must be 0 or 1'):
        bu.validate_model(small_fit, binary_as_grade)
    fractional = new_cohort.assign(n_fractures=new_cohort["n_fractures"] + 0.5)
    with pytest.raises(bu.CohortValidationError, match='"n_fractures" must be a whole number'):
        bu.validate_model("paper", fractional)
    with pytest.raises(ValueError, match="thresholds must be risks strictly between 0 and 1.*got 1"):
        bu.validate_model(small_fit, new_cohort, thresholds=[0.1, 1.0])
    with pytest.raises(ValueError, match="model must be a fit or 'paper'; got 'papre'. Did you mean \"paper\""):
        bu.validate_model("papre", new_cohort)
    with pytest.raises(TypeError, match="model must be an arviz.InferenceData fit or 'paper'; got DataFrame"):
        bu.validate_model(new_cohort, new_cohort)
    with pytest.raises(TypeError, match="cohort must be a pandas DataFrame"):
        bu.validate_model("paper", new_cohort.to_numpy())
    with pytest.raises(ValueError, match="prevalence must be strictly between 0 and 1"):
        bu.validate_model("paper", new_cohort, prevalence=1.2)
    assert isinstance(new_cohort, pd.DataFrame)


def test_a_cohort_below_the_recommended_events_warns_and_is_still_validated():
    # Vergouwe et al. 2005 and Collins et al. 2016: at least 100 events and 100 non-events. 600 patients at 10%
    # have about 60 events; 200 at 75% about 50 non-events. The metrics are computed all the same.
    few_events = bu.simulate_cohort(n=600, prevalence=0.1, seed=3)
    events = int(few_events["ubpr"].sum())
    assert events < 100
    expected = rf"has {events} event\(s\) and {600 - events} non-event\(s\).*unreliable below 100 events and 100 non"
    with pytest.warns(bu.StatisticalWarning, match=expected + ".*Vergouwe"):
        result = bu.validate_model("paper", few_events, prevalence=0.1, n_draws=60, seed=1)
    assert result.performance["median"].notna().all()
    few_non_events = bu.simulate_cohort(n=200, prevalence=0.75, seed=3)
    non_events = int((few_non_events["ubpr"] == 0).sum())
    assert 0 < non_events < 100 < len(few_non_events) - non_events
    with pytest.warns(bu.StatisticalWarning, match=rf"and {non_events} non-event\(s\)"):
        bu.validate_model("paper", few_non_events, prevalence=0.75, n_draws=60, seed=1)
    assert bu.validation.RECOMMENDED_EVENTS == 100


@pytest.mark.slow
def test_report_gains_validation_sections(small_fit, new_cohort, tmp_path):
    result = bu.validate_model(small_fit, new_cohort, n_draws=60, seed=1)
    text = bu.write_report(small_fit, tmp_path / "report.md", seed=1, validation=result).read_text(encoding="utf-8")
    for heading in ("## External validation", "## Flexible calibration in the validation cohort", "## Decision curves"):
        assert heading in text
    assert "## Odds ratios beside the paper" in text  # the existing sections stay
    # the validation metrics beside the apparent ones, under human headers
    assert "| Metric | Ideal | Validation cohort (95% CrI) | Fitted data, apparent (95% CrI) |" in text
    # each patient's posterior-mean risk, drawn under the calibration curve: the mean of the risk draws
    draws = bu.risk_draws(small_fit, new_cohort, new_groups="average").mean(dim=("chain", "draw")).to_numpy()
    assert len(result.risks) == len(new_cohort) and result.risks["outcome"].tolist() == new_cohort["ubpr"].tolist()
    assert np.corrcoef(result.risks["risk"], draws)[0, 1] > 0.99  # the same risks up to the thinning to 60 draws
    # the headline of each metric is its estimate at the posterior-mean risks (issue 25), not the median over draws
    ici = result.performance.set_index("metric").loc["ici"]
    row = next(line for line in text.splitlines() if "(ICI)" in line)
    cell = row.split("|")[3].strip()
    assert f"{ici['estimate']:.3g}" != f"{ici['median']:.3g}"  # the two differ here, so the check can fail
    assert cell.startswith(f"{ici['estimate']:.3g} (")
    with pytest.raises(TypeError, match="validation must be a ValidationResult"):
        bu.write_report(small_fit, tmp_path / "r.md", validation=result.performance)


class TestCommandLine:
    @pytest.mark.slow
    def test_validate_a_saved_fit_writes_tables_figures_and_report(self, small_fit, new_cohort, tmp_path, capsys):
        fit_path = bu.save_fit(small_fit, tmp_path / "fit.nc")
        cohort_path = tmp_path / "cohort.csv"
        new_cohort.to_csv(cohort_path, index=False)
        out = tmp_path / "out"
        out.mkdir()
        report = tmp_path / "report.html"
        args = [
            "validate",
            str(fit_path),
            str(cohort_path),
            "--draws",
            "60",
            "--out",
            str(out),
            "--report",
            str(report),
        ]
        assert main(args) == 0
        printed = capsys.readouterr().out
        assert "External validation of the fit in 1500 patients" in printed and "Decision curve" in printed
        saved = {p.name for p in out.iterdir()}
        assert {"validation_performance.csv", "decision_curve.csv", "apparent_performance.csv"} <= saved
        assert {"validation_calibration.png", "decision_curve.png"} <= saved
        assert "<h2>Decision curves</h2>" in report.read_text(encoding="utf-8")

    def test_validate_the_published_model(self, new_cohort, tmp_path, capsys):
        cohort_path = tmp_path / "cohort.csv"
        new_cohort.to_csv(cohort_path, index=False)
        assert main(["validate", "paper", str(cohort_path), "--prevalence", "0.3", "--draws", "60"]) == 0
        assert "published model (Table 5)" in capsys.readouterr().out

    def test_three_patients_validate_with_one_warning_line(self, new_cohort, tmp_path, capsys):
        # One event and two non-events: the table is printed, and stderr says, in one line, why not to trust it.
        three = pd.concat([new_cohort[new_cohort["ubpr"] == 1].head(1), new_cohort[new_cohort["ubpr"] == 0].head(2)])
        cohort_path = tmp_path / "three.csv"
        three.to_csv(cohort_path, index=False)
        assert main(["validate", "paper", str(cohort_path), "--draws", "60"]) == 0
        captured = capsys.readouterr()
        assert "in 3 patients" in captured.out
        assert captured.err.splitlines() == [
            "bayes-ubpr validate: warning: the validation cohort has 1 event(s) and 2 non-event(s): its performance "
            "estimates (calibration slope, observed:expected, C statistic, ...) are unreliable below 100 events and "
            "100 non-events (Vergouwe et al. 2005, doi:10.1016/j.jclinepi.2004.06.017; Collins et al. 2016, "
            "doi:10.1002/sim.6787, prefer 200 events); read their intervals, not their medians"
        ]

    @pytest.mark.parametrize(
        ("change", "extra", "message"),
        [
            (lambda c: c.drop(columns="depression"), [], "Missing required column(s): depression"),
            (lambda c: c.assign(ubpr=1), [], "has no controls"),
            (lambda c: c, ["--prevalence", "1.5"], "prevalence must be strictly between 0 and 1"),
            (lambda c: c, ["--report", "r.html"], "--report needs a saved fit"),
        ],
    )
    def test_bad_input_is_one_line_and_exit_2(self, new_cohort, tmp_path, capsys, change, extra, message):
        cohort_path = tmp_path / "cohort.csv"
        change(new_cohort).to_csv(cohort_path, index=False)
        assert main(["validate", "paper", str(cohort_path), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("bayes-ubpr validate: error:") and message in err
        assert len(err.splitlines()) == 1


def test_the_old_name_of_bootstrap_still_works_and_warns(small_fit, new_cohort):
    with pytest.warns(DeprecationWarning, match=r"validate_model\(sampling=\.\.\.\) is deprecated.*bootstrap="):
        old = bu.validate_model(small_fit, new_cohort, n_draws=50, sampling=False, seed=1)
    new = bu.validate_model(small_fit, new_cohort, n_draws=50, bootstrap=False, seed=1)
    pd.testing.assert_frame_equal(old.performance, new.performance)


# --- a formula fit: a text category and a spline, validated from raw columns ---

TERM_EFFECTS = [
    LevelEffects(
        "fracture_level",
        ("lumbar", "thoracic", "thoracolumbar"),
        (0.3, 0.25, 0.45),
        odds_ratios={"thoracic": 1.5, "thoracolumbar": 3.0},
    ),
    QuadraticEffect("cement_volume_ml", curvature=1.5, centre=5.5),
]
# the catalogue factors the formula leaves out have no effect in this world, so the formula is the true model
# up to the spline's approximation of the U
TERM_ODDS_RATIOS = dict.fromkeys(["bmd_tscore_abs", "cement_distribution_poor", "n_fractures", "depression"], 1.0)
TERM_FORMULA = "ubpr ~ fascia_injury + C(fracture_level) + rcs(cement_volume_ml, 4)"


def _term_cohort(seed: int) -> pd.DataFrame:
    return bu.simulate_cohort(n=1500, prevalence=0.3, seed=seed, effects=TERM_EFFECTS, odds_ratios=TERM_ODDS_RATIOS)


@pytest.fixture(scope="module")
def term_fit():
    return bu.fit(_term_cohort(21), TERM_FORMULA, sampling=bu.Sampling(draws=1000, tune=500, chains=2), seed=5)


@pytest.mark.slow
def test_a_formula_fit_validates_on_a_fresh_raw_cohort_of_its_world(term_fit):
    # The fit reads text levels and the raw volume of a new cohort of the same world (another seed) through its
    # stored levels and knots. Calibration slope 1 and calibration-in-the-large 0 lie inside their 99% intervals,
    # which carry the posterior and (bootstrap) the cohort's sampling error; the slope's interval is narrow enough
    # (< 0.8 wide) that a slope of 0.5 or 1.5, the mark of an overfitted or underfitted model, would be caught.
    fresh = _term_cohort(22)
    assert isinstance(fresh["fracture_level"].iloc[0], str) and "cement_volume_ml'" not in fresh
    result = bu.validate_model(term_fit, fresh, prob=0.99, n_draws=300, seed=2)
    low, _, high = _interval(result.performance, "calibration_slope")
    assert low < 1 < high and high - low < 0.8, (low, high)
    low, _, high = _interval(result.performance, "calibration_in_the_large")
    assert low < 0 < high, (low, high)
    low, _, _ = _interval(result.performance, "auc")
    assert low > 0.6  # the level, the U and the injury discriminate
    # the risks validated are those of the raw columns through the stored terms
    # (the curve's grid starts at the 1% quantile of the patients' mean risks over the 300 validated draws, a
    # thinned subset: it may differ from the all-draws quantile by Monte Carlo error, SD / sqrt(300) per patient)
    draws = bu.risk_draws(term_fit, fresh, new_groups="average")
    risk, spread = draws.mean(dim=("chain", "draw")).to_numpy(), draws.std(dim=("chain", "draw")).to_numpy()
    mcse = float(np.median(spread)) / np.sqrt(300)
    assert abs(result.calibration["predicted"].min() - np.quantile(risk, 0.01)) < 4 * mcse


def test_a_level_the_formula_fit_never_saw_is_refused_by_name(term_fit):
    fresh = _term_cohort(23)
    fresh.loc[[4, 9], "fracture_level"] = "sacral"
    message = (
        r'Column "fracture_level" has level\(s\) \'sacral\' in rows 4, 9 that the model was not fitted on '
        r"\(its levels: 'lumbar', 'thoracic', 'thoracolumbar'\)"
    )
    with pytest.raises(bu.CohortValidationError, match=message):
        bu.validate_model(term_fit, fresh, n_draws=50, seed=1)
    without = _term_cohort(24).drop(columns="cement_volume_ml")
    with pytest.raises(bu.CohortValidationError, match='column "cement_volume_ml" is not in the data'):
        bu.validate_model(term_fit, without, n_draws=50, seed=1)
