"""Sensitivity analysis: priors, prevalence, control resampling and unmeasured confounding.

Each question a reviewer asks of the paper's conclusions gets one function
returning a tidy DataFrame (settings in ``.attrs``):

- :func:`prior_sensitivity` refits over a grid of priors; :func:`tipping_points`
  finds, per factor, how sceptical a prior must be before "the 95% interval
  excludes OR 1" flips; :func:`power_scaling` asks the same without refitting
  (Kallioinen et al. 2023).
- :func:`prevalence_sensitivity` recomputes absolute risks for other
  population prevalences (the paper cites 5-22% from the literature).
- :func:`control_resampling` refits one cohort over many random control sets
  and control ratios.
- :func:`e_value` and :func:`e_value_table` (VanderWeele & Ding 2017).

The E-value kernel is plain NumPy, tested on arrays; the other functions fit
models and reuse the compiled model of each structure: a prior's parameters
are data, so a grid of priors costs one compilation per prior family.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr

from bayes_ubpr._rng import SeedLike, as_generator
from bayes_ubpr._validate import check_choice, check_positive_int, check_probability, require_dataframe
from bayes_ubpr.data import FactorLike, as_factors, validate_cohort
from bayes_ubpr.factors import Factor
from bayes_ubpr.model import Fitted, ModelSpec, build_model, fit
from bayes_ubpr.paper import PREVALENCE, SIX_FACTORS
from bayes_ubpr.posterior import odds_ratio_table, predict_risk
from bayes_ubpr.priors import (
    DEFAULT_SCALE,
    PAPER_INFLATION,
    SCEPTICAL_SCALE,
    Prior,
    PriorsLike,
    default_prior,
    paper_priors,
)
from bayes_ubpr.simulate import case_control_sample

__all__ = [
    "LITERATURE_PREVALENCES",
    "PRIOR_FAMILIES",
    "control_resampling",
    "e_value",
    "e_value_table",
    "power_scaling",
    "prevalence_sensitivity",
    "prior_grid",
    "prior_sensitivity",
    "tipping_points",
]

PRIOR_FAMILIES = ("default", "student_t", "sceptical", "paper")
"""Families of :func:`prior_grid`: the default normal, its Student-t(3)
counterpart, sceptical normal centred on OR 1, and the paper-informed normal."""

LITERATURE_PREVALENCES = (PREVALENCE, 0.05, 0.10, 0.15, 0.22)
"""The paper's own prevalence (60/1316) and points across the 5-22% range of
UBPR after vertebroplasty that its introduction cites (its references 5-12)."""

POWER_SCALING_THRESHOLD = 0.05
"""Cumulative Jensen-Shannon distance above which a posterior counts as
sensitive to power-scaling (the threshold of Kallioinen et al. 2023)."""

_FIT_DEFAULTS = {"draws": 1000, "tune": 1000, "chains": 4}


# ----------------------------------------------------------------------------- priors


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


def _named_settings(priors: Mapping[str, PriorsLike] | Sequence[PriorsLike] | None, factors: Sequence[Factor]) -> dict:
    if priors is None:
        return prior_grid(factors)
    if isinstance(priors, Mapping):
        return dict(priors)
    if isinstance(priors, str):
        raise TypeError("priors must be a sequence or mapping of prior settings; wrap a single preset in a list")
    return {p if isinstance(p, str) else f"setting {i}": p for i, p in enumerate(priors)}


def _resolved_spec(
    data: pd.DataFrame,
    spec: ModelSpec | None,
    *,
    factors: Sequence[FactorLike] | None = None,
    priors: PriorsLike = None,
    design: str | None = None,
) -> ModelSpec:
    """Return the analysis' model resolved on ``data``: factor kinds and scales known, so priors can be set."""
    if spec is None and design is None:
        design = "case_control"  # sensitivity analyses re-read the paper's case-control sample
    spec = ModelSpec.from_arguments(spec, factors=factors, priors=priors, design=design)
    clean = validate_cohort(data, factors=spec.factors, outcome=spec.outcome)
    clean.attrs = dict(data.attrs)
    return spec.resolve(clean)


def _fit_options(options: Mapping[str, object]) -> dict[str, Any]:
    unknown = set(options) - {"draws", "tune", "chains", "sampler"}
    if unknown:
        raise TypeError(f"unexpected fit options {sorted(unknown)}; allowed: draws, tune, chains, sampler")
    return {**_FIT_DEFAULTS, **options}


def prior_sensitivity(
    data: pd.DataFrame,
    spec: ModelSpec | None = None,
    *,
    priors: Mapping[str, PriorsLike] | Sequence[PriorsLike] | None = None,
    factors: Sequence[FactorLike] | None = None,
    design: str | None = None,
    prob: float = 0.95,
    seed: SeedLike = None,
    **fit_options: object,
) -> pd.DataFrame:
    """Refit over prior settings and tabulate how each factor's OR interval moves.

    Parameters
    ----------
    data : pandas.DataFrame
        The sample to fit (e.g. the paper's 60:60 case-control sample).
    spec : ModelSpec, optional
        The model whose priors are varied (its own priors are replaced by
        each setting). Default: ``factors`` and ``design`` below.
    priors : mapping or sequence, optional
        Settings to compare: ``{name: priors}`` or a list of anything
        :func:`bayes_ubpr.fit` accepts as ``priors`` (presets are named by
        themselves). Default: :func:`prior_grid`, 12 settings.
    factors, design
        As for :func:`bayes_ubpr.fit` when no ``spec`` is given; the
        design defaults to ``"case_control"``.
    prob : float, default 0.95
        Credible interval mass.
    seed : None, int or numpy.random.Generator
        Every setting is fitted with the same seed, so differences between
        rows come from the priors, not from Monte Carlo noise in the seed.
        That fit seed is drawn from ``seed``, not ``seed`` itself, so the
        ``"default x 1"`` row and ``fit(data, seed=seed)`` differ by Monte
        Carlo error alone (the same model, other draws).
    **fit_options
        ``draws``, ``tune``, ``chains``, ``sampler`` for :func:`bayes_ubpr.fit`.

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
    >>> from bayes_ubpr import simulate_cohort, case_control_sample
    >>> from bayes_ubpr.sensitivity import prior_sensitivity
    >>> sample = case_control_sample(simulate_cohort(n=600, prevalence=0.3, seed=5), seed=2)
    >>> table = prior_sensitivity(sample, priors=["default", "sceptical"], chains=2, seed=1)
    >>> table.groupby("setting").size().to_dict()
    {'default': 6, 'sceptical': 6}
    >>> ors = table.pivot(index="factor", columns="setting", values="or_median")
    >>> bool(ors.loc["fascia_injury", "sceptical"] < ors.loc["fascia_injury", "default"])  # pulled towards 1
    True
    """
    require_dataframe(data)
    prob = check_probability(prob, name="prob")
    options = _fit_options(fit_options)
    base = _resolved_spec(data, spec, factors=factors, design=design)
    settings = _named_settings(priors, base.factors)
    if not settings:
        raise ValueError("priors must name at least one prior setting")
    int_seed = int(as_generator(seed).integers(2**31 - 1))
    rows = []
    for name, setting in settings.items():
        idata = fit(data, base.replace(priors=setting), seed=int_seed, check=False, **options)
        table = odds_ratio_table(idata, prob=prob)
        table.insert(0, "setting", name)
        rows.append(table)
    columns = ["setting", "factor", "or_median", "or_lower", "or_upper", "prob_positive", "r_hat"]
    columns += ["paper_or", "paper_lower", "paper_upper"]
    result = pd.concat(rows, ignore_index=True)[columns]
    result.insert(6, "excludes_one", (result["or_lower"] > 1) | (result["or_upper"] < 1))
    result.insert(7, "flips", result.groupby("factor")["excludes_one"].transform("nunique") > 1)
    result.attrs.update({"prob": prob, "design": base.design, "seed": int_seed, **options})
    return result


def tipping_points(
    data: pd.DataFrame,
    spec: ModelSpec | None = None,
    *,
    scales: Sequence[float] = tuple(np.geomspace(0.05, 2.5, 9)),
    factors: Sequence[FactorLike] | None = None,
    design: str | None = None,
    prob: float = 0.95,
    seed: SeedLike = None,
    **fit_options: object,
) -> pd.DataFrame:
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
    spec : ModelSpec, optional
        The model whose priors are varied; default from ``factors`` and ``design``.
    scales : sequence of float
        Prior SDs on the log OR to fit, in increasing order.
    factors, design, prob, seed, **fit_options
        As for :func:`prior_sensitivity`.

    Returns
    -------
    pandas.DataFrame
        One row per factor: ``tipping_sigma`` (NaN when the conclusion does
        not flip on the grid), ``tipping_or_bound`` (exp(1.96 x sigma): the
        sceptic at the tipping point is 95% sure the OR lies between its
        inverse and itself), ``excludes_one_at_widest`` and ``status``
        ("flips", "excludes 1 on the whole grid" or "includes 1 on the whole
        grid"). The whole grid is in ``.attrs["grid"]``.

    References
    ----------
    Spiegelhalter DJ, Freedman LS, Parmar MKB (1994). Bayesian approaches to
    randomized trials. J R Stat Soc A 157(3):357-416. doi:10.2307/2983527

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, case_control_sample
    >>> from bayes_ubpr.sensitivity import tipping_points
    >>> sample = case_control_sample(simulate_cohort(n=600, prevalence=0.3, seed=5), seed=2)
    >>> result = tipping_points(sample, scales=[0.1, 0.3, 1.0], chains=2, seed=1)
    >>> list(result.columns)
    ['factor', 'tipping_sigma', 'tipping_or_bound', 'excludes_one_at_widest', 'status']
    >>> result.attrs["grid"].shape  # 3 prior SDs x 6 factors
    (18, 13)
    """
    scales = sorted(float(s) for s in scales)
    if len(scales) < 2 or scales[0] <= 0:
        raise ValueError(f"scales must hold at least two positive prior SDs; got {scales}")
    base = _resolved_spec(data, spec, factors=factors, design=design)
    settings = {
        f"sceptical sigma {s:.4g}": {f.name: replace(default_prior(f), sigma=s) for f in base.factors} for s in scales
    }
    grid = prior_sensitivity(data, base, priors=settings, prob=prob, seed=seed, **_fit_options(fit_options))
    grid.insert(1, "sigma", np.repeat(scales, len(base.factors)))
    rows = [_tipping_row(factor, group) for factor, group in grid.groupby("factor", sort=False)]
    result = pd.DataFrame(rows)
    result.attrs.update({**grid.attrs, "grid": grid})
    return result


def margin_from_one(group: pd.DataFrame) -> np.ndarray:
    """Signed log-distance from OR 1 of the interval limit nearest it, along one factor's prior grid.

    Positive while the interval excludes 1. The side is the one the widest
    prior's median lies on, so the margin is comparable along the grid.
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


# ----------------------------------------------------------------------------- prevalence


def prevalence_sensitivity(
    idata: az.InferenceData,
    patients: pd.DataFrame,
    *,
    prevalences: Sequence[float] = LITERATURE_PREVALENCES,
    prob: float = 0.95,
) -> pd.DataFrame:
    """Absolute risks of ``patients`` under each assumed population prevalence.

    A case-control sample fixes the odds ratios but not the intercept; the
    intercept that maps risks to the population depends on the prevalence
    assumed (Prentice & Pyke 1979). This recomputes every risk for each
    prevalence from the same posterior.

    Parameters
    ----------
    idata : arviz.InferenceData
        A ``design="case_control"`` fit.
    patients : pandas.DataFrame
        One row per patient with the fit's factor columns.
    prevalences : sequence of float
        Population prevalences; default the paper's 4.6% and 5%, 10%, 15%,
        22% across the literature's range.
    prob : float, default 0.95
        Credible interval mass.

    Returns
    -------
    pandas.DataFrame
        One row per patient and prevalence: ``patient`` (the index label),
        ``prevalence``, ``risk_median``, ``risk_lower``, ``risk_upper`` and
        ``risk_ratio`` (median risk over the median risk at the first
        prevalence).

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_ubpr import simulate_cohort, case_control_sample, fit
    >>> from bayes_ubpr.sensitivity import prevalence_sensitivity
    >>> sample = case_control_sample(simulate_cohort(n=600, prevalence=0.3, seed=5), seed=2)
    >>> idata = fit(sample, design="case_control", chains=2, seed=1, check=False)
    >>> patient = pd.DataFrame({"bmd_tscore_abs": [3.0], "fascia_injury": [1], "cement_distribution_poor": [0],
    ...                         "n_fractures": [2], "cement_volume_ml": [5.0], "depression": [0]})
    >>> table = prevalence_sensitivity(idata, patient, prevalences=[0.05, 0.10, 0.22])
    >>> table.shape
    (3, 6)
    >>> bool(table["risk_median"].is_monotonic_increasing)
    True
    """
    if Fitted.of(idata).spec.design != "case_control":
        raise ValueError("prevalence_sensitivity needs a design='case_control' fit; a cohort fit estimates its own")
    if len(prevalences) == 0:
        raise ValueError("prevalences must hold at least one prevalence")
    frames = []
    for prevalence in prevalences:
        prevalence = check_probability(prevalence, name="prevalences")
        risk = predict_risk(idata, patients, prob=prob, prevalence=prevalence)
        frames.append(risk.rename_axis("patient").reset_index().assign(prevalence=prevalence))
    table = pd.concat(frames, ignore_index=True)
    baseline = table.groupby("patient", sort=False)["risk_median"].transform("first")
    table["risk_ratio"] = table["risk_median"] / baseline
    table = table[["patient", "prevalence", "risk_median", "risk_lower", "risk_upper", "risk_ratio"]]
    table.attrs.update({"prob": prob, "prevalences": [float(p) for p in prevalences]})
    return table


# ----------------------------------------------------------------------------- control resampling


def control_resampling(
    cohort: pd.DataFrame,
    spec: ModelSpec | None = None,
    *,
    n_draws: int = 20,
    controls_per_case: Sequence[int] = (1, 2, 4),
    factors: Sequence[FactorLike] | None = None,
    priors: PriorsLike = None,
    truth: Mapping[str, float] | None = None,
    prob: float = 0.95,
    seed: SeedLike = None,
    **fit_options: object,
) -> pd.DataFrame:
    """Refit one cohort over many random control sets and several control ratios.

    The paper drew one set of 60 controls out of 1,256. For each ratio k in
    ``controls_per_case`` and each of ``n_draws`` random control sets (all
    cases kept, as the paper did), this fits the case-control model and
    splits the uncertainty of each log OR by the law of total variance:
    the mean posterior variance (what one analysis reports) and the variance
    of the posterior median between control sets (which controls were
    drawn).

    Parameters
    ----------
    cohort : pandas.DataFrame
        A whole cohort (e.g. from :func:`bayes_ubpr.simulate_cohort`) with
        the outcome and the factor columns.
    spec : ModelSpec, optional
        The model (its design is set to ``"case_control"``); default from
        ``factors`` and ``priors``.
    n_draws : int, default 20
        Random control sets per ratio.
    controls_per_case : sequence of int, default (1, 2, 4)
        Control ratios.
    factors, priors, **fit_options
        As for :func:`bayes_ubpr.fit` (``draws``, ``tune``, ``chains``,
        ``sampler``).
    truth : mapping, optional
        True log odds ratios per factor (a simulated cohort's, e.g.
        ``true_model().log_odds_ratios``), adding ``bias`` and ``coverage``.
        The cases are this one cohort's, so both include the cohort's own
        sampling error: more controls concentrate the posterior on the
        cohort's values, not on the truth.
    prob : float, default 0.95
        Credible interval mass.
    seed : None, int or numpy.random.Generator
        Root seed; control set d of ratio k uses its own spawned child.

    Returns
    -------
    pandas.DataFrame
        One row per ratio and factor: ``controls_per_case``, ``factor``,
        ``n_draws``, ``median_log_or`` (mean over draws), ``posterior_sd``
        (root mean posterior variance), ``between_draw_sd`` (SD of the
        posterior medians), ``share_from_controls`` (between-draw variance
        over the total), ``mean_width`` (mean interval width on the log OR
        scale) and ``width_vs_1to1`` (relative to 1:1); with ``truth``,
        ``truth``, ``bias`` and ``coverage``. Per-draw rows are in
        ``.attrs["per_draw"]``.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort
    >>> from bayes_ubpr.sensitivity import control_resampling
    >>> cohort = simulate_cohort(n=600, prevalence=0.3, seed=5)
    >>> result = control_resampling(cohort, n_draws=2, controls_per_case=[1, 2], chains=2, seed=1)
    >>> result.shape, result.attrs["per_draw"].shape  # 2 ratios x 6 factors, each from 2 control sets
    ((12, 9), (24, 7))
    >>> bool((result.loc[result["controls_per_case"] == 2, "width_vs_1to1"] < 1).all())  # more controls, narrower
    True
    """
    require_dataframe(cohort, name="cohort")
    n_draws = check_positive_int(n_draws, name="n_draws", minimum=2)
    ratios = [check_positive_int(k, name="controls_per_case") for k in controls_per_case]
    if not ratios:
        raise ValueError("controls_per_case must hold at least one ratio")
    prob = check_probability(prob, name="prob")
    options = _fit_options(fit_options)
    model = ModelSpec.from_arguments(spec, factors=factors, priors=priors)
    model = model.replace(design="case_control") if model.design != "case_control" else model
    children = as_generator(seed).spawn(len(ratios) * n_draws)
    rows = []
    for i, k in enumerate(ratios):
        for d in range(n_draws):
            rng = children[i * n_draws + d]
            sample = case_control_sample(cohort, k, seed=rng, outcome=model.outcome)
            idata = fit(sample, model, seed=rng, check=False, **options)
            rows.extend(_draw_rows(idata, k, d, prob))
    per_draw = pd.DataFrame(rows)
    summary = _summarise_resampling(per_draw, truth)
    summary.attrs.update(
        {"prob": prob, "seed": seed if isinstance(seed, int) else None, **options, "per_draw": per_draw}
    )
    return summary


def _draw_rows(idata: az.InferenceData, ratio: int, draw: int, prob: float) -> list[dict[str, object]]:
    beta = idata.posterior["beta"].stack(sample=("chain", "draw")).transpose("factor", "sample")
    low, high = np.quantile(beta.to_numpy(), [(1 - prob) / 2, (1 + prob) / 2], axis=1)
    return [
        {
            "controls_per_case": ratio,
            "draw": draw,
            "factor": str(factor),
            "median_log_or": float(np.median(values)),
            "posterior_var": float(np.var(values, ddof=1)),
            "lower": float(low[j]),
            "upper": float(high[j]),
        }
        for j, (factor, values) in enumerate(zip(beta["factor"].values, beta.to_numpy(), strict=True))
    ]


def _summarise_resampling(per_draw: pd.DataFrame, truth: Mapping[str, float] | None) -> pd.DataFrame:
    rows = []
    for (ratio, factor), group in per_draw.groupby(["controls_per_case", "factor"], sort=False):
        within = group["posterior_var"].mean()
        between = group["median_log_or"].var(ddof=1)
        row = {
            "controls_per_case": ratio,
            "factor": factor,
            "n_draws": len(group),
            "median_log_or": group["median_log_or"].mean(),
            "posterior_sd": math.sqrt(within),
            "between_draw_sd": math.sqrt(between),
            "share_from_controls": between / (within + between),
            "mean_width": (group["upper"] - group["lower"]).mean(),
        }
        if truth is not None:
            true_value = float(truth[factor])
            row["truth"] = true_value
            row["bias"] = group["median_log_or"].mean() - true_value
            row["coverage"] = ((group["lower"] <= true_value) & (true_value <= group["upper"])).mean()
        rows.append(row)
    summary = pd.DataFrame(rows)
    first = summary.groupby("factor", sort=False)["mean_width"].transform("first")
    summary.insert(summary.columns.get_loc("mean_width") + 1, "width_vs_1to1", summary["mean_width"] / first)
    return summary


# ----------------------------------------------------------------------------- unmeasured confounding


def e_value(odds_ratio: float | np.ndarray, *, rare_outcome: bool = True) -> float | np.ndarray:
    """Compute the E-value of an odds ratio (VanderWeele & Ding 2017).

    The minimum strength of association, on the risk-ratio scale, that an
    unmeasured confounder would need with both the risk factor and the
    outcome to explain the observed association away. For a rare outcome
    (under about 15%; UBPR's 4.6% qualifies) the OR approximates the risk
    ratio RR; otherwise RR is approximated by sqrt(OR). Then E = RR +
    sqrt(RR (RR - 1)) for RR >= 1, with RR replaced by 1/RR below 1.

    Parameters
    ----------
    odds_ratio : float or array_like
        Positive odds ratios.
    rare_outcome : bool, default True
        Whether the outcome is rare in the population.

    Returns
    -------
    float or numpy.ndarray
        E-values (>= 1), shaped like ``odds_ratio``.

    References
    ----------
    VanderWeele TJ, Ding P (2017). Sensitivity analysis in observational
    research: introducing the E-value. Annals of Internal Medicine
    167(4):268-274. doi:10.7326/M16-2607

    Examples
    --------
    >>> from bayes_ubpr.sensitivity import e_value
    >>> round(e_value(3.805), 2)  # Table 5's OR for lumbodorsal fascia injury
    7.07
    >>> round(e_value(1 / 3.805), 2)  # protective associations are mirrored
    7.07
    >>> e_value(1.0)
    1.0
    """
    ratio = np.asarray(odds_ratio, dtype=float)
    if not np.all(np.isfinite(ratio) & (ratio > 0)):
        bad = np.atleast_1d(ratio)[~(np.isfinite(np.atleast_1d(ratio)) & (np.atleast_1d(ratio) > 0))]
        raise ValueError(f"odds_ratio must be positive and finite; got {bad[:5].tolist()}")
    rr = ratio if rare_outcome else np.sqrt(ratio)
    rr = np.maximum(rr, 1 / rr)
    values = rr + np.sqrt(rr * (rr - 1))
    return float(values) if values.ndim == 0 else values


def e_value_table(
    idata: az.InferenceData, *, prob: float = 0.95, rare_outcome: bool = True, scale: str = "unit"
) -> pd.DataFrame:
    """Tabulate E-values of each posterior odds ratio and of its credible limit nearest 1.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit`.
    prob : float, default 0.95
        Credible interval mass.
    rare_outcome : bool, default True
        Whether the outcome is rare in the population (the case-control
        odds ratio estimates the population one, where UBPR's 4.6% is rare).
    scale : {"unit", "sd"}, default "unit"
        E-values of the odds ratio per unit of each factor, or per SD of the
        factor in the fitted data. A continuous factor's E-value depends on
        its unit (per mL of cement it is large); per SD compares factors.

    Returns
    -------
    pandas.DataFrame
        One row per factor: ``factor``, ``or_median``, ``or_lower``,
        ``or_upper``, ``e_value`` (of the posterior median OR),
        ``e_value_limit`` (of the interval limit nearest 1; 1 when the
        interval includes 1), and the posterior distribution of the E-value
        over draws: ``e_value_posterior_lower``, ``e_value_posterior_upper``
        (central ``prob`` interval).

    References
    ----------
    VanderWeele TJ, Ding P (2017). doi:10.7326/M16-2607

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit
    >>> from bayes_ubpr.sensitivity import e_value_table
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> table = e_value_table(idata, rare_outcome=False).set_index("factor")  # 30% is not a rare outcome
    >>> list(table.columns[:5])
    ['or_median', 'or_lower', 'or_upper', 'e_value', 'e_value_limit']
    >>> bool(table.loc["fascia_injury", "e_value_limit"] > 1)  # its interval excludes OR 1
    True
    """
    prob = check_probability(prob, name="prob")
    check_choice(scale, ("unit", "sd"), name="scale")
    table = odds_ratio_table(idata, prob=prob, scale=scale)[["factor", "or_median", "or_lower", "or_upper"]].copy()
    table["e_value"] = e_value(table["or_median"].to_numpy(), rare_outcome=rare_outcome)
    includes_one = (table["or_lower"] <= 1) & (table["or_upper"] >= 1)
    nearest = np.where(table["or_median"] >= 1, table["or_lower"], table["or_upper"])
    table["e_value_limit"] = np.where(includes_one, 1.0, e_value(nearest, rare_outcome=rare_outcome))
    view = Fitted.of_draws(idata)
    log_or = view.log_odds_ratio_draws
    per = view.x_scale if scale == "sd" else 1.0
    per_draw = e_value(np.exp(log_or * per), rare_outcome=rare_outcome)
    low, high = np.quantile(per_draw, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    table["e_value_posterior_lower"], table["e_value_posterior_upper"] = low, high
    table.attrs.update({"prob": prob, "rare_outcome": rare_outcome, "scale": scale})
    return table
