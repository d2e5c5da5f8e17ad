"""What a term does to a patient's risk: contrasts, conditional effects and per-term summaries of a fit.

Functions of a fit, read through :class:`bayes_ubpr.model.Fitted`, that
speak in raw variables rather than design columns, so that a categorical
factor, a spline or an interaction is read as a clinician reads it:

* :func:`contrast`: the odds ratio and risk difference between two patients
  who differ in named values ("3 mL against 5 mL");
* :func:`conditional_effects` and :func:`plot_conditional_effects`: the risk
  or odds ratio along one variable, per stratum of a second (brms'
  ``conditional_effects``, rms' ``Predict``);
* :func:`term_odds_ratios`: each term's odds ratios per unit, per
  interquartile range, level against reference, within strata of an
  interaction (rms' ``summary``);
* :func:`term_summary`: how much each term matters as a whole (rms'
  ``anova``), with the PSIS-LOO loss of dropping it;
* :func:`missing_summary`: what a fit of data with missing values imputed,
  and its odds ratios beside the complete-case ones.

Every value is built from the raw columns with the levels, knots and
typical patient stored in the fit.
"""

from bayes_ubpr.effects.contrast import CONTRAST_SCALES, contrast
from bayes_ubpr.effects.curves import EFFECT_SCALES, conditional_effects
from bayes_ubpr.effects.missing import MissingSummary, missing_summary
from bayes_ubpr.effects.odds_ratios import format_term_odds_ratios, term_odds_ratios, without_repeated_main_effects
from bayes_ubpr.effects.plot import plot_conditional_effects
from bayes_ubpr.effects.summary import term_summary

__all__ = [
    "CONTRAST_SCALES",
    "EFFECT_SCALES",
    "MissingSummary",
    "conditional_effects",
    "contrast",
    "format_term_odds_ratios",
    "missing_summary",
    "plot_conditional_effects",
    "term_odds_ratios",
    "term_summary",
    "without_repeated_main_effects",
]
