"""The model options of the commands that fit (fit, select, sensitivity), for :mod:`bayes_ubpr.cli`.

``--formula`` names the outcome, the terms and the groups; its errors become
one line naming ``--formula``. The options are defined and checked against
each other in :mod:`bayes_ubpr._cli_parser` (before the numeric stack is
imported); here they become a model, which imports it: every import of the
library is inside the function that needs it.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import arviz as az
    import pandas as pd

    from bayes_ubpr.model import ModelSpec

__all__ = ["formula_spec", "group_lines", "imputation_line", "missing_keywords"]


def formula_spec(args: argparse.Namespace, **settings: Any) -> ModelSpec | None:
    """Return the model of ``--formula`` with ``settings`` (priors, design...), or None without a formula.

    The options a formula replaces were refused beside it by
    :func:`bayes_ubpr._cli_parser.check_arguments`.

    Raises
    ------
    ValueError
        If the formula cannot be read (one line, naming ``--formula``).
    """
    if getattr(args, "formula", None) is None:
        return None
    from bayes_ubpr.model import ModelSpec
    from bayes_ubpr.terms import FormulaError

    try:
        return ModelSpec.from_formula(args.formula, **settings)
    except FormulaError as error:
        raise ValueError(f"--formula: {_one_line(error)}") from None


def _one_line(error: BaseException) -> str:
    from bayes_ubpr._validate import one_line

    return one_line(error)


def group_lines(idata: az.InferenceData) -> list[str]:
    """Return one line per grouping of a multilevel fit: its median odds ratio with the 95% interval."""
    from bayes_ubpr.group_effects import group_effects_table

    table = group_effects_table(idata)
    sds = table[table["parameter"] == "sd"]
    return [
        f"{row.grouping}: median odds ratio between groups {row.or_median:.2f} (95% CI {row.or_lower:.2f} to "
        f"{row.or_upper:.2f}) over {row.n_groups} groups (Larsen & Merlo 2005)"
        for row in sds.itertuples()
    ]


def missing_keywords(args: argparse.Namespace) -> dict[str, Any]:
    """Return :func:`bayes_ubpr.fit`'s missing-value keywords from the arguments (none for commands without them).

    The imputation options were checked (they need ``--missing impute``;
    ``--imputations`` is positive) by :func:`bayes_ubpr._cli_parser.check_arguments`.
    """
    if getattr(args, "missing", None) == "model":
        return {"missing": "model"}
    if getattr(args, "missing", None) != "impute":
        return {}
    from bayes_ubpr.missing import IMPUTATIONS

    return {
        "missing": "impute",
        "imputations": IMPUTATIONS if args.imputations is None else args.imputations,
        "impute_with": tuple(args.impute_with or ()),
        "compare_complete_case": args.compare_complete_case,
    }


def imputation_line(cohort: pd.DataFrame, spec: ModelSpec, args: argparse.Namespace) -> str:
    """Return the progress line a fit with ``--missing impute`` prints before imputing."""
    from bayes_ubpr.missing import IMPUTATIONS, missingness_table

    columns = [*spec.variables, *(args.impute_with or ())]
    table = missingness_table(cohort, columns, outcome=spec.outcome)
    holes = table[table["n_missing"] > 0]
    m = IMPUTATIONS if args.imputations is None else args.imputations
    if holes.empty:
        return "No missing values in the model's columns: one fit, nothing imputed"
    if args.missing == "model":
        listed = ", ".join(f"{row.column} {row.n_missing}" for row in holes.itertuples())
        return f"Missing values: {listed}; modelled inside the model (their missing values are parameters)"
    listed = ", ".join(f"{row.column} {row.n_missing} ({row.percent_missing:.1f}%)" for row in holes.itertuples())
    return (
        f"Missing values: {listed}; complete cases {table.attrs['complete_cases']:,} of {len(cohort):,}. "
        f"Imputing {m} data sets and fitting each ({args.chains} chains x ({args.tune} + {args.draws}))"
    )
