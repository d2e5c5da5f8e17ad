"""Updating a fit with a new setting's cohort: the same model refitted, its old posterior as a discounted prior.

A power prior (Ibrahim & Chen 2000) on the normal approximation of the old
posterior, through the package's per-coefficient priors
(:class:`~bayes_ubpr.priors.Prior`), so the updated model is an ordinary fit
of the new cohort.
"""

from __future__ import annotations

import json
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

from bayes_ubpr._rng import SeedLike
from bayes_ubpr._validate import check_choice, is_finite_real
from bayes_ubpr.model import Fitted, ModelSpec, Sampling
from bayes_ubpr.model import fit as fit_model
from bayes_ubpr.priors import INTERCEPT, Prior, default_prior
from bayes_ubpr.terms import group_labels
from bayes_ubpr.validation._revision import (
    check_sampling,
    design_of,
    original_of,
    population_linear_predictor,
    seed_of,
)

__all__ = ["DEFAULT_DISCOUNT", "UPDATE_INTERCEPTS", "check_discount", "update"]

DEFAULT_DISCOUNT = 0.5
"""Default weight of the old posterior in :func:`update`: the old data count as half their size (a power prior
with a0 = 0.5: each prior variance doubled)."""

UPDATE_INTERCEPTS = ("new", "discounted")
"""The intercept priors of :func:`update`: the default prior (the new hospital's baseline its own), or the old
posterior's, discounted."""


def check_discount(discount: object) -> float:
    """Return ``discount`` as a float after checking it is in (0, 1]."""
    if not is_finite_real(discount) or not 0.0 < float(discount) <= 1.0:  # type: ignore[arg-type]
        raise ValueError(
            "discount must be a number in (0, 1], the weight of the old posterior (1 keeps it whole, 0.5 counts "
            f"the old data as half their size); got {discount!r}"
        )
    return float(discount)  # type: ignore[arg-type]


def _groups_identified(spec: ModelSpec, data: pd.DataFrame) -> bool:
    """Whether ``data`` holds every grouping column with at least two levels each (else the groups are dropped)."""
    for grouping in spec.groups:
        if not all(column in data.columns for column in grouping.split(":")):
            return False
        if data[grouping.split(":")].isna().any().any() or group_labels(data, grouping).nunique() < 2:
            return False
    return bool(spec.groups)


def _new_site_variances(view: Fitted) -> tuple[float, np.ndarray]:
    """Posterior-mean variance a new site adds to the intercept, and to each log odds ratio per unit."""
    post = view.idata.posterior
    variance = post["group_sd"] ** 2
    intercept = float((variance.sum("grouping") if "grouping" in variance.dims else variance).mean())
    slopes = np.zeros(len(view.spec.factor_names))
    if "slope_sd" in post:
        factors = list(view.spec.factor_names)
        mean_square = (post["slope_sd"] ** 2).mean(dim=("chain", "draw"))
        for name, value in zip(mean_square["slope"].values, mean_square.to_numpy(), strict=True):
            j = factors.index(str(name))
            slopes[j] = value / view.x_scale[j] ** 2  # slope SDs are per SD of the factor in the old data
    return intercept, slopes


def update(
    fit: az.InferenceData,
    new_cohort: pd.DataFrame,
    *,
    discount: float = DEFAULT_DISCOUNT,
    intercept: str = "new",
    sampling: Sampling | None = None,
    seed: SeedLike = None,
) -> az.InferenceData:
    """Refit the model on a new cohort with the old posterior, discounted, as its prior (a power prior).

    The same model (terms, factors, their levels and knots, groupings where
    the new cohort has them) is fitted to the new hospital's patients by
    :func:`bayes_ubpr.fit`, each coefficient's prior the normal
    approximation of its old posterior with the variance divided by
    ``discount``::

        beta_j ~ Normal(mean_j, sd_j / sqrt(discount))

    where ``mean_j`` and ``sd_j`` are the old posterior mean and SD of the
    log odds ratio per unit. Where the new cohort agrees with the old
    posterior the update narrows the intervals; where it does not, the
    estimates move as far as the new data and the discount allow. The
    intercept, the new hospital's baseline risk, is its own by default
    (``intercept="new"``).

    Parameters
    ----------
    fit : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit` (or a recalibrated or updated one).
    new_cohort : pandas.DataFrame
        The new hospital's cohort (a consecutive series, not a case-control
        sample): the raw columns the fit's terms read and the outcome.
    discount : float, default 0.5
        Weight of the old posterior, in (0, 1]: 1 keeps it whole (as if the
        old and new patients were pooled, up to the normal approximation);
        0.5 (:data:`DEFAULT_DISCOUNT`) counts the old data as half their
        size, doubling each prior variance; smaller values let the new
        cohort speak more. The power prior of Ibrahim & Chen (2000) with
        a0 = ``discount``, for a normal approximation of the old posterior.
    intercept : {"new", "discounted"}, default "new"
        The intercept's prior (on the log odds at the new cohort's mean
        design, where :func:`bayes_ubpr.fit` puts it). ``"new"``: the
        default prior, Normal(0, 2.5): the new hospital's baseline risk is
        estimated from its own patients. ``"discounted"``: the old
        posterior's log odds for the new cohort's average patient, its
        variance divided by ``discount`` (see Notes): only when the new
        hospital's baseline risk is believed to be the old one's, or the old
        fit has groupings whose between-site spread says how far a new
        site's can be.
    sampling : Sampling, optional
        How the updated model is sampled (default ``Sampling()``).
    seed : None, int or numpy.random.Generator
        As for :func:`bayes_ubpr.fit`.

    Returns
    -------
    arviz.InferenceData
        A cohort fit of the new cohort, as :func:`bayes_ubpr.fit` returns
        it, whose stored spec holds the priors used (read them with
        :func:`~bayes_ubpr.describe_model_priors`). ``attrs["update"]`` is
        JSON: ``discount``, ``intercept``, ``n``, ``n_events``, ``priors``
        (per coefficient and for the intercept: the old posterior ``mean``
        and ``sd``, and the prior's ``prior_mean`` and ``prior_sd``),
        ``groups`` (``"kept"``, ``"dropped"`` or ``"none"``), ``original``
        (the old design, prevalence and groupings) and ``seed``.

    Raises
    ------
    ValueError
        For a ``discount`` outside (0, 1] or an unknown ``intercept``.
    TypeError
        If ``fit`` is not an InferenceData, ``new_cohort`` not a DataFrame,
        or ``sampling`` not a :class:`~bayes_ubpr.Sampling`.
    NotAFitError
        If ``fit`` is not a bayes_ubpr fit.
    CohortValidationError
        As :func:`bayes_ubpr.fit` raises it for the new cohort: a column
        missing or of the wrong kind, a level the model was not fitted on,
        a factor constant in the new cohort (its coefficient cannot be
        re-estimated: leave it out of a refit instead).

    Warns
    -----
    StatisticalWarning
        As :func:`bayes_ubpr.fit` warns about its sampling (R-hat, ESS,
        divergences). Its design check (events per parameter, expected
        shrinkage) is not run: it judges a cohort for a fit from weakly
        informative priors, and the update's priors carry the old data.

    See Also
    --------
    recalibrate : re-estimate only the intercept (and a common slope) in the new cohort.
    validate_updating : the old model and its revisions validated on data they were not fitted on.

    Notes
    -----
    **Why the intercept is the new hospital's own by default.** A fit of
    one hospital knows that hospital's baseline risk precisely, and nothing
    of how baseline risks differ between hospitals; they differ more than
    anything else in a model (Steyerberg 2019, ch. 20). Carried over with a
    discount, the old intercept holds the new hospital's baseline near the
    old one's: in the simulation of ``tests/test_updating.py`` (a hospital
    at 35% from one at 15%, 150 patients), ``intercept="discounted"`` lost
    0.02-0.04 in held-out log score per patient to ``"new"``, and fell
    behind a fresh fit of the new patients alone.

    **The discounted intercept** is the old posterior of
    ``intercept_population + beta . xbar`` (the old model's log odds for
    the new cohort's average patient, on the population scale for a
    case-control fit), normal, its variance divided by ``discount``.

    **Independence.** The prior is a product of independent normals: the
    old posterior's correlations between coefficients are not carried
    (:class:`~bayes_ubpr.priors.Prior` is per coefficient); each coefficient
    keeps its own mean and SD. Shrinkage priors of the old fit (horseshoe,
    domains) are replaced by these normals, which summarise what they did.

    **Groups.** If the new cohort holds every grouping column of the model
    with at least two levels, the groupings are kept: its sites get their
    own offsets under the default prior of the between-site SD, and the
    discounted intercept is the old typical site's. Otherwise (one new
    hospital, no site column) the groupings are dropped and the new
    hospital is one new site: the prior variance of each varying slope adds
    the old posterior mean of the slope's between-site variance, and that
    of a discounted intercept the between-site variance of the intercepts
    (summed over groupings).

    **Case-control fits** are updated on the population scale
    (``intercept_population``); the updated fit is a cohort fit of the new
    cohort.

    References
    ----------
    Ibrahim JG, Chen MH (2000). Power prior distributions for regression
    models. Statistical Science 15(1):46-60. doi:10.1214/ss/1009212673

    Steyerberg EW (2019). Clinical Prediction Models, 2nd ed., chapter 20.
    Springer. doi:10.1007/978-3-030-16399-0

    Examples
    --------
    >>> import json
    >>> import bayes_ubpr as bu
    >>> old = bu.fit(bu.simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> new = bu.simulate_cohort(n=600, prevalence=0.4, seed=6)
    >>> updated = bu.update(old, new, discount=0.5, sampling=bu.Sampling(chains=2), seed=2)
    >>> record = json.loads(updated.attrs["update"])
    >>> record["discount"], record["intercept"], record["n"], record["groups"]
    (0.5, 'new', 600, 'none')
    >>> prior = record["priors"]["fascia_injury"]
    >>> round(prior["prior_sd"] / prior["sd"], 3)  # the old posterior SD / sqrt(0.5)
    1.414
    """
    view = Fitted.of(fit)
    discount = check_discount(discount)
    check_choice(intercept, UPDATE_INTERCEPTS, name="intercept")
    sampling = check_sampling(sampling, caller="update")
    x, y, _ = design_of(view, new_cohort, name="new_cohort")
    spec = view.spec
    keep_groups = _groups_identified(spec, new_cohort)
    beta = view.log_odds_ratio_draws
    alpha = population_linear_predictor(view, x.mean(axis=0)[None, :])[:, 0]
    intercept_extra, slope_extra = (0.0, np.zeros(beta.shape[1]))
    if spec.groups and not keep_groups:
        intercept_extra, slope_extra = _new_site_variances(view)
    moments = {INTERCEPT: (float(alpha.mean()), float(alpha.var(ddof=1)) + intercept_extra)}
    for j, name in enumerate(spec.factor_names):
        moments[name] = (float(beta[:, j].mean()), float(beta[:, j].var(ddof=1)) + slope_extra[j])
    priors = {name: Prior("normal", mean, np.sqrt(variance / discount)) for name, (mean, variance) in moments.items()}
    if intercept == "new":
        priors[INTERCEPT] = default_prior(INTERCEPT)
    changes: dict[str, Any] = {"priors": priors, "design": "cohort", "population_prevalence": None}
    if not keep_groups:
        changes |= {"group": None, "varying_slopes": ()}
    # no design check: it judges a cohort for a fit from weakly informative priors, and these priors are informed
    updated = fit_model(new_cohort, spec.replace(**changes), sampling=sampling, seed=seed, check=False)
    record = {
        "discount": discount,
        "intercept": intercept,
        "n": len(y),
        "n_events": int(y.sum()),
        "priors": {
            name: {
                "mean": mean,
                "sd": float(np.sqrt(variance)),
                "prior_mean": priors[name].mu,
                "prior_sd": priors[name].sigma,
            }
            for name, (mean, variance) in moments.items()
        },
        "groups": "kept" if keep_groups else ("dropped" if spec.groups else "none"),
        "original": original_of(spec),
        "seed": seed_of(seed),
    }
    updated.attrs["update"] = json.dumps(record)
    return updated
