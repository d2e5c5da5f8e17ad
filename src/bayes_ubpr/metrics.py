"""Predictive performance, calibration and decision-curve metrics on plain arrays.

Every function takes outcomes ``y`` (0/1, shape (n,)) and predicted risks
``p`` (shape (n,) or (draws, n)) and returns one value per row of ``p``, so a
whole posterior is scored in one call. No PyMC here: these kernels are tested
on arrays in milliseconds and reused by the posterior-predictive checks, the
calibration studies and external validation.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import special, stats

from bayes_ubpr._rng import SeedLike, as_generator
from bayes_ubpr._validate import check_positive_int, check_probability

__all__ = [
    "auc",
    "brier_score",
    "calibration_in_the_large",
    "calibration_slope",
    "observed_expected_ratio",
    "mean_absolute_risk_error",
    "integrated_calibration_index",
    "calibration_curve",
    "calibration_indices",
    "net_benefit",
    "net_benefit_treat_all",
    "bayesian_decision_curve",
    "bernoulli_log_density",
    "thin_draws",
]

_NEWTON_STEPS = 100
_HALVINGS = 40


def _as_2d(p: np.ndarray) -> np.ndarray:
    return np.atleast_2d(np.asarray(p, dtype=float))


def _squeeze(values: np.ndarray, p: np.ndarray) -> np.ndarray | float:
    return values if np.ndim(p) == 2 else float(values[0])


def auc(y: np.ndarray, p: np.ndarray) -> np.ndarray | float:
    """Area under the ROC curve (concordance), via the Mann-Whitney rank sum.

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    y = np.asarray(y, dtype=bool)
    n1, n0 = y.sum(), (~y).sum()
    ranks = stats.rankdata(_as_2d(p), axis=1)
    values = (ranks[:, y].sum(axis=1) - n1 * (n1 + 1) / 2) / (n1 * n0)
    return _squeeze(values, p)


def brier_score(y: np.ndarray, p: np.ndarray) -> np.ndarray | float:
    """Mean squared difference between outcome and predicted risk.

    Examples
    --------
    >>> from bayes_ubpr.metrics import brier_score
    >>> round(brier_score([0, 1, 1], [0.2, 0.6, 0.9]), 3)
    0.07
    >>> brier_score([0, 1], [[0.5, 0.5], [0.1, 0.8]]).round(3).tolist()  # one score per posterior draw
    [0.25, 0.025]
    """
    values = ((_as_2d(p) - np.asarray(y, dtype=float)) ** 2).mean(axis=1)
    return _squeeze(values, p)


def observed_expected_ratio(y: np.ndarray, p: np.ndarray) -> np.ndarray | float:
    """Observed number of events over the expected number (sum of risks); 1 is ideal.

    Examples
    --------
    >>> from bayes_ubpr.metrics import observed_expected_ratio
    >>> round(observed_expected_ratio([0, 1, 1, 0], [0.25, 0.25, 0.5, 0.5]), 3)  # 2 events, 1.5 expected
    1.333
    """
    values = np.asarray(y, dtype=float).sum() / _as_2d(p).sum(axis=1)
    return _squeeze(values, p)


def _logit(p: np.ndarray) -> np.ndarray:
    return special.logit(np.clip(p, 1e-12, 1 - 1e-12))


def calibration_in_the_large(y: np.ndarray, p: np.ndarray) -> np.ndarray | float:
    """Intercept a of logit P(y) = a + logit(p) (offset logistic regression); 0 is ideal.

    Solved by Newton's method, one problem per row of ``p``. NaN where the
    estimate does not exist (all outcomes equal) or Newton's method did not
    converge.

    Examples
    --------
    >>> calibration_in_the_large([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])
    0.0
    >>> calibration_in_the_large([0, 0, 0], [0.2, 0.3, 0.1])
    nan
    """
    offset = _logit(_as_2d(p))
    coef = logistic_mle(np.asarray(y, dtype=float), [np.ones_like(offset)], offset, start=[0.0])
    return _squeeze(coef[:, 0], p)


def calibration_slope(y: np.ndarray, p: np.ndarray) -> np.ndarray | float:
    """Slope b of logit P(y) = a + b logit(p); 1 is ideal, below 1 means overfitting.

    Two-parameter logistic regression by Newton's method, one per row of
    ``p``. NaN where the estimate does not exist (all outcomes equal, or
    outcomes separated by the predicted risk) or Newton's method did not
    converge.

    Examples
    --------
    >>> round(calibration_slope([0, 0, 1, 1], [0.1, 0.3, 0.2, 0.4]), 3)  # statsmodels Logit: 1.639
    1.639
    >>> calibration_slope([0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4])  # separated: no finite slope
    nan
    """
    lp = _logit(_as_2d(p))
    coef = logistic_mle(np.asarray(y, dtype=float), [np.ones_like(lp), lp], np.zeros_like(lp), start=[0.0, 1.0])
    return _squeeze(coef[:, 1], p)


def bernoulli_log_density(y: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """Log density of outcome ``y`` (0/1, or a probability) under log odds ``eta``, elementwise.

    ``y eta - log(1 + exp(eta))``, computed without overflow. With a
    fractional ``y`` it is the expected log density of a Bernoulli outcome
    whose probability is ``y`` (the cross-entropy, negated).

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr.metrics import bernoulli_log_density
    >>> bernoulli_log_density(np.array([1, 0]), np.array([0.0, 800.0])).tolist()  # log 0.5, log(1 - expit(800))
    [-0.6931471805599453, -800.0]
    """
    return y * eta - np.logaddexp(0.0, eta)


def _log_likelihood(y: np.ndarray, eta: np.ndarray) -> np.ndarray:
    return bernoulli_log_density(y, eta).sum(axis=1)


def logistic_mle(y: np.ndarray, columns: list[np.ndarray], offset: np.ndarray, *, start: list[float]) -> np.ndarray:
    """Maximum-likelihood logistic regressions, one per row of the (rows, n) ``columns`` and ``offset``.

    ``y`` is shared by all rows (shape (n,)) or has one row each (rows, n);
    fractional values in [0, 1] give the fit that minimises the
    Kullback-Leibler divergence from Bernoulli(y) (a KL projection).

    Newton's method with step halving, so the log likelihood never falls
    (plain Newton overshoots when predicted risks reach 0 or 1). A row gets
    NaN where its estimate does not exist or was not reached: the steps did
    not become negligible, or the Fisher information vanished as the fitted
    risks ran to 0 and 1 (all outcomes equal, or separation).
    """
    design = np.stack(columns, axis=-1)  # (rows, n, k)
    design_t = design.transpose(0, 2, 1)
    coef = np.tile(np.asarray(start, dtype=float), (design.shape[0], 1))
    converged = np.zeros(design.shape[0], dtype=bool)
    information = np.zeros(design.shape[0])
    ridge = 1e-12 * np.eye(design.shape[2])
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        eta = offset + (design @ coef[..., None])[..., 0]
        current = _log_likelihood(y, eta)
        for _ in range(_NEWTON_STEPS):
            mu = special.expit(eta)
            weights = mu * (1 - mu)
            gradient = (design_t @ (y - mu)[..., None])[..., 0]
            hessian = design_t @ (design * weights[..., None])
            information = weights.sum(axis=1) / y.shape[-1]
            step = np.linalg.solve(hessian + ridge, gradient[..., None])[..., 0]
            size = np.ones(design.shape[0])
            for _ in range(_HALVINGS):  # halve each row's step until its log likelihood does not fall
                trial = coef + size[:, None] * step
                trial_eta = offset + (design @ trial[..., None])[..., 0]
                trial_ll = _log_likelihood(y, trial_eta)
                worse = ~(trial_ll >= current - 1e-12)
                if not worse.any():
                    break
                size = np.where(worse, size / 2, size)
            moved = np.abs(size[:, None] * step)
            coef, eta, current = trial, trial_eta, trial_ll
            converged = np.all(moved < 1e-9 * np.maximum(1.0, np.abs(coef)), axis=1)
            if converged.all():
                break
    ok = converged & np.all(np.isfinite(coef), axis=1) & (information > 1e-8)
    return np.where(ok[:, None], coef, np.nan)


def mean_absolute_risk_error(true_risk: np.ndarray, p: np.ndarray) -> np.ndarray | float:
    """Mean absolute difference between predicted and true risk: simulations only.

    In a simulation the true risk of every patient is known, so calibration
    can be measured against it directly. On real data, where only outcomes
    are known, use :func:`calibration_indices` (the integrated calibration
    index of Austin & Steyerberg 2019, against a smoothed calibration curve).

    Parameters
    ----------
    true_risk : array_like, shape (n,)
        Each patient's true probability of the outcome.
    p : array_like, shape (n,) or (draws, n)
        Predicted risks.

    Returns
    -------
    float or numpy.ndarray
        One value per row of ``p``.

    Raises
    ------
    ValueError
        If ``true_risk`` holds values outside [0, 1], or only 0s and 1s
        (outcomes, not risks).

    See Also
    --------
    calibration_indices : the integrated calibration index on observed outcomes.

    Examples
    --------
    >>> from bayes_ubpr.metrics import mean_absolute_risk_error
    >>> true_risk = [0.1, 0.2, 0.4]
    >>> round(mean_absolute_risk_error(true_risk, [0.15, 0.2, 0.3]), 3)
    0.05
    >>> mean_absolute_risk_error(true_risk, [[0.15, 0.2, 0.3], true_risk]).round(3).tolist()
    [0.05, 0.0]
    """
    truth = np.asarray(true_risk, dtype=float)
    if truth.size and np.isin(truth, (0.0, 1.0)).all():
        raise ValueError(
            "true_risk holds only 0s and 1s: these look like outcomes, not risks. "
            "On observed outcomes use calibration_indices(y, p) (the integrated calibration index)."
        )
    if np.any((truth < 0) | (truth > 1)):
        raise ValueError("true_risk must hold probabilities between 0 and 1")
    values = np.abs(_as_2d(p) - truth).mean(axis=1)
    return _squeeze(values, p)


def integrated_calibration_index(true_risk: np.ndarray, p: np.ndarray) -> np.ndarray | float:
    """Return :func:`mean_absolute_risk_error` with a DeprecationWarning (old name; removed next release).

    The name promised Austin & Steyerberg's integrated calibration index
    (against a smoothed calibration curve of observed outcomes), which this
    is not; that index is :func:`calibration_indices`.

    Examples
    --------
    >>> import warnings
    >>> from bayes_ubpr.metrics import integrated_calibration_index
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     value = integrated_calibration_index([0.1, 0.2], [0.2, 0.4])
    >>> round(value, 3), caught[0].category.__name__
    (0.15, 'DeprecationWarning')
    """
    warnings.warn(
        "integrated_calibration_index(true_risk, p) is deprecated and will be removed in the next release: "
        "it is the mean absolute error against known true risks, now mean_absolute_risk_error(true_risk, p). "
        "For the integrated calibration index on observed outcomes use calibration_indices(y, p).",
        DeprecationWarning,
        stacklevel=2,
    )
    return mean_absolute_risk_error(true_risk, p)


LOWESS_FRAC = 2.0 / 3.0
"""Default span of the calibration smoother: the default of R's and statsmodels' lowess."""


def _check_outcomes(y: np.ndarray, n: int) -> np.ndarray:
    outcome = np.asarray(y, dtype=float)
    if outcome.ndim != 1 or outcome.size != n:
        raise ValueError(f"y must be a 1-d array of {n} outcomes (one per column of p); got shape {outcome.shape}")
    if not np.isin(outcome, (0.0, 1.0)).all():
        raise ValueError("y must hold 0/1 outcomes")
    return outcome


def smoothed_rows(y: np.ndarray, p: np.ndarray, frac: float) -> np.ndarray:
    """Lowess of y on each row of p, evaluated at that row's own risks (rows, n)."""
    from statsmodels.nonparametric.smoothers_lowess import lowess

    if not 0.0 < frac <= 1.0:
        raise ValueError(f"frac must be in (0, 1]; got {frac!r}")
    rows = _as_2d(p)
    outcome = _check_outcomes(y, rows.shape[1])
    smoothed = np.empty_like(rows)
    for r, risk in enumerate(rows):
        # it=0: robustness iterations would down-weight the events as outliers; delta as R's lowess (1% of range).
        delta = 0.01 * float(np.ptp(risk))
        smoothed[r] = lowess(outcome, risk, frac=frac, it=0, delta=delta, return_sorted=False)
    return smoothed


def calibration_curve(
    y: np.ndarray, p: np.ndarray, *, frac: float = LOWESS_FRAC, at: Sequence[float] | np.ndarray | None = None
) -> np.ndarray:
    """Flexible calibration curve: the lowess-smoothed observed outcome against predicted risk.

    Austin & Steyerberg's smoothed calibration curve, by statsmodels' lowess
    (local linear, tricube weights, span ``frac``) without robustness
    iterations (they would treat the events as outliers) and with ``delta``
    1% of the range of ``p``, as R's ``lowess``.

    Parameters
    ----------
    y : array_like, shape (n,)
        Observed 0/1 outcomes.
    p : array_like, shape (n,) or (draws, n)
        Predicted risks.
    frac : float, default 2/3
        Share of the patients in each local fit.
    at : array_like, optional
        Predicted risks at which to read the curve (linear interpolation
        between the patients' risks, constant beyond them); default each
        patient's own risk.

    Returns
    -------
    numpy.ndarray
        Smoothed observed risk, shape (n,) or (len(at),), or one row per row
        of ``p``. Not clipped to [0, 1].

    See Also
    --------
    calibration_indices : summaries of the distance from this curve to the diagonal (and the reference).

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr.metrics import calibration_curve
    >>> rng = np.random.default_rng(0)
    >>> risk = rng.uniform(0.05, 0.6, 2000)
    >>> outcome = (rng.random(2000) < risk).astype(int)  # perfectly calibrated risks
    >>> calibration_curve(outcome, risk, at=[0.1, 0.3, 0.5]).round(2).tolist()  # near the diagonal, up to noise
    [0.11, 0.28, 0.5]
    """
    smoothed = smoothed_rows(y, p, frac)
    if at is not None:
        smoothed = curves_at(_as_2d(p), smoothed, np.asarray(at, dtype=float))
    return smoothed if np.ndim(p) == 2 else smoothed[0]


def calibration_indices(y: np.ndarray, p: np.ndarray, *, frac: float = LOWESS_FRAC) -> dict[str, np.ndarray | float]:
    """Integrated calibration index and its quantiles on observed outcomes (Austin & Steyerberg 2019).

    With the smoothed calibration curve ``c`` of :func:`calibration_curve`,
    each patient's calibration error is ``|p_i - c(p_i)|``; the ICI is its
    mean, E50 its median, E90 its 90th percentile and Emax its maximum. 0 is
    perfect calibration.

    Parameters
    ----------
    y : array_like, shape (n,)
        Observed 0/1 outcomes.
    p : array_like, shape (n,) or (draws, n)
        Predicted risks.
    frac : float, default 2/3
        Span of the lowess smoother.

    Returns
    -------
    dict
        ``"ici"``, ``"e50"``, ``"e90"``, ``"emax"``: one float each, or one
        array with a value per row of ``p``.

    References
    ----------
    Austin PC, Steyerberg EW (2019). The Integrated Calibration Index (ICI)
    and related metrics for quantifying the calibration of logistic
    regression models. Statistics in Medicine 38(21):4051-4065.
    doi:10.1002/sim.8281

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr.metrics import calibration_indices
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(0.05, 0.6, 2000)
    >>> y = (rng.random(2000) < p).astype(int)
    >>> good = calibration_indices(y, p)
    >>> bad = calibration_indices(y, np.clip(1.5 * p, 0, 0.99))  # risks 50% too high
    >>> bool(good["ici"] < 0.02), bool(bad["ici"] > 0.1)
    (True, True)
    """
    values = indices_of_curves(_as_2d(p), smoothed_rows(y, p, frac))
    return {name: _squeeze(value, p) for name, value in values.items()}


def indices_of_curves(rows: np.ndarray, smoothed: np.ndarray) -> dict[str, np.ndarray]:
    """ICI, E50, E90 and Emax of each row of risks against its smoothed calibration curve."""
    error = np.abs(rows - smoothed)
    return {
        "ici": error.mean(axis=1),
        "e50": np.median(error, axis=1),
        "e90": np.quantile(error, 0.9, axis=1),
        "emax": error.max(axis=1),
    }


def curves_at(rows: np.ndarray, smoothed: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Each row's smoothed curve read at ``at`` by linear interpolation between its patients' risks."""
    curves = []
    for risk, fitted in zip(rows, smoothed, strict=True):
        order = np.argsort(risk, kind="stable")
        curves.append(np.interp(at, risk[order], fitted[order]))
    return np.array(curves)


def check_thresholds(thresholds: Sequence[float] | np.ndarray) -> np.ndarray:
    values = np.atleast_1d(np.asarray(thresholds, dtype=float))
    if values.ndim != 1 or values.size == 0:
        raise ValueError("thresholds must be a non-empty 1-d sequence of threshold risks")
    outside = values[~((values > 0) & (values < 1))]
    if outside.size:
        shown = ", ".join(f"{v:g}" for v in outside[:5])
        raise ValueError(
            f"thresholds must be risks strictly between 0 and 1 (treat when predicted risk >= threshold); got {shown}"
        )
    return values


def _positives(y: np.ndarray, p: np.ndarray, thresholds: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Count true and false positives (rows, thresholds) of treating when risk >= threshold, per row of p."""
    rows = _as_2d(p)
    outcome = _check_outcomes(y, rows.shape[1]).astype(bool)
    cases, controls = np.sort(rows[:, outcome], axis=1), np.sort(rows[:, ~outcome], axis=1)
    tp = np.array([cases.shape[1] - np.searchsorted(row, thresholds, side="left") for row in cases])
    fp = np.array([controls.shape[1] - np.searchsorted(row, thresholds, side="left") for row in controls])
    return tp.reshape(len(rows), -1), fp.reshape(len(rows), -1)


def _odds(thresholds: np.ndarray) -> np.ndarray:
    return thresholds / (1.0 - thresholds)


def net_benefit(y: np.ndarray, p: np.ndarray, thresholds: Sequence[float] | np.ndarray) -> np.ndarray:
    """Net benefit of treating the patients whose predicted risk is at least each threshold.

    NB(t) = TP/n - FP/n * t / (1 - t) (Vickers & Elkin 2006): the true
    positives per patient, less the false positives weighted by the odds of
    the threshold, the exchange rate between a missed case and an
    unnecessary treatment that the threshold expresses.

    Parameters
    ----------
    y : array_like, shape (n,)
        Observed 0/1 outcomes.
    p : array_like, shape (n,) or (draws, n)
        Predicted risks.
    thresholds : sequence of float
        Threshold risks, each strictly between 0 and 1.

    Returns
    -------
    numpy.ndarray
        Shape (len(thresholds),), or (draws, len(thresholds)).

    Raises
    ------
    ValueError
        For a threshold outside (0, 1), or outcomes that are not 0/1.

    References
    ----------
    Vickers AJ, Elkin EB (2006). Decision curve analysis: a novel method for
    evaluating prediction models. Medical Decision Making 26(6):565-574.
    doi:10.1177/0272989X06295361

    Examples
    --------
    >>> from bayes_ubpr.metrics import net_benefit
    >>> y = [1, 1, 0, 0, 0]
    >>> p = [0.9, 0.3, 0.4, 0.1, 0.05]
    >>> net_benefit(y, p, [0.2, 0.5]).round(4).tolist()  # 2 TP and 1 FP at 0.2: 2/5 - 1/5 * 0.25
    [0.35, 0.2]
    """
    cutoffs = check_thresholds(thresholds)
    tp, fp = _positives(y, p, cutoffs)
    n = _as_2d(p).shape[1]
    values = tp / n - fp / n * _odds(cutoffs)
    return values if np.ndim(p) == 2 else values[0]


def net_benefit_treat_all(y: np.ndarray, thresholds: Sequence[float] | np.ndarray) -> np.ndarray:
    """Net benefit of treating everyone: prevalence - (1 - prevalence) * t / (1 - t).

    Examples
    --------
    >>> from bayes_ubpr.metrics import net_benefit_treat_all
    >>> net_benefit_treat_all([1, 1, 0, 0, 0], [0.2, 0.5]).round(4).tolist()  # 0.4 - 0.6 * 0.25, 0.4 - 0.6
    [0.25, -0.2]
    """
    cutoffs = check_thresholds(thresholds)
    outcome = np.asarray(y, dtype=float)
    prevalence = _check_outcomes(outcome, outcome.size).mean()
    return prevalence - (1.0 - prevalence) * _odds(cutoffs)


def bayesian_decision_curve(
    y: np.ndarray,
    p: np.ndarray,
    thresholds: Sequence[float] | np.ndarray,
    *,
    prob: float = 0.95,
    prior: tuple[float, float] = (1.0, 1.0),
    n_draws: int = 4000,
    seed: SeedLike = None,
) -> pd.DataFrame:
    """Bayesian decision curve: posterior net benefit of the model, of treating all and of treating none.

    Net benefit is a function of the prevalence pi, and of the sensitivity
    Se(t) and specificity Sp(t) of "treat if predicted risk >= t":
    NB_model(t) = Se(t) pi - (1 - Sp(t)) (1 - pi) t / (1 - t) and
    NB_all(t) = pi - (1 - pi) t / (1 - t); NB_none = 0. Following Wynants et
    al. (2018) and the Bayesian decision-curve analysis of Cruz & Korthauer
    (bayesDCA), pi, Se(t) and Sp(t) get independent Beta priors and, given the
    validation sample's n patients, d events, TP(t) true and TN(t) true
    negatives, the conjugate posteriors Beta(a + d, b + n - d),
    Beta(a + TP, b + d - TP) and Beta(a + TN, b + n - d - TN). The draws of
    net benefit therefore carry the uncertainty of a finite validation
    sample. Where ``p`` holds posterior draws of the risks, each draw of
    (pi, Se, Sp) is made from the counts of one draw of the risks (taken in
    turn), so the curve carries the model's uncertainty too.

    Parameters
    ----------
    y : array_like, shape (n,)
        Observed 0/1 outcomes.
    p : array_like, shape (n,) or (draws, n)
        Predicted risks, or posterior draws of them.
    thresholds : sequence of float
        Threshold risks, each strictly between 0 and 1.
    prob : float, default 0.95
        Mass of the equal-tailed credible intervals.
    prior : (float, float), default (1.0, 1.0)
        Shapes (a, b) of the Beta prior of the prevalence, the sensitivity and
        the specificity: uniform by default, as in bayesDCA.
    n_draws : int, default 4000
        Posterior draws of the net benefits.
    seed : None, int or numpy.random.Generator
        For the Beta draws.

    Returns
    -------
    pandas.DataFrame
        One row per threshold: ``threshold``; ``nb_model`` and ``nb_all``,
        the sample net benefits (closed form) at the posterior-mean risks;
        ``nb_model_median``, ``nb_model_lower``, ``nb_model_upper``,
        ``nb_all_median``, ``nb_all_lower``, ``nb_all_upper``; ``nb_none``
        (0); ``prob_useful`` = P(NB_model > max(NB_all, 0)), the posterior
        probability that the model beats both default strategies; and
        ``prob_best_model``, ``prob_best_all``, ``prob_best_none``, the
        probability that each strategy has the highest net benefit (with a
        single model ``prob_best_model`` equals ``prob_useful``).

    Raises
    ------
    ValueError
        For a threshold outside (0, 1), non-0/1 outcomes, a bad ``prob`` or
        non-positive prior shapes.

    References
    ----------
    Vickers AJ, Elkin EB (2006). Decision curve analysis: a novel method for
    evaluating prediction models. Medical Decision Making 26(6):565-574.
    doi:10.1177/0272989X06295361

    Wynants L, Riley RD, Timmerman D, Van Calster B (2018). Random-effects
    meta-analysis of the clinical utility of tests and prediction models.
    Statistics in Medicine 37(12):2034-2052. doi:10.1002/sim.7653

    Cruz GNF, Korthauer K (2023). Bayesian decision curve analysis with
    bayesDCA. arXiv:2308.02067. doi:10.48550/arXiv.2308.02067

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr.metrics import bayesian_decision_curve
    >>> rng = np.random.default_rng(1)
    >>> p = rng.uniform(0.01, 0.5, 500)
    >>> y = (rng.random(500) < p).astype(int)
    >>> curve = bayesian_decision_curve(y, p, [0.1, 0.3], seed=2)
    >>> curve[["threshold", "nb_model", "nb_all"]].round(3).values.tolist()
    [[0.1, 0.163, 0.151], [0.3, 0.07, -0.091]]
    >>> bool(curve.loc[1, "prob_useful"] > 0.99)  # at 30% the model clearly beats treating everyone
    True
    """
    cutoffs = check_thresholds(thresholds)
    prob = check_probability(prob, name="prob")
    n_draws = check_positive_int(n_draws, name="n_draws")
    a, b = (float(v) for v in prior)
    if not (a > 0 and b > 0):
        raise ValueError(f"prior must be two positive Beta shapes (a, b); got {prior!r}")
    rows = _as_2d(p)
    outcome = _check_outcomes(y, rows.shape[1])
    n, d = outcome.size, float(outcome.sum())
    rng = as_generator(seed)
    tp, fp = _positives(outcome, rows, cutoffs)
    which = np.arange(n_draws) % len(rows)  # each draw of (pi, Se, Sp) from one draw of the risks, in turn
    tp, tn = tp[which], (n - d) - fp[which]
    prevalence = rng.beta(a + d, b + n - d, size=(n_draws, 1))
    sensitivity = rng.beta(a + tp, b + d - tp)
    specificity = rng.beta(a + tn, b + (n - d) - tn)
    odds = _odds(cutoffs)
    nb_model = sensitivity * prevalence - (1.0 - specificity) * (1.0 - prevalence) * odds
    nb_all = prevalence - (1.0 - prevalence) * odds
    tail = (1.0 - prob) / 2.0
    model_q = np.quantile(nb_model, [tail, 0.5, 1.0 - tail], axis=0)
    all_q = np.quantile(nb_all, [tail, 0.5, 1.0 - tail], axis=0)
    best = np.argmax(np.stack([nb_model, nb_all, np.zeros_like(nb_model)]), axis=0)
    return pd.DataFrame(
        {
            "threshold": cutoffs,
            "nb_model": net_benefit(outcome, rows.mean(axis=0), cutoffs),
            "nb_all": net_benefit_treat_all(outcome, cutoffs),
            "nb_model_median": model_q[1],
            "nb_model_lower": model_q[0],
            "nb_model_upper": model_q[2],
            "nb_all_median": all_q[1],
            "nb_all_lower": all_q[0],
            "nb_all_upper": all_q[2],
            "nb_none": 0.0,
            "prob_useful": (nb_model > np.maximum(nb_all, 0.0)).mean(axis=0),
            "prob_best_model": (best == 0).mean(axis=0),
            "prob_best_all": (best == 1).mean(axis=0),
            "prob_best_none": (best == 2).mean(axis=0),
        }
    )


def thin_draws(draws: np.ndarray, n_draws: int) -> np.ndarray:
    """Return at most ``n_draws`` rows of ``draws``, evenly spaced over the chains' draws.

    Examples
    --------
    >>> thin_draws(np.arange(10)[:, None], 3)[:, 0].tolist()
    [0, 4, 9]
    """
    if len(draws) <= n_draws:
        return draws
    return draws[np.linspace(0, len(draws) - 1, n_draws).round().astype(int)]
