"""The named prior presets, and :func:`resolve_priors`, which turns a ``priors`` argument into a PriorSpec.

The presets are ``"default"`` (:func:`~bayes_ubpr.priors.default_prior`),
``"wide"``, ``"sceptical"``, ``"paper"`` and the shrinkage structures
(``"horseshoe"``, ``"domains"``); the :mod:`bayes_ubpr.priors` docstring lists
the odds-ratio range each implies for the paper's six factors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TypeAlias

from bayes_ubpr._validate import check_choice, check_names, is_finite_real
from bayes_ubpr.data import FactorLike, as_factors
from bayes_ubpr.paper import table5
from bayes_ubpr.priors._common import known_factor
from bayes_ubpr.priors.families import INTERCEPT, WIDE_SCALE, Prior, default_prior
from bayes_ubpr.priors.shrinkage import STRUCTURES, DomainShrinkage, Horseshoe, structure_name
from bayes_ubpr.priors.spec import PriorSpec

__all__ = [
    "PAPER_INFLATION",
    "PRESETS",
    "SCEPTICAL_SCALE",
    "PriorsLike",
    "check_priors_argument",
    "paper_priors",
    "resolve_priors",
    "sceptical_priors",
    "wide_priors",
]

SCEPTICAL_SCALE = math.log(3.0) / 1.959963984540054
"""Scale of the sceptical prior: 95% of its mass on odds ratios between 1/3 and 3."""

PAPER_INFLATION = 2.0
"""Default factor by which ``priors="paper"`` widens Table 5's standard errors.

A power prior raises the historical likelihood to a power a0 in [0, 1]; for a
normal likelihood N(B, SE^2) that is N(B, SE^2 / a0). Inflating SE by 2 is
a0 = 0.25: the paper's 60:60 study counts as a quarter of its size, a
discount for a different hospital, era and case mix (Ibrahim & Chen 2000)."""


def wide_priors(factors: Sequence[FactorLike]) -> dict[str, Prior]:
    """Return the wide Normal(0, 2.5) priors of Gelman et al. (2008), the default of bayes_ubpr 0.1.

    Normal(0, 2.5) on each log odds ratio, per unit for binary factors and
    per reference SD otherwise: 95% prior mass on odds ratios between 1/134
    and 134 per unit or SD (the :mod:`bayes_ubpr.priors` docstring gives the range per unit of
    each of the paper's factors). In the paper's 60:60 design it shrinks too
    little: population risks come out too spread and too high, and 95%
    intervals cover the truth in 91-95% of replicates (docs/calibration.md).

    Examples
    --------
    >>> from bayes_ubpr.priors import wide_priors
    >>> wide_priors(["cement_volume_ml"])["cement_volume_ml"]
    Prior(family='normal', mu=0.0, sigma=2.5, nu=None, per='sd')
    """
    return {known_factor(f).name: replace(default_prior(f), sigma=WIDE_SCALE) for f in factors}


def sceptical_priors(factors: Sequence[FactorLike]) -> dict[str, Prior]:
    """Sceptical priors centred on OR 1 (Spiegelhalter et al. 1994).

    Normal(0, ln 3 / 1.96) on each log odds ratio, per unit for binary factors
    and per reference SD otherwise: 95% prior probability that the odds ratio
    lies between 1/3 and 3, so the paper's ORs of 3 to 4 for binary factors
    must be earned by the data. Per unit of each of the paper's factors the
    range differs (e.g. OR 0.0123 to 81 per T-score unit of BMD, whose
    reference SD is 0.25): the :mod:`bayes_ubpr.priors` docstring lists all six.

    References
    ----------
    Spiegelhalter DJ, Freedman LS, Parmar MKB (1994). Bayesian approaches to
    randomized trials. J R Stat Soc A 157(3):357-416. doi:10.2307/2983527

    Examples
    --------
    >>> from bayes_ubpr.priors import sceptical_priors
    >>> round(sceptical_priors(["depression"])["depression"].sigma, 3)
    0.561
    """
    return {known_factor(f).name: replace(default_prior(f), sigma=SCEPTICAL_SCALE) for f in factors}


def paper_priors(factors: Sequence[FactorLike], *, inflation: float = PAPER_INFLATION) -> dict[str, Prior]:
    """Literature-informed priors centred on the paper's Table 5.

    Each Table 5 factor gets Normal(B, (SE * inflation)^2) per unit; other
    factors keep :func:`default_prior`. The :mod:`bayes_ubpr.priors` docstring lists the
    resulting 95% prior range of each of the six odds ratios per unit and per
    reference SD.

    Parameters
    ----------
    factors : sequence of str or Factor
        Factors in the model.
    inflation : float, default 2.0
        Multiplier (>= 1) of the published SE; ``1 / inflation**2`` is the
        power-prior weight given to the paper (see :data:`PAPER_INFLATION`).

    References
    ----------
    Ibrahim JG, Chen MH (2000). Power prior distributions for regression
    models. Statistical Science 15(1):46-60. doi:10.1214/ss/1009212673

    Examples
    --------
    >>> from bayes_ubpr.priors import paper_priors
    >>> paper_priors(["fascia_injury"])["fascia_injury"]
    Prior(family='normal', mu=1.336, sigma=0.846, nu=None, per='unit')
    """
    if not is_finite_real(inflation) or inflation < 1:
        raise ValueError(f"inflation must be a number >= 1 (1 = take the paper at face value); got {inflation!r}")
    published = table5().set_index("factor")
    priors = {}
    for factor in as_factors(factors):
        f = factor.name
        if f in published.index and factor.paper_row:
            priors[f] = Prior("normal", float(published.loc[f, "B"]), float(published.loc[f, "SE"]) * inflation)
        else:
            priors[f] = default_prior(factor)
    return priors


PriorsLike: TypeAlias = str | Mapping[str, Prior] | Horseshoe | DomainShrinkage | None


PRESETS = ("default", "wide", "paper", "sceptical", *STRUCTURES)
"""Named prior presets accepted wherever ``priors`` is."""


def check_priors_argument(priors: PriorsLike, factor_names: Sequence[str]) -> None:
    """Raise if ``priors`` is not a valid ``priors`` argument for a model on these factors."""
    if priors is None or isinstance(priors, (Horseshoe, DomainShrinkage)):
        return
    if isinstance(priors, str):
        check_choice(priors, PRESETS, name="priors preset")
        return
    if not isinstance(priors, Mapping):
        raise TypeError(
            "priors must be None, a preset name, a {factor: Prior} mapping, Horseshoe or DomainShrinkage; "
            f"got {type(priors).__name__}"
        )
    check_names(priors, [INTERCEPT, *factor_names], what="prior key (a factor in the model or 'intercept')")
    for key, value in priors.items():
        if not isinstance(value, Prior):
            raise TypeError(f'priors["{key}"] must be a bayes_ubpr.priors.Prior; got {type(value).__name__}')


def resolve_priors(factors: Sequence[FactorLike], priors: PriorsLike = None) -> PriorSpec:
    """Resolve a ``priors`` argument into the :class:`PriorSpec` a model uses.

    Parameters
    ----------
    factors : sequence of str or Factor
        Factors in the model, with known kinds and reference scales (the
        paper's catalogue names, or :class:`~bayes_ubpr.factors.Factor`
        objects given ``kind`` and ``scale`` or resolved on data).
    priors : str, mapping, Horseshoe, DomainShrinkage or None
        None or ``"default"``: :func:`default_prior` for every factor;
        ``"wide"``: :func:`wide_priors` (the default of bayes_ubpr 0.1);
        ``"paper"``: :func:`paper_priors`; ``"sceptical"``: :func:`sceptical_priors`;
        ``"horseshoe"``: :class:`Horseshoe`; ``"domains"``: :class:`DomainShrinkage`; a mapping
        ``{factor: Prior}`` (and optionally ``"intercept"``) overriding the
        defaults; or a configured :class:`Horseshoe` / :class:`DomainShrinkage`.

    Returns
    -------
    PriorSpec
        Independent priors converted to per-unit scales, in factor order.

    Raises
    ------
    ValueError
        For an unknown preset, a key that is neither a model factor nor
        ``"intercept"``, or a factor whose kind or scale is not yet known.
    TypeError
        If a mapping value is not a :class:`Prior`, or ``priors`` is of an
        unsupported type.

    Examples
    --------
    >>> from bayes_ubpr.priors import resolve_priors
    >>> spec = resolve_priors(["depression"], "sceptical")
    >>> spec.kind, round(spec.coefficients["depression"].sigma, 3)
    ('independent', 0.561)
    """
    known = tuple(known_factor(f) for f in as_factors(factors))
    names = [f.name for f in known]
    check_priors_argument(priors, names)
    if isinstance(priors, str):
        presets: dict[str, Callable[[], PriorsLike]] = {
            "default": dict,
            "wide": lambda: wide_priors(known),
            "paper": lambda: paper_priors(known),
            "sceptical": lambda: sceptical_priors(known),
            **STRUCTURES,
        }
        return replace(resolve_priors(known, presets[priors]()), name=priors)
    if isinstance(priors, (Horseshoe, DomainShrinkage)):
        if isinstance(priors, DomainShrinkage):
            priors.domain_of(known)
        return PriorSpec(structure_name(priors), priors.intercept, {}, priors, known)
    given = dict(priors or {})
    coefficients = {f.name: given.get(f.name, default_prior(f)).per_unit(float(f.scale)) for f in known}  # type: ignore[arg-type]
    name = "custom" if given else "default"
    return PriorSpec(name, given.get(INTERCEPT, default_prior(INTERCEPT)), coefficients, None, known)
