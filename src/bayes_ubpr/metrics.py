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
    """Mean squared difference between outcome and predicted risk."""
    values = ((_as_2d(p) - np.asarray(y, dtype=float)) ** 2).mean(axis=1)
    return _squeeze(values, p)


def observed_expected_ratio(y: np.ndarray, p: np.ndarray) -> np.ndarray | float:
    """Observed number of events over the expected number (sum of risks); 1 is ideal."""
    values = np.asarray(y, dtype=float).sum() / _as_2d(p).sum(axis=1)
    return _squeeze(values, p)


def _logit(p: np.ndarray) -> np.ndarray:
    return special.logit(np.clip(p, 1e-12, 1 - 1e-12))


def calibration_in_the_large(y: np.ndarray, p: np.ndarray) -> np.ndarray | float:
    """Intercept a of logit P(y) = a + logit(p) (offset logistic regression); 0 is ideal.

    Solved by Newton's method, one problem per row of ``p``.
    """
    y = np.asarray(y, dtype=float)
    offset = _logit(_as_2d(p))
    a = np.zeros(offset.shape[0])
    for _ in range(_NEWTON_STEPS):
        mu = special.expit(a[:, None] + offset)
        a = a + (y - mu).sum(axis=1) / np.maximum((mu * (1 - mu)).sum(axis=1), 1e-12)
    return _squeeze(a, p)


def calibration_slope(y: np.ndarray, p: np.ndarray) -> np.ndarray | float:
    """Slope b of logit P(y) = a + b logit(p); 1 is ideal, below 1 means overfitting.

    Two-parameter logistic regression by Newton's method, one per row of ``p``.
    """
    y = np.asarray(y, dtype=float)
    lp = _logit(_as_2d(p))
    coef = np.zeros((lp.shape[0], 2))
    coef[:, 1] = 1.0
    for _ in range(_NEWTON_STEPS):
        mu = special.expit(coef[:, :1] + coef[:, 1:] * lp)
        w = mu * (1 - mu)
        g = np.stack([(y - mu).sum(axis=1), ((y - mu) * lp).sum(axis=1)], axis=1)
        h00, h01, h11 = w.sum(axis=1), (w * lp).sum(axis=1), (w * lp**2).sum(axis=1)
        det = np.maximum(h00 * h11 - h01**2, 1e-300)
        coef[:, 0] += (h11 * g[:, 0] - h01 * g[:, 1]) / det
        coef[:, 1] += (h00 * g[:, 1] - h01 * g[:, 0]) / det
    return _squeeze(coef[:, 1], p)


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
    """
    values = np.abs(_as_2d(p) - np.asarray(true_risk, dtype=float)).mean(axis=1)
    return _squeeze(values, p)
