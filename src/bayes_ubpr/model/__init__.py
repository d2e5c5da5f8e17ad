"""Building, checking and fitting the Bayesian logistic models.

One PyMC model family, one entry point (:func:`fit`): independent priors per
factor, joint shrinkage (regularised horseshoe, clinical domains), group
intercepts and slopes, and the case-control correction of the intercept.
"""

from bayes_ubpr.model._build import build_model
from bayes_ubpr.model._convergence import ESS_PER_CHAIN_MIN, RHAT_MAX, check_convergence, diagnostics_summary
from bayes_ubpr.model._fit import (
    LOG_LIKELIHOOD_MAX_BYTES,
    clear_compiled_models,
    default_sampler,
    fit,
    one_off_sampler,
)
from bayes_ubpr.model._pooled import completed_data
from bayes_ubpr.model._prior_predictive import prior_predictive
from bayes_ubpr.model._timing import estimate_fit_seconds
from bayes_ubpr.model.describe import describe_model_priors
from bayes_ubpr.model.design import check_design, expected_shrinkage, max_cox_snell_r2
from bayes_ubpr.model.fitted import Fitted, load_fit, save_fit
from bayes_ubpr.model.sampling import SAMPLERS, Sampling
from bayes_ubpr.model.spec import DESIGNS, ModelSpec, read_factor_file

__all__ = [
    "DESIGNS",
    "ESS_PER_CHAIN_MIN",
    "LOG_LIKELIHOOD_MAX_BYTES",
    "RHAT_MAX",
    "SAMPLERS",
    "Fitted",
    "ModelSpec",
    "Sampling",
    "build_model",
    "check_convergence",
    "check_design",
    "diagnostics_summary",
    "clear_compiled_models",
    "completed_data",
    "default_sampler",
    "describe_model_priors",
    "estimate_fit_seconds",
    "expected_shrinkage",
    "fit",
    "load_fit",
    "save_fit",
    "max_cox_snell_r2",
    "one_off_sampler",
    "prior_predictive",
    "read_factor_file",
]
