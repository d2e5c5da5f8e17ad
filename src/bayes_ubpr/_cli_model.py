"""The ``--formula`` option of the commands that fit (fit, select, sensitivity), for :mod:`bayes_ubpr.cli`.

A formula names the outcome, the terms and the groups, so it excludes the
options that name them one by one; its errors become one line naming
``--formula``. Kept apart from ``cli.py`` so that the command line's model
options live in one small place.
"""

from __future__ import annotations

import argparse
from typing import Any

import arviz as az
import pandas as pd

from bayes_ubpr._validate import one_line
from bayes_ubpr.group_effects import group_effects_table
from bayes_ubpr.missing import IMPUTATIONS, missingness_table
from bayes_ubpr.model import ModelSpec
from bayes_ubpr.paper import OUTCOME
from bayes_ubpr.terms import FormulaError, parse_formula

__all__ = [
    "FORMULA_EXCLUDES",
    "add_formula_option",
    "add_missing_options",
    "formula_spec",
    "group_lines",
    "imputation_line",
    "missing_keywords",
    "outcome_of",
]

FORMULA_EXCLUDES = {
    "factors": "--factors",
    "outcome": "--outcome",
    "group": "--group",
    "factor_file": "--factor-file",
}
"""Options a formula replaces (argparse destination: option), refused beside ``--formula``."""

FORMULA_HELP = (
    'model formula, e.g. "residual_pain ~ age + C(fracture_level) * fascia_injury + rcs(cement_volume_ml, 4) '
    '+ (1 | hospital/surgeon)": C() categorical (text columns are categorical anyway), rcs(x, k) a restricted '
    "cubic spline, a*b an interaction, (1 | g) group intercepts; it names the outcome, terms and groups, so it "
    "excludes {excluded}"
)


def add_formula_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--formula``; the help lists the options of ``parser`` it excludes."""
    present = {action.dest for action in parser._actions}
    excluded = [option for dest, option in FORMULA_EXCLUDES.items() if dest in present]
    parser.add_argument(
        "--formula", default=None, metavar='"OUTCOME ~ TERMS"', help=FORMULA_HELP.format(excluded=", ".join(excluded))
    )


def formula_spec(args: argparse.Namespace, **settings: Any) -> ModelSpec | None:
    """Return the model of ``--formula`` with ``settings`` (priors, design...), or None without a formula.

    Raises
    ------
    ValueError
        If an option the formula replaces is given too, or the formula
        cannot be read (one line, naming ``--formula``).
    """
    if getattr(args, "formula", None) is None:
        return None
    given = [option for dest, option in FORMULA_EXCLUDES.items() if getattr(args, dest, None) is not None]
    if given:
        raise ValueError(
            f"--formula and {', '.join(given)} exclude each other: the formula names the outcome, the terms and "
            "the groups (set priors with --priors)"
        )
    try:
        return ModelSpec.from_formula(args.formula, **settings)
    except FormulaError as error:
        raise ValueError(f"--formula: {one_line(error)}") from None


def outcome_of(args: argparse.Namespace) -> str:
    """Return the outcome a command's arguments name: the formula's, else ``--outcome``, else the paper's."""
    if getattr(args, "formula", None) is not None:
        try:
            return parse_formula(args.formula).outcome
        except FormulaError as error:
            raise ValueError(f"--formula: {one_line(error)}") from None
    outcome = getattr(args, "outcome", None)
    return OUTCOME if outcome is None else outcome


def group_lines(idata: az.InferenceData) -> list[str]:
    """Return one line per grouping of a multilevel fit: its median odds ratio with the 95% interval."""
    table = group_effects_table(idata)
    sds = table[table["parameter"] == "sd"]
    return [
        f"{row.grouping}: median odds ratio between groups {row.or_median:.2f} (95% CI {row.or_lower:.2f} to "
        f"{row.or_upper:.2f}) over {row.n_groups} groups (Larsen & Merlo 2005)"
        for row in sds.itertuples()
    ]


def add_missing_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--missing``, ``--imputations``, ``--impute-with`` and ``--compare-complete-case``."""
    parser.add_argument(
        "--missing",
        choices=("error", "impute", "model"),
        default="error",
        help="missing values in the model's columns: refuse them, naming the rows (default), impute them "
        "(multiple imputation by chained equations; one fit per completed data set, draws pooled), or model "
        "them inside the model (plain numeric columns and one 0/1 column; their missing values are parameters)",
    )
    parser.add_argument(
        "--imputations",
        type=int,
        default=None,
        help=f"completed data sets with --missing impute (default {IMPUTATIONS}); --draws is per imputation",
    )
    parser.add_argument(
        "--impute-with",
        nargs="+",
        default=None,
        metavar="COLUMN",
        help="columns that join the imputation model only (they predict the missing values, not the outcome)",
    )
    parser.add_argument(
        "--compare-complete-case",
        action="store_true",
        help="with --missing impute, also fit the complete cases and print their odds ratios beside",
    )


def missing_keywords(args: argparse.Namespace) -> dict[str, Any]:
    """Return :func:`bayes_ubpr.fit`'s missing-value keywords from the arguments (none for commands without them).

    Raises
    ------
    ValueError
        If an imputation option is given without ``--missing impute``, or
        ``--imputations`` is not a positive number.
    """
    if getattr(args, "missing", None) is None:
        return {}
    given = [
        option
        for option, value in (
            ("--imputations", args.imputations),
            ("--impute-with", args.impute_with),
            ("--compare-complete-case", args.compare_complete_case or None),
        )
        if value is not None
    ]
    if args.missing != "impute":
        if given:
            raise ValueError(f"{', '.join(given)} need(s) --missing impute")
        return {"missing": "model"} if args.missing == "model" else {}
    if args.imputations is not None and args.imputations < 1:
        raise ValueError(f"--imputations must be a positive whole number; got {args.imputations}")
    return {
        "missing": "impute",
        "imputations": IMPUTATIONS if args.imputations is None else args.imputations,
        "impute_with": tuple(args.impute_with or ()),
        "compare_complete_case": args.compare_complete_case,
    }


def imputation_line(cohort: pd.DataFrame, spec: ModelSpec, args: argparse.Namespace) -> str:
    """Return the progress line a fit with ``--missing impute`` prints before imputing."""
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
