"""Sensitivity to the prior: refits over a grid of priors, tipping points of sceptical priors, power-scaling."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from bayes_ubpr._rng import SeedLike, as_generator
from bayes_ubpr._steps import report_step
from bayes_ubpr._validate import check_choice, check_probability, require_dataframe
from bayes_ubpr.data import FactorLike, as_factors
from bayes_ubpr.factors import Factor
from bayes_ubpr.model import Fitted, ModelSpec, Sampling, build_model, fit
from bayes_ubpr.paper import OUTCOME, SIX_FACTORS
from bayes_ubpr.posterior import odds_ratio_table
from bayes_ubpr.priors import (
    DEFAULT_SCALE,
    PAPER_INFLATION,
    SCEPTICAL_SCALE,
    Prior,
    PriorsLike,
    default_prior,
    paper_priors,
)
from bayes_ubpr.sensitivity._common import model_spec, resolved_on, sampling_attrs, sampling_of

__all__ = [
    "POWER_SCALING_THRESHOLD",
    "PRIOR_FAMILIES",
    "TippingPoints",
    "margin_from_one",
    "power_scaling",
    "prior_grid",
    "prior_sensitivity",
    "tipping_points",
]

PRIOR_FAMILIES = ("default", "student_t", "sceptical", "paper")
"""Families of :func:`prior_grid`: the default normal, its Student-t(3)
counterpart, sceptical normal centred on OR 1, and the paper-informed normal."""

POWER_SCALING_THRESHOLD = 0.05
"""Cumulative Jensen-Shannon distance above which a posterior counts as
sensitive to power-scaling (the threshold of Kallioinen et al. 2023)."""


def _family_prior(factor: FactorLike, family: str, scale: float) -> Prior:
    base = default_prior(factor)
    if family == "default":
        return replace(base, sigma=DEFAULT_SCALE * scale)
    if family == "student_t":
        return replace(base, family="student_t", sigma=DEFAULT_SCALE * scale, nu=3.0)
    return replace(base, sigma=SCEPTICAL_SCALE * scale)  # sceptical


def prior_grid(
    factors: Sequence[FactorLike] = SIX_FACTORS,
    *,
    families: Sequence[str] = PRIOR_FAMILIES,
    scales: Sequence[float] = (0.5, 1.0, 2.0),
) -> dict[str, dict[str, Prior]]:
    """Named prior settings: every family at every scale multiplier.

    Parameters
    ----------
    factors : sequence of str or Factor
        Factors in the model, with known kinds and reference scales (catalogue
        names, or Factors resolved on the data as :func:`prior_sensitivity`
        does).
    families : sequence of {"default", "student_t", "sceptical", "paper"}
        ``"default"``: Normal(0, 1 x scale), the package's default prior
        (``bayes_ubpr.priors.DEFAULT_SCALE`` = 1) with its SD multiplied;
        ``"student_t"``: Student-t(3) with the same scale; ``"sceptical"``:
        Normal(0, ln 3 / 1.96 x scale), centred on OR 1; ``"paper"``:
        Normal(B, SE x 2 x scale) centred on Table 5 (scale 0.5 takes the
        paper at face value). Per unit for binary factors and per reference
        SD otherwise, as in :func:`bayes_ubpr.priors.default_prior`.
    scales : sequence of float
        Multipliers of each family's scale; for ``"paper"`` each must be at
        least 0.5 (no narrower than the published SE).

    Returns
    -------
    dict
        ``{"family x scale": {factor: Prior}}``, e.g. ``"sceptical x 0.5"``.

    Examples
    --------
    >>> from bayes_ubpr.sensitivity import prior_grid
    >>> grid = prior_grid(["depression"], families=["default", "sceptical"], scales=[1, 2])
    >>> {name: round(p["depression"].sigma, 3) for name, p in grid.items()}
    {'default x 1': 1.0, 'default x 2': 2.0, 'sceptical x 1': 0.561, 'sceptical x 2': 1.121}
    """
    for family in families:
        check_choice(family, PRIOR_FAMILIES, name="prior family")
    grid = {}
    for family in families:
        for scale in scales:
            if not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0:
                raise ValueError(f"scales must be positive finite numbers; got {scale!r}")
            if family == "paper":
                priors = paper_priors(factors, inflation=PAPER_INFLATION * scale)
            else:
                priors = {f.name: _family_prior(f, family, scale) for f in as_factors(factors)}
            grid[f"{family} x {scale:g}"] = priors
    return grid


def _named_settings(
    priors: Mapping[str, PriorsLike] | Sequence[PriorsLike] | None, factors: Sequence[Factor], outcome: str
) -> dict:
    if priors is None:  # the paper's Table 5 is a prior for UBPR after vertebroplasty, not for another outcome
        families = PRIOR_FAMILIES if outcome == OUTCOME else tuple(f for f in PRIOR_FAMILIES if f != "paper")
        return prior_grid(factors, families=families)
    if isinstance(priors, Mapping):
        return dict(priors)
    if isinstance(priors, str):
        raise TypeError("priors must be a sequence or mapping of prior settings; wrap a single preset in a list")
    return {p if isinstance(p, str) else f"setting {i}": p for i, p in enumerate(priors)}


def _check_data(data: object) -> None:
    """Accept a DataFrame or a non-empty list of DataFrames (completed data sets)."""
    if isinstance(data, (list, tuple)) and data:
        for k, frame in enumerate(data):
            require_dataframe(frame, name=f"data[{k}]")
    else:
        require_dataframe(data)


def prior_sensitivity(
    data: pd.DataFrame,
    spec: ModelSpec | None = None,
    *,
    priors: Mapping[str, PriorsLike] | Sequence[PriorsLike] | None = None,
    prob: float = 0.95,
    sampling: Sampling | None = None,
    seed: SeedLike = None,
    factors: Sequence[FactorLike] | None = None,
    design: str | None = None,
    **fit_options: object,
) -> pd.DataFrame:
    """Refit over prior settings and tabulate how each factor's OR interval moves.

    Parameters
    ----------
    data : pandas.DataFrame or list of pandas.DataFrame
        The sample to fit (e.g. the paper's 60:60 case-control sample), or
        its completed data sets (each setting's draws pooled over them, as
        :func:`bayes_ubpr.fit` pools them; those of a fit made with
        ``missing="impute"`` from :func:`bayes_ubpr.model.completed_data`).
    spec : ModelSpec
        The model whose priors are varied (its own priors are replaced by
        each setting), e.g. ``ModelSpec(design="case_control")`` for the
        paper's 60:60 sample. Omitting it is deprecated: the model is then
        ``ModelSpec(design="case_control")``, with a ``DeprecationWarning``.
    priors : mapping or sequence, optional
        Settings to compare: ``{name: priors}`` or a list of anything
        :func:`bayes_ubpr.fit` accepts as ``priors`` (presets are named by
        themselves). Default: :func:`prior_grid`, 12 settings (9 for an outcome
        other than UBPR: the "paper" family, centred on Table 5, is left out).
    prob : float, default 0.95
        Credible interval mass.
    sampling : Sampling, optional
        How each setting is sampled; default ``DEFAULT_SAMPLING``, 4 chains
        x (1,000 + 1,000).
    seed : None, int or numpy.random.Generator
        Every setting is fitted with the same seed, so differences between
        rows come from the priors, not from Monte Carlo noise in the seed.
        That fit seed is drawn from ``seed``, not ``seed`` itself, so the
        ``"default x 1"`` row and ``fit(data, seed=seed)`` differ by Monte
        Carlo error alone (the same model, other draws).
    factors, design
        Deprecated: the spec's fields, as :func:`bayes_ubpr.fit` takes them
        (the design defaulting to ``"case_control"``); pass ``spec`` instead.
    **fit_options
        Deprecated: ``draws``, ``tune``, ``chains``, ``sampler``; pass
        ``sampling`` instead.

    Returns
    -------
    pandas.DataFrame
        One row per setting and factor: ``setting``, ``factor``,
        ``or_median``, ``or_lower``, ``or_upper``, ``prob_positive``,
        ``excludes_one`` (the interval lies wholly above or below OR 1),
        ``flips`` (this factor's ``excludes_one`` differs between settings),
        ``r_hat``; the paper's ``paper_or``, ``paper_lower``,
        ``paper_upper``.

    See Also
    --------
    tipping_points : how sceptical a prior must be to flip each conclusion.
    power_scaling : prior and likelihood sensitivity without refitting.
    bayes_ubpr.plots.prior_sensitivity_plot : the figure of this table.

    Examples
    --------
    >>> from bayes_ubpr import ModelSpec, Sampling, simulate_cohort, case_control_sample
    >>> from bayes_ubpr.sensitivity import prior_sensitivity
    >>> sample = case_control_sample(simulate_cohort(n=600, prevalence=0.3, seed=5), seed=2)
    >>> spec = ModelSpec(design="case_control")
    >>> table = prior_sensitivity(sample, spec, priors=["default", "sceptical"], sampling=Sampling(chains=2), seed=1)
    >>> table.groupby("setting").size().to_dict()
    {'default': 6, 'sceptical': 6}
    >>> ors = table.pivot(index="factor", columns="setting", values="or_median")
    >>> bool(ors.loc["fascia_injury", "sceptical"] < ors.loc["fascia_injury", "default"])  # pulled towards 1
    True
    """
    _check_data(data)
    prob = check_probability(prob, name="prob")
    sampling = sampling_of(sampling, fit_options, caller="prior_sensitivity")
    base = resolved_on(data, model_spec(spec, caller="prior_sensitivity", factors=factors, design=design))
    settings = _named_settings(priors, base.factors, base.outcome)
    if not settings:
        raise ValueError("priors must name at least one prior setting")
    int_seed = int(as_generator(seed).integers(2**31 - 1))
    rows = []
    for i, (name, setting) in enumerate(settings.items()):
        report_step(f"prior setting {i + 1} of {len(settings)} ({name}): fitting")
        idata = fit(data, base.replace(priors=setting), sampling=sampling, seed=int_seed, check=False)
        table = odds_ratio_table(idata, prob=prob)
        table.insert(0, "setting", name)
        rows.append(table)
    columns = ["setting", "factor", "or_median", "or_lower", "or_upper", "prob_positive", "r_hat"]
    columns += ["paper_or", "paper_lower", "paper_upper"]
    result = pd.concat(rows, ignore_index=True)[columns]
    result.insert(6, "excludes_one", (result["or_lower"] > 1) | (result["or_upper"] < 1))
    result.insert(7, "flips", result.groupby("factor")["excludes_one"].transform("nunique") > 1)
    result.attrs.update({"prob": prob, "design": base.design, "seed": int_seed, **sampling_attrs(sampling)})
    return result


@dataclass(frozen=True)
class TippingPoints:
    """Tipping points of sceptical priors: one row per factor, and the grid of refits they are read from.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per factor: ``factor``, ``tipping_sigma`` (NaN when the
        conclusion does not flip on the grid), ``tipping_or_bound``
        (exp(1.96 x sigma): the sceptic at the tipping point is 95% sure the
        OR lies between its inverse and itself), ``excludes_one_at_widest``
        and ``status`` ("flips", "excludes 1 on the whole grid" or "includes
        1 on the whole grid"). Its ``.attrs`` hold the settings, as the
        grid's do.
    grid : pandas.DataFrame
        The refits, one row per prior SD and factor: the table of
        :func:`prior_sensitivity` with the prior SD ``sigma`` as its second
        column (settings named ``"sceptical sigma <sigma>"``).
    prob : float
        Credible interval mass.
    design : str
        The design of the model fitted.
    seed : int
        The seed every refit used (drawn from the ``seed`` given).
    sampling : Sampling
        How each refit was sampled.

    Examples
    --------
    >>> from bayes_ubpr import ModelSpec, Sampling, simulate_cohort, case_control_sample
    >>> from bayes_ubpr.sensitivity import tipping_points
    >>> sample = case_control_sample(simulate_cohort(n=600, prevalence=0.3, seed=5), seed=2)
    >>> spec, quick = ModelSpec(design="case_control"), Sampling(chains=2)
    >>> result = tipping_points(sample, spec, scales=[0.1, 1.0], sampling=quick, seed=1)
    >>> result.grid["sigma"].unique().tolist(), result.sampling.chains
    ([0.1, 1.0], 2)
    >>> str(result).splitlines()[0]  # printing shows the summary
    'Tipping points of sceptical Normal(0, sigma) priors on the log OR: 2 prior SDs from 0.1 to 1 (95% intervals)'
    """

    summary: pd.DataFrame
    grid: pd.DataFrame
    prob: float
    design: str
    seed: int
    sampling: Sampling

    def __str__(self) -> str:
        sigma = self.grid["sigma"]
        title = (
            f"Tipping points of sceptical Normal(0, sigma) priors on the log OR: {sigma.nunique()} prior SDs "
            f"from {sigma.min():.3g} to {sigma.max():.3g} ({self.prob:.0%} intervals)"
        )
        return f"{title}\n{self.summary.to_string(index=False, float_format=lambda v: f'{v:.3g}', na_rep='-')}"


def tipping_points(
    data: pd.DataFrame,
    spec: ModelSpec | None = None,
    *,
    scales: Sequence[float] = tuple(np.geomspace(0.05, 2.5, 9)),
    prob: float = 0.95,
    sampling: Sampling | None = None,
    seed: SeedLike = None,
    factors: Sequence[FactorLike] | None = None,
    design: str | None = None,
    **fit_options: object,
) -> TippingPoints:
    """How sceptical a prior must be before each factor's interval reaches OR 1.

    Refits with sceptical Normal(0, sigma) priors on every log OR (per unit
    for binary factors, per reference SD otherwise) over a grid of sigma,
    and interpolates, on log sigma, where the limit of the interval nearest
    OR 1 crosses it. Below the tipping sigma the prior's pull towards OR 1
    wins and the interval includes 1.

    Parameters
    ----------
    data : pandas.DataFrame
        The sample to fit.
    spec : ModelSpec
        The model whose priors are varied. Omitting it is deprecated, as
        for :func:`prior_sensitivity`.
    scales : sequence of float
        Prior SDs on the log OR to fit, in increasing order.
    prob, sampling, seed
        As for :func:`prior_sensitivity`.
    factors, design, **fit_options
        Deprecated, as for :func:`prior_sensitivity`.

    Returns
    -------
    TippingPoints
        ``summary``: one row per factor, its tipping sigma, the sceptic's OR
        bound there and whether its conclusion flips on the grid; ``grid``:
        every refit; and the settings.

    References
    ----------
    Spiegelhalter DJ, Freedman LS, Parmar MKB (1994). Bayesian approaches to
    randomized trials. J R Stat Soc A 157(3):357-416. doi:10.2307/2983527

    Examples
    --------
    >>> from bayes_ubpr import ModelSpec, Sampling, simulate_cohort, case_control_sample
    >>> from bayes_ubpr.sensitivity import tipping_points
    >>> sample = case_control_sample(simulate_cohort(n=600, prevalence=0.3, seed=5), seed=2)
    >>> spec = ModelSpec(design="case_control")
    >>> result = tipping_points(sample, spec, scales=[0.1, 0.3, 1.0], sampling=Sampling(chains=2), seed=1)
    >>> list(result.summary.columns)
    ['factor', 'tipping_sigma', 'tipping_or_bound', 'excludes_one_at_widest', 'status']
    >>> result.grid.shape  # 3 prior SDs x 6 factors
    (18, 13)
    """
    scales = sorted(float(s) for s in scales)
    if len(scales) < 2 or scales[0] <= 0:
        raise ValueError(f"scales must hold at least two positive prior SDs; got {scales}")
    sampling = sampling_of(sampling, fit_options, caller="tipping_points")
    base = resolved_on(data, model_spec(spec, caller="tipping_points", factors=factors, design=design))
    settings = {
        f"sceptical sigma {s:.4g}": {f.name: replace(default_prior(f), sigma=s) for f in base.factors} for s in scales
    }
    grid = prior_sensitivity(data, base, priors=settings, prob=prob, sampling=sampling, seed=seed)
    grid.insert(1, "sigma", np.repeat(scales, len(base.factors)))
    rows = [_tipping_row(factor, group) for factor, group in grid.groupby("factor", sort=False)]
    summary = pd.DataFrame(rows)
    summary.attrs.update(grid.attrs)
    return TippingPoints(
        summary=summary,
        grid=grid,
        prob=grid.attrs["prob"],
        design=base.design,
        seed=grid.attrs["seed"],
        sampling=sampling,
    )


def margin_from_one(group: pd.DataFrame) -> np.ndarray:
    """Signed log-distance from OR 1 of the interval limit nearest it, along one factor's prior grid.

    Positive while the interval excludes 1. The side is the one the widest
    prior's median lies on, so the margin is comparable along the grid.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_ubpr.sensitivity import margin_from_one
    >>> grid = pd.DataFrame({"or_median": [1.2, 2.0], "or_lower": [0.8, 1.2], "or_upper": [1.8, 3.3]})
    >>> margin_from_one(grid).round(3)  # log 0.8, then log 1.2: the interval excludes 1 at the wider prior
    array([-0.223,  0.182])
    """
    above = group["or_median"].iloc[-1] >= 1
    return np.log(group["or_lower"] if above else 1 / group["or_upper"]).to_numpy()


def _tipping_row(factor: str, group: pd.DataFrame) -> dict[str, object]:
    margin = margin_from_one(group)
    log_sigma = np.log(group["sigma"].to_numpy())
    status, tipping = "includes 1 on the whole grid", math.nan
    if (margin > 0).all():
        status = "excludes 1 on the whole grid"
    elif margin[-1] > 0:
        status = "flips"
        j = int(np.flatnonzero(margin <= 0)[-1])  # last grid point still including 1
        t = margin[j] / (margin[j] - margin[j + 1])
        tipping = float(np.exp(log_sigma[j] + t * (log_sigma[j + 1] - log_sigma[j])))
    return {
        "factor": factor,
        "tipping_sigma": tipping,
        "tipping_or_bound": math.exp(1.959963984540054 * tipping) if status == "flips" else math.nan,
        "excludes_one_at_widest": bool(margin[-1] > 0),
        "status": status,
    }


def power_scaling(
    idata: az.InferenceData,
    data: pd.DataFrame,
    *,
    threshold: float = POWER_SCALING_THRESHOLD,
) -> pd.DataFrame:
    """Power-scaling sensitivity of each log OR to its prior and to the likelihood.

    The prior (of the log odds ratios) and the likelihood are in turn raised
    to a power alpha near 1; ArviZ's :func:`arviz.psens` estimates by Pareto-
    smoothed importance sampling, without refitting, how far each posterior
    moves (cumulative Jensen-Shannon distance per unit log alpha).

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit` of ``data``.
    data : pandas.DataFrame
        The data it was fitted to (the model is rebuilt to evaluate the log
        prior and the pointwise log likelihood of every draw).
    threshold : float, default 0.05
        Sensitivity above which a posterior counts as sensitive.

    Returns
    -------
    pandas.DataFrame
        One row per factor: ``prior_sensitivity``, ``likelihood_sensitivity``
        and ``diagnosis``: "prior-data conflict" (both sensitive), "strong
        prior / weak likelihood" (only the prior), or "-" (the likelihood
        dominates, as intended).

    References
    ----------
    Kallioinen N, Paananen T, Bürkner PC, Vehtari A (2023). Detecting and
    diagnosing prior and likelihood sensitivity with power-scaling.
    Statistics and Computing 34:57. doi:10.1007/s11222-023-10366-5

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit
    >>> from bayes_ubpr.sensitivity import power_scaling
    >>> cohort = simulate_cohort(n=600, prevalence=0.3, seed=5)
    >>> idata = fit(cohort, priors="wide", chains=2, seed=1)
    >>> table = power_scaling(idata, cohort)
    >>> list(table.columns)
    ['factor', 'prior_sensitivity', 'likelihood_sensitivity', 'diagnosis']
    >>> bool((table["prior_sensitivity"] < 0.05).all())  # 185 cases outweigh the wide prior
    True
    """
    import pymc as pm

    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie strictly between 0 and 1; got {threshold!r}")
    spec = Fitted.of(idata).spec
    if spec.group is not None:
        raise NotImplementedError("power_scaling supports fits without group effects")
    model = build_model(data, spec)
    coefficient_priors = [v.name for v in model.free_RVs if v.name == "beta_std" or v.name.startswith("beta_std_")]
    if not coefficient_priors:
        raise NotImplementedError("power_scaling supports independent priors per factor, not shrinkage structures")
    scored = az.InferenceData(posterior=idata.posterior[[v.name for v in model.free_RVs] + ["beta"]])
    factors = [str(f) for f in scored.posterior["beta"].coords["factor"].values]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        pm.compute_log_prior(scored, model=model, var_names=coefficient_priors, progressbar=False)
        pm.compute_log_likelihood(scored, model=model, progressbar=False)
        likelihood = _as_values(az.psens(scored, component="likelihood", var_names=["beta"]))
        # Each factor's own prior is scaled in turn: scaling the joint prior would blame every factor
        # for one factor's conflict, as their posteriors are correlated. The log prior group is cut to
        # one factor by hand because ArviZ 0.23's psens ignores its component_coords argument.
        prior = []
        for j, factor in enumerate(factors):
            own = _factor_log_prior(scored.log_prior, factor).to_dataset(name="log_prior")
            single = az.InferenceData(posterior=scored.posterior, log_prior=own)
            prior.append(float(_as_values(az.psens(single, component="prior", var_names=["beta"]))[j]))
    table = pd.DataFrame({"factor": factors, "prior_sensitivity": prior, "likelihood_sensitivity": likelihood})
    prior_flag = table["prior_sensitivity"] >= threshold
    likelihood_flag = table["likelihood_sensitivity"] >= threshold
    table["diagnosis"] = np.select(
        [prior_flag & likelihood_flag, prior_flag], ["prior-data conflict", "strong prior / weak likelihood"], "-"
    )
    table.attrs.update({"threshold": threshold})
    return table


def _factor_log_prior(log_prior: xr.Dataset, factor: str) -> xr.DataArray:
    """One factor's log prior density per draw: a slice of the vector prior, or its own variable."""
    if "beta_std" in log_prior:
        return log_prior["beta_std"].sel(factor=factor, drop=True)
    return log_prior[f"beta_std_{factor}"]


def _as_values(result: object) -> np.ndarray:
    """ArviZ returns a Dataset, or a DataArray when one variable is asked for."""
    return np.asarray(result["beta"] if isinstance(result, xr.Dataset) else result)
