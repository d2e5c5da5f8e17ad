"""Write a report of a fit: :func:`write_report`, the one entry point (the CLI's ``report`` and ``fit --report``)."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import arviz as az

from bayes_ubpr._io import atomic_path, check_suffix
from bayes_ubpr._rng import SeedLike, as_int_seed
from bayes_ubpr._validate import check_probability
from bayes_ubpr.model import Fitted
from bayes_ubpr.paper import OUTCOME
from bayes_ubpr.report import render
from bayes_ubpr.report.appendix import appendix_sections
from bayes_ubpr.report.content import Section
from bayes_ubpr.report.facts import Facts
from bayes_ubpr.report.headline import headline
from bayes_ubpr.report.sections import main_sections, validation_sections
from bayes_ubpr.validation import ValidationResult

__all__ = ["PAPER_TITLE", "REPORT_SUFFIXES", "report_sections", "write_report"]

REPORT_SUFFIXES = (".html", ".htm", ".md")
"""File types :func:`write_report` writes (HTML or Markdown)."""

PAPER_TITLE = "Bayesian re-analysis of unsatisfactory back pain relief after vertebroplasty"


def report_sections(
    idata: az.InferenceData, *, prob: float, seed: int, validation: ValidationResult | None = None
) -> list[Section]:
    """Return the report's sections in order: summary, main part, validation, technical appendix."""
    facts = Facts.of(idata, prob=prob, seed=seed, validation=validation)
    extra = validation_sections(facts, validation) if validation is not None else []
    return [headline(facts), *main_sections(facts), *extra, *appendix_sections(facts)]


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

    A clinician reads it from the top: a summary (who was studied, the
    factors whose credible interval excludes 1 with their odds ratios in
    words, a typical and a high-risk patient's risk in percent, and the
    caveats), the data, the odds ratios (per term for a formula fit) with a
    forest plot, two example patients' absolute risks, each spline's
    dose-response curve, for a multilevel fit the spread between groups
    (median odds ratios) and a caterpillar plot, and calibration zoomed to
    the predicted risks with their distribution beneath; with
    ``validation``, external validation, its calibration curve and decision
    curves. A statistician audits the technical appendix: priors, sampling
    diagnostics (R-hat, ESS, MCSE, divergences), every coefficient beside
    maximum likelihood, posterior-predictive checks, predictive
    performance, leave-one-out cross-validation and binned calibration.
    Every figure says which risk scale it shows. The HTML fits a 1,280 px
    screen and an A4 page (print stylesheet); the file is written
    atomically: a crash never leaves half a report.

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
    TypeError
        If ``validation`` is not a ValidationResult.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from bayes_ubpr import simulate_cohort, fit, write_report
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_report(idata, Path(folder) / "report.html", seed=2)
    ...     text = path.read_text(encoding="utf-8")
    >>> path.name, "<h2>Summary</h2>" in text, "<h2>Odds ratios beside the paper</h2>" in text, text.count("<img ")
    ('report.html', True, True, 3)
    """
    target = check_suffix(path, REPORT_SUFFIXES, what="a report")
    prob = check_probability(prob, name="prob")
    if validation is not None and not isinstance(validation, ValidationResult):
        raise TypeError(f"validation must be a ValidationResult from validate_model; got {type(validation).__name__}")
    renderer = render.render_markdown if target.suffix.lower() == ".md" else render.render_html
    int_seed = as_int_seed(seed)
    if title is None:
        outcome = Fitted.of(idata).spec.outcome
        title = PAPER_TITLE if outcome == OUTCOME else f"Bayesian logistic regression of {outcome}"
    if idata.attrs.get("interrupted"):  # a fit of the draws finished before Ctrl-C (fit's FitInterrupted)
        title = f"{title} (PARTIAL FIT: {idata.attrs['interrupted']})"
    sections = report_sections(idata, prob=prob, seed=int_seed, validation=validation)
    footer = (
        f"bayes_ubpr {idata.attrs.get('bayes_ubpr_version', '?')}; fit seed {idata.attrs.get('seed', '?')}, "
        f"sampler {idata.attrs.get('sampler', '?')}; report seed {int_seed}; "
        f"written {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}."
    )
    text = renderer(title, sections, footer)
    with atomic_path(target) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return target
