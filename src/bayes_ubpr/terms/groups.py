"""Groupings of patients (hospitals, surgeons): each row's label in a grouping, nested ones joined."""

from __future__ import annotations

import pandas as pd

from bayes_ubpr._validate import did_you_mean
from bayes_ubpr.exceptions import CohortValidationError

__all__ = ["group_labels"]


def group_labels(data: pd.DataFrame, grouping: str) -> pd.Series:
    """Each row's label in a grouping: the column's value, or ``"a:b"`` values joined for a nested grouping.

    Raises
    ------
    CohortValidationError
        Naming the column, if it is absent or has missing values.
    """
    labels = None
    for column in grouping.split(":"):
        if column not in data.columns:
            raise CohortValidationError(
                f'group column "{column}" is not in the data.{did_you_mean(column, map(str, data.columns))}',
                column=column,
            )
        values = data[column]
        if values.isna().any():
            rows = list(data.index[values.isna().to_numpy()][:5])
            raise CohortValidationError(
                f'group column "{column}" has missing values in rows {rows}', column=column, rows=rows
            )
        labels = values if labels is None else labels.astype(str) + ":" + values.astype(str)
    return labels  # type: ignore[return-value]
