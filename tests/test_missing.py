"""Missing values: the missingness table, multiple imputation, fits pooled over completed data sets."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import bayes_ubpr as bu
from bayes_ubpr.missing import ImputationSettings, impute, missingness_table
from bayes_ubpr.model import Fitted

QUICK = {"chains": 2, "draws": 600, "tune": 400}


def mar_cohort(n: int = 500, seed: int = 0, share: float = 0.3) -> pd.DataFrame:
    """Two covariates and a text factor; ``x1`` missing more often among events with high ``x2`` (MAR)."""
    rng = np.random.default_rng(seed)
    x2 = rng.normal(size=n)
    x1 = 0.6 * x2 + rng.normal(scale=0.8, size=n)
    site = rng.choice(["north", "south"], size=n)
    eta = -1.0 + 0.8 * x1 + 0.5 * x2 + 0.4 * (site == "south")
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "site": site, "y": y})
    odds = np.log(share / (1 - share)) + 1.5 * y * (x2 > 0) - 0.5
    frame.loc[rng.random(n) < 1 / (1 + np.exp(-odds)), "x1"] = np.nan
    return frame


# --- the table ----------------------------------------------------------------------------------


def test_missingness_table_counts_by_outcome():
    frame = mar_cohort()
    table = missingness_table(frame, ["x1", "x2", "site"], outcome="y").set_index("column")
    absent = frame["x1"].isna()
    assert table.loc["x1", "n_missing"] == absent.sum()
    assert table.loc["x1", "missing_events"] == (absent & (frame["y"] == 1)).sum()
    assert table.loc["x1", "percent_missing_non_events"] == pytest.approx(100 * absent[frame["y"] == 0].mean())
    assert table.loc["x2", "n_missing"] == 0
    assert table.attrs["complete_cases"] == (~absent).sum()
    assert table.attrs["complete_case_events"] == (~absent & (frame["y"] == 1)).sum()


# --- imputation ---------------------------------------------------------------------------------


def test_imputed_values_are_observed_values_and_rows_are_kept():
    frame = mar_cohort().set_axis(pd.RangeIndex(100, 600))
    frame["injury"] = np.where(np.random.default_rng(1).random(len(frame)) < 0.4, "yes", "no")
    frame.loc[frame.index[::9], "injury"] = None
    frame.attrs["note"] = "kept"
    done = impute(
        frame, ["x1", "x2", "injury", "site"], outcome="y", settings=ImputationSettings(imputations=3), seed=4
    )
    assert len(done) == 3
    for k, completed in enumerate(done):
        assert completed.index.equals(frame.index)
        assert completed.attrs["note"] == "kept" and completed.attrs["imputation"] == k
        assert not completed[["x1", "injury"]].isna().any().any()
        assert completed["x1"].isin(frame["x1"].dropna()).all()  # PMM: donors' values
        assert set(completed["injury"]) == {"yes", "no"}
        observed = frame["x1"].notna()
        pd.testing.assert_series_equal(completed.loc[observed, "x1"], frame.loc[observed, "x1"])
    assert frame["x1"].isna().any()  # the input is not modified
    assert not done[0]["x1"].equals(done[1]["x1"])  # imputations differ


def test_imputation_k_does_not_depend_on_how_many():
    frame = mar_cohort()
    few = impute(frame, ["x1", "x2"], outcome="y", settings=ImputationSettings(imputations=2), seed=9)
    many = impute(frame, ["x1", "x2"], outcome="y", settings=ImputationSettings(imputations=4), seed=9)
    pd.testing.assert_frame_equal(few[1], many[1])


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        (lambda f: f.assign(y=f["y"].where(f.index != 3)), "y", "the outcome"),
        (lambda f: f.assign(site=f["site"].where(f.index != 7)), "site", "a grouping"),
        (lambda f: f.assign(level=np.array(["a", "b", "c", None], dtype=object)[f.index % 4]), "level", "3 categories"),
        (lambda f: f.assign(x2=np.nan), "x2", "no values at all"),
    ],
)
def test_imputation_refuses_what_it_cannot_impute(change, column, message):
    frame = change(mar_cohort())
    columns = ["x1", "x2", *(["level"] if column == "level" else [])]
    with pytest.raises(bu.CohortValidationError, match=message) as caught:
        impute(frame, columns, outcome="y", groups=["site"], settings=ImputationSettings(imputations=2), seed=1)
    assert caught.value.column == column


def test_default_missing_values_error_points_at_imputation():
    frame = mar_cohort()
    with pytest.raises(bu.CohortValidationError, match=r'missing="impute"') as caught:
        bu.fit(frame, "y ~ x1 + x2", **QUICK, seed=1)
    assert caught.value.column == "x1"


# --- pooled fits --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pooled():
    frame = mar_cohort()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        idata = bu.fit(frame, "y ~ x1 + x2 + C(site)", missing="impute", imputations=4, **QUICK, seed=3)
    return frame, idata


def test_pooled_fit_holds_every_imputation(pooled):
    frame, idata = pooled
    post = idata.posterior
    assert post.sizes["chain"] == 4 * QUICK["chains"]
    assert post["imputation"].values.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    designs = idata.constant_data["x_imputed"]
    assert designs.sizes["imputation"] == 4
    observed = frame["x1"].notna().to_numpy()
    x1 = designs.sel(factor="x1").to_numpy()
    np.testing.assert_array_equal(
        x1[:, observed], np.broadcast_to(frame["x1"].to_numpy()[observed], (4, observed.sum()))
    )
    assert np.ptp(x1[:, ~observed], axis=0).max() > 0
    info = json.loads(idata.attrs["missing"])
    assert info["method"] == "impute" and info["imputations"] == 4 and info["imputed_columns"] == ["x1"]
    assert info["table"][0]["n_missing"] == frame["x1"].isna().sum()


def test_pooled_linear_predictor_uses_each_draws_imputation(pooled):
    _, idata = pooled
    view = Fitted.of(idata)
    eta = view.linear_predictor_draws
    post = idata.posterior
    k, chain, draw = 2, 5, 17  # chain 5 belongs to imputation 2
    assert int(post["imputation"][chain]) == k
    beta = post["beta"].isel(chain=chain, draw=draw).to_numpy()
    expected = (
        float(post["intercept"].isel(chain=chain, draw=draw)) + idata.constant_data["x_imputed"][k].to_numpy() @ beta
    )
    np.testing.assert_allclose(eta[chain * post.sizes["draw"] + draw], expected, rtol=1e-12)


def test_pooled_diagnostics_are_within_imputations(pooled):
    _, idata = pooled
    table = bu.model.diagnostics_summary(idata, ["beta"])
    blocks = [bu.model.diagnostics_summary(idata.isel(chain=[2 * k, 2 * k + 1]), ["beta"]) for k in range(4)]
    np.testing.assert_allclose(table["r_hat"], np.max([b["r_hat"] for b in blocks], axis=0))
    np.testing.assert_allclose(table["ess_bulk"], np.sum([b["ess_bulk"] for b in blocks], axis=0))


@pytest.mark.slow
def test_downstream_functions_read_a_pooled_fit(pooled, tmp_path):
    frame, idata = pooled
    table = bu.odds_ratio_table(idata)
    assert table["r_hat"].max() < 1.02
    assert bu.loo(idata).elpd_loo < 0
    patients = frame.dropna().head(3)
    risk = bu.predict_risk(idata, patients)
    assert len(risk) == 3 and risk["risk_median"].between(0, 1).all()
    with pytest.raises(bu.CohortValidationError, match="a prediction needs every value"):
        bu.predict_risk(idata, frame[frame["x1"].isna()].head(2))
    loaded = bu.load_fit(bu.save_fit(idata, tmp_path / "pooled.nc"))
    assert json.loads(loaded.attrs["missing"])["imputations"] == 4
    np.testing.assert_allclose(Fitted.of(loaded).linear_predictor_draws, Fitted.of(idata).linear_predictor_draws)


def test_validation_refuses_missing_values_saying_what_to_do(pooled):
    frame, idata = pooled
    with pytest.raises(bu.CohortValidationError, match="a validation cohort is not imputed here"):
        bu.validate_model(idata, frame, n_draws=50, seed=1)


@pytest.mark.slow
def test_given_imputations_equal_the_libraries_own(pooled):
    """A list of completed data sets fits as missing='impute' does with the same imputations and seed, in any threads."""
    frame, idata = pooled
    from bayes_ubpr._rng import spawn_seeds

    impute_seed, fit_seed, _ = spawn_seeds(3, 3)
    done = impute(
        frame, ["x1", "x2", "site"], outcome="y", settings=ImputationSettings(imputations=4), seed=impute_seed
    )
    again = bu.fit(done, "y ~ x1 + x2 + C(site)", **QUICK, seed=fit_seed, threads=1)  # the fixture's ran in 2 threads
    np.testing.assert_array_equal(again.posterior["beta"].to_numpy(), idata.posterior["beta"].to_numpy())


def test_completed_data_sets_must_be_the_same_patients():
    frame = mar_cohort().fillna(0.0)
    with pytest.raises(bu.CohortValidationError, match=r"data\[1\] has other rows"):
        bu.fit([frame, frame.iloc[1:]], "y ~ x1 + x2", **QUICK, seed=1)
    with pytest.raises(bu.CohortValidationError, match=r"data\[1\] has another outcome"):
        bu.fit([frame, frame.assign(y=1 - frame["y"])], "y ~ x1 + x2", **QUICK, seed=1)
    with pytest.raises(bu.CohortValidationError, match=r"data\[0\] is not complete"):
        bu.fit([mar_cohort(), frame], "y ~ x1 + x2", **QUICK, seed=1)


def test_complete_case_fit_is_recorded_beside():
    frame = mar_cohort(seed=2)
    idata = bu.fit(frame, "y ~ x1 + x2", missing="impute", imputations=3, compare_complete_case=True, **QUICK, seed=5)
    cc = json.loads(idata.attrs["missing"])["complete_case"]
    assert cc["n_patients"] == frame["x1"].notna().sum()
    assert cc["n_events"] == (frame["x1"].notna() & (frame["y"] == 1)).sum()
    draws = idata["complete_case"]["beta"]
    assert draws["factor"].values.tolist() == ["x1", "x2"]
    assert draws.sizes["chain"] == QUICK["chains"] and draws.sizes["draw"] == QUICK["draws"]


def test_nothing_missing_is_one_fit_that_says_so():
    frame = mar_cohort().dropna()
    idata = bu.fit(frame, "y ~ x1 + x2", missing="impute", **QUICK, seed=2)
    assert "imputation" not in idata.posterior.coords
    assert json.loads(idata.attrs["missing"])["imputations"] == 0


# --- reading and checking a cohort with missing values ----------------------------------------------


def test_load_cohort_keeps_missing_values_when_asked_and_checks_the_rest(tmp_path):
    frame = mar_cohort().assign(flag=1)
    frame.loc[[4, 8], "flag"] = np.nan
    path = tmp_path / "cohort.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(bu.CohortValidationError, match=r'"x1" has missing values in CSV lines'):
        bu.load_cohort(path, factors=["x1", "x2", "flag"], outcome="y")
    kept = bu.load_cohort(path, factors=["x1", "x2", "flag"], outcome="y", missing="keep")
    assert kept["x1"].isna().sum() == frame["x1"].isna().sum() and kept["flag"].isna().sum() == 2
    frame.loc[10, "flag"] = 3  # a value present is still checked
    frame.to_csv(path, index=False)
    with pytest.raises(bu.CohortValidationError, match=r'"flag" must be 0 or 1.*CSV lines 12'):
        bu.load_cohort(path, factors=["x1", "x2", bu.Factor("flag", kind="binary")], outcome="y", missing="keep")


def test_missing_outcome_is_never_imputed():
    frame = mar_cohort()
    frame.loc[5, "y"] = np.nan
    with pytest.raises(bu.CohortValidationError, match="an outcome is never imputed") as caught:
        bu.fit(frame, "y ~ x1 + x2", missing="impute", imputations=2, **QUICK, seed=1)
    assert caught.value.column == "y" and caught.value.rows == [5]


def test_values_present_are_checked_before_imputing():
    frame = mar_cohort()
    frame["injury"] = 0
    frame.loc[7, "injury"] = 2
    frame.loc[9, "injury"] = np.nan
    spec = bu.ModelSpec(factors=["x1", "x2", bu.Factor("injury", kind="binary")], outcome="y")
    with pytest.raises(bu.CohortValidationError, match=r'"injury" must be 0 or 1') as caught:
        bu.fit(frame, spec, missing="impute", imputations=2, **QUICK, seed=1)
    assert caught.value.rows == [7]


# --- the summary and the command line -------------------------------------------------------------


def test_missing_summary_sets_imputed_beside_complete_case():
    frame = mar_cohort(seed=2)
    idata = bu.fit(
        frame, "y ~ x1 + x2 + C(site)", missing="impute", imputations=3, compare_complete_case=True, **QUICK, seed=5
    )
    summary = bu.missing_summary(idata)
    kept = frame["x1"].notna()
    assert (summary.complete_cases, summary.complete_case_events) == (kept.sum(), (kept & (frame["y"] == 1)).sum())
    assert summary.imputed_columns == ("x1",) and summary.n_patients == len(frame)
    table = summary.comparison.set_index(["term", "contrast"])
    cc = Fitted.of(idata).idata["complete_case"]["beta"].sel(factor="x2")
    assert table.loc[("x2", "per 1 unit"), "cc_or_median"] == pytest.approx(float(np.exp(cc.median())))
    pooled = idata.posterior["beta"].sel(factor="x2")
    assert table.loc[("x2", "per 1 unit"), "or_median"] == pytest.approx(float(np.exp(pooled.median())))
    text = summary.format()
    assert f"A complete-case analysis would drop {len(frame) - kept.sum()} patients" in text
    assert "Complete case (" in text
    with pytest.raises(ValueError, match="made without imputation"):
        bu.missing_summary(bu.fit(frame.dropna(), "y ~ x1 + x2", chains=2, seed=1))


@pytest.mark.slow
def test_cli_fit_imputes_and_prints_the_missing_values(tmp_path, capsys):
    from bayes_ubpr.cli import main

    path = tmp_path / "cohort.csv"
    mar_cohort().to_csv(path, index=False)
    formula = ["--formula", "y ~ x1 + x2"]
    assert main(["fit", str(path), *formula]) == 2
    assert "--missing impute imputes them" in capsys.readouterr().err
    assert main(["fit", str(path), *formula, "--imputations", "3"]) == 2
    assert "--imputations need(s) --missing impute" in capsys.readouterr().err
    out = tmp_path / "fit.nc"
    quick = ["--chains", "2", "--draws", "600", "--tune", "400", "--seed", "2"]
    assert (
        main(["fit", str(path), *formula, "--missing", "impute", "--imputations", "3", *quick, "--out", str(out)]) == 0
    )
    printed = capsys.readouterr()
    assert "Missing values: x1" in printed.err and "imputed 3 times" in printed.out
    assert json.loads(bu.load_fit(out).attrs["missing"])["imputations"] == 3


def test_maximum_likelihood_of_a_pooled_fit_follows_rubins_rules(pooled):
    """Against statsmodels' own Logit on each completed design, pooled by hand (Rubin 1987)."""
    import statsmodels.api as sm

    _, idata = pooled
    y = idata.observed_data["y"].to_numpy()
    fits = [sm.Logit(y, sm.add_constant(x)).fit(disp=0) for x in idata.constant_data["x_imputed"].to_numpy()]
    b = np.array([f.params[1:] for f in fits])
    w = np.array([f.bse[1:] ** 2 for f in fits]).mean(axis=0)
    total = w + (1 + 1 / len(fits)) * b.var(axis=0, ddof=1)
    table = bu.maximum_likelihood(idata)
    np.testing.assert_allclose(table["mle_log_or"], b.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(table["mle_se"], np.sqrt(total), rtol=1e-6)
    assert (total > w).all()  # the imputations disagree: between-imputation variance widens the interval


@pytest.mark.slow
def test_report_of_a_pooled_fit_says_what_was_imputed(tmp_path):
    frame = mar_cohort(seed=2)
    idata = bu.fit(frame, "y ~ x1 + x2", missing="impute", imputations=3, compare_complete_case=True, **QUICK, seed=5)
    text = bu.write_report(idata, tmp_path / "report.md", seed=1).read_text()
    assert "## Missing values" in text and "## Imputed beside complete-case" in text
    assert f"A complete-case analysis would drop {frame['x1'].isna().sum()} patients" in text


@pytest.mark.slow
def test_prior_sensitivity_refits_on_the_fits_own_imputations(pooled):
    frame, idata = pooled
    from bayes_ubpr.model import completed_data

    done = completed_data(idata, frame)
    np.testing.assert_array_equal(
        np.stack([d["x1"].to_numpy() for d in done]), idata.constant_data["x_imputed"].sel(factor="x1").to_numpy()
    )
    table = bu.prior_sensitivity(
        done, bu.ModelSpec.from_idata(idata), priors=["default", "sceptical"], sampling=bu.Sampling(**QUICK), seed=1
    )
    assert set(table["setting"]) == {"default", "sceptical"} and table["r_hat"].max() < 1.02
    with pytest.raises(ValueError, match="not the patients of this fit"):
        completed_data(idata, frame.iloc[1:])


def test_selection_says_it_needs_complete_data():
    frame = mar_cohort()
    spec = bu.ModelSpec.from_formula("y ~ x1 + x2")
    with pytest.raises(bu.CohortValidationError, match="select_factors needs complete data") as caught:
        bu.select_factors(frame, spec, seed=1)
    assert caught.value.column == "x1"
    with pytest.raises(TypeError, match="multiply imputed data are not supported yet"):
        bu.select_factors([frame, frame], spec, seed=1)


@pytest.mark.slow
def test_term_summary_of_a_pooled_fit_refits_on_its_imputations(pooled):
    frame, idata = pooled
    from bayes_ubpr.model import completed_data

    with pytest.raises(ValueError, match="pass them as data"):
        bu.term_summary(idata, frame)
    table = bu.term_summary(idata, completed_data(idata, frame), sampling=bu.Sampling(**QUICK), seed=2)
    assert set(table["term"]) >= {"x1", "x2"}
    row = table.set_index("term").loc["x1"]
    assert row["elpd_drop"] > 2 * row["elpd_drop_se"]  # x1 matters (true log OR 0.8)


def test_imputations_equal_statsmodels_own_mice_data():
    """The numpy design matrices give statsmodels' MICEData imputations value for value (the reference)."""
    from statsmodels.imputation.mice import MICEData

    from bayes_ubpr.missing.impute import _encode, _plan

    frame = mar_cohort()
    frame.loc[frame.index[::11], "x2"] = np.nan
    plan = _plan(frame, ["x1", "x2", "site"], "y", ())
    coded, _ = _encode(frame, plan, ())
    ours = impute(frame, ["x1", "x2", "site"], outcome="y", settings=ImputationSettings(imputations=1), seed=7)[0]
    from bayes_ubpr._rng import spawn_seeds

    reference = MICEData(coded, k_pmm=5, rng=np.random.default_rng(spawn_seeds(7, 1)[0]))
    reference.update_all(10)
    np.testing.assert_array_equal(ours["x1"].to_numpy(), reference.data["v0"].to_numpy())
    np.testing.assert_array_equal(ours["x2"].to_numpy(), reference.data["v1"].to_numpy())


def test_warnings_after_a_pooled_fit_in_threads_are_still_shown():
    frame = mar_cohort()
    bu.fit(frame, "y ~ x1 + x2", missing="impute", imputations=2, **QUICK, seed=3, threads=2)
    with pytest.warns(UserWarning, match="probe"):
        warnings.warn("probe", UserWarning, stacklevel=1)


def test_pooled_mcse_is_that_of_the_mean_of_the_imputations(pooled):
    _, idata = pooled
    table = bu.model.diagnostics_summary(idata, ["beta"])
    blocks = [bu.model.diagnostics_summary(idata.isel(chain=[2 * k, 2 * k + 1]), ["beta"]) for k in range(4)]
    expected = np.sqrt(np.sum([b["mcse_mean"] ** 2 for b in blocks], axis=0)) / 4
    np.testing.assert_allclose(table["mcse_mean"], expected)
    assert table["mcse_mean"].nunique() == len(table)


def test_cli_missing_model_refuses_imputation_options(tmp_path, capsys):
    from bayes_ubpr.cli import main

    path = tmp_path / "cohort.csv"
    mar_cohort().to_csv(path, index=False)
    assert main(["fit", str(path), "--formula", "y ~ x1 + x2", "--missing", "model", "--imputations", "3"]) == 2
    assert "--imputations need(s) --missing impute" in capsys.readouterr().err
