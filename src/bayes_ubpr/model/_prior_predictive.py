"""What the priors imply before any outcome is seen."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pymc as pm
from scipy import special

from bayes_ubpr._rng import SeedLike, as_int_seed
from bayes_ubpr._validate import check_positive_int
from bayes_ubpr.data import FactorLike
from bayes_ubpr.model._build import build_from_inputs, prepare_inputs
from bayes_ubpr.model.spec import ModelSpec, PrevalenceLike, spec_from_keywords
from bayes_ubpr.priors import PriorsLike

QUANTILES = (0.025, 0.25, 0.5, 0.75, 0.975)


def prior_predictive(
    data: pd.DataFrame,
    spec: ModelSpec | None = None,
    *,
    factors: Sequence[FactorLike] | None = None,
    outcome: str | None = None,
    priors: PriorsLike = None,
    design: str | None = None,
    population_prevalence: PrevalenceLike = None,
    group: str | None = None,
    varying_slopes: Sequence[str] | None = None,
    population_mapping: str | None = None,
    draws: int = 4000,
    seed: SeedLike = None,
) -> pd.DataFrame:
    """Summarise the prevalence and odds ratios that the priors imply.

    Draws parameters from the prior of the model :func:`bayes_ubpr.fit`
    would build on ``data`` and reports, before the outcome is used, the
    implied prevalence (the mean predicted risk over ``data``'s patients, on
    the population scale for a case-control design) and each factor's odds
    ratio per unit and per SD of the factor in ``data``.

    Parameters
    ----------
    data : pandas.DataFrame
        The patients whose predicted risks the priors imply. The outcome
        column is needed only to set up the design; its values are not used.
    spec : ModelSpec, optional
        The model; default ``ModelSpec()``.
    factors, outcome, priors, design, population_prevalence, group, varying_slopes, population_mapping
        Deprecated: the fields of ``spec`` as loose keywords (they warn, and
        go in the next release); pass ``spec=ModelSpec(...)`` instead.
    draws : int, default 4000
        Prior draws.
    seed : None, int or numpy.random.Generator

    Returns
    -------
    pandas.DataFrame
        Rows ``quantity`` ("prevalence", then "OR per unit: <factor>" and
        "OR per SD: <factor>"), columns ``q2.5``, ``q25``, ``q50``, ``q75``,
        ``q97.5``. A sensible prior puts the prevalence's central interval
        on plausible values and no odds ratio's on absurd ones.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, prior_predictive
    >>> summary = prior_predictive(simulate_cohort(n=300, seed=1), draws=500, seed=2)
    >>> summary["quantity"].iloc[0]
    'prevalence'
    """
    draws = check_positive_int(draws, name="draws")
    keywords: dict[str, Any] = {"factors": factors, "outcome": outcome, "priors": priors, "design": design}
    keywords |= {"population_prevalence": population_prevalence, "group": group, "varying_slopes": varying_slopes}
    spec = spec_from_keywords(spec, keywords | {"population_mapping": population_mapping}, caller="prior_predictive")
    inputs = prepare_inputs(data, spec)
    model = build_from_inputs(inputs)
    names = ["alpha_population", "beta_std", "beta"]
    if spec.group is not None:
        names.append("group_offset")
        if spec.varying_slopes:
            names.append("slope_offset_std")
    prior = pm.sample_prior_predictive(draws=draws, model=model, var_names=names, random_seed=as_int_seed(seed)).prior
    flat = {name: prior[name].stack(sample=("chain", "draw")).transpose("sample", ...).to_numpy() for name in names}
    eta = flat["alpha_population"][:, None] + flat["beta_std"] @ inputs.data["X"].T
    if spec.group is not None:
        idx = inputs.data["group_idx"]
        eta = eta + flat["group_offset"][:, idx]
        if spec.varying_slopes:
            x_slopes = inputs.data["X"][:, inputs.data["slope_idx"]]
            eta = eta + np.einsum("sng,ng->sn", flat["slope_offset_std"][:, idx, :], x_slopes)
    rows = [("prevalence", special.expit(eta).mean(axis=1))]
    rows += [(f"OR per unit: {f}", np.exp(flat["beta"][:, j])) for j, f in enumerate(inputs.factors)]
    rows += [(f"OR per SD: {f}", np.exp(flat["beta_std"][:, j])) for j, f in enumerate(inputs.factors)]
    table = pd.DataFrame(
        [[name, *np.quantile(values, QUANTILES)] for name, values in rows],
        columns=["quantity", *[f"q{100 * q:g}" for q in QUANTILES]],
    )
    table.attrs.update({"draws": draws, "priors": inputs.priors.name, "design": spec.design})
    return table
