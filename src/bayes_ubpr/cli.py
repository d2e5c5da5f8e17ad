"""The ``bayes-ubpr`` command line: parses arguments and calls the public API.

The arguments are defined and checked by :mod:`bayes_ubpr._cli_parser`, with
the standard library alone; each command imports the library (and with it
PyMC) only after that, so that a refusal comes back at once. A long command
(fit, reproduce, select, calibrate, sensitivity) prints on stderr a line as
it starts, a line per step with the time since it started, and a line when it
is done; where stderr is not a terminal (a log file, a batch job), the
sampler's progress and a study's replicates are lines too, not a bar.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
import typing
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bayes_ubpr._cli_effects import run_effects
from bayes_ubpr._cli_model import formula_spec, group_lines, imputation_line, missing_keywords
from bayes_ubpr._cli_parser import (
    CONTROL_SETS,
    N_PATIENTS,
    OUTCOME,
    PAPER,
    PREVALENCE,
    RATIOS,
    build_parser,
    check_arguments,
)
from bayes_ubpr._io import atomic_path, check_storable_name, write_frame
from bayes_ubpr._steps import listening, report_step
from bayes_ubpr.exceptions import (
    CohortValidationError,
    ConvergenceError,
    FitInterrupted,
    PerformanceWarning,
    StatisticalWarning,
    one_line,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes

    from bayes_ubpr.model import ModelSpec

__all__ = ["main"]

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


LONG_COMMANDS = ("fit", "reproduce", "select", "calibrate", "sensitivity")
"""Commands that end with a line saying they are done, and how long they took."""


class _Log:
    """A command's progress lines on stderr, each with the time since the command started.

    Every :func:`bayes_ubpr._steps.report_step` message (the command's own and
    the library's) becomes ``[  81.3 s] select: fold 2 of 5: fitting 96 patients``.
    """

    def __init__(self, command: str) -> None:
        self.command, self.start = command, time.perf_counter()

    def __call__(self, message: str) -> None:
        elapsed = time.perf_counter() - self.start
        print(f"[{elapsed:7.1f} s] {self.command}: {message}", file=sys.stderr, flush=True)

    def done(self) -> None:
        self(f"done in {_duration(time.perf_counter() - self.start)}")


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _sampling_words(args: argparse.Namespace) -> str:
    return f"{args.chains} chains x ({args.tune} tuning + {args.draws} draws)"


def _calibrate(args: argparse.Namespace) -> None:
    from bayes_ubpr import studies
    from bayes_ubpr.model import Sampling
    from bayes_ubpr.plots import coverage_plot, predicted_vs_true_plot, sbc_ecdf_plot

    study = studies.sbc_study if args.mode == "sbc" else studies.coverage_study
    sampling = Sampling(draws=args.draws, tune=args.tune, chains=args.chains, sampler=args.sampler)
    world = {"n_sites": args.sites, "site_sd": args.site_sd} if args.sites != 1 else {}
    with _dask_client(args) as client:
        result = study(
            studies.STUDY_SPEC.replace(priors=args.priors, group=args.group),
            **world,
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
    with (
        LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        Client(cluster) as client,
    ):
        yield client


def _audit(args: argparse.Namespace) -> None:
    import pandas as pd

    from bayes_ubpr.audit import audit, summary

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
    from bayes_ubpr.model import Fitted, ModelSpec, load_fit
    from bayes_ubpr.plots import decision_curve_plot, validation_calibration_plot
    from bayes_ubpr.report import write_report
    from bayes_ubpr.validation import validate_model

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
    from bayes_ubpr.paper import RISK_FACTORS
    from bayes_ubpr.plots import selection_plot
    from bayes_ubpr.selection import select_factors

    if args.fit is not None:  # a user's saved fit: its model is the reference
        from bayes_ubpr.model import ModelSpec, load_fit

        spec = ModelSpec.from_idata(load_fit(args.fit))
    else:
        spec = _fit_spec(args, default_factors=list(RISK_FACTORS), default_priors="horseshoe")
    # each fit's progress: a bar on a terminal, else a line at every tenth of its iterations
    sampling = Sampling(draws=args.draws, tune=args.tune, chains=args.chains, sampler=args.sampler, progressbar=True)
    data = _load(args.file, spec)
    result = select_factors(data, spec, max_size=args.max_size, n_folds=args.folds, sampling=sampling, seed=args.seed)
    print(result)
    if args.out is not None:
        tables = {"selection_path": result.path, "selection_reference": result.reference}
        if args.folds:
            tables |= {"selection_folds": result.fold_orders, "selection_fold_proportions": result.fold_proportions()}
        _save_outputs(args.out, tables, {"selection": _drawing(selection_plot, result)})


def _report(args: argparse.Namespace) -> None:
    from bayes_ubpr.model import load_fit
    from bayes_ubpr.report import write_report

    path = _written(write_report(load_fit(args.fit), args.out, seed=args.seed))
    print(f"Wrote the report to {path}", file=sys.stderr)


LONG_FIT_ROWS = 20_000
"""Patients from which a fit counts as long: the command says first about how long its sampling will take."""


def _fit_and_report(sample: pd.DataFrame, args: argparse.Namespace, spec: ModelSpec) -> None:
    from bayes_ubpr.effects import format_term_odds_ratios, missing_summary, term_odds_ratios
    from bayes_ubpr.model import Fitted, Sampling, default_sampler, estimate_fit_seconds, fit, one_off_sampler, save_fit
    from bayes_ubpr.posterior import format_odds_ratio_table, odds_ratio_table
    from bayes_ubpr.report import write_report

    # several fits in one process (one per imputation), or a model with missing values (which
    # one_off_sampler cannot check): the default sampler, which compiles once and refits
    imputing = missing_keywords(args).get("missing") in ("impute", "model")
    sampler = args.sampler or (default_sampler() if imputing else one_off_sampler(sample, spec))
    if len(sample) >= LONG_FIT_ROWS:
        sampling = Sampling(draws=args.draws, tune=args.tune, chains=args.chains, sampler=sampler)
        seconds = estimate_fit_seconds(sample, spec, sampling=sampling)
        print(
            f"A long fit ({len(sample):,} patients, {args.chains} chains x ({args.tune} + {args.draws})): "
            f"about {_duration(seconds)} of sampling on one core, from this machine's time per gradient; "
            "the progress below shows the time left. For a first look at a large cohort, "
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
            # a bar on a terminal, else a line at every tenth of the iterations; the imputations' fits run side
            # by side, and each says when it is done instead (bayes_ubpr.model._pooled)
            progressbar=not imputing,
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
    from bayes_ubpr.data import as_factors
    from bayes_ubpr.model import ModelSpec
    from bayes_ubpr.paper import SIX_FACTORS

    print(_published_reanalysis())
    print()
    report_step("auditing the paper's printed statistics")
    print(_audit_headline())
    print()
    print(
        "3. One simulated world shaped like the paper (not the paper's patients): a cohort of "
        f"{N_PATIENTS:,} drawn from Tables 4 and 5 at {PREVALENCE:.1%} prevalence (seed {args.seed}), its 1:1 "
        "case-control sample, the Bayesian model fitted to it. Its odds ratios differ from the paper's by the "
        "chance of one sample: the check of the method is the calibration study (bayes-ubpr calibrate)."
    )
    report_step(f"simulating {N_PATIENTS:,} patients at {PREVALENCE:.1%} prevalence (seed {args.seed})")
    sample, _ = _paper_sample(args.seed)
    report_step(
        f"case-control sample: {sample.attrs['n_cases']} cases (paper: 60) and {sample.attrs['n_controls']} "
        f"random controls; fitting {_sampling_words(args)}"
    )
    _fit_and_report(sample, args, ModelSpec(factors=as_factors(SIX_FACTORS), design="case_control"))
    print("Posterior ORs are per unit of each factor, 95% equal-tailed credible intervals.", file=sys.stderr)


def _published_reanalysis() -> str:
    """Return the Bayesian re-analysis of the published Table 5 (closed form, no simulation) as text."""
    from bayes_ubpr._text import format_interval, text_table
    from bayes_ubpr.paper import RISK_FACTORS
    from bayes_ubpr.posterior import reanalyse_published

    weak, sceptic = reanalyse_published("weakly_informative"), reanalyse_published("sceptical")
    rows = [
        [
            RISK_FACTORS[a.factor].label if a.factor in RISK_FACTORS else a.factor,
            format_interval(a.paper_or, a.paper_lower, a.paper_upper),
            format_interval(a.or_median, a.or_lower, a.or_upper),
            format_interval(b.or_median, b.or_lower, b.or_upper),
            f"{b.prob_or_gt_1:.3f}" if b.or_median >= 1 else f"{1 - b.prob_or_gt_1:.3f}",
        ]
        for a, b in zip(weak.itertuples(), sceptic.itertuples(), strict=True)
    ]
    header = [
        "Factor",
        "Paper OR (95% CI)",
        "Weakly informative prior",
        "Sceptical prior",
        "Sceptic: P(OR on the paper's side of 1)",
    ]
    return (
        "1. The paper's Table 5, re-analysed: each published log odds ratio and its standard error as the "
        "likelihood, combined with a prior in closed form (no simulation; bayes_ubpr.reanalyse_published). "
        "Posterior OR (95% CrI):\n" + text_table(header, rows)
    )


def _audit_headline() -> str:
    """Return the audit's counts of findings in one paragraph (the checks that need no simulation)."""
    from bayes_ubpr.audit import audit, summary

    counts = summary(audit()).set_index("severity")["checks"]
    flagged = {severity: int(counts.get(severity, 0)) for severity in ("inconsistent", "implausible", "note")}
    return (
        f"2. The audit of the paper's printed statistics: of {int(counts.sum())} checks, "
        f"{flagged['inconsistent']} are inconsistent with the paper's own numbers, {flagged['implausible']} "
        f"implausible and {flagged['note']} worth a note (bayes-ubpr audit lists them; docs/audit.md explains)."
    )


def _simulate(args: argparse.Namespace) -> None:
    from bayes_ubpr.simulate import case_control_sample, simulate_cohort

    frame = simulate_cohort(args.n, args.prevalence, seed=args.seed)
    if args.controls_per_case is not None:
        frame = case_control_sample(frame, args.controls_per_case, seed=args.seed)
    _written(write_frame(frame, args.out))
    print(f"Wrote {len(frame):,} patients ({int(frame['ubpr'].sum())} cases) to {args.out}", file=sys.stderr)


def _fit_spec(
    args: argparse.Namespace, *, default_factors: Sequence[str] | None = None, default_priors: str = "default"
) -> ModelSpec:
    """Return the model the `fit` (or `select`) command's arguments describe, checked before any data are read.

    A formula (--formula) gives the outcome, terms and groups. Otherwise a factor file's factors come before
    ``default_factors`` (Table 5's six if None); its priors replace ``default_priors``. `select` has no
    --design, --prevalence or --group.
    """
    from bayes_ubpr.data import as_factors
    from bayes_ubpr.model import ModelSpec, read_factor_file
    from bayes_ubpr.paper import SIX_FACTORS

    settings: dict[str, Any] = {"design": getattr(args, "design", "cohort")}
    settings["population_prevalence"] = getattr(args, "prevalence", None)
    from_formula = formula_spec(args, priors=args.priors, **settings)
    if from_formula is not None:
        return from_formula
    described, file_priors = read_factor_file(args.factor_file) if args.factor_file else ((), {})
    by_name = {f.name: f for f in described}
    defaults = SIX_FACTORS if default_factors is None else default_factors
    names = args.factors if args.factors is not None else list(by_name) or list(defaults)
    priors: Any = args.priors
    if file_priors:
        if args.priors != default_priors:
            raise ValueError(f"--priors {args.priors} and the priors in {args.factor_file} exclude each other")
        priors = file_priors
    return ModelSpec(
        factors=as_factors([by_name.get(name, name) for name in names]),
        outcome=OUTCOME if args.outcome is None else args.outcome,
        priors=priors,
        group=getattr(args, "group", None),
        **settings,
    )


def _load(path: Path, spec: ModelSpec, **options: Any) -> pd.DataFrame:
    """Load a cohort file for ``spec``: a formula's raw columns as they are (text included), else its factors."""
    from bayes_ubpr.data import load_cohort

    if spec.terms is None:
        return load_cohort(path, factors=spec.factors, outcome=spec.outcome, **options)
    return load_cohort(path, factors=(), columns=spec.variables, outcome=spec.outcome, **options)


CLI_MISSING_ADVICE = "--missing impute imputes them (multiple imputation); or remove those rows explicitly"


def _fit(args: argparse.Namespace) -> None:
    from bayes_ubpr._validate import advising_on_missing

    spec = _fit_spec(args)
    if args.out is not None and args.formula is not None:  # the formula's outcome, now that it is read
        check_storable_name(spec.outcome, what="outcome")
    keep = "keep" if args.missing in ("impute", "model") else "error"
    with advising_on_missing(CLI_MISSING_ADVICE):
        cohort = _load(args.file, spec, id_column=args.id_column, encoding=args.encoding, missing=keep)
    n_cases = int(cohort[spec.outcome].sum())
    report_step(f"fitting {len(cohort):,} patients ({n_cases} with {spec.outcome} = 1), {_sampling_words(args)}")
    if args.missing in ("impute", "model"):
        report_step(imputation_line(cohort, spec, args))
    _fit_and_report(cohort, args, spec)


def _sensitivity_spec(args: argparse.Namespace) -> ModelSpec:
    """Return the model ``sensitivity``'s options describe: a formula, the user's factors and outcome, or Table 5's."""
    from bayes_ubpr.data import as_factors
    from bayes_ubpr.model import ModelSpec, read_factor_file
    from bayes_ubpr.paper import SIX_FACTORS

    design = args.design or "case_control"
    settings: dict[str, Any] = {"design": design, "population_prevalence": args.prevalence}
    from_formula = formula_spec(args, **settings)
    if from_formula is not None:
        return from_formula
    described, priors = read_factor_file(args.factor_file) if args.factor_file else ((), {})
    by_name = {f.name: f for f in described}
    names = args.factors if args.factors is not None else list(by_name) or list(SIX_FACTORS)
    return ModelSpec(
        factors=as_factors([by_name.get(name, name) for name in names]),
        outcome=args.outcome or OUTCOME,
        priors=priors or None,
        **settings,
    )


def _paper_world(args: argparse.Namespace, spec: ModelSpec) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Return the user's data (``--data``, checked for ``spec``), else the paper cohort's 60:60 sample; the cohort."""
    if args.data is not None:  # checked for the model's own factors and outcome, not the paper's
        return _load(args.data, spec), None
    return _paper_sample(args.seed)


def _paper_sample(seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the simulated paper cohort's 1:1 case-control sample and the cohort (seeds seed and seed + 1)."""
    from bayes_ubpr.simulate import case_control_sample, simulate_cohort

    cohort = simulate_cohort(seed=seed)
    return case_control_sample(cohort, controls_per_case=1, seed=seed + 1), cohort


def _drawing(plot: Callable[..., Axes], result: object) -> Callable[[Axes], Axes]:
    """Bind a figure function to its result, for :func:`_save_outputs`."""
    return lambda ax: plot(result, ax=ax)


def _save_outputs(
    out: Path, tables: Mapping[str, pd.DataFrame], figures: Mapping[str, Callable[[Axes], object]]
) -> None:
    """Save the tables (.csv) and figures (.png) in the folder ``out``, made (with its parents) if missing."""
    from matplotlib.figure import Figure

    out.mkdir(parents=True, exist_ok=True)
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
    from bayes_ubpr import plots, sensitivity
    from bayes_ubpr.model import ModelSpec, Sampling, fit
    from bayes_ubpr.report import example_patients
    from bayes_ubpr.simulate import true_model

    sampling = Sampling(draws=args.draws, tune=args.tune, chains=args.chains, sampler=args.sampler)
    show = {"index": False, "float_format": lambda v: f"{v:.3g}"}
    saved = None
    if args.fit is not None:  # a user's saved fit: its model (refitted to --data), or the fit itself
        from bayes_ubpr.model import load_fit

        saved = load_fit(args.fit)
        spec = ModelSpec.from_idata(saved)
    else:  # the paper's case-control sample (a cohort's, for `controls`), a formula's or the user's model of it
        spec = _sensitivity_spec(args)
    if saved is not None and args.analysis in ("prevalence", "confounding"):
        data = cohort = None
    else:
        data, cohort = _paper_world(args, spec)
    if args.analysis == "controls":
        cohort = data if cohort is None else cohort
        truth = true_model().log_odds_ratios if args.data is None and spec.terms is None else None
        ratios = RATIOS if args.ratios is None else args.ratios
        control_sets = CONTROL_SETS if args.control_sets is None else args.control_sets
        result = sensitivity.control_resampling(
            cohort,
            spec,
            n_draws=control_sets,
            controls_per_case=ratios,
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
        report_step("the fit of the model's own priors, for power-scaling")
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
    if saved is not None:
        idata = saved
    else:
        frame = typing.cast("pd.DataFrame", data)  # read above whenever no saved fit is given
        report_step(f"fitting {len(frame):,} patients, {_sampling_words(args)}")  # then the sampler's progress
        idata = fit(frame, spec, sampling=sampling.replace(progressbar=True), seed=args.seed, check=False)
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
    args = build_parser().parse_args(argv)
    command = f"{args.command} {args.analysis}" if args.command == "sensitivity" else args.command
    log = _Log(command)
    # PyMC's sampler logs its set-up at INFO ("Initializing NUTS ..."): a command prints only its own results.
    logging.getLogger("pymc").setLevel(logging.WARNING)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # Harmless here (exact results, a little slower) and alarming on a terminal.
        warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS", category=UserWarning)
        _WRITTEN.clear()
        status, verdict = 0, None
        try:
            check_arguments(args)  # before the library (and PyMC) is imported: a refusal comes back at once
            with listening(log):
                _COMMANDS[args.command](args)
            if args.command in LONG_COMMANDS:
                log.done()
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
