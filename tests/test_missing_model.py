"""Missing covariates modelled inside the model: ``fit(..., missing="model")`` (bayes_ubpr.model._latent)."""

from __future__ import annotations

import json
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, special, stats

import bayes_ubpr as bu
from bayes_ubpr.model import Fitted
from bayes_ubpr.model._build import build_from_inputs
from bayes_ubpr.model._latent import binary_log_odds, prepare_latent_inputs
from bayes_ubpr.model.spec import RESERVED_NAMES

QUICK = {"chains": 2, "draws": 500, "tune": 500}
FIXTURE = {"chains": 2, "draws": 1000, "tune": 1000}  # enough ESS for the group SD, which checks warn about
FORMULA = "y ~ x1 + x2 + b + (1 | site)"


def mixed_cohort(n: int = 400, seed: int = 0) -> pd.DataFrame:
    """A continuous ``x1`` (missing more often among events with high ``x2``: MAR), a complete ``x2``, a 0/1 ``b``
    missing at random, a text ``grade``, six sites."""
    rng = np.random.default_rng(seed)
    x2 = rng.normal(size=n)
    x1 = 0.6 * x2 + rng.normal(scale=0.8, size=n)
    b = (rng.random(n) < special.expit(0.8 * x2)).astype(float)
    site = rng.choice(["north", "south", "east", "west", "centre", "coast"], size=n)
    eta = -1.0 + 0.8 * x1 + 0.5 * x2 + 0.7 * b + 0.3 * (site == "south")
    y = (rng.random(n) < special.expit(eta)).astype(int)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "b": b, "grade": rng.choice(["I", "II", "III"], size=n), "site": site})
    frame["y"] = y
    frame.loc[rng.random(n) < special.expit(-1.8 + 1.5 * y * (x2 > 0)), "x1"] = np.nan
    frame.loc[rng.random(n) < 0.15, "b"] = np.nan
    return frame


# --- what is refused ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formula", "change", "column", "message"),
    [
        ("y ~ rcs(x1, 3) + x2", None, "x1", r'"x1" has missing values .* inside a spline .* missing="impute"'),
        ("y ~ x1 * x2", None, "x1", r'"x1" has missing values .* in an interaction \(term "x1:x2"\)'),
        ("y ~ x1 + C(grade)", "grade", "grade", r'"grade" has missing values .* as a categorical factor'),
        ("y ~ x2 + grade", "grade", "grade", r'"grade" has missing values .* holds text or categories'),
        ("y ~ x1 + b + c", "c", "c", r"Columns 'b', 'c' are 0/1 with missing values.*missing=\"impute\""),
        ("y ~ x1 + x2 + (1 | site)", "site", "site", r'"site" \(a grouping\) has missing values in rows 3'),
        ("y ~ x1 + x2", "y", "y", "an outcome is never imputed"),
    ],
)
def test_what_the_covariate_models_cannot_take_is_refused_by_column(formula, change, column, message):
    frame = mixed_cohort()
    if change == "c":
        frame["c"] = frame["b"].sample(frac=1.0, random_state=1).to_numpy()
    elif change is not None:
        frame[change] = frame[change].astype(object)
        frame.loc[3, change] = None
    with pytest.raises(bu.CohortValidationError, match=message) as caught:
        bu.fit(frame, formula, missing="model", **QUICK, seed=1)
    assert caught.value.column == column


@pytest.mark.parametrize(
    ("spec", "keywords", "message"),
    [
        (bu.ModelSpec(factors=["x1", "x2"], outcome="y", group="site", varying_slopes=["x2"]), {}, "varying slopes"),
        (
            bu.ModelSpec(
                factors=["x1", "x2"],
                outcome="y",
                design="case_control",
                population_prevalence=0.1,
                population_mapping="anchored",
            ),
            {},
            'needs population_mapping="offset"',
        ),
        (
            bu.ModelSpec(factors=["x1", "x2"], outcome="y"),
            {"imputations": 5},
            r'imputations belong\(s\) to missing="impute"',
        ),
        (bu.ModelSpec(factors=["x1", "x2"], outcome="y"), {"impute_with": ["grade"]}, "impute_with belong"),
    ],
)
def test_options_outside_the_covariate_models_are_refused(spec, keywords, message):
    with pytest.raises(ValueError, match=message):
        bu.fit(mixed_cohort(), spec, missing="model", **keywords, **QUICK, seed=1)


def test_values_present_are_still_checked():
    frame = mixed_cohort()
    frame.loc[7, "b"] = 2
    spec = bu.ModelSpec(factors=["x1", "x2", bu.Factor("b", kind="binary")], outcome="y")
    with pytest.raises(bu.CohortValidationError, match=r'"b" must be 0 or 1') as caught:
        bu.fit(frame, spec, missing="model", **QUICK, seed=1)
    assert caught.value.rows == [7]


# --- the model, without sampling ---------------------------------------------------------------------


def test_inputs_standardise_on_observed_values_and_key_the_counts():
    frame = mixed_cohort()
    inputs, filled = prepare_latent_inputs(frame, bu.ModelSpec.from_formula(FORMULA))
    latent = inputs.latent
    names = list(inputs.factors)
    assert names == ["x1", "x2", "b"] and latent.continuous == (0,) and latent.binary == 2
    assert latent.counts == (frame["x1"].isna().sum(),) and latent.binary_count == frame["b"].isna().sum()
    observed = frame["x1"].dropna()
    assert inputs.data["x_center"][0] == pytest.approx(observed.mean())
    assert inputs.data["x_scale"][0] == pytest.approx(observed.std(ddof=0))
    assert inputs.spec.terms.summary["x1"]["median"] == pytest.approx(observed.median())
    assert filled["x1"].notna().all() and filled["x1"].isin(observed).all()  # filled with an observed value
    # The 0/1 column's missing cells hold the standardised 0: the marginal adds beta_b for x = 1.
    rows = inputs.data["binary_missing_row"]
    np.testing.assert_allclose(inputs.data["X"][rows, 2], -inputs.data["x_center"][2] / inputs.data["x_scale"][2])
    fewer, _ = prepare_latent_inputs(frame.iloc[:-50], bu.ModelSpec.from_formula(FORMULA))
    assert fewer.key != inputs.key  # other counts, other free-variable shapes: compiled anew


def test_reserved_names_cover_the_covariate_models():
    inputs, _ = prepare_latent_inputs(mixed_cohort(), bu.ModelSpec.from_formula(FORMULA))
    model = build_from_inputs(inputs)
    names = set(model.named_vars) | set(model.coords)
    assert names - {"y", "impute_sigma_log__", "group_sd_log__"} <= RESERVED_NAMES


def test_joint_density_equals_a_hand_computation():
    """The covariate models, the observed outcome and the outcome with ``b`` summed out, against scipy by hand."""
    frame = mixed_cohort(n=120, seed=3)
    inputs, _ = prepare_latent_inputs(frame, bu.ModelSpec.from_formula(FORMULA))
    model = build_from_inputs(inputs)
    rng = np.random.default_rng(4)
    n1 = int(frame["x1"].isna().sum())
    point = {
        "alpha": -0.7,
        "beta_std": rng.normal(size=3),
        "group_sd_log__": np.log(0.4),
        "group_z": rng.normal(size=frame["site"].nunique()),
        "impute_intercept": rng.normal(size=2),
        "impute_coef": rng.normal(size=3),  # x1 ~ x2, b ~ x2, b ~ x1
        "impute_sigma_log__": np.log([0.8]),
        "x_latent_z": rng.normal(size=n1),
    }
    terms = [model[name] for name in ("covariates_observed", "binary_observed", "y", "outcome_marginalised")]
    density = model.logp(vars=[*terms, model["x_latent_z"]], jacobian=False)
    logp = model.compile_fn(density, mode="FAST_COMPILE")(point)  # Python, not C: no compile wait

    # By hand, from the raw columns.
    x1, x2, b, y = (frame[c].to_numpy(dtype=float) for c in ("x1", "x2", "b", "y"))
    m1, m2 = np.isnan(x1), np.isnan(b)
    z2 = (x2 - x2.mean()) / x2.std()
    c1, s1 = np.nanmean(x1), np.nanstd(x1)
    cb, sb = np.nanmean(b), np.nanstd(b)
    g0, d0 = point["impute_intercept"]
    g, d2, d1 = point["impute_coef"]
    sigma = 0.8
    mu1 = g0 + g * z2
    z1 = (x1 - c1) / s1
    z1[m1] = mu1[m1] + sigma * point["x_latent_z"]
    expected = stats.norm.logpdf(z1[~m1], mu1[~m1], sigma).sum() + stats.norm.logpdf(point["x_latent_z"]).sum()
    q = d0 + d2 * z2 + d1 * z1
    expected += stats.bernoulli.logpmf(b[~m2], special.expit(q[~m2])).sum()
    site = pd.factorize(frame["site"], sort=True)[0]
    offsets = 0.4 * point["group_z"]

    def eta(xb: np.ndarray) -> np.ndarray:
        return point["alpha"] + np.column_stack([z1, z2, (xb - cb) / sb]) @ point["beta_std"] + offsets[site]

    expected += stats.bernoulli.logpmf(y[~m2], special.expit(eta(b)[~m2])).sum()
    both = [
        np.log(special.expit(s * q[m2])) + stats.bernoulli.logpmf(y[m2], special.expit(eta(np.full(len(b), x))[m2]))
        for s, x in ((-1, 0.0), (1, 1.0))
    ]
    expected += special.logsumexp(np.stack(both), axis=0).sum()
    assert logp == pytest.approx(expected, rel=1e-10)


def test_nothing_missing_is_an_ordinary_fit_that_says_so():
    frame = mixed_cohort().dropna()
    idata = bu.fit(frame, "y ~ x1 + x2 + b", missing="model", **QUICK, seed=2)
    info = json.loads(idata.attrs["missing"])
    assert info["method"] == "model" and info["modelled_columns"] == []
    assert "x_missing" not in idata.posterior
    assert bu.missing_summary(idata).describe().startswith("No value the model reads was missing")


# --- fits ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def modelled():
    frame = mixed_cohort()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        idata = bu.fit(frame, FORMULA, missing="model", **FIXTURE, seed=3)
    return frame, idata


@pytest.mark.slow
def test_a_fit_stores_each_draws_missing_values(modelled):
    frame, idata = modelled
    post, constant = idata.posterior, idata.constant_data
    n1, nb = frame["x1"].isna().sum(), frame["b"].isna().sum()
    assert post["x_missing"].dims == ("chain", "draw", "cell") and post.sizes["cell"] == n1 + nb
    assert not {"x_latent_z", "x_latent_std", "impute_sigma_log__"} & set(post.data_vars)
    assert post["impute_coef"].coords["impute_term"].values.tolist() == ["x1 ~ x2", "b ~ x2", "b ~ x1"]
    columns = constant["missing_column"].to_numpy()
    rows = constant["missing_row"].to_numpy()
    assert columns.tolist() == ["x1"] * n1 + ["b"] * nb
    np.testing.assert_array_equal(rows[columns == "x1"], np.flatnonzero(frame["x1"].isna()))
    draws_b = post["x_missing"].to_numpy()[..., columns == "b"]
    assert set(np.unique(draws_b)) == {0.0, 1.0}
    x = constant["x"].to_numpy()
    np.testing.assert_allclose(
        x[rows, [0 if c == "x1" else 2 for c in columns]], post["x_missing"].mean(("chain", "draw"))
    )
    observed = frame[["x1", "x2", "b"]].notna().to_numpy()
    np.testing.assert_array_equal(x[observed], frame[["x1", "x2", "b"]].to_numpy()[observed])
    np.testing.assert_allclose(constant["x_center"].sel(factor="x1"), frame["x1"].mean())  # what the sampler used
    info = json.loads(idata.attrs["missing"])
    assert info["modelled_columns"] == ["x1", "b"] and info["binary_column"] == "b"
    assert info["predictors"] == {"x1": ["x2"], "b": ["x2", "x1"]}
    assert info["counts"]["complete_cases"] == frame[["x1", "b"]].notna().all(axis=1).sum()
    text = bu.missing_summary(idata).describe()
    assert "Missing values in x1, b were modelled inside the model" in text
    assert f"all {len(frame)} patients" in text


@pytest.mark.slow
def test_linear_predictor_uses_each_draws_own_values(modelled):
    frame, idata = modelled
    post = idata.posterior
    chain, draw = 1, 123
    one = post.isel(chain=chain, draw=draw)
    x = frame[["x1", "x2", "b"]].to_numpy(dtype=float, copy=True)
    rows = idata.constant_data["missing_row"].to_numpy()
    columns = [0 if c == "x1" else 2 for c in idata.constant_data["missing_column"].to_numpy()]
    x[rows, columns] = one["x_missing"].to_numpy()
    site = pd.factorize(frame["site"], sort=True)[0]
    expected = float(one["intercept"]) + x @ one["beta"].to_numpy() + one["group_offset"].to_numpy()[site]
    eta = Fitted.of(idata).linear_predictor_draws[chain * post.sizes["draw"] + draw]
    np.testing.assert_allclose(eta, expected, rtol=1e-12)
    loglik = idata.log_likelihood["y"].isel(chain=chain, draw=draw).to_numpy()
    np.testing.assert_allclose(loglik, stats.bernoulli.logpmf(frame["y"], special.expit(expected)), rtol=1e-10)


@pytest.mark.slow
def test_missing_binary_values_are_drawn_from_their_conditional_posterior(modelled):
    frame, idata = modelled
    inputs, _ = prepare_latent_inputs(frame, bu.ModelSpec.from_formula(FORMULA))
    post = idata.posterior
    columns = idata.constant_data["missing_column"].to_numpy()
    flat = post["x_missing"].stack(sample=("chain", "draw")).transpose("sample", "cell").to_numpy()
    log_odds = binary_log_odds(post, inputs, inputs.latent, 2, flat[:, columns == "x1"])
    # One draw and one cell by hand: P(b = 1 | y, x1, x2) from b's own model and the outcome's likelihood.
    chain, draw, cell = 0, 77, 5
    one = post.isel(chain=chain, draw=draw)
    row = int(inputs.data["binary_missing_row"][cell])
    x1 = frame["x1"].to_numpy(dtype=float).copy()
    missing_x1 = np.flatnonzero(columns == "x1")
    x1[idata.constant_data["missing_row"].to_numpy()[missing_x1]] = one["x_missing"].to_numpy()[missing_x1]
    center, scale = inputs.data["x_center"], inputs.data["x_scale"]
    d0 = float(one["impute_intercept"].sel(modelled="b"))
    d2, d1 = one["impute_coef"].sel(impute_term=["b ~ x2", "b ~ x1"]).to_numpy()
    q = d0 + d2 * (frame["x2"].iloc[row] - center[1]) / scale[1] + d1 * (x1[row] - center[0]) / scale[0]
    site = pd.factorize(frame["site"], sort=True)[0][row]
    beta = one["beta"].to_numpy()
    eta = (
        float(one["intercept"])
        + beta[0] * x1[row]
        + beta[1] * frame["x2"].iloc[row]
        + one["group_offset"].to_numpy()[site]
    )
    y = frame["y"].iloc[row]
    expected = (
        q + stats.bernoulli.logpmf(y, special.expit(eta + beta[2])) - stats.bernoulli.logpmf(y, special.expit(eta))
    )
    assert log_odds[chain * post.sizes["draw"] + draw, cell] == pytest.approx(expected, rel=1e-10)
    # The draws follow these probabilities: their total is within 4 binomial SEs of its expectation.
    p = special.expit(log_odds)
    drawn = flat[:, columns == "b"]
    assert abs(drawn.sum() - p.sum()) < 4 * np.sqrt((p * (1 - p)).sum())


@pytest.mark.slow
def test_downstream_functions_read_a_modelled_fit(modelled, tmp_path):
    frame, idata = modelled
    table = bu.odds_ratio_table(idata)
    assert table["factor"].tolist() == ["x1", "x2", "b"] and table["r_hat"].max() < 1.02
    patients = frame.dropna().head(3)
    risk = bu.predict_risk(idata, patients)
    assert len(risk) == 3 and risk["risk_median"].between(0, 1).all()
    assert np.isfinite(bu.loo(idata).elpd_loo)
    loaded = bu.load_fit(bu.save_fit(idata, tmp_path / "modelled.nc"))
    assert json.loads(loaded.attrs["missing"])["modelled_columns"] == ["x1", "b"]
    np.testing.assert_allclose(Fitted.of(loaded).linear_predictor_draws, Fitted.of(idata).linear_predictor_draws)
    again = bu.fit(frame, FORMULA, missing="model", **FIXTURE, seed=3)  # compiled already: seconds
    np.testing.assert_array_equal(again.posterior["x_missing"].to_numpy(), idata.posterior["x_missing"].to_numpy())


@pytest.mark.slow
def test_case_control_design_with_factors():
    frame = mixed_cohort(seed=5)
    spec = bu.ModelSpec(factors=["x1", "x2"], outcome="y", design="case_control", population_prevalence=0.1)
    idata = bu.fit(frame, spec, missing="model", **QUICK, seed=4)
    post = idata.posterior
    y = frame["y"].to_numpy()
    shift = special.logit(0.1) - np.log(y.sum() / (len(y) - y.sum()))
    np.testing.assert_allclose(post["intercept_population"], post["intercept"] + shift)
    assert json.loads(idata.attrs["missing"])["modelled_columns"] == ["x1"]
    typical = Fitted.of(idata).terms.summary["x1"]["median"]  # read off the observed values, not the imputed ones
    assert typical == pytest.approx(frame["x1"].median())


# --- recovery ------------------------------------------------------------------------------------


def recovery_cohort(n: int = 800, seed: int = 11) -> tuple[pd.DataFrame, dict[str, float]]:
    """Known truth; 25% of ``x1`` missing at random given ``x2`` and the outcome."""
    rng = np.random.default_rng(seed)
    truth = {"x1": 0.8, "x2": -0.5, "x3": 0.6}
    x2 = rng.normal(size=n)
    x3 = (rng.random(n) < 0.4).astype(float)
    x1 = 0.5 * x2 - 0.3 * x3 + rng.normal(scale=0.85, size=n)
    eta = -0.8 + truth["x1"] * x1 + truth["x2"] * x2 + truth["x3"] * x3
    y = (rng.random(n) < special.expit(eta)).astype(int)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "y": y})
    # logit P(missing) = a + 1.0 x2 + 1.0 y, with a set so that 25% are missing
    score = 1.0 * x2 + 1.0 * y
    a = _solve_share(score, 0.25)
    frame.loc[rng.random(n) < special.expit(a + score), "x1"] = np.nan
    return frame, truth


def _solve_share(score: np.ndarray, share: float) -> float:
    return optimize.brentq(lambda a: special.expit(a + score).mean() - share, -10, 10)


@pytest.mark.slow
def test_recovery_and_agreement_with_multiple_imputation():
    frame, truth = recovery_cohort()
    sampling = {"chains": 2, "draws": 1000, "tune": 1000}
    start = time.perf_counter()
    model = bu.fit(frame, "y ~ x1 + x2 + x3", missing="model", **sampling, seed=21)
    seconds_model = time.perf_counter() - start
    start = time.perf_counter()
    imputed = bu.fit(frame, "y ~ x1 + x2 + x3", missing="impute", imputations=20, **sampling, seed=21)
    seconds_impute = time.perf_counter() - start
    print(f"missing='model' {seconds_model:.1f} s; missing='impute', 20 imputations {seconds_impute:.1f} s")
    beta = model.posterior["beta"]
    median, sd = beta.median(("chain", "draw")), beta.std(("chain", "draw"))
    for name, value in truth.items():  # the truth within 3 posterior SDs
        assert abs(float(median.sel(factor=name)) - value) < 3 * float(sd.sel(factor=name)), name
    # Both approximate the posterior given the observed data under MAR, with different imputation models:
    # chained equations with predictive mean matching, additive in y, x2 and x3, against the joint model whose
    # outcome part is the analysis model itself. They differ by Monte Carlo error (a median's MCSE is about
    # 0.05 posterior SD at these ESS; 20 imputations add about sqrt(lambda / 20) = 0.1 SD, lambda ~ 0.25 the
    # fraction of missing information) and by what the imputation models imply, which the missing information
    # bounds to a fraction of an SD: with these data PMM pulls x1's log OR toward 0 by 0.5-0.8 SD (seeds 21
    # and 22), while the joint model's stays within 0.05 SD of the fit to the data before deletion. One
    # posterior SD holds those; an imputation that is wrong (complete cases move x2's log OR by 2 SDs) does not.
    other = imputed.posterior["beta"].median(("chain", "draw"))
    np.testing.assert_array_less(np.abs(median - other).to_numpy(), sd.to_numpy())


@pytest.mark.slow
def test_maximum_likelihood_pools_designs_completed_by_draws(modelled):
    """Rubin's rules over 20 draws' completed designs, against statsmodels' Logit on each (Rubin 1987)."""
    import statsmodels.api as sm

    frame, idata = modelled
    view = Fitted.of(idata)
    designs = view.imputed_designs(20)
    rows, columns = view.missing_cells
    flat = idata.posterior["x_missing"].stack(sample=("chain", "draw")).transpose("sample", "cell").to_numpy()
    np.testing.assert_array_equal(designs[-1][rows, columns], flat[-1])
    np.testing.assert_array_equal(np.delete(designs[3], rows * 3 + columns), np.delete(view.x, rows * 3 + columns))
    y = frame["y"].to_numpy()
    fits = [sm.Logit(y, sm.add_constant(x)).fit(disp=0) for x in designs]
    b = np.array([f.params[1:] for f in fits])
    total = np.array([f.bse[1:] ** 2 for f in fits]).mean(axis=0) + (1 + 1 / 20) * b.var(axis=0, ddof=1)
    table = bu.maximum_likelihood(idata)
    np.testing.assert_allclose(table["mle_log_or"], b.mean(axis=0), rtol=1e-6)
    np.testing.assert_allclose(table["mle_se"], np.sqrt(total), rtol=1e-6)
    assert (b.var(axis=0, ddof=1) > 0).all()  # the draws disagree: between-imputation variance widens the interval
