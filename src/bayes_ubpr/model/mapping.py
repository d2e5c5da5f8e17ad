"""Mapping a case-control fit's intercept to the population, per posterior draw, on plain arrays.

Two mappings (``ModelSpec.population_mapping``):

``"offset"`` (Prentice & Pyke 1979)
    ``intercept_population = intercept + logit(pi) - log(n1 / n0)``: exact
    for the population log odds at the sample's intercept when the sample's
    odds ratios are the population's.
``"anchored"``
    Per draw s, the population intercept ``c_s`` is the one for which the
    population-weighted mean risk of the sample equals the prevalence::

        sum_i w_i expit(c_s + x_i . beta_s) = pi_s,
        w_i = pi_s / n1 (cases),  (1 - pi_s) / n0 (controls),

    with ``pi_s`` a draw of the prevalence. The weights make the sample stand
    for the population (cases are a fraction pi of it, controls 1 - pi), so
    the model's mean risk is the prevalence by construction, draw by draw,
    however far the odds ratios are from the truth. This is the
    "calibration-in-the-large" constraint of a prevalence-informed intercept
    (cf. the intercept recalibration of Steyerberg 2019, ch. 20, and the
    prevalence-constrained case-control estimators of Scott & Wild 1997).

The root is found by safeguarded Newton iteration on a bracket that always
holds it, for all draws at once.

References
----------
Prentice RL, Pyke R (1979). Logistic disease incidence models and
case-control studies. Biometrika 66(3):403-411. doi:10.1093/biomet/66.3.403

Scott AJ, Wild CJ (1997). Fitting regression models to case-control data by
maximum likelihood. Biometrika 84(1):57-71. doi:10.1093/biomet/84.1.57

Steyerberg EW (2019). Clinical Prediction Models, 2nd ed. Springer.
doi:10.1007/978-3-030-16399-0
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["MAPPINGS", "anchored_intercept", "intercept_for_weighted_mean", "offset_intercept"]

MAPPINGS = ("offset", "anchored")
"""Ways to map a case-control fit's intercept to the population (see the module docstring)."""

_TOLERANCE = 1e-12
_MAX_ITERATIONS = 200


def _check_inputs(x: np.ndarray, y: np.ndarray, beta: np.ndarray, prevalence: np.ndarray | float) -> tuple:
    x = np.atleast_2d(np.asarray(x, dtype=float))
    y = np.asarray(y)
    beta = np.atleast_2d(np.asarray(beta, dtype=float))
    if y.ndim != 1 or len(y) != x.shape[0]:
        raise ValueError(f"y must have one outcome per row of x ({x.shape[0]} rows); got shape {y.shape}")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y must be coded 0/1")
    n_cases = int(y.sum())
    if n_cases == 0 or n_cases == len(y):
        raise ValueError(f"y needs both cases and controls; got {n_cases} cases in {len(y)} rows")
    if beta.shape[1] != x.shape[1]:
        raise ValueError(f"beta must have one column per column of x ({x.shape[1]}); got shape {beta.shape}")
    pi = np.broadcast_to(np.asarray(prevalence, dtype=float), (beta.shape[0],))
    if not np.all((pi > 0) & (pi < 1)):
        raise ValueError("prevalence must lie strictly between 0 and 1 in every draw")
    return x, y.astype(bool), beta, pi


def offset_intercept(intercept: np.ndarray, y: np.ndarray, prevalence: np.ndarray | float) -> np.ndarray:
    """Prentice-Pyke population intercept per draw: ``intercept + logit(pi) - log(n1 / n0)``.

    Parameters
    ----------
    intercept : numpy.ndarray
        Sample-scale intercept per draw (log odds at x = 0).
    y : numpy.ndarray
        The sample's 0/1 outcomes (for n1 and n0).
    prevalence : float or numpy.ndarray
        Population prevalence, fixed or one value per draw.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr.model.mapping import offset_intercept
    >>> round(float(offset_intercept(np.array([0.0]), np.array([1, 0]), 0.5)[0]), 12)
    0.0
    """
    y = np.asarray(y)
    n_cases = float(y.sum())
    return np.asarray(intercept, float) + special.logit(prevalence) - np.log(n_cases / (len(y) - n_cases))


def anchored_intercept(x: np.ndarray, y: np.ndarray, beta: np.ndarray, prevalence: np.ndarray | float) -> np.ndarray:
    """Return the population intercept per draw that makes the population-weighted mean risk equal the prevalence.

    Solves ``pi_s / n1 * sum_cases expit(c + x_i . beta_s) + (1 - pi_s) / n0 *
    sum_controls expit(c + x_i . beta_s) = pi_s`` for ``c`` in every draw s
    (see the module docstring).

    Parameters
    ----------
    x : numpy.ndarray
        The case-control sample's raw design, shape (n, factors).
    y : numpy.ndarray
        Its 0/1 outcomes, shape (n,), with at least one case and one control.
    beta : numpy.ndarray
        Log odds ratios per unit, shape (draws, factors) (or (factors,) for one draw).
    prevalence : float or numpy.ndarray
        Population prevalence: one number, or one draw per row of ``beta``.

    Returns
    -------
    numpy.ndarray
        Shape (draws,): the population intercept (log odds at x = 0) per draw.

    Raises
    ------
    ValueError
        For shapes that do not match, outcomes not coded 0/1 or all equal, or
        a prevalence outside (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import special
    >>> from bayes_ubpr.model.mapping import anchored_intercept
    >>> x = np.array([[0.0], [1.0], [0.0], [1.0]])
    >>> y = np.array([1, 1, 0, 0])
    >>> c = anchored_intercept(x, y, np.array([[0.0]]), 0.1)  # no effect: every risk is the prevalence
    >>> round(float(special.expit(c[0])), 12)
    0.1
    """
    x, cases, beta, pi = _check_inputs(x, y, beta, prevalence)
    n_cases, n_controls = int(cases.sum()), int((~cases).sum())
    weight = np.where(cases, pi[:, None] / n_cases, (1 - pi[:, None]) / n_controls)
    return intercept_for_weighted_mean(linear_predictors(beta, x), weight, pi)


def linear_predictors(beta: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``beta @ x.T``, shape (draws, patients), with the same bits whatever the BLAS thread count.

    einsum sums in its own loops; a BLAS product may sum in another order with
    more threads, so a study on a Dask worker (one thread) and in a thread of
    a serial run would differ in the last bits.
    """
    return np.einsum("dj,ij->di", beta, x)


def intercept_for_weighted_mean(eta: np.ndarray, weight: np.ndarray, target: np.ndarray | float) -> np.ndarray:
    """Solve ``sum_i weight[s, i] * expit(c_s + eta[s, i]) = target[s]`` for ``c_s`` in every row s.

    Weights of a row sum to 1 and ``0 < target < 1``. The weighted mean risk
    increases with c, lies at or below the target at ``logit(target) -
    max(eta)`` and at or above it at ``logit(target) - min(eta)``; Newton
    steps that stay inside this bracket, bisection otherwise, converge for
    every row (to 1e-12, relative).

    Parameters
    ----------
    eta : numpy.ndarray
        Linear predictors without intercept, shape (rows, n).
    weight : numpy.ndarray
        Weights, broadcastable to ``eta``.
    target : float or numpy.ndarray
        Target weighted mean risk per row.

    Returns
    -------
    numpy.ndarray
        One intercept per row.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import special
    >>> from bayes_ubpr.model.mapping import intercept_for_weighted_mean
    >>> eta = np.array([[0.0, 2.0]])
    >>> c = intercept_for_weighted_mean(eta, np.array([[0.75, 0.25]]), 0.2)
    >>> round(float(0.75 * special.expit(c[0]) + 0.25 * special.expit(c[0] + 2.0)), 12)
    0.2
    """
    eta = np.atleast_2d(np.asarray(eta, dtype=float))
    weight = np.broadcast_to(np.asarray(weight, dtype=float), eta.shape)
    pi = np.broadcast_to(np.asarray(target, dtype=float), (eta.shape[0],))
    target = special.logit(pi)
    # At c = logit(pi) - max(eta) every risk is <= pi (mean too low); at logit(pi) - min(eta) every one is >= pi.
    low, high = target - eta.max(axis=1), target - eta.min(axis=1)
    c = np.clip(target - (weight * eta).sum(axis=1), low, high)
    for _ in range(_MAX_ITERATIONS):
        risk = special.expit(c[:, None] + eta)
        mean = (weight * risk).sum(axis=1)
        low = np.where(mean < pi, c, low)
        high = np.where(mean > pi, c, high)
        # Newton on log(mean risk), which is nearly linear in c where risks are small (a rare outcome);
        # on the mean itself, whose curve is exponential there, it crawls (about 45 steps instead of 5).
        slope = (weight * risk * (1 - risk)).sum(axis=1) / mean
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = c - (np.log(mean) - np.log(pi)) / slope
        # A row whose Newton step is below the tolerance has converged; its c may sit on a bracket end
        # (rounding), where the bisection below would throw it away again.
        done = np.abs(newton - c) <= _TOLERANCE * (1 + np.abs(c))
        # Newton where it stays inside the bracket, bisection otherwise: always converges.
        inside = np.isfinite(newton) & (newton > low) & (newton < high)
        c = np.where(done | inside, newton, (low + high) / 2)
        if done.all():
            break
    return c
