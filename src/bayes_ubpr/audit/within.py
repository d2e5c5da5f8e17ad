"""Checks within each table: every printed number against what the table's other numbers determine.

Each function takes the table *as printed* (string cells, so that ``0.60``
keeps its two decimals) and returns audit rows (see
:data:`bayes_ubpr.audit.AUDIT_COLUMNS`). With no argument it audits the
paper's table; any table with the same columns (a simulated paper, a
corrected copy) can be audited the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from bayes_ubpr.audit._rows import GROUP_SIZE, GROUPS, Check, frame, half_unit, number, printed_table
from bayes_ubpr.audit.granularity import grim, grimmer

__all__ = [
    "check_granularity",
    "check_table4",
    "check_table5",
    "check_time_course",
    "chi_square",
    "t_range",
]

ALTMAN_BLAND = "Altman & Bland 2011, doi:10.1136/bmj.d2090"
GRIM_REF = "GRIM, Brown & Heathers 2017, doi:10.1177/1948550616673876"
GRIMMER_REF = "GRIMMER, Anaya 2016, doi:10.7287/peerj.preprints.2400v1"
SIGNIFICANCE = 0.05
"""The paper's significance level ('P < 0.05 defined as statistically significant')."""

_TABLE4_COLUMNS = [
    "factor",
    "kind",
    "level_1",
    "level_0",
    "satisfactory_mean",
    "satisfactory_sd",
    "unsatisfactory_mean",
    "unsatisfactory_sd",
    "satisfactory_n1",
    "satisfactory_pct1",
    "satisfactory_n0",
    "satisfactory_pct0",
    "unsatisfactory_n1",
    "unsatisfactory_pct1",
    "unsatisfactory_n0",
    "unsatisfactory_pct0",
    "statistic",
    "p",
]
_TABLE5_COLUMNS = ["factor", "B", "SE", "wald", "p", "odds_ratio", "ci_lower", "ci_upper"]
_TIME_COLUMNS = [
    "time",
    "satisfactory_mean",
    "satisfactory_sd",
    "unsatisfactory_mean",
    "unsatisfactory_sd",
    "marked",
]


def _verdict(ok: bool, severity: str = "inconsistent") -> str:
    return "ok" if ok else severity


# --------------------------------------------------------------------------------------------------
# Table 5: OR, CI, Wald and P from B and SE
# --------------------------------------------------------------------------------------------------


def _altman_bland_z(p: float) -> float:
    """Altman & Bland's approximation of the z of a two-sided P (0 for P = 1)."""
    return max(-0.862 + math.sqrt(0.743 - 2.404 * math.log(p)), 0.0)


def _implied_se_range(odds_ratio: float, h_or: float, p: float, h_p: float) -> tuple[float, float]:
    """Smallest and largest |log OR| / z for OR and P anywhere within their rounding."""
    logs = [abs(math.log(max(odds_ratio + d, 1e-300))) for d in (-h_or, h_or)]
    smallest_log = 0.0 if odds_ratio - h_or <= 1 <= odds_ratio + h_or else min(logs)
    z_high = _altman_bland_z(max(p - h_p, 1e-300))
    z_low = _altman_bland_z(min(p + h_p, 1.0))
    return smallest_log / z_high, (max(logs) / z_low if z_low > 0 else math.inf)


def check_table5(table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Recompute Table 5's OR, 95% CI, Wald and P from its B and SE, and its SE from OR and P.

    OR = exp(B), CI = exp(B ± 1.96 SE), Wald = (B / SE)^2 and P from the
    Wald statistic, each within the rounding that the printed digits of
    both sides allow (propagated to first order); and the SE implied by the
    OR and P alone (Altman & Bland 2011): the printed SE within 10% of the
    range of SEs that OR and P allow anywhere within their rounding, or, for
    a printed P of 0.000 (P < 0.0005), at most 1/0.9 of the implied bound.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        Table 5 as printed (string cells, columns ``factor``, ``B``, ``SE``,
        ``wald``, ``p``, ``odds_ratio``, ``ci_lower``, ``ci_upper``);
        default the paper's.

    Returns
    -------
    pandas.DataFrame
        Six audit rows per factor.

    Raises
    ------
    TypeError, ValueError
        If ``table`` is not a DataFrame or lacks a column.

    References
    ----------
    Altman DG, Bland JM (2011). How to obtain the confidence interval from a
    P value. BMJ 343:d2090. doi:10.1136/bmj.d2090

    Examples
    --------
    >>> from bayes_ubpr.audit.within import check_table5
    >>> rows = check_table5()
    >>> len(rows), sorted(rows["severity"].unique())
    (36, ['ok'])
    """
    from bayes_ubpr.paper import as_printed

    text = printed_table(as_printed("table5") if table is None else table, name="table5", required=_TABLE5_COLUMNS)
    z = stats.norm.ppf(0.975)
    checks: list[Check] = []
    for factor, row in text.iterrows():
        b, se, wald, p = number(row["B"]), number(row["SE"]), number(row["wald"]), number(row["p"])
        db, dse = half_unit(row["B"]), half_unit(row["SE"])
        candidates = [
            ("odds_ratio = exp(B)", "odds_ratio", math.exp(b), math.exp(b) * db),
            ("ci_lower = exp(B - 1.96 SE)", "ci_lower", math.exp(b - z * se), math.exp(b - z * se) * (db + z * dse)),
            ("ci_upper = exp(B + 1.96 SE)", "ci_upper", math.exp(b + z * se), math.exp(b + z * se) * (db + z * dse)),
            ("wald = (B / SE)^2", "wald", (b / se) ** 2, 2 * abs(b) / se**2 * db + 2 * b**2 / se**3 * dse),
        ]
        for quantity, column, recomputed, propagated in candidates:
            shown = number(row[column])
            tolerance = propagated + half_unit(row[column])
            ok = abs(shown - recomputed) <= tolerance
            reason = (
                "agrees within the rounding of the printed digits"
                if ok
                else f"differs by {shown - recomputed:+.4g}, more than rounding ({tolerance:.2g}) allows"
            )
            verdict = "agrees within rounding" if ok else "differs beyond rounding"
            checks.append(Check("Table 5", quantity, str(factor), shown, recomputed, verdict, _verdict(ok), reason))
        p_from_wald = float(stats.chi2.sf(wald, df=1))
        # the printed Wald statistic is rounded too: P may be anything its rounding interval gives
        ok = _p_within(p, row["p"], _p_range(wald, half_unit(row["wald"]), lambda w: stats.chi2.sf(w, df=1)))
        reason = (
            "P printed as 0.000 means P < 0.0005"
            if p == 0 and ok
            else ("agrees" if ok else "P does not follow from the printed Wald statistic")
        )
        checks.append(
            Check(
                "Table 5",
                "p = P(chi2_1 > wald)",
                str(factor),
                p,
                p_from_wald,
                "agrees within rounding" if ok else "differs beyond rounding",
                _verdict(ok),
                reason,
            )
        )
        odds_ratio = number(row["odds_ratio"])
        bound = p == 0
        z_from_p = _altman_bland_z(0.0005 if bound else p)
        implied = abs(math.log(odds_ratio)) / z_from_p if z_from_p > 0 else math.inf
        if bound:
            # the same 10% allowance as below, for the approximation and the rounding of the printed OR
            ok = implied >= 0.9 * se
            reason = (
                "P < 0.0005 bounds the SE from above; the printed SE respects the bound (within 10%)"
                if ok
                else "the printed SE is more than 10% too large for P < 0.0005"
            )
        else:
            # the SEs that OR and P allow anywhere within their rounding, widened by 10% for the approximation
            low, high = _implied_se_range(odds_ratio, half_unit(row["odds_ratio"]), p, half_unit(row["p"]))
            ok = low / 1.1 <= se <= high * 1.1
            reason = (
                f"within 10% of the SEs {low:.3g} to {high:.3g} that OR and P allow within their rounding"
                if ok
                else f"outside the SEs {low:.3g} to {high:.3g} (widened by 10%) that OR and P allow within rounding"
            )
        checks.append(
            Check(
                "Table 5",
                "SE implied by OR and P (Altman & Bland 2011)",
                str(factor),
                se,
                implied,
                "agrees" if ok else "disagrees",
                _verdict(ok),
                f"{reason} ({ALTMAN_BLAND})",
                assumption="Altman & Bland's approximation of z from P, accurate to a few percent",
            )
        )
    return frame(checks)


# --------------------------------------------------------------------------------------------------
# Table 4: percentages, chi-square and t from the printed summaries, and P from the statistics
# --------------------------------------------------------------------------------------------------


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


def _p_range(statistic: float, half: float, tail: Callable[[float], float]) -> tuple[float, float]:
    """Smallest and largest P that a statistic anywhere within its rounding gives (P falls as it grows)."""
    return float(tail(statistic + half)), float(tail(max(statistic - half, 0.0)))


def _p_within(p: float, printed: str, ends: tuple[float, float]) -> bool:
    """Whether a printed P is the rounding of some P in ``ends``."""
    h = half_unit(printed)
    return ends[0] - h - 1e-12 <= p <= ends[1] + h + 1e-12


def _summaries(row: pd.Series) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float, float, float]]:
    columns = [f"{g}_{s}" for s in ("mean", "sd") for g in GROUPS]
    m0, m1, s0, s1 = (number(row[c]) for c in columns)
    return (m0, m1), (s0, s1), tuple(half_unit(row[c]) for c in columns)  # type: ignore[return-value]


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
                    _verdict(ok),
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
            _verdict(ok),
            reason,
            assumption="Pearson's chi-square with or without Yates' correction (either is accepted)",
        )
    )
    return checks, float(stats.chi2.sf(shown, df=1))


def _table4_continuous(factor: str, row: pd.Series) -> tuple[list[Check], float]:
    means, sds, halves = _summaries(row)
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
        _verdict(ok),
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

    text = printed_table(as_printed("table4") if table is None else table, name="table4", required=_TABLE4_COLUMNS)
    checks: list[Check] = []
    for factor, row in text.iterrows():
        binary = row["kind"] == "binary"
        rows, p_from_statistic = (_table4_binary if binary else _table4_continuous)(str(factor), row)
        checks += rows
        statistic, h, p = abs(number(row["statistic"])), half_unit(row["statistic"]), number(row["p"])
        if binary:
            ends = _p_range(statistic, h, lambda x: stats.chi2.sf(x, df=1))
        else:
            ends = _p_range(statistic, h, lambda x: 2 * stats.t.sf(x, df=2 * GROUP_SIZE - 2))
        ok = _p_within(p, row["p"], ends)
        checks.append(
            Check(
                "Table 4",
                "p from the printed statistic",
                str(factor),
                p,
                p_from_statistic,
                "agrees within rounding" if ok else "differs beyond rounding",
                _verdict(ok),
                "agrees" if ok else "P does not follow from the printed statistic",
                assumption="chi-square with 1 df; t with 118 df (Student, 60 + 60 patients)",
            )
        )
    return frame(checks)


# --------------------------------------------------------------------------------------------------
# Tables 2 and 3: the significance markers against t tests from the printed summaries
# --------------------------------------------------------------------------------------------------

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
    text = printed_table(raw, name=sources[name], required=_TIME_COLUMNS)
    checks = []
    for time, row in text.iterrows():
        marked = str(row["marked"]).strip().lower() in {"true", "1", "*", "yes"}
        means, sds, halves = _summaries(row)
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


# --------------------------------------------------------------------------------------------------
# GRIM and GRIMMER for summaries of whole-number data
# --------------------------------------------------------------------------------------------------

#: Summaries that could come from whole-number data: (table, source, factor or time, quantity label,
#: bounds, assumption). Table 4's BMD T-scores and cement volumes are measured to a decimal and left out.
_WHOLE_NUMBER_SUMMARIES: dict[str, tuple[tuple[int | None, int | None], str]] = {
    "age": ((None, None), "ages recorded in whole years"),
    "height_cm": ((None, None), "heights recorded in whole centimetres"),
    "weight_kg": ((None, None), "weights recorded in whole kilograms"),
    "n_fractures": ((1, None), "the number of fractures is a count of at least 1"),
}
_VAS = ((0, 10), "VAS recorded as whole numbers 0-10 (if read to 0.1 on a 100 mm line, these rows do not apply)")
_ODI = ((0, 100), "ODI recorded as a whole-number percentage 0-100")
#: Lower bounds that the paper's own criteria put on Table 2 (whole-number VAS): the inclusion
#: criterion (VAS > 6 before surgery) and the UBPR definition (VAS > 4 immediately and at 1 month).
_VAS_CRITERIA = {
    ("preoperative", "satisfactory"): (7, "inclusion criterion VAS > 6 (Table 1)"),
    ("preoperative", "unsatisfactory"): (7, "inclusion criterion VAS > 6 (Table 1)"),
    ("immediate", "unsatisfactory"): (5, "UBPR defined as VAS > 4 immediately after the operation"),
    ("1_month", "unsatisfactory"): (5, "UBPR defined as VAS > 4 one month after the operation"),
}


def _granularity_checks(
    table: str, factor: str, group: str, mean: str, sd: str, bounds: tuple[int | None, int | None], assumption: str
) -> list[Check]:
    checks = []
    mean_ok = grim(mean, GROUP_SIZE, bounds=bounds)
    checks.append(
        Check(
            table,
            f"GRIM: {group} mean",
            factor,
            number(mean),
            number(mean) * GROUP_SIZE,
            "possible" if mean_ok else "no whole-number total gives it",
            _verdict(mean_ok),
            (
                f"{GROUP_SIZE} x {mean} = {number(mean) * GROUP_SIZE:.2f}; "
                + (
                    "a whole-number total rounds to the printed mean"
                    if mean_ok
                    else "no whole number / 60 rounds to it"
                )
                + f" ({GRIM_REF})"
            ),
            assumption=assumption,
        )
    )
    if not mean_ok:  # GRIMMER needs a GRIM-consistent mean; its row would only repeat the GRIM finding
        return checks
    sd_ok = grimmer(mean, sd, GROUP_SIZE, bounds=bounds)
    checks.append(
        Check(
            table,
            f"GRIMMER: {group} SD",
            factor,
            number(sd),
            math.nan,
            "possible" if sd_ok else "no whole-number data give mean and SD",
            _verdict(sd_ok),
            (
                ("some" if sd_ok else "no")
                + f" {GROUP_SIZE} whole numbers"
                + (f" in {bounds[0]}..{bounds[1] if bounds[1] is not None else ''}" if bounds[0] is not None else "")
                + f" have mean {mean} and SD {sd} within rounding"
                + ("" if sd_ok else " (no whole sum of squares of the right parity fits)")
                + f" ({GRIMMER_REF})"
            ),
            assumption=assumption,
        )
    )
    return checks


def check_granularity(
    table4: pd.DataFrame | None = None, table2: pd.DataFrame | None = None, table3: pd.DataFrame | None = None
) -> pd.DataFrame:
    """GRIM and GRIMMER for every mean and SD in Tables 2-4 that could come from whole-number data.

    Table 4: age (whole years), height (whole cm), weight (whole kg) and the
    number of fractures (a count of at least 1). Table 2: the VAS (whole
    numbers 0-10), also with the lower bounds the paper's inclusion
    criterion (VAS > 6 before surgery) and UBPR definition (VAS > 4
    immediately and at one month, cases only) impose. Table 3: the ODI
    (whole-number percent). Each row states the assumption it rests on;
    BMD T-scores and cement volumes, measured to a decimal, are not tested.

    Parameters
    ----------
    table4, table2, table3 : pandas.DataFrame, optional
        The tables as printed (string cells); default the paper's.

    Returns
    -------
    pandas.DataFrame
        A GRIM row and (when the mean passes GRIM) a GRIMMER row per group
        and quantity, then the criterion rows for Table 2.

    Raises
    ------
    TypeError, ValueError
        If a table is not a DataFrame or lacks a column.

    References
    ----------
    Brown NJL, Heathers JAJ (2017). The GRIM test. Social Psychological and
    Personality Science 8(4):363-369. doi:10.1177/1948550616673876

    Anaya J (2016). The GRIMMER test. PeerJ Preprints 4:e2400v1.
    doi:10.7287/peerj.preprints.2400v1

    Examples
    --------
    >>> from bayes_ubpr.audit.within import check_granularity
    >>> rows = check_granularity().set_index(["quantity", "factor"])
    >>> rows.loc[("GRIM: satisfactory mean", "age"), "severity"]
    'inconsistent'
    """
    from bayes_ubpr.paper import as_printed

    loaded: dict[str, pd.DataFrame] = {}
    for key, given, columns in (
        ("table4", table4, _TABLE4_COLUMNS),
        ("table2", table2, _TIME_COLUMNS),
        ("table3", table3, _TIME_COLUMNS),
    ):
        loaded[key] = printed_table(as_printed(key) if given is None else given, name=key, required=columns)
    checks: list[Check] = []
    for factor, (bounds, assumption) in _WHOLE_NUMBER_SUMMARIES.items():
        if factor not in loaded["table4"].index:
            continue
        row = loaded["table4"].loc[factor]
        for group in GROUPS:
            checks += _granularity_checks(
                "Table 4", factor, group, row[f"{group}_mean"], row[f"{group}_sd"], bounds, assumption
            )
    for key, label, (bounds, assumption) in (("table2", "Table 2", _VAS), ("table3", "Table 3", _ODI)):
        for time, row in loaded[key].iterrows():
            for group in GROUPS:
                checks += _granularity_checks(
                    label, str(time), group, row[f"{group}_mean"], row[f"{group}_sd"], bounds, assumption
                )
    for (time, group), (low, criterion) in _VAS_CRITERIA.items():
        if time in loaded["table2"].index:
            row = loaded["table2"].loc[time]
            checks.append(_criterion_check(time, group, row[f"{group}_mean"], row[f"{group}_sd"], low, criterion))
    return frame(checks)


def _criterion_check(time: str, group: str, mean: str, sd: str, low: int, criterion: str) -> Check:
    """Whether whole-number VAS of at least ``low`` (as a criterion of the paper demands) give mean and SD."""
    high = _VAS[0][1]
    ok = grimmer(mean, sd, GROUP_SIZE, bounds=(low, high))
    if ok:
        detail = f"some {GROUP_SIZE} whole numbers in {low}..{high} have mean {mean} and SD {sd}"
    elif number(mean) + half_unit(mean) < low:
        detail = f"the printed mean {mean} is below {low}, the smallest value the criterion allows"
    else:
        detail = f"no {GROUP_SIZE} whole numbers in {low}..{high} have mean {mean} and SD {sd}"
    return Check(
        "Table 2",
        f"{group} mean and SD with every VAS >= {low}",
        time,
        number(mean),
        float(low),
        "possible" if ok else "impossible under the criterion",
        _verdict(ok),
        f"{criterion}: {detail} ({GRIMMER_REF})",
        assumption=f"{_VAS[1]}; {criterion}",
    )


CHECKS: dict[str, Callable[..., pd.DataFrame]] = {
    "table5": check_table5,
    "table4": check_table4,
    "time_course": check_time_course,
    "granularity": check_granularity,
}
