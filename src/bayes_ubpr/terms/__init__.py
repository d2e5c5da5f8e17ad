"""Model terms: formulas, categorical factors, splines and interactions, from raw columns to a design.

:func:`parse_formula` reads ``"outcome ~ terms + (1 | group)"``;
:class:`Terms` resolves the terms on the fitted data (levels, reference,
knots) and builds their design columns from any data later. Pure pandas and
numpy (and formulae to parse): nothing here depends on PyMC.
"""

from bayes_ubpr.terms.basis import DEFAULT_KNOT_QUANTILES, default_knots, rcs_basis, treatment_columns
from bayes_ubpr.terms.design import Terms
from bayes_ubpr.terms.formula import Formula, FormulaError, parse_formula
from bayes_ubpr.terms.groups import group_labels
from bayes_ubpr.terms.kinds import (
    ROLE_PRIOR_SCALE,
    ROLES,
    Categorical,
    Interaction,
    Numeric,
    Spline,
    Term,
    is_categorical,
    term_from_dict,
)

__all__ = [
    "DEFAULT_KNOT_QUANTILES",
    "ROLES",
    "ROLE_PRIOR_SCALE",
    "Categorical",
    "Formula",
    "FormulaError",
    "Interaction",
    "Numeric",
    "Spline",
    "Term",
    "Terms",
    "default_knots",
    "group_labels",
    "is_categorical",
    "parse_formula",
    "rcs_basis",
    "term_from_dict",
    "treatment_columns",
]
