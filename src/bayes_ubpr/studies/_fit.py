"""Fitting one replicate of a study: straight to arrays, refitted longer if it misses the convergence target."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
from scipy import special

from bayes_ubpr.exceptions import StatisticalWarning
from bayes_ubpr.model import ModelSpec, Sampling, default_sampler, fit
from bayes_ubpr.model.mapping import anchored_intercept
from bayes_ubpr.model.refit import CHECKED, FitArrays, default_target_accept, prepare_inputs, sample_arrays
from bayes_ubpr.priors import PopulationPrevalence

REFIT_FACTOR = 4
"""Most times the draws a replicate that misses the convergence target is refitted with, once (and twice the
tuning); if it still misses, it is kept and flagged, never dropped. See :func:`refit_factor`."""

REFIT_MARGIN = 1.5
"""Margin on the draws the shortfall of ESS asks for: the refit aims at 1.5x the target ESS."""


def refit_factor(arrays: FitArrays) -> int:
    """How many times the draws a replicate that missed the convergence target is refitted with.

    ESS grows in proportion to the draws, so a replicate short of ESS gets
    what its shortfall asks for with :data:`REFIT_MARGIN` to spare (at least
    twice, at most :data:`REFIT_FACTOR` times the draws); one that diverged
    or whose R-hat alone failed gets :data:`REFIT_FACTOR`. The horseshoe's
    global scale and the sites' SD, which mix slowest, miss the target of a
    study's draws by a little in about a third of the replicates; a fixed 4x
    spent 3.6 fits' time on each (benchmarks/bench_hierarchical.py, goal 4).

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr.model.refit import FitArrays
    >>> from bayes_ubpr.studies import refit_factor
    >>> def verdict(ess, divergent=0):  # 2 chains x 700 draws: the target is 400
    ...     draws = {"beta": np.zeros((2, 700, 6))}
    ...     return FitArrays(draws, n_divergent=divergent, rhat_max=1.0, ess_bulk_min=ess, ess_tail_min=ess)
    >>> refit_factor(verdict(300)), refit_factor(verdict(250)), refit_factor(verdict(100))
    (2, 3, 4)
    >>> refit_factor(verdict(300, divergent=1))
    4
    """
    ess = min(arrays.ess_bulk_min, arrays.ess_tail_min)
    if arrays.n_divergent or ess >= arrays.ess_target or not ess > 0:
        return REFIT_FACTOR
    return int(min(REFIT_FACTOR, max(2, math.ceil(REFIT_MARGIN * arrays.ess_target / ess))))


_VAR_NAMES = ("alpha", "beta", "intercept", "intercept_population")
_GROUP_NAMES = ("group_sd", "group_offset")
"""Kept too for a model of the world's sites: each site's intercept, and their SD for a site the sample lacks."""


def _arrays_from_fit(sample: pd.DataFrame, spec: ModelSpec, sampling: Sampling, seed: int) -> FitArrays:
    """Draws of a non-nutpie sampler through :func:`bayes_ubpr.fit`, as :class:`FitArrays`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        # replicates already run side by side: each one's chains on one core
        idata = fit(sample, spec, sampling=sampling.replace(cores=1), seed=seed, check=False, log_likelihood=False)
    post = idata.posterior
    names = (*_VAR_NAMES, *_GROUP_NAMES, "prevalence", *CHECKED)
    arrays = {name: post[name].to_numpy() for name in names if name in post}
    n_divergent = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
    return FitArrays.from_draws(arrays, n_divergent, (*_VAR_NAMES, *_GROUP_NAMES, "prevalence"))


def fit_replicate(
    sample: pd.DataFrame, spec: ModelSpec, sampling: Sampling, rng: np.random.Generator
) -> tuple[FitArrays, bool, bool]:
    """Fit one replicate's ``spec`` to arrays; refit it longer if it misses the convergence target.

    Returns the draws, whether they were refitted, and whether they still
    miss the target (flagged).
    """
    seed = int(rng.integers(2**31 - 1))
    if (sampling.sampler or default_sampler()) == "nutpie":
        spec = spec.with_terms_of(sample)
        spec = spec.resolve(spec.model_frame(sample))  # a simulated sample needs no validation
        prevalence = spec.population_prevalence
        if isinstance(prevalence, PopulationPrevalence):
            # The prevalence enters no likelihood term: its posterior is its Beta prior, independent of the
            # rest. Drawn here instead of by NUTS, it leaves the sampler one dimension and one Beta density
            # fewer (the same posterior, about 1.2x faster per replicate).
            spec = spec.replace(population_prevalence=0.5)
        inputs = prepare_inputs(sample, spec, validated=True)
        target_accept = sampling.target_accept
        if target_accept is None:
            target_accept = default_target_accept(inputs)

        var_names = (*_VAR_NAMES, *_GROUP_NAMES) if spec.group is not None else _VAR_NAMES

        def run(seed: int, sampling: Sampling) -> FitArrays:
            arrays = sample_arrays(inputs, draws=sampling.draws, tune=sampling.tune, chains=sampling.chains,
                                   seed=seed, target_accept=target_accept, var_names=var_names)  # fmt: skip
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

        def run(seed: int, sampling: Sampling) -> FitArrays:
            return _arrays_from_fit(sample, spec, sampling, seed)

    arrays = run(seed, sampling)
    if arrays.converged:
        return arrays, False, False
    arrays = run(seed + 1, sampling.replace(draws=refit_factor(arrays) * sampling.draws, tune=2 * sampling.tune))
    return arrays, True, not arrays.converged
