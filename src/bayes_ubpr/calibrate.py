"""Deprecated: the calibration studies moved to :mod:`bayes_ubpr.studies` (this path goes in the next release).

Everything public here is re-exported from :mod:`bayes_ubpr.studies`;
import it from there instead.
"""

from bayes_ubpr.studies import (
    DEFAULT_PROBS,
    REFIT_FACTOR,
    RISK_DRAWS,
    STUDY_CHAINS,
    STUDY_DRAWS,
    STUDY_TUNE,
    CalibrationResult,
    SBCResult,
    calibration_study,
    replicate_seeds,
    sbc_verdicts,
    simulate_cohorts,
    simultaneous_ecdf_band,
)

__all__ = [
    "DEFAULT_PROBS",
    "REFIT_FACTOR",
    "RISK_DRAWS",
    "STUDY_CHAINS",
    "STUDY_DRAWS",
    "STUDY_TUNE",
    "CalibrationResult",
    "SBCResult",
    "calibration_study",
    "replicate_seeds",
    "sbc_verdicts",
    "simulate_cohorts",
    "simultaneous_ecdf_band",
]
