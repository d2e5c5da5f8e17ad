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

from bayes_ubpr._validate import one_line
from bayes_ubpr.group_effects import group_effects_table
from bayes_ubpr.model import ModelSpec
from bayes_ubpr.paper import OUTCOME
from bayes_ubpr.terms import FormulaError, parse_formula

__all__ = ["FORMULA_EXCLUDES", "add_formula_option", "formula_spec", "group_lines", "outcome_of"]

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
