"""The ``bayes-ubpr`` command line: parses arguments and calls the public API."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.axes import Axes

from bayes_ubpr import __version__
from bayes_ubpr._cli_effects import add_effects_parser, run_effects
from bayes_ubpr._cli_model import (
    add_formula_option,
    add_missing_options,
    formula_spec,
    group_lines,
    imputation_line,
    missing_keywords,
    outcome_of,
)
from bayes_ubpr._io import FIT_SUFFIXES, FRAME_SUFFIXES, atomic_path, check_storable_name, check_suffix, write_frame
from bayes_ubpr._validate import advising_on_missing, one_line
from bayes_ubpr.audit import MIN_REPLICATES, audit, summary
from bayes_ubpr.data import as_factors, load_cohort
from bayes_ubpr.effects import format_term_odds_ratios, missing_summary, term_odds_ratios
from bayes_ubpr.exceptions import (
    CohortValidationError,
    ConvergenceError,
    FitInterrupted,
    PerformanceWarning,
    StatisticalWarning,
)
from bayes_ubpr.model import (
    DESIGNS,
    SAMPLERS,
    Fitted,
    ModelSpec,
    Sampling,
    default_sampler,
    estimate_fit_seconds,
    fit,
    load_fit,
    one_off_sampler,
    read_factor_file,
    save_fit,
)
from bayes_ubpr.paper import N_PATIENTS, OUTCOME, PREVALENCE, RISK_FACTORS, SIX_FACTORS
from bayes_ubpr.posterior import format_odds_ratio_table, odds_ratio_table
from bayes_ubpr.priors import PRESETS
from bayes_ubpr.report import REPORT_SUFFIXES, write_report
from bayes_ubpr.simulate import case_control_sample, simulate_cohort, true_model
from bayes_ubpr.studies import STUDY_CHAINS, STUDY_DRAWS, STUDY_TUNE

__all__ = ["main"]

DEFAULT_SEED = 2016


_WRITTEN: list[Path] = []
"""Files the running command has written, so that an interrupt can say which (see :func:`main`)."""


def _written(path: Path) -> Path:
    _WRITTEN.append(Path(path))
    return path


def _interrupted(command: str, error: KeyboardInterrupt, args: argparse.Namespace) -> str:
    """Return the line an interrupted command ends with: what was interrupted and what, if anything, was written."""
    what = str(error) if isinstance(error, FitInterrupted) else "interrupted"
    done = f"wrote {', '.join(map(str, _WRITTEN))} before the interrupt" if _WRITTEN else "nothing written"
    if _WRITTEN and isinstance(error, FitInterrupted) and getattr(args, "keep_partial", False):
        done = f"wrote the partial fit (marked as partial) to {', '.join(map(str, _WRITTEN))}"
    if command == "calibrate" and args.store is not None:
        done += f"; the replicates finished so far are kept in {args.store}: run the same command to resume"
    return f"bayes-ubpr {command}: {what}; {done}"


class _Progress:
    """Numbered step messages with elapsed time, on stderr."""

    def __init__(self, steps: int) -> None:
        self.steps, self.step, self.start = steps, 0, time.perf_counter()

    def __call__(self, message: str) -> None:
        self.step += 1
        elapsed = time.perf_counter() - self.start
        print(f"[{self.step}/{self.steps} {elapsed:5.1f} s] {message}", file=sys.stderr, flush=True)


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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bayes-ubpr",
        description="Bayesian re-analysis of risk factors for unsatisfactory back pain relief after vertebroplasty.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
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
    add_formula_option(fit_cmd)
    add_missing_options(fit_cmd)
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
        "--ratios", type=int, nargs="+", default=[1, 2, 4], metavar="K", help="controls per case for `controls`"
    )
    sensitivity.add_argument(
        "--control-sets", type=int, default=20, help="random control sets per ratio for `controls` (default 20)"
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
    select.add_argument("--outcome", default=None, help=f"outcome column, coded 0/1 (default {OUTCOME})")
    select.add_argument(
        "--factor-file",
        type=Path,
        default=None,
        help="TOML file of factor labels, kinds, scales, ranges and priors (its priors replace the horseshoe)",
    )
    select.add_argument("--priors", choices=PRESETS, default="horseshoe", help="reference priors (default horseshoe)")
    add_formula_option(select)
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


def _calibrate(args: argparse.Namespace) -> None:
    from bayes_ubpr import studies
    from bayes_ubpr.model import Sampling
    from bayes_ubpr.plots import coverage_plot, predicted_vs_true_plot, sbc_ecdf_plot

    study = studies.sbc_study if args.mode == "sbc" else studies.coverage_study
    sampling = Sampling(draws=args.draws, tune=args.tune, chains=args.chains, sampler=args.sampler)
    with _dask_client(args) as client:
        result = study(
            studies.STUDY_SPEC.replace(priors=args.priors),
            n_replicates=args.replicates,
            sampling=sampling,
            seed=args.seed,
            progress=True,
            client=client,
            store=args.store,
        )
    tables: dict[str, Any]
    plots: dict[str, Callable[..., Axes]]
    if isinstance(result, studies.CalibrationResult):
        tables = {"summary": result.summary, "predictive": result.predictive, "replicates": result.replicates}
        plots = {"coverage": coverage_plot}
    else:
        tables = {"verdicts": result.verdicts, "ranks": result.ranks, "predictive": result.predictive}
        plots = {"sbc_ecdf": sbc_ecdf_plot}
    if result.risk_curve is not None and not result.risk_curve.empty:
        plots["predicted_vs_true"] = predicted_vs_true_plot
    if result.failed is not None and not result.failed.empty:
        tables["failed"] = result.failed
    print(result)
    _save_outputs(args.out, tables, {stem: _drawing(plot, result) for stem, plot in plots.items()})


@contextlib.contextmanager
def _dask_client(args: argparse.Namespace) -> Iterator[object]:
    """Yield a Dask client for --workers (a local cluster of processes) or --scheduler, else None."""
    if args.workers is None and args.scheduler is None:
        yield None
        return
    from distributed import Client, LocalCluster

    if args.scheduler is not None:
        with Client(args.scheduler) as client:
            yield client
        return
    if args.workers < 1:
        raise ValueError(f"--workers must be at least 1; got {args.workers}")
    with (
        LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        yield client


def _audit(args: argparse.Namespace) -> None:
    if args.seed < 0:
        raise ValueError(f"--seed must be a non-negative integer; got {args.seed}")
    if args.replicates is not None and args.replicates < MIN_REPLICATES:
        raise ValueError(f"--replicates must be at least {MIN_REPLICATES}; got {args.replicates}")
    findings = audit(full=args.all, n_replicates=args.replicates, seed=args.seed)
    counts = summary(findings)
    shown = findings if args.all else findings[findings["severity"] != "ok"]
    with pd.option_context("display.max_colwidth", 90, "display.width", 200):
        print("Findings by severity:")
        print(counts.to_string(index=False))
        print()
        print(shown.drop(columns="assumption").to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    flagged = int((findings["severity"] != "ok").sum())
    print(f"{flagged} of {len(findings)} checks flagged (inconsistent, implausible or note).", file=sys.stderr)
    if args.out is not None:
        _written(write_frame(findings, args.out))


def _validate(args: argparse.Namespace) -> None:
    from bayes_ubpr.plots import decision_curve_plot, validation_calibration_plot
    from bayes_ubpr.validation import PAPER, validate_model

    if args.fit == PAPER and args.report is not None:
        raise ValueError("--report needs a saved fit: the published model has no posterior to report on")
    model = args.fit if args.fit == PAPER else load_fit(args.fit)
    spec = ModelSpec(design="cohort") if args.fit == PAPER else Fitted.of(model).spec
    cohort = _load(args.cohort, spec)
    result = validate_model(
        model, cohort, prevalence=args.prevalence, prob=args.prob, n_draws=args.draws, seed=args.seed
    )
    print(result)
    if args.out is not None:
        tables = {"validation_performance": result.performance, "calibration_curve": result.calibration}
        tables["decision_curve"] = result.decision
        if result.apparent is not None:
            tables["apparent_performance"] = result.apparent
        figures = {
            "validation_calibration": _drawing(validation_calibration_plot, result),
            "decision_curve": _drawing(decision_curve_plot, result),
        }
        _save_outputs(args.out, tables, figures)
    if args.report is not None:
        path = _written(write_report(model, args.report, prob=args.prob, seed=args.seed, validation=result))
        print(f"Wrote the report to {path}", file=sys.stderr)


def _select(args: argparse.Namespace) -> None:
    from bayes_ubpr.model import Sampling
    from bayes_ubpr.plots import selection_plot
    from bayes_ubpr.selection import select_factors

    spec = _fit_spec(args, default_factors=list(RISK_FACTORS), default_priors="horseshoe")
    sampling = Sampling(draws=args.draws, tune=args.tune, chains=args.chains, sampler=args.sampler)
    data = _load(args.file, spec)
    result = select_factors(data, spec, max_size=args.max_size, n_folds=args.folds, sampling=sampling, seed=args.seed)
    print(result)
    if args.out is not None:
        tables = {"selection_path": result.path, "selection_reference": result.reference}
        if args.folds:
            tables |= {"selection_folds": result.fold_orders, "selection_fold_proportions": result.fold_proportions()}
        _save_outputs(args.out, tables, {"selection": _drawing(selection_plot, result)})


def _report(args: argparse.Namespace) -> None:
    path = _written(write_report(load_fit(args.fit), args.out, seed=args.seed))
    print(f"Wrote the report to {path}", file=sys.stderr)


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


LONG_FIT_ROWS = 20_000
"""Patients from which a fit counts as long: its progress (with the sampler's own estimate of the time
left) is shown even when stderr is not a terminal."""


def _fit_and_report(sample: pd.DataFrame, args: argparse.Namespace, spec: ModelSpec) -> None:
    # several fits in one process (one per imputation), or a model with missing values (which
    # one_off_sampler cannot check): the default sampler, which compiles once and refits
    imputing = missing_keywords(args).get("missing") in ("impute", "model")
    sampler = args.sampler or (default_sampler() if imputing else one_off_sampler(sample, spec))
    long_fit = len(sample) >= LONG_FIT_ROWS
    if long_fit:
        sampling = Sampling(draws=args.draws, tune=args.tune, chains=args.chains, sampler=sampler)
        seconds = estimate_fit_seconds(sample, spec, sampling=sampling)
        print(
            f"A long fit ({len(sample):,} patients, {args.chains} chains x ({args.tune} + {args.draws})): "
            f"about {_duration(seconds)} of sampling on one core, from this machine's time per gradient; "
            "the progress bar below shows the time left. For a first look at a large cohort, "
            "--draws 300 --tune 300 usually gives an ESS above 400 (see docs: Large cohorts).",
            file=sys.stderr,
            flush=True,
        )
    stopped: FitInterrupted | None = None
    try:
        idata = fit(
            sample,
            spec,
            draws=args.draws,
            tune=args.tune,
            chains=args.chains,
            seed=args.seed,
            sampler=sampler,
            progressbar=sys.stderr.isatty() or long_fit,
            log_likelihood=args.log_likelihood,
            **missing_keywords(args),
        )
    except FitInterrupted as error:
        if not args.keep_partial or error.fit is None:
            raise
        stopped, idata = error, error.fit
        print(f"PARTIAL FIT ({error}): the table, file and report below hold only the draws finished so far.")
    if Fitted.of(idata).spec.terms is not None:  # odds ratios a clinician reads: per term, within strata
        print(format_term_odds_ratios(term_odds_ratios(idata)))
    else:
        print(format_odds_ratio_table(odds_ratio_table(idata)))
    for line in group_lines(idata):
        print(line)
    if "missing" in idata.attrs:
        print()
        print(missing_summary(idata).format())
    if args.out is not None:
        print(f"Saved the fit to {_written(save_fit(idata, args.out))}", file=sys.stderr)
    if args.report is not None:
        print(f"Wrote the report to {_written(write_report(idata, args.report, seed=args.seed))}", file=sys.stderr)
    if stopped is not None:
        raise stopped


def _reproduce(args: argparse.Namespace) -> None:
    progress = _Progress(3)
    progress(f"Simulating {N_PATIENTS:,} patients at {PREVALENCE:.1%} prevalence (seed {args.seed})")
    sample, _ = _paper_sample(args.seed)
    progress(
        f"Case-control sample: {sample.attrs['n_cases']} cases (paper: 60) and {sample.attrs['n_controls']} "
        f"random controls; fitting {args.chains} chains x {args.draws} draws"
    )
    _fit_and_report(sample, args, ModelSpec(factors=as_factors(SIX_FACTORS), design="case_control"))
    progress("Done. Posterior ORs are per unit of each factor, 95% equal-tailed credible intervals.")


def _simulate(args: argparse.Namespace) -> None:
    frame = simulate_cohort(args.n, args.prevalence, seed=args.seed)
    if args.controls_per_case is not None:
        frame = case_control_sample(frame, args.controls_per_case, seed=args.seed)
    _written(write_frame(frame, args.out))
    print(f"Wrote {len(frame):,} patients ({int(frame['ubpr'].sum())} cases) to {args.out}", file=sys.stderr)


def _fit_spec(
    args: argparse.Namespace, *, default_factors: Sequence[str] = SIX_FACTORS, default_priors: str = "default"
) -> ModelSpec:
    """Return the model the `fit` (or `select`) command's arguments describe, checked before any data are read.

    A formula (--formula) gives the outcome, terms and groups. Otherwise a factor file's factors come before
    ``default_factors``; its priors replace ``default_priors``. `select` has no --design, --prevalence or --group.
    """
    settings: dict[str, Any] = {"design": getattr(args, "design", "cohort")}
    settings["population_prevalence"] = getattr(args, "prevalence", None)
    from_formula = formula_spec(args, priors=args.priors, **settings)
    if from_formula is not None:
        return from_formula
    described, file_priors = read_factor_file(args.factor_file) if args.factor_file else ((), {})
    by_name = {f.name: f for f in described}
    names = args.factors if args.factors is not None else list(by_name) or list(default_factors)
    priors: Any = args.priors
    if file_priors:
        if args.priors != default_priors:
            raise ValueError(f"--priors {args.priors} and the priors in {args.factor_file} exclude each other")
        priors = file_priors
    return ModelSpec(
        factors=as_factors([by_name.get(name, name) for name in names]),
        outcome=outcome_of(args),
        priors=priors,
        group=getattr(args, "group", None),
        **settings,
    )


def _load(path: Path, spec: ModelSpec, **options: Any) -> pd.DataFrame:
    """Load a cohort file for ``spec``: a formula's raw columns as they are (text included), else its factors."""
    if spec.terms is None:
        return load_cohort(path, factors=spec.factors, outcome=spec.outcome, **options)
    return load_cohort(path, factors=(), columns=spec.variables, outcome=spec.outcome, **options)


CLI_MISSING_ADVICE = "--missing impute imputes them (multiple imputation); or remove those rows explicitly"


def _fit(args: argparse.Namespace) -> None:
    spec = _fit_spec(args)
    missing_keywords(args)  # checked before the data are read
    keep = "keep" if args.missing in ("impute", "model") else "error"
    with advising_on_missing(CLI_MISSING_ADVICE):
        cohort = _load(args.file, spec, id_column=args.id_column, encoding=args.encoding, missing=keep)
    n_cases = int(cohort[spec.outcome].sum())
    print(f"Fitting {len(cohort):,} patients ({n_cases} with {spec.outcome} = 1)", file=sys.stderr)
    if args.missing in ("impute", "model"):
        print(imputation_line(cohort, spec, args), file=sys.stderr, flush=True)
    _fit_and_report(cohort, args, spec)


def _paper_world(args: argparse.Namespace, spec: ModelSpec) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Return the user's data (``--data``, checked for ``spec``), else the paper cohort's 60:60 sample; the cohort."""
    if args.data is not None:
        return (load_cohort(args.data) if spec.terms is None else _load(args.data, spec)), None
    return _paper_sample(args.seed)


def _paper_sample(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the simulated paper cohort's 1:1 case-control sample and the cohort (seeds seed and seed + 1)."""
    cohort = simulate_cohort(seed=seed)
    return case_control_sample(cohort, controls_per_case=1, seed=seed + 1), cohort


def _drawing(plot: Callable[..., Axes], result: object) -> Callable[[Axes], Axes]:
    """Bind a figure function to its result, for :func:`_save_outputs`."""
    return lambda ax: plot(result, ax=ax)


_OUTPUTS: dict[str, tuple[tuple[str, str], ...]] = {
    "reproduce": (("out", "fit"), ("report", "report")),
    "simulate": (("out", "table"),),
    "fit": (("out", "fit"), ("report", "report")),
    "calibrate": (("out", "folder"), ("store", "store")),
    "audit": (("out", "table"),),
    "sensitivity": (("out", "folder"),),
    "report": (("out", "report"),),
    "validate": (("out", "folder"), ("report", "report")),
    "select": (("out", "folder"),),
    "effects": (("out", "folder"),),
}
"""Each command's output options and what they name: a file of a kind, a folder, or a store folder to create."""

_SUFFIXES = {
    "fit": (FIT_SUFFIXES, "a fit"),
    "report": (REPORT_SUFFIXES, "a report"),
    "table": (FRAME_SUFFIXES, "a table"),
}


def _check_outputs(args: argparse.Namespace) -> None:
    """Fail before any work, not after it, when an output could not be written: every command calls this first."""
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
            if kind == "fit":
                check_storable_name(outcome_of(args), what="outcome")
        elif kind == "store":  # created if missing: its nearest existing ancestor must take it
            existing = next((folder for folder in (path, *path.parents) if folder.exists()), Path("."))
            _check_folder(existing, option)
        else:
            _check_folder(path, option)


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


def _save_outputs(
    out: Path, tables: Mapping[str, pd.DataFrame], figures: Mapping[str, Callable[[Axes], object]]
) -> None:
    from matplotlib.figure import Figure

    for stem, frame in tables.items():
        _written(write_frame(frame, out / f"{stem}.csv"))
    for stem, draw in figures.items():
        figure = Figure(figsize=(7.5, 5), layout="constrained")
        draw(figure.subplots())
        with atomic_path(out / f"{stem}.png") as temporary:
            figure.savefig(temporary, format="png", dpi=110)
        _written(out / f"{stem}.png")
    saved = [f"{stem}.csv" for stem in tables] + [f"{stem}.png" for stem in figures]
    print(f"Saved {', '.join(saved)} in {out}", file=sys.stderr)


def _sensitivity(args: argparse.Namespace) -> None:
    # the paper's case-control sample (a cohort's, for `controls`), or a formula's model of it
    spec = formula_spec(args, design="case_control") or ModelSpec(design="case_control")
    from bayes_ubpr import plots, sensitivity
    from bayes_ubpr.model import Sampling
    from bayes_ubpr.report import example_patients

    sampling = Sampling(draws=args.draws, tune=args.tune, chains=args.chains, sampler=args.sampler)
    data, cohort = _paper_world(args, spec)
    show = {"index": False, "float_format": lambda v: f"{v:.3g}"}
    if args.analysis == "controls":
        cohort = data if cohort is None else cohort
        truth = true_model().log_odds_ratios if args.data is None and spec.terms is None else None
        result = sensitivity.control_resampling(
            cohort,
            spec,
            n_draws=args.control_sets,
            controls_per_case=args.ratios,
            truth=truth,
            sampling=sampling,
            seed=args.seed,
        )
        print(result.summary.to_string(**show))
        tables = {"control_resampling": result.summary, "control_resampling_draws": result.per_draw}
        _save_outputs(args.out, tables, {"control_resampling": lambda ax: plots.control_resampling_plot(result, ax=ax)})
        return
    if args.analysis == "priors":
        grid = sensitivity.prior_sensitivity(data, spec, sampling=sampling, seed=args.seed)
        tipping = sensitivity.tipping_points(data, spec, sampling=sampling, seed=args.seed)
        idata = fit(data, spec, sampling=sampling, seed=args.seed, check=False)
        scaling = sensitivity.power_scaling(idata, data)
        flips = grid.loc[grid["flips"], "factor"].unique()
        print(f"Conclusions that change across the prior grid: {', '.join(flips) or 'none'}\n")
        print(tipping.summary.to_string(**show), "\n", scaling.to_string(**show), sep="\n")
        tables = {"prior_sensitivity": grid, "tipping_points": tipping.summary, "power_scaling": scaling}
        figures = {
            "prior_sensitivity": lambda ax: plots.prior_sensitivity_plot(grid, ax=ax),
            "tipping_points": lambda ax: plots.tipping_point_plot(tipping, ax=ax),
        }
        _save_outputs(args.out, tables, figures)
        return
    idata = fit(data, spec, sampling=sampling, seed=args.seed, check=False)
    if args.analysis == "prevalence":
        prevalences = args.prevalences or sensitivity.LITERATURE_PREVALENCES
        table = sensitivity.prevalence_sensitivity(idata, example_patients(idata), prevalences=prevalences)
        print(table.to_string(**show))
        figures = {"prevalence_sensitivity": lambda ax: plots.prevalence_sensitivity_plot(table, ax=ax)}
        _save_outputs(args.out, {"prevalence_sensitivity": table}, figures)
        return
    table = sensitivity.e_value_table(idata)
    print(table.to_string(**show))
    _save_outputs(args.out, {"e_values": table}, {})


def _effects(args: argparse.Namespace) -> None:
    tables, figures = run_effects(args)
    if args.out is not None:
        _save_outputs(args.out, tables, figures)


_COMMANDS = {
    "effects": _effects,
    "reproduce": _reproduce,
    "simulate": _simulate,
    "fit": _fit,
    "calibrate": _calibrate,
    "audit": _audit,
    "sensitivity": _sensitivity,
    "validate": _validate,
    "select": _select,
    "report": _report,
}


EXIT_INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT, as shells report a process SIGINT ended)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 success, 2 bad input, 130 interrupted)."""
    args = _parser().parse_args(argv)
    # PyMC's sampler logs its set-up at INFO ("Initializing NUTS ..."): a command prints only its own results.
    logging.getLogger("pymc").setLevel(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Harmless here (exact results, a little slower) and alarming on a terminal.
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS", category=UserWarning)
        _WRITTEN.clear()
        status, verdict = 0, None
        try:
            _check_outputs(args)
            _COMMANDS[args.command](args)
        except (CohortValidationError, ConvergenceError, ValueError, TypeError, OSError) as error:
            status, verdict = 2, f"bayes-ubpr {args.command}: error: {one_line(error)}"
        except KeyboardInterrupt as error:  # Ctrl-C: one line, and the shell's code for SIGINT
            status, verdict = EXIT_INTERRUPTED, _interrupted(args.command, error, args)
        finally:  # the warnings first, so that the last line says how the command ended
            for warning in caught:
                if issubclass(warning.category, (StatisticalWarning, PerformanceWarning)):
                    print(f"bayes-ubpr {args.command}: warning: {warning.message}", file=sys.stderr)
    if verdict is not None:
        print(verdict, file=sys.stderr)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
