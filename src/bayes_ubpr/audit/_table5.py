"""Table 5 against itself: OR, CI, Wald and P from B and SE, and the SE that OR and P imply.

:func:`check_table5`, public through :mod:`bayes_ubpr.audit.within`.
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from bayes_ubpr.audit._rows import Check, frame, half_unit, number, printed_table
from bayes_ubpr.audit._tables import p_range, p_within, severity_of

ALTMAN_BLAND = "Altman & Bland 2011, doi:10.1136/bmj.d2090"

_TABLE5_COLUMNS = ["factor", "B", "SE", "wald", "p", "odds_ratio", "ci_lower", "ci_upper"]


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
            checks.append(Check("Table 5", quantity, str(factor), shown, recomputed, verdict, severity_of(ok), reason))
        p_from_wald = float(stats.chi2.sf(wald, df=1))
        # the printed Wald statistic is rounded too: P may be anything its rounding interval gives
        ok = p_within(p, row["p"], p_range(wald, half_unit(row["wald"]), lambda w: stats.chi2.sf(w, df=1)))
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
                severity_of(ok),
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
                severity_of(ok),
                f"{reason} ({ALTMAN_BLAND})",
                assumption="Altman & Bland's approximation of z from P, accurate to a few percent",
            )
        )
    return frame(checks)
