"""How much is missing, where: one row per column, overall and by outcome."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from bayes_ubpr._validate import require_dataframe

__all__ = ["complete_cases", "missingness_table"]


def complete_cases(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Return a boolean mask of the rows with a value in every one of ``columns``."""
    present = [column for column in columns if column in data.columns]
    return data[present].notna().all(axis=1).to_numpy() if present else np.ones(len(data), dtype=bool)


def missingness_table(data: pd.DataFrame, columns: Sequence[str], *, outcome: str | None = None) -> pd.DataFrame:
    """Count the missing values of each column, overall and among patients with and without the event.

    Parameters
    ----------
    data : pandas.DataFrame
        The cohort, before any imputation.
    columns : sequence of str
        The columns a model reads (its variables, groups and outcome); those
        absent from ``data`` are left out.
    outcome : str, optional
        The 0/1 outcome column: with it, the counts are also given among
        events (``1``) and non-events (``0``).

    Returns
    -------
    pandas.DataFrame
        One row per column: ``column``, ``n_missing``, ``percent_missing``
        and, with ``outcome``, ``missing_events``, ``percent_missing_events``,
        ``missing_non_events``, ``percent_missing_non_events``. ``attrs``
        holds ``n_patients``, ``n_events``, ``complete_cases`` and
        ``complete_case_events`` (what a complete-case analysis keeps).

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_ubpr.missing import missingness_table
    >>> cohort = pd.DataFrame({"bmd": [2.1, None, 3.0, None], "ubpr": [1, 1, 0, 0]})
    >>> table = missingness_table(cohort, ["bmd"], outcome="ubpr")
    >>> table[["column", "n_missing", "percent_missing", "missing_events"]].to_dict("records")
    [{'column': 'bmd', 'n_missing': 2, 'percent_missing': 50.0, 'missing_events': 1}]
    >>> table.attrs["complete_cases"], table.attrs["complete_case_events"]
    (2, 1)
    """
    frame = require_dataframe(data)
    present = [column for column in dict.fromkeys(columns) if column in frame.columns and column != outcome]
    n = len(frame)
    rows = []
    events = None
    if outcome is not None and outcome in frame.columns:
        y = pd.to_numeric(frame[outcome], errors="coerce")
        events = (y == 1).to_numpy()
        non_events = (y == 0).to_numpy()
    for column in present:
        absent = frame[column].isna().to_numpy()
        row: dict[str, object] = {
            "column": column,
            "n_missing": int(absent.sum()),
            "percent_missing": 100.0 * absent.mean() if n else float("nan"),
        }
        if events is not None:
            for name, mask in (("events", events), ("non_events", non_events)):
                row[f"missing_{name}"] = int(absent[mask].sum())
                row[f"percent_missing_{name}"] = 100.0 * absent[mask].mean() if mask.any() else float("nan")
        rows.append(row)
    table = pd.DataFrame(rows, columns=_columns(events is not None))
    keep = complete_cases(frame, [*present, *([outcome] if outcome is not None else [])])
    table.attrs.update({"n_patients": n, "complete_cases": int(keep.sum())})
    if events is not None:
        table.attrs.update({"n_events": int(events.sum()), "complete_case_events": int((events & keep).sum())})
    return table


def _columns(by_outcome: bool) -> list[str]:
    names = ["column", "n_missing", "percent_missing"]
    if by_outcome:
        names += ["missing_events", "percent_missing_events", "missing_non_events", "percent_missing_non_events"]
    return names
