"""The whole audit: every check on the paper (or on tables given), and a summary by severity."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from bayes_ubpr._rng import SeedLike
from bayes_ubpr._validate import check_positive_int
from bayes_ubpr.audit._rows import AUDIT_COLUMNS, SEVERITIES, tables_or_paper
from bayes_ubpr.audit.across import CORRELATIONS, audit_across_tables
from bayes_ubpr.audit.text import check_text
from bayes_ubpr.audit.within import check_granularity, check_table4, check_table5, check_time_course

TABLES = ("table2", "table3", "table4", "table5")
"""Keys of the ``tables`` argument of :func:`audit`."""

QUICK_REPLICATES = 400
"""Simulated 60:60 samples per cross-table check (and correlation) in the default audit (about 5 s)."""

FULL_REPLICATES = 4000
"""Simulated 60:60 samples per cross-table check (and correlation) with ``full=True``."""


def audit(
    *,
    tables: Mapping[str, pd.DataFrame] | None = None,
    full: bool = False,
    n_replicates: int | None = None,
    seed: SeedLike = 0,
    across: bool = True,
    text: bool | None = None,
) -> pd.DataFrame:
    """Recompute everything the paper's printed numbers determine, and grade what disagrees.

    Runs, in this order: Table 5 within itself (OR, CI, Wald, P, and the SE
    implied by OR and P); Table 4 within itself (percentages, chi-square and
    t from the printed summaries, P from the statistics); the markers of
    Tables 2 and 3 against t tests from their summaries; GRIM and GRIMMER
    for every mean and SD that could come from whole-number data; Table 4
    against Table 5 (the case group the ORs imply, over within-group
    correlations 0 to 0.5, and Table 5's SEs and B among simulated 60:60
    fits); and the abstract's and text's claims.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame, optional
        Tables to audit in place of the paper's, by key "table2",
        "table3", "table4", "table5", each with the columns of the
        paper's (see :func:`bayes_ubpr.paper.as_printed`). Give the cells as
        the printed strings: the precision of each number is read from them
        ("0.60" has two decimals). Tables not given are the paper's.
    full : bool, default False
        Use 4,000 simulated 60:60 samples per cross-table check (and per
        within-group correlation) instead of 400 (about ten times slower).
    n_replicates : int, optional
        Simulated samples per cross-table check, overriding ``full``; at
        least 40.
    seed : None, int or numpy.random.Generator, default 0
        Root seed of the cross-table simulations.
    across : bool, default True
        Run the cross-table checks (the only simulated ones).
    text : bool, optional
        Check the text's claims; by default only when auditing the paper
        (``tables`` not given), because the claims are the paper's.

    Returns
    -------
    pandas.DataFrame
        One row per check with columns :data:`AUDIT_COLUMNS`: ``table``,
        ``quantity``, ``factor`` (the factor, or the time point for Tables 2
        and 3), ``printed``, ``recomputed``, ``verdict`` (a short phrase),
        ``severity`` (one of :data:`SEVERITIES`), ``probability`` (for
        implausible rows: how probable a value at least as extreme is under
        the assumption), ``assumption`` and ``reason``. ``.attrs`` records
        the settings of the simulations.

    Raises
    ------
    TypeError
        If ``tables`` is not a mapping of DataFrames, or an option has the
        wrong type.
    ValueError
        If ``tables`` has an unknown key, a table lacks a column or has a
        cell that is not a number in a column of numbers (the message names
        the table, the column and the rows), or ``n_replicates`` is below 40.

    See Also
    --------
    summary : counts of the findings by severity.
    bayes_ubpr.audit.within.check_table4 : one group of checks on its own.

    Examples
    --------
    >>> from bayes_ubpr.audit import audit
    >>> findings = audit(across=False)
    >>> findings.loc[findings["quantity"] == "chi2 from the 2x2 counts", "severity"].value_counts().to_dict()
    {'inconsistent': 9}
    """
    if tables is not None and not isinstance(tables, Mapping):
        raise TypeError(f"tables must be a mapping of table name to DataFrame; got {type(tables).__name__}")
    if n_replicates is None:
        n_replicates = FULL_REPLICATES if full else QUICK_REPLICATES
    n_replicates = check_positive_int(n_replicates, name="n_replicates", minimum=40)
    given = tables_or_paper(tables, TABLES)
    t2, t3, t4, t5 = (given[name] for name in TABLES)
    parts = [
        check_table5(t5),
        check_table4(t4),
        check_time_course(t2, name="Table 2"),
        check_time_course(t3, name="Table 3"),
        check_granularity(t4, t2, t3),
    ]
    attrs: dict[str, object] = {"source": "bayes_ubpr.audit.audit: printed against recomputed values"}
    if across:
        rows = audit_across_tables(
            n_replicates=n_replicates, seed=seed, correlations=CORRELATIONS, table4=t4, table5=t5
        )
        parts.append(rows)
        attrs.update(rows.attrs)
    if text if text is not None else tables is None:
        parts.append(check_text(t4, t5, t2))
    findings = pd.concat([p[AUDIT_COLUMNS] for p in parts], ignore_index=True)
    findings.attrs = attrs
    return findings


def summary(findings: pd.DataFrame) -> pd.DataFrame:
    """Count an audit's findings by severity, most severe first.

    Parameters
    ----------
    findings : pandas.DataFrame
        The output of :func:`audit`.

    Returns
    -------
    pandas.DataFrame
        One row per severity (``inconsistent``, ``implausible``, ``note``,
        ``ok``) with ``checks`` (how many rows) and ``tables`` (which tables
        they concern).

    Raises
    ------
    TypeError
        If ``findings`` is not a DataFrame.
    ValueError
        If it has no ``severity`` column or an unknown severity.

    Examples
    --------
    >>> from bayes_ubpr.audit import audit, summary
    >>> counts = summary(audit(across=False)).set_index("severity")["checks"]
    >>> list(counts.index)
    ['inconsistent', 'implausible', 'note', 'ok']
    """
    if not isinstance(findings, pd.DataFrame):
        raise TypeError(f"findings must be a pandas DataFrame; got {type(findings).__name__}")
    if "severity" not in findings.columns:
        raise ValueError("findings must have a severity column (the output of bayes_ubpr.audit.audit)")
    unknown = sorted(set(findings["severity"]) - set(SEVERITIES))
    if unknown:
        raise ValueError(f"unknown severities {unknown}; expected {', '.join(SEVERITIES)}")
    rows = []
    for severity in reversed(SEVERITIES):
        chosen = findings[findings["severity"] == severity]
        rows.append(
            {
                "severity": severity,
                "checks": len(chosen),
                "tables": ", ".join(dict.fromkeys(chosen["table"])) if len(chosen) else "",
            }
        )
    return pd.DataFrame(rows)
