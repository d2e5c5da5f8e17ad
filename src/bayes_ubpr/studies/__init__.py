"""Calibration studies: would our intervals and risks be right in a world like the paper's.

A study simulates many cohorts with known truth, draws the paper's
case-control sample from each, fits it, and keeps only small per-replicate
summaries (never the traces), so memory stays flat as replicates grow. The
parts:

* :mod:`~bayes_ubpr.studies.world`: the simulated cohorts and their samples;
* :mod:`~bayes_ubpr.studies.coverage`: the fixed-truth study (coverage, bias,
  RMSE), :func:`coverage_study`;
* :mod:`~bayes_ubpr.studies.sbc`: simulation-based calibration (ranks and
  their uniformity), :func:`sbc_study`;
* :mod:`~bayes_ubpr.studies.predictive`: the predictive calibration of the
  whole cohort's risks, which both studies report;

and a private runner that spawns the replicate seeds, runs the replicates in
threads or on Dask and keeps each finished one in a store. Both studies take
the fitted model as a :class:`~bayes_ubpr.ModelSpec` and its sampling as a
:class:`~bayes_ubpr.Sampling`; :func:`calibration_study` runs either behind a
``mode`` switch with the loose keywords of earlier releases.
"""

from bayes_ubpr.studies._compat import calibration_study
from bayes_ubpr.studies._fit import REFIT_FACTOR, REFIT_MARGIN, refit_factor
from bayes_ubpr.studies._settings import STUDY_CHAINS, STUDY_DRAWS, STUDY_SAMPLING, STUDY_SPEC, STUDY_TUNE
from bayes_ubpr.studies.coverage import DEFAULT_PROBS, CalibrationResult, coverage_study
from bayes_ubpr.studies.predictive import RISK_DRAWS
from bayes_ubpr.studies.sbc import SBCResult, sbc_study, sbc_verdicts, simultaneous_ecdf_band
from bayes_ubpr.studies.world import replicate_seeds, simulate_cohorts

__all__ = [
    # the studies
    "CalibrationResult",
    "SBCResult",
    "coverage_study",
    "sbc_study",
    # the compatibility path: both behind a mode switch
    "calibration_study",
    # their settings
    "DEFAULT_PROBS",
    "REFIT_FACTOR",
    "REFIT_MARGIN",
    "RISK_DRAWS",
    "STUDY_CHAINS",
    "STUDY_DRAWS",
    "STUDY_SAMPLING",
    "STUDY_SPEC",
    "STUDY_TUNE",
    "refit_factor",
    # the simulated world
    "replicate_seeds",
    "simulate_cohorts",
    # rank uniformity
    "sbc_verdicts",
    "simultaneous_ecdf_band",
]
