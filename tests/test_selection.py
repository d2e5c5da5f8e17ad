"""LOO, model comparison and projection-predictive selection, checked against ArviZ, PyMC and scipy."""

from __future__ import annotations

import dataclasses
import itertools

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pymc as pm
import pytest
from scipy import optimize, special

import bayes_ubpr as bu
from bayes_ubpr.cli import main
from bayes_ubpr.model import Fitted, ModelSpec
from bayes_ubpr.posterior import pointwise_log_likelihood
from bayes_ubpr.selection._terms import Candidates
from bayes_ubpr.selection.projpred import _check_folds_vary, _clusters, _forward_search, _kl, _project
from bayes_ubpr.terms import Interaction, default_knots, parse_formula

# Fits of 120-patient samples with the horseshoe over many factors can diverge a little at tiny draw counts;
# the warning is the fit's business (tested in test_model), not these tests'.
pytestmark = pytest.mark.filterwarnings("ignore::bayes_ubpr.StatisticalWarning")


# ------------------------------------------------------------------------------------------------
# pointwise log likelihood
# ------------------------------------------------------------------------------------------------


def _pymc_log_likelihood(idata, data):
    """PyMC's own log likelihood of the fitted model (the reference for ours)."""
    model = bu.build_model(data, ModelSpec.from_idata(idata))
    return pm.compute_log_likelihood(idata.copy(), model=model, extend_inferencedata=False, progressbar=False)


@pytest.mark.slow
def test_fit_stores_the_log_likelihood_pymc_computes(small_fit, small_cohort):
    stored = small_fit.log_likelihood["ubpr"]
    assert stored.dims == ("chain", "draw", "obs")
    reference = _pymc_log_likelihood(small_fit, small_cohort)["ubpr"]
    np.testing.assert_allclose(stored.values, reference.values, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(stored["obs"].values, small_cohort.index.values)


@pytest.mark.slow
def test_log_likelihood_with_group_offsets_and_varying_slopes_equals_pymc(small_cohort):
    data = small_cohort.iloc[:200].assign(site=np.arange(200) % 3)
    idata = bu.fit(
        data,
        factors=["fascia_injury", "n_fractures", "depression"],
        group="site",
        varying_slopes=["n_fractures"],
        draws=100,
        tune=200,
        chains=2,
        seed=2,
        check=False,
    )
    reference = _pymc_log_likelihood(idata, data)["ubpr"]
    np.testing.assert_allclose(idata.log_likelihood["ubpr"].values, reference.values, rtol=0, atol=1e-10)


def test_log_likelihood_can_be_skipped_and_recomputed(small_fit):
    without = az.InferenceData(**{g: small_fit[g] for g in small_fit.groups() if g != "log_likelihood"})
    without.attrs.update(small_fit.attrs)
    recomputed = pointwise_log_likelihood(without)
    np.testing.assert_allclose(recomputed["ubpr"].values, small_fit.log_likelihood["ubpr"].values, atol=1e-12)
    # loo of a fit without the group computes it: same numbers
    assert bu.loo(without).elpd_loo == pytest.approx(bu.loo(small_fit).elpd_loo, abs=1e-9)


# ------------------------------------------------------------------------------------------------
# loo and compare_models
# ------------------------------------------------------------------------------------------------


def test_loo_equals_arviz(small_fit):
    ours = bu.loo(small_fit)
    reference = az.loo(small_fit, pointwise=True)
    assert ours.elpd_loo == pytest.approx(float(reference["elpd_loo"]), abs=1e-10)
    assert ours.se == pytest.approx(float(reference["se"]), abs=1e-10)
    assert ours.p_loo == pytest.approx(float(reference["p_loo"]), abs=1e-10)
    np.testing.assert_allclose(ours.pointwise["pareto_k"], reference["pareto_k"].values, atol=1e-12)
    assert ours.pareto_k_summary()["count"].sum() == ours.n_obs == 600
    assert "elpd_loo" in str(ours)


def test_loo_names_patients_with_high_pareto_k(small_fit):
    # A patient whose outcome the posterior finds impossible dominates its own importance ratios.
    tampered = small_fit.copy()
    log_lik = tampered.log_likelihood["ubpr"].values
    log_lik[..., 7] = -40.0 * np.abs(np.random.default_rng(0).standard_normal(log_lik.shape[:2]))
    tampered.log_likelihood["ubpr"].values[:] = log_lik
    label = tampered.log_likelihood["obs"].values[7]
    with pytest.warns(bu.StatisticalWarning, match=rf"Pareto k > 0.7 \({label}"):
        result = bu.loo(tampered)
    assert result.high_k == [label]


def test_loo_refuses_what_is_not_a_fit():
    with pytest.raises(TypeError, match="idata must be an arviz.InferenceData"):
        bu.loo(pd.DataFrame())
    with pytest.raises(
        bu.NotAFitError, match=r"not a bayes_ubpr fit: idata \(it lacks the observed_data, constant_data groups\)"
    ):
        bu.loo(az.from_dict(posterior={"a": np.zeros((2, 10))}))


@pytest.fixture(scope="module")
def two_factor_fit(small_cohort):
    return bu.fit(small_cohort, factors=["fascia_injury", "depression"], draws=500, tune=500, chains=2, seed=4)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.sort_values")  # inside az.compare (ArviZ 0.23)
def test_compare_models_equals_arviz(small_fit, two_factor_fit):
    ours = bu.compare_models({"six": small_fit, "two": two_factor_fit})
    reference = az.compare({"six": small_fit, "two": two_factor_fit}, ic="loo", method="stacking")
    assert ours["model"].tolist() == reference.index.tolist()
    for ours_column, column in [("elpd_loo", "elpd_loo"), ("elpd_diff", "elpd_diff"), ("diff_se", "dse")]:
        np.testing.assert_allclose(ours[ours_column], reference[column], atol=1e-9)
    np.testing.assert_allclose(ours["weight"], reference["weight"], atol=1e-6)
    assert ours["weight"].sum() == pytest.approx(1.0)
    assert ours["n_high_k"].tolist() == [0, 0]


def _subset(idata, keep):
    """A copy of a fit keeping some patients (as if fitted to fewer)."""
    groups = {g: idata[g].isel(obs=keep) if "obs" in idata[g].dims else idata[g] for g in idata.groups()}
    copy = az.InferenceData(**groups)
    copy.attrs.update(idata.attrs)
    return copy


def test_compare_models_refuses_fits_of_other_patients(small_fit):
    fewer = _subset(small_fit, slice(0, 599))
    with pytest.raises(ValueError, match='same patients: "fewer" has 599 observations, "all" 600'):
        bu.compare_models({"all": small_fit, "fewer": fewer})
    relabelled = small_fit.copy()
    for group in ("observed_data", "constant_data", "log_likelihood"):
        relabelled[group] = relabelled[group].assign_coords(obs=np.arange(1000, 1600))
    with pytest.raises(ValueError, match="different row labels"):
        bu.compare_models({"all": small_fit, "relabelled": relabelled})
    flipped = small_fit.copy()
    flipped.observed_data["ubpr"].values[[3, 5]] = 1 - flipped.observed_data["ubpr"].values[[3, 5]]
    label = small_fit.observed_data["obs"].values[3]
    with pytest.raises(ValueError, match=rf"same outcomes: .* differ in 2 patient\(s\) \(rows {label}"):
        bu.compare_models({"all": small_fit, "flipped": flipped})


def test_compare_models_argument_errors(small_fit):
    with pytest.raises(ValueError, match="at least two fits; got 1"):
        bu.compare_models({"a": small_fit})
    with pytest.raises(TypeError, match="mapping of names to fits"):
        bu.compare_models([small_fit, small_fit])
    with pytest.raises(ValueError, match="method must be one of"):
        bu.compare_models({"a": small_fit, "b": small_fit}, method="bma")
    with pytest.raises(bu.NotAFitError, match='not a bayes_ubpr fit: fit "b"'):
        bu.compare_models({"a": small_fit, "b": az.from_dict(posterior={"a": np.zeros((2, 10))})})


# ------------------------------------------------------------------------------------------------
# the projection, against direct minimisation of the KL divergence (scipy)
# ------------------------------------------------------------------------------------------------


def _reference_world(rng, n=150, clusters=8):
    """Reference probabilities over five factors, of which three matter (strongly, clearly, mildly)."""
    z = rng.standard_normal((n, 5))
    truth = np.array([1.5, 0.0, -0.9, 0.0, 0.45])
    draws = truth + 0.15 * rng.standard_normal((200, 5))
    eta = -0.3 + draws @ z.T
    return z, eta, *_clusters(eta, clusters, seed=3)


def _scipy_kl(mu, z):
    """Minimum over (a, b) of KL(Bernoulli(mu) || Bernoulli(expit(a + z b))), by BFGS with the exact gradient."""

    def objective(theta):
        eta = theta[0] + z @ theta[1:]
        p = special.expit(eta)
        value = -(mu * eta - np.logaddexp(0, eta)).sum()
        gradient = -np.concatenate([[np.sum(mu - p)], z.T @ (mu - p)])
        return value, gradient

    result = optimize.minimize(objective, np.zeros(z.shape[1] + 1), jac=True, method="BFGS", options={"gtol": 1e-10})
    entropy = special.xlogy(mu, mu) + special.xlogy(1 - mu, 1 - mu)
    return result.x, entropy.sum() + result.fun


def test_projection_equals_direct_kl_minimisation(rng):
    z, eta, _, _ = _reference_world(rng)
    mu = special.expit(eta[:3])
    columns = [0, 2]
    coef, projected = _project(mu, z[:, columns])
    for s in range(3):
        expected, kl = _scipy_kl(mu[s], z[:, columns])
        np.testing.assert_allclose(coef[s], expected, atol=1e-6)
        assert _kl(mu[s : s + 1], projected[s : s + 1])[0] == pytest.approx(kl, abs=1e-9)


def test_projection_onto_every_factor_reproduces_the_reference(rng):
    z, eta, _, _ = _reference_world(rng)
    _, projected = _project(special.expit(eta[:5]), z)
    np.testing.assert_allclose(projected, eta[:5], atol=1e-7)


def test_forward_search_order_equals_the_exhaustive_best_subsets(rng):
    z, _, mu, weights = _reference_world(rng)
    order, kl_path = _forward_search(mu, weights, z, 3)
    for size in (1, 2, 3):
        totals = {
            subset: sum(w * _scipy_kl(m, z[:, list(subset)])[1] for m, w in zip(mu, weights, strict=True))
            for subset in itertools.combinations(range(5), size)
        }
        best = min(totals, key=totals.__getitem__)
        assert set(order[:size]) == set(best)
        assert kl_path[size] == pytest.approx(totals[best], rel=1e-7)
    assert order == [0, 2, 4]  # the factors that matter, strongest first


def test_clusters_cover_every_draw(rng):
    eta = rng.standard_normal((300, 40))
    centres, weights = _clusters(eta, 20, seed=1)
    assert weights.sum() == pytest.approx(1.0)
    assert len(centres) == len(weights) <= 20
    # the clusters' mean probabilities, weighted, are the mean over all draws (the KL is linear in them)
    np.testing.assert_allclose(weights @ centres, special.expit(eta).mean(axis=0), atol=1e-12)


# ------------------------------------------------------------------------------------------------
# select_factors
# ------------------------------------------------------------------------------------------------

EFFECTS = ["fascia_injury", "depression", "n_fractures"]  # odds ratios 3.8, 3.4 and 3.4 per fracture
CANDIDATES = [*EFFECTS, "age", "diabetes", "copd"]  # no effect in the simulated world


@pytest.fixture(scope="module")
def selection():
    cohort = bu.simulate_cohort(n=500, prevalence=0.3, seed=21)
    spec = ModelSpec(factors=CANDIDATES, priors="horseshoe")
    result = bu.select_factors(cohort, spec, n_folds=2, sampling=bu.Sampling(chains=2, draws=300, tune=300), seed=5)
    return result, CANDIDATES


@pytest.mark.slow
def test_select_factors_tables(selection):
    result, candidates = selection
    path = result.path
    assert path["size"].tolist() == list(range(len(candidates) + 1))
    assert sorted(result.order) == sorted(candidates)
    # the largest submodel is the reference's own model space: its projection is the reference, draw by draw
    assert path["elpd_diff_loo"].iloc[-1] == pytest.approx(0.0, abs=1e-6)
    assert path["kl"].is_monotonic_decreasing
    # suggested size: the smallest within one SE of the reference, by the cross-validated estimate
    within = path["elpd_diff_cv"] + path["elpd_diff_cv_se"] >= 0
    assert result.suggested_size == int(path.loc[within, "size"].min())
    assert result.selected == result.order[: result.suggested_size]
    assert result.fold_orders.groupby("fold").size().tolist() == [len(candidates)] * 2
    assert path["fold_share"].iloc[1:].between(0, 1).all()
    proportions = result.fold_proportions()
    last = proportions[proportions["size"] == len(candidates)]
    assert (last["share"] == 1.0).all()  # at full size every fold has every factor
    assert result.reference["estimate"].tolist() == ["psis_loo", "kfold"]
    assert set(result.order[:3]) == set(EFFECTS)
    assert "Suggested size" in str(result)


@pytest.mark.slow
def test_selection_plot(selection):
    result, _ = selection
    ax = bu.selection_plot(result)
    assert len(ax.containers) == 2  # PSIS-LOO and K-fold error bars
    assert ax.get_ylabel() == "elpd difference to the reference"
    plt.close("all")
    with pytest.raises(TypeError, match="SelectionResult"):
        bu.selection_plot(result.path)


def test_select_factors_argument_errors(small_cohort):
    two = ModelSpec(factors=["depression", "age"])
    with pytest.raises(ValueError, match="n_folds must be 0 .* or at least 2; got 1"):
        bu.select_factors(small_cohort, two, n_folds=1)
    with pytest.raises(ValueError, match=r"max_size must be at most the number of factors \(2\); got 3"):
        bu.select_factors(small_cohort, two, max_size=3)
    with pytest.raises(bu.CohortValidationError, match="not_a_column"):
        bu.select_factors(small_cohort, ModelSpec(factors=["depression", "not_a_column"]))
    tiny = small_cohort.iloc[:40]
    cases = int(tiny["ubpr"].sum())
    with pytest.raises(ValueError, match=rf"n_folds \(30\) exceeds the {cases} patients"):
        bu.select_factors(tiny, two, n_folds=30)
    with pytest.raises(TypeError, match="data must be a pandas DataFrame"):
        bu.select_factors([1, 2])
    with pytest.raises(TypeError, match="spec must be a bayes_ubpr.ModelSpec; got list"):
        bu.select_factors(small_cohort, ["depression", "age"])
    with pytest.raises(TypeError, match="sampling must be a bayes_ubpr.Sampling; got dict"):
        bu.select_factors(small_cohort, two, sampling={"draws": 100})
    with pytest.raises(ValueError, match=r'reference spec with group="site" \(group intercepts\) is not supported'):
        bu.select_factors(small_cohort.assign(site=0), two.replace(group="site"))
    with pytest.raises(TypeError, match="unexpected keyword argument 'n_fold'. Did you mean \"n_folds\"?"):
        bu.select_factors(small_cohort, two, n_fold=2)


def _no_fit(*args, **kwargs):
    raise AssertionError("select_factors fitted before checking its folds")


def test_a_factor_of_one_patient_is_refused_before_any_fit(small_cohort, monkeypatch):
    # One patient carries "rare": whichever fold holds that patient, the other folds' patients hold it constant.
    monkeypatch.setattr(bu.selection.projpred, "fit", _no_fit)
    data = small_cohort.assign(rare=0)
    data.loc[data.index[7], "rare"] = 1
    message = (
        r'factor "rare" differs from 0 in only 1 of 600 patient\(s\), all in cross-validation fold \d: refitted '
        r"without that fold, the reference model would see rare constant \(0\).*Leave rare out of factors, or set "
        r"n_folds=0 \(--folds 0\)"
    )
    with pytest.raises(ValueError, match=message):
        bu.select_factors(data, ModelSpec(factors=["depression", "rare"], priors="horseshoe"), seed=1)


class _Fitted(Exception):
    """Raised by _fit_called in place of the first reference fit, carrying what it was asked to fit."""


def _fit_called(data, spec, **options):
    raise _Fitted(spec, options)


def _first_fit(monkeypatch, *args, **kwargs):
    """The spec and options of select_factors' first reference fit, without fitting."""
    monkeypatch.setattr(bu.selection.projpred, "fit", _fit_called)
    with pytest.raises(_Fitted) as stopped:
        bu.select_factors(*args, **kwargs)
    return stopped.value.args


def test_select_factors_without_spec_fits_the_fifteen_with_the_horseshoe(small_cohort, monkeypatch):
    spec, options = _first_fit(monkeypatch, small_cohort, seed=1)
    assert spec == ModelSpec(factors=bu.RISK_FACTORS, priors="horseshoe")
    assert options["sampling"] == bu.Sampling()
    # a given spec is used as given: ModelSpec's default priors, no shrinkage
    spec, _ = _first_fit(monkeypatch, small_cohort, ModelSpec(factors=["depression", "age"]), seed=1)
    assert spec.priors == "default"


def test_select_factors_old_keywords_warn_and_fit_the_same_model(small_cohort, monkeypatch):
    # select_factors(factors=, outcome=, priors=, draws=, tune=, chains=, sampler=) work for one release
    factors = ["depression", "age", "copd"]
    old = {"factors": factors, "draws": 300, "tune": 200, "chains": 2, "sampler": "pymc"}
    with pytest.warns(DeprecationWarning) as caught:
        old_spec, old_options = _first_fit(monkeypatch, small_cohort, n_folds=2, seed=3, **old)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2
    assert messages[0].startswith("select_factors(factors=...) is deprecated and will be removed in the next release")
    assert 'spec=bayes_ubpr.ModelSpec(factors=..., priors="horseshoe")' in messages[0]
    assert "sampling=bayes_ubpr.Sampling(draws=..., tune=..., chains=..., sampler=...)" in messages[1]
    assert all(w.filename == __file__ for w in caught)  # the warning points at the caller
    spec = ModelSpec(factors=factors, priors="horseshoe")
    sampling = bu.Sampling(draws=300, tune=200, chains=2, sampler="pymc")
    new_spec, new_options = _first_fit(monkeypatch, small_cohort, spec, n_folds=2, sampling=sampling, seed=3)
    assert old_spec == new_spec
    assert old_options == new_options  # the same sampling and the same spawned fit seed

    with pytest.warns(
        DeprecationWarning, match=r"ModelSpec\(factors=bayes_ubpr.RISK_FACTORS, outcome=..., priors=...\)"
    ):
        spec, _ = _first_fit(monkeypatch, small_cohort, outcome="ubpr", priors="default", seed=1)
    assert spec == ModelSpec(factors=bu.RISK_FACTORS, priors="default")


def test_select_factors_refuses_old_keywords_beside_their_replacement(small_cohort):
    spec = ModelSpec(factors=["depression", "age"])
    with pytest.raises(TypeError, match="reference model either as spec or as factors, priors, not both"):
        bu.select_factors(small_cohort, spec, factors=["depression"], priors="horseshoe")
    with pytest.raises(TypeError, match=r"select_factors: pass draws inside sampling=Sampling\(...\), not beside it"):
        bu.select_factors(small_cohort, spec, sampling=bu.Sampling(), draws=100)


@pytest.mark.slow
def test_select_factors_old_keywords_give_the_same_numbers(small_cohort):
    data = small_cohort.iloc[:300]
    factors = ["fascia_injury", "depression", "age"]
    with pytest.warns(DeprecationWarning):
        old = bu.select_factors(data, factors=factors, n_folds=2, chains=2, draws=200, tune=200, seed=4)
    spec = ModelSpec(factors=factors, priors="horseshoe")
    new = bu.select_factors(data, spec, n_folds=2, sampling=bu.Sampling(chains=2, draws=200, tune=200), seed=4)
    pd.testing.assert_frame_equal(old.path, new.path)
    pd.testing.assert_frame_equal(old.reference, new.reference)
    pd.testing.assert_frame_equal(old.fold_orders, new.fold_orders)
    assert old.settings == new.settings


def test_fold_check_names_the_fold_that_holds_every_carrier():
    folds = np.arange(9) % 3
    spread, together = np.zeros(9), np.zeros(9)
    spread[[1, 2]], together[[1, 4]] = 1, 1  # carriers in folds 1 and 2; both in fold 1
    varied = np.array([1.0, 2, 3, 1, 4, 1, 1, 5, 1])
    _check_folds_vary(np.column_stack([spread, varied]), ["a", "b"], folds)
    with pytest.raises(
        ValueError, match=r'"a" differs from 0 in only 2 of 9 patient\(s\), all in cross-validation fold 1'
    ):
        _check_folds_vary(np.column_stack([together, varied]), ["a", "b"], folds)
    counts = np.ones(9)
    counts[[2, 5, 8]] = [2, 3, 2]  # three carriers, all in fold 2
    with pytest.raises(
        ValueError, match=r'"b" differs from 1 in only 3 of 9 patient\(s\), all in cross-validation fold 2'
    ):
        _check_folds_vary(np.column_stack([spread, counts]), ["a", "b"], folds)
    _check_folds_vary(np.zeros((4, 1)), ["constant"], np.array([0, 1, 0, 1]))  # the reference fit refuses this one


# ------------------------------------------------------------------------------------------------
# select_factors with terms: whole terms, interactions after their main effects
# ------------------------------------------------------------------------------------------------

LEVELS = ("lumbar", "thoracic", "thoracolumbar")  # sorted: "lumbar" is the reference
TERM_FORMULA = "pain ~ C(fracture_level) * injury + rcs(volume, 4) + noise"


def _term_world(n, seed):
    """Raw patients with a known truth: a three-level factor, an injury that matters more at one level, a U-shaped
    volume and a noise column without effect. Log odds: -2 + (0, 1, -1) by level + 1 injury + 1.5 injury at
    thoracolumbar + 0.9 ((volume - 5) / 2)^2 (a U, which no straight line follows)."""
    rng = np.random.default_rng(seed)
    level = rng.choice(LEVELS, size=n, p=[0.4, 0.35, 0.25])
    injury = rng.binomial(1, 0.4, size=n)
    volume = rng.uniform(1.0, 9.0, size=n)
    eta = (
        -2.0
        + np.select([level == "thoracic", level == "thoracolumbar"], [1.0, -1.0], 0.0)
        + injury * (1.0 + 1.5 * (level == "thoracolumbar"))
        + 0.9 * ((volume - 5.0) / 2.0) ** 2
    )
    return pd.DataFrame(
        {
            "pain": rng.binomial(1, special.expit(eta)),
            "fracture_level": level,
            "injury": injury,
            "volume": volume,
            "noise": rng.standard_normal(n),
        }
    )


def _assert_hierarchy(order, terms):
    """Every interaction of ``order`` comes after each of its main effects."""
    for position, name in enumerate(order):
        term = terms[name]
        if isinstance(term, Interaction):
            assert all(part.name in order[:position] for part in term.parts), (name, order)


def test_candidates_of_terms_group_columns_and_wait_for_main_effects():
    terms = parse_formula(TERM_FORMULA).terms.resolve(_term_world(200, 1))
    candidates = Candidates.of_terms(terms)
    assert candidates.names == ("fracture_level", "injury", "fracture_level:injury", "volume", "noise")
    assert [candidates.column_names(i) for i in range(5)] == [
        ("fracture_level[thoracic]", "fracture_level[thoracolumbar]"),
        ("injury",),
        ("fracture_level[thoracic]:injury", "fracture_level[thoracolumbar]:injury"),
        ("volume", "volume'", "volume''"),  # the spline's linear and nonlinear columns: one candidate
        ("noise",),
    ]
    assert candidates.available([]) == [0, 1, 3, 4]
    assert candidates.available([0]) == [1, 3, 4]  # one main effect is not enough
    assert candidates.available([1, 0]) == [2, 3, 4]
    assert candidates.design_columns([3, 1]) == [5, 6, 7, 2]
    # an interaction whose other part is not a term waits for the part that is
    lone = Candidates.of_terms(parse_formula("pain ~ injury + injury:noise").terms.resolve(_term_world(50, 1)))
    assert lone.requires == (frozenset(), frozenset({0}))
    # a spec without terms: every factor on its own, none waiting
    plain = Candidates.of_columns(["a", "b"])
    assert plain.columns == ((0,), (1,)) and plain.available([]) == [0, 1] and not plain.grouped


def test_grouped_search_adds_whole_terms_and_interactions_after_their_main_effects(rng):
    # A reference whose log odds are carried by the interaction and one level: column by column, the search
    # would take an interaction column first; by terms, it must take whole terms and the main effects first.
    data = _term_world(300, 2)
    terms = parse_formula(TERM_FORMULA).terms.resolve(data)
    x = terms.design(data).to_numpy()
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    columns = list(terms.columns)
    truth = np.zeros(len(columns))
    truth[columns.index("fracture_level[thoracolumbar]:injury")] = 1.6
    truth[columns.index("fracture_level[thoracic]")] = 0.7
    truth[columns.index("volume''")] = 0.5
    draws = truth + 0.1 * rng.standard_normal((100, len(columns)))
    mu, weights = _clusters(-0.5 + draws @ z.T, 10, seed=3)
    by_column, _ = _forward_search(mu, weights, z, 1)
    assert columns[by_column[0]] == "fracture_level[thoracolumbar]:injury"  # the control: what columns would do

    candidates = Candidates.of_terms(terms)
    unordered = dataclasses.replace(candidates, requires=(frozenset(),) * 5)
    assert unordered.names[_forward_search(mu, weights, z, 1, unordered)[0][0]] == "fracture_level:injury"  # control
    order, kl_path = _forward_search(mu, weights, z, 5, candidates)
    names = [candidates.names[i] for i in order]
    assert sorted(names) == sorted(terms.names)
    _assert_hierarchy(names, terms)
    assert np.all(np.diff(kl_path) < 0)
    # each size's KL is that of the projection onto all the columns of its terms (scipy, BFGS)
    for size in (1, 3):
        design = z[:, candidates.design_columns(order[:size])]
        expected = sum(w * _scipy_kl(m, design)[1] for m, w in zip(mu, weights, strict=True))
        assert kl_path[size] == pytest.approx(expected, rel=1e-6)
    # the first step is the best of the terms it could take, each with all its columns (widths 1, 2 and 3)
    first = {
        candidates.names[i]: sum(
            w * _scipy_kl(m, z[:, list(candidates.columns[i])])[1] for m, w in zip(mu, weights, strict=True)
        )
        for i in candidates.available([])
    }
    assert names[0] == min(first, key=first.__getitem__)


def test_select_factors_with_terms_refuses_a_level_of_one_patient_naming_the_term(monkeypatch):
    monkeypatch.setattr(bu.selection.projpred, "fit", _no_fit)
    data = _term_world(200, 3)
    data.loc[data.index[5], "fracture_level"] = "sacral"  # one patient: every other fold sees the level absent
    spec = ModelSpec.from_formula(TERM_FORMULA, priors="horseshoe")
    message = (
        r'column "fracture_level\[sacral\]" of term "fracture_level" differs from 0 in only 1 of 200 patient\(s\), '
        r"all in cross-validation fold \d: .* would see fracture_level\[sacral\] constant \(0\) .* Pool level "
        r"'sacral' of fracture_level with another level \(recode the column\), or leave fracture_level out of the "
        r"formula, or set n_folds=0 \(--folds 0\)"
    )
    with pytest.raises(ValueError, match=message):
        bu.select_factors(data, spec, n_folds=3, seed=1)
    # a one-column term is named as the term
    data = _term_world(200, 3).assign(rare=0)
    data.loc[data.index[9], "rare"] = 1
    with pytest.raises(ValueError, match=r'^term "rare" differs from 0 .* Leave rare out of the formula, or set'):
        bu.select_factors(data, ModelSpec.from_formula("pain ~ injury + rare"), n_folds=3, seed=1)


def test_select_factors_with_terms_argument_errors(monkeypatch):
    data = _term_world(200, 4).assign(hospital=lambda d: d.index % 4)
    with pytest.raises(ValueError, match=r'group="hospital" \(group intercepts\) is not supported; pass spec.replace'):
        bu.select_factors(data, ModelSpec.from_formula("pain ~ injury + noise + (1 | hospital)"))
    with pytest.raises(ValueError, match=r"max_size must be at most the number of terms \(5\); got 6"):
        bu.select_factors(data, ModelSpec.from_formula(TERM_FORMULA), max_size=6)
    with pytest.raises(bu.CohortValidationError, match='column "volumes" is not in the data'):
        bu.select_factors(data, ModelSpec.from_formula("pain ~ injury + rcs(volumes)"))
    # the reference fit reads the raw columns, with the levels and knots of all the data
    spec, _ = _first_fit(monkeypatch, data, ModelSpec.from_formula(TERM_FORMULA), n_folds=0, seed=1)
    assert spec.terms.resolved
    assert spec.terms["fracture_level"].levels == LEVELS
    assert spec.terms["volume"].knots == pytest.approx(default_knots(data["volume"].to_numpy(), 4))


@pytest.fixture(scope="module")
def term_selection():
    data = _term_world(400, 23)
    spec = ModelSpec.from_formula(TERM_FORMULA, priors="horseshoe")
    sampling = bu.Sampling(draws=300, tune=300, chains=2)
    return data, bu.select_factors(data, spec, n_folds=2, sampling=sampling, seed=5)


@pytest.mark.slow
def test_select_factors_moves_whole_terms_in_hierarchical_order(term_selection):
    data, result = term_selection
    reference = ModelSpec.from_idata(result.reference_fit)
    terms = reference.terms
    path = result.path
    assert path["size"].tolist() == list(range(6))  # sizes count terms: 5 terms, 9 design columns
    assert sorted(result.order) == sorted(terms.names)
    # every step adds one whole term: all its columns and no other
    for name, added in zip(path["factor"].iloc[1:], path["columns"].iloc[1:], strict=True):
        assert added == terms[name].columns
    assert path["columns"].iloc[0] == ()
    assert sorted(c for added in path["columns"] for c in added) == sorted(terms.columns)
    # no interaction before both of its main effects, in the search on all the data or in any fold's
    _assert_hierarchy(result.order, terms)
    for _, fold in result.fold_orders.groupby("fold"):
        assert sorted(fold["factor"]) == sorted(terms.names)
        _assert_hierarchy(fold.sort_values("step")["factor"].tolist(), terms)
    # the reference's design is the terms' design of the raw data, column for column (the K-fold reference
    # predicts held-out patients from it)
    np.testing.assert_allclose(Fitted.of(result.reference_fit).x, terms.design(data).to_numpy(), rtol=0, atol=1e-12)
    assert path["elpd_diff_loo"].iloc[-1] == pytest.approx(0.0, abs=1e-6)  # all terms: the reference itself
    assert path["kl"].is_monotonic_decreasing
    # the truth: the three main effects come first (in each of six simulated worlds tried, seeds 23-28; the
    # interaction, which only 10% of patients carry, came fourth in five of them, after the null noise once)
    assert set(result.order[:3]) == {"fracture_level", "injury", "volume"}
    assert result.settings["terms"]["volume"] == ["volume", "volume'", "volume''"]
    assert result.settings["formula"] == TERM_FORMULA
    assert "5 terms (9 design columns, each term added whole)" in str(result)
    ax = bu.selection_plot(result)
    assert ax.get_xlabel() == "submodel size (term added)"
    plt.close("all")


@pytest.mark.slow
def test_the_chosen_terms_refit_from_raw_columns(term_selection):
    data, result = term_selection
    reference = ModelSpec.from_idata(result.reference_fit)
    spec = result.submodel_spec(4)
    assert spec.terms.names == reference.terms.subset(result.order[:4]).names
    assert spec.terms.names == ("fracture_level", "injury", "fracture_level:injury", "volume")
    assert spec.priors == "horseshoe" and spec.outcome == "pain"
    raw = data[["pain", "fracture_level", "injury", "volume"]]  # raw columns only: no design column, no noise
    refit = bu.fit(raw, spec, sampling=bu.Sampling(draws=200, tune=200, chains=2), seed=1, check=False)
    assert Fitted.of(refit).spec.factor_names == spec.terms.columns
    assert result.submodel_spec().terms.names == reference.terms.subset(result.selected).names
    with pytest.raises(ValueError, match="size 0 is the intercept alone"):
        result.submodel_spec(0)
    with pytest.raises(ValueError, match=r"at most the largest submodel searched \(5\); got 6"):
        result.submodel_spec(6)


@pytest.mark.slow
def test_a_formula_of_plain_columns_selects_as_the_same_factors_do():
    # No-terms regression: factors and a formula of the same numeric columns are one model; the selection must
    # give the same numbers, and a spec without terms keeps its path's columns as before (no "columns").
    data = bu.simulate_cohort(n=300, prevalence=0.3, seed=21)
    factors = ["fascia_injury", "depression", "age", "copd"]
    quick = bu.Sampling(chains=2, draws=300, tune=300)
    by_factors = bu.select_factors(
        data, ModelSpec(factors=factors, priors="horseshoe"), n_folds=2, sampling=quick, seed=4
    )
    formula = ModelSpec.from_formula("ubpr ~ " + " + ".join(factors), priors="horseshoe")
    by_terms = bu.select_factors(data, formula, n_folds=2, sampling=quick, seed=4)
    assert by_factors.path.columns.tolist() == [
        "size", "factor", "kl", "elpd_loo", "elpd_loo_se", "elpd_diff_loo", "elpd_diff_loo_se",
        "elpd_cv", "elpd_cv_se", "elpd_diff_cv", "elpd_diff_cv_se", "fold_share",
    ]  # fmt: skip
    assert "terms" not in by_factors.settings
    assert by_terms.path["columns"].iloc[1:].tolist() == [(f,) for f in by_terms.order]
    pd.testing.assert_frame_equal(by_factors.path, by_terms.path.drop(columns="columns"), rtol=1e-9)
    pd.testing.assert_frame_equal(by_factors.fold_orders, by_terms.fold_orders)
    assert by_factors.suggested_size == by_terms.suggested_size
    assert by_factors.submodel_spec(2).factor_names == tuple(by_factors.order[:2])


# ------------------------------------------------------------------------------------------------
# CLI and report
# ------------------------------------------------------------------------------------------------


def test_cli_select_bad_input_is_one_line(tmp_path, small_cohort, capsys):
    path = tmp_path / "cohort.csv"
    small_cohort.to_csv(path, index=False)
    code = main(["select", str(path), "--factors", "depression", "nonsense_factor", "--draws", "10"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bayes-ubpr select: error:") and "nonsense_factor" in err[0]
    assert main(["select", str(path), "--out", str(path / "results")]) == 2  # a missing folder is made; not in a file
    assert f"--out: {path} is not a folder" in capsys.readouterr().err


def test_cli_select_refuses_a_factor_of_one_patient_in_one_line(tmp_path, small_cohort, capsys, monkeypatch):
    monkeypatch.setattr(bu.selection.projpred, "fit", _no_fit)
    data = small_cohort.assign(rare=0)
    data.loc[data.index[0], "rare"] = 1
    path = tmp_path / "cohort.csv"
    data.to_csv(path, index=False)
    assert main(["select", str(path), "--factors", "depression", "rare"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('bayes-ubpr select: error: factor "rare" differs from 0 in only 1 of')
    assert "(--folds 0)" in err[0]


def test_cli_select_takes_a_factor_file(tmp_path, small_cohort, monkeypatch, capsys):
    path = tmp_path / "cohort.csv"
    small_cohort.assign(cleft=np.arange(len(small_cohort)) % 2).to_csv(path, index=False)
    described = tmp_path / "factors.toml"
    described.write_text(
        '[factors.cleft]\nkind = "binary"\nlabel = "Intravertebral cleft"\n\n[factors.depression]\n', encoding="utf-8"
    )
    monkeypatch.setattr(bu.selection.projpred, "fit", _fit_called)
    with pytest.raises(_Fitted) as stopped:
        main(["select", str(path), "--factor-file", str(described), "--folds", "0", "--chains", "2"])
    spec, options = stopped.value.args
    assert spec.factor_names == ("cleft", "depression")  # the file's factors are the candidates
    assert spec.factors[0].label == "Intravertebral cleft"
    assert spec.priors == "horseshoe"
    assert options["sampling"] == bu.Sampling(chains=2, progressbar=True)  # a bar, or lines in a log file
    # the file's priors replace the horseshoe, and exclude another --priors
    described.write_text('[factors.cleft]\nprior = { family = "normal", mu = 0.0, sigma = 1.0 }\n', encoding="utf-8")
    with pytest.raises(_Fitted) as stopped:
        main(["select", str(path), "--factors", "cleft", "depression", "--factor-file", str(described)])
    assert list(stopped.value.args[0].priors) == ["cleft"]
    assert main(["select", str(path), "--factor-file", str(described), "--priors", "domains"]) == 2
    assert "--priors domains and the priors in" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_select_writes_tables_and_figure(tmp_path, small_cohort, capsys):
    path = tmp_path / "cohort.csv"
    small_cohort.iloc[:300].to_csv(path, index=False)
    arguments = ["select", str(path), "--factors", "fascia_injury", "depression", "age", "--folds", "0"]
    code = main([*arguments, "--draws", "200", "--tune", "200", "--chains", "2", "--out", str(tmp_path)])
    assert code == 0
    assert "Suggested size" in capsys.readouterr().out
    written = {p.name for p in tmp_path.iterdir()}
    assert {"selection_path.csv", "selection_reference.csv", "selection.png"} <= written
    assert len(pd.read_csv(tmp_path / "selection_path.csv")) == 4


@pytest.mark.slow
def test_report_has_loo_sections(small_fit, tmp_path):
    text = bu.write_report(small_fit, tmp_path / "report.md", seed=1).read_text(encoding="utf-8")
    assert "## Leave-one-out cross-validation" in text
    assert "## Pareto k of the patients" in text
    elpd = bu.loo(small_fit).elpd_loo
    assert f"{elpd:.3g}" in text


# ------------------------------------------------------------------------------------------------
# recovery of the paper's six in its simulated world (a small version of benchmarks/selection_recovery.py)
# ------------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_selection_finds_the_signal_at_the_papers_sample_size():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "selection_recovery.py"
    spec = importlib.util.spec_from_file_location("selection_recovery", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    children = np.random.SeedSequence(7).spawn(3)
    found = [module.replicate(child, draws=500, chains=2)["six_in_first_six"] for child in children]
    # The benchmark (40 replicates, seed 2016) puts 4.85 of the six among the first six on average, with a
    # per-replicate SD of 0.7; the mean of 3 replicates has SE 0.4, so 3.0 lies 4.6 SE below. A random order
    # would give 6 * 6 / 15 = 2.4.
    assert np.mean(found) > 3.0


# ------------------------------------------------------------------------------------------------
# against kulprit (optional: pip install kulprit==0.5.1 bambi==0.17.2, which keep the pinned PyMC and ArviZ)
# ------------------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore")  # Bambi, kulprit and scikit-learn warn about their own business
def test_search_order_agrees_with_kulprit():
    bmb = pytest.importorskip("bambi")
    kpt = pytest.importorskip("kulprit")
    factors = [*EFFECTS, "age", "diabetes", "copd"]
    data = bu.simulate_cohort(n=400, prevalence=0.3, seed=21)[["ubpr", *factors]]
    model = bmb.Model("ubpr ~ " + " + ".join(factors), data, family="bernoulli")
    idata = model.fit(draws=500, tune=500, chains=2, random_seed=1, idata_kwargs={"log_likelihood": True})
    projection = kpt.ProjectionPredictive(model, idata)
    projection.project()
    theirs = projection[len(factors)].term_names
    # kulprit 0.5.1 projects onto posterior-predictive draws of the outcome (not onto the fitted probabilities),
    # with Bambi's default priors; its order among the three factors that matter must still be ours.
    quick = bu.Sampling(chains=2, draws=500)
    ours = bu.select_factors(data, ModelSpec(factors=factors), n_folds=0, sampling=quick, seed=1)
    assert ours.order[:3] == theirs[:3]
    assert set(ours.order[:3]) == set(EFFECTS)


@pytest.mark.slow
def test_a_log_likelihood_too_large_to_store_is_skipped_with_a_warning(monkeypatch, small_cohort):
    # A large cohort's pointwise log likelihood (patients x draws) can need gigabytes: by default it is left
    # out with a warning, stored when asked, and loo recomputes it either way.
    from bayes_ubpr.model import _fit

    monkeypatch.setattr(_fit, "LOG_LIKELIHOOD_MAX_BYTES", 1000)
    with pytest.warns(UserWarning, match=r"log likelihood \(.* patients x 400 draws.*log_likelihood=True"):
        idata = bu.fit(small_cohort, draws=200, tune=200, chains=2, seed=1, check=False)
    assert "log_likelihood" not in idata.groups()
    kept = bu.fit(small_cohort, draws=200, tune=200, chains=2, seed=1, check=False, log_likelihood=True)
    assert kept.log_likelihood["ubpr"].shape[-1] == len(small_cohort)
    assert bu.loo(idata).elpd_loo == pytest.approx(bu.loo(kept).elpd_loo, rel=1e-12)


@pytest.mark.slow
def test_cli_select_takes_a_saved_fit_as_its_reference(tmp_path, capsys):
    """Issue 25: `select` on a user's own saved fit: its model (outcome, factors, priors) is the reference."""
    from bayes_ubpr.cli import main

    cohort = bu.simulate_cohort(n=300, prevalence=0.3, seed=4).rename(columns={"ubpr": "pain"})
    data, saved = tmp_path / "mine.csv", tmp_path / "fit.nc"
    cohort.to_csv(data, index=False)
    small = ["--draws", "300", "--tune", "300", "--chains", "2", "--seed", "1"]
    mine = ["--outcome", "pain", "--factors", "fascia_injury", "depression", "n_fractures"]
    assert main(["fit", str(data), *mine, "--out", str(saved), *small]) == 0
    assert main(["select", str(data), "--fit", str(saved), "--outcome", "pain"]) == 2
    assert "--fit and --outcome exclude each other" in capsys.readouterr().err
    assert main(["select", str(data), "--fit", str(saved), "--folds", "0", "--out", str(tmp_path / "s"), *small]) == 0
    path = pd.read_csv(tmp_path / "s" / "selection_path.csv")
    assert set(path["factor"].dropna()) == {
        "fascia_injury",
        "depression",
        "n_fractures",
    }  # the saved fit's, not Table 4's
