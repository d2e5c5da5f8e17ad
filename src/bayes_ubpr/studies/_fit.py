"""Fitting one replicate of a study: straight to arrays, refitted longer if it misses the convergence target."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import special

from bayes_ubpr.exceptions import StatisticalWarning
from bayes_ubpr.model import ModelSpec, default_sampler, fit
from bayes_ubpr.model._build import prepare_inputs
from bayes_ubpr.model._draws import CHECKED, FitArrays, sample_arrays
from bayes_ubpr.model.mapping import anchored_intercept
from bayes_ubpr.priors import PopulationPrevalence, PriorsLike


def _model_spec(settings: dict, priors: PriorsLike) -> ModelSpec:
    """Return the study's model: the simulated paper world's factors and outcome, its priors and design."""
    return ModelSpec(
        factors=tuple(settings["factors"]),
        priors=priors,
        design=settings["design"],
        population_mapping=settings["population_mapping"],
    )


STUDY_CHAINS, STUDY_TUNE, STUDY_DRAWS = 2, 200, 700
"""A study's default sampling: 2 chains x (200 + 700), the cheapest of the settings tried that met the
convergence target in every one of 100 replicates of the paper's design (bulk ESS >= 1,020, tail ESS >= 694,
R-hat <= 1.0075; nutpie adapts in 200 steps). 4 x (300 + 500) met it in 99 of 100 at 1.6x the time and
4 x (100 + 450) in 97; R-hat over more but shorter chains is noisier at the same total draws. A user fit
keeps 4 chains, for which R-hat is a stronger check of mixing: pass ``chains=4`` for the same here."""

REFIT_FACTOR = 4
"""A replicate whose draws miss the convergence target is refitted once with this many times the draws
(and twice the tuning); if it still misses, it is kept and flagged, never dropped."""

_VAR_NAMES = ("alpha", "beta", "intercept", "intercept_population")


def _arrays_from_fit(
    sample: pd.DataFrame, spec: ModelSpec, settings: dict, seed: int, draws: int, tune: int
) -> FitArrays:
    """Draws of a non-nutpie sampler through :func:`bayes_ubpr.fit`, as :class:`FitArrays`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        # replicates already run side by side: each one's chains on one core
        idata = fit(sample, spec, draws=draws, tune=tune, chains=settings["chains"], cores=1, seed=seed,
                    sampler=settings["sampler"], check=False, log_likelihood=False)  # fmt: skip
    post = idata.posterior
    arrays = {name: post[name].to_numpy() for name in (*_VAR_NAMES, "prevalence", *CHECKED) if name in post}
    n_divergent = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
    return FitArrays.from_draws(arrays, n_divergent, (*_VAR_NAMES, "prevalence"))


def _fit_replicate(
    sample: pd.DataFrame, settings: dict, priors: PriorsLike, rng: np.random.Generator
) -> tuple[FitArrays, bool, bool]:
    """Fit one replicate to arrays; refit it longer if it misses the convergence target.

    Returns the draws, whether they were refitted, and whether they still
    miss the target (flagged).
    """
    spec = _model_spec(settings, priors)
    seed = int(rng.integers(2**31 - 1))
    draws, tune = settings["draws"], settings["tune"]
    if (settings["sampler"] or default_sampler()) == "nutpie":
        spec = spec.resolve(sample)  # a simulated sample needs no validation
        prevalence = spec.population_prevalence
        if isinstance(prevalence, PopulationPrevalence):
            # The prevalence enters no likelihood term: its posterior is its Beta prior, independent of the
            # rest. Drawn here instead of by NUTS, it leaves the sampler one dimension and one Beta density
            # fewer (the same posterior, about 1.2x faster per replicate).
            spec = spec.replace(population_prevalence=0.5)
        inputs = prepare_inputs(sample, spec, validated=True)
        target_accept = 0.8 if inputs.priors.kind == "independent" else 0.95

        def run(seed: int, draws: int, tune: int) -> FitArrays:
            arrays = sample_arrays(inputs, draws=draws, tune=tune, chains=settings["chains"], seed=seed,
                                   target_accept=target_accept, var_names=_VAR_NAMES)  # fmt: skip
            if isinstance(prevalence, PopulationPrevalence):
                shape = arrays.draws["intercept_population"].shape
                drawn = np.random.default_rng(seed).beta(prevalence.alpha, prevalence.beta, size=shape)
                arrays.draws["intercept_population"] = arrays.draws["intercept_population"] + special.logit(drawn)
                arrays.draws["prevalence"] = drawn
            if spec.design == "case_control" and spec.population_mapping == "anchored":
                shape = arrays.draws["intercept"].shape
                pi = arrays.flat("prevalence") if "prevalence" in arrays.draws else float(prevalence)  # type: ignore[arg-type]
                y_sample = inputs.data["outcome_values"]
                anchored = anchored_intercept(inputs.raw, y_sample, arrays.flat("beta"), pi)
                arrays.draws["intercept_population"] = anchored.reshape(shape)
            return arrays
    else:

        def run(seed: int, draws: int, tune: int) -> FitArrays:
            return _arrays_from_fit(sample, spec, settings, seed, draws, tune)

    arrays = run(seed, draws, tune)
    if arrays.converged:
        return arrays, False, False
    arrays = run(seed + 1, REFIT_FACTOR * draws, 2 * tune)
    return arrays, True, not arrays.converged
