"""Prior specifications for the log odds ratio of each risk factor.

A prior is data: a small, immutable, self-checking :class:`Prior` per factor,
collected in a ``{factor_name: Prior}`` mapping. :func:`resolve_priors` fills in
the documented default for every factor the user did not name and converts
per-SD priors to the per-unit scale on which the model works.

Each part has its own module: :mod:`~bayes_ubpr.priors.families` (:class:`Prior`
and its families), :mod:`~bayes_ubpr.priors.shrinkage` (:class:`Horseshoe`,
:class:`DomainShrinkage`), :mod:`~bayes_ubpr.priors.prevalence`
(:class:`PopulationPrevalence`), :mod:`~bayes_ubpr.priors.presets` (the named
presets and :func:`resolve_priors`), :mod:`~bayes_ubpr.priors.spec`
(:class:`PriorSpec`), :mod:`~bayes_ubpr.priors.serialisation` and
:mod:`~bayes_ubpr.priors.describe`; import from ``bayes_ubpr.priors``.

The default (:func:`default_prior`)
-----------------------------------
Normal(0, 1) on the log odds ratio, per unit for a binary factor (present vs
absent) and per standard deviation for a continuous or count factor, the SD
being that of the paper's satisfactory group (Table 4), a fixed reference that
does not depend on the data being fitted. It puts 95% of its mass on odds
ratios between 1/7.1 and 7.1 (exp(1.96) = 7.1) per unit or SD: every effect the
paper reports lies in its bulk, and it shrinks the estimates of a design with
60 events for six factors about as much as that design needs. It was chosen
by calibration studies in the paper's world (docs/calibration.md): with it,
population risks have calibration slope 1.04 and 95% intervals cover the
true log odds ratios in 94.9-96.0% of 1,000 replicates, where the wider Normal(0,
2.5) of Gelman et al. (2008) (``priors="wide"``, the default of bayes_ubpr 0.1)
gave risks too spread out (slope 0.89) and too high (calibration-in-the-large
-0.49), and intervals that covered too rarely (89.6-94.1%).

Prior scales of the paper's six factors
---------------------------------------
The central 95% prior range of each odds ratio, per unit of the factor and
(in brackets) per reference SD, as :func:`describe_priors` states it in its
``statement`` column (``tests/test_priors.py`` checks that the two agree)::

    default (Normal(0, 1)):
      bmd_tscore_abs: OR 0.000394 to 2.54e+03 per 1 T-score unit (OR 0.141 to 7.1 per SD of 0.25)
      fascia_injury: OR 0.141 to 7.1 per present vs absent (OR 0.413 to 2.42 per SD of 0.451)
      cement_distribution_poor: OR 0.141 to 7.1 per unsatisfactory vs satisfactory (OR 0.402 to 2.49 per SD of 0.465)
      n_fractures: OR 0.0381 to 26.2 per 1 fractured vertebra (OR 0.141 to 7.1 per SD of 0.6)
      cement_volume_ml: OR 0.0141 to 70.9 per 1 mL (OR 0.141 to 7.1 per SD of 0.46)
      depression: OR 0.141 to 7.1 per present vs absent (OR 0.555 to 1.8 per SD of 0.3)
    "wide" (Normal(0, 2.5), the default of bayes_ubpr 0.1):
      bmd_tscore_abs: OR 3.08e-09 to 3.25e+08 per 1 T-score unit (OR 0.00745 to 134 per SD of 0.25)
      fascia_injury: OR 0.00745 to 134 per present vs absent (OR 0.11 to 9.1 per SD of 0.451)
      cement_distribution_poor: OR 0.00745 to 134 per unsatisfactory vs satisfactory (OR 0.102 to 9.77 per SD of 0.465)
      n_fractures: OR 0.000284 to 3.52e+03 per 1 fractured vertebra (OR 0.00745 to 134 per SD of 0.6)
      cement_volume_ml: OR 2.37e-05 to 4.23e+04 per 1 mL (OR 0.00745 to 134 per SD of 0.46)
      depression: OR 0.00745 to 134 per present vs absent (OR 0.23 to 4.35 per SD of 0.3)
    "sceptical" (Normal(0, 0.561)):
      bmd_tscore_abs: OR 0.0123 to 81 per 1 T-score unit (OR 0.333 to 3 per SD of 0.25)
      fascia_injury: OR 0.333 to 3 per present vs absent (OR 0.61 to 1.64 per SD of 0.451)
      cement_distribution_poor: OR 0.333 to 3 per unsatisfactory vs satisfactory (OR 0.6 to 1.67 per SD of 0.465)
      n_fractures: OR 0.16 to 6.24 per 1 fractured vertebra (OR 0.333 to 3 per SD of 0.6)
      cement_volume_ml: OR 0.0918 to 10.9 per 1 mL (OR 0.333 to 3 per SD of 0.46)
      depression: OR 0.333 to 3 per present vs absent (OR 0.719 to 1.39 per SD of 0.3)
    "paper" (Table 5, SE x 2):
      bmd_tscore_abs: OR 0.361 to 35.5 per 1 T-score unit (OR 0.775 to 2.44 per SD of 0.25)
      fascia_injury: OR 0.725 to 20 per present vs absent (OR 0.865 to 3.85 per SD of 0.451)
      cement_distribution_poor: OR 0.53 to 17.1 per unsatisfactory vs satisfactory (OR 0.744 to 3.74 per SD of 0.465)
      n_fractures: OR 1.06 to 11.2 per 1 fractured vertebra (OR 1.03 to 4.26 per SD of 0.6)
      cement_volume_ml: OR 0.0164 to 0.378 per 1 mL (OR 0.151 to 0.639 per SD of 0.46)
      depression: OR 0.383 to 30.6 per present vs absent (OR 0.75 to 2.79 per SD of 0.3)

Per-SD and per-unit ranges read alike but are not: a T-score unit is four
reference SDs of BMD, so the default's 0.141 to 7.1 per SD is 0.000394 to
2540 per T-score unit. ``"paper"`` centres each factor on Table 5 (see
:func:`paper_priors`); the horseshoe and domain priors have no fixed
per-factor scale (their marginal 95% range per sample SD in the paper's 60:60
design is about 0.012 to 86 for the horseshoe and 0.075 to 13 for domains).

References
----------
Gelman A, Jakulin A, Pittau MG, Su YS (2008). A weakly informative default
prior distribution for logistic and other regression models. Annals of
Applied Statistics 2(4):1360-1383. doi:10.1214/08-AOAS191
"""

from bayes_ubpr.priors.describe import describe_prior_spec, describe_priors, prior_words
from bayes_ubpr.priors.families import DEFAULT_SCALE, INTERCEPT, WIDE_SCALE, Prior, default_prior, reference_sd
from bayes_ubpr.priors.presets import (
    PAPER_INFLATION,
    PRESETS,
    SCEPTICAL_SCALE,
    paper_priors,
    resolve_priors,
    sceptical_priors,
    wide_priors,
)
from bayes_ubpr.priors.presets import PriorsLike as PriorsLike
from bayes_ubpr.priors.presets import check_priors_argument as check_priors_argument
from bayes_ubpr.priors.prevalence import PAPER_PREVALENCE as PAPER_PREVALENCE
from bayes_ubpr.priors.prevalence import PopulationPrevalence
from bayes_ubpr.priors.serialisation import priors_from_dict, priors_to_dict
from bayes_ubpr.priors.shrinkage import DomainShrinkage, Horseshoe
from bayes_ubpr.priors.spec import PriorSpec

# The names imported ``as`` themselves (PriorsLike, check_priors_argument, PAPER_PREVALENCE) are not API and
# not in __all__: the package's own modules (model, calibrate, ...) import them from here, as before the split.
__all__ = [
    "DEFAULT_SCALE",
    "INTERCEPT",
    "PAPER_INFLATION",
    "PRESETS",
    "SCEPTICAL_SCALE",
    "WIDE_SCALE",
    "DomainShrinkage",
    "Horseshoe",
    "PopulationPrevalence",
    "Prior",
    "PriorSpec",
    "default_prior",
    "describe_prior_spec",
    "describe_priors",
    "paper_priors",
    "priors_from_dict",
    "priors_to_dict",
    "prior_words",
    "reference_sd",
    "resolve_priors",
    "sceptical_priors",
    "wide_priors",
]
