"""The report's main part, for the clinician: data, odds ratios, two patients' risks, curves, groups, calibration.

Every table here holds display strings with human headers (formatted by
:mod:`bayes_ubpr.report.formatting`); the technical appendix is in
:mod:`bayes_ubpr.report.appendix`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from bayes_ubpr.effects import conditional_effects, plot_conditional_effects
from bayes_ubpr.plots import decision_curve_plot, forest_plot, group_effects_plot
from bayes_ubpr.report import formatting as fmt
from bayes_ubpr.report.content import Image, Section, Table
from bayes_ubpr.report.facts import Facts
from bayes_ubpr.report.figures import calibration_png, figure_png, forest_png, validation_calibration_png
from bayes_ubpr.terms import Spline
from bayes_ubpr.validation import ValidationResult

__all__ = ["GROUP_TEXT", "main_sections", "validation_sections"]

GROUP_TEXT = (
    "Spread of the group intercepts: their SD on the log-odds scale and the median odds ratio "
    "MOR = exp(0.954 SD), the median over pairs of groups drawn at random of the odds ratio between the "
    "higher- and the lower-risk group for identical patients, comparable with the factors' odds ratios "
    "(Larsen & Merlo 2005, Am J Epidemiol 161:81-88, doi:10.1093/aje/kwi017); the IQR OR = exp(1.349 SD) "
    "compares a group at the 75th with one at the 25th percentile. With fewer than about five groups the SD "
    "leans on its prior."
)


def _crI(prob: float) -> str:
    return f"({prob:.0%} CrI)"


def main_sections(facts: Facts) -> list[Section]:
    """Return the main sections after the summary, in order."""
    return [
        _data(facts),
        *_missing(facts),
        *_odds(facts),
        _absolute_risk(facts),
        *_curves(facts),
        *_groups(facts),
        _calibration(facts),
    ]


def _data(facts: Facts) -> Section:
    spec = facts.spec
    rows = [
        ("patients", f"{facts.n_patients:,}"),
        (f"cases ({spec.outcome} = 1)", f"{facts.n_events:,}"),
        ("controls", f"{facts.n_patients - facts.n_events:,}"),
    ]
    if spec.formula is not None:
        rows.append(("formula", spec.formula))
    rows.append(("design", "case-control sample" if facts.case_control else "cohort"))
    if facts.prevalence is not None:
        mean, words = facts.prevalence
        rows.append(("population prevalence", f"{fmt.percent(mean)} ({words})"))
    rows.append(("factors", ", ".join(f.label for f in spec.factors)))
    rows.append(("groups", ", ".join(spec.groups) or "none"))
    frame = pd.DataFrame(rows, columns=["Quantity", "Value"])
    return Section("Data", ("What was fitted.", Table(frame)))


def _missing(facts: Facts) -> list[Section]:
    summary = facts.missing
    if summary is None:
        return []
    table = summary.table
    if not table.empty and "missing_events" in table:
        shown = table[table["n_missing"] > 0]
        frame = pd.DataFrame(
            {
                "Column": shown["column"],
                "Missing": [
                    f"{n:,} ({p:.1f}%)" for n, p in zip(shown["n_missing"], shown["percent_missing"], strict=True)
                ],
                "Among events": [
                    f"{n:,} ({p:.1f}%)"
                    for n, p in zip(shown["missing_events"], shown["percent_missing_events"], strict=True)
                ],
                "Among non-events": [
                    f"{n:,} ({p:.1f}%)"
                    for n, p in zip(shown["missing_non_events"], shown["percent_missing_non_events"], strict=True)
                ],
            }
        )
    else:
        frame = pd.DataFrame({"Imputations": [f"{summary.imputations}"]})
    sections = [
        Section("Missing values", (summary.describe(), Table(frame, ("Missing", "Among events", "Among non-events"))))
    ]
    if summary.comparison is not None:
        text = (
            f"Posterior odds ratios {_crI(facts.prob)} of the imputed fit ({summary.n_patients:,} patients, "
            f"{summary.n_events} events) beside the same model fitted to the complete cases "
            f"({summary.complete_cases:,} patients, {summary.complete_case_events} events)."
        )
        c = summary.comparison
        frame = pd.DataFrame(
            {
                "Term": [facts.term_label(t) for t in c["term"]],
                "Comparison": c["contrast"],
                "Within": [facts.stratum_label(s) or fmt.DASH for s in c["stratum"]],
                "Imputed": fmt.intervals(c[["or_median", "or_lower", "or_upper"]], fmt.odds_ratio),
                "Complete case": fmt.intervals(c[["cc_or_median", "cc_or_lower", "cc_or_upper"]], fmt.odds_ratio),
            }
        )
        sections.append(Section("Imputed beside complete-case", (text, Table(frame, ("Imputed", "Complete case")))))
    return sections


def _odds(facts: Facts) -> list[Section]:
    """Return the odds ratios a clinician reads, and their forest plot."""
    prob, level = facts.prob, _crI(facts.prob)
    header = f"Posterior OR {level}"
    if facts.terms is None:
        odds = facts.odds
        frame = pd.DataFrame(
            {
                "Factor": odds["label"],
                "Per": odds["unit"],
                header: fmt.intervals(odds[["or_median", "or_lower", "or_upper"]], fmt.odds_ratio),
                "P(OR > 1)": [fmt.probability(p) for p in odds["prob_positive"]],
            }
        )
        if facts.has_paper:
            frame["Paper, Table 5 (95% CI)"] = fmt.intervals(
                odds[["paper_or", "paper_lower", "paper_upper"]], fmt.odds_ratio
            )
        title = "Odds ratios beside the paper" if facts.has_paper else "Odds ratios"
        text = (
            f"Posterior median and {prob:.0%} credible interval (CrI) of each factor's odds ratio, per the unit "
            "in 'Per', the other factors held fixed; P(OR > 1) is the posterior probability that the factor "
            "raises the risk." + (" The paper's published odds ratios are beside them." if facts.has_paper else "")
        )
        n = len(odds)
        forest = figure_png(lambda ax: forest_plot(facts.idata, prob=prob, ax=ax), (7.5, 0.7 * n + 2.0))
        caption = "Circles: posterior median and CrI" + (
            "; squares: the paper's OR and 95% CI" if facts.has_paper else ""
        )
        return [
            Section(title, (text, Table(frame, (header, "P(OR > 1)", "Paper, Table 5 (95% CI)")))),
            Section("Forest plot", (Image(forest, caption + "; log scale."),)),
        ]
    table = facts.terms
    frame = pd.DataFrame(
        {
            "Term": [facts.term_label(t) for t in table["term"]],
            "Comparison": table["contrast"],
            "Within": [facts.stratum_label(s) or fmt.DASH for s in table["stratum"]],
            header: fmt.intervals(table[["or_median", "or_lower", "or_upper"]], fmt.odds_ratio),
            "P(OR > 1)": [fmt.probability(p) for p in table["p_or_gt_1"]],
        }
    )
    text = (
        f"Posterior median and {prob:.0%} credible interval (CrI) of the odds ratio between two patients who "
        "differ in one variable, the others at the typical patient's values: per unit and between quartiles, "
        "each level against the reference, a spline between its quartiles (its whole curve is drawn below), an "
        "interaction within each stratum."
    )
    labels = [
        f"{term}: {contrast}" + (f" ({within})" if within != fmt.DASH else "")
        for term, contrast, within in zip(frame["Term"], frame["Comparison"], frame["Within"], strict=True)
    ]
    forest = forest_png(labels, table["or_median"], table["or_lower"], table["or_upper"], prob=prob)
    return [
        Section("Odds ratios by term", (text, Table(frame, (header, "P(OR > 1)")))),
        Section("Forest plot", (Image(forest, "The rows of the table above; log scale."),)),
    ]


def _absolute_risk(facts: Facts) -> Section:
    patients = facts.patients
    level = _crI(facts.prob)
    scale = "population" if facts.case_control else "cohort"
    names = ["Typical patient", "High-risk example"]
    rows = []
    for variable in facts.patient_variables:
        unit = facts.unit(variable).removeprefix("1 ")
        label = facts.label(variable) + (f" ({unit})" if 0 < len(unit) <= 5 and unit != "unit" else "")
        rows.append([label, *(facts.value_words(variable, patients.iloc[i][variable]) for i in range(2))])
    rows.append(
        [f"Risk of {facts.event}, {scale} scale, median {level}"]
        + [
            fmt.interval(p["risk_median"], p["risk_lower"], p["risk_upper"], fmt.percent)
            for _, p in patients.iterrows()
        ]
    )
    frame = pd.DataFrame(rows, columns=["", *names])
    at_group = " at a new group (the spread between groups included)" if facts.spec.groups else ""
    text = (
        f"Risk of {facts.event} on the {scale} scale{at_group}, posterior median and {facts.prob:.0%} credible "
        "interval. The typical patient has each variable at its median (or commonest level); the high-risk "
        "example is the typical one with each variable in turn moved, within the fitted data, to the value that "
        "raises the risk most."
        + (
            f" Population scale: the case-control sample's risks moved to a prevalence of "
            f"{fmt.percent(facts.prevalence[0])}."
            if facts.case_control and facts.prevalence
            else ""
        )
    )
    return Section("Absolute risk: two example patients", (text, Table(frame, tuple(names))))


def _curves(facts: Facts) -> list[Section]:
    """Each spline's dose-response curve (risk on the population scale, the others at typical values)."""
    spec = facts.spec
    if spec.terms is None:
        return []
    sections = []
    for term in spec.terms.terms:
        if isinstance(term, Spline) and term.knots is not None:
            curve = conditional_effects(facts.idata, term.column, prob=facts.prob)

            def draw(ax: Axes, curve: pd.DataFrame = curve) -> object:
                return plot_conditional_effects(curve, ax=ax)

            scale = "population" if facts.case_control else "cohort"
            label = facts.label(term.column)
            text = (
                f"Restricted cubic spline with {term.k} knots at {', '.join(fmt.significant(t) for t in term.knots)}: "
                f"risk of {facts.event} along {label}, other variables at the typical patient's values, "
                f"{facts.prob:.0%} band."
            )
            sections.append(
                Section(f"Risk along {label}", (text, Image(figure_png(draw), f"Risk on the {scale} scale.")))
            )
    return sections


def _groups(facts: Facts) -> list[Section]:
    table = facts.groups
    if table.empty:
        return []
    sds = table[table["parameter"] == "sd"]
    level = _crI(facts.prob)
    frame = pd.DataFrame(
        {
            "Grouping": sds["grouping"],
            "Groups": [f"{int(n)}" for n in sds["n_groups"]],
            f"SD, log odds {level}": fmt.intervals(sds[["median", "lower", "upper"]]),
            f"Median odds ratio {level}": fmt.intervals(sds[["or_median", "or_lower", "or_upper"]], fmt.odds_ratio),
            f"IQR OR {level}": fmt.intervals(sds[["iqr_or_median", "iqr_or_lower", "iqr_or_upper"]], fmt.odds_ratio),
        }
    )
    n_groups = int((table["parameter"] == "offset").sum())
    numeric = tuple(frame.columns[1:])
    picture = figure_png(
        lambda ax: group_effects_plot(facts.idata, prob=facts.prob, ax=ax), (7.0, 0.22 * n_groups + 1.8)
    )
    return [
        Section(
            "Differences between groups",
            (GROUP_TEXT + f" Posterior medians and {facts.prob:.0%} intervals.", Table(frame, numeric)),
        ),
        Section(
            "Group offsets",
            (
                "Each group's odds ratio against a typical group (offset 0) for otherwise identical patients; the "
                "legend gives each grouping's MOR.",
                Image(picture, "Odds ratios against a typical group; log scale."),
            ),
        ),
    ]


def _calibration(facts: Facts) -> Section:
    if facts.case_control:
        text = (
            "CORP reliability diagram (no binning) with its 90% consistency band, on the fitted case-control "
            "sample. Its risks are on the sample's scale, where cases are as common as the design made them, not "
            "on the population scale of 'Absolute risk': a case-control sample cannot show population-scale "
            "calibration, which needs a cohort (bayes_ubpr.validate_model"
            + ("; see 'Flexible calibration in the validation cohort' below)." if facts.validation else ").")
        )
        caption = "Sample scale (the case-control sample's own share of cases); axes zoomed to the risks."
    else:
        text = (
            "CORP reliability diagram (no binning) with its 90% consistency band, on the fitted cohort: the "
            "observed share with the outcome against the predicted risk, optimistic because the same patients "
            "fitted the model. Below it, how the predicted risks are spread among patients with and without the "
            "outcome."
        )
        caption = "Cohort scale; axes zoomed to the range of the predicted risks (99th percentile)."
    return Section("Calibration", (text, Image(calibration_png(facts), caption)))


def _net(value: object) -> str:
    """Return a net benefit (true positives per patient less weighted false ones) to four decimals."""
    return f"{float(value):.4f}".replace("-0.0000", "0.0000")  # type: ignore[arg-type]


def _centre(table: pd.DataFrame) -> str:
    """Return the headline column of a validation table: the estimate at the posterior-mean risks, if given."""
    return "estimate" if "estimate" in table.columns else "median"


def validation_sections(facts: Facts, result: ValidationResult) -> list[Section]:
    """Sections on a validation cohort: metrics beside the apparent ones, calibration, decision curves."""
    prob = result.settings.get("prob", facts.prob)
    level = _crI(prob)
    performance = result.performance
    frame = pd.DataFrame(
        {
            "Metric": performance["label"],
            "Ideal": [fmt.significant(v, 1) if not np.isnan(v) else fmt.DASH for v in performance["ideal"]],
            f"Validation cohort {level}": fmt.intervals(performance[[_centre(performance), "lower", "upper"]]),
        }
    )
    if result.apparent is not None:
        apparent = result.apparent.set_index("metric").reindex(performance["metric"])
        frame[f"Fitted data, apparent {level}"] = fmt.intervals(apparent[[_centre(apparent), "lower", "upper"]])
    decision = result.decision
    every = decision[decision["threshold"].round(6).mul(100) % 5 == 0]
    every = every if len(every) else decision
    net = pd.DataFrame(
        {
            "Threshold risk": [f"{100 * t:.3g}%" for t in every["threshold"]],
            f"Net benefit of the model {level}": fmt.intervals(
                every[["nb_model_median", "nb_model_lower", "nb_model_upper"]], _net
            ),
            "Net benefit, treat all": [_net(v) for v in every["nb_all_median"]],
            "P(model useful)": [fmt.probability(p) for p in every["prob_useful"]],
            "P(treating no one is best)": [fmt.probability(p) for p in every["prob_best_none"]],
        }
    )
    n, events = result.settings.get("n"), result.settings.get("n_events")
    scale = (
        " This cohort is on the population scale: for a case-control fit it is the population-scale calibration "
        "that the sample cannot show."
        if facts.case_control
        else ""
    )
    return [
        Section(
            "External validation",
            (
                f"In a validation cohort of {n:,} patients ({events:,} events): each metric at the posterior-mean "
                f"risks (Austin & Steyerberg's estimate), with the {prob:.0%} interval over the posterior draws of "
                "the risks, each draw scored on a bootstrap resample of the cohort when bootstrap=True (the "
                "median over those, kept in validate_model's table, overstates the calibration errors, which "
                "cannot fall below 0); beside it the same on the fitted data (apparent), optimistic by "
                "construction.",
                Table(frame, tuple(frame.columns[1:])),
            ),
        ),
        Section(
            "Flexible calibration in the validation cohort",
            (
                "Lowess-smoothed observed risk against predicted risk (Austin & Steyerberg 2019) with its band; the "
                "dotted diagonal is perfect calibration." + scale,
                Image(
                    validation_calibration_png(result), "Population scale; axes zoomed to the cohort's predicted risks."
                ),
            ),
        ),
        Section(
            "Decision curves",
            (
                "Net benefit of treating patients whose predicted risk is at least the threshold, against treating "
                "everyone and no one (Vickers & Elkin 2006), with the Bayesian intervals of Wynants et al. (2018); "
                "P(model useful) is the posterior probability that the model beats both.",
                Image(
                    figure_png(lambda ax: decision_curve_plot(result, ax=ax)),
                    "Population scale (the validation cohort).",
                ),
            ),
        ),
        Section("Net benefit every 5%", (Table(net, tuple(net.columns)),)),
    ]
