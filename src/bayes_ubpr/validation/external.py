"""External validation: how a fit, or the published model, predicts in a new cohort.

Calibration (in the large, slope, the flexible curve and its integrated
calibration index), discrimination, the Brier score and decision curves, each
with its posterior distribution, in a validation cohort and, for comparison,
on the data the model was fitted on.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
from scipy import special

from bayes_ubpr import metrics
from bayes_ubpr._rng import SeedLike, as_generator
from bayes_ubpr._validate import (
    advising_on_missing,
    check_positive_int,
    check_probability,
    did_you_mean,
    require_dataframe,
)
from bayes_ubpr.data import validate_cohort
from bayes_ubpr.exceptions import StatisticalWarning
from bayes_ubpr.model import Fitted
from bayes_ubpr.model.mapping import intercept_for_weighted_mean
from bayes_ubpr.paper import OUTCOME, PREVALENCE, SIX_FACTORS, table5
from bayes_ubpr.posterior import risk_draws

__all__ = [
    "DEFAULT_THRESHOLDS",
    "RECOMMENDED_EVENTS",
    "ValidationResult",
    "intercept_for_mean_risk",
    "validate_model",
]

DEFAULT_THRESHOLDS = np.round(np.arange(0.01, 0.51, 0.01), 2)
"""Threshold risks of the decision curves: 1% to 50% in steps of 1%."""

RECOMMENDED_EVENTS = 100
"""Fewest events, and fewest non-events, of a validation cohort whose performance estimates are reliable.

Vergouwe et al. (2005) found that a validation study needs at least 100
events and 100 non-events to detect a clinically relevant loss of
performance; Collins, Ogundimu & Altman (2016) found calibration (slope,
observed:expected, the calibration curve) biased and imprecise below 100
events and recommend at least 100, preferably 200. Below this number
:func:`validate_model` warns; with no event or no non-event at all it
refuses, because then no metric of discrimination or calibration exists.

Vergouwe Y, Steyerberg EW, Eijkemans MJC, Habbema JDF (2005). Substantial
effective sample sizes were required for external validation studies of
predictive logistic regression models. Journal of Clinical Epidemiology
58(5):475-483. doi:10.1016/j.jclinepi.2004.06.017

Collins GS, Ogundimu EO, Altman DG (2016). Sample size considerations for
the external validation of a multivariable prognostic model: a resampling
study. Statistics in Medicine 35(2):214-226. doi:10.1002/sim.6787
"""

PAPER = "paper"

_METRICS = {  # name: (label, ideal value)
    "calibration_in_the_large": ("Calibration-in-the-large", 0.0),
    "calibration_slope": ("Calibration slope", 1.0),
    "auc": ("C statistic (AUC)", np.nan),
    "brier": ("Brier score", np.nan),
    "observed_expected": ("Observed:expected ratio", 1.0),
    "ici": ("Integrated calibration index (ICI)", 0.0),
    "e50": ("E50 (median calibration error)", 0.0),
    "e90": ("E90 (90th percentile calibration error)", 0.0),
    "emax": ("Emax (largest calibration error)", 0.0),
}
_KERNELS = {
    "calibration_in_the_large": metrics.calibration_in_the_large,
    "calibration_slope": metrics.calibration_slope,
    "auc": metrics.auc,
    "brier": metrics.brier_score,
    "observed_expected": metrics.observed_expected_ratio,
}
_CURVE_POINTS = 60


@dataclass(frozen=True)
class ValidationResult:
    """Performance of a model in a validation cohort; each part is a tidy DataFrame.

    Attributes
    ----------
    performance : pandas.DataFrame
        In the validation cohort, one row per metric (``metric``, ``label``,
        ``ideal``, ``estimate``, ``median``, ``lower``, ``upper``):
        calibration-in-the-large, calibration slope, C statistic, Brier score,
        observed:expected ratio, ICI, E50, E90 and Emax. ``estimate`` is the
        headline: the metric at each patient's posterior-mean risk, on the
        cohort as observed (Austin & Steyerberg's estimate for a fitted
        model). ``median``, ``lower`` and ``upper`` summarise the metric over
        posterior draws (each on its own bootstrap resample with
        ``bootstrap=True``): the interval to quote beside the estimate. The
        median is not an estimate of the metric: for a metric bounded below
        by 0 (ICI, E50, E90, Emax) every draw's error and every resample's
        noise push it up, so it sits above the estimate (1.2 to 2 times it
        for the ICI of a well-calibrated model).
    apparent : pandas.DataFrame or None
        The same metrics on the data the model was fitted on (apparent
        performance, optimistic by construction); None for ``"paper"``,
        whose data are not published.
    calibration : pandas.DataFrame
        The flexible calibration curve: per ``predicted`` risk on a grid, the
        smoothed observed risk's posterior ``observed_median``,
        ``observed_lower`` and ``observed_upper``.
    decision : pandas.DataFrame
        The Bayesian decision curve of
        :func:`~bayes_ubpr.metrics.bayesian_decision_curve`, one row per
        threshold risk.
    settings : dict
        ``model``, ``n``, ``n_events``, ``prevalence`` (the assumed one, for
        ``"paper"`` and case-control fits), ``prob``, ``n_draws``, ``seed``.
    risks : pandas.DataFrame or None
        One row per patient of the validation cohort: ``risk`` (the
        posterior-mean predicted risk, the one the headline estimates score)
        and ``outcome`` (0/1); what the report draws under the calibration
        curve.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, validate_model
    >>> cohort = simulate_cohort(n=1300, prevalence=0.1, seed=3)  # at least 100 events and 100 non-events
    >>> result = validate_model("paper", cohort, prevalence=0.1, n_draws=200, seed=1)
    >>> result.performance["metric"].tolist()[:3]
    ['calibration_in_the_large', 'calibration_slope', 'auc']
    >>> str(result).splitlines()[0]
    'External validation of the published model (Table 5) in 1300 patients (143 events)'
    """

    performance: pd.DataFrame
    apparent: pd.DataFrame | None
    calibration: pd.DataFrame
    decision: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)
    risks: pd.DataFrame | None = None

    def __str__(self) -> str:
        model = self.settings.get("model", "?")
        name = "the published model (Table 5)" if model == PAPER else "the fit"
        title = (
            f"External validation of {name} in {self.settings.get('n')} patients "
            f"({self.settings.get('n_events')} events)"
        )
        show = {"index": False, "float_format": lambda v: f"{v:.3g}"}
        parts = [title, self.performance.drop(columns="label").to_string(**show)]
        if self.apparent is not None:
            apparent = self.apparent.drop(columns="label").to_string(**show)
            parts += ["Apparent performance (on the fitted data)", apparent]
        every = self.decision[np.round(self.decision["threshold"] * 100, 6) % 5 == 0]
        columns = ["threshold", "nb_model", "nb_model_lower", "nb_model_upper", "nb_all", "prob_useful"]
        parts += ["Decision curve (every 5%)", (every if len(every) else self.decision)[columns].to_string(**show)]
        return "\n\n".join(parts)


def _summarise(values: dict[str, np.ndarray], estimates: dict[str, float], prob: float) -> pd.DataFrame:
    """One row per metric: its ``estimate`` at the posterior-mean risk; ``median``, ``lower``, ``upper`` over draws."""
    tail = (1.0 - prob) / 2.0
    rows = []
    for name, (label, ideal) in _METRICS.items():
        draws = np.asarray(values[name], dtype=float)
        finite = draws[np.isfinite(draws)]
        low, mid, high = np.quantile(finite, [tail, 0.5, 1 - tail]) if finite.size else (np.nan,) * 3
        row = {"metric": name, "label": label, "ideal": ideal, "estimate": estimates[name]}
        rows.append(row | {"median": mid, "lower": low, "upper": high})
    return pd.DataFrame(rows)


def headline_estimates(y: np.ndarray, risk: np.ndarray, frac: float) -> dict[str, float]:
    """Each metric on the cohort as observed, at the posterior-mean risk of each patient (the headline estimate).

    The risks a user of the model would be given (each patient's posterior
    mean over the draws of ``risk``, shape (draws, n)), scored on the patients
    as they are, with no resample: what Austin & Steyerberg (2019) compute
    for a fitted model. Every metric of ``_METRICS``.
    """
    mean = np.asarray(risk, dtype=float).mean(axis=0)[None, :]
    values = {name: np.asarray(kernel(y, mean)) for name, kernel in _KERNELS.items()}
    values.update(metrics.indices_of_curves(mean, metrics.smoothed_rows(y, mean, frac)))
    return {name: float(value[0]) for name, value in values.items()}


def _metric_draws(
    y: np.ndarray, risk: np.ndarray, frac: float, rng: np.random.Generator | None
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Each metric per draw of the risks; each draw's risks and smoothed calibration curve at them.

    With ``rng``, draw s is scored on a bootstrap resample of the patients
    (its own), so that the spread over draws carries the sampling error of a
    finite cohort as well as the model's posterior uncertainty.
    """
    if rng is None:
        values = {name: np.asarray(kernel(y, risk)) for name, kernel in _KERNELS.items()}
        rows, smoothed = risk, metrics.smoothed_rows(y, risk, frac)
    else:
        index = rng.integers(len(y), size=risk.shape)
        outcomes, rows = y[index], np.take_along_axis(risk, index, axis=1)
        values = {
            name: np.array([kernel(o, r) for o, r in zip(outcomes, rows, strict=True)], dtype=float)
            for name, kernel in _KERNELS.items()
        }
        smoothed = np.concatenate(
            [metrics.smoothed_rows(o, r[None, :], frac) for o, r in zip(outcomes, rows, strict=True)]
        )
    values.update(metrics.indices_of_curves(rows, smoothed))
    return values, rows, smoothed


def score_risks(
    y: np.ndarray,
    risk: np.ndarray,
    *,
    prob: float,
    thresholds: np.ndarray,
    frac: float,
    n_draws: int,
    rng: np.random.Generator,
    bootstrap: bool,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Score draws of predicted risks against outcomes: the metrics, the calibration curve and the decision curve.

    The three tables of :class:`ValidationResult` (``performance``,
    ``calibration``, ``decision``) for outcomes ``y`` (n,) and risk draws
    ``risk`` (draws, n), however the draws were made: by one fit
    (:func:`validate_model`) or, column by column, by the fits of a
    cross-validation (:func:`bayes_ubpr.validation.validate_updating`).
    The decision curve takes at least 4,000 draws (``n_draws`` if more).
    """
    values, rows, smoothed = _metric_draws(y, risk, frac, rng if bootstrap else None)
    low_end, high_end = np.quantile(risk.mean(axis=0), [0.01, 0.99])
    grid = np.linspace(low_end, high_end, _CURVE_POINTS)
    curves = metrics.curves_at(rows, smoothed, grid)
    tail = (1.0 - prob) / 2.0
    low, mid, high = np.quantile(curves, [tail, 0.5, 1 - tail], axis=0)
    calibration = pd.DataFrame(
        {"predicted": grid, "observed_median": mid, "observed_lower": low, "observed_upper": high}
    )
    decision = metrics.bayesian_decision_curve(y, risk, thresholds, prob=prob, n_draws=max(n_draws, 4000), seed=rng)
    return _summarise(values, headline_estimates(y, risk, frac), prob), calibration, decision


def warn_if_few_events(y: np.ndarray, *, stacklevel: int = 3) -> None:
    """Warn when the cohort has fewer events or non-events than :data:`RECOMMENDED_EVENTS`."""
    events = int(y.sum())
    non_events = len(y) - events
    if min(events, non_events) < RECOMMENDED_EVENTS:
        warnings.warn(
            f"the validation cohort has {events} event(s) and {non_events} non-event(s): its performance "
            f"estimates (calibration slope, observed:expected, C statistic, ...) are unreliable below "
            f"{RECOMMENDED_EVENTS} events and {RECOMMENDED_EVENTS} non-events (Vergouwe et al. 2005, "
            "doi:10.1016/j.jclinepi.2004.06.017; Collins et al. 2016, doi:10.1002/sim.6787, prefer 200 events); "
            "read their intervals, not their medians",
            StatisticalWarning,
            stacklevel=stacklevel,
        )


def intercept_for_mean_risk(linear: np.ndarray, prevalence: float) -> np.ndarray:
    """Solve, for each row of linear predictors, the intercept that makes the mean risk equal ``prevalence``.

    The equally weighted case of
    :func:`~bayes_ubpr.model.mapping.intercept_for_weighted_mean`
    (safeguarded Newton iteration, vectorised over rows).

    Parameters
    ----------
    linear : array_like, shape (n,) or (rows, n)
        Linear predictors without intercept.
    prevalence : float
        Target mean risk, strictly between 0 and 1.

    Returns
    -------
    numpy.ndarray
        One intercept per row.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import special
    >>> from bayes_ubpr.validation import intercept_for_mean_risk
    >>> eta = np.array([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    >>> a = intercept_for_mean_risk(eta, 0.2)
    >>> special.expit(a[:, None] + eta).mean(axis=1).round(12).tolist()
    [0.2, 0.2]
    """
    prevalence = check_probability(prevalence, name="prevalence")
    eta = np.atleast_2d(np.asarray(linear, dtype=float))
    return intercept_for_weighted_mean(eta, 1.0 / eta.shape[1], prevalence)


def _paper_risks(cohort: pd.DataFrame, prevalence: float, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """Risks under Table 5's model: B ~ N(B, SE^2) per factor, intercept solved for the stated prevalence."""
    published = table5().set_index("factor").loc[list(SIX_FACTORS)]
    b = rng.normal(published["B"].to_numpy(), published["SE"].to_numpy(), size=(n_draws, len(SIX_FACTORS)))
    linear = b @ cohort[list(SIX_FACTORS)].to_numpy(dtype=float).T
    return special.expit(intercept_for_mean_risk(linear, prevalence)[:, None] + linear)


VALIDATION_MISSING_ADVICE = (
    "a validation cohort is not imputed here (imputing it with the development data's imputation model would "
    "carry that hospital's relations into the test); impute it with its own data (bayes_ubpr.missing.impute) and "
    "validate each completed data set, or leave those patients out and say so"
)


def _model_risks(
    model: az.InferenceData | str,
    cohort: pd.DataFrame,
    *,
    prevalence: float | None,
    n_draws: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, pd.DataFrame, float | None]:
    """Draws of the validation cohort's risks (draws, n), the checked cohort, and the prevalence assumed."""
    if isinstance(model, str):
        if model != PAPER:
            raise ValueError(f"model must be a fit or 'paper'; got {model!r}.{did_you_mean(model, [PAPER])}")
        clean = validate_cohort(cohort, factors=SIX_FACTORS)
        assumed = PREVALENCE if prevalence is None else check_probability(prevalence, name="prevalence")
        return _paper_risks(clean, assumed, n_draws, rng), clean, assumed
    if not isinstance(model, az.InferenceData):
        raise TypeError(f"model must be an arviz.InferenceData fit or 'paper'; got {type(model).__name__}")
    spec = Fitted.of(model, name="model").spec
    with advising_on_missing(VALIDATION_MISSING_ADVICE):
        clean = validate_cohort(spec.model_frame(cohort), factors=spec.factors, outcome=spec.outcome)
    # a validation cohort's hospitals are new to the model: its risks are averaged over the between-group spread
    draws = risk_draws(model, cohort, prevalence=prevalence, new_groups="average").stack(sample=("chain", "draw"))
    risk = metrics.thin_draws(draws.transpose("sample", "patient").to_numpy(), n_draws)
    return risk, clean, (prevalence if spec.design == "case_control" else None)


def _apparent(
    idata: az.InferenceData, n_draws: int, prob: float, frac: float, rng: np.random.Generator | None
) -> pd.DataFrame:
    """Metrics on the fitted data, with risks on the scale of the sample they were fitted to."""
    view = Fitted.of(idata, name="model")
    y, risk = view.y.astype(float), metrics.thin_draws(view.risk_draws, n_draws)
    values, _, _ = _metric_draws(y, risk, frac, rng)
    return _summarise(values, headline_estimates(y, risk, frac), prob)


def validate_model(
    model: az.InferenceData | str,
    cohort: pd.DataFrame,
    *,
    prevalence: float | None = None,
    prob: float = 0.95,
    thresholds: Sequence[float] | np.ndarray = DEFAULT_THRESHOLDS,
    n_draws: int = 1000,
    frac: float = metrics.LOWESS_FRAC,
    bootstrap: bool = True,
    seed: SeedLike = None,
    sampling: bool | None = None,
) -> ValidationResult:
    """Validate a fit, or the paper's published model, in a new cohort.

    Every metric is reported as its estimate at the posterior-mean risks
    (the risks the model gives its users, scored on the cohort as observed)
    with, from the same metric computed for each posterior draw of the
    cohort's predicted risks (and, by default, a bootstrap resample of the
    cohort for each), its median and equal-tailed interval over the draws:
    calibration-in-the-large and calibration slope
    (logistic recalibration), the C statistic, the Brier score, the
    observed:expected ratio, and the integrated calibration index with E50,
    E90 and Emax (Austin & Steyerberg 2019: distance from the lowess-smoothed
    calibration curve). The curve itself is given with its band, and the
    decision curve with the Bayesian net benefit of Wynants et al. (2018) and
    Cruz & Korthauer (2023). The same metrics on the fitted data (apparent
    performance) show how much is lost in the new cohort.

    Parameters
    ----------
    model : arviz.InferenceData or "paper"
        A fit from :func:`bayes_ubpr.fit`, whose risks are on the population
        scale (case-control fits use their corrected intercept; multilevel
        fits predict for a typical site); or ``"paper"``: Table 5's log odds
        ratios, with the intercept, which the paper does not print, set so
        that the mean predicted risk in ``cohort`` equals ``prevalence``, the
        published model as a new hospital would apply it. Its draws take each
        log odds ratio from N(B, SE^2), independently (the paper gives no
        covariances), and solve the intercept for each draw.
    cohort : pandas.DataFrame
        The validation cohort: the model's factor columns and ``ubpr``, with
        both outcomes present.
    prevalence : float, optional
        For ``"paper"``: the prevalence the intercept is set to (default the
        paper's 60/1316). For a case-control fit: the population prevalence
        of the validation setting (default the fit's own correction). Not
        allowed for a cohort fit, whose intercept is estimated.
    prob : float, default 0.95
        Mass of the credible intervals.
    thresholds : sequence of float, default 0.01, 0.02, ..., 0.50
        Threshold risks of the decision curve, each strictly between 0 and 1.
    n_draws : int, default 1000
        Posterior draws used (evenly thinned from the fit's).
    frac : float, default 2/3
        Span of the lowess calibration curve.
    bootstrap : bool, default True
        Score each posterior draw on its own bootstrap resample of the
        cohort's patients, so that the intervals carry the sampling error of
        a finite cohort as well as the model's uncertainty: the interval
        then answers "is this model's performance in the population this
        cohort comes from compatible with the ideal?". ``False`` holds the
        cohort fixed (posterior uncertainty only), which is narrower.
    seed : None, int or numpy.random.Generator
        For the draws of the published model, the resamples and the
        decision curve.

    Returns
    -------
    ValidationResult

    Raises
    ------
    CohortValidationError
        If the cohort lacks a factor of the model or the outcome, has only
        one outcome class (no event or no non-event: no metric exists), or
        has a factor that is not of the model's kind (a binary factor with
        values other than 0/1, a fractional count).
    ValueError
        For a threshold outside (0, 1), a bad ``prob`` or ``prevalence``,
        ``prevalence`` with a cohort fit, or an unknown model name.
    TypeError
        If ``model`` is neither a fit nor a string.

    Warns
    -----
    StatisticalWarning
        If the cohort has fewer than :data:`RECOMMENDED_EVENTS` (100) events
        or non-events, the minimum of Vergouwe et al. (2005) and Collins et
        al. (2016) for a validation study: the metrics are still computed,
        but their estimates are unreliable and their intervals wide.

    Notes
    -----
    Which number is the estimate: ``estimate`` scores the posterior-mean
    risks once, on the cohort as it is. The median over draws (x resamples)
    scores risks that are each one draw away from the posterior mean, on
    data that are each one resample away from the cohort; for the
    calibration errors (ICI, E50, E90, Emax), which cannot fall below 0,
    both push the median up, and it overstates miscalibration: by 1.2 to 2
    times for the ICI of a well-calibrated model (``tests/test_validation.py``
    shows it by simulation). The interval keeps the spread of the draws,
    which is what it is for. For calibration-in-the-large, the slope, the C
    statistic and the observed:expected ratio the two are close when the
    posterior is narrow; with a wide one, averaging each patient's risk
    over the draws pulls the extreme risks toward the middle, and the slope
    of the posterior-mean risks is steeper than the median slope of the
    draws' risks.

    Pairing each posterior draw with a bootstrap resample of the cohort
    (``bootstrap=True``) mixes the model's posterior with the sampling
    distribution of each metric, the frequentist bootstrap standing in for
    a posterior over the validation population. The decision curve carries
    the cohort's finite size in its own, Bayesian way (Beta posteriors of
    prevalence, sensitivity and specificity), on the cohort as observed. For ``"paper"``
    the calibration-in-the-large is 0 only if ``prevalence`` is the cohort's
    own: it measures how far the stated prevalence is from the observed one.

    References
    ----------
    Vergouwe Y, Steyerberg EW, Eijkemans MJC, Habbema JDF (2005). Substantial
    effective sample sizes were required for external validation studies of
    predictive logistic regression models. Journal of Clinical Epidemiology
    58(5):475-483. doi:10.1016/j.jclinepi.2004.06.017

    Collins GS, Ogundimu EO, Altman DG (2016). Sample size considerations
    for the external validation of a multivariable prognostic model: a
    resampling study. Statistics in Medicine 35(2):214-226.
    doi:10.1002/sim.6787

    Austin PC, Steyerberg EW (2019). The Integrated Calibration Index (ICI)
    and related metrics for quantifying the calibration of logistic
    regression models. Statistics in Medicine 38(21):4051-4065.
    doi:10.1002/sim.8281

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, validate_model
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> new_hospital = simulate_cohort(n=600, prevalence=0.3, seed=6)
    >>> result = validate_model(idata, new_hospital, n_draws=200, seed=2)
    >>> table = result.performance.set_index("metric")
    >>> table.loc["calibration_slope", ["estimate", "lower", "upper"]].round(2).tolist()
    [0.84, 0.64, 1.06]
    >>> table.loc["ici", ["estimate", "median"]].round(3).tolist()  # the median over draws overstates the ICI
    [0.025, 0.033]
    >>> list(result.apparent.columns)  # the same metrics on the fitted data
    ['metric', 'label', 'ideal', 'estimate', 'median', 'lower', 'upper']
    """
    require_dataframe(cohort, name="cohort")
    if sampling is not None:  # its old name, which the sampling of a model (bayes_ubpr.Sampling) now means
        warnings.warn(
            "validate_model(sampling=...) is deprecated and will be removed in the next release: "
            "pass bootstrap=... instead",
            DeprecationWarning,
            stacklevel=2,
        )
        bootstrap = sampling
    prob = check_probability(prob, name="prob")
    n_draws = check_positive_int(n_draws, name="n_draws")
    cutoffs = metrics.check_thresholds(thresholds)
    rng = as_generator(seed)
    risk, clean, assumed = _model_risks(model, cohort, prevalence=prevalence, n_draws=n_draws, rng=rng)
    outcome = OUTCOME if isinstance(model, str) else Fitted.of(model, name="model").outcome
    y = clean[outcome].to_numpy(dtype=float)
    warn_if_few_events(y)
    performance, calibration, decision = score_risks(
        y, risk, prob=prob, thresholds=cutoffs, frac=frac, n_draws=n_draws, rng=rng, bootstrap=bootstrap
    )
    apparent = None if isinstance(model, str) else _apparent(model, n_draws, prob, frac, rng if bootstrap else None)
    settings = {
        "model": PAPER if isinstance(model, str) else "fit",
        "n": len(y),
        "n_events": int(y.sum()),
        "prevalence": assumed,
        "prob": prob,
        "n_draws": len(risk),
        "frac": frac,
        "bootstrap": bootstrap,
        "seed": seed if isinstance(seed, (int, np.integer)) else None,
    }
    risks = pd.DataFrame({"risk": risk.mean(axis=0), "outcome": y.astype(int)}, index=clean.index)
    return ValidationResult(performance, apparent, calibration, decision, settings, risks)
