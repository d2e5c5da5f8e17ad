"""Predictive performance and calibration metrics on plain arrays.

Every function takes outcomes ``y`` (0/1, shape (n,)) and predicted risks
``p`` (shape (n,) or (draws, n)) and returns one value per row of ``p``, so a
whole posterior is scored in one call. No PyMC here: these kernels are tested
on arrays in milliseconds and reused by the posterior-predictive checks and
the calibration studies.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

__all__ = [
    "auc",
    "brier_score",
    "calibration_in_the_large",
    "calibration_slope",
    "integrated_calibration_index",
    "observed_expected_ratio",
]

_NEWTON_STEPS = 50


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
    y = np.asarray(y, dtype=float)
    offset = _logit(_as_2d(p))
    a = np.zeros(offset.shape[0])
    step = np.full_like(a, np.inf)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(_NEWTON_STEPS):
            mu = special.expit(a[:, None] + offset)
            information = (mu * (1 - mu)).sum(axis=1)
            step = (y - mu).sum(axis=1) / np.maximum(information, 1e-12)
            a = a + step
    return _squeeze(_unless_diverged(a, [step], information / y.size), p)


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
    y = np.asarray(y, dtype=float)
    lp = _logit(_as_2d(p))
    coef = np.zeros((lp.shape[0], 2))
    coef[:, 1] = 1.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(_NEWTON_STEPS):
            mu = special.expit(coef[:, :1] + coef[:, 1:] * lp)
            w = mu * (1 - mu)
            g = np.stack([(y - mu).sum(axis=1), ((y - mu) * lp).sum(axis=1)], axis=1)
            h00, h01, h11 = w.sum(axis=1), (w * lp).sum(axis=1), (w * lp**2).sum(axis=1)
            det = np.maximum(h00 * h11 - h01**2, 1e-300)
            steps = [(h11 * g[:, 0] - h01 * g[:, 1]) / det, (h00 * g[:, 1] - h01 * g[:, 0]) / det]
            coef[:, 0] += steps[0]
            coef[:, 1] += steps[1]
    return _squeeze(_unless_diverged(coef[:, 1], steps, h00 / y.size), p)


def _unless_diverged(estimate: np.ndarray, last_steps: list[np.ndarray], information: np.ndarray) -> np.ndarray:
    """NaN where the MLE is infinite or was not reached.

    Newton's last steps must be negligible, and the fitted risks must keep
    some Fisher information: under separation the risks run to 0 and 1, the
    information vanishes and the steps stall at a meaningless point.
    """
    small = np.all([np.abs(step) < 1e-6 * np.maximum(1.0, np.abs(estimate)) for step in last_steps], axis=0)
    converged = np.isfinite(estimate) & small & (information > 1e-8)
    return np.where(converged, estimate, np.nan)


def integrated_calibration_index(true_risk: np.ndarray, p: np.ndarray) -> np.ndarray | float:
    """Mean absolute difference between predicted and true risk (Austin & Steyerberg 2019).

    With simulated data the true risk is known, so the ICI is computed against
    it directly rather than against a smoothed calibration curve.

    References
    ----------
    Austin PC, Steyerberg EW (2019). The Integrated Calibration Index (ICI)
    and related metrics for quantifying the calibration of logistic
    regression models. Statistics in Medicine 38(21):4051-4065.
    doi:10.1002/sim.8281

    Examples
    --------
    >>> from bayes_ubpr.metrics import integrated_calibration_index
    >>> true_risk = [0.1, 0.2, 0.4]
    >>> round(integrated_calibration_index(true_risk, [0.15, 0.2, 0.3]), 3)
    0.05
    >>> integrated_calibration_index(true_risk, [[0.15, 0.2, 0.3], true_risk]).round(3).tolist()
    [0.05, 0.0]
    """
    values = np.abs(_as_2d(p) - np.asarray(true_risk, dtype=float)).mean(axis=1)
    return _squeeze(values, p)
