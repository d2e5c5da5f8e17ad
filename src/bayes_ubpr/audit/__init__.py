"""The published-statistics audit: every printed number against what the rest of the paper allows.

One function, :func:`audit`, runs every check and returns one tidy table
(:data:`AUDIT_COLUMNS`). The checks live in four modules:

* :mod:`~bayes_ubpr.audit.granularity`: GRIM and GRIMMER on plain numbers;
* :mod:`~bayes_ubpr.audit.within`: each table against itself (Tables 2-5,
  and the granularity of Tables 2-4);
* :mod:`~bayes_ubpr.audit.across`: Table 4 against Table 5 (the case group
  the odds ratios imply, and how plausible Table 5's standard errors are);
* :mod:`~bayes_ubpr.audit.text`: the abstract's and text's numerical claims
  against the tables and each other;

and :mod:`~bayes_ubpr.audit.synthetic` prints simulated honest papers, to
measure how often the audit flags one.
"""

from bayes_ubpr.audit._fits import MIN_REPLICATES
from bayes_ubpr.audit._rows import AUDIT_COLUMNS, SEVERITIES
from bayes_ubpr.audit._run import audit, summary
from bayes_ubpr.audit.across import (
    audit_across_tables,
    audit_rows,
    implied_case_group,
    implied_case_group_by_correlation,
    standard_error_plausibility,
)
from bayes_ubpr.audit.granularity import grim, grim_sums, grimmer
from bayes_ubpr.audit.synthetic import simulate_paper

__all__ = [
    "MIN_REPLICATES",
    # the whole audit
    "AUDIT_COLUMNS",
    "SEVERITIES",
    "audit",
    "summary",
    # granularity kernels
    "grim",
    "grim_sums",
    "grimmer",
    # Table 4 against Table 5
    "audit_across_tables",
    "audit_rows",
    "implied_case_group",
    "implied_case_group_by_correlation",
    "standard_error_plausibility",
    # negative controls
    "simulate_paper",
]
