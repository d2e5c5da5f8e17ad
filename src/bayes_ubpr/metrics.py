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
    coef = _logistic_mle(np.asarray(y, dtype=float), [np.ones_like(offset)], offset, start=[0.0])
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
    coef = _logistic_mle(np.asarray(y, dtype=float), [np.ones_like(lp), lp], np.zeros_like(lp), start=[0.0, 1.0])
    return _squeeze(coef[:, 1], p)


def _log_likelihood(y: np.ndarray, eta: np.ndarray) -> np.ndarray:
    return (y * eta - np.logaddexp(0.0, eta)).sum(axis=1)


def _logistic_mle(y: np.ndarray, columns: list[np.ndarray], offset: np.ndarray, *, start: list[float]) -> np.ndarray:
    """Maximum-likelihood logistic regressions, one per row of the (rows, n) ``columns`` and ``offset``.

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
            information = weights.sum(axis=1) / y.size
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
