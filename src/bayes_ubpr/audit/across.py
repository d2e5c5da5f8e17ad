"""Checks across tables: whether Table 4 and Table 5 fit each other.

:mod:`bayes_ubpr.audit.within` checks each table against itself. This module
checks the two tables against each other, which needs the simulated world of
:mod:`bayes_ubpr.simulate`:

* :func:`implied_case_group`: under the logistic model with factors
  independent among controls, the case group's law of each factor is the
  control law exponentially tilted by its log odds ratio. Tilting Table 4's
  control group by Table 5's B gives the case means and proportions that
  Table 5 implies, to set beside the case group Table 4 prints.
* :func:`standard_error_plausibility`: 60:60 samples whose groups follow
  Table 4, each fitted with the six-factor logistic regression, give the
  standard errors (and B) that such a study produces; the printed ones are
  placed in that distribution.
* :func:`implied_case_group_by_correlation`: the implied case group again,
  with the six factors correlated within groups (a Gaussian copula, as
  :func:`bayes_ubpr.simulate.simulate_cohort` draws them), to see which flags
  survive plausible correlations.
* :func:`audit_rows` and :func:`audit_across_tables`: the same findings in
  the shape of :func:`bayes_ubpr.audit.audit`.

Each function audits the paper's Tables 4 and 5 by default, or any tables
with their columns passed as ``table4`` and ``table5`` (a simulated paper).
The implied case group and the plausibility of the SEs are computed in the
private modules ``_implied`` and ``_plausibility``; import them from here or
from :mod:`bayes_ubpr.audit`.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bayes_ubpr._rng import SeedLike
from bayes_ubpr.audit._across_rows import correlation_checks, implied_checks, plausibility_checks
from bayes_ubpr.audit._copula import CORRELATIONS
from bayes_ubpr.audit._implied import implied_case_group, implied_case_group_by_correlation
from bayes_ubpr.audit._plausibility import standard_error_plausibility
from bayes_ubpr.audit._rows import frame as audit_frame

__all__ = [
    "audit_across_tables",
    "audit_rows",
    "implied_case_group",
    "implied_case_group_by_correlation",
    "standard_error_plausibility",
]


def audit_rows(result: pd.DataFrame) -> pd.DataFrame:
    """Turn the result of a cross-table check into rows of :func:`bayes_ubpr.audit.audit`.

    Parameters
    ----------
    result : pandas.DataFrame
        The output of :func:`implied_case_group`,
        :func:`implied_case_group_by_correlation` or
        :func:`standard_error_plausibility`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~bayes_ubpr.audit.AUDIT_COLUMNS`. ``printed`` is the
        printed case statistic (``recomputed``: the implied one, at
        independence) or the printed SE or B (``recomputed``: the simulated
        median). ``probability`` is the two-sided normal tail of the
        simulated z (the least extreme over the correlations) or the
        simulated tail share of the SE or B (at most 3/n when no replicate
        is as extreme, the rule of three).

    Raises
    ------
    TypeError
        If ``result`` is not a DataFrame.
    ValueError
        If ``result`` has the columns of none of the checks.

    Examples
    --------
    >>> from bayes_ubpr.audit import audit_rows, implied_case_group
    >>> list(audit_rows(implied_case_group(n_replicates=40, seed=1))["table"].unique())
    ['Table 4 vs Table 5']
    """
    if not isinstance(result, pd.DataFrame):
        raise TypeError(f"result must be a pandas DataFrame; got {type(result).__name__}")
    if {"correlation", "z_simulated", "consistent"} <= set(result.columns):
        checks = correlation_checks(result)
    elif {"case_implied", "z", "consistent"} <= set(result.columns):
        checks = implied_checks(result)
    elif {"simulated_median", "percentile", "plausible"} <= set(result.columns):
        checks = plausibility_checks(result)
    else:
        raise ValueError(
            "result must come from implied_case_group, implied_case_group_by_correlation or "
            f"standard_error_plausibility; got columns {', '.join(map(str, result.columns))}"
        )
    rows = audit_frame(checks)
    rows.attrs = dict(result.attrs)
    return rows


def audit_across_tables(
    *,
    n_replicates: int = 1000,
    seed: SeedLike = 0,
    correlations: Sequence[float] = CORRELATIONS,
    table4: pd.DataFrame | None = None,
    table5: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Both cross-table checks as rows of :func:`bayes_ubpr.audit.audit`.

    Parameters
    ----------
    n_replicates : int, default 1000
        Simulated 60:60 samples for each check (and each correlation); at least 40.
    seed : None, int or numpy.random.Generator, default 0
        Root seed of the simulations.
    correlations : sequence of float, default (0, 0.1, 0.2, 0.3, 0.4, 0.5)
        Within-group correlations for the implied case group; a factor is
        flagged only if it is flagged at every one.
    table4, table5 : pandas.DataFrame, optional
        Tables 4 and 5 to check; default the paper's.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~bayes_ubpr.audit.AUDIT_COLUMNS`: seven rows from
        :func:`implied_case_group_by_correlation` (one per factor, one for
        all six together), then twelve (SE and B) from
        :func:`standard_error_plausibility`. ``.attrs`` holds both checks'
        settings.

    Raises
    ------
    TypeError, ValueError, ConvergenceError
        As :func:`implied_case_group_by_correlation` and
        :func:`standard_error_plausibility`.

    Examples
    --------
    >>> from bayes_ubpr.audit import AUDIT_COLUMNS, audit_across_tables
    >>> rows = audit_across_tables(n_replicates=60, seed=1, correlations=(0.0, 0.3))
    >>> list(rows.columns) == AUDIT_COLUMNS, len(rows)
    (True, 19)
    """
    implied = implied_case_group_by_correlation(
        correlations=correlations, n_replicates=n_replicates, seed=seed, table4=table4, table5=table5
    )
    plausibility = standard_error_plausibility(n_replicates=n_replicates, seed=seed, table4=table4, table5=table5)
    rows = pd.concat([audit_rows(implied), audit_rows(plausibility)], ignore_index=True)
    rows.attrs = {"implied_case_group_by_correlation": implied.attrs, "standard_error_plausibility": plausibility.attrs}
    return rows
