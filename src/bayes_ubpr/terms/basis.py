"""Numeric bases of model terms: restricted cubic splines and treatment coding.

Pure numpy: the knots and levels chosen here are stored in every fit, so that
a prediction months later builds exactly the columns the model was fitted on.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "DEFAULT_KNOT_QUANTILES",
    "SPLINE_KNOTS",
    "default_knots",
    "nonlinear_transform",
    "rcs_basis",
    "treatment_columns",
]


def _equally_spaced(k: int) -> tuple[float, ...]:
    outer = 0.1 if k == 3 else 0.05 if k <= 6 else 0.025
    return tuple(float(q) for q in np.linspace(outer, 1.0 - outer, k))


DEFAULT_KNOT_QUANTILES: dict[int, tuple[float, ...]] = {k: _equally_spaced(k) for k in range(3, 8)}
"""Harrell's default knot quantiles by number of knots: k equally spaced quantiles from 0.1 (3 knots), 0.05
(4 to 6) or 0.025 (7) to one minus it, as ``Hmisc::rcspline.eval`` computes them (``seq(outer, 1 - outer,
length = k)``); Harrell (2015), *Regression Modeling Strategies*, 2nd ed., Table 2.3, prints them rounded
(0.1833 for 7 knots' 0.18333...)."""

SPLINE_KNOTS = tuple(DEFAULT_KNOT_QUANTILES)
"""Numbers of knots ``rcs(x, k)`` accepts."""

SMALL_SAMPLE = 100
"""Below this many distinct values' worth of rows, Hmisc puts the outer knots at the 5th smallest and largest
values instead of the outer quantiles (``rcspline.eval``'s rule for n < 100)."""


def default_knots(x: Sequence[float] | np.ndarray, k: int) -> np.ndarray:
    """Return Harrell's default knots of a restricted cubic spline with ``k`` knots.

    The quantiles of :data:`DEFAULT_KNOT_QUANTILES` (numpy's default linear
    interpolation, R's type 7); with fewer than 100 values the outer knots are
    the 5th smallest and 5th largest value, as ``Hmisc::rcspline.eval`` does.

    Raises
    ------
    ValueError
        For ``k`` outside 3..7, or data with fewer distinct values than
        knots (naming how many there are).

    Examples
    --------
    >>> import numpy as np
    >>> default_knots(np.arange(1.0, 201.0), 4).round(2).tolist()
    [10.95, 70.65, 130.35, 190.05]
    """
    if k not in DEFAULT_KNOT_QUANTILES:
        raise ValueError(f"a restricted cubic spline takes 3 to 7 knots; got {k!r}")
    values = np.sort(np.asarray(x, dtype=float))
    knots = np.quantile(values, DEFAULT_KNOT_QUANTILES[k])
    if len(values) < SMALL_SAMPLE:
        knots[0], knots[-1] = values[4], values[-5]
    distinct = np.unique(knots)
    if len(distinct) < k:
        raise ValueError(
            f"{k} knots need {k} distinct quantiles; the data give {len(distinct)} "
            f"({', '.join(f'{v:g}' for v in distinct)}): use fewer knots or a categorical term"
        )
    return knots


def rcs_basis(x: np.ndarray, knots: Sequence[float]) -> np.ndarray:
    """Return the nonlinear columns of a restricted cubic spline (Harrell's truncated-power form).

    For knots t_1 < ... < t_k the k - 2 columns are, for j = 1..k-2,

    ``[(x - t_j)+^3 - (x - t_{k-1})+^3 (t_k - t_j) / (t_k - t_{k-1})
    + (x - t_k)+^3 (t_{k-1} - t_j) / (t_k - t_{k-1})] / (t_k - t_1)^2``,

    linear beyond the outer knots. With x itself as the linear column they
    span the natural cubic splines with these knots. The division by
    ``(t_k - t_1)^2`` is ``rcspline.eval``'s ``norm = 2``, which ``rms::rcs``
    uses, so the columns are in units of x.

    References
    ----------
    Harrell FE (2015). Regression Modeling Strategies, 2nd ed. Springer,
    section 2.4.5. doi:10.1007/978-3-319-19425-7

    Examples
    --------
    >>> import numpy as np
    >>> rcs_basis(np.array([0.0, 1.0, 5.0]), [0.0, 2.0, 4.0]).round(4).tolist()
    [[0.0], [0.0625], [4.5]]
    """
    t = np.asarray(knots, dtype=float)
    x = np.asarray(x, dtype=float)
    k = len(t)
    last, before = t[-1], t[-2]
    columns = []
    for j in range(k - 2):
        column = (
            np.maximum(x - t[j], 0.0) ** 3
            - np.maximum(x - before, 0.0) ** 3 * (last - t[j]) / (last - before)
            + np.maximum(x - last, 0.0) ** 3 * (before - t[j]) / (last - before)
        )
        columns.append(column / (last - t[0]) ** 2)
    return np.column_stack(columns) if columns else np.empty((len(x), 0))


def nonlinear_transform(x: np.ndarray, knots: Sequence[float]) -> np.ndarray:
    """Return the matrix T that makes a spline's nonlinear columns orthonormal to its linear part on ``x``.

    With ``A = [1, x, rcs_basis(x, knots)]`` (n rows, k columns), ``A @ T``
    has k - 2 columns that are uncorrelated with x and with each other and
    have mean 0 and SD 1 on ``x``: Harrell's nonlinear columns less their
    least-squares fit on (1, x), rotated and scaled by the singular value
    decomposition of the remainder. They span the same curves as Harrell's
    columns, so the model is the same; what changes is what a prior on
    their coefficients means. Harrell's columns are nearly collinear (r
    about 0.99 for 4 knots), and a curve such as a U is a large difference
    of their coefficients, which independent zero-centred priors pull
    apart unevenly; on orthonormal columns the same prior shrinks every
    direction of departure from the straight line alike (the null-space
    idea of penalised regression splines; Wood 2017, Generalized Additive
    Models, 2nd ed., section 5.4).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(1).gamma(9, 0.55, 500)
    >>> knots = default_knots(x, 4)
    >>> columns = np.column_stack([np.ones_like(x), x, rcs_basis(x, knots)]) @ nonlinear_transform(x, knots)
    >>> np.abs(np.corrcoef(np.column_stack([x, columns]), rowvar=False)).round(6).tolist()[0]
    [1.0, 0.0, 0.0]
    >>> np.round(columns.std(axis=0), 6).tolist()
    [1.0, 1.0]
    """
    x = np.asarray(x, dtype=float)
    basis = rcs_basis(x, knots)
    linear = np.column_stack([np.ones_like(x), x])
    coefficients, *_ = np.linalg.lstsq(linear, basis, rcond=None)
    remainder = basis - linear @ coefficients
    _, singular, vt = np.linalg.svd(remainder / np.sqrt(len(x)), full_matrices=False)
    if singular.min() <= 1e-12 * max(singular.max(), 1.0):
        raise ValueError("the spline's nonlinear columns are constant or collinear on these data: use fewer knots")
    rotation = vt.T / singular
    return np.vstack([-coefficients @ rotation, rotation])


def treatment_columns(codes: np.ndarray, n_levels: int, reference: int) -> np.ndarray:
    """Return 0/1 indicator columns of every level but ``reference`` (treatment coding).

    Examples
    --------
    >>> import numpy as np
    >>> treatment_columns(np.array([0, 2, 1]), 3, 0).tolist()
    [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0]]
    """
    kept = [level for level in range(n_levels) if level != reference]
    return (np.asarray(codes)[:, None] == np.array(kept)[None, :]).astype(float)
