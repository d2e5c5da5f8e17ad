"""What users take away from a fit: odds-ratio tables beside the paper's."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd
import xarray as xr
from scipy import special, stats
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationError, PerfectSeparationWarning

from bayes_ubpr import metrics
from bayes_ubpr._rng import SeedLike, as_generator
from bayes_ubpr._text import format_interval, text_table
from bayes_ubpr._validate import check_choice, check_names, check_probability
from bayes_ubpr.factors import Factor
from bayes_ubpr.missing import IMPUTATIONS
from bayes_ubpr.model import ModelSpec, diagnostics_summary
from bayes_ubpr.model.fitted import NEW_GROUPS, Fitted
from bayes_ubpr.model.mapping import anchored_intercept, offset_intercept
from bayes_ubpr.paper import OUTCOME, RISK_FACTORS, table5
from bayes_ubpr.priors import SCEPTICAL_SCALE, WIDE_SCALE, reference_sd

__all__ = [
    "REANALYSIS_PRIORS",
    "PPCSummary",
    "format_odds_ratio_table",
    "maximum_likelihood",
    "odds_ratio_table",
    "pointwise_log_likelihood",
    "ppc_summary",
    "predict_risk",
    "reanalyse_published",
    "risk_draws",
]


def _interval_bounds(draws: np.ndarray, prob: float, interval: str) -> tuple[np.ndarray, np.ndarray]:
    if interval == "hdi":
        bounds = az.hdi(draws[None, :, :], hdi_prob=prob)
        return bounds[:, 0], bounds[:, 1]
    tail = (1.0 - prob) / 2.0
    lower, upper = np.quantile(draws, [tail, 1.0 - tail], axis=0)
    return lower, upper


def maximum_likelihood(idata: az.InferenceData, *, prob: float = 0.95) -> pd.DataFrame:
    """Maximum-likelihood odds ratios and Wald intervals on the data of a fit.

    The frequentist analysis the paper ran (SPSS logistic regression), redone
    with statsmodels' ``Logit`` on the same patients and factors as ``idata``.
    For a fit of multiply imputed data, one fit per completed data set pooled
    by Rubin's rules: the mean estimate, and the within- plus
    ``(1 + 1/m)`` times the between-imputation variance (Rubin 1987; normal
    reference interval). For a fit with ``missing="model"``, the same rules
    over the designs completed by 20 evenly spaced posterior draws of the
    missing values (draws of the joint model are proper imputations), not
    on the one design of their posterior means (a single conditional-mean
    imputation, which distorts the estimates and ignores that the values
    are unknown).

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit` (its ``constant_data`` and
        ``observed_data`` hold the patients).
    prob : float, default 0.95
        Confidence level of the Wald interval.

    Returns
    -------
    pandas.DataFrame
        ``factor``, ``mle_log_or``, ``mle_se``, ``mle_or``, ``mle_lower``,
        ``mle_upper``. NaN for every factor where no finite estimate exists
        (separation) or the fit did not converge.

    References
    ----------
    Rubin DB (1987). Multiple Imputation for Nonresponse in Surveys. Wiley.
    doi:10.1002/9780470316696

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, maximum_likelihood
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> mle = maximum_likelihood(idata).set_index("factor")
    >>> list(mle.columns)
    ['mle_log_or', 'mle_se', 'mle_or', 'mle_lower', 'mle_upper']
    >>> bool(mle.loc["fascia_injury", "mle_lower"] > 1)  # true OR 3.8
    True
    """
    view = Fitted.of_draws(idata)
    y = view.y
    factors = [str(f) for f in idata.constant_data["factor"].values]
    z = stats.norm.ppf(0.5 + prob / 2)
    constant = idata.constant_data
    designs = None
    if "x_imputed" in constant:
        designs = constant["x_imputed"].to_numpy()
    elif len(view.missing_cells[0]):  # missing="model": designs completed by draws of the missing values
        designs = view.imputed_designs(IMPUTATIONS)
    if designs is not None:  # Rubin's rules over the completed data sets (Rubin 1987)
        fits = [_logit(x, y, len(factors)) for x in designs]
        estimates, variances = np.array([f[0] for f in fits]), np.array([f[1] ** 2 for f in fits])
        m = len(fits)
        b = estimates.mean(axis=0)
        se = np.sqrt(variances.mean(axis=0) + (1 + 1 / m) * estimates.var(axis=0, ddof=1))
    else:
        b, se = _logit(view.x, y, len(factors))
    return pd.DataFrame(
        {
            "factor": factors,
            "mle_log_or": b,
            "mle_se": se,
            "mle_or": np.exp(b),
            "mle_lower": np.exp(b - z * se),
            "mle_upper": np.exp(b + z * se),
        }
    )


def _logit(x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood log odds ratios and standard errors (statsmodels' ``Logit``); NaN without a finite MLE."""
    import statsmodels.api as sm

    nan = np.full(k, np.nan)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = sm.Logit(y, sm.add_constant(x, has_constant="add")).fit(disp=0)
        # statsmodels 0.15 warns about separation instead of raising: no finite MLE exists then.
        trouble = any(issubclass(w.category, (PerfectSeparationWarning, ConvergenceWarning)) for w in caught)
        if not trouble and result.mle_retvals.get("converged", True):
            return np.asarray(result.params)[1:], np.asarray(result.bse)[1:]
    except (np.linalg.LinAlgError, PerfectSeparationError, ValueError):
        pass
    return nan, nan


def _unit(factor: Factor, sd: float | None = None) -> str:
    return factor.unit if sd is None else f"1 SD ({sd:.3g} x {factor.unit})"


def _published_rows(spec: ModelSpec) -> list[str]:
    """Factors whose Table 5 row describes the same quantity as the fit's: the paper's factor, outcome and coding."""
    if spec.outcome != OUTCOME:
        return []
    published = set(table5()["factor"])
    return [f.name for f in spec.factors if f.name in published and f.paper_row == RISK_FACTORS[f.name].paper_row]


def odds_ratio_table(
    idata: az.InferenceData,
    *,
    prob: float = 0.95,
    interval: str = "eti",
    scale: str = "unit",
    include_mle: bool = False,
) -> pd.DataFrame:
    """Posterior odds ratios per factor, beside the paper's Table 5.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit`.
    prob : float, default 0.95
        Probability mass of the credible interval.
    interval : {"eti", "hdi"}, default "eti"
        Equal-tailed or highest-density interval (of the log odds ratio).
    scale : {"unit", "sd"}, default "unit"
        Odds ratio per unit of each factor, or per sample SD of the factor in
        the fitted data (comparable across factors; the paper's values are
        converted with the same SD).
    include_mle : bool, default False
        Add statsmodels' maximum-likelihood OR and Wald interval on the same
        data (columns ``mle_or``, ``mle_lower``, ``mle_upper``).

    Returns
    -------
    pandas.DataFrame
        One row per factor: ``factor``, ``label``, ``unit``, ``or_median``,
        ``or_lower``, ``or_upper``, ``prob_positive`` (posterior P(log OR >
        0)), ``log_or_mean``, ``log_or_sd``, ``r_hat``, ``ess_bulk``, the
        paper's ``paper_or``, ``paper_lower``, ``paper_upper`` (NaN for
        factors not in Table 5), ``width_ratio`` (our interval's width over
        the paper's, on the log scale) and ``overlaps_paper``; settings in
        ``.attrs``. Numbers are raw: round only for display.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, odds_ratio_table
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> table = odds_ratio_table(idata, include_mle=True)
    >>> list(table.columns[:6])
    ['factor', 'label', 'unit', 'or_median', 'or_lower', 'or_upper']
    """
    prob = check_probability(prob, name="prob")
    check_choice(interval, ("eti", "hdi"), name="interval")
    check_choice(scale, ("unit", "sd"), name="scale")
    view = Fitted.of_draws(idata)
    draws, spec = view.log_odds_ratio_draws, view.spec
    factors = list(spec.factor_names)
    per = np.ones(len(factors))
    if scale == "sd":
        per = view.x_scale
    draws = draws * per
    lower, upper = _interval_bounds(draws, prob, interval)
    with np.errstate(divide="ignore", invalid="ignore"):  # a constant draw has no R-hat: NaN, not a warning
        diagnostics = diagnostics_summary(idata, ["beta"])
    table = pd.DataFrame(
        {
            "factor": factors,
            "label": [f.label for f in spec.factors],
            "unit": [_unit(f, sd) if scale == "sd" else _unit(f) for f, sd in zip(spec.factors, per, strict=True)],
            "or_median": np.exp(np.median(draws, axis=0)),
            "or_lower": np.exp(lower),
            "or_upper": np.exp(upper),
            "prob_positive": (draws > 0).mean(axis=0),
            "log_or_mean": draws.mean(axis=0),
            "log_or_sd": draws.std(axis=0, ddof=1),
            "r_hat": diagnostics["r_hat"].to_numpy(),
            "ess_bulk": diagnostics["ess_bulk"].to_numpy(),
        }
    )
    paper = table5().set_index("factor").loc[_published_rows(spec)]
    sd = pd.Series(per, index=factors)
    paper_sd = sd.reindex(paper.index)
    published = paper[["odds_ratio", "ci_lower", "ci_upper"]]
    if scale == "sd":  # an OR per unit, raised to the power SD, is the OR per SD
        published = published.pow(paper_sd, axis=0)
    published = published.set_axis(["paper_or", "paper_lower", "paper_upper"], axis=1)
    table = table.join(published, on="factor")
    ours_width = np.log(table["or_upper"]) - np.log(table["or_lower"])
    paper_width = np.log(table["paper_upper"]) - np.log(table["paper_lower"])
    table["width_ratio"] = ours_width / paper_width
    overlaps = (table["or_lower"] <= table["paper_upper"]) & (table["paper_lower"] <= table["or_upper"])
    table["overlaps_paper"] = overlaps.where(table["paper_or"].notna())
    if include_mle:
        mle = maximum_likelihood(idata, prob=prob).set_index("factor")
        columns = ["mle_or", "mle_lower", "mle_upper"]
        if scale == "sd":
            mle[columns] = mle[columns].pow(sd, axis=0)
        table = table.join(mle[["mle_or", "mle_lower", "mle_upper"]], on="factor")
    table.attrs.update({"prob": prob, "interval": interval, "scale": scale})
    return table


def format_odds_ratio_table(table: pd.DataFrame) -> str:
    """Render an :func:`odds_ratio_table` as aligned text for a terminal or log.

    Odds ratios are shown to three significant digits, which is what the
    Monte Carlo error of a few thousand draws supports; the table itself keeps
    full precision. The paper's column appears only if Table 5 applies to at
    least one row ("-" in the others).

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_ubpr.posterior import format_odds_ratio_table
    >>> row = {"factor": "depression", "label": "Depression", "unit": "present vs absent",
    ...        "or_median": 3.1234, "or_lower": 1.2, "or_upper": 9.87, "prob_positive": 0.991,
    ...        "paper_or": 3.426, "paper_lower": 1.145, "paper_upper": 10.255}
    >>> print(format_odds_ratio_table(pd.DataFrame([row])))
    Factor      Per                Posterior OR (95% CrI)  P(OR > 1)  Paper OR (95% CI)
    Depression  present vs absent  3.12 (1.2 to 9.87)      0.991      3.43 (1.15 to 10.3)
    """
    prob = table.attrs.get("prob", 0.95)
    show_paper = "paper_or" in table and bool(table["paper_or"].notna().any())
    header = ["Factor", "Per", f"Posterior OR ({prob:.0%} CrI)", "P(OR > 1)"]
    header += ["Paper OR (95% CI)"] if show_paper else []
    rows = [
        [
            row.label,
            row.unit,
            format_interval(row.or_median, row.or_lower, row.or_upper),
            f"{row.prob_positive:.3f}",
            *([format_interval(row.paper_or, row.paper_lower, row.paper_upper)] if show_paper else []),
        ]
        for row in table.itertuples(index=False)
    ]
    return text_table(header, rows)


@dataclass(frozen=True)
class _NormalPrior:
    mean: float
    sd: float


def _published_prior(name: str, factor: str, b: float) -> _NormalPrior:
    """Spiegelhalter-style reference priors for one published log odds ratio, per unit.

    Scales are those of :mod:`bayes_ubpr.priors`: per unit for binary factors,
    per reference SD (Table 4's satisfactory group) for the others.
    """
    per_unit = 1.0 / reference_sd(factor) if RISK_FACTORS[factor].kind != "binary" else 1.0
    if name == "sceptical":
        return _NormalPrior(0.0, SCEPTICAL_SCALE * per_unit)
    if name == "weakly_informative":
        return _NormalPrior(0.0, WIDE_SCALE * per_unit)
    # enthusiastic: centred on OR 2 in the paper's direction, 5% probability of no effect or worse
    direction = 1.0 if b >= 0 else -1.0
    return _NormalPrior(direction * np.log(2.0) * per_unit, np.log(2.0) / stats.norm.ppf(0.95) * per_unit)


REANALYSIS_PRIORS = ("sceptical", "weakly_informative", "enthusiastic")


def reanalyse_published(
    priors: str | Mapping[str, tuple[float, float]] = "sceptical",
    *,
    prob: float = 0.95,
    thresholds: Sequence[float] = (1.0, 1.5, 2.0),
) -> pd.DataFrame:
    """Bayesian reading of the paper's own Table 5, in closed form.

    Each published log odds ratio is taken as a normal likelihood N(B, SE^2)
    (the standard approximation when only summary results are published) and
    combined with a normal prior; the posterior is normal with precision
    1/SE^2 + 1/s^2 and mean the precision-weighted average of B and the prior
    mean m.

    Parameters
    ----------
    priors : {"sceptical", "weakly_informative", "enthusiastic"} or mapping
        ``"sceptical"``: N(0, (ln 3 / 1.96)^2), 95% on OR 1/3 to 3;
        ``"weakly_informative"``: N(0, 2.5^2); ``"enthusiastic"``: centred on
        OR 2 (or 1/2 for a protective factor) with 5% probability of no
        effect or the opposite (Spiegelhalter et al. 1994); each per unit of
        a binary factor and per reference SD of a continuous or count one, as
        in :mod:`bayes_ubpr.priors`. Or a mapping
        ``{factor: (prior_mean, prior_sd)}`` on the per-unit log odds ratio scale.
    prob : float, default 0.95
        Credible interval mass.
    thresholds : sequence of float, default (1.0, 1.5, 2.0)
        Odds ratios t for which P(OR > t) and P(OR < 1/t) are reported.

    Returns
    -------
    pandas.DataFrame
        One row per Table 5 factor: ``factor``, ``prior_mean``, ``prior_sd``,
        ``posterior_mean``, ``posterior_sd`` (log odds ratio), ``or_median``,
        ``or_lower``, ``or_upper``, ``prob_or_gt_<t>`` and ``prob_or_lt_<1/t>``
        per threshold, and the paper's ``paper_or``, ``paper_lower``,
        ``paper_upper``.

    References
    ----------
    Spiegelhalter DJ, Freedman LS, Parmar MKB (1994). Bayesian approaches to
    randomized trials. J R Stat Soc A 157(3):357-416. doi:10.2307/2983527

    Examples
    --------
    >>> from bayes_ubpr import reanalyse_published
    >>> table = reanalyse_published("sceptical").set_index("factor")
    >>> bool(table.loc["fascia_injury", "or_median"] < table.loc["fascia_injury", "paper_or"])
    True
    """
    prob = check_probability(prob, name="prob")
    published = table5()
    if isinstance(priors, str):
        check_choice(priors, REANALYSIS_PRIORS, name="priors")
        chosen = {row.factor: _published_prior(priors, row.factor, row.B) for row in published.itertuples()}
    else:
        check_names(priors, published["factor"].tolist(), what="factor of Table 5")
        chosen = {}
        for row in published.itertuples():
            mean, sd = priors.get(row.factor, (0.0, WIDE_SCALE))
            if not sd > 0:
                raise ValueError(f'prior sd for "{row.factor}" must be positive; got {sd!r}')
            chosen[row.factor] = _NormalPrior(float(mean), float(sd))
    prior_mean = np.array([chosen[f].mean for f in published["factor"]])
    prior_sd = np.array([chosen[f].sd for f in published["factor"]])
    b, se = published["B"].to_numpy(), published["SE"].to_numpy()
    precision = 1 / se**2 + 1 / prior_sd**2
    mean = (b / se**2 + prior_mean / prior_sd**2) / precision
    sd = 1 / np.sqrt(precision)
    z = stats.norm.ppf(0.5 + prob / 2)
    table = pd.DataFrame(
        {
            "factor": published["factor"],
            "prior_mean": prior_mean,
            "prior_sd": prior_sd,
            "posterior_mean": mean,
            "posterior_sd": sd,
            "or_median": np.exp(mean),
            "or_lower": np.exp(mean - z * sd),
            "or_upper": np.exp(mean + z * sd),
        }
    )
    for t in thresholds:
        if not t > 0:
            raise ValueError(f"thresholds must be positive odds ratios; got {t!r}")
        table[f"prob_or_gt_{t:g}"] = stats.norm.sf(np.log(t), mean, sd)
        table[f"prob_or_lt_{1 / t:.3g}"] = stats.norm.cdf(-np.log(t), mean, sd)
    table["paper_or"] = published["odds_ratio"].to_numpy()
    table["paper_lower"] = published["ci_lower"].to_numpy()
    table["paper_upper"] = published["ci_upper"].to_numpy()
    table.attrs.update({"priors": priors if isinstance(priors, str) else "custom", "prob": prob})
    return table


def risk_draws(
    idata: az.InferenceData,
    patients: pd.DataFrame,
    *,
    prevalence: float | None = None,
    new_groups: str = "sample",
    seed: SeedLike = None,
) -> xr.DataArray:
    """Posterior draws of each patient's absolute risk of the outcome, from the patients' raw values.

    The risk is P(outcome = 1) for the fit's outcome, whatever it is (UBPR,
    in the paper's model). Risks are on the population scale: for a case-control fit the intercept
    is the case-control-corrected ``intercept_population``. A fit with terms
    (a formula) builds its design columns from the raw columns with the
    levels and knots stored in the fit: a string category, the spline's
    variable itself, never a hand-made square. For a multilevel fit a
    patient of a group the model was fitted on (by the grouping columns)
    gets that group's offset; any other patient is at a new group, treated
    as ``new_groups`` says.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit`.
    patients : pandas.DataFrame
        One row per patient with the raw columns the fit's terms read (and,
        for a multilevel fit, optionally the grouping columns).
    prevalence : float, optional
        Case-control fits only: recompute the correction for this population
        prevalence instead of the one used in the fit (by the fit's
        ``population_mapping``: offset or anchored).
    new_groups : {"sample", "average", "typical"}, default "sample"
        Multilevel fits: how a new group (a label the fit has not seen, or no
        grouping column) enters. ``"sample"``: its offset is drawn from the
        fitted between-group distribution once per posterior draw, so the
        interval includes the spread between groups; ``"average"``: the risk
        is integrated over that distribution (20-point Gauss-Hermite), the
        population-averaged risk at a new group; ``"typical"``: offset 0, a
        group at the centre.
    seed : None, int or numpy.random.Generator
        For ``new_groups="sample"``.

    Returns
    -------
    xarray.DataArray
        Dims ``(chain, draw, patient)``, labelled by ``patients.index``;
        ``attrs["new_groups"]`` says how new groups were treated and
        ``attrs["unseen_groups"]`` lists them per grouping.

    Raises
    ------
    CohortValidationError
        Naming the column and rows, for a missing column, a value of the
        wrong kind or a level the model was not fitted on.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_ubpr import simulate_cohort, fit, risk_draws
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> patients = pd.DataFrame(
    ...     {"bmd_tscore_abs": [3.0, 3.6], "fascia_injury": [0, 1], "cement_distribution_poor": [0, 0],
    ...      "n_fractures": [1, 3], "cement_volume_ml": [5.5, 4.0], "depression": [0, 0]},
    ...     index=["typical", "high risk"])
    >>> risk = risk_draws(idata, patients)
    >>> risk.dims, risk.shape
    (('chain', 'draw', 'patient'), (2, 1000, 2))
    >>> bool((risk.sel(patient="high risk") > risk.sel(patient="typical")).mean() > 0.9)
    True
    """
    view = Fitted.of(idata)
    spec = view.spec
    check_choice(new_groups, NEW_GROUPS, name="new_groups")
    x = view.design(patients)
    post = idata.posterior
    intercept = post["intercept_population"]
    if prevalence is not None:
        prevalence = check_probability(prevalence, name="prevalence")
        if spec.design != "case_control":
            raise ValueError("prevalence can be changed only for a design='case_control' fit")
        y = idata.observed_data[spec.outcome].to_numpy()
        if spec.population_mapping == "anchored":
            beta = post["beta"].transpose("chain", "draw", "factor")
            flat = beta.to_numpy().reshape(-1, beta.shape[-1])
            c = anchored_intercept(idata.constant_data["x"].to_numpy(), y, flat, prevalence)
            intercept = post["intercept"].copy(data=c.reshape(beta.shape[:2]))
        else:
            intercept = post["intercept"].copy(data=offset_intercept(post["intercept"].to_numpy(), y, prevalence))
    chains, draws = post.sizes["chain"], post.sizes["draw"]
    eta = intercept.to_numpy().reshape(-1)[:, None] + view.log_odds_ratio_draws @ x.T
    groups = view.group_effects(patients, x)
    eta = eta + groups.known
    if new_groups == "sample":
        eta = eta + np.sqrt(groups.new_variance) * as_generator(seed).standard_normal(eta.shape)
        risk = special.expit(eta)
    elif new_groups == "average" and np.any(groups.new_variance):  # else no new group: nothing to integrate over
        nodes, weights = np.polynomial.hermite.hermgauss(GAUSS_HERMITE_NODES)
        spread = np.sqrt(2.0 * groups.new_variance)[..., None] * nodes
        risk = (special.expit(eta[..., None] + spread) * weights).sum(axis=-1) / np.sqrt(np.pi)
    else:
        risk = special.expit(eta)
    array = xr.DataArray(
        risk.reshape(chains, draws, -1),
        dims=("chain", "draw", "patient"),
        coords={"chain": post["chain"].values, "draw": post["draw"].values, "patient": patients.index},
        name="risk",
    )
    array.attrs.update({"new_groups": new_groups if spec.groups else "", "unseen_groups": groups.unseen})
    return array


GAUSS_HERMITE_NODES = 20
"""Nodes of the Gauss-Hermite rule that integrates a risk over a new group's offset (``new_groups="average"``):
exact for the logistic to about 1e-6 at group SDs up to 2 on the log-odds scale."""


def predict_risk(
    idata: az.InferenceData,
    patients: pd.DataFrame,
    *,
    prob: float = 0.95,
    prevalence: float | None = None,
    new_groups: str = "sample",
    seed: SeedLike = None,
) -> pd.DataFrame:
    """Absolute risk of the outcome per patient (UBPR, in the paper's model): posterior median and interval.

    Parameters
    ----------
    idata, patients, prevalence, new_groups, seed
        As for :func:`risk_draws`, which returns the draws themselves.
    prob : float, default 0.95
        Equal-tailed credible interval mass.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``patients``: ``risk_median``, ``risk_lower``,
        ``risk_upper``, ``risk_mean``.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_ubpr import simulate_cohort, case_control_sample, fit, predict_risk
    >>> cohort = simulate_cohort(n=3000, seed=7)
    >>> sample = case_control_sample(cohort, controls_per_case=3, seed=8)
    >>> idata = fit(sample, design="case_control", chains=2, seed=1, check=False)
    >>> patients = pd.DataFrame({  # a typical patient, and one with low BMD, injury, 3 fractures, 4 mL
    ...     "bmd_tscore_abs": [3.0, 3.6], "fascia_injury": [0, 1], "cement_distribution_poor": [0, 0],
    ...     "n_fractures": [1, 3], "cement_volume_ml": [5.5, 4.0], "depression": [0, 0]})
    >>> risk = predict_risk(idata, patients)
    >>> bool(risk.loc[1, "risk_median"] > risk.loc[0, "risk_median"])
    True
    """
    prob = check_probability(prob, name="prob")
    array = risk_draws(idata, patients, prevalence=prevalence, new_groups=new_groups, seed=seed)
    draws = array.stack(sample=("chain", "draw"))
    tail = (1 - prob) / 2
    quantiles = draws.quantile([tail, 0.5, 1 - tail], dim="sample").to_numpy()
    table = pd.DataFrame(
        {
            "risk_median": quantiles[1],
            "risk_lower": quantiles[0],
            "risk_upper": quantiles[2],
            "risk_mean": draws.mean("sample").to_numpy(),
        },
        index=patients.index,
    )
    table.attrs.update({"prob": prob, "prevalence": prevalence, "design": Fitted.of(idata).spec.design})
    table.attrs.update({"new_groups": array.attrs["new_groups"], "unseen_groups": array.attrs["unseen_groups"]})
    return table


@dataclass(frozen=True)
class PPCSummary:
    """Posterior-predictive checks of a fit; each part is a tidy DataFrame.

    Attributes
    ----------
    checks : pandas.DataFrame
        Test statistics (number of cases; case-group mean or proportion of
        each factor, as in Table 4): ``statistic``, ``observed``,
        ``replicated_median``, ``replicated_lower``, ``replicated_upper`` and
        ``ppp``, the posterior-predictive p-value P(T(y_rep) >= T(y)).
    performance : pandas.DataFrame
        Posterior distributions of AUC, Brier score, calibration-in-the-large,
        calibration slope and observed:expected ratio on the observed
        outcomes (``median``, ``lower``, ``upper``), with ``ppp`` comparing
        each with its value on replicated outcomes.
    calibration : pandas.DataFrame
        Binned calibration: per bin of posterior-mean risk, ``n``,
        ``mean_predicted`` and ``observed_rate``.
    draws : xarray.Dataset
        Per-draw metric values (of the draws used: at most
        :data:`PPC_DRAWS`), for plots.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, ppc_summary
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> summary = ppc_summary(idata, seed=2)
    >>> summary.checks.shape  # number of cases, then each factor's case mean
    (7, 6)
    >>> summary.performance["metric"].tolist()
    ['auc', 'brier', 'calibration_in_the_large', 'calibration_slope', 'observed_expected']
    >>> str(summary).splitlines()[0]  # printing shows the three tables
    'Posterior-predictive checks'
    """

    checks: pd.DataFrame
    performance: pd.DataFrame
    calibration: pd.DataFrame
    draws: xr.Dataset

    def __str__(self) -> str:
        return "\n\n".join(
            f"{title}\n{frame.to_string(index=False, float_format=lambda v: f'{v:.3g}')}"
            for title, frame in (
                ("Posterior-predictive checks", self.checks),
                ("Predictive performance (posterior)", self.performance),
                ("Binned calibration", self.calibration),
            )
        )


PPC_DRAWS = 4000
"""Most posterior draws :func:`ppc_summary` uses: a longer fit is thinned evenly to at most this many (the
default fit's 4 x 1,000 are all used). Its checks cost draws x patients, and the realised calibration slope
and calibration-in-the-large a logistic fit per draw: on 4 x 15,000 draws of 1,316 patients a report spent
92 s in them. 4,000 nearly independent draws give a ppp a Monte Carlo SE of at most 0.008."""

_METRICS = {
    "auc": "auc",
    "brier": "brier_score",
    "calibration_in_the_large": "calibration_in_the_large",
    "calibration_slope": "calibration_slope",
    "observed_expected": "observed_expected_ratio",
}


def pointwise_log_likelihood(idata: az.InferenceData) -> xr.Dataset:
    """Bernoulli log likelihood of each fitted patient under each posterior draw.

    ``log p(y_i | theta_s) = y_i eta_si - log(1 + exp(eta_si))`` with
    ``eta_si`` the patient's log odds under draw s on the sample's own scale
    (group offsets and varying slopes included): what PyMC's
    ``compute_log_likelihood`` gives for the fitted model, computed in numpy
    from the stored posterior and data, so that it also serves fits saved
    without it. :func:`bayes_ubpr.fit` stores it as the ``log_likelihood``
    group; :func:`bayes_ubpr.loo` reads it from there.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit` (its ``constant_data`` and
        ``observed_data`` hold the patients).

    Returns
    -------
    xarray.Dataset
        One variable named as the outcome, dims ``(chain, draw, obs)``,
        labelled as the fit's ``obs``.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit
    >>> from bayes_ubpr.posterior import pointwise_log_likelihood
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1, log_likelihood=False)
    >>> log_lik = pointwise_log_likelihood(idata)
    >>> log_lik["ubpr"].dims, log_lik["ubpr"].shape
    (('chain', 'draw', 'obs'), (2, 1000, 600))
    """
    return Fitted.of_draws(idata).log_likelihood()


def ppc_summary(idata: az.InferenceData, *, prob: float = 0.95, n_bins: int = 10, seed: SeedLike = None) -> PPCSummary:
    """Posterior-predictive checks and predictive performance of a fit on its own data.

    Replicated outcomes y_rep ~ Bernoulli(p_s) are drawn for every posterior
    draw s (of at most :data:`PPC_DRAWS`, evenly thinned); each test
    statistic's posterior-predictive p-value is the share of draws where
    T(y_rep) >= T(y) (values near 0 or 1 flag misfit). For a
    case-control fit the risks are on the sample's scale, the scale the data
    were drawn on.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit`.
    prob : float, default 0.95
        Mass of the reported intervals.
    n_bins : int, default 10
        Bins (by quantile of posterior-mean risk) of the calibration table.
    seed : None, int or numpy.random.Generator
        For the replicated outcomes.

    Returns
    -------
    PPCSummary

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, ppc_summary
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> summary = ppc_summary(idata, seed=2)
    >>> summary.checks["statistic"].iloc[0]
    'number of cases'
    """
    prob = check_probability(prob, name="prob")
    view = Fitted.of(idata)
    x, y = view.x, view.y
    factors = list(view.spec.factor_names)
    risk = view.risk_draws
    risk = risk[:: -(-len(risk) // PPC_DRAWS)]  # every draw up to PPC_DRAWS, else evenly thinned
    y_rep = (as_generator(seed).random(risk.shape) < risk).astype(np.int64)
    tail = (1 - prob) / 2

    def summarise(name: str, observed: float, replicated: np.ndarray) -> dict[str, object]:
        low, mid, high = np.nanquantile(replicated, [tail, 0.5, 1 - tail])
        return {
            "statistic": name,
            "observed": observed,
            "replicated_median": mid,
            "replicated_lower": low,
            "replicated_upper": high,
            "ppp": float(np.nanmean(replicated >= observed)),
        }

    rows = [summarise("number of cases", float(y.sum()), y_rep.sum(axis=1).astype(float))]
    with np.errstate(invalid="ignore", divide="ignore"):  # a replicate without cases has no case mean
        for j, factor in enumerate(factors):
            replicated = (y_rep * x[:, j]).sum(axis=1) / y_rep.sum(axis=1)
            rows.append(summarise(f"case mean: {factor}", float(x[y == 1, j].mean()), replicated))
    checks = pd.DataFrame(rows)

    performance_rows, draws = [], {}
    for name, function in _METRICS.items():
        metric = getattr(metrics, function)
        realised = np.asarray(metric(y, risk))
        replicated = np.array([metric(y_rep[s], risk[s]) for s in range(0, len(risk), max(1, len(risk) // 1000))])
        realised_thinned = realised[:: max(1, len(risk) // 1000)]
        low, mid, high = np.quantile(realised, [tail, 0.5, 1 - tail])
        performance_rows.append(
            {
                "metric": name,
                "median": mid,
                "lower": low,
                "upper": high,
                "ppp": float(np.mean(replicated >= realised_thinned)),
            }
        )
        draws[name] = ("sample", realised)
    performance = pd.DataFrame(performance_rows)

    mean_risk = risk.mean(axis=0)
    edges = np.unique(np.quantile(mean_risk, np.linspace(0, 1, n_bins + 1)))
    bins = np.clip(np.searchsorted(edges, mean_risk, side="right") - 1, 0, len(edges) - 2)
    calibration = (
        pd.DataFrame({"bin": bins, "predicted": mean_risk, "observed": y})
        .groupby("bin")
        .agg(n=("observed", "size"), mean_predicted=("predicted", "mean"), observed_rate=("observed", "mean"))
        .reset_index()
    )
    return PPCSummary(checks, performance, calibration, xr.Dataset(draws))
