"""External validation of a fit (or the published model) in a new cohort, and what to do after it.

:func:`validate_model` (:mod:`bayes_ubpr.validation.external`) measures how a
fit, or the paper's published model, predicts in a cohort it was not fitted
on: calibration (in the large, slope, the flexible curve and its integrated
calibration index), discrimination, the Brier score and decision curves.

A model that validates badly in a new setting is revised with that
setting's data (Steyerberg 2019, ch. 20): :func:`recalibrate`
(:mod:`bayes_ubpr.validation.recalibration`) gives it a new intercept, or a
new intercept and slope, on its linear predictor; :func:`update`
(:mod:`bayes_ubpr.validation.updating`) refits it with its old posterior,
discounted, as the prior; :func:`validate_updating`
(:mod:`bayes_ubpr.validation.comparison`) validates the original and its
revisions side by side on patients none of them was revised on (a hold-out
sample, or cross-validation).
"""

from bayes_ubpr.validation.comparison import UPDATING_METHODS, UpdatingValidation, validate_updating
from bayes_ubpr.validation.external import (
    DEFAULT_THRESHOLDS,
    RECOMMENDED_EVENTS,
    ValidationResult,
    intercept_for_mean_risk,
    validate_model,
)
from bayes_ubpr.validation.external import PAPER as PAPER
from bayes_ubpr.validation.external import VALIDATION_MISSING_ADVICE as VALIDATION_MISSING_ADVICE
from bayes_ubpr.validation.recalibration import (
    RECALIBRATION_INTERCEPT_SD,
    RECALIBRATION_METHODS,
    RECALIBRATION_SLOPE_PRIOR,
    recalibrate,
)
from bayes_ubpr.validation.updating import DEFAULT_DISCOUNT, UPDATE_INTERCEPTS, update

# PAPER and VALIDATION_MISSING_ADVICE, imported ``as`` themselves, are not API and not in __all__: the command
# line imports them from here, as before the module became a subpackage.
__all__ = [
    "DEFAULT_DISCOUNT",
    "DEFAULT_THRESHOLDS",
    "RECALIBRATION_INTERCEPT_SD",
    "RECALIBRATION_METHODS",
    "RECALIBRATION_SLOPE_PRIOR",
    "RECOMMENDED_EVENTS",
    "UPDATE_INTERCEPTS",
    "UPDATING_METHODS",
    "UpdatingValidation",
    "ValidationResult",
    "intercept_for_mean_risk",
    "recalibrate",
    "update",
    "validate_model",
    "validate_updating",
]
