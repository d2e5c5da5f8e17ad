"""Exceptions and warnings raised by bayes_ubpr."""

from __future__ import annotations

__all__ = ["CohortValidationError", "ConvergenceError", "StatisticalWarning"]


class CohortValidationError(ValueError):
    """A cohort DataFrame does not satisfy the data contract.

    Attributes
    ----------
    column : str or None
        The offending column, where one is to blame.
    rows : list
        Index labels of the first offending rows (may be empty).
    """

    def __init__(self, message: str, *, column: str | None = None, rows: list | None = None) -> None:
        super().__init__(message)
        self.column = column
        self.rows = list(rows or [])


class ConvergenceError(RuntimeError):
    """The sampler failed so badly that its results would be wrong."""


class StatisticalWarning(UserWarning):
    """A result is computed but should be read with care (R-hat, ESS, divergences)."""
