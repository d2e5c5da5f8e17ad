"""The report's first section: who was studied, which factors matter and how surely, two patients' risks, caveats."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bayes_ubpr.model import RHAT_MAX
from bayes_ubpr.report import formatting as fmt
from bayes_ubpr.report.content import Points, Section
from bayes_ubpr.report.facts import EVENTS_PER_PARAMETER_MIN, FEW_GROUPS, Facts
from bayes_ubpr.selection import PARETO_K_THRESHOLD
from bayes_ubpr.terms import Spline

__all__ = ["clear_findings", "headline"]


def headline(facts: Facts) -> Section:
    """Return the summary section: cohort, clear findings, two patients' risks and the caveats."""
    found, unclear = clear_findings(facts)
    level = f"{facts.prob:.0%}"
    if found:
        findings = f"Factors whose {level} credible interval excludes an odds ratio of 1:"
    else:
        findings = f"No factor's {level} credible interval excludes an odds ratio of 1."
    blocks: list[object] = [_cohort(facts), findings]
    if found:
        blocks.append(Points(tuple(found)))
    curves = _splines(facts)
    unclear = [u for u in unclear if u not in curves]
    if unclear:
        blocks.append(f"Interval includes 1 (no clear association either way): {', '.join(unclear)}.")
    if curves:
        blocks.append(
            f"Curved (restricted cubic splines: read their risk curves below, not one odds ratio): {', '.join(curves)}."
        )
    lead, risks = _risks(facts)
    blocks.extend([lead, Points(tuple(risks))])
    blocks.append("Caveats: " + " ".join(caveats(facts)))
    return Section("Summary", tuple(blocks), summary=True)  # type: ignore[arg-type]


def _splines(facts: Facts) -> list[str]:
    """Labels of the variables that enter as splines (their odds ratio between quartiles is only part of it)."""
    if facts.spec.terms is None:
        return []
    return [facts.label(t.column) for t in facts.spec.terms.terms if isinstance(t, Spline)]


def _cohort(facts: Facts) -> str:
    n, events = facts.n_patients, facts.n_events
    groups = ""
    if facts.spec.groups:
        sds = facts.groups[facts.groups["parameter"] == "sd"]
        groups = " grouped by " + " and ".join(f"{r.grouping} ({int(r.n_groups)} groups)" for r in sds.itertuples())
    missing = facts.missing
    imputed = (
        f", {missing.imputations} imputations of the missing values pooled" if missing and missing.imputations else ""
    )
    if facts.case_control:
        prevalence = facts.prevalence
        at = (
            f"; absolute risks are for the population, at a prevalence of {fmt.percent(prevalence[0])} "
            f"({prevalence[1]})"
            if prevalence
            else ""
        )
        return (
            f"A case-control sample of {n:,} patients{groups}: {events:,} with {facts.event} (cases) and "
            f"{n - events:,} without (controls){imputed}{at}."
        )
    return f"A cohort of {n:,} patients{groups}: {events:,} ({fmt.percent(events / n)}) with {facts.event}{imputed}."


def _excludes_one(lower: float, upper: float) -> bool:
    return bool(lower > 1 or upper < 1)


def _direction(median: float) -> str:
    return "higher risk" if median > 1 else "lower risk"


def clear_findings(facts: Facts) -> tuple[list[str], list[str]]:
    """Return the statements of the factors whose interval excludes 1, and the labels of those whose does not.

    A fit of factors is read per design column (per unit of the factor); a
    formula fit by :func:`~bayes_ubpr.term_odds_ratios`, the contrasts a
    clinician reads (a spline between its quartiles, an interaction within
    each stratum), one statement per term and stratum.
    """
    level = f"{facts.prob:.0%}"
    found: list[str] = []
    unclear: list[str] = []
    if facts.terms is None:
        for row in facts.odds.itertuples(index=False):
            if _excludes_one(row.or_lower, row.or_upper):
                found.append(
                    f"{row.label}: OR {fmt.odds_ratio(row.or_median)} per {row.unit} ({level} CrI "
                    f"{fmt.odds_ratio(row.or_lower)} to {fmt.odds_ratio(row.or_upper)}; "
                    f"P(OR > 1) {fmt.probability(row.prob_positive)}), {_direction(row.or_median)}"
                )
            else:
                unclear.append(str(row.label))
        return found, unclear
    table = facts.terms
    for (term, stratum), rows in table.groupby(["term", "stratum"], sort=False):
        clear = rows[(rows["or_lower"] > 1) | (rows["or_upper"] < 1)]
        name = facts.term_label(str(term)) if not stratum else f"{facts.label(str(rows['variable'].iloc[0]))}"
        within = f" (within {facts.stratum_label(str(stratum))})" if stratum else ""
        if clear.empty:
            if not stratum:
                unclear.append(name)
            continue
        parts = [
            f"OR {fmt.odds_ratio(r.or_median)} {_contrast_words(str(r.contrast))} ({level} CrI "
            f"{fmt.odds_ratio(r.or_lower)} to {fmt.odds_ratio(r.or_upper)}; P(OR > 1) {fmt.probability(r.p_or_gt_1)})"
            for r in clear.itertuples(index=False)
        ]
        found.append(f"{name}{within}: " + "; ".join(parts) + f", {_direction(float(clear['or_median'].iloc[0]))}")
    interacting = {str(v) for v in table.loc[table["stratum"] != "", "variable"]}
    unclear = [u for u in unclear if u not in {facts.label(v) for v in interacting}]
    return found, list(dict.fromkeys(unclear))


def _contrast_words(contrast: str) -> str:
    if contrast.endswith(")") and " (" in contrast:  # "79 vs 70 (upper vs lower quartile)": one pair of brackets
        contrast = contrast[:-1].replace(" (", ", ", 1)
    return contrast if contrast.startswith("per ") else f"for {contrast}"


def _risks(facts: Facts) -> tuple[str, list[str]]:
    patients = facts.patients
    variables = facts.patient_variables
    typical, high = patients.iloc[0], patients.iloc[1]
    scale = "population" if facts.case_control else "cohort"
    at_group = ", at a new group (the spread between groups included)" if facts.spec.groups else ""
    level = f"{facts.prob:.0%}"

    def risk(row: pd.Series) -> str:
        return fmt.interval(row["risk_median"], row["risk_lower"], row["risk_upper"], fmt.percent).replace(
            " (", f" ({level} CrI ", 1
        )

    changed = [_change(facts, v, high[v]) for v in variables if not _same(typical[v], high[v])]
    differs = f" (the typical patient with {', '.join(changed)})" if changed else ""
    lead = f"Absolute risk of {facts.event}, on the {scale} scale{at_group}:"
    return lead, [
        f"a typical patient (each variable at its median or commonest value): {risk(typical)};",
        f"a high-risk example{differs}: {risk(high)}.",
    ]


def _change(facts: Facts, variable: str, value: object) -> str:
    """How the high-risk example differs in one variable: "with X" / "without X", else "X = value unit"."""
    words = facts.value_words(variable, value)
    label = facts.label(variable)
    if facts.kind(variable) == "binary" and words in ("yes", "no"):
        return f"{'with' if words == 'yes' else 'without'} {label[:1].lower() + label[1:]}"
    unit = facts.unit(variable)
    short = unit.removeprefix("1 ") if unit.startswith("1 ") and len(unit) <= 5 else ""
    if facts.kind(variable) is None and not isinstance(value, (int, float, np.number)):
        return f"{label} = {words}"  # a level of a categorical variable
    return f"{label} {words}{' ' + short if short else ''}"


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return bool(np.isclose(a, b))
    return a == b


def caveats(facts: Facts) -> list[str]:
    """Return the main caveats, one sentence each: design, convergence, events per parameter, imputation, groups."""
    notes: list[str] = []
    if facts.idata.attrs.get("interrupted"):
        notes.append(f"This is a partial fit ({facts.idata.attrs['interrupted']}): do not rely on it.")
    if facts.case_control:
        prevalence = facts.prevalence
        at = f" of {fmt.percent(prevalence[0])}" if prevalence else ""
        notes.append(
            f"The share of cases in a case-control sample is set by its design, so its risks are moved to the "
            f"population through the assumed prevalence{at}: absolute risks are only as right as that prevalence, "
            "and calibration on the fitted data is on the sample's scale (population-scale calibration needs a "
            "cohort: bayes_ubpr.validate_model)."
        )
    notes.extend(_convergence(facts))
    rarer = min(facts.n_events, facts.n_patients - facts.n_events)
    per = rarer / max(facts.n_coefficients, 1)
    if per < EVENTS_PER_PARAMETER_MIN:
        notes.append(
            f"Only {per:.1f} events per coefficient ({rarer:,} events of the rarer outcome, {facts.n_coefficients} "
            "coefficients): the estimates lean on the priors and the performance on the fitted data is optimistic."
        )
    missing = facts.missing
    if missing is not None and missing.imputations:
        columns = ", ".join(missing.imputed_columns) or "some columns"
        notes.append(
            f"Missing values in {columns} were imputed ({missing.imputations} imputations, pooled); this assumes "
            "they are missing at random given the imputation model."
        )
    if facts.spec.groups:
        sds = facts.groups[facts.groups["parameter"] == "sd"]
        few = [f"{r.grouping} ({int(r.n_groups)})" for r in sds.itertuples() if int(r.n_groups) < FEW_GROUPS]
        if few:
            notes.append(
                f"With fewer than {FEW_GROUPS} groups the between-group SD leans on its prior: {', '.join(few)}."
            )
    high_k = len(facts.loo.high_k)
    if high_k:
        notes.append(
            f"{high_k} patient(s) have Pareto k > {PARETO_K_THRESHOLD}: their leave-one-out estimates are unreliable."
        )
    notes.extend(_validation(facts))
    if not notes:
        notes.append("None found: sampling converged, the events per coefficient suffice and nothing was imputed.")
    return notes


def _convergence(facts: Facts) -> list[str]:
    table = facts.diagnostics
    bad = table[~table["ok"]]
    notes = []
    if len(bad):
        shown = ", ".join(
            f"{facts.parameter_label(str(name))} (R-hat {fmt.rhat(r.r_hat)}, bulk ESS {fmt.count(r.ess_bulk)})"
            for name, r in bad.head(4).iterrows()
        )
        more = f" and {len(bad) - 4} more" if len(bad) > 4 else ""
        notes.append(
            f"Sampling may not have converged for {shown}{more} (wanted: R-hat at most {RHAT_MAX} and enough "
            "effective draws): rerun with more tuning and draws before relying on these numbers."
        )
    if facts.n_divergent:
        notes.append(f"{facts.n_divergent:,} divergent transitions: the posterior may be explored incompletely.")
    return notes


def _validation(facts: Facts) -> list[str]:
    result = facts.validation
    if result is None:
        return []
    table = result.performance.set_index("metric")
    n, events = result.settings.get("n"), result.settings.get("n_events")
    parts = []
    for metric, words in (("observed_expected", "observed:expected"), ("calibration_slope", "calibration slope")):
        if metric in table.index:
            row = table.loc[metric]
            off = " (interval excludes 1)" if _excludes_one(row["lower"], row["upper"]) else ""
            parts.append(f"{words} {fmt.interval(row['median'], row['lower'], row['upper'])}{off}")
    return [f"In the validation cohort ({n:,} patients, {events:,} events): {'; '.join(parts)}."] if parts else []
