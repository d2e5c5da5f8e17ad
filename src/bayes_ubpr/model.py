"""Building and fitting the Bayesian logistic regression of UBPR on risk factors.

The model, for patient i with factor vector x_i::

    logit P(ubpr_i = 1) = alpha + sum_j beta_j (x_ij - m_j)
    alpha   ~ prior["intercept"]      log odds at the sample mean of the factors
    beta_j  ~ prior[factor_j]         log odds ratio per unit of factor j

The sampler works on standardised coordinates: each factor is centred at its
sample mean m_j and divided by its sample SD s_j, and the free parameter is
``beta_std_j = beta_j * s_j`` with the prior transformed exactly (location and
scale times s_j). That is a reparametrisation, not a change of model: it
gives every coefficient a comparable posterior scale, without which factors
measured in years or centimetres make NUTS chains stick. ``beta`` (per unit)
and ``intercept`` (log odds at x = 0) are deterministic. Design, centre, scale
and outcome enter as ``pm.Data``, so one compiled model can be refitted to
new data.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from importlib.metadata import version

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from bayes_ubpr._rng import SeedLike, as_int_seed
from bayes_ubpr._validate import check_choice, check_positive_int
from bayes_ubpr.data import validate_cohort
from bayes_ubpr.exceptions import CohortValidationError, StatisticalWarning
from bayes_ubpr.paper import OUTCOME, SIX_FACTORS
from bayes_ubpr.priors import INTERCEPT, Prior, resolve_priors

__all__ = ["RHAT_MAX", "build_model", "check_convergence", "fit"]

RHAT_MAX = 1.01
"""Largest acceptable rank-normalised split R-hat (Vehtari et al. 2021)."""

ESS_PER_CHAIN_MIN = 100
"""Smallest acceptable bulk and tail ESS per chain (Vehtari et al. 2021)."""

SAMPLERS = ("pymc", "nutpie")


def _prior_rv(name: str, prior: Prior, scale: pt.TensorLike = 1.0, **kwargs: object) -> pt.TensorVariable:
    """Random variable with ``prior``'s law multiplied by ``scale`` (location and scale alike)."""
    mu, sigma = prior.mu * scale, prior.sigma * scale
    if prior.family == "normal":
        return pm.Normal(name, mu=mu, sigma=sigma, **kwargs)
    if prior.family == "student_t":
        return pm.StudentT(name, nu=prior.nu, mu=mu, sigma=sigma, **kwargs)
    return pm.Laplace(name, mu=mu, b=sigma, **kwargs)


def _standardised_coefficients(
    factors: Sequence[str], priors: Mapping[str, Prior], x_scale: pt.TensorVariable
) -> pt.TensorVariable:
    """Log odds ratios per sample SD, one vector RV when all priors are normal."""
    if all(priors[f].family == "normal" for f in factors):
        mu = np.array([priors[f].mu for f in factors])
        sigma = np.array([priors[f].sigma for f in factors])
        return pm.Normal("beta_std", mu=mu * x_scale, sigma=sigma * x_scale, dims="factor")
    parts = [_prior_rv(f"beta_std_{f}", priors[f], x_scale[j]) for j, f in enumerate(factors)]
    return pm.Deterministic("beta_std", pt.stack(parts), dims="factor")


def _design(data: pd.DataFrame, factors: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardised design, column means and column SDs; a constant column is an error."""
    design = data[list(factors)].to_numpy(dtype=float)
    center, scale = design.mean(axis=0), design.std(axis=0)
    constant = [f for f, s in zip(factors, scale, strict=True) if s == 0]
    if constant:
        value = data[constant[0]].iloc[0]
        raise CohortValidationError(
            f'Column "{constant[0]}" is constant (every row is {value}): its odds ratio cannot be '
            "estimated from these data. Leave it out of factors.",
            column=constant[0],
        )
    return (design - center) / scale, center, scale


def build_model(
    data: pd.DataFrame,
    *,
    factors: Sequence[str] = SIX_FACTORS,
    priors: Mapping[str, Prior] | None = None,
) -> pm.Model:
    """Build the PyMC logistic regression of ``ubpr`` on ``factors``.

    Parameters
    ----------
    data : pandas.DataFrame
        Cohort or case-control sample satisfying the data contract.
    factors : sequence of str, default SIX_FACTORS
        Factor columns to include.
    priors : mapping of str to Prior, optional
        Per-factor (and ``"intercept"``) overrides of the default priors.

    Returns
    -------
    pymc.Model
        With data containers ``X`` (standardised design), ``x_center``,
        ``x_scale`` and ``y``; free variables ``alpha`` and ``beta_std``
        (one ``beta_std_<factor>`` per factor when priors are not all
        normal); deterministics ``beta`` (dim ``factor``) and ``intercept``.

    Raises
    ------
    CohortValidationError
        If the data break the contract or a factor is constant.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, build_model
    >>> model = build_model(simulate_cohort(n=300, seed=3))
    >>> sorted(rv.name for rv in model.free_RVs)
    ['alpha', 'beta_std']
    """
    factors = list(factors)
    clean = validate_cohort(data, factors=factors)
    resolved = resolve_priors(factors, priors)
    standardised, center, scale = _design(clean, factors)
    coords = {"factor": factors, "obs": np.asarray(clean.index)}
    with pm.Model(coords=coords) as model:
        x = pm.Data("X", standardised, dims=("obs", "factor"))
        x_center = pm.Data("x_center", center, dims="factor")
        x_scale = pm.Data("x_scale", scale, dims="factor")
        y = pm.Data("y", clean[OUTCOME].to_numpy(dtype=np.int64), dims="obs")
        alpha = _prior_rv("alpha", resolved[INTERCEPT])
        beta_std = _standardised_coefficients(factors, resolved, x_scale)
        beta = pm.Deterministic("beta", beta_std / x_scale, dims="factor")
        pm.Deterministic("intercept", alpha - pt.dot(x_center, beta))
        pm.Bernoulli(OUTCOME, logit_p=alpha + pt.dot(x, beta_std), observed=y, dims="obs")
    return model


def fit(
    data: pd.DataFrame,
    *,
    factors: Sequence[str] = SIX_FACTORS,
    priors: Mapping[str, Prior] | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    seed: SeedLike = None,
    sampler: str = "pymc",
    progressbar: bool = False,
) -> az.InferenceData:
    """Fit the Bayesian logistic regression and check convergence.

    Parameters
    ----------
    data : pandas.DataFrame
        Cohort or case-control sample: the ``factors`` columns and ``ubpr``.
    factors : sequence of str, default SIX_FACTORS
        Risk factors in the model (any of the fifteen in
        :data:`~bayes_ubpr.paper.RISK_FACTORS`).
    priors : mapping of str to Prior, optional
        Overrides of the default priors (see :mod:`bayes_ubpr.priors`).
    draws, tune, chains : int
        Posterior draws per chain, tuning steps per chain, and chains.
    seed : None, int or numpy.random.Generator
        Same seed, same draws.
    sampler : {"pymc", "nutpie"}, default "pymc"
        NUTS implementation. PyMC's compiles fastest for a single fit; nutpie
        samples faster once compiled.
    progressbar : bool, default False
        Show the sampler's progress bar.

    Returns
    -------
    arviz.InferenceData
        ``posterior`` with ``alpha``, ``intercept`` and ``beta`` (dim
        ``factor`` labelled by factor name), ``sample_stats``,
        ``observed_data`` and ``constant_data``. ``attrs`` records the
        factors, the priors used (JSON), the seed and the package version.

    Warns
    -----
    StatisticalWarning
        Naming each parameter whose R-hat exceeds 1.01 or whose bulk or tail
        ESS is below 100 per chain, and the number of divergent transitions.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit
    >>> idata = fit(simulate_cohort(n=400, prevalence=0.2, seed=5), chains=2, seed=1)
    >>> idata.posterior["beta"].coords["factor"].values.tolist()[:2]
    ['bmd_tscore_abs', 'fascia_injury']
    """
    draws = check_positive_int(draws, name="draws")
    tune = check_positive_int(tune, name="tune", minimum=0)
    chains = check_positive_int(chains, name="chains")
    check_choice(sampler, SAMPLERS, name="sampler")
    factors = list(factors)
    model = build_model(data, factors=factors, priors=priors)
    int_seed = as_int_seed(seed)
    with model:
        idata = pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            cores=1,
            random_seed=int_seed,
            nuts_sampler=sampler,
            progressbar=progressbar,
            compute_convergence_checks=False,
        )
    resolved = resolve_priors(factors, priors)
    idata.attrs.update(
        {
            "bayes_ubpr_version": version("bayes-ubpr"),
            "factors": json.dumps(factors),
            "priors": json.dumps({k: v.to_dict() for k, v in resolved.items()}),
            "seed": int_seed,
            "sampler": sampler,
        }
    )
    check_convergence(idata)
    return idata


def check_convergence(idata: az.InferenceData, *, var_names: Sequence[str] = ("alpha", "beta")) -> pd.DataFrame:
    """Check R-hat, bulk and tail ESS and divergences; warn naming what failed.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit with at least two chains.
    var_names : sequence of str, default ("alpha", "beta")
        Parameters to check. ``beta`` is the sampled ``beta_std`` divided by
        constants, so it has the same R-hat and ESS and names factors as
        users know them.

    Returns
    -------
    pandas.DataFrame
        ArviZ's diagnostics (``r_hat``, ``ess_bulk``, ``ess_tail``) per
        parameter, with a boolean ``ok`` column.

    Warns
    -----
    StatisticalWarning
        If any parameter fails or any transition diverged.
    """
    chains = idata.posterior.sizes["chain"]
    summary = az.summary(idata, var_names=list(var_names), kind="diagnostics")
    ess_min = ESS_PER_CHAIN_MIN * chains
    summary["ok"] = (summary["r_hat"] <= RHAT_MAX) & (summary["ess_bulk"] >= ess_min) & (summary["ess_tail"] >= ess_min)
    if chains < 2:
        summary["ok"] = summary["ess_bulk"] >= ess_min
    problems = [
        f"{name} (R-hat {row.r_hat:.3f}, bulk ESS {row.ess_bulk:.0f}, tail ESS {row.ess_tail:.0f})"
        for name, row in summary.loc[~summary["ok"]].iterrows()
    ]
    n_divergent = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
    if n_divergent:
        problems.append(f"{n_divergent} divergent transitions")
    if problems:
        warnings.warn(
            f"Sampling may not have converged (R-hat > {RHAT_MAX} or ESS < {ess_min}): "
            + "; ".join(problems)
            + ". Run more tuning steps or draws before trusting these results.",
            StatisticalWarning,
            stacklevel=3,
        )
    return summary
