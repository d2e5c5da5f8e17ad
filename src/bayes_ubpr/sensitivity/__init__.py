"""Sensitivity analysis: priors, prevalence, control resampling and unmeasured confounding.

Each question a reviewer asks of the paper's conclusions gets one function
returning a tidy DataFrame (settings in ``.attrs``), or a small result class
holding two (:class:`TippingPoints`, :class:`ControlResampling`):

- :func:`prior_sensitivity` refits over a grid of priors; :func:`tipping_points`
  finds, per factor, how sceptical a prior must be before "the 95% interval
  excludes OR 1" flips; :func:`power_scaling` asks the same without refitting
  (Kallioinen et al. 2023). (``sensitivity.priors``)
- :func:`prevalence_sensitivity` recomputes absolute risks for other
  population prevalences (the paper cites 5-22% from the literature).
  (``sensitivity.prevalence``)
- :func:`control_resampling` refits one cohort over many random control sets
  and control ratios. (``sensitivity.resampling``)
- :func:`e_value` and :func:`e_value_table` (VanderWeele & Ding 2017).
  (``sensitivity.confounding``)

The functions that refit take ``(data, spec, *, ..., sampling=..., seed=...)``
(:class:`~bayes_ubpr.ModelSpec`, :class:`~bayes_ubpr.Sampling`); for one
release they still take no ``spec`` (then ``ModelSpec(design="case_control")``,
the paper's case-control sample), the spec's fields and the loose sampling
keywords, with a ``DeprecationWarning``. The functions of a fit take the fit
first.

The E-value kernel is plain NumPy, tested on arrays; the other functions fit
models and reuse the compiled model of each structure: a prior's parameters
are data, so a grid of priors costs one compilation per prior family.
"""

from bayes_ubpr.sensitivity._common import DEFAULT_SAMPLING
from bayes_ubpr.sensitivity.confounding import e_value, e_value_table
from bayes_ubpr.sensitivity.prevalence import LITERATURE_PREVALENCES, prevalence_sensitivity
from bayes_ubpr.sensitivity.priors import (
    POWER_SCALING_THRESHOLD,
    PRIOR_FAMILIES,
    TippingPoints,
    margin_from_one,
    power_scaling,
    prior_grid,
    prior_sensitivity,
    tipping_points,
)
from bayes_ubpr.sensitivity.resampling import ControlResampling, control_resampling

__all__ = [
    "DEFAULT_SAMPLING",
    "LITERATURE_PREVALENCES",
    "POWER_SCALING_THRESHOLD",
    "PRIOR_FAMILIES",
    "ControlResampling",
    "TippingPoints",
    "control_resampling",
    "e_value",
    "e_value_table",
    "margin_from_one",
    "power_scaling",
    "prevalence_sensitivity",
    "prior_grid",
    "prior_sensitivity",
    "tipping_points",
]
