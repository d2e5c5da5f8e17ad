"""Synthetic cohorts shaped like the paper's, and case-control samples of them.

* :mod:`~bayes_ubpr.simulate.laws`: the law of each factor among controls,
  from Table 4's satisfactory group;
* :mod:`~bayes_ubpr.simulate.effects`: effects beyond a log odds ratio per
  unit, a categorical factor with text levels and a curved effect (a
  quadratic, or any smooth curve), each with its known truth;
* :mod:`~bayes_ubpr.simulate.cohort`: the true logistic model, the cohorts
  drawn from it and the paper's case-control sample of them.
"""

from bayes_ubpr.simulate.cohort import TrueModel, case_control_sample, simulate_cohort, true_model
from bayes_ubpr.simulate.effects import CurveEffect, LevelEffects, QuadraticEffect
from bayes_ubpr.simulate.effects import Effect as Effect

# public names not in __all__ (as before the split), kept importable by the redundant aliases
from bayes_ubpr.simulate.laws import MAX_FRACTURES as MAX_FRACTURES
from bayes_ubpr.simulate.laws import BernoulliLaw, DiscreteLaw, NormalLaw, control_laws
from bayes_ubpr.simulate.laws import Law as Law
from bayes_ubpr.simulate.laws import max_entropy_count_law as max_entropy_count_law

__all__ = [
    # laws among controls
    "BernoulliLaw",
    "DiscreteLaw",
    "NormalLaw",
    "control_laws",
    # effects beyond a log odds ratio per unit
    "CurveEffect",
    "LevelEffects",
    "QuadraticEffect",
    # the world and its cohorts
    "TrueModel",
    "case_control_sample",
    "simulate_cohort",
    "true_model",
]
