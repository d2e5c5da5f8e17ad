"""The ``effects`` command of :mod:`bayes_ubpr.cli`: a saved fit's odds ratios per term, contrasts and curves.

Its arguments are checked (``VAR=FROM,TO``, ``VAR=VALUE``) before the fit
is read; the work is :mod:`bayes_ubpr.effects`'. Kept apart from ``cli.py``
so that each command's parsing stays small.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported by the command, after its arguments are checked (see bayes_ubpr._cli_parser)
    import pandas as pd

__all__ = ["add_effects_parser", "check_effects_arguments", "parse_assignment", "run_effects"]


def _value(text: str) -> Any:
    """Return a number where the text is one (``3``, ``4.5``), else the text itself (a level)."""
    try:
        number = float(text)
    except ValueError:
        return text.strip()
    return int(number) if number.is_integer() and "." not in text else number


def parse_assignment(text: str, *, option: str, pair: bool) -> tuple[str, list[Any]]:
    """Read ``VAR=A,B`` (``pair``: exactly two values) or ``VAR=A[,B...]``.

    Raises
    ------
    ValueError
        Naming the option and what was expected.

    Examples
    --------
    >>> parse_assignment("cement_volume_ml=3,5", option="--contrast", pair=True)
    ('cement_volume_ml', [3, 5])
    >>> parse_assignment("fracture_level=lumbar", option="--at", pair=False)
    ('fracture_level', ['lumbar'])
    """
    name, sign, values = text.partition("=")
    parts = [part for part in values.split(",") if part.strip()]
    if not sign or not name.strip() or not parts or (pair and len(parts) != 2):
        shape = "VAR=FROM,TO (e.g. cement_volume_ml=3,5)" if pair else "VAR=VALUE[,VALUE...] (e.g. level=lumbar)"
        raise ValueError(f"{option} {text!r}: expected {shape}")
    return name.strip(), [_value(part) for part in parts]


def add_effects_parser(commands: Any) -> None:
    """Add the ``effects`` command to the command line's subparsers."""
    effects = commands.add_parser(
        "effects", help="a saved fit's odds ratios per term, contrasts of your choice and risk curves"
    )
    effects.add_argument("fit", type=Path, help="fit saved by `bayes-ubpr fit --out` or bayes_ubpr.save_fit")
    effects.add_argument(
        "--contrast",
        action="append",
        default=[],
        metavar="VAR=FROM,TO",
        help="odds ratio and risk difference from one value to another, the others typical (repeatable: "
        "the changes are made together), e.g. --contrast cement_volume_ml=3,5",
    )
    effects.add_argument(
        "--at",
        action="append",
        default=[],
        metavar="VAR=VALUE",
        help="hold a variable at a value (several values: one row or curve each), e.g. --at fracture_level=lumbar",
    )
    effects.add_argument("--curve", metavar="VAR", help="risk (or odds ratio) along one variable, with bands")
    effects.add_argument("--by", metavar="VAR", help="one curve per level (or quartile) of a second variable")
    effects.add_argument("--scale", choices=("risk", "odds_ratio"), default="risk", help="the curve's scale")
    effects.add_argument("--prob", type=float, default=0.95, help="credible interval mass (default 0.95)")
    effects.add_argument("--out", type=Path, help="folder for the tables (.csv) and the curve (.png)")


def check_effects_arguments(args: argparse.Namespace) -> None:
    """Check the ``effects`` command's ``--contrast``, ``--at`` and ``--by`` before the fit is read.

    Raises
    ------
    ValueError
        Naming the option and what was expected.
    """
    for text in args.contrast:
        parse_assignment(text, option="--contrast", pair=True)
    for text in args.at:
        parse_assignment(text, option="--at", pair=False)
    if args.by is not None and args.curve is None:
        raise ValueError("--by needs --curve: the variable the curve runs along")


def run_effects(args: argparse.Namespace) -> tuple[dict[str, pd.DataFrame], dict[str, Callable[[Any], object]]]:
    """Print the command's tables and return them, with the figures, for saving (arguments checked before)."""
    changes = dict(parse_assignment(text, option="--contrast", pair=True) for text in args.contrast)
    at = {name: values if len(values) > 1 else values[0] for name, values in
          (parse_assignment(text, option="--at", pair=False) for text in args.at)}  # fmt: skip
    from bayes_ubpr.effects import (
        conditional_effects,
        contrast,
        format_term_odds_ratios,
        plot_conditional_effects,
        term_odds_ratios,
    )
    from bayes_ubpr.model import load_fit

    idata = load_fit(args.fit)
    tables: dict[str, pd.DataFrame] = {}
    figures: dict[str, Callable[[Any], object]] = {}
    show = {"index": False, "float_format": lambda v: f"{v:.3g}"}
    if not changes and args.curve is None:
        table = term_odds_ratios(idata, prob=args.prob)
        print(format_term_odds_ratios(table))
        tables["term_odds_ratios"] = table
    if changes:
        table = contrast(idata, {k: (v[0], v[1]) for k, v in changes.items()}, at=at or None, prob=args.prob)
        print(table.to_string(**show))
        tables["contrast"] = table
    if args.curve is not None:
        curve = conditional_effects(idata, args.curve, by=args.by, at=at or None, scale=args.scale, prob=args.prob)
        print(curve.to_string(**show))
        tables[f"curve_{args.curve}"] = curve
        figures[f"curve_{args.curve}"] = lambda ax: plot_conditional_effects(curve, ax=ax)
    return tables, figures
