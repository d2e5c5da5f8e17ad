"""A posterior-predictive report a clinician can read: one self-contained HTML or Markdown file."""

from __future__ import annotations

import base64
import html
import io
import os
import re
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import arviz as az
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from bayes_ubpr._io import atomic_path, check_suffix
from bayes_ubpr._rng import SeedLike, as_int_seed
from bayes_ubpr.effects import (
    conditional_effects,
    missing_summary,
    plot_conditional_effects,
    term_odds_ratios,
    without_repeated_main_effects,
)
from bayes_ubpr.group_effects import group_effects_table
from bayes_ubpr.model import Fitted, check_convergence, describe_model_priors
from bayes_ubpr.paper import OUTCOME, RISK_FACTORS
from bayes_ubpr.plots import (
    calibration_plot,
    decision_curve_plot,
    forest_plot,
    group_effects_plot,
    ppc_plot,
    risk_distribution_plot,
    validation_calibration_plot,
)
from bayes_ubpr.posterior import odds_ratio_table, ppc_summary, predict_risk
from bayes_ubpr.selection import PARETO_K_THRESHOLD, loo
from bayes_ubpr.terms import Categorical, Spline
from bayes_ubpr.terms.kinds import main_parts
from bayes_ubpr.validation import ValidationResult

__all__ = ["example_patients", "write_report"]

REPORT_SUFFIXES = (".html", ".htm", ".md")
"""File types :func:`write_report` writes (HTML or Markdown)."""

EXAMPLE_PATIENT = {
    "bmd_tscore_abs": 3.6,
    "fascia_injury": 1,
    "cement_distribution_poor": 0,
    "n_fractures": 3,
    "cement_volume_ml": 4.0,
    "depression": 0,
}
"""A high-risk patient: low bone density (T = -3.6), fascia injury, three fractures, 4 mL of cement."""


PAPER_TITLE = "Bayesian re-analysis of unsatisfactory back pain relief after vertebroplasty"


def example_patients(idata: az.InferenceData) -> pd.DataFrame:
    """Return a typical patient and a high-risk one, as raw values the fit's terms read.

    The typical patient is :meth:`Fitted.typical_patient
    <bayes_ubpr.model.Fitted.typical_patient>`: each numeric variable's
    median in the fitted data (rounded for binary and count variables), each
    categorical factor's commonest level. The high-risk patient starts from
    it and changes one raw variable at a time, in model order, to the value
    that raises the posterior median log odds most: a categorical factor to
    one of its levels, a binary variable to 0 or 1, a numeric one (or a
    spline's variable) to its 5th or 95th percentile, keeping the typical
    value where neither raises the risk. Each change is judged through the
    model's own design columns, after the changes before it, so a spline's
    curve and an interaction are followed and every value is one the data
    hold: never a squared term inconsistent with its base. A fit made with a
    list of factors gives the paper's factors the values of
    :data:`EXAMPLE_PATIENT`.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit` (its terms carry the typical values,
        percentiles and levels of the fitted data).

    Returns
    -------
    pandas.DataFrame
        Rows ``"typical patient"`` and ``"high-risk example"``, one column per
        raw variable of the fit: ready for :func:`bayes_ubpr.predict_risk`.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, predict_risk
    >>> from bayes_ubpr.report import example_patients
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> patients = example_patients(idata)
    >>> patients.loc["high-risk example", ["fascia_injury", "n_fractures", "cement_volume_ml"]].tolist()
    [1.0, 3.0, 4.0]
    >>> risk = predict_risk(idata, patients)
    >>> bool(risk.loc["high-risk example", "risk_median"] > risk.loc["typical patient", "risk_median"])
    True
    """
    view = Fitted.of(idata)
    terms = view.terms
    summary = terms.summary or {}
    kinds = {f.name: f.kind for f in view.spec.factors}
    levels = {p.column: p.levels for t in terms.terms for p in main_parts(t) if isinstance(p, Categorical)}
    typical = {v: _possible(value, kinds.get(v)) for v, value in terms.typical_values().items()}
    high = dict(typical)
    paper = {}
    if view.spec.terms is None:  # a fit of factors: the paper's own example for the paper's factors
        paper = {
            f.name: float(EXAMPLE_PATIENT[f.name])
            for f in view.spec.factors
            if f.name in EXAMPLE_PATIENT and f.paper_row == RISK_FACTORS[f.name].paper_row
        }
    beta = view.log_odds_ratio_draws
    for variable in terms.variables:
        if variable in paper:
            high[variable] = paper[variable]
            continue
        about = summary.get(variable, {})
        options: list[Any]
        if variable in levels:
            options = list(levels[variable] or ())
        elif about.get("kind") == "binary":
            options = [0.0, 1.0]
        else:
            options = [_possible(about[q], kinds.get(variable)) for q in ("p05", "p95") if q in about]
        candidates = list(dict.fromkeys([high[variable], *options]))  # the current value first: ties keep it
        frame = pd.DataFrame([{**high, **paper, variable: value} for value in candidates])
        x = view.design(frame)
        gain = np.median((x - x[0]) @ beta.T, axis=1)  # posterior median log odds ratio of each change
        high[variable] = candidates[int(np.argmax(gain))]
    return pd.DataFrame([typical, high], index=["typical patient", "high-risk example"])


def _possible(value: object, kind: str | None) -> object:
    """Return a typical or percentile value as a patient can have it: whole for binary and count variables."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(round(value)) if kind in ("binary", "count") else float(value)
    return value


def _figure_png(draw: Callable[[Axes], object], size: tuple[float, float] = (7.0, 4.5)) -> str:
    """Draw on a fresh off-screen Figure (no pyplot state touched); return it as a base64 PNG."""
    figure = Figure(figsize=size, layout="constrained")
    draw(figure.subplots())
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _sections(idata: az.InferenceData, seed: int, prob: float) -> list[tuple[str, str, object]]:
    """(title, text, content) triples; content is a DataFrame or a base64 PNG string."""
    spec = Fitted.of(idata).spec
    factors = [f.label for f in spec.factors]
    y = idata.observed_data[spec.outcome].to_numpy()
    design = spec.design
    quantities = ["patients", f"cases ({spec.outcome} = 1)", "controls", "design", "factors", "group"]
    values = [len(y), int(y.sum()), int(len(y) - y.sum()), design, ", ".join(factors), ", ".join(spec.groups) or "none"]
    if spec.formula is not None:
        quantities.insert(3, "formula")
        values.insert(3, spec.formula)
    data_summary = pd.DataFrame({"quantity": quantities, "value": values})
    prior_table = describe_model_priors(spec).drop(columns=["or_lower", "or_upper"])
    prior_table["nu"] = pd.to_numeric(prior_table["nu"])  # "-" where a family has none, not "None"
    structure = spec.prior_spec().structure
    if structure is not None:
        settings = {k: v for k, v in structure.to_dict().items() if k not in ("intercept", "domains")}
        row = {"parameter": f"{spec.prior_spec().kind} shrinkage", "statement": str(settings)}
        prior_table = pd.concat([prior_table, pd.DataFrame([row])], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diagnostics = check_convergence(idata).reset_index(names="parameter")
    n_divergent = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
    odds = odds_ratio_table(idata, prob=prob, include_mle=True)
    columns = [
        "label",
        "unit",
        "or_median",
        "or_lower",
        "or_upper",
        "prob_positive",
        "mle_or",
        "mle_lower",
        "mle_upper",
    ]
    has_paper = bool(odds["paper_or"].notna().any())
    if has_paper:  # say nothing of the paper where its numbers answer another question
        columns += ["paper_or", "paper_lower", "paper_upper"]
    shown_odds = odds[columns]
    event = "UBPR" if spec.outcome == OUTCOME else f"{spec.outcome} = 1"
    ppc = ppc_summary(idata, prob=prob, seed=seed)
    examples = example_patients(idata)
    risks = examples.join(predict_risk(idata, examples, prob=prob, seed=seed))
    patients = risks.reset_index(names="patient")
    scale = "population" if design == "case_control" else "cohort"
    at_group = " at a new group (the spread between groups included)" if spec.groups else ""
    return [
        ("Data", "What was fitted.", data_summary),
        *_missing_sections(idata, prob),
        (
            "Priors",
            "Prior on each log odds ratio, per unit of the column (and, in words, per reference SD); the note "
            "says what each prior does" + (", term by term" if spec.terms is not None else "") + ".",
            prior_table,
        ),
        (
            "Sampling diagnostics",
            f"R-hat should be at most 1.01 and bulk/tail ESS at least 100 per chain; "
            f"divergent transitions: {n_divergent}.",
            diagnostics,
        ),
        *_term_sections(idata, prob),
        (
            ("Coefficients per design column" if spec.terms is not None else "Odds ratios")
            + (" beside the paper" if has_paper else ""),
            f"Posterior median and {prob:.0%} credible interval; maximum likelihood (Wald interval) on the same "
            "data" + ("; the paper's Table 5 with its 95% CI" if has_paper else "") + ". Per unit of each factor.",
            shown_odds,
        ),
        (
            "Forest plot",
            "Posterior odds ratios (circles)" + (" and the paper's (squares)" if has_paper else "") + ", log scale.",
            _figure_png(lambda ax: forest_plot(idata, prob=prob, ax=ax), (7.5, 0.7 * len(factors) + 2.0)),
        ),
        *_group_sections(idata, prob),
        (
            "Posterior-predictive checks",
            "Each statistic of the observed data against its distribution in data replicated from the fit; "
            "a posterior-predictive p-value (ppp) near 0 or 1 flags misfit.",
            ppc.checks,
        ),
        ("Replicated number of cases", "", _figure_png(lambda ax: ppc_plot(ppc, idata, seed=seed, ax=ax))),
        ("Predictive performance", "Posterior distribution of each metric on the fitted data.", ppc.performance),
        *_loo_sections(idata),
        (
            "Calibration",
            "CORP reliability diagram (no binning) with its 90% consistency band, then a binned table.",
            _figure_png(lambda ax: calibration_plot(idata, seed=seed, ax=ax), (5.0, 5.0)),
        ),
        ("Binned calibration", "", ppc.calibration),
        ("Predicted risks by outcome", "", _figure_png(lambda ax: risk_distribution_plot(idata, ax=ax))),
        (
            "Absolute risk: two example patients",
            f"Risk of {event} on the {scale} scale{at_group}, posterior median and {prob:.0%} credible interval. "
            "The high-risk patient is the typical one with each variable in turn moved, within the fitted data, to "
            "the value that raises the risk most.",
            patients,
        ),
    ]


GROUP_TEXT = (
    "Spread of the group intercepts: their SD on the log-odds scale and the median odds ratio "
    "MOR = exp(0.954 SD), the median over pairs of groups drawn at random of the odds ratio between the "
    "higher- and the lower-risk group for identical patients, comparable with the factors' odds ratios "
    "(Larsen & Merlo 2005, Am J Epidemiol 161:81-88, doi:10.1093/aje/kwi017); iqr_or = exp(1.349 SD) "
    "compares a group at the 75th with one at the 25th percentile. With fewer than about five groups the SD "
    "leans on its prior."
)


def _missing_sections(idata: az.InferenceData, prob: float) -> list[tuple[str, str, object]]:
    """For a fit of data with missing values: what was missing and how it was handled; complete-case beside."""
    if "missing" not in idata.attrs:
        return []
    summary = missing_summary(idata, prob=prob)
    table = summary.table
    sections: list[tuple[str, str, object]] = []
    if not table.empty and "missing_events" in table:
        shown = table[table["n_missing"] > 0]
        sections.append(("Missing values", summary.describe(), shown))
    else:
        sections.append(("Missing values", summary.describe(), pd.DataFrame({"imputations": [summary.imputations]})))
    if summary.comparison is not None:
        text = (
            f"Posterior odds ratios ({prob:.0%} CrI) of the imputed fit ({summary.n_patients:,} patients, "
            f"{summary.n_events} events) beside the same model fitted to the complete cases "
            f"({summary.complete_cases:,} patients, {summary.complete_case_events} events)."
        )
        sections.append(("Imputed beside complete-case", text, summary.comparison))
    return sections


def _group_sections(idata: az.InferenceData, prob: float) -> list[tuple[str, str, object]]:
    """Return the between-group SDs as median odds ratios and a caterpillar plot of the groups (multilevel fits)."""
    table = group_effects_table(idata, prob=prob)
    if table.empty:
        return []
    sds = table[table["parameter"] == "sd"]
    columns = ["grouping", "n_groups", "median", "lower", "upper", "or_median", "or_lower", "or_upper"]
    shown = sds[[*columns, "iqr_or_median", "iqr_or_lower", "iqr_or_upper"]].rename(
        columns={"median": "sd_median", "lower": "sd_lower", "upper": "sd_upper"}
        | {f"or_{k}": f"mor_{k}" for k in ("median", "lower", "upper")}
    )
    n_groups = int((table["parameter"] == "offset").sum())
    return [
        ("Differences between groups", GROUP_TEXT + f" Posterior medians and {prob:.0%} intervals.", shown),
        (
            "Group offsets",
            "Each group's odds ratio against a typical group (offset 0) for otherwise identical patients; the "
            "legend gives each grouping's MOR.",
            _figure_png(lambda ax: group_effects_plot(idata, prob=prob, ax=ax), (7.0, 0.22 * n_groups + 1.8)),
        ),
    ]


def _term_sections(idata: az.InferenceData, prob: float) -> list[tuple[str, str, object]]:
    """For a fit with terms: odds ratios per term as a clinician reads them, and each spline's curve."""
    spec = Fitted.of(idata).spec
    if spec.terms is None:
        return []
    table = without_repeated_main_effects(term_odds_ratios(idata, prob=prob))
    shown = table[["term", "contrast", "stratum", "or_median", "or_lower", "or_upper", "p_or_gt_1"]]
    sections: list[tuple[str, str, object]] = [
        (
            "Odds ratios by term",
            f"Posterior median and {prob:.0%} credible interval of the odds ratio between two patients who differ "
            "in one variable, the others at the typical patient's values: per unit and between quartiles, each "
            "level against the reference, a spline between its quartiles, an interaction within each stratum.",
            shown,
        )
    ]
    for term in spec.terms.terms:
        if isinstance(term, Spline) and term.knots is not None:
            curve = conditional_effects(idata, term.column, prob=prob)

            def draw(ax: Axes, curve: pd.DataFrame = curve) -> object:
                return plot_conditional_effects(curve, ax=ax)

            sections.append(
                (
                    f"Risk along {term.column}",
                    f"Restricted cubic spline with {term.k} knots at {', '.join(f'{t:.3g}' for t in term.knots)}: "
                    f"risk on the population scale, other variables at the typical patient's values, "
                    f"{prob:.0%} band.",
                    _figure_png(draw),
                )
            )
    return sections


def _loo_sections(idata: az.InferenceData) -> list[tuple[str, str, object]]:
    """PSIS-LOO: elpd with its SE and p_loo, then the patients per range of Pareto k."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the high-k patients are listed in the section
        result = loo(idata)
    summary = pd.DataFrame(
        {"elpd_loo": [result.elpd_loo], "se": [result.se], "p_loo": [result.p_loo], "patients": [result.n_obs]}
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
        "Expected log predictive density of a new patient drawn like the fitted ones, by Pareto-smoothed "
        "importance-sampling leave-one-out cross-validation (Vehtari, Gelman & Gabry 2017); p_loo is the "
        "effective number of parameters. For a case-control sample it refers to patients sampled like its cases "
        "and controls, not to the population; compare it only between fits of the same patients "
        "(bayes_ubpr.compare_models)."
    )
    return [
        ("Leave-one-out cross-validation", text, summary),
        ("Pareto k of the patients", flagged, result.pareto_k_summary()),
    ]


def _validation_sections(result: ValidationResult) -> list[tuple[str, str, object]]:
    """Sections on a validation cohort: metrics beside the apparent ones, the calibration curve, decision curves."""
    prob = result.settings.get("prob", 0.95)
    table = result.performance[["label", "ideal"]].join(
        result.performance[["median", "lower", "upper"]].add_prefix("validation_")
    )
    if result.apparent is not None:
        apparent = result.apparent[["median", "lower", "upper"]].add_prefix("apparent_")
        table = pd.concat([table, apparent], axis=1)
    every = result.decision[result.decision["threshold"].round(6).mul(100) % 5 == 0]
    decision = (every if len(every) else result.decision)[
        ["threshold", "nb_model", "nb_model_lower", "nb_model_upper", "nb_all", "prob_useful", "prob_best_none"]
    ]
    n, events = result.settings.get("n"), result.settings.get("n_events")
    return [
        (
            "External validation",
            f"In a validation cohort of {n} patients ({events} events): posterior median and {prob:.0%} interval "
            "of each metric over the posterior draws of the risks, each draw scored on a bootstrap resample of "
            "the cohort when bootstrap=True; beside it (apparent_*) the same on the fitted data, optimistic by "
            "construction.",
            table,
        ),
        (
            "Flexible calibration in the validation cohort",
            "Lowess-smoothed observed risk against predicted risk (Austin & Steyerberg 2019) with its band; the "
            "dotted diagonal is perfect calibration.",
            _figure_png(lambda ax: validation_calibration_plot(result, ax=ax), (5.0, 5.0)),
        ),
        (
            "Decision curves",
            "Net benefit of treating patients whose predicted risk is at least the threshold, against treating "
            "everyone and no one (Vickers & Elkin 2006), with the Bayesian intervals of Wynants et al. (2018); "
            "prob_useful is the posterior probability that the model beats both.",
            _figure_png(lambda ax: decision_curve_plot(result, ax=ax)),
        ),
        ("Net benefit every 5%", "", decision),
    ]


def _html_table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.3g}", na_rep="-", border=0, classes="table")


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|!~&])")


def _markdown_text(value: object) -> str:
    """Text shown as itself in Markdown: markup characters backslash-escaped, on one line (as html.escape for HTML)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(value: object) -> str:
        if isinstance(value, float):
            return "-" if pd.isna(value) else f"{value:.3g}"
        return _markdown_text(value)

    header = "| " + " | ".join(map(_markdown_text, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *rows])


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table.table { border-collapse: collapse; font-size: 0.85em; }
table.table td, table.table th { padding: 3px 8px; border-bottom: 1px solid #eee; text-align: right; }
img { max-width: 100%; }
p.note { color: #555; }
div.scroll { overflow-x: auto; }
"""


def _render_html(title: str, sections: list[tuple[str, str, object]], footer: str) -> str:
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for heading, text, content in sections:
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        if text:
            parts.append(f'<p class="note">{html.escape(text)}</p>')
        if isinstance(content, pd.DataFrame):
            parts.append(f'<div class="scroll">{_html_table(content)}</div>')
        else:
            parts.append(f'<img alt="{html.escape(heading)}" src="data:image/png;base64,{content}">')
    parts.append(f'<p class="note">{html.escape(footer)}</p></body></html>')
    return "\n".join(parts)


def _render_markdown(title: str, sections: list[tuple[str, str, object]], footer: str) -> str:
    parts = [f"# {_markdown_text(title)}"]
    for heading, text, content in sections:
        parts.append(f"## {_markdown_text(heading)}")
        if text:
            parts.append(_markdown_text(text))
        if isinstance(content, pd.DataFrame):
            parts.append(_markdown_table(content))
        else:
            parts.append(f"![{_markdown_text(heading)}](data:image/png;base64,{content})")
    parts.append(_markdown_text(footer))
    return "\n\n".join(parts) + "\n"


def write_report(
    idata: az.InferenceData,
    path: str | os.PathLike[str],
    *,
    prob: float = 0.95,
    seed: SeedLike = None,
    title: str | None = None,
    validation: ValidationResult | None = None,
) -> Path:
    """Write a self-contained report of a fit: HTML (images inline, no network) or Markdown.

    Sections: the data (and the formula of a fit made from one), the priors
    used (term by term, with group SDs), sampling diagnostics, the odds
    ratios beside maximum likelihood and the paper's Table 5, a forest plot,
    for a multilevel fit the spread between groups (SDs as median odds
    ratios) and a caterpillar plot of the groups, posterior-predictive checks, predictive performance, leave-one-out
    cross-validation (elpd, p_loo, Pareto k), a CORP calibration
    diagram and table, predicted risks by outcome, and the absolute risk of a
    typical and a high-risk patient; with ``validation``, external
    validation and decision curves. The file is written atomically: a crash
    never leaves half a report.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit` or :func:`bayes_ubpr.load_fit`.
    path : str or path-like
        Output file ending in ``.html`` (or ``.htm``) or ``.md``.
    prob : float, default 0.95
        Credible interval mass throughout.
    seed : None, int or numpy.random.Generator
        For the replicated data of the checks.
    title : str, optional
        Report title; default names the paper's question for the outcome
        ``ubpr``, else the fit's own outcome.
    validation : ValidationResult, optional
        From :func:`bayes_ubpr.validate_model` on a validation cohort: adds
        sections on external validation (metrics beside the apparent ones),
        the flexible calibration curve and the decision curves.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ValueError
        For another file type.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from bayes_ubpr import simulate_cohort, fit, write_report
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_report(idata, Path(folder) / "report.html", seed=2)
    ...     text = path.read_text(encoding="utf-8")
    >>> path.name, "<h2>Odds ratios beside the paper</h2>" in text, text.count("<img ")
    ('report.html', True, 4)
    """
    target = check_suffix(path, REPORT_SUFFIXES, what="a report")
    renderer = _render_markdown if target.suffix.lower() == ".md" else _render_html
    int_seed = as_int_seed(seed)
    if title is None:
        outcome = Fitted.of(idata).spec.outcome
        title = PAPER_TITLE if outcome == OUTCOME else f"Bayesian logistic regression of {outcome}"
    if idata.attrs.get("interrupted"):  # a fit of the draws finished before Ctrl-C (fit's FitInterrupted)
        title = f"{title} (PARTIAL FIT: {idata.attrs['interrupted']})"
    sections = _sections(idata, int_seed, prob)
    if validation is not None:
        if not isinstance(validation, ValidationResult):
            raise TypeError(
                f"validation must be a ValidationResult from validate_model; got {type(validation).__name__}"
            )
        sections += _validation_sections(validation)
    footer = (
        f"bayes_ubpr {idata.attrs.get('bayes_ubpr_version', '?')}; fit seed {idata.attrs.get('seed', '?')}, "
        f"sampler {idata.attrs.get('sampler', '?')}; report seed {int_seed}; "
        f"written {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}."
    )
    text = renderer(title, sections, footer)
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return target
