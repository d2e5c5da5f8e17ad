"""Prior specifications for the log odds ratio of each risk factor.

A prior is data: a small, immutable, self-checking :class:`Prior` per factor,
collected in a ``{factor_name: Prior}`` mapping. :func:`resolve_priors` fills in
the documented default for every factor the user did not name and converts
per-SD priors to the per-unit scale on which the model works.

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

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import numpy as np
import pandas as pd

from bayes_ubpr._validate import (
    check_choice,
    check_keys,
    check_names,
    check_text,
    describe_value,
    is_finite_real,
    shown,
)
from bayes_ubpr.data import FactorLike, as_factors
from bayes_ubpr.factors import Factor
from bayes_ubpr.paper import N_CASES, N_PATIENTS, table5

if TYPE_CHECKING:  # PyMC is imported where a model is built, not when priors are described
    import pytensor.tensor as pt

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
    "describe_priors",
    "paper_priors",
    "priors_from_dict",
    "priors_to_dict",
    "reference_sd",
    "resolve_priors",
    "sceptical_priors",
    "wide_priors",
]

Family = Literal["normal", "student_t", "laplace"]
Per = Literal["unit", "sd"]


def _normal(name: str, mu: Any, sigma: Any, nu: Any, **kwargs: Any) -> pt.TensorVariable:
    import pymc as pm

    return pm.Normal(name, mu=mu, sigma=sigma, **kwargs)


def _student_t(name: str, mu: Any, sigma: Any, nu: Any, **kwargs: Any) -> pt.TensorVariable:
    import pymc as pm

    return pm.StudentT(name, nu=nu, mu=mu, sigma=sigma, **kwargs)


def _laplace(name: str, mu: Any, sigma: Any, nu: Any, **kwargs: Any) -> pt.TensorVariable:
    import pymc as pm

    return pm.Laplace(name, mu=mu, b=sigma, **kwargs)


_FAMILY_BUILDERS: dict[str, Callable[..., pt.TensorVariable]] = {
    "normal": _normal,
    "student_t": _student_t,
    "laplace": _laplace,
}
"""How each family becomes a PyMC variable from location, scale and (Student-t) degrees of freedom.
A new family is one function here plus its name in :data:`Family`; nothing else dispatches on families."""

FAMILIES: tuple[str, ...] = tuple(_FAMILY_BUILDERS)
DEFAULT_SCALE = 1.0
"""Scale of the default normal prior on each log odds ratio, chosen by calibration (docs/calibration.md)."""

WIDE_SCALE = 2.5
"""Scale of the ``"wide"`` prior (Gelman et al. 2008), the default of bayes_ubpr 0.1; also the intercept's
prior scale and the horseshoe's slab scale."""

INTERCEPT = "intercept"
"""Key under which a prior for the model's intercept may be given. It applies
to the log odds of UBPR at the sample mean of the factors."""


@dataclass(frozen=True)
class Prior:
    """Prior on one log odds ratio (or on the intercept).

    Parameters
    ----------
    family : {"normal", "student_t", "laplace"}, default "normal"
        Distribution family.
    mu : float, default 0.0
        Location on the log odds ratio scale (0 = OR 1).
    sigma : float, default 1.0
        Scale (> 0).
    nu : float, optional
        Degrees of freedom (> 0), required for and only for ``student_t``.
    per : {"unit", "sd"}, default "unit"
        Whether ``mu`` and ``sigma`` refer to one unit of the factor or to one
        reference standard deviation (see :func:`reference_sd`).

    Raises
    ------
    ValueError
        For an unknown family or ``per``, a non-positive or non-finite scale,
        or ``nu`` given where it does not belong or missing where it does.

    Examples
    --------
    >>> from bayes_ubpr.priors import Prior
    >>> Prior("student_t", mu=0.0, sigma=1.0, nu=3)
    Prior(family='student_t', mu=0.0, sigma=1.0, nu=3.0, per='unit')
    >>> Prior(sigma=-1)
    Traceback (most recent call last):
    ...
    ValueError: Prior sigma must be a positive finite number; got -1
    """

    family: Family = "normal"
    mu: float = 0.0
    sigma: float = 1.0
    nu: float | None = None
    per: Per = "unit"

    def __post_init__(self) -> None:
        check_choice(self.family, FAMILIES, name="Prior family")
        check_choice(self.per, ("unit", "sd"), name="Prior per")
        if not is_finite_real(self.mu):
            raise ValueError(f"Prior mu must be a finite number; got {shown(self.mu)}")
        if not is_finite_real(self.sigma) or self.sigma <= 0:
            raise ValueError(f"Prior sigma must be a positive finite number; got {shown(self.sigma)}")
        if self.family == "student_t":
            if self.nu is None or not is_finite_real(self.nu) or self.nu <= 0:
                raise ValueError(f"A student_t Prior needs nu > 0 (degrees of freedom); got nu={shown(self.nu)}")
            object.__setattr__(self, "nu", float(self.nu))
        elif self.nu is not None:
            raise ValueError(f"nu applies only to the student_t family, not {self.family}")
        object.__setattr__(self, "mu", float(self.mu))
        object.__setattr__(self, "sigma", float(self.sigma))

    def per_unit(self, sd: float) -> Prior:
        """Express the prior per unit of a factor whose reference SD is ``sd``."""
        if self.per == "unit":
            return self
        return replace(self, mu=self.mu / sd, sigma=self.sigma / sd, per="unit")

    def to_dict(self) -> dict[str, object]:
        """Plain-Python form, for storing in ``InferenceData.attrs``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, what: str = "Prior") -> Prior:
        """Inverse of :meth:`to_dict` (a field left out takes its default); ``what`` names the prior in errors.

        Raises
        ------
        ValueError, TypeError
            Naming the prior and the key, for an unknown key or an invalid value.
        """
        settings = check_keys(values, _PRIOR_FIELDS, what=what)
        try:
            return cls(**settings)  # type: ignore[arg-type]
        except (TypeError, ValueError) as error:
            raise type(error)(f"{what}: {error}") from None

    def build(self, name: str, *, scale: Any = 1.0, **kwargs: Any) -> pt.TensorVariable:
        """Create this prior as a PyMC random variable inside a model context.

        Location and scale are multiplied by ``scale`` (a number or tensor),
        so a per-unit prior becomes one per SD of a factor; ``kwargs`` (e.g.
        ``dims``) go to the distribution.
        """
        return _FAMILY_BUILDERS[self.family](name, self.mu * scale, self.sigma * scale, self.nu, **kwargs)


def _exp(x: float) -> float:
    """Exp that saturates at 0 and inf instead of overflowing, for very wide priors."""
    return math.exp(x) if x < 709.0 else math.inf


_PRIOR_FIELDS = tuple(f.name for f in fields(Prior))


def _check_intercept(owner: str, intercept: object) -> None:
    if not isinstance(intercept, Prior):
        raise TypeError(f"{owner} intercept must be a bayes_ubpr.priors.Prior; got {describe_value(intercept)}")


def _known(factor: FactorLike) -> Factor:
    """Return the Factor of a name or Factor, with its kind and reference scale known."""
    resolved = as_factors([factor])[0]
    if resolved.kind is None or resolved.scale is None:
        raise ValueError(
            f'Factor "{resolved.name}" has no {"kind" if resolved.kind is None else "reference scale"} yet: '
            "fit() reads it off the data; to describe priors before fitting, pass "
            f'Factor("{resolved.name}", kind=..., scale=...) or call Factor.resolve(values).'
        )
    return resolved


def reference_sd(factor: FactorLike) -> float:
    """Return the reference SD of ``factor``, the scale of its per-SD priors.

    For the paper's catalogue it is the SD in the paper's satisfactory group
    (Table 4), sqrt(q (1 - q)) for a binary factor with a proportion q of 1s;
    for any other factor its :attr:`Factor.scale` (by default the SD of the
    fitted data).

    Examples
    --------
    >>> from bayes_ubpr.priors import reference_sd
    >>> reference_sd("cement_volume_ml")
    0.46
    """
    return float(_known(factor).scale)  # type: ignore[arg-type]


def default_prior(factor: FactorLike) -> Prior:
    """Return the documented default prior for ``factor``'s log odds ratio.

    Normal(0, 1) per unit for binary factors, per reference SD otherwise;
    for ``"intercept"``, Normal(0, 2.5) on the log odds at the factors' sample
    mean. See the module docstring for the justification and, for the
    paper's six factors, the odds-ratio range it implies per unit and per SD.

    Examples
    --------
    >>> from bayes_ubpr.priors import default_prior
    >>> default_prior("n_fractures")
    Prior(family='normal', mu=0.0, sigma=1.0, nu=None, per='sd')
    """
    if factor == INTERCEPT:
        return Prior("normal", 0.0, WIDE_SCALE)
    per: Per = "unit" if _known(factor).kind == "binary" else "sd"
    return Prior("normal", 0.0, DEFAULT_SCALE, per=per)


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
    and 134 per unit or SD (the module docstring gives the range per unit of
    each of the paper's factors). In the paper's 60:60 design it shrinks too
    little: population risks come out too spread and too high, and 95%
    intervals cover the truth in 91-95% of replicates (docs/calibration.md).

    Examples
    --------
    >>> from bayes_ubpr.priors import wide_priors
    >>> wide_priors(["cement_volume_ml"])["cement_volume_ml"]
    Prior(family='normal', mu=0.0, sigma=2.5, nu=None, per='sd')
    """
    return {_known(f).name: replace(default_prior(f), sigma=WIDE_SCALE) for f in factors}


def sceptical_priors(factors: Sequence[FactorLike]) -> dict[str, Prior]:
    """Sceptical priors centred on OR 1 (Spiegelhalter et al. 1994).

    Normal(0, ln 3 / 1.96) on each log odds ratio, per unit for binary factors
    and per reference SD otherwise: 95% prior probability that the odds ratio
    lies between 1/3 and 3, so the paper's ORs of 3 to 4 for binary factors
    must be earned by the data. Per unit of each of the paper's factors the
    range differs (e.g. OR 0.0123 to 81 per T-score unit of BMD, whose
    reference SD is 0.25): the module docstring lists all six.

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
    return {_known(f).name: replace(default_prior(f), sigma=SCEPTICAL_SCALE) for f in factors}


def paper_priors(factors: Sequence[FactorLike], *, inflation: float = PAPER_INFLATION) -> dict[str, Prior]:
    """Literature-informed priors centred on the paper's Table 5.

    Each Table 5 factor gets Normal(B, (SE * inflation)^2) per unit; other
    factors keep :func:`default_prior`. The module docstring lists the
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


@dataclass(frozen=True)
class Horseshoe:
    """Regularised horseshoe over all factors (Piironen & Vehtari 2017).

    On each log odds ratio per sample SD of its factor::

        beta_j = z_j * tau * lambda_tilde_j,   z_j ~ N(0, 1)
        lambda_j ~ HalfCauchy(1),  tau ~ HalfStudentT(1, tau0)
        lambda_tilde_j^2 = c^2 lambda_j^2 / (c^2 + tau^2 lambda_j^2)
        c^2 ~ InvGamma(slab_df / 2, slab_df * slab_scale^2 / 2)
        tau0 = p0 / (D - p0) * 2 / sqrt(n)

    with D factors, n patients and 2 the pseudo-SD of a logistic outcome at
    prevalence 1/2 (tau0 follows Piironen & Vehtari's rule of thumb).

    Parameters
    ----------
    expected_nonzero : float, default 6
        Prior guess p0 of how many factors matter (the paper reports six).
    slab_scale : float, default 2.5
        Scale of large effects that escape shrinkage (per SD).
    slab_df : float, default 4
        Degrees of freedom of the slab.
    intercept : Prior, default Normal(0, 2.5)
        Prior on the log odds at the factors' sample mean.

    References
    ----------
    Piironen J, Vehtari A (2017). Sparsity information and regularization in
    the horseshoe and other shrinkage priors. Electronic Journal of
    Statistics 11(2):5018-5051. doi:10.1214/17-EJS1337SI

    Examples
    --------
    >>> from bayes_ubpr.priors import Horseshoe, describe_priors
    >>> prior = Horseshoe(expected_nonzero=3)
    >>> round(prior.global_scale(n_factors=15, n_obs=120), 3)  # tau0 = 3/12 * 2/sqrt(120)
    0.046
    >>> describe_priors(["fascia_injury", "age"], prior)["family"].tolist()
    ['normal', 'horseshoe', 'horseshoe']
    """

    expected_nonzero: float = 6.0
    slab_scale: float = WIDE_SCALE
    slab_df: float = 4.0
    intercept: Prior = field(default_factory=lambda: default_prior(INTERCEPT))

    def __post_init__(self) -> None:
        for name in ("expected_nonzero", "slab_scale", "slab_df"):
            value = getattr(self, name)
            if not is_finite_real(value) or value <= 0:
                raise ValueError(f"Horseshoe {name} must be a positive number; got {value!r}")
        _check_intercept("Horseshoe", self.intercept)

    def global_scale(self, n_factors: int, n_obs: int) -> float:
        """Return tau0, the scale of the global shrinkage parameter."""
        p0 = min(self.expected_nonzero, n_factors - 0.5)
        return p0 / (n_factors - p0) * 2.0 / math.sqrt(n_obs)

    def data_values(self, factors: Sequence[Factor], n_obs: int) -> dict[str, np.ndarray]:
        """Return the data containers of the model: tau0 depends on the number of patients."""
        return {"tau0": np.array(self.global_scale(len(factors), n_obs))}

    def coords(self, factors: Sequence[Factor]) -> dict[str, list[Hashable]]:
        """Extra model dimensions (none)."""
        return {}

    def build(self, data: Mapping[str, Any], *, centred: bool) -> pt.TensorVariable:
        """Create ``beta_std`` (dim ``factor``) inside a model context.

        The horseshoe stays non-centred whatever ``centred`` says: its null
        coefficients' tiny scales make a centred funnel.
        """
        import pymc as pm
        import pytensor.tensor as pt

        local = _half_cauchy("local_scale", 1.0, dims="factor")
        tau = _half_cauchy("global_scale", data["tau0"])
        slab2 = pm.InverseGamma("slab_variance", alpha=self.slab_df / 2, beta=self.slab_df * self.slab_scale**2 / 2)
        local_tilde = pt.sqrt(slab2 * local**2 / (slab2 + tau**2 * local**2))
        z = pm.Normal("z", 0.0, 1.0, dims="factor")
        return pm.Deterministic("beta_std", z * tau * local_tilde, dims="factor")

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form, for JSON in ``InferenceData.attrs``."""
        return {**asdict(self), "intercept": self.intercept.to_dict()}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Horseshoe:
        """Inverse of :meth:`to_dict`; raises ValueError or TypeError naming a missing, unknown or invalid key."""
        stored = check_keys(values, [f.name for f in fields(cls)], what="horseshoe priors", required=("intercept",))
        return cls(**{**stored, "intercept": Prior.from_dict(stored["intercept"], what="horseshoe intercept")})  # type: ignore[arg-type]


def _half_cauchy(name: str, scale: Any, **kwargs: Any) -> pt.TensorVariable:
    """Half-Cauchy as |N(0, 1)| * sqrt(InvGamma(1/2, 1/2)): same law, far easier geometry for NUTS."""
    import pymc as pm
    import pytensor.tensor as pt

    normal = pm.HalfNormal(f"{name}_normal", 1.0, **kwargs)
    inverse_gamma = pm.InverseGamma(f"{name}_inverse_gamma", 0.5, 0.5, **kwargs)
    return pm.Deterministic(name, scale * normal * pt.sqrt(inverse_gamma), **kwargs)


@dataclass(frozen=True)
class DomainShrinkage:
    """Partial pooling of effect sizes within clinical domains.

    Factors in the same domain (bone quality, surgical technique, soft
    tissue, psychological/comorbidity, demographics; see
    :data:`bayes_ubpr.paper.DOMAINS`) share a scale, and domain scales are
    partially pooled around a global one, non-centred::

        beta_j = z_j * tau_d(j),   z_j ~ N(0, 1)          (per sample SD)
        log tau_d = log tau + omega * eta_d,  eta_d ~ N(0, 1)
        tau ~ HalfNormal(global_scale),  omega ~ HalfNormal(domain_spread)

    A domain whose factors all look null gets a small scale and shrinks them
    together; a domain with real effects keeps them.

    Parameters
    ----------
    global_scale : float, default 1.0
        Scale of the half-normal prior on the global effect scale (per SD).
    domain_spread : float, default 0.5
        Scale of the half-normal prior on how much domain scales differ (log scale).
    domains : mapping of str to tuple of str, optional
        Factors of each domain; it must then name every factor of the model.
        Default: each factor's own :attr:`Factor.domain <bayes_ubpr.factors.Factor.domain>`,
        which for the paper's factors is its clinical grouping
        (:data:`bayes_ubpr.paper.DOMAINS`).
    intercept : Prior, default Normal(0, 2.5)
        Prior on the log odds at the factors' sample mean.

    Examples
    --------
    >>> from bayes_ubpr.priors import DomainShrinkage, resolve_priors
    >>> prior = DomainShrinkage(domain_spread=0.25)
    >>> prior.domain_of(["fascia_injury", "n_fractures", "cement_volume_ml"])
    ['soft_tissue', 'surgical_technique', 'surgical_technique']
    >>> resolve_priors(["fascia_injury", "n_fractures"], prior).kind
    'domains'
    """

    global_scale: float = 1.0
    domain_spread: float = 0.5
    domains: Mapping[str, tuple[str, ...]] | None = None
    intercept: Prior = field(default_factory=lambda: default_prior(INTERCEPT))

    def __post_init__(self) -> None:
        for name in ("global_scale", "domain_spread"):
            value = getattr(self, name)
            if not is_finite_real(value) or value <= 0:
                raise ValueError(f"DomainShrinkage {name} must be a positive number; got {value!r}")
        _check_intercept("DomainShrinkage", self.intercept)
        if self.domains is not None and not (
            isinstance(self.domains, Mapping)
            and all(
                isinstance(domain, str) and not isinstance(members, str) and isinstance(members, Sequence)
                for domain, members in self.domains.items()
            )
            and all(isinstance(member, str) for members in self.domains.values() for member in members)
        ):
            raise TypeError(
                "DomainShrinkage domains must map each domain name to a sequence of factor names; "
                f"got {describe_value(self.domains)}"
            )

    def domain_of(self, factors: Sequence[FactorLike]) -> list[str]:
        """Domain name of each factor, in order: from ``domains`` if given, else the Factor's own ``domain``."""
        named = as_factors(factors)
        if self.domains is None:
            lookup = {f.name: f.domain for f in named if f.domain is not None}
            how = "give each Factor a domain, or DomainShrinkage(domains=...)"
        else:
            lookup = {f: d for d, members in self.domains.items() for f in members}
            how = "add them to DomainShrinkage(domains=...)"
        missing = [f.name for f in named if f.name not in lookup]
        if missing:
            raise ValueError(f"DomainShrinkage has no domain for factor(s) {', '.join(missing)}: {how}")
        return [str(lookup[f.name]) for f in named]

    def data_values(self, factors: Sequence[Factor], n_obs: int) -> dict[str, np.ndarray]:
        """Return the data containers of the model: each factor's domain index."""
        names = self.domain_of(factors)
        return {"domain_idx": pd.factorize(pd.Series(names), sort=False)[0].astype(np.int64)}

    def coords(self, factors: Sequence[Factor]) -> dict[str, list[Hashable]]:
        """Extra model dimension ``domain``, in order of first appearance."""
        return {"domain": list(dict.fromkeys(self.domain_of(factors)))}

    def build(self, data: Mapping[str, Any], *, centred: bool) -> pt.TensorVariable:
        """Create ``beta_std`` (dim ``factor``) inside a model context.

        A non-centred coefficient suits weak data, a centred one strong data
        (Betancourt & Girolami 2015); ``centred`` says which.
        """
        import pymc as pm
        import pytensor.tensor as pt

        tau = pm.HalfNormal("global_scale", self.global_scale)
        spread = pm.HalfNormal("domain_spread", self.domain_spread)
        eta = pm.Normal("domain_z", 0.0, 1.0, dims="domain")
        domain_scale = pm.Deterministic("domain_scale", tau * pt.exp(spread * eta), dims="domain")
        if centred:
            return pm.Normal("beta_std", 0.0, domain_scale[data["domain_idx"]], dims="factor")
        z = pm.Normal("z", 0.0, 1.0, dims="factor")
        return pm.Deterministic("beta_std", z * domain_scale[data["domain_idx"]], dims="factor")

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form, for JSON in ``InferenceData.attrs``."""
        domains = None if self.domains is None else {d: list(members) for d, members in self.domains.items()}
        return {
            "global_scale": self.global_scale,
            "domain_spread": self.domain_spread,
            "domains": domains,
            "intercept": self.intercept.to_dict(),
        }

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> DomainShrinkage:
        """Inverse of :meth:`to_dict`; raises ValueError or TypeError naming a missing, unknown or invalid key."""
        keys = [f.name for f in fields(cls)]
        stored = check_keys(values, keys, what="domains priors", required=keys)
        domains = stored["domains"]
        if isinstance(domains, Mapping):
            domains = {d: tuple(members) if isinstance(members, list) else members for d, members in domains.items()}
        intercept = Prior.from_dict(stored["intercept"], what="domains intercept")  # type: ignore[arg-type]
        return cls(stored["global_scale"], stored["domain_spread"], domains, intercept)  # type: ignore[arg-type]


@dataclass(frozen=True)
class PopulationPrevalence:
    """Beta prior on the population prevalence, for the case-control correction.

    Parameters
    ----------
    alpha, beta : float
        Beta parameters (> 0). ``PopulationPrevalence.from_counts(60, 1316)``
        gives Beta(60.5, 1256.5), the Jeffreys posterior of 60 cases in 1,316.

    Examples
    --------
    >>> from bayes_ubpr.priors import PopulationPrevalence
    >>> prevalence = PopulationPrevalence.from_counts(60, 1316)
    >>> prevalence
    PopulationPrevalence(alpha=60.5, beta=1256.5)
    >>> round(prevalence.mean, 4)
    0.0459
    """

    alpha: float
    beta: float

    def __post_init__(self) -> None:
        for name in ("alpha", "beta"):
            value = getattr(self, name)
            if not is_finite_real(value) or value <= 0:
                raise ValueError(f"PopulationPrevalence {name} must be a positive number; got {value!r}")

    @classmethod
    def from_counts(cls, cases: int, total: int) -> PopulationPrevalence:
        """Jeffreys posterior Beta(cases + 1/2, total - cases + 1/2)."""
        if not 0 <= cases <= total or total <= 0:
            raise ValueError(f"need 0 <= cases <= total and total > 0; got cases={cases}, total={total}")
        return cls(cases + 0.5, total - cases + 0.5)

    @property
    def mean(self) -> float:
        """Prior mean of the prevalence."""
        return self.alpha / (self.alpha + self.beta)


PAPER_PREVALENCE = PopulationPrevalence.from_counts(N_CASES, N_PATIENTS)
"""Beta(60.5, 1256.5): the paper's 60 cases in 1,316 patients."""

PriorsLike: TypeAlias = str | Mapping[str, Prior] | Horseshoe | DomainShrinkage | None

Structure: TypeAlias = Horseshoe | DomainShrinkage

_STRUCTURES: dict[str, type[Horseshoe] | type[DomainShrinkage]] = {"horseshoe": Horseshoe, "domains": DomainShrinkage}
"""Joint shrinkage priors by name: a new structure is a class with ``data_values``, ``coords``,
``build``, ``to_dict`` and ``from_dict`` (as :class:`Horseshoe`), registered here."""


def _structure_name(structure: Structure) -> str:
    """Return the name under which ``structure``'s class is registered ("horseshoe", "domains")."""
    return next(name for name, cls in _STRUCTURES.items() if isinstance(structure, cls))


PRESETS = ("default", "wide", "paper", "sceptical", *_STRUCTURES)
"""Named prior presets accepted wherever ``priors`` is."""


@dataclass(frozen=True)
class PriorSpec:
    """Fully resolved priors of a model: what :func:`~bayes_ubpr.fit` will use.

    Attributes
    ----------
    name : str
        Preset name, or "custom" for a user mapping.
    intercept : Prior
        Prior on the log odds at the factors' sample mean.
    coefficients : dict of str to Prior
        Independent per-unit priors per factor (empty for shrinkage structures).
    structure : Horseshoe, DomainShrinkage or None
        Joint shrinkage prior, if any.
    factors : tuple of Factor
        The factors, in model order, with their kinds and reference scales.

    Examples
    --------
    >>> from bayes_ubpr.priors import resolve_priors
    >>> spec = resolve_priors(["fascia_injury", "cement_volume_ml"])
    >>> spec.name, spec.kind
    ('default', 'independent')
    >>> round(spec.coefficients["cement_volume_ml"].sigma, 2)  # 1 per SD of 0.46 mL, per mL
    2.17
    >>> sorted(spec.to_dict())
    ['coefficients', 'intercept', 'kind', 'name', 'structure']
    """

    name: str
    intercept: Prior
    coefficients: dict[str, Prior]
    structure: Structure | None = None
    factors: tuple[Factor, ...] = ()

    @property
    def kind(self) -> str:
        """Return "independent" or the structure's name ("horseshoe", "domains")."""
        if self.structure is None:
            return "independent"
        return _structure_name(self.structure)

    def to_dict(self) -> dict[str, object]:
        """Plain-Python form, for ``InferenceData.attrs``."""
        return {
            "name": self.name,
            "kind": self.kind,
            "intercept": self.intercept.to_dict(),
            "coefficients": {k: v.to_dict() for k, v in self.coefficients.items()},
            "structure": self.structure.to_dict() if self.structure is not None else None,
        }

    def single_family(self) -> str | None:
        """Return the one family of every independent prior, if there is one (its parameters are then data)."""
        families = {p.family for p in self.coefficients.values()}
        return families.pop() if self.structure is None and len(families) == 1 else None

    def data_values(self, n_obs: int) -> dict[str, np.ndarray]:
        """Prior parameters a model holds as data, so that one compiled model serves a grid of priors."""
        if self.structure is not None:
            return self.structure.data_values(self.factors, n_obs)
        family = self.single_family()
        if family is None:
            return {}
        priors = list(self.coefficients.values())
        values = {"prior_mu": np.array([p.mu for p in priors]), "prior_sigma": np.array([p.sigma for p in priors])}
        if family == "student_t":
            values["prior_nu"] = np.array([p.nu for p in priors], dtype=float)
        return values

    def coords(self) -> dict[str, list[Hashable]]:
        """Model dimensions the priors add (a shrinkage structure's groups)."""
        return self.structure.coords(self.factors) if self.structure is not None else {}

    def build_coefficients(self, data: Mapping[str, Any], *, centred: bool) -> pt.TensorVariable:
        """Create ``beta_std``, the log odds ratios per sample SD (dim ``factor``), in a model context.

        ``data`` holds the model's data containers: ``x_scale`` (sample SDs),
        which turns per-unit priors into per-SD ones, and what
        :meth:`data_values` put there.
        """
        if self.structure is not None:
            return self.structure.build(data, centred=centred)
        x_scale = data["x_scale"]
        family = self.single_family()
        if family is not None:
            nu = data.get("prior_nu")
            build = _FAMILY_BUILDERS[family]
            return build("beta_std", data["prior_mu"] * x_scale, data["prior_sigma"] * x_scale, nu, dims="factor")
        import pymc as pm
        import pytensor.tensor as pt

        parts = [
            prior.build(f"beta_std_{f}", scale=x_scale[j]) for j, (f, prior) in enumerate(self.coefficients.items())
        ]
        return pm.Deterministic("beta_std", pt.stack(parts), dims="factor")

    def compile_key(self) -> tuple:
        """Return what must be compiled anew when it changes (the rest is data)."""
        intercept = self.intercept
        common = (intercept.family, intercept.mu, intercept.sigma, intercept.nu)
        if self.structure is not None:
            return (self.kind, repr(self.structure.to_dict()), common)
        family = self.single_family()
        if family is not None:
            return ("independent", family, common)
        return ("independent", tuple((p.family, p.mu, p.sigma, p.nu) for p in self.coefficients.values()), common)


def priors_to_dict(priors: PriorsLike) -> dict[str, Any]:
    """Return a ``priors`` argument as plain Python (JSON), exactly as given; :func:`priors_from_dict` inverts it.

    Examples
    --------
    >>> from bayes_ubpr.priors import Horseshoe, priors_from_dict, priors_to_dict
    >>> priors_from_dict(priors_to_dict(Horseshoe(expected_nonzero=2))) == Horseshoe(expected_nonzero=2)
    True
    """
    if priors is None:
        return {"preset": "default"}
    if isinstance(priors, str):
        return {"preset": priors}
    if isinstance(priors, (Horseshoe, DomainShrinkage)):
        return {_structure_name(priors): priors.to_dict()}
    return {"mapping": {key: prior.to_dict() for key, prior in priors.items()}}


def priors_from_dict(values: Mapping[str, Any]) -> PriorsLike:
    """Inverse of :func:`priors_to_dict`.

    Examples
    --------
    >>> from bayes_ubpr.priors import Prior, priors_from_dict
    >>> priors_from_dict({"mapping": {"depression": {"family": "normal", "mu": 0.0, "sigma": 1.0}}})
    {'depression': Prior(family='normal', mu=0.0, sigma=1.0, nu=None, per='unit')}
    """
    kinds = ("preset", "mapping", *_STRUCTURES)
    if not isinstance(values, Mapping):
        raise TypeError(
            f"stored priors must be a table with one key ({', '.join(kinds)}); got {describe_value(values)}"
        )
    if len(values) != 1:
        raise ValueError(f"stored priors must have one key ({', '.join(kinds)}); got {list(values)}")
    ((kind, content),) = values.items()
    check_choice(kind, kinds, name="stored priors kind")
    if kind == "preset":
        check_text(content, name="stored priors preset")
        return content
    if kind == "mapping":
        if not isinstance(content, Mapping):
            raise TypeError(f"stored priors mapping must be a table of priors by factor; got {describe_value(content)}")
        return {key: Prior.from_dict(prior, what=f'stored prior of "{key}"') for key, prior in content.items()}
    return _STRUCTURES[kind].from_dict(content)


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
    known = tuple(_known(f) for f in as_factors(factors))
    names = [f.name for f in known]
    check_priors_argument(priors, names)
    if isinstance(priors, str):
        presets: dict[str, Callable[[], PriorsLike]] = {
            "default": dict,
            "wide": lambda: wide_priors(known),
            "paper": lambda: paper_priors(known),
            "sceptical": lambda: sceptical_priors(known),
            **_STRUCTURES,
        }
        return replace(resolve_priors(known, presets[priors]()), name=priors)
    if isinstance(priors, (Horseshoe, DomainShrinkage)):
        if isinstance(priors, DomainShrinkage):
            priors.domain_of(known)
        return PriorSpec(_structure_name(priors), priors.intercept, {}, priors, known)
    given = dict(priors or {})
    coefficients = {f.name: given.get(f.name, default_prior(f)).per_unit(float(f.scale)) for f in known}  # type: ignore[arg-type]
    name = "custom" if given else "default"
    return PriorSpec(name, given.get(INTERCEPT, default_prior(INTERCEPT)), coefficients, None, known)


def describe_priors(factors: Sequence[FactorLike], priors: PriorsLike = None) -> pd.DataFrame:
    """Table of the priors a model on ``factors`` will use, per unit and per reference SD of each factor.

    Parameters
    ----------
    factors : sequence of str or Factor
        Factors in the model (with known kinds and scales, see :func:`resolve_priors`).
    priors : str, mapping, Horseshoe, DomainShrinkage or None
        As for :func:`resolve_priors`.

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``parameter``, ``family``, ``mu``, ``sigma``,
        ``nu`` (per unit of the factor), ``source``, ``unit``,
        ``reference_sd``, the central 95% prior interval of the odds ratio
        per unit, ``or_lower`` and ``or_upper``, and ``statement``, the same
        in words per unit and per reference SD (normal priors; NaN and an
        empty statement otherwise). Per-SD and per-unit scales read alike but
        are not: for cement volume (SD 0.46 mL) the default's 95% range per
        mL is far wider than per SD. For a shrinkage structure the factor
        rows name it in ``family`` and leave the numbers NaN: use
        :func:`bayes_ubpr.prior_predictive` to see the odds ratios it implies.
        ``.attrs["preset"]`` names the preset.

    Examples
    --------
    >>> from bayes_ubpr.priors import describe_priors
    >>> describe_priors(["fascia_injury"])[["parameter", "sigma"]]
           parameter  sigma
    0      intercept    2.5
    1  fascia_injury    1.0
    >>> print(describe_priors(["bmd_tscore_abs"], "sceptical")["statement"].iloc[1])
    95% prior mass on OR 0.0123 to 81 per 1 T-score unit (OR 0.333 to 3 per SD of 0.25)
    """
    spec = resolve_priors(factors, priors)
    user_keys = set(priors) if isinstance(priors, Mapping) else set()
    source = spec.name if spec.name != "custom" else "default"
    rows = [_prior_row(INTERCEPT, spec.intercept, "user" if INTERCEPT in user_keys else source)]
    for factor in spec.factors:
        if spec.structure is None:
            row = _prior_row(
                factor.name, spec.coefficients[factor.name], "user" if factor.name in user_keys else source
            )
            row.update(_per_sd_statement(spec.coefficients[factor.name], factor))
            rows.append(row)
        else:
            rows.append({"parameter": factor.name, "family": spec.kind, "source": spec.name, "unit": factor.unit})
    columns = ["parameter", "family", "mu", "sigma", "nu", "source", "unit", "reference_sd"]
    table = pd.DataFrame(rows, columns=[*columns, "or_lower", "or_upper", "statement"])
    table["statement"] = table["statement"].astype(object).where(table["statement"].notna(), "")
    table.attrs["preset"] = spec.name
    return table


def _per_sd_statement(prior: Prior, factor: Factor) -> dict[str, object]:
    """Return the unit, reference SD and the prior's 95% OR range in words, per unit and per SD."""
    row: dict[str, object] = {"unit": factor.unit, "reference_sd": factor.scale, "statement": ""}
    if prior.family == "normal":
        per_sd = replace(prior, mu=prior.mu * float(factor.scale), sigma=prior.sigma * float(factor.scale))  # type: ignore[arg-type]
        low, high = _or_range(prior)
        low_sd, high_sd = _or_range(per_sd)
        row["statement"] = (
            f"95% prior mass on OR {low:.3g} to {high:.3g} per {factor.unit} "
            f"(OR {low_sd:.3g} to {high_sd:.3g} per SD of {factor.scale:.3g})"
        )
    return row


def _or_range(prior: Prior) -> tuple[float, float]:
    half_width = 1.959963984540054 * prior.sigma
    return _exp(prior.mu - half_width), _exp(prior.mu + half_width)


def _prior_row(name: str, prior: Prior, source: str) -> dict[str, object]:
    low, high = _or_range(prior) if prior.family == "normal" else (math.nan, math.nan)
    return {
        "parameter": name,
        "family": prior.family,
        "mu": prior.mu,
        "sigma": prior.sigma,
        "nu": prior.nu,
        "source": source,
        "or_lower": low,
        "or_upper": high,
    }
