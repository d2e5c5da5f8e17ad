"""Tables 2 and 3: the significance markers against t tests from the printed summaries.

:func:`check_time_course`, public through :mod:`bayes_ubpr.audit.within`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from bayes_ubpr.audit._rows import GROUP_SIZE, Check, frame, printed_table
from bayes_ubpr.audit._table4 import t_range
from bayes_ubpr.audit._tables import TIME_COLUMNS, summaries

SIGNIFICANCE = 0.05
"""The paper's significance level ('P < 0.05 defined as statistically significant')."""

_GRID = 24
"""Midpoints per dimension of the grid over the rounding box (24^4 = 331,776 points)."""


def _significant_share(means: tuple[float, float], sds: tuple[float, float], halves: tuple[float, ...]) -> float:
    """Share of the rounding box (means and SDs uniform within their rounding) where Student's P < 0.05."""
    offsets = (np.arange(_GRID) + 0.5) / _GRID * 2 - 1  # midpoints of [-1, 1]
    m0 = means[0] + halves[0] * offsets
    m1 = means[1] + halves[1] * offsets
    s0 = np.maximum(sds[0] + halves[2] * offsets, 1e-9)
    s1 = np.maximum(sds[1] + halves[3] * offsets, 1e-9)
    diff = np.abs(m1[:, None] - m0[None, :]).ravel()
    se = np.sqrt((s0[:, None] ** 2 + s1[None, :] ** 2).ravel() / GROUP_SIZE)
    t = diff[:, None] / se[None, :]
    critical = stats.t.ppf(1 - SIGNIFICANCE / 2, df=2 * GROUP_SIZE - 2)
    return float(np.mean(t > critical))


def check_time_course(table: pd.DataFrame | None = None, *, name: str = "Table 2") -> pd.DataFrame:
    """Check the * markers (P < 0.05) of Table 2 or 3 against t tests from the printed means and SDs.

    For each time point the two groups' means and SDs give Student's and
    Welch's t (equal for groups of 60; Student's has 118 df, Welch's
    between 59 and 118). A marker is *inconsistent* when no means and SDs
    within the rounding of the printed ones give the marked verdict, and
    *implausible* when fewer than 5% of the rounding box does (means and SDs
    spread uniformly within their rounding); ``probability`` is that share.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        The table as printed (string cells; columns ``time``,
        ``satisfactory_mean``, ``satisfactory_sd``, ``unsatisfactory_mean``,
        ``unsatisfactory_sd``, ``marked``); default the paper's Table 2 or 3.
    name : {"Table 2", "Table 3"}, default "Table 2"
        Which table (only used to pick the paper's and to label rows).

    Returns
    -------
    pandas.DataFrame
        One audit row per time point.

    Raises
    ------
    TypeError, ValueError
        If ``table`` is not a DataFrame, lacks a column, or ``name`` is unknown.

    Examples
    --------
    >>> from bayes_ubpr.audit.within import check_time_course
    >>> rows = check_time_course(name="Table 2").set_index("factor")
    >>> rows.loc["12_months", "severity"], round(float(rows.loc["12_months", "recomputed"]), 2)
    ('implausible', 4.3)
    """
    from bayes_ubpr.paper import as_printed

    sources = {"Table 2": "table2", "Table 3": "table3"}
    if name not in sources:
        raise ValueError(f"name must be one of {', '.join(map(repr, sources))}; got {name!r}")
    raw = as_printed(sources[name]) if table is None else table
    text = printed_table(raw, name=sources[name], required=TIME_COLUMNS)
    checks = []
    for time, row in text.iterrows():
        marked = str(row["marked"]).strip().lower() in {"true", "1", "*", "yes"}
        means, sds, halves = summaries(row)
        welch, _, low, high = t_range(means, sds, halves)
        df_low = GROUP_SIZE - 1  # smallest Welch df for two groups of 60
        p_high = float(2 * stats.t.sf(low, df=df_low))
        p_low = float(2 * stats.t.sf(high, df=2 * GROUP_SIZE - 2))
        share = _significant_share(means, sds, halves)
        agreeing = share if marked else 1 - share
        possible = p_low < SIGNIFICANCE if marked else p_high >= SIGNIFICANCE
        p_centre = float(2 * stats.t.sf(abs(welch), df=2 * GROUP_SIZE - 2))
        claim = "marked * (P < 0.05)" if marked else "not marked (P >= 0.05)"
        if not possible:
            severity, verdict, probability = "inconsistent", "impossible within rounding", math.nan
        elif agreeing < SIGNIFICANCE:
            severity, verdict, probability = "implausible", "possible only at the edge of rounding", agreeing
        else:
            severity, verdict, probability = "ok", "agrees", math.nan
        reason = (
            f"{claim}; the printed summaries give |t| = {abs(welch):.2f} (P = {p_centre:.2g}), and "
            f"{low:.2f} to {high:.2f} (P {p_low:.2g} to {p_high:.2g}) within rounding; "
            f"{100 * agreeing:.1f}% of the rounding box agrees with the marker"
        )
        checks.append(
            Check(
                name,
                "marker against the t test from means and SDs",
                str(time),
                float(marked),
                abs(welch),
                verdict,
                severity,
                reason,
                assumption=(
                    f"{GROUP_SIZE} patients per group, independent-samples t test (Student or Welch); "
                    "means and SDs uniform within their rounding"
                ),
                probability=probability,
            )
        )
    return frame(checks)
