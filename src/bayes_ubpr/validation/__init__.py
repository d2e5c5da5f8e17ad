"""External validation of a fit (or the published model) in a new cohort, and what to do after it.

:func:`validate_model` (:mod:`bayes_ubpr.validation.external`) measures how a
fit, or the paper's published model, predicts in a cohort it was not fitted
on: calibration (in the large, slope, the flexible curve and its integrated
calibration index), discrimination, the Brier score and decision curves.
"""

from bayes_ubpr.validation.external import (
    DEFAULT_THRESHOLDS,
    RECOMMENDED_EVENTS,
    ValidationResult,
    intercept_for_mean_risk,
    validate_model,
)
from bayes_ubpr.validation.external import PAPER as PAPER
from bayes_ubpr.validation.external import VALIDATION_MISSING_ADVICE as VALIDATION_MISSING_ADVICE

# PAPER and VALIDATION_MISSING_ADVICE, imported ``as`` themselves, are not API and not in __all__: the command
# line imports them from here, as before the module became a subpackage.
__all__ = [
    "DEFAULT_THRESHOLDS",
    "RECOMMENDED_EVENTS",
    "ValidationResult",
    "intercept_for_mean_risk",
    "validate_model",
]
