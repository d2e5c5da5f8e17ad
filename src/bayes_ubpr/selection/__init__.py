"""Comparing fits by leave-one-out cross-validation, and choosing factors by projection.

:func:`loo` and :func:`compare_models` (:mod:`bayes_ubpr.selection.loo`)
estimate how well fits predict a new patient of the kind they were fitted to
(PSIS-LOO, Vehtari, Gelman & Gabry 2017) and weigh them against each other.
:func:`select_factors` (:mod:`bayes_ubpr.selection.projpred`) runs the
projection-predictive forward search of Piironen, Paasiniemi & Vehtari (2020):
a reference model over all candidate factors with the regularised horseshoe,
then the submodels that best reproduce its predictions, one factor (or one
whole term of a formula, interactions after their main effects) at a time.
The Bernoulli-logit projection is a logistic regression on the reference's
fitted probabilities, solved by the Newton kernel of :mod:`bayes_ubpr.metrics`.
"""

from bayes_ubpr.selection.loo import PARETO_K_THRESHOLD, LooResult, compare_models, loo
from bayes_ubpr.selection.projpred import SelectionResult, select_factors

__all__ = [
    "PARETO_K_THRESHOLD",
    "LooResult",
    "SelectionResult",
    "compare_models",
    "loo",
    "select_factors",
]
