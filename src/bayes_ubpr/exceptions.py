"""Exceptions and warnings raised by bayes_ubpr."""

from __future__ import annotations

__all__ = [
    "CohortValidationError",
    "ConvergenceError",
    "FitInterrupted",
    "NotAFitError",
    "PerformanceWarning",
    "StatisticalWarning",
]


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


class NotAFitError(ValueError):
    """A file given as a saved fit is not one that bayes_ubpr wrote.

    The message is one line: ``not a bayes_ubpr fit: PATH (reason)``.

    Attributes
    ----------
    path : str
        The file.
    reason : str
        What is wrong with it (not NetCDF, a group or attribute missing, ...).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bayes_ubpr import NotAFitError, load_fit
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "notes.nc"
    >>> _ = path.write_text("not a fit")
    >>> try:
    ...     load_fit(path)
    ... except NotAFitError as error:
    ...     print(error.reason.split(":")[0])
    not a NetCDF file
    """

    def __init__(self, path: object, reason: str) -> None:
        self.path = str(path)
        self.reason = " ".join(reason.split())
        super().__init__(f"not a bayes_ubpr fit: {self.path} ({self.reason})")


class ConvergenceError(RuntimeError):
    """The sampler failed so badly that its results would be wrong.

    Examples
    --------
    >>> from bayes_ubpr import ConvergenceError
    >>> issubclass(ConvergenceError, RuntimeError)
    True
    """


class FitInterrupted(KeyboardInterrupt):
    """Sampling was interrupted (Ctrl-C, SIGINT) before every requested draw was made.

    A :class:`KeyboardInterrupt`, so code that stops on Ctrl-C still stops;
    what it adds is that no incomplete fit is ever returned as if it were
    complete. Where some chains had finished at least two draws,
    :func:`bayes_ubpr.fit` attaches the fit of those chains' common draws as
    :attr:`fit`, marked as partial in its ``attrs["interrupted"]``.

    Attributes
    ----------
    draws : int
        Posterior draws finished, over all chains (0 if interrupted while tuning).
    total : int
        Posterior draws asked for, over all chains.
    fit : arviz.InferenceData or None
        The fit of the finished draws, where there are any (set by
        :func:`bayes_ubpr.fit`; ``None`` from the calibration studies).

    Examples
    --------
    >>> from bayes_ubpr import FitInterrupted
    >>> str(FitInterrupted(0, 4000))
    'interrupted before the first of 4,000 draws (while tuning)'
    >>> str(FitInterrupted(250, 4000))
    'interrupted after 250 of 4,000 draws'
    """

    def __init__(self, draws: int, total: int, fit: object = None) -> None:
        self.draws, self.total, self.fit = int(draws), int(total), fit
        if self.draws == 0:
            message = f"interrupted before the first of {self.total:,} draws (while tuning)"
        else:
            message = f"interrupted after {self.draws:,} of {self.total:,} draws"
        super().__init__(message)

    def __reduce__(self) -> tuple:
        return type(self), (self.draws, self.total, self.fit)


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


class PerformanceWarning(UserWarning):
    """A result is right but slower to get than it should be (a cache that cannot be written or read).

    Examples
    --------
    >>> from bayes_ubpr import PerformanceWarning
    >>> issubclass(PerformanceWarning, UserWarning)
    True
    """


def one_line(error: BaseException) -> str:
    """Return an exception's message on one line (for one-line CLI errors), or its type if it has none.

    Examples
    --------
    >>> one_line(ValueError('''first line
    ...                         second line'''))
    'first line second line'
    >>> one_line(KeyError())
    'KeyError'
    """
    return " ".join(str(error).split()) or type(error).__name__
