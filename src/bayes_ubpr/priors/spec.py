""":class:`PriorSpec`, the fully resolved priors of a model, and how a model holds and builds them."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from bayes_ubpr.factors import Factor
from bayes_ubpr.priors.families import FAMILY_BUILDERS, Prior
from bayes_ubpr.priors.shrinkage import Structure, structure_name

if TYPE_CHECKING:  # PyMC is imported where a model is built, not when priors are described
    import pytensor.tensor as pt

__all__ = ["PriorSpec"]


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
        return structure_name(self.structure)

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
            build = FAMILY_BUILDERS[family]
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
