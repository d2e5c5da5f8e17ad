"""Granularity tests on plain numbers: GRIM for means and GRIMMER for standard deviations.

Data recorded on a grid (whole years, whole centimetres, a 0-10 pain score)
can only have certain means and SDs for a given sample size. A mean of
``n`` whole numbers is a whole number divided by ``n`` (GRIM, Brown &
Heathers 2017); their sum of squares is a whole number too, of the same
parity as their sum and between the smallest and largest the scale allows
(GRIMMER, Anaya 2016). A printed mean or SD that no such data can give
within its rounding is *inconsistent* with the assumed grid.

The kernels work in exact rational arithmetic (:class:`fractions.Fraction`),
so that a value on the edge of a rounding interval is decided exactly: a
printed value ``r`` with ``d`` decimals stands for every value in
``[r - 0.5 * 10**-d, r + 0.5 * 10**-d]``, both ends included, so either
rounding convention (half up or half to even) is allowed.

GRIMMER here is sound, never exact: each of its conditions is necessary, so
a value it calls inconsistent is impossible, while a value it calls
consistent might still be impossible for very small samples (two values
with sum 0 can only have sums of squares 0, 2, 8, 18, ...). The tests
compare both kernels with an exhaustive enumeration of small integer
samples.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from bayes_ubpr._validate import check_positive_int

__all__ = ["MAX_DIGITS", "MAX_TOTALS", "grim", "grim_sums", "grimmer"]

Number = str | int | float

MAX_DIGITS = 15
"""Most digits a number given to the kernels may have on either side of the point (a double holds
about 15 significant digits, and no paper prints more): each is read exactly, and a number such as
``"1e-999999999"`` would otherwise cost a billion-digit integer."""

MAX_TOTALS = 100_000
"""Most whole-number totals that :func:`grim_sums` lists and :func:`grimmer` examines one by one
(about a second). More totals than this fit a mean only when ``n`` is at least ``unit * 10**d``
for a mean printed to ``d`` decimals, where GRIM is uninformative: :func:`grim` answers in
constant time for any ``n``."""


def _decimal(value: object, *, name: str) -> Decimal:
    """Parse a number as written, refusing what is not finite or has more than :data:`MAX_DIGITS` digits a side."""
    try:
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{name} must be a number as printed; got {value!r}") from None
    exponent = parsed.as_tuple().exponent
    if not isinstance(exponent, int) or not parsed.is_finite():
        raise ValueError(f"{name} must be a finite number; got {value!r}")
    if -exponent > MAX_DIGITS or parsed.adjusted() >= MAX_DIGITS:
        raise ValueError(
            f"{name} must have at most {MAX_DIGITS} digits before and after the point (MAX_DIGITS); got {value!r}"
        )
    return parsed


def _printed(value: Number, decimals: int | None, *, name: str) -> tuple[Fraction, Fraction]:
    """Exact value and half-unit of a printed number; decimals from the string when not given."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError(f"{name} must be a number or the string printed; got {type(value).__name__} {value!r}")
    if decimals is None:
        if not isinstance(value, str):
            raise TypeError(
                f"{name}={value!r}: pass the value as the printed string (e.g. '1.30') or give "
                f"{name}_decimals, because a float loses trailing zeros"
            )
        parsed = _decimal(value, name=name)
        decimals = max(0, -int(parsed.as_tuple().exponent))
    else:
        decimals = check_positive_int(decimals, name=f"{name}_decimals", minimum=0)
        if decimals > MAX_DIGITS:
            raise ValueError(f"{name}_decimals must be at most {MAX_DIGITS} (MAX_DIGITS); got {decimals}")
        parsed = _decimal(value, name=name)
    return Fraction(parsed), Fraction(1, 2 * 10**decimals)


def _unit(unit: Number) -> Fraction:
    step = Fraction(_decimal(unit, name="unit"))
    if step <= 0:
        raise ValueError(f"unit must be a positive number (the grid step of the data); got {unit!r}")
    return step


def _grid_bounds(bounds: tuple[Number | None, Number | None], step: Fraction) -> tuple[int | None, int | None]:
    """Bounds of the data in grid steps; each must lie on the grid."""
    if not (isinstance(bounds, tuple) and len(bounds) == 2):
        raise TypeError(f"bounds must be a pair (low, high), each a number or None; got {bounds!r}")
    out: list[int | None] = []
    for side, bound in zip(("low", "high"), bounds, strict=True):
        if bound is None:
            out.append(None)
            continue
        steps = Fraction(_decimal(bound, name=f"the {side} bound")) / step
        if steps.denominator != 1:
            raise ValueError(f"the {side} bound {bound!r} is not a multiple of the unit {float(step):g}")
        out.append(int(steps))
    low, high = out
    if low is not None and high is not None and low > high:
        raise ValueError(f"bounds must satisfy low <= high; got {bounds!r}")
    return low, high


def grim_sums(
    mean: Number,
    n: int,
    *,
    decimals: int | None = None,
    unit: Number = 1,
    bounds: tuple[Number | None, Number | None] = (None, None),
) -> list[int]:
    """Return the totals (in grid units) that ``n`` values on the grid could have, given the printed mean.

    Parameters
    ----------
    mean : str or float
        The mean as printed; a string keeps trailing zeros ("1.30").
    n : int
        Sample size.
    decimals : int, optional
        Decimals printed; read from ``mean`` when it is a string.
    unit : str or float, default 1
        Grid step of the data: 1 for whole numbers, "0.1" for one decimal.
    bounds : pair of (float or None), default (None, None)
        Smallest and largest value the data can take (on the grid); totals
        outside ``n * low .. n * high`` are impossible.

    Returns
    -------
    list of int
        Every whole number ``K`` such that ``K * unit / n`` rounds to the
        printed mean; empty when the mean is GRIM-inconsistent.

    Raises
    ------
    TypeError
        If ``mean`` is a float without ``decimals``, or ``n`` is not an integer.
    ValueError
        If ``n`` is below 1, ``unit`` is not positive, a bound is off the
        grid, a number has more than :data:`MAX_DIGITS` digits on a side of
        the point, or more than :data:`MAX_TOTALS` totals fit (then GRIM is
        uninformative, and :func:`grim` says True in constant time).

    Examples
    --------
    >>> from bayes_ubpr.audit import grim_sums
    >>> grim_sums("69.38", 60)  # 4163 / 60 = 69.383
    [4163]
    >>> grim_sums("69.19", 60)  # 4151 / 60 = 69.183 and 4152 / 60 = 69.200
    []
    """
    first, last, places = _totals(mean, n, decimals=decimals, unit=unit, bounds=bounds)
    if last - first + 1 > MAX_TOTALS:
        raise ValueError(
            f"grim_sums: {_too_many(last - first + 1, mean, n, unit, places)}; grim() answers in constant time"
        )
    return list(range(first, last + 1))


def _totals(
    mean: Number,
    n: int,
    *,
    decimals: int | None,
    unit: Number,
    bounds: tuple[Number | None, Number | None],
    minimum: int = 1,
) -> tuple[int, int, int]:
    """First and last whole-number total (in grid units) of ``n`` values with the printed mean; its decimals.

    Constant time for any ``n``; ``first > last`` when there is none.
    """
    n = check_positive_int(n, name="n", minimum=minimum)
    value, half = _printed(mean, decimals, name="mean")
    step = _unit(unit)
    low, high = _grid_bounds(bounds, step)
    first = math.ceil((value - half) * n / step)
    last = math.floor((value + half) * n / step)
    if low is not None:
        first = max(first, n * low)
    if high is not None:
        last = min(last, n * high)
    places = round(math.log10(1 / (2 * half)))
    return first, last, places


def _too_many(count: int, mean: Number, n: int, unit: Number, places: int) -> str:
    """Say that ``count`` totals exceed :data:`MAX_TOTALS`, and why GRIM is uninformative there."""
    return (
        f"{count:,} whole-number totals of n={n:,} values fit the mean {mean!r}, more than MAX_TOTALS ({MAX_TOTALS:,}) "
        f"to go through. GRIM is uninformative here: n >= unit * 10**{places} (unit {unit!r}), so every mean printed "
        f"to {places} decimal(s) is attainable"
    )


def grim(
    mean: Number,
    n: int,
    *,
    decimals: int | None = None,
    unit: Number = 1,
    bounds: tuple[Number | None, Number | None] = (None, None),
) -> bool:
    """Whether a printed mean is possible for ``n`` values on a grid (the GRIM test).

    Parameters
    ----------
    mean : str or float
        The mean as printed; a string keeps trailing zeros.
    n : int
        Sample size.
    decimals : int, optional
        Decimals printed; read from ``mean`` when it is a string.
    unit : str or float, default 1
        Grid step of the data (1 for whole numbers).
    bounds : pair of (float or None), default (None, None)
        Smallest and largest possible value.

    Returns
    -------
    bool
        True when some whole-number total over ``n`` rounds to the mean.

    Raises
    ------
    TypeError, ValueError
        As :func:`grim_sums`, except that any number of totals is allowed.

    Notes
    -----
    GRIM is informative only while ``n < unit * 10**d`` for a mean printed
    to ``d`` decimals (``n < 10**d`` for whole numbers): from there on the
    attainable means, ``unit / n`` apart, are at most one rounding interval
    apart, so every printed mean is attainable and the answer is True
    unless the mean lies outside ``bounds``. The answer takes constant time
    for any ``n`` (the first and last fitting totals are computed, never
    listed), so ``grim("3.5", 10**30)`` is immediate.

    See Also
    --------
    grimmer : the same for a mean and SD together.

    References
    ----------
    Brown NJL, Heathers JAJ (2017). The GRIM test: a simple technique detects
    numerous anomalies in the reporting of results in psychology. Social
    Psychological and Personality Science 8(4):363-369.
    doi:10.1177/1948550616673876

    Examples
    --------
    >>> from bayes_ubpr.audit import grim
    >>> grim("3.48", 20)  # 20 die rolls: every mean ends in 0 or 5
    False
    >>> grim("3.45", 20)
    True
    """
    first, last, _ = _totals(mean, n, decimals=decimals, unit=unit, bounds=bounds)
    return first <= last


def _sum_of_squares_range(total: int, n: int, low: int | None, high: int | None) -> tuple[int, float]:
    """Smallest and largest sum of squared *shifted* values (x - low) for n grid values with the given total.

    Without a lower bound the shift is 0 and only the smallest sum of
    squares (values as equal as possible) bounds it. With bounds the
    largest puts as many values as possible at the ends.
    """
    shift = low if low is not None else 0
    shifted = total - n * shift
    q, r = divmod(shifted, n)
    smallest = n * q * q + (2 * q + 1) * r
    if low is None or high is None:
        return smallest, math.inf
    width = high - low
    if width == 0:
        return smallest, smallest
    at_top, rest = divmod(shifted, width)
    return smallest, at_top * width * width + rest * rest


def grimmer(
    mean: Number,
    sd: Number,
    n: int,
    *,
    mean_decimals: int | None = None,
    sd_decimals: int | None = None,
    unit: Number = 1,
    bounds: tuple[Number | None, Number | None] = (None, None),
) -> bool:
    r"""Whether a printed mean and SD are possible together for ``n`` values on a grid (GRIMMER).

    For each total ``K`` that GRIM allows, the sum of squares ``Q`` of the
    values (in grid units) must be a whole number with
    :math:`(n - 1)\,s^2 / u^2 = Q - K^2 / n` for some SD ``s`` in the
    rounding interval of the printed SD, of the same parity as ``K``
    (because :math:`k^2 \equiv k \pmod 2`), at least the sum of squares of
    the most equal values with total ``K``, and, with both bounds, at most
    that of the values pushed to the ends of the scale. The SD is the sample
    SD (divisor ``n - 1``).

    Parameters
    ----------
    mean, sd : str or float
        Mean and SD as printed; strings keep trailing zeros.
    n : int
        Sample size, at least 2.
    mean_decimals, sd_decimals : int, optional
        Decimals printed; read from ``mean`` and ``sd`` when they are strings.
    unit : str or float, default 1
        Grid step of the data (1 for whole numbers).
    bounds : pair of (float or None), default (None, None)
        Smallest and largest possible value (on the grid), e.g. ``(0, 10)``
        for a 0-10 pain score.

    Returns
    -------
    bool
        False only when no data on the grid can give both printed values.

    Raises
    ------
    TypeError
        If a float is given without its decimals, or ``n`` is not an integer.
    ValueError
        If ``n`` is below 2, the SD is negative, ``unit`` is not positive, a
        bound is off the grid, a number has more than :data:`MAX_DIGITS`
        digits on a side of the point, or more than :data:`MAX_TOTALS` totals
        fit the mean (each is examined in turn; GRIM is uninformative there).

    See Also
    --------
    grim : the mean alone.

    Notes
    -----
    The conditions are necessary, not sufficient: GRIMMER can pass a
    combination that no data reach (only for very small samples), but it
    never fails one that data reach.

    References
    ----------
    Anaya J (2016). The GRIMMER test: a method for testing the validity of
    reported measures of variability. PeerJ Preprints 4:e2400v1.
    doi:10.7287/peerj.preprints.2400v1

    Examples
    --------
    >>> from bayes_ubpr.audit import grimmer
    >>> grimmer("7.3", "2.51", 12)  # GRIM allows the mean, but no sum of squares fits the SD
    False
    >>> grimmer("1.5", "0.3", 60, bounds=(0, 10))  # whole numbers with mean 1.5 have SD >= 0.5
    False
    >>> grimmer("1.5", "0.5", 60, bounds=(0, 10))
    True
    """
    first_total, last_total, places = _totals(mean, n, decimals=mean_decimals, unit=unit, bounds=bounds, minimum=2)
    centre, half = _printed(sd, sd_decimals, name="sd")
    if centre < 0:
        raise ValueError(f"sd must be >= 0; got {sd!r}")
    count = last_total - first_total + 1
    if count > MAX_TOTALS:
        raise ValueError(f"grimmer: {_too_many(count, mean, n, unit, places)}; GRIMMER is not run on samples so large")
    step = _unit(unit)
    low, high = _grid_bounds(bounds, step)
    sd_low, sd_high = max(centre - half, Fraction(0)), centre + half
    for total in range(first_total, last_total + 1):
        shift = low if low is not None else 0
        shifted = total - n * shift
        # (n - 1) s^2 / u^2 = Q - K^2 / n, in shifted grid units (the SD does not move with the shift)
        q_low = shifted * shifted / Fraction(n) + (n - 1) * (sd_low / step) ** 2
        q_high = shifted * shifted / Fraction(n) + (n - 1) * (sd_high / step) ** 2
        smallest, largest = _sum_of_squares_range(total, n, low, high)
        first = max(math.ceil(q_low), smallest)
        last = math.floor(q_high) if largest == math.inf else min(math.floor(q_high), int(largest))
        if first > last:
            continue
        if first % 2 != shifted % 2:  # sums of squares share the parity of the sum
            first += 1
        if first <= last:
            return True
    return False
