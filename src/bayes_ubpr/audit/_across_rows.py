"""Audit rows (:data:`bayes_ubpr.audit.AUDIT_COLUMNS`) from the results of the cross-table checks."""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from bayes_ubpr.audit._copula import CORRELATED
from bayes_ubpr.audit._fits import INDEPENDENCE
from bayes_ubpr.audit._rows import Check

CROSS_TABLE = "Table 4 vs Table 5"
SIMULATED_FROM = {"printed": "Table 4", "implied": "Table 5's world"}


def _tail(z: float) -> float:
    """Two-sided normal tail probability of ``z``."""
    return float(2 * stats.norm.sf(abs(z)))


def implied_checks(result: pd.DataFrame) -> list[Check]:
    """Rows of :func:`implied_case_group` (independent factors)."""
    checks = []
    for row in result.itertuples(index=False):
        ok = bool(row.consistent)
        checks.append(
            Check(
                CROSS_TABLE,
                f"case {row.statistic} implied by the ORs (tilted control law)",
                str(row.factor),
                float(row.case_printed),
                float(row.case_implied),
                "within sampling error" if ok else "beyond sampling error",
                "ok" if ok else "implausible",
                str(row.reason),
                assumption=INDEPENDENCE,
                probability=math.nan if ok else _tail(float(row.z_simulated)),
            )
        )
    return checks


def correlation_checks(result: pd.DataFrame) -> list[Check]:
    """Rows of :func:`implied_case_group_by_correlation`: a factor is implausible only if flagged at every rho.

    A factor flagged with independent factors but not at some correlation is a
    note; one flagged only at some correlations is ok (the flag then speaks
    against that correlation, not against the paper). A last row says whether
    one correlation fits all six factors at once.
    """
    checks = []
    low, high = result["correlation"].min(), result["correlation"].max()
    span = f"within-group correlation {low:g} to {high:g}"
    used = result.attrs.get("by_correlation", {})
    excluded = ", ".join(f"{r:g}: {v['n_excluded']}" for r, v in used.items())
    tail = (
        f"; replicates excluded for separation by correlation: {excluded} of {result.attrs.get('n_replicates')}"
        if used
        else ""
    )
    for factor, rows in result.groupby("factor", sort=False):
        rows = rows.sort_values("correlation")
        first = rows.iloc[0]
        flagged = ~rows["consistent"].to_numpy()
        zs = ", ".join(f"{r:g}: {z:+.1f}" for r, z in zip(rows["correlation"], rows["z_simulated"], strict=True))
        probability = math.nan
        if flagged.all():
            least = rows.loc[rows["z_simulated"].abs().idxmin()]
            severity, verdict = "implausible", f"beyond sampling error at every {span}"
            probability = _tail(float(least.z_simulated))
            reason = f"the printed case {first.statistic} stays beyond the sampling error at every correlation"
        elif flagged[0]:
            cleared = rows.loc[~flagged, "correlation"].min()
            severity, verdict = "note", f"flagged at independence, not at correlation {cleared:g}"
            reason = f"flagged with independent factors; a within-group correlation of {cleared:g} removes the flag"
        else:
            severity, verdict = "ok", f"within sampling error at some {span}"
            reason = f"the printed case {first.statistic} is within the sampling error with independent factors"
            if flagged.any():
                reason += (
                    f" (flagged from correlation {rows.loc[flagged, 'correlation'].min():g}: "
                    "such correlations are then too strong for this factor)"
                )
        checks.append(
            Check(
                CROSS_TABLE,
                f"case {first.statistic} implied by the ORs, {span}",
                str(factor),
                float(first.case_printed),
                float(first.case_implied),
                verdict,
                severity,
                f"{reason} (z by correlation: {zs}; Prentice & Pyke 1979, doi:10.1093/biomet/66.3.403){tail}",
                assumption=CORRELATED,
                probability=probability,
            )
        )
    fitting = result.groupby("correlation")["consistent"].all()
    worst = result.assign(z=result["z_simulated"].abs()).groupby("correlation")["z"].max()
    best = float(worst.idxmin())
    ok = bool(fitting.any())
    checks.append(
        Check(
            CROSS_TABLE,
            f"all six case statistics at one {span}",
            "",
            math.nan,
            best,
            f"all six fit at correlation {', '.join(f'{r:g}' for r in fitting.index[fitting])}"
            if ok
            else "no correlation fits all six",
            "ok" if ok else "note",
            f"largest |z| of the six by correlation: {', '.join(f'{r:g}: {z:.1f}' for r, z in worst.items())}; "
            f"recomputed is the correlation where it is smallest",
            assumption=CORRELATED,
        )
    )
    return checks


def plausibility_checks(result: pd.DataFrame) -> list[Check]:
    """Rows of :func:`standard_error_plausibility`, with the simulation's size and Monte Carlo error."""
    prob = result.attrs.get("prob", 0.95)
    source = SIMULATED_FROM[result.attrs.get("case_group", "printed")]
    n = int(result.attrs.get("n_used", 0))
    checks = []
    for row in result.itertuples(index=False):
        ok = bool(row.plausible)
        q = float(row.percentile)
        tail = min(q, 1 - q)
        # none of n below (or above): the rule of three bounds the tail at 3/n with 95% confidence
        probability = max(tail, 3 / n) if tail == 0 and n else tail
        size = (
            f"{n} simulated 60:60 fits (seed {result.attrs.get('seed')}); "
            f"percentile {100 * q:.1f}% ± {100 * row.percentile_mcse:.1f}% (Monte Carlo SE)"
        )
        checks.append(
            Check(
                CROSS_TABLE,
                f"{row.statistic} within the central {prob:.0%} of 60:60 fits simulated from {source}",
                str(row.factor),
                float(row.printed),
                float(row.simulated_median),
                "inside the simulated range" if ok else "outside the simulated range",
                "ok" if ok else "implausible",
                f"{row.reason}; {size}",
                assumption=result.attrs.get("assumption", ""),
                probability=math.nan if ok else probability,
            )
        )
    return checks
