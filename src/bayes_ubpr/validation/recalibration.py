"""Recalibration of a fit to a new setting: a new intercept, or a new intercept and slope, on its linear predictor.

Recalibration in the large and logistic recalibration (Steyerberg 2019, ch.
20; Janssen et al. 2008), Bayesian: the new cohort's outcomes regressed on
the fit's posterior-mean linear predictor, and every posterior draw of the
fit transformed by a draw of the recalibration.
"""

from __future__ import annotations

import json
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from scipy import optimize, special

from bayes_ubpr import metrics
from bayes_ubpr._rng import SeedLike, as_generator, spawn_seeds
from bayes_ubpr._validate import check_choice
from bayes_ubpr.factors import Factor
from bayes_ubpr.model import Fitted, ModelSpec, Sampling
from bayes_ubpr.model import fit as fit_model
from bayes_ubpr.priors import INTERCEPT, WIDE_SCALE, Prior
from bayes_ubpr.validation._revision import (
    check_sampling,
    design_of,
    interval_of,
    original_of,
    population_linear_predictor,
    seed_of,
)

__all__ = ["RECALIBRATION_INTERCEPT_SD", "RECALIBRATION_METHODS", "RECALIBRATION_SLOPE_PRIOR", "recalibrate"]

RECALIBRATION_METHODS = ("intercept", "slope")
"""What :func:`recalibrate` re-estimates: the intercept alone (recalibration in the large), or intercept and slope."""

RECALIBRATION_INTERCEPT_SD = WIDE_SCALE
"""SD of the Normal prior of the recalibration intercept: 2.5 on the log-odds scale, centred on no change.

The intercept prior of Gelman et al. (2008) and of :func:`~bayes_ubpr.priors.default_prior`: 95% of its mass
on shifts of the log odds within +-4.9 (odds multiplied or divided by up to 134), wide enough for any plausible
difference in baseline risk between hospitals."""

RECALIBRATION_SLOPE_PRIOR = (1.0, 1.0)
"""Mean and SD of the Normal prior of the recalibration slope: centred on 1 (the effects transport as they are),
95% of its mass between -0.96 and 2.96, from effects that vanish or reverse to effects three times as strong."""

_GRID_POINTS = 801
_GRID_HALF_WIDTH = 12.0  # posterior SDs each side of the mode: the grid holds all but ~1e-32 of the mass
_GRID_CHUNK = 100
_LINEAR_PREDICTOR = "linear_predictor"
_EVENT = "event"


def _intercept_draws(y: np.ndarray, lp: np.ndarray, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Exact draws of a in logit P(y) = a + lp, a ~ Normal(0, 2.5): inverse CDF of the posterior on a fine grid.

    One parameter and a log-concave posterior: the density is evaluated on 801
    points over +-12 posterior SDs around its mode (found by Brent's method),
    integrated by the trapezoidal rule, and sampled by inverting its CDF.
    """
    sd = RECALIBRATION_INTERCEPT_SD

    def log_posterior(a: np.ndarray) -> np.ndarray:
        return metrics.bernoulli_log_density(y, a[:, None] + lp).sum(axis=1) - 0.5 * (a / sd) ** 2

    mode = float(optimize.minimize_scalar(lambda a: -log_posterior(np.array([a]))[0], bracket=(-1.0, 1.0)).x)
    p = special.expit(mode + lp)
    spread = 1.0 / np.sqrt(float((p * (1.0 - p)).sum()) + 1.0 / sd**2)
    grid = mode + spread * np.linspace(-_GRID_HALF_WIDTH, _GRID_HALF_WIDTH, _GRID_POINTS)
    chunks = np.array_split(grid, max(1, _GRID_POINTS // _GRID_CHUNK))
    log_density = np.concatenate([log_posterior(chunk) for chunk in chunks])
    density = np.exp(log_density - log_density.max())
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2.0 * np.diff(grid))])
    return np.interp(rng.random(n_draws), cdf / cdf[-1], grid)


def _slope_draws(
    y: np.ndarray, lp: np.ndarray, sampling: Sampling, seed: np.random.SeedSequence
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Draws of (a, b) in logit P(y) = a + b lp, by the package's own model: ``event ~ linear_predictor``.

    The intercept prior is on the log odds at the cohort's mean ``lp`` (where
    :func:`bayes_ubpr.fit` puts it), Normal(mean lp, 2.5): centred on no
    change for the average patient; the slope's is Normal(1, 1).
    """
    frame = pd.DataFrame({_LINEAR_PREDICTOR: lp, _EVENT: y.astype(int)})
    centre, (slope_mean, slope_sd) = float(lp.mean()), RECALIBRATION_SLOPE_PRIOR
    priors = {
        _LINEAR_PREDICTOR: Prior("normal", slope_mean, slope_sd),
        INTERCEPT: Prior("normal", centre, RECALIBRATION_INTERCEPT_SD),
    }
    spec = ModelSpec(factors=(Factor(_LINEAR_PREDICTOR, kind="continuous"),), outcome=_EVENT, priors=priors)
    recalibration = fit_model(frame, spec, sampling=sampling, seed=seed, check=False, log_likelihood=False)
    post = recalibration.posterior.stack(sample=("chain", "draw"))
    a = post["intercept"].to_numpy()
    b = post["beta"].sel(factor=_LINEAR_PREDICTOR).to_numpy()
    sampler = {"sampler": recalibration.attrs.get("sampler"), "draws": sampling.draws, "chains": sampling.chains}
    return a, b, sampler


def _recalibrated(
    view: Fitted, a: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray, obs: pd.Index, record: dict[str, Any]
) -> az.InferenceData:
    """Return the fit with each draw's intercept and log odds ratios transformed by its (a, b), on the new data."""
    post = view.idata.posterior
    template = post["intercept_population"]
    shift = template.copy(data=a.reshape(template.shape))
    slope = template.copy(data=b.reshape(template.shape))
    beta = slope * post["beta"]
    intercept = shift + slope * template
    centre, scale = x.mean(axis=0), x.std(axis=0)
    alpha = intercept + (beta * xr.DataArray(centre, dims="factor")).sum("factor")
    variables = {
        "alpha": alpha,
        "beta_std": beta * xr.DataArray(scale, dims="factor"),
        "beta": beta,
        "intercept": intercept,
        "alpha_population": alpha,
        "intercept_population": intercept,
        "recalibration_intercept": shift,
        "recalibration_slope": slope,
    }
    posterior = xr.Dataset({name: value.transpose("chain", "draw", ...) for name, value in variables.items()})
    spec = view.spec.replace(design="cohort", population_prevalence=None, group=None, varying_slopes=())
    groups: dict[str, Any] = {"posterior": posterior}
    if "sample_stats" in view.idata.groups():
        groups["sample_stats"] = view.idata.sample_stats
    new = az.InferenceData(**groups)
    obs_values = np.asarray(obs if obs.is_unique else pd.RangeIndex(len(obs)))
    factors = list(spec.factor_names)
    new.add_groups(
        observed_data=xr.Dataset({spec.outcome: ("obs", y.astype(np.int64))}, coords={"obs": obs_values}),
        constant_data=xr.Dataset(
            {"x": (("obs", "factor"), x), "x_center": ("factor", centre), "x_scale": ("factor", scale)},
            coords={"obs": obs_values, "factor": factors},
        ),
    )
    old = {key: value for key, value in view.idata.attrs.items() if key not in ("model_spec", "missing")}
    if "recalibration" in old:
        record["previous"] = json.loads(old["recalibration"])
    new.attrs.update({**old, **spec.to_attrs(), "recalibration": json.dumps(record)})
    return new


def recalibrate(
    fit: az.InferenceData,
    new_cohort: pd.DataFrame,
    method: str = "intercept",
    *,
    sampling: Sampling | None = None,
    seed: SeedLike = None,
) -> az.InferenceData:
    """Recalibrate a fit to a new cohort: a new intercept (and slope) on its linear predictor, Bayesian.

    The recalibration model is logistic regression of the new cohort's
    outcomes on the fit's linear predictor ``lp`` (each patient's
    population-scale log odds):

    * ``method="intercept"``, recalibration in the large:
      logit P(y) = a + lp, the slope fixed at 1; for a hospital whose
      baseline risk differs but whose effects are the same;
    * ``method="slope"``, logistic recalibration: logit P(y) = a + b lp;
      for a hospital whose effects are also weaker (b < 1) or stronger
      (b > 1) as a whole, or a model that was overfitted.

    The result is the fit with every posterior draw transformed,
    ``intercept' = a + b * intercept_population`` and ``beta' = b * beta``:
    a fit-like ``InferenceData`` that :func:`~bayes_ubpr.predict_risk`,
    :func:`~bayes_ubpr.risk_draws`, :func:`~bayes_ubpr.odds_ratio_table` and
    :func:`~bayes_ubpr.validate_model` read as they read any fit.

    Parameters
    ----------
    fit : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit` (or a recalibrated or updated one).
    new_cohort : pandas.DataFrame
        The new setting's patients: the raw columns the fit's terms read and
        the outcome, both outcomes present.
    method : {"intercept", "slope"}, default "intercept"
        What is re-estimated (see above).
    sampling : Sampling, optional
        ``method="slope"``: how the two-parameter recalibration model is
        sampled (default ``Sampling()``, 4 chains x 1,000 draws); it is
        fitted by :func:`bayes_ubpr.fit` as ``event ~ linear_predictor``.
        ``method="intercept"`` draws its one parameter exactly from its
        posterior on a grid and ignores it.
    seed : None, int or numpy.random.Generator
        For the recalibration's draws and their pairing with the fit's.

    Returns
    -------
    arviz.InferenceData
        A cohort fit on the new cohort's scale: ``posterior`` with ``beta``,
        ``intercept`` (= ``intercept_population``), ``alpha``,
        ``alpha_population`` and ``beta_std`` transformed, and each draw's
        ``recalibration_intercept`` (a) and ``recalibration_slope`` (b);
        ``observed_data`` and ``constant_data`` are the new cohort's (so the
        apparent performance that :func:`~bayes_ubpr.validate_model` reports
        for it is that on the recalibration data); the old ``sample_stats``.
        ``attrs["recalibration"]`` is JSON: ``method``, ``n``,
        ``n_events``, the priors, the posterior ``intercept`` and ``slope``
        (mean, SD, 95% interval; the slope ``fixed`` at 1 for
        ``"intercept"``), ``linear_predictor`` (how it was taken),
        ``original`` (the old design, prevalence and groupings), ``seed``.

    Raises
    ------
    ValueError
        For an unknown ``method``.
    TypeError
        If ``fit`` is not an InferenceData, ``new_cohort`` not a DataFrame,
        or ``sampling`` not a :class:`~bayes_ubpr.Sampling`.
    NotAFitError
        If ``fit`` is not a bayes_ubpr fit.
    CohortValidationError
        If the new cohort lacks a column of the model or the outcome, has a
        missing value or a level the model was not fitted on, or only one
        outcome class.

    See Also
    --------
    update : refit the whole model on the new cohort, the old posterior as a discounted prior.
    validate_updating : the old model and its revisions validated on data they were not fitted on.

    Notes
    -----
    **The linear predictor** is each patient's posterior-mean log odds,
    ``lp_i = mean_s(intercept_population_s + beta_s . x_i)``. The
    recalibration is fitted on it, not on each draw's: a draw's linear
    predictor is the posterior mean plus the posterior's error, and
    regressing on a covariate measured with error attenuates its slope
    (regression dilution), so a per-draw recalibration would find b < 1 in a
    hospital where the effects are the same. The posterior-mean predictor
    is the model as it is used. The posterior of (a, b) is then paired with
    the fit's draws at random (each fit draw with its own recalibration
    draw), so the recalibrated draws carry both: the old posterior's
    uncertainty about the effects, and the new cohort's about (a, b). The
    new cohort informs only a and b (a cut, or modular, posterior); to let
    it move each coefficient, use :func:`update`.

    **Priors.** ``a`` ~ Normal(0, 2.5) for ``"intercept"`` (a shift of the
    log odds, centred on no change: :data:`RECALIBRATION_INTERCEPT_SD`).
    For ``"slope"``, b ~ Normal(1, 1) (:data:`RECALIBRATION_SLOPE_PRIOR`) and
    the log odds at the cohort's mean linear predictor m, ``a + b m`` ~
    Normal(m, 2.5): no change for the average patient, as for the intercept
    alone.

    **Groups.** The new cohort is a new site: ``lp`` has no group offset
    (a site at the centre of the old sites), and the new intercept absorbs
    the new site's own level. The recalibrated fit has no groups (the old
    sites' offsets and the between-site SDs are dropped): every patient,
    whatever the grouping columns say, gets the new cohort's intercept.

    **Case-control fits.** ``lp`` uses the population-scale intercept
    (``intercept_population``, at the prevalence of the fit's correction), so
    the population-scale risks are recalibrated; the result is a cohort fit
    whose risks are on the new cohort's scale (its prevalence is estimated
    from it, not assumed), and ``prevalence=`` no longer applies.

    **Apparent performance.** Validating the recalibrated fit on
    ``new_cohort`` itself is optimistic (two parameters chosen on those
    data, few for a large cohort, but not none); :func:`validate_updating`
    validates on a hold-out sample or by cross-validation.

    References
    ----------
    Steyerberg EW (2019). Clinical Prediction Models: A Practical Approach to
    Development, Validation, and Updating, 2nd ed., chapter 20. Springer.
    doi:10.1007/978-3-030-16399-0

    Janssen KJM, Moons KGM, Kalkman CJ, Grobbee DE, Vergouwe Y (2008).
    Updating methods improved the performance of a clinical prediction model
    in new patients. Journal of Clinical Epidemiology 61(1):76-86.
    doi:10.1016/j.jclinepi.2007.04.018

    Examples
    --------
    >>> import json
    >>> import bayes_ubpr as bu
    >>> old = bu.fit(bu.simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> new = bu.simulate_cohort(n=600, prevalence=0.5, seed=6)  # a hospital where UBPR is commoner
    >>> recalibrated = bu.recalibrate(old, new, "intercept", seed=2)
    >>> record = json.loads(recalibrated.attrs["recalibration"])
    >>> record["method"], record["n"], round(record["intercept"]["mean"], 1)  # logit(0.5) - logit(0.3) = 0.85
    ('intercept', 600, 0.9)
    >>> def citl(model):  # calibration-in-the-large in the new hospital, at the posterior-mean risks
    ...     table = bu.validate_model(model, new, n_draws=100, bootstrap=False, seed=3).performance
    ...     return float(table.set_index("metric").loc["calibration_in_the_large", "estimate"].round(1))
    >>> citl(old), citl(recalibrated)  # apparent after: recalibrated on these patients
    (0.9, 0.0)
    """
    view = Fitted.of(fit)
    check_choice(method, RECALIBRATION_METHODS, name="method")
    sampling = check_sampling(sampling, caller="recalibrate")
    x, y, obs = design_of(view, new_cohort, name="new_cohort")
    lp = population_linear_predictor(view, x).mean(axis=0)
    n_fit = len(view.log_odds_ratio_draws)
    recalibration_seed, pairing_seed = spawn_seeds(seed, 2)
    sd = RECALIBRATION_INTERCEPT_SD
    if method == "intercept":
        a = _intercept_draws(y, lp, n_fit, as_generator(recalibration_seed))
        b = np.ones(n_fit)
        priors = {"intercept": f"Normal(0, {sd:g}) on the shift of the log odds", "slope": "fixed at 1"}
        sampler: dict[str, Any] = {"sampler": "exact (inverse CDF on a grid)"}
        slope: dict[str, Any] = {"fixed": 1.0}
    else:
        a_all, b_all, sampler = _slope_draws(y, lp, sampling, recalibration_seed)
        rng = as_generator(pairing_seed)
        pick = rng.permutation(len(a_all))[:n_fit] if len(a_all) >= n_fit else rng.integers(len(a_all), size=n_fit)
        a, b = a_all[pick], b_all[pick]
        mean, spread = RECALIBRATION_SLOPE_PRIOR
        priors = {
            "intercept": f"Normal(m, {sd:g}) on the log odds a + b m at the cohort's mean linear predictor m",
            "slope": f"Normal({mean:g}, {spread:g})",
        }
        slope = interval_of(b)
    spec = view.spec
    record = {
        "method": method,
        "n": len(y),
        "n_events": int(y.sum()),
        "priors": priors,
        "intercept": interval_of(a),
        "slope": slope,
        "linear_predictor": "posterior mean of intercept_population + beta . x (no group offsets)",
        "draws": "each posterior draw of the fit paired with one draw of (a, b), at random",
        "sampler": sampler,
        "original": original_of(spec),
        "seed": seed_of(seed),
    }
    return _recalibrated(view, a, b, x, y, obs, record)
