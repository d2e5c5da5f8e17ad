"""The ``bayes-ubpr`` command line's arguments: defined, then checked, before the numeric stack is imported.

Everything here imports the standard library and :mod:`bayes_ubpr._io` only,
so that a command refuses a bad argument in a fraction of a second instead of
after importing PyMC (seconds): :func:`check_arguments` checks choices,
numbers in range, input files, output paths and option combinations; what
needs the data, a formula's parse or a saved fit is checked by the command
itself, still before any work. The choices and defaults below are copies of
the library's (importing their modules would import PyMC); the tests hold
them equal.
"""

from __future__ import annotations

import argparse
import codecs
import math
import tempfile
from pathlib import Path
from typing import Any, NoReturn

from bayes_ubpr._cli_effects import add_effects_parser, check_effects_arguments
from bayes_ubpr._io import FIT_SUFFIXES, FRAME_SUFFIXES, check_storable_name, check_suffix

__all__ = ["build_parser", "check_arguments"]

DEFAULT_SEED = 2016
OUTCOME = "ubpr"
""":data:`bayes_ubpr.paper.OUTCOME`."""
N_PATIENTS, N_CASES = 1316, 60
""":data:`bayes_ubpr.paper.N_PATIENTS` and :data:`bayes_ubpr.paper.N_CASES`."""
PREVALENCE = N_CASES / N_PATIENTS
""":data:`bayes_ubpr.paper.PREVALENCE`."""
SAMPLERS = ("nutpie", "pymc", "numpyro")
""":data:`bayes_ubpr.model.SAMPLERS`."""
DESIGNS = ("cohort", "case_control")
""":data:`bayes_ubpr.model.DESIGNS`."""
PRESETS = ("default", "wide", "paper", "sceptical", "horseshoe", "domains")
""":data:`bayes_ubpr.priors.PRESETS`."""
STUDY_CHAINS, STUDY_TUNE, STUDY_DRAWS = 2, 200, 700
""":data:`bayes_ubpr.studies.STUDY_CHAINS`, ``STUDY_TUNE`` and ``STUDY_DRAWS``."""
MIN_REPLICATES = 40
""":data:`bayes_ubpr.audit.MIN_REPLICATES`."""
IMPUTATIONS = 20
""":data:`bayes_ubpr.missing.IMPUTATIONS`."""
REPORT_SUFFIXES = (".html", ".htm", ".md")
""":data:`bayes_ubpr.report.REPORT_SUFFIXES`."""
COHORT_SUFFIXES = (".csv", ".parquet", ".pq", ".xls", ".xlsx")
"""File types :func:`bayes_ubpr.load_cohort` reads."""
RATIOS, CONTROL_SETS = (1, 2, 4), 20
"""``sensitivity controls``' defaults: controls per case, and random control sets per ratio."""
PAPER = "paper"
""":data:`bayes_ubpr.validation.PAPER`: the published model, for ``validate``."""


class _Version(argparse.Action):
    """``--version``: print the installed version, read from the package's metadata only when asked (it is slow)."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS, **options: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **options)

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from importlib.metadata import version

        print(f"{parser.prog} {version('bayes-ubpr')}")  # on stdout, as argparse's own version action
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block), as every other error of the command line."""

    def error(self, message: str) -> NoReturn:
        """Print ``message`` on one line with where to read the usage, and exit with status 2."""
        self.exit(2, f"{self.prog}: error: {' '.join(message.split())} (see {self.prog} --help)\n")


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


def _add_formula_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--formula``; the help lists the options of ``parser`` it excludes."""
    present = {action.dest for action in parser._actions}
    excluded = [option for dest, option in FORMULA_EXCLUDES.items() if dest in present]
    parser.add_argument(
        "--formula", default=None, metavar='"OUTCOME ~ TERMS"', help=FORMULA_HELP.format(excluded=", ".join(excluded))
    )


def _add_missing_options(parser: argparse.ArgumentParser) -> None:
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


ONE_OFF_SAMPLER_HELP = "nutpie where its cached hand-written density covers the model, else pymc"
"""The ``--sampler`` default of the commands that fit once per process (fit, reproduce), as
:func:`bayes_ubpr.model.one_off_sampler` chooses it: the sampler that finishes a single fit first.
Commands that refit one model many times (calibrate, sensitivity) use nutpie throughout."""


def _add_log_likelihood_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--log-likelihood",
        action="store_true",
        help=(
            "also store each patient's log likelihood per draw in the saved fit (for arviz.loo; bayes_ubpr.loo "
            "and the select command recompute it when absent, and it multiplies the file's size)"
        ),
    )


def _add_keep_partial_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--keep-partial",
        action="store_true",
        help=(
            "on Ctrl-C after some draws, still print and save the fit of the draws finished so far, marked as "
            "partial in the table, the file and the report (default: nothing is written)"
        ),
    )


def _add_sampling_options(
    parser: argparse.ArgumentParser,
    *,
    one_off: bool = False,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
) -> None:
    parser.add_argument("--draws", type=int, default=draws, help=f"posterior draws per chain (default {draws})")
    parser.add_argument("--tune", type=int, default=tune, help=f"tuning steps per chain (default {tune})")
    parser.add_argument("--chains", type=int, default=chains, help=f"chains (default {chains})")
    parser.add_argument(
        "--sampler",
        choices=SAMPLERS,
        default=None,
        help=f"NUTS implementation (default: {ONE_OFF_SAMPLER_HELP if one_off else 'nutpie where installed'})",
    )


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of every command's arguments."""
    parser = _Parser(
        prog="bayes-ubpr",
        description="Bayesian re-analysis of risk factors for unsatisfactory back pain relief after vertebroplasty.",
    )
    parser.add_argument("--version", action=_Version, help="show the installed version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    reproduce = commands.add_parser(
        "reproduce",
        help="simulate the paper's cohort, take its 60:60 case-control sample, fit, print ORs beside Table 5",
    )
    reproduce.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    reproduce.add_argument("--out", type=Path, help="also save the fit as NetCDF to this file")
    _add_log_likelihood_option(reproduce)
    reproduce.add_argument("--report", type=Path, help="also write a report (.html or .md) to this file")
    _add_keep_partial_option(reproduce)
    _add_sampling_options(reproduce, one_off=True)

    simulate = commands.add_parser("simulate", help="simulate a cohort like the paper's and save it")
    simulate.add_argument("--n", type=int, default=N_PATIENTS, help=f"patients (default {N_PATIENTS})")
    simulate.add_argument(
        "--prevalence", type=float, default=PREVALENCE, help=f"expected prevalence (default {PREVALENCE:.4f})"
    )
    simulate.add_argument("--seed", type=int, default=None, help="random seed")
    simulate.add_argument(
        "--controls-per-case",
        type=int,
        default=None,
        help="save a case-control sample with this many controls per case",
    )
    simulate.add_argument("--out", type=Path, required=True, help="output file (.csv, .parquet or .xlsx)")

    fit_cmd = commands.add_parser("fit", help="validate a cohort file, fit the model, print the OR table")
    fit_cmd.add_argument("file", type=Path, help="cohort file (.csv, .parquet, .xlsx)")
    fit_cmd.add_argument(
        "--factors",
        nargs="+",
        default=None,
        metavar="FACTOR",
        help="factor columns: the paper's names or any other column (default: the factor file's, else Table 5's six)",
    )
    fit_cmd.add_argument("--outcome", default=None, help=f"outcome column, coded 0/1 (default {OUTCOME})")
    fit_cmd.add_argument(
        "--factor-file",
        type=Path,
        default=None,
        help="TOML file of factor labels, kinds, scales, ranges and priors (see bayes_ubpr.model.read_factor_file)",
    )
    fit_cmd.add_argument("--id-column", default=None, help="column of unique patient ids to check")
    fit_cmd.add_argument(
        "--encoding", default=None, help="text encoding of a CSV file (default UTF-8; e.g. latin-1 or cp1252)"
    )
    fit_cmd.add_argument("--priors", choices=PRESETS, default="default", help="prior preset (default: default)")
    fit_cmd.add_argument(
        "--design", choices=DESIGNS, default="cohort", help="cohort, or case_control to map risks to the population"
    )
    fit_cmd.add_argument(
        "--prevalence", type=float, default=None, help="population prevalence for --design case_control"
    )
    fit_cmd.add_argument("--group", default=None, help="grouping column for multilevel intercepts (e.g. hospital)")
    _add_formula_option(fit_cmd)
    _add_missing_options(fit_cmd)
    fit_cmd.add_argument("--seed", type=int, default=None, help="random seed")
    fit_cmd.add_argument("--out", type=Path, help="save the fit as NetCDF to this file")
    _add_log_likelihood_option(fit_cmd)
    fit_cmd.add_argument("--report", type=Path, help="also write a report (.html or .md) to this file")
    _add_keep_partial_option(fit_cmd)
    _add_sampling_options(fit_cmd, one_off=True)
    calibrate = commands.add_parser(
        "calibrate", help="run a calibration study (fixed truth or SBC) and save its tables"
    )
    calibrate.add_argument("--replicates", type=int, default=100, help="simulated cohorts (default 100)")
    calibrate.add_argument("--mode", choices=("fixed", "sbc"), default="fixed", help="fixed truth (Table 5) or SBC")
    calibrate.add_argument("--priors", choices=PRESETS, default="default", help="prior preset")
    calibrate.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"root seed (default {DEFAULT_SEED})")
    calibrate.add_argument(
        "--sites", type=int, default=1, help="fixed truth: a world of this many sites (hospitals); default 1"
    )
    calibrate.add_argument(
        "--site-sd", type=float, default=0.5, help="SD of the sites' log-odds intercepts (default 0.5; with --sites)"
    )
    calibrate.add_argument(
        "--group", choices=("site",), default=None, help="fit the sites' intercepts (needs --sites 2 or more)"
    )
    calibrate.add_argument("--out", type=Path, required=True, help="folder for the tables and figures")
    calibrate.add_argument(
        "--store",
        type=Path,
        default=None,
        help="folder keeping every finished replicate; rerunning with it resumes a killed study",
    )
    where = calibrate.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=None, help="run on a local Dask cluster of this many processes")
    where.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (tcp://host:port)")
    _add_sampling_options(calibrate, draws=STUDY_DRAWS, tune=STUDY_TUNE, chains=STUDY_CHAINS)

    audit_cmd = commands.add_parser(
        "audit", help="recompute the paper's printed statistics, claims and granularity; grade what disagrees"
    )
    audit_cmd.add_argument(
        "--all",
        action="store_true",
        help="list every check, not only the flagged ones, and run the full simulation (4000 samples per check)",
    )
    audit_cmd.add_argument("--out", type=Path, help="also save the whole audit table (.csv, .parquet, .xlsx)")
    audit_cmd.add_argument(
        "--across-tables",
        action="store_true",
        help="kept for compatibility: the Table 4 vs Table 5 checks now always run",
    )
    audit_cmd.add_argument(
        "--replicates",
        type=int,
        default=None,
        help="simulated 60:60 samples per cross-table check (default 400, or 4000 with --all)",
    )
    audit_cmd.add_argument("--seed", type=int, default=0, help="root seed of the cross-table simulations (default 0)")

    sensitivity = commands.add_parser(
        "sensitivity",
        help="prior, prevalence, control-resampling or unmeasured-confounding sensitivity; tables and figures",
    )
    sensitivity.add_argument(
        "analysis",
        choices=("priors", "prevalence", "controls", "confounding"),
        help="priors: refit over a prior grid, tipping points, power-scaling; prevalence: risks at 4.6%% and "
        "5-22%%; controls: refit over random control sets and ratios; confounding: E-values",
    )
    sensitivity.add_argument(
        "--data",
        type=Path,
        default=None,
        help="a case-control sample (a whole cohort for `controls`); default: the simulated paper cohort",
    )
    sensitivity.add_argument(
        "--formula",
        default=None,
        metavar='"OUTCOME ~ TERMS"',
        help='model formula of the refits (case-control design), e.g. "ubpr ~ fascia_injury + '
        'rcs(cement_volume_ml, 4)"; default: the six factors of Table 5',
    )
    sensitivity.add_argument(
        "--fit",
        type=Path,
        default=None,
        help="a fit saved by `bayes-ubpr fit --out` (.nc): its model; prevalence and confounding read the fit itself, "
        "priors and controls refit its model to --data",
    )
    sensitivity.add_argument("--outcome", default=None, help=f"outcome column of --data, coded 0/1 (default {OUTCOME})")
    sensitivity.add_argument(
        "--factors", nargs="+", default=None, metavar="FACTOR", help="factor columns of --data (default Table 5's six)"
    )
    sensitivity.add_argument(
        "--factor-file",
        type=Path,
        default=None,
        help="TOML file of factor labels, kinds, scales, ranges and priors (see bayes_ubpr.model.read_factor_file)",
    )
    sensitivity.add_argument(
        "--design", choices=DESIGNS, default=None, help="design of --data: case_control (default) or cohort"
    )
    sensitivity.add_argument(
        "--prevalence", type=float, default=None, help="population prevalence of a case-control --data's outcome"
    )
    sensitivity.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    sensitivity.add_argument(
        "--prevalences",
        type=float,
        nargs="+",
        default=None,
        metavar="P",
        help="population prevalences for `prevalence` (default 0.046 0.05 0.10 0.15 0.22)",
    )
    sensitivity.add_argument(
        "--ratios",
        type=int,
        nargs="+",
        default=None,
        metavar="K",
        help=f"controls per case for `controls` (default {' '.join(map(str, RATIOS))})",
    )
    sensitivity.add_argument(
        "--control-sets",
        type=int,
        default=None,
        help=f"random control sets per ratio for `controls` (default {CONTROL_SETS})",
    )
    sensitivity.add_argument("--out", type=Path, required=True, help="folder for the tables and figures")
    _add_sampling_options(sensitivity)

    validate = commands.add_parser(
        "validate",
        help="validate a saved fit (or the published model) in a new cohort: calibration, discrimination, "
        "decision curves",
    )
    validate.add_argument("fit", help="fit saved by `bayes-ubpr fit --out` (.nc), or `paper` for Table 5's model")
    validate.add_argument("cohort", type=Path, help="validation cohort (.csv, .parquet, .xlsx) with the outcome")
    validate.add_argument(
        "--prevalence",
        type=float,
        default=None,
        help="prevalence the published model's intercept is set to (`paper`; default 60/1316), or the population "
        "prevalence for a case-control fit",
    )
    validate.add_argument("--prob", type=float, default=0.95, help="credible interval mass (default 0.95)")
    validate.add_argument("--draws", type=int, default=1000, help="posterior draws used (default 1000)")
    validate.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    validate.add_argument("--out", type=Path, help="folder for the tables (.csv) and figures (.png)")
    validate.add_argument("--report", type=Path, help="also write the fit's report with validation sections")

    select = commands.add_parser(
        "select",
        help="projection-predictive forward selection of factors (horseshoe reference): elpd by size, "
        "suggested size, selection order and its stability across folds",
    )
    select.add_argument("file", type=Path, help="cohort or case-control file (.csv, .parquet, .xlsx)")
    select.add_argument(
        "--factors",
        nargs="+",
        default=None,
        metavar="FACTOR",
        help="candidate factor columns (default: the factor file's, else the fifteen of Table 4)",
    )
    select.add_argument(
        "--fit",
        type=Path,
        default=None,
        help="a fit saved by `bayes-ubpr fit --out` (.nc): its model, priors included, is the reference, refitted to "
        "FILE (the data it was fitted to) in each fold",
    )
    select.add_argument("--outcome", default=None, help=f"outcome column, coded 0/1 (default {OUTCOME})")
    select.add_argument(
        "--factor-file",
        type=Path,
        default=None,
        help="TOML file of factor labels, kinds, scales, ranges and priors (its priors replace the horseshoe)",
    )
    select.add_argument("--priors", choices=PRESETS, default="horseshoe", help="reference priors (default horseshoe)")
    _add_formula_option(select)
    select.add_argument("--folds", type=int, default=5, help="folds of the cross-validated search; 0 skips (default 5)")
    select.add_argument("--max-size", type=int, default=None, help="largest submodel searched (default all factors)")
    select.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})")
    select.add_argument("--out", type=Path, help="folder for the tables (.csv) and the figure (.png)")
    _add_sampling_options(select)

    add_effects_parser(commands)

    report = commands.add_parser("report", help="write the report of a saved fit (.nc) as HTML or Markdown")
    report.add_argument("fit", type=Path, help="fit saved by `bayes-ubpr fit --out` or bayes_ubpr.save_fit")
    report.add_argument("--out", type=Path, required=True, help="report file (.html or .md)")
    report.add_argument("--seed", type=int, default=None, help="seed of the replicated data")
    return parser


# --- Checks of the arguments, before any import of the numeric stack ---

_RANGES: dict[str, tuple[str, int]] = {
    "draws": ("--draws", 1),
    "tune": ("--tune", 0),
    "chains": ("--chains", 1),
    "n": ("--n", 1),
    "controls_per_case": ("--controls-per-case", 1),
    "imputations": ("--imputations", 1),
    "workers": ("--workers", 1),
    "sites": ("--sites", 1),
    "control_sets": ("--control-sets", 2),
    "ratios": ("--ratios", 1),
    "max_size": ("--max-size", 0),
}
"""Whole-number options (argparse destination: option, smallest value); ``--seed`` is checked on its own."""

_PROBABILITIES = {"prevalence": "--prevalence", "prevalences": "--prevalences", "prob": "--prob"}
"""Options that are numbers strictly between 0 and 1."""

_ONLY_FOR = {
    "prevalences": ("--prevalences", "prevalence"),
    "ratios": ("--ratios", "controls"),
    "control_sets": ("--control-sets", "controls"),
}
"""Options of ``sensitivity`` that one analysis reads: refused beside another, which would ignore them."""

_OUTPUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "reproduce": (("out", "fit"), ("report", "report")),
    "simulate": (("out", "table"),),
    "fit": (("out", "fit"), ("report", "report")),
    "calibrate": (("out", "folder"), ("store", "folder")),
    "audit": (("out", "table"),),
    "sensitivity": (("out", "folder"),),
    "report": (("out", "report"),),
    "validate": (("out", "folder"), ("report", "report")),
    "select": (("out", "folder"),),
    "effects": (("out", "folder"),),
}
"""Each command's output options and what they name: a file of a kind, or a folder (made when missing)."""

_SUFFIXES = {
    "fit": (FIT_SUFFIXES, "a fit"),
    "report": (REPORT_SUFFIXES, "a report"),
    "table": (FRAME_SUFFIXES, "a table"),
}

_INPUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "fit": (("file", "cohort"), ("factor_file", "factor")),
    "select": (("file", "cohort"), ("factor_file", "factor"), ("fit", "fit")),
    "sensitivity": (("data", "cohort"), ("fit", "fit"), ("factor_file", "factor")),
    "validate": (("fit", "fit"), ("cohort", "cohort")),
    "effects": (("fit", "fit"),),
    "report": (("fit", "fit"),),
}
"""Each command's input files (argparse destination, what it holds): they must exist before any work."""


def check_arguments(args: argparse.Namespace) -> None:
    """Check what can be checked without the data or the numeric stack; the commands check the rest.

    Raises
    ------
    ValueError
        For a number out of range, options that exclude each other or need
        another, or an input of a file type that cannot be read.
    OSError
        For an input file that does not exist, or an output that could not
        be written (a missing or unwritable folder, a folder where a file is
        named, a file where a folder is).
    """
    for dest, (option, minimum) in _RANGES.items():
        for value in _values(getattr(args, dest, None)):
            if value < minimum:
                least = "at least 1" if minimum == 1 else "0 or more" if minimum == 0 else f"at least {minimum}"
                raise ValueError(f"{option} must be {least}; got {value}")
    replicates = getattr(args, "replicates", None)
    fewest = MIN_REPLICATES if args.command == "audit" else 1
    if replicates is not None and replicates < fewest:
        raise ValueError(f"--replicates must be at least {fewest}; got {replicates}")
    seed = getattr(args, "seed", None)
    if seed is not None and seed < 0:
        raise ValueError(f"--seed must be a non-negative integer; got {seed}")
    for dest, option in _PROBABILITIES.items():
        for value in _values(getattr(args, dest, None)):
            if not 0 < value < 1:
                raise ValueError(f"{option} must be strictly between 0 and 1; got {value:g}")
    _check_combinations(args)
    if args.command == "effects":
        check_effects_arguments(args)
    if getattr(args, "encoding", None) is not None:
        try:
            codecs.lookup(args.encoding)
        except LookupError:
            raise ValueError(
                f"--encoding: unknown text encoding {args.encoding!r} (e.g. utf-8, latin-1, cp1252)"
            ) from None
    for dest, what in _INPUTS.get(args.command, ()):
        _check_input(getattr(args, dest), what)
    check_outputs(args)


def _values(value: Any) -> list[Any]:
    return [] if value is None else list(value) if isinstance(value, list) else [value]


def _check_combinations(args: argparse.Namespace) -> None:
    """Refuse options that exclude each other, or that need another that is missing."""
    if getattr(args, "formula", None) is not None:
        given = [option for dest, option in FORMULA_EXCLUDES.items() if getattr(args, dest, None) is not None]
        if given:
            raise ValueError(
                f"--formula and {', '.join(given)} exclude each other: the formula names the outcome, the terms and "
                "the groups (set priors with --priors)"
            )
    if getattr(args, "missing", "error") != "impute":
        given = [
            option
            for option, value in (
                ("--imputations", getattr(args, "imputations", None)),
                ("--impute-with", getattr(args, "impute_with", None)),
                ("--compare-complete-case", getattr(args, "compare_complete_case", False) or None),
            )
            if value is not None
        ]
        if given:
            raise ValueError(f"{', '.join(given)} need(s) --missing impute")
    if args.command == "fit" and args.prevalence is not None and args.design != "case_control":
        raise ValueError(
            "--prevalence needs --design case_control: a cohort's own prevalence is estimated from its outcomes"
        )
    if args.command == "select" and args.fit is not None:
        described = {
            "factors": "--factors",
            "outcome": "--outcome",
            "factor_file": "--factor-file",
            "formula": "--formula",
        }
        given = [option for dest, option in described.items() if getattr(args, dest, None) is not None]
        if args.priors != "horseshoe":
            given.append("--priors")
        if given:
            raise ValueError(f"--fit and {', '.join(given)} exclude each other: the saved fit names its model")
    if args.command == "select" and (args.folds == 1 or args.folds < 0):
        raise ValueError(f"--folds must be 0 (no cross-validation of the search) or at least 2; got {args.folds}")
    if args.command == "sensitivity":
        _check_sensitivity_model(args)
        for dest, (option, analysis) in _ONLY_FOR.items():
            if getattr(args, dest) is not None and args.analysis != analysis:
                raise ValueError(f"{option} is for `sensitivity {analysis}`; `sensitivity {args.analysis}` ignores it")
    if args.command == "calibrate":
        if args.mode == "sbc" and (args.sites != 1 or args.group is not None):
            raise ValueError("--sites and --group are for --mode fixed: SBC's world has no sites")
        if not math.isfinite(args.site_sd) or args.site_sd < 0:
            raise ValueError(f"--site-sd must be a finite number, 0 or more; got {args.site_sd:g}")
        if args.group is not None and args.sites < 2:
            raise ValueError(f"--group site needs a world of sites: --sites 2 or more; got --sites {args.sites}")
    if args.command == "validate" and args.fit == PAPER and args.report is not None:
        raise ValueError("--report needs a saved fit: the published model has no posterior to report on")


SENSITIVITY_MODEL_OPTIONS = {
    "formula": "--formula",
    "outcome": "--outcome",
    "factors": "--factors",
    "factor_file": "--factor-file",
    "design": "--design",
    "prevalence": "--prevalence",
}
"""``sensitivity``'s options that describe the model; a saved fit (``--fit``) has its own."""


def _check_sensitivity_model(args: argparse.Namespace) -> None:
    """Refuse a saved fit beside options that describe another model, or without the data a refit needs."""
    given = [option for dest, option in SENSITIVITY_MODEL_OPTIONS.items() if getattr(args, dest, None) is not None]
    if args.fit is not None:
        if given:
            raise ValueError(f"--fit and {', '.join(given)} exclude each other: the saved fit names its model")
        if args.analysis in ("priors", "controls") and args.data is None:
            raise ValueError(
                f"sensitivity {args.analysis} refits the saved fit's model: give --data, the data it was fitted to "
                + ("(the whole cohort for controls)" if args.analysis == "controls" else "")
            )
        if args.analysis in ("prevalence", "confounding") and args.data is not None:
            raise ValueError(f"sensitivity {args.analysis} reads the saved fit itself; --data is not used with --fit")
    if args.data is None and any(getattr(args, d, None) is not None for d in ("outcome", "factors", "factor_file")):
        raise ValueError("--outcome, --factors and --factor-file describe your --data: give --data too")
    if args.prevalence is not None and args.design == "cohort":
        raise ValueError("--prevalence needs a case-control design: a cohort's own prevalence comes from its outcomes")


def _check_input(path: str | Path | None, what: str) -> None:
    """Refuse an input file that does not exist (or, for a cohort, cannot be read), in the library's words."""
    if path is None or (what == "fit" and str(path) == PAPER):
        return
    file = Path(path)
    if what == "cohort" and file.suffix.lower() not in COHORT_SUFFIXES:
        raise ValueError(
            f"Cannot read {file.name}: unsupported file type {file.suffix!r}. Use one of {', '.join(COHORT_SUFFIXES)}."
        )
    if not file.is_file():
        raise FileNotFoundError(f"No {what} file at {file}")


def check_outputs(args: argparse.Namespace) -> None:
    """Fail before any work, not after it, when an output could not be written.

    A file's folder must exist; a folder (``--out`` of the commands that save
    tables and figures, ``--store``) is made, with its parents, when the
    command saves into it, so its nearest existing parent must be a folder
    this process can write in.
    """
    for option, kind in _OUTPUTS[args.command]:
        path = getattr(args, option)
        if path is None:
            continue
        if kind in _SUFFIXES:
            suffixes, what = _SUFFIXES[kind]
            check_suffix(path, suffixes, what=what)
            if path.is_dir():
                raise IsADirectoryError(
                    f"--{option}: {path} is a folder; name a file, such as {path / f'out{suffixes[0]}'}"
                )
            _check_folder(path.parent, option)
            if kind == "fit" and getattr(args, "formula", None) is None:  # a formula's outcome: once it is read
                outcome = getattr(args, "outcome", None)
                check_storable_name(OUTCOME if outcome is None else outcome, what="outcome")
        else:
            existing = next((folder for folder in (path, *path.parents) if folder.exists()), Path("."))
            _check_folder(existing, option)


def _check_folder(folder: Path, option: str) -> None:
    """Raise naming ``--option`` unless ``folder`` is an existing folder this process can create files in."""
    folder = folder if str(folder) else Path(".")
    if not folder.exists():
        raise FileNotFoundError(f"--{option}: folder {folder} does not exist")
    if not folder.is_dir():
        raise NotADirectoryError(f"--{option}: {folder} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise PermissionError(f"--{option}: cannot write in {folder} ({error.strerror or error})") from None
