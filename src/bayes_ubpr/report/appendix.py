"""The report's technical appendix, for the statistician who audits it.

Priors, sampling diagnostics, every coefficient beside maximum likelihood, posterior-predictive checks,
predictive performance, leave-one-out cross-validation and binned calibration.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd

from bayes_ubpr.model import ESS_PER_CHAIN_MIN, RHAT_MAX, describe_model_priors
from bayes_ubpr.plots import ppc_plot
from bayes_ubpr.report import formatting as fmt
from bayes_ubpr.report.content import Image, Section, Table
from bayes_ubpr.report.facts import Facts
from bayes_ubpr.report.figures import figure_png
from bayes_ubpr.selection import PARETO_K_THRESHOLD

__all__ = ["METRIC_LABELS", "appendix_sections", "readable_statement"]

METRIC_LABELS = {
    "auc": "C statistic (AUC)",
    "brier": "Brier score",
    "calibration_in_the_large": "Calibration-in-the-large",
    "calibration_slope": "Calibration slope",
    "observed_expected": "Observed:expected ratio",
}
"""Names of the posterior-predictive performance metrics as the report shows them."""

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def readable_statement(statement: str) -> str:
    """Return a prior statement with its odds ratios readable: ``1/2,540`` rather than ``0.000394``.

    Examples
    --------
    >>> readable_statement("95% prior mass on OR 0.000394 to 2.54e+03 per 1 T-score unit "
    ...                    "(OR 0.141 to 7.1 per SD of 0.25)")
    '95% prior mass on OR 1/2,540 to 2,540 per 1 T-score unit (OR 0.141 to 7.10 per SD of 0.250)'
    """
    text = re.sub(
        rf"\bOR ({_NUMBER}) to ({_NUMBER})",
        lambda m: f"OR {fmt.odds_ratio(float(m[1]))} to {fmt.odds_ratio(float(m[2]))}",
        str(statement),
    )
    return re.sub(rf"\bSD of ({_NUMBER})", lambda m: f"SD of {fmt.significant(float(m[1]))}", text)


def appendix_sections(facts: Facts) -> list[Section]:
    """Return the technical appendix's sections, in order."""
    return [
        _priors(facts),
        _diagnostics(facts),
        _coefficients(facts),
        *_checks(facts),
        _performance(facts),
        *_loo(facts),
        _binned(facts),
    ]


def _text(value: object) -> str:
    """Return text as shown in a table: a dash for what a prior table leaves empty (None, NaN, "")."""
    return fmt.DASH if value is None or value == "" or (isinstance(value, float) and value != value) else str(value)


def _priors(facts: Facts) -> Section:
    spec = facts.spec
    table = describe_model_priors(spec)
    rows = []
    for row in table.itertuples(index=False):
        statement = readable_statement(row.statement) if isinstance(row.statement, str) and row.statement else ""
        rows.append([facts.parameter_label(str(row.parameter)), *(_text(v) for v in (row.note, statement, row.source))])
    structure = spec.prior_spec().structure
    if structure is not None:
        settings = {k: v for k, v in structure.to_dict().items() if k not in ("intercept", "domains")}
        words = ", ".join(f"{k} = {v}" for k, v in settings.items())
        rows.append([f"{spec.prior_spec().kind} shrinkage", words, fmt.DASH, "given"])
    frame = pd.DataFrame(rows, columns=["Parameter", "Prior", "95% prior range", "Source"])
    text = (
        "Prior on each log odds ratio, per unit of its column, and the odds ratios it holds 95% of its mass "
        "between (per unit, then per reference SD of the column)"
        + ("; term by term" if spec.terms is not None else "")
        + "."
    )
    return Section("Priors", (text, Table(frame)), appendix=True)


def _diagnostics(facts: Facts) -> Section:
    table = facts.diagnostics
    chains = facts.idata.posterior.sizes["chain"]
    frame = pd.DataFrame(
        {
            "Parameter": [facts.parameter_label(str(p)) for p in table.index],
            "R-hat": [fmt.rhat(v) for v in table["r_hat"]],
            "Bulk ESS": [fmt.count(v) for v in table["ess_bulk"]],
            "Tail ESS": [fmt.count(v) for v in table["ess_tail"]],
            "MCSE of the mean": [fmt.significant(v, 2) for v in table["mcse_mean"]],
            "MCSE of the SD": [fmt.significant(v, 2) for v in table["mcse_sd"]],
            "Converged": ["yes" if ok else "NO" for ok in table["ok"]],
        }
    )
    text = (
        f"R-hat should be at most {RHAT_MAX} and bulk and tail effective sample sizes (ESS) at least "
        f"{ESS_PER_CHAIN_MIN} per chain ({ESS_PER_CHAIN_MIN * chains:,} for {chains} chains); MCSE is the Monte "
        "Carlo standard error, on the scale of each parameter (log odds). "
        f"Divergent transitions: {facts.n_divergent:,}."
    )
    return Section("Sampling diagnostics", (text, Table(frame, tuple(frame.columns[1:-1]))), appendix=True)


def _coefficients(facts: Facts) -> Section:
    odds = facts.odds
    level = f"({facts.prob:.0%} CrI)"
    frame = pd.DataFrame(
        {
            "Coefficient": odds["label"],
            "Per": odds["unit"],
            f"Posterior OR {level}": fmt.intervals(odds[["or_median", "or_lower", "or_upper"]], fmt.odds_ratio),
            "P(OR > 1)": [fmt.probability(p) for p in odds["prob_positive"]],
            "Maximum likelihood OR (95% Wald CI)": fmt.intervals(
                odds[["mle_or", "mle_lower", "mle_upper"]], fmt.odds_ratio
            ),
        }
    )
    if facts.has_paper:
        frame["Paper, Table 5 (95% CI)"] = fmt.intervals(
            odds[["paper_or", "paper_lower", "paper_upper"]], fmt.odds_ratio
        )
    title = (
        "Coefficients per design column" if facts.spec.terms is not None else "Coefficients beside maximum likelihood"
    )
    text = (
        f"Every coefficient of the model as an odds ratio per unit of its design column: posterior median and "
        f"{facts.prob:.0%} credible interval beside maximum likelihood (Wald interval) on the same data"
        + ("; the paper's Table 5 with its 95% CI" if facts.has_paper else "")
        + ". A spline's nonlinear columns and an interaction's columns are parts of a curve or of a difference "
        "between strata, read through the tables above, not alone."
    )
    return Section(title, (text, Table(frame, tuple(frame.columns[2:]))), appendix=True)


def _statistic(facts: Facts, name: str) -> str:
    if name == "number of cases":
        return "Number of cases"
    if name.startswith("case mean: "):
        return f"Mean among cases: {facts.label(name.removeprefix('case mean: '))}"
    return name


def _number(statistic: str, value: object) -> str:
    return fmt.count(value) if statistic == "number of cases" else fmt.significant(value)


def _counter(statistic: object) -> Callable[[object], str]:
    return fmt.count if statistic == "number of cases" else fmt.significant


def _checks(facts: Facts) -> list[Section]:
    checks = facts.ppc.checks
    level = f"({facts.prob:.0%} interval)"
    frame = pd.DataFrame(
        {
            "Statistic": [_statistic(facts, s) for s in checks["statistic"]],
            "Observed": [_number(s, v) for s, v in zip(checks["statistic"], checks["observed"], strict=True)],
            f"Replicated {level}": [
                fmt.interval(r.replicated_median, r.replicated_lower, r.replicated_upper, _counter(r.statistic))
                for r in checks.itertuples(index=False)
            ],
            "ppp": [fmt.probability(p) for p in checks["ppp"]],
        }
    )
    scale = " on the case-control sample's own scale" if facts.case_control else ""
    text = (
        f"Each statistic of the observed data against its distribution in data replicated from the fit{scale}; a "
        "posterior-predictive p-value (ppp) near 0 or 1 flags misfit."
    )
    picture = figure_png(lambda ax: ppc_plot(facts.ppc, facts.idata, seed=facts.seed, ax=ax))
    return [
        Section("Posterior-predictive checks", (text, Table(frame, tuple(frame.columns[1:]))), appendix=True),
        Section(
            "Replicated number of cases", (Image(picture, "Replicated data of the fitted patients."),), appendix=True
        ),
    ]


def _performance(facts: Facts) -> Section:
    table = facts.ppc.performance
    frame = pd.DataFrame(
        {
            "Metric": [METRIC_LABELS.get(m, m) for m in table["metric"]],
            f"Posterior median ({facts.prob:.0%} CrI)": fmt.intervals(table[["median", "lower", "upper"]]),
            "ppp": [fmt.probability(p) for p in table["ppp"]],
        }
    )
    scale = "the case-control sample's own scale" if facts.case_control else "the fitted cohort"
    text = f"Posterior distribution of each metric on {scale}: apparent performance, optimistic by construction."
    return Section("Predictive performance", (text, Table(frame, tuple(frame.columns[1:]))), appendix=True)


def _loo(facts: Facts) -> list[Section]:
    result = facts.loo
    summary = pd.DataFrame(
        {
            "ELPD (LOO)": [fmt.significant(result.elpd_loo)],
            "SE": [fmt.significant(result.se)],
            "p_loo": [fmt.significant(result.p_loo)],
            "Patients": [f"{result.n_obs:,}"],
        }
    )
    high = result.high_k
    flagged = (
        f"Patients with Pareto k > {PARETO_K_THRESHOLD}, whose estimates are unreliable: "
        + ", ".join(map(str, high[:20]))
        + (f" and {len(high) - 20} more." if len(high) > 20 else ".")
        if high
        else f"No patient has Pareto k > {PARETO_K_THRESHOLD}: every leave-one-out estimate is reliable."
    )
    text = (
        "Expected log predictive density (ELPD) of a new patient drawn like the fitted ones, by Pareto-smoothed "
        "importance-sampling leave-one-out cross-validation (Vehtari, Gelman & Gabry 2017); p_loo is the "
        "effective number of parameters. For a case-control sample it refers to patients sampled like its cases "
        "and controls, not to the population; compare it only between fits of the same patients "
        "(bayes_ubpr.compare_models)."
    )
    k = result.pareto_k_summary()
    pareto = pd.DataFrame(
        {
            "Pareto k": k["range"],
            "Patients": [f"{int(c):,}" for c in k["count"]],
            "Share": [fmt.percent(s) if s else "0%" for s in k["share"]],
        }
    )
    return [
        Section("Leave-one-out cross-validation", (text, Table(summary, tuple(summary.columns))), appendix=True),
        Section("Pareto k of the patients", (flagged, Table(pareto, ("Patients", "Share"))), appendix=True),
    ]


def _binned(facts: Facts) -> Section:
    table = facts.ppc.calibration
    frame = pd.DataFrame(
        {
            "Tenth of predicted risk": [f"{int(b) + 1}" for b in table["bin"]],
            "Patients": [f"{int(n):,}" for n in table["n"]],
            "Mean predicted risk": [fmt.percent(v) for v in table["mean_predicted"]],
            "Observed share": [fmt.percent(v) if v else "0%" for v in table["observed_rate"]],
        }
    )
    scale = "the case-control sample's own scale" if facts.case_control else "the cohort scale"
    return Section(
        "Binned calibration",
        (f"Patients in groups of equal size by predicted risk, on {scale}.", Table(frame, tuple(frame.columns))),
        appendix=True,
    )
