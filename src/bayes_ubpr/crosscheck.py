"""Deprecated: the cross-table audit moved to :mod:`bayes_ubpr.audit` (this path goes in the next release).

Everything public here is re-exported from :mod:`bayes_ubpr.audit.across`;
import it from :mod:`bayes_ubpr.audit` instead.
"""

from bayes_ubpr.audit.across import (
    audit_across_tables,
    audit_rows,
    implied_case_group,
    standard_error_plausibility,
)

__all__ = [
    "audit_across_tables",
    "audit_rows",
    "implied_case_group",
    "standard_error_plausibility",
]
