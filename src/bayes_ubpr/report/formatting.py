"""Numbers as a report shows them: significant digits, percents, thousands separators, never ``nan`` or ``1e+03``.

Display only: stored values keep full precision (STYLE.md, "Display"). Three
significant digits are what the Monte Carlo error of a few thousand posterior
draws supports for an odds ratio or a risk.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = [
    "DASH",
    "count",
    "interval",
    "intervals",
    "odds_ratio",
    "percent",
    "probability",
    "rhat",
    "significant",
]

DASH = "–"
"""What a report shows for a missing value: an en dash, never ``nan`` or ``None``."""


def _missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def significant(value: object, digits: int = 3) -> str:
    """Return ``value`` to ``digits`` significant digits in plain decimal notation.

    Numbers of ``digits`` or more integer digits are rounded (to tens,
    hundreds, ...) and written whole with thousands separators; nothing is
    ever written in scientific notation.

    Examples
    --------
    >>> significant(0.000264), significant(1.1), significant(5473.2), significant(-0.0456), significant(None)
    ('0.000264', '1.10', '5,470', '-0.0456', '–')
    """
    if _missing(value):
        return DASH
    x = float(value)  # type: ignore[arg-type]
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else ("∞" if x > 0 else "-∞")
    magnitude = math.floor(math.log10(abs(x)))
    decimals = digits - 1 - magnitude
    if decimals <= 0:
        return f"{round(x, decimals):,.0f}"
    text = f"{x:,.{decimals}f}"
    if magnitude < digits - 1 and abs(float(text.replace(",", ""))) >= 10 ** (magnitude + 1):
        text = f"{x:,.{max(decimals - 1, 0)}f}"  # 9.996 rounds up to 10.0: keep three digits, not four
    return text


def count(value: object) -> str:
    """Return a whole number with thousands separators (an effective sample size, a number of patients).

    Examples
    --------
    >>> count(5473.6), count(112), count(float("nan"))
    ('5,474', '112', '–')
    """
    return DASH if _missing(value) else f"{round(float(value)):,}"  # type: ignore[arg-type]


_WORDS = ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"))


def odds_ratio(value: object) -> str:
    """Return an odds ratio: three significant digits; a tiny one as ``1/N``, a huge one in words.

    Examples
    --------
    >>> odds_ratio(2.0123), odds_ratio(0.0451), odds_ratio(0.000394), odds_ratio(2540.3), odds_ratio(3.2e7)
    ('2.01', '0.0451', '1/2,540', '2,540', '32 million')
    """
    if _missing(value):
        return DASH
    x = float(value)  # type: ignore[arg-type]
    if x <= 0:
        return significant(x)
    if x < 0.01:
        return f"1/{odds_ratio(1 / x)}"
    for size, word in _WORDS:
        if x >= size:
            return f"{significant(x / size, 2 if x / size < 100 else 3)} {word}"
    return significant(x)


def percent(value: object) -> str:
    """Return a risk in percent: one decimal below 10% and above 99%, whole percents between, bounded at the ends.

    Examples
    --------
    >>> percent(0.0155), percent(0.676), percent(0.0004), percent(0.9996), percent(None)
    ('1.6%', '68%', '<0.1%', '>99.9%', '–')
    """
    if _missing(value):
        return DASH
    x = 100 * float(value)  # type: ignore[arg-type]
    if x < 0.1:
        return "0%" if x <= 0 else "<0.1%"
    if x > 99.9:
        return "100%" if x >= 100 else ">99.9%"
    if x < 10 or x > 99:
        return f"{x:.1f}%"
    return f"{x:.0f}%"


def probability(value: object, *, limit: float = 0.001) -> str:
    """Return a probability to three decimals, as ``>0.999`` / ``<0.001`` where rounding would say 1 or 0.

    Examples
    --------
    >>> probability(0.9995), probability(0.00025), probability(0.886), probability(float("nan"))
    ('>0.999', '<0.001', '0.886', '–')
    """
    if _missing(value):
        return DASH
    x = float(value)  # type: ignore[arg-type]
    if x > 1 - limit:
        return f">{1 - limit:.3f}"
    if x < limit:
        return f"<{limit:.3f}"
    return f"{x:.3f}"


def rhat(value: object) -> str:
    """Return an R-hat to three decimals (the 1.01 threshold needs them).

    Examples
    --------
    >>> rhat(1.01632), rhat(0.99999)
    ('1.016', '1.000')
    """
    return DASH if _missing(value) else f"{float(value):.3f}"  # type: ignore[arg-type]


def interval(center: object, lower: object, upper: object, number: Callable[[object], str] = significant) -> str:
    """Return ``"center (lower to upper)"``, each by ``number``; a dash if the centre is missing.

    "to" rather than a dash, which would read as a minus sign beside a negative bound.

    Examples
    --------
    >>> interval(1.634, 0.737, 3.83), interval(0.0442, 0.0202, 0.0932, percent)
    ('1.63 (0.737 to 3.83)', '4.4% (2.0% to 9.3%)')
    """
    if _missing(center):
        return DASH
    return f"{number(center)} ({number(lower)} to {number(upper)})"


def intervals(values: object, number: Callable[[object], str] = significant) -> list[str]:
    """Return :func:`interval` of each row of a (rows, 3) array or frame: centre, lower, upper.

    Examples
    --------
    >>> intervals([[1.634, 0.737, 3.83], [float("nan"), 0.1, 0.2]])
    ['1.63 (0.737 to 3.83)', '–']
    """
    return [interval(c, lo, hi, number) for c, lo, hi in np.asarray(values, dtype=float)]
