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

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_ubpr import CohortValidationError, validate_cohort
    >>> cohort = pd.DataFrame({"fascia_injury": [0, 1, 2], "ubpr": [0, 1, 0]})
    >>> try:
    ...     validate_cohort(cohort, factors=["fascia_injury"])
    ... except CohortValidationError as error:
    ...     print(error.column, error.rows)
    fascia_injury [2]
    """

    def __init__(self, message: str, *, column: str | None = None, rows: list | None = None) -> None:
        super().__init__(message)
        self.column = column
        self.rows = list(rows or [])


class ConvergenceError(RuntimeError):
    """The sampler failed so badly that its results would be wrong.

    Examples
    --------
    >>> from bayes_ubpr import ConvergenceError
    >>> issubclass(ConvergenceError, RuntimeError)
    True
    """


class StatisticalWarning(UserWarning):
    """A result is computed but should be read with care (R-hat, ESS, divergences).

    Examples
    --------
    >>> import warnings
    >>> from bayes_ubpr import StatisticalWarning, fit, simulate_cohort
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, draws=5, tune=5, seed=1)
    >>> any(issubclass(w.category, StatisticalWarning) for w in caught)  # five draws cannot converge
    True
    """
