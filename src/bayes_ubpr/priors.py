"""Prior specifications for the log odds ratio of each risk factor.

A prior is data: a small, immutable, self-checking :class:`Prior` per factor,
collected in a ``{factor_name: Prior}`` mapping. :func:`resolve_priors` fills in
the documented default for every factor the user did not name and converts
per-SD priors to the per-unit scale on which the model works.

The default (:func:`default_prior`)
-----------------------------------
Normal(0, 2.5) on the log odds ratio, per unit for a binary factor (present vs
absent) and per standard deviation for a continuous or count factor, the SD
being that of the paper's satisfactory group (Table 4), a fixed reference that
does not depend on the data being fitted. It puts 95% of its mass on odds
ratios between 1/134 and 134 (exp(1.96 * 2.5) = 134): every effect the paper
reports, and any effect an epidemiologist would call large, lies in its bulk,
while the absurd odds ratios that separation produces in a 60:60 sample do
not. The scale 2.5 follows the weakly informative convention of Gelman et al.
(2008) for logistic regression coefficients.

References
----------
Gelman A, Jakulin A, Pittau MG, Su YS (2008). A weakly informative default
prior distribution for logistic and other regression models. Annals of
Applied Statistics 2(4):1360-1383. doi:10.1214/08-AOAS191
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Literal, TypeAlias

import pandas as pd

from bayes_ubpr._validate import check_choice, check_names
from bayes_ubpr.paper import DOMAINS, N_CASES, N_PATIENTS, RISK_FACTORS, table4, table5

__all__ = [
    "DEFAULT_SCALE",
    "INTERCEPT",
    "PAPER_INFLATION",
    "PRESETS",
    "SCEPTICAL_SCALE",
    "DomainShrinkage",
    "Horseshoe",
    "PopulationPrevalence",
    "Prior",
    "PriorSpec",
    "default_prior",
    "describe_priors",
    "paper_priors",
    "reference_sd",
    "resolve_priors",
    "sceptical_priors",
]

Family = Literal["normal", "student_t", "laplace"]
Per = Literal["unit", "sd"]

FAMILIES: tuple[str, ...] = ("normal", "student_t", "laplace")
DEFAULT_SCALE = 2.5
"""Scale of the default normal prior on each log odds ratio (Gelman et al. 2008)."""

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
        if not _is_finite_number(self.mu):
            raise ValueError(f"Prior mu must be a finite number; got {self.mu!r}")
        if not _is_finite_number(self.sigma) or self.sigma <= 0:
            raise ValueError(f"Prior sigma must be a positive finite number; got {self.sigma!r}")
        if self.family == "student_t":
            if self.nu is None or not _is_finite_number(self.nu) or self.nu <= 0:
                raise ValueError(f"A student_t Prior needs nu > 0 (degrees of freedom); got nu={self.nu!r}")
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


def _exp(x: float) -> float:
    """Exp that saturates at 0 and inf instead of overflowing, for very wide priors."""
    return math.exp(x) if x < 709.0 else math.inf


def _is_finite_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def reference_sd(factor: str) -> float:
    """SD of ``factor`` in the paper's satisfactory group, the scale of per-SD priors.

    For binary factors it is sqrt(q (1 - q)) with q the group's proportion of 1s.

    Examples
    --------
    >>> from bayes_ubpr.priors import reference_sd
    >>> reference_sd("cement_volume_ml")
    0.46
    """
    check_names([factor], RISK_FACTORS, what="risk factor")
    row = table4().set_index("factor").loc[factor]
    if row["kind"] == "binary":
        q = row["satisfactory_n1"] / (row["satisfactory_n1"] + row["satisfactory_n0"])
        return float(math.sqrt(q * (1 - q)))
    return float(row["satisfactory_sd"])


def default_prior(factor: str) -> Prior:
    """Return the documented default prior for ``factor``'s log odds ratio.

    Normal(0, 2.5) per unit for binary factors, per reference SD otherwise;
    for ``"intercept"``, Normal(0, 2.5) on the log odds at the factors' sample
    mean. See the module docstring for the justification.

    Examples
    --------
    >>> from bayes_ubpr.priors import default_prior
    >>> default_prior("n_fractures")
    Prior(family='normal', mu=0.0, sigma=2.5, nu=None, per='sd')
    """
    if factor == INTERCEPT:
        return Prior("normal", 0.0, DEFAULT_SCALE)
    check_names([factor], RISK_FACTORS, what="risk factor")
    per: Per = "unit" if RISK_FACTORS[factor].kind == "binary" else "sd"
    return Prior("normal", 0.0, DEFAULT_SCALE, per=per)


SCEPTICAL_SCALE = math.log(3.0) / 1.959963984540054
"""Scale of the sceptical prior: 95% of its mass on odds ratios between 1/3 and 3."""

PAPER_INFLATION = 2.0
"""Default factor by which ``priors="paper"`` widens Table 5's standard errors.

A power prior raises the historical likelihood to a power a0 in [0, 1]; for a
normal likelihood N(B, SE^2) that is N(B, SE^2 / a0). Inflating SE by 2 is
a0 = 0.25: the paper's 60:60 study counts as a quarter of its size, a
discount for a different hospital, era and case mix (Ibrahim & Chen 2000)."""


def sceptical_priors(factors: Sequence[str]) -> dict[str, Prior]:
    """Sceptical priors centred on OR 1 (Spiegelhalter et al. 1994).

    Normal(0, ln 3 / 1.96) on each log odds ratio, per unit for binary factors
    and per reference SD otherwise: 95% prior probability that the odds ratio
    lies between 1/3 and 3, so the paper's ORs of 3 to 4 for binary factors
    must be earned by the data.

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
    return {f: replace(default_prior(f), sigma=SCEPTICAL_SCALE) for f in factors}


def paper_priors(factors: Sequence[str], *, inflation: float = PAPER_INFLATION) -> dict[str, Prior]:
    """Literature-informed priors centred on the paper's Table 5.

    Each Table 5 factor gets Normal(B, (SE * inflation)^2) per unit; other
    factors keep :func:`default_prior`.

    Parameters
    ----------
    factors : sequence of str
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
    if not _is_finite_number(inflation) or inflation < 1:
        raise ValueError(f"inflation must be a number >= 1 (1 = take the paper at face value); got {inflation!r}")
    published = table5().set_index("factor")
    priors = {}
    for f in factors:
        if f in published.index:
            priors[f] = Prior("normal", float(published.loc[f, "B"]), float(published.loc[f, "SE"]) * inflation)
        else:
            priors[f] = default_prior(f)
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
    slab_scale: float = DEFAULT_SCALE
    slab_df: float = 4.0
    intercept: Prior = field(default_factory=lambda: default_prior(INTERCEPT))

    def __post_init__(self) -> None:
        for name in ("expected_nonzero", "slab_scale", "slab_df"):
            value = getattr(self, name)
            if not _is_finite_number(value) or value <= 0:
                raise ValueError(f"Horseshoe {name} must be a positive number; got {value!r}")

    def global_scale(self, n_factors: int, n_obs: int) -> float:
        """Return tau0, the scale of the global shrinkage parameter."""
        p0 = min(self.expected_nonzero, n_factors - 0.5)
        return p0 / (n_factors - p0) * 2.0 / math.sqrt(n_obs)


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
        Domain of each factor; defaults to the paper's clinical grouping.
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
    domains: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: dict(DOMAINS))
    intercept: Prior = field(default_factory=lambda: default_prior(INTERCEPT))

    def __post_init__(self) -> None:
        for name in ("global_scale", "domain_spread"):
            value = getattr(self, name)
            if not _is_finite_number(value) or value <= 0:
                raise ValueError(f"DomainShrinkage {name} must be a positive number; got {value!r}")

    def domain_of(self, factors: Sequence[str]) -> list[str]:
        """Domain name of each factor, in order."""
        lookup = {f: d for d, members in self.domains.items() for f in members}
        missing = [f for f in factors if f not in lookup]
        if missing:
            raise ValueError(f"DomainShrinkage has no domain for factor(s) {', '.join(missing)}")
        return [lookup[f] for f in factors]


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
            if not _is_finite_number(value) or value <= 0:
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

PRESETS = ("default", "paper", "sceptical", "horseshoe", "domains")
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

    Examples
    --------
    >>> from bayes_ubpr.priors import resolve_priors
    >>> spec = resolve_priors(["fascia_injury", "cement_volume_ml"])
    >>> spec.name, spec.kind
    ('default', 'independent')
    >>> round(spec.coefficients["cement_volume_ml"].sigma, 2)  # 2.5 per SD of 0.46 mL, per mL
    5.43
    >>> sorted(spec.to_dict())
    ['coefficients', 'intercept', 'kind', 'name', 'structure']
    """

    name: str
    intercept: Prior
    coefficients: dict[str, Prior]
    structure: Horseshoe | DomainShrinkage | None = None

    @property
    def kind(self) -> str:
        """Return "independent", "horseshoe" or "domains"."""
        if isinstance(self.structure, Horseshoe):
            return "horseshoe"
        if isinstance(self.structure, DomainShrinkage):
            return "domains"
        return "independent"

    def to_dict(self) -> dict[str, object]:
        """Plain-Python form, for ``InferenceData.attrs``."""
        structure = None
        if self.structure is not None:
            structure = {k: (v.to_dict() if isinstance(v, Prior) else v) for k, v in asdict(self.structure).items()}
        return {
            "name": self.name,
            "kind": self.kind,
            "intercept": self.intercept.to_dict(),
            "coefficients": {k: v.to_dict() for k, v in self.coefficients.items()},
            "structure": structure,
        }


def resolve_priors(factors: Sequence[str], priors: PriorsLike = None) -> PriorSpec:
    """Resolve a ``priors`` argument into the :class:`PriorSpec` a model uses.

    Parameters
    ----------
    factors : sequence of str
        Factors in the model.
    priors : str, mapping, Horseshoe, DomainShrinkage or None
        None or ``"default"``: :func:`default_prior` for every factor;
        ``"paper"``: :func:`paper_priors`; ``"sceptical"``:
        :func:`sceptical_priors`; ``"horseshoe"``: :class:`Horseshoe`;
        ``"domains"``: :class:`DomainShrinkage`; a mapping
        ``{factor: Prior}`` (and optionally ``"intercept"``) overriding the
        defaults; or a configured :class:`Horseshoe` / :class:`DomainShrinkage`.

    Returns
    -------
    PriorSpec
        Independent priors converted to per-unit scales, in factor order.

    Raises
    ------
    ValueError
        For an unknown preset or a key that is neither a model factor nor
        ``"intercept"``.
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
    factors = list(factors)
    check_names(factors, RISK_FACTORS, what="risk factor")
    if isinstance(priors, str):
        check_choice(priors, PRESETS, name="priors preset")
        presets: dict[str, PriorsLike] = {
            "default": {},
            "paper": paper_priors(factors),
            "sceptical": sceptical_priors(factors),
            "horseshoe": Horseshoe(),
            "domains": DomainShrinkage(),
        }
        spec = resolve_priors(factors, presets[priors])
        return replace(spec, name=priors)
    if isinstance(priors, (Horseshoe, DomainShrinkage)):
        if isinstance(priors, DomainShrinkage):
            priors.domain_of(factors)
        name = "horseshoe" if isinstance(priors, Horseshoe) else "domains"
        return PriorSpec(name, priors.intercept, {}, priors)
    if priors is not None and not isinstance(priors, Mapping):
        raise TypeError(
            "priors must be None, a preset name, a {factor: Prior} mapping, Horseshoe or DomainShrinkage; "
            f"got {type(priors).__name__}"
        )
    given = dict(priors or {})
    check_names(given, [INTERCEPT, *factors], what="prior key (a factor in the model or 'intercept')")
    for key, value in given.items():
        if not isinstance(value, Prior):
            raise TypeError(f'priors["{key}"] must be a bayes_ubpr.priors.Prior; got {type(value).__name__}')
    coefficients = {f: given.get(f, default_prior(f)).per_unit(reference_sd(f)) for f in factors}
    name = "custom" if given else "default"
    return PriorSpec(name, given.get(INTERCEPT, default_prior(INTERCEPT)), coefficients)


def describe_priors(factors: Sequence[str], priors: PriorsLike = None) -> pd.DataFrame:
    """Table of the priors a model on ``factors`` will use, per unit of each factor.

    Parameters
    ----------
    factors : sequence of str
        Factors in the model.
    priors : str, mapping, Horseshoe, DomainShrinkage or None
        As for :func:`resolve_priors`.

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``parameter``, ``family``, ``mu``, ``sigma``,
        ``nu``, ``source`` and the central 95% prior interval of the odds
        ratio, ``or_lower`` and ``or_upper`` (normal priors; NaN otherwise).
        For a shrinkage structure the factor rows name it in ``family`` and
        leave the numbers NaN: use :func:`bayes_ubpr.prior_predictive` to see
        the odds ratios it implies. ``.attrs["preset"]`` names the preset.

    Examples
    --------
    >>> from bayes_ubpr.priors import describe_priors
    >>> describe_priors(["fascia_injury"])[["parameter", "sigma"]]
           parameter  sigma
    0      intercept    2.5
    1  fascia_injury    2.5
    """
    spec = resolve_priors(factors, priors)
    user_keys = set(priors) if isinstance(priors, Mapping) else set()
    source = spec.name if spec.name != "custom" else "default"
    rows = [_prior_row(INTERCEPT, spec.intercept, "user" if INTERCEPT in user_keys else source)]
    for factor in factors:
        if spec.structure is None:
            rows.append(_prior_row(factor, spec.coefficients[factor], "user" if factor in user_keys else source))
        else:
            rows.append({"parameter": factor, "family": spec.kind, "source": spec.name})
    table = pd.DataFrame(rows, columns=["parameter", "family", "mu", "sigma", "nu", "source", "or_lower", "or_upper"])
    table.attrs["preset"] = spec.name
    return table


def _prior_row(name: str, prior: Prior, source: str) -> dict[str, object]:
    half_width = 1.959963984540054 * prior.sigma if prior.family == "normal" else math.nan
    return {
        "parameter": name,
        "family": prior.family,
        "mu": prior.mu,
        "sigma": prior.sigma,
        "nu": prior.nu,
        "source": source,
        "or_lower": _exp(prior.mu - half_width),
        "or_upper": _exp(prior.mu + half_width),
    }
