"""A report of a fit that a clinician can act on and a statistician can audit: one HTML or Markdown file.

One module per part: :mod:`~bayes_ubpr.report.facts` computes what the report
says once, :mod:`~bayes_ubpr.report.headline` the summary,
:mod:`~bayes_ubpr.report.sections` the main part,
:mod:`~bayes_ubpr.report.appendix` the technical appendix,
:mod:`~bayes_ubpr.report.figures` the figures drawn for it,
:mod:`~bayes_ubpr.report.formatting` how numbers are shown,
:mod:`~bayes_ubpr.report.render` the HTML (with its print stylesheet) and
Markdown, and :mod:`~bayes_ubpr.report.document` :func:`write_report`.
"""

from bayes_ubpr.report.document import PAPER_TITLE, REPORT_SUFFIXES, write_report
from bayes_ubpr.report.patients import EXAMPLE_PATIENT, example_patients

__all__ = ["EXAMPLE_PATIENT", "PAPER_TITLE", "REPORT_SUFFIXES", "example_patients", "write_report"]
