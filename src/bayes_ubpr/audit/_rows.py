"""The audit's row shape, severities and the printed-number helpers every check shares."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from bayes_ubpr._validate import describe_rows

AUDIT_COLUMNS = [
    "table",
    "quantity",
    "factor",
    "printed",
    "recomputed",
    "verdict",
    "severity",
    "probability",
    "assumption",
    "reason",
]
"""Columns of :func:`bayes_ubpr.audit.audit`, one row per check."""

SEVERITIES = ("ok", "note", "implausible", "inconsistent")
"""Severity of a check, mildest first.

``ok``: the printed value passes. ``note``: worth a reader's attention but no
error of arithmetic or probability (a claim the tables cannot check, a flag
that goes away under a plausible assumption). ``implausible``: possible, but
improbable under the stated assumption; ``probability`` says how improbable.
``inconsistent``: no data and no arithmetic can give the printed value (under
the stated assumption, for the granularity tests)."""

GROUP_SIZE = 60
"""Patients per group in Tables 2-4 (60 cases, 60 sampled controls)."""

GROUPS = ("satisfactory", "unsatisfactory")
"""The two groups as the tables' columns name them (controls, cases)."""

ROUNDING = "the printed digits are the true values rounded to the places shown"
"""Assumption of every check that allows for rounding."""

NUMBER_COLUMNS = frozenset(
    {
        *(f"{group}_{quantity}" for group in GROUPS for quantity in ("mean", "sd", "n1", "pct1", "n0", "pct0")),
        *("statistic", "p", "B", "SE", "wald", "odds_ratio", "ci_lower", "ci_upper"),
    }
)
"""Columns of the printed tables whose cells are numbers (or empty)."""


@dataclass(frozen=True)
class Check:
    """One audit row before it becomes a DataFrame row (see :data:`AUDIT_COLUMNS`)."""

    table: str
    quantity: str
    factor: str
    printed: float
    recomputed: float
    verdict: str
    severity: str
    reason: str
    assumption: str = ROUNDING
    probability: float = math.nan

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}; got {self.severity!r}")

    def as_dict(self) -> dict[str, object]:
        return {column: getattr(self, column) for column in AUDIT_COLUMNS}


def frame(checks: list[Check]) -> pd.DataFrame:
    """Rows in the audit's column order, with numeric ``printed``, ``recomputed`` and ``probability``."""
    rows = pd.DataFrame([check.as_dict() for check in checks], columns=AUDIT_COLUMNS)
    for column in ("printed", "recomputed", "probability"):
        rows[column] = pd.to_numeric(rows[column]).astype(float)
    return rows


def half_unit(text: str) -> float:
    """Half a unit of the last digit of a number as printed: '11.25' -> 0.005."""
    text = str(text).strip()
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0**-decimals


def printed_table(table: pd.DataFrame, *, name: str, required: list[str]) -> pd.DataFrame:
    """Check a table given as printed (strings, to keep trailing zeros) and index it by its first column."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {type(table).__name__}")
    missing = [column for column in required if column not in table.columns]
    if missing:
        raise ValueError(
            f"{name} is missing column(s) {', '.join(missing)}; it has {', '.join(map(str, table.columns))}"
        )
    check_numbers(table, name=name, columns=[c for c in table.columns if c in NUMBER_COLUMNS], key=required[0])
    return table.astype(str).set_index(required[0], drop=False)


def number(text: object) -> float:
    """Read a printed cell as a float ('' or 'nan' -> NaN; the typographic minus is accepted)."""
    cleaned = str(text).strip().replace("\u2013", "-").replace("\u2212", "-")
    return float(cleaned) if cleaned not in {"", "nan", "<NA>", "None"} else math.nan


def _is_number(text: object) -> bool:
    try:
        number(text)
    except ValueError:
        return False
    return True


def check_numbers(table: pd.DataFrame, *, name: str, columns: list[str], key: str) -> None:
    """Raise ValueError naming the table, column and rows (by index label and ``key``) of a cell that is no number."""
    for column in columns:
        bad = table[~table[column].map(_is_number)]
        if len(bad):
            cells = [
                f"{label} ({key} {row}): {str(value)!r}"
                for label, row, value in zip(bad.index, bad[key], bad[column], strict=True)
            ]
            raise ValueError(
                f'{name} column "{column}" is not a number in the row(s) with index label {describe_rows(cells)}; '
                'give each cell as the number printed (e.g. "0.423"), or leave it empty'
            )


def tables_or_paper(tables: Mapping[str, pd.DataFrame] | None, names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """Return the tables to audit: the caller's, or the paper's as printed (strings) for those not given."""
    from bayes_ubpr.paper import as_printed

    given = dict(tables or {})
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise ValueError(f"tables has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(names)}")
    return {name: given[name] if name in given else as_printed(name) for name in names}
