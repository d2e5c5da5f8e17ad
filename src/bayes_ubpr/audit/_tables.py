"""What the checks within tables share: the printed tables' columns, a row's severity, P within rounding."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from bayes_ubpr.audit._rows import GROUPS, half_unit, number

TABLE4_COLUMNS = [
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

TIME_COLUMNS = [
    "time",
    "satisfactory_mean",
    "satisfactory_sd",
    "unsatisfactory_mean",
    "unsatisfactory_sd",
    "marked",
]


def severity_of(ok: bool, severity: str = "inconsistent") -> str:
    """Return the severity of a check: "ok" when it passes, else ``severity``."""
    return "ok" if ok else severity


def p_range(statistic: float, half: float, tail: Callable[[float], float]) -> tuple[float, float]:
    """Smallest and largest P that a statistic anywhere within its rounding gives (P falls as it grows)."""
    return float(tail(statistic + half)), float(tail(max(statistic - half, 0.0)))


def p_within(p: float, printed: str, ends: tuple[float, float]) -> bool:
    """Whether a printed P is the rounding of some P in ``ends``."""
    h = half_unit(printed)
    return ends[0] - h - 1e-12 <= p <= ends[1] + h + 1e-12


def summaries(row: pd.Series) -> tuple[tuple[float, float], tuple[float, float], tuple[float, float, float, float]]:
    """Return a row's two means, two SDs (satisfactory, unsatisfactory) and half a unit of each as printed."""
    columns = [f"{g}_{s}" for s in ("mean", "sd") for g in GROUPS]
    m0, m1, s0, s1 = (number(row[c]) for c in columns)
    return (m0, m1), (s0, s1), tuple(half_unit(row[c]) for c in columns)  # type: ignore[return-value]
