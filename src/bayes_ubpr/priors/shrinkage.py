"""Joint shrinkage priors over all factors: the regularised horseshoe and partial pooling within domains.

A structure is a frozen class with ``data_values``, ``coords``, ``build``,
``to_dict`` and ``from_dict`` and an ``intercept`` prior, registered by name in
:data:`STRUCTURES`; its name becomes a preset and is how fits store it.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd

from bayes_ubpr._validate import check_keys, describe_value, is_finite_real
from bayes_ubpr.data import FactorLike, as_factors
from bayes_ubpr.factors import Factor
from bayes_ubpr.priors.families import INTERCEPT, WIDE_SCALE, Prior, default_prior

if TYPE_CHECKING:  # PyMC is imported where a model is built, not when priors are described
    import pytensor.tensor as pt

__all__ = ["STRUCTURES", "DomainShrinkage", "Horseshoe", "Structure", "structure_name"]


def _check_intercept(owner: str, intercept: object) -> None:
    if not isinstance(intercept, Prior):
        raise TypeError(f"{owner} intercept must be a bayes_ubpr.priors.Prior; got {describe_value(intercept)}")


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


Structure: TypeAlias = Horseshoe | DomainShrinkage


STRUCTURES: dict[str, type[Horseshoe] | type[DomainShrinkage]] = {"horseshoe": Horseshoe, "domains": DomainShrinkage}
"""Joint shrinkage priors by name: a new structure is a class with ``data_values``, ``coords``,
``build``, ``to_dict`` and ``from_dict`` (as :class:`Horseshoe`), registered here."""


def structure_name(structure: Structure) -> str:
    """Return the name under which ``structure``'s class is registered ("horseshoe", "domains")."""
    return next(name for name, cls in STRUCTURES.items() if isinstance(structure, cls))
