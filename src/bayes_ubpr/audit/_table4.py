"""Table 4 against itself: percentages, chi-square and t from the printed summaries, and P from the statistics.

:func:`check_table4` and its kernels :func:`chi_square` and :func:`t_range`,
public through :mod:`bayes_ubpr.audit.within`.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from bayes_ubpr.audit._rows import GROUP_SIZE, GROUPS, Check, frame, half_unit, number, printed_table
from bayes_ubpr.audit._tables import TABLE4_COLUMNS, p_range, p_within, severity_of, summaries


def chi_square(table: list[list[int]], *, yates: bool) -> float:
    """Pearson's chi-square of a 2x2 table of counts, with or without Yates' continuity correction.

    Parameters
    ----------
    table : list of two lists of two int
        ``[[a, b], [c, d]]``.
    yates : bool
        Subtract n/2 from ``|ad - bc|`` (not below 0) first.

    Returns
    -------
    float
        The statistic; NaN when a margin is empty.

    Examples
    --------
    >>> from bayes_ubpr.audit.within import chi_square
    >>> round(chi_square([[17, 43], [43, 17]], yates=False), 3)
    22.533
    """
    (a, b), (c, d) = table
    n = a + b + c + d
    difference = float(abs(a * d - b * c))
    if yates:
        difference = max(0.0, difference - n / 2)
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    return n * difference**2 / denominator if denominator else float("nan")


def t_range(
    means: tuple[float, float],
    sds: tuple[float, float],
    half_units: tuple[float, float, float, float],
    *,
    n: int = GROUP_SIZE,
) -> tuple[float, float, float, float]:
    """Welch and pooled t of two groups of ``n``, and the range of |t| the rounding of the summaries allows.

    Parameters
    ----------
    means, sds : pair of float
        Means and SDs of the satisfactory and the unsatisfactory group.
    half_units : four floats
        Half a unit of the last printed digit of the two means and the two SDs.
    n : int, default 60
        Patients per group.

    Returns
    -------
    welch, pooled, low, high : float
        The two t statistics (unsatisfactory minus satisfactory) and the
        smallest and largest |t| (Welch) for means and SDs anywhere within
        their rounding.

    Examples
    --------
    >>> from bayes_ubpr.audit.within import t_range
    >>> welch, pooled, low, high = t_range((3.04, 3.29), (0.25, 0.33), (0.005,) * 4)
    >>> round(welch, 3), round(low, 2), round(high, 2)
    (4.677, 4.42, 4.95)
    """
    (m0, m1), (s0, s1) = means, sds
    dm0, dm1, ds0, ds1 = half_units
    welch = (m1 - m0) / math.sqrt(s0**2 / n + s1**2 / n)
    pooled_sd = math.sqrt(((n - 1) * s0**2 + (n - 1) * s1**2) / (2 * n - 2))
    pooled = (m1 - m0) / (pooled_sd * math.sqrt(2 / n))
    spread = abs(m1 - m0)
    low = max(spread - dm0 - dm1, 0.0) / math.sqrt((s0 + ds0) ** 2 / n + (s1 + ds1) ** 2 / n)
    high = (spread + dm0 + dm1) / math.sqrt(max(s0 - ds0, 1e-9) ** 2 / n + max(s1 - ds1, 1e-9) ** 2 / n)
    return welch, pooled, low, high


def _table4_binary(factor: str, row: pd.Series) -> tuple[list[Check], float]:
    checks = []
    for group in GROUPS:
        for level in ("1", "0"):
            count, pct = int(number(row[f"{group}_n{level}"])), number(row[f"{group}_pct{level}"])
            recomputed = 100 * count / GROUP_SIZE
            ok = abs(recomputed - pct) <= 0.05 + 1e-9
            checks.append(
                Check(
                    "Table 4",
                    f"{group} % of {row[f'level_{level}']}",
                    factor,
                    pct,
                    recomputed,
                    "agrees within rounding" if ok else "differs beyond rounding",
                    severity_of(ok),
                    "agrees" if ok else "percentage does not match count / 60",
                )
            )
    counts = [[int(number(row[f"{g}_n{level}"])) for level in ("1", "0")] for g in GROUPS]
    plain, yates = chi_square(counts, yates=False), chi_square(counts, yates=True)
    shown = number(row["statistic"])
    ok = min(abs(plain - shown), abs(yates - shown)) <= half_unit(row["statistic"])
    reason = "agrees" if ok else f"the 2x2 counts give {plain:.3f} ({yates:.3f} with Yates' correction)"
    checks.append(
        Check(
            "Table 4",
            "chi2 from the 2x2 counts",
            factor,
            shown,
            plain,
            "agrees within rounding" if ok else "differs beyond rounding",
            severity_of(ok),
            reason,
            assumption="Pearson's chi-square with or without Yates' correction (either is accepted)",
        )
    )
    return checks, float(stats.chi2.sf(shown, df=1))


def _table4_continuous(factor: str, row: pd.Series) -> tuple[list[Check], float]:
    means, sds, halves = summaries(row)
    welch, pooled, low, high = t_range(means, sds, halves)
    shown = abs(number(row["statistic"]))
    h = half_unit(row["statistic"])
    ok = low - h <= shown <= high + h
    reason = (
        "inside the range the rounded means and SDs allow"
        if ok
        else f"outside the range {low:.3f} to {high:.3f} that the rounded means and SDs allow "
        f"(pooled |t| {abs(pooled):.3f})"
    )
    check = Check(
        "Table 4",
        "|t| from means and SDs (Welch)",
        factor,
        shown,
        abs(welch),
        "inside the rounding range" if ok else "outside the rounding range",
        severity_of(ok),
        reason,
        assumption=f"{GROUP_SIZE} patients per group; Welch and Student t coincide for equal groups",
    )
    return [check], float(2 * stats.t.sf(shown, df=2 * GROUP_SIZE - 2))


def check_table4(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Recompute Table 4's percentages, chi-squares, t statistics and P values from its own numbers.

    Percentages against count / 60; each chi-square against its 2x2 counts
    (Pearson's, with or without Yates' correction); each |t| against the
    range of Welch t that the group means and SDs allow within their
    rounding; and each P against its printed statistic (chi-square with 1
    df, t with 118 df), allowing the change in P that the statistic's last
    digit makes.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        Table 4 as printed (string cells, the columns of
        :func:`bayes_ubpr.paper.table4`); default the paper's.

    Returns
    -------
    pandas.DataFrame
        Audit rows: six per binary factor, two per continuous or count factor.

    Raises
    ------
    TypeError, ValueError
        If ``table`` is not a DataFrame or lacks a column.

    Examples
    --------
    >>> from bayes_ubpr.audit.within import check_table4
    >>> rows = check_table4().set_index(["quantity", "factor"])
    >>> rows.loc[("chi2 from the 2x2 counts", "fascia_injury"), "severity"]
    'inconsistent'
    """
    from bayes_ubpr.paper import as_printed

    text = printed_table(as_printed("table4") if table is None else table, name="table4", required=TABLE4_COLUMNS)
    checks: list[Check] = []
    for factor, row in text.iterrows():
        binary = row["kind"] == "binary"
        rows, p_from_statistic = (_table4_binary if binary else _table4_continuous)(str(factor), row)
        checks += rows
        statistic, h, p = abs(number(row["statistic"])), half_unit(row["statistic"]), number(row["p"])
        if binary:
            ends = p_range(statistic, h, lambda x: stats.chi2.sf(x, df=1))
        else:
            ends = p_range(statistic, h, lambda x: 2 * stats.t.sf(x, df=2 * GROUP_SIZE - 2))
        ok = p_within(p, row["p"], ends)
        checks.append(
            Check(
                "Table 4",
                "p from the printed statistic",
                str(factor),
                p,
                p_from_statistic,
                "agrees within rounding" if ok else "differs beyond rounding",
                severity_of(ok),
                "agrees" if ok else "P does not follow from the printed statistic",
                assumption="chi-square with 1 df; t with 118 df (Student, 60 + 60 patients)",
            )
        )
    return frame(checks)
