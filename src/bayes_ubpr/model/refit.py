"""Refitting one model to many data sets: the model stage's interface for the studies.

A calibration study, a sensitivity grid or a cross-validated selection fits
the same model structure hundreds of times. They prepare each data set once
(:func:`prepare_inputs`: validated, standardised, priors resolved), sample it
with the model compiled once per structure (:func:`sample_arrays`, which
returns plain arrays, :class:`FitArrays`, instead of an ``InferenceData``),
and build the PyMC model only where they need it (:func:`build_from_inputs`).
"""

from bayes_ubpr.model._build import ModelInputs, build_from_inputs, prepare_inputs
from bayes_ubpr.model._draws import CHECKED, FitArrays, sample_arrays
from bayes_ubpr.model._fit import SHRINKAGE_TARGET_ACCEPT, default_target_accept
from bayes_ubpr.model._interrupt import sigint_watch
from bayes_ubpr.model._pooled import resolve_spec

__all__ = [
    "CHECKED",
    "SHRINKAGE_TARGET_ACCEPT",
    "FitArrays",
    "ModelInputs",
    "build_from_inputs",
    "default_target_accept",
    "prepare_inputs",
    "resolve_spec",
    "sample_arrays",
    "sigint_watch",
]
