"""The prior on one log odds ratio: :class:`Prior`, its families and their PyMC construction, the default.

A family is a function that creates the PyMC variable from location, scale
and (Student-t) degrees of freedom, registered in :data:`FAMILY_BUILDERS`;
:class:`Prior` checks its name against that registry and builds through it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any, Literal

from bayes_ubpr._validate import check_choice, check_keys, is_finite_real, shown
from bayes_ubpr.data import FactorLike
from bayes_ubpr.priors._common import known_factor

if TYPE_CHECKING:  # PyMC is imported where a model is built, not when priors are described
    import pytensor.tensor as pt

__all__ = [
    "DEFAULT_SCALE",
    "FAMILIES",
    "FAMILY_BUILDERS",
    "INTERCEPT",
    "WIDE_SCALE",
    "Family",
    "Per",
    "Prior",
    "default_prior",
    "reference_sd",
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


FAMILY_BUILDERS: dict[str, Callable[..., pt.TensorVariable]] = {
    "normal": _normal,
    "student_t": _student_t,
    "laplace": _laplace,
}
"""How each family becomes a PyMC variable from location, scale and (Student-t) degrees of freedom.
A new family is one function here plus its name in :data:`Family`; nothing else dispatches on families."""

FAMILIES: tuple[str, ...] = tuple(FAMILY_BUILDERS)
DEFAULT_SCALE = 1.0
"""Scale of the default normal prior on each log odds ratio, chosen by calibration (docs/calibration.md)."""

WIDE_SCALE = 2.5
"""Scale of the ``"wide"`` prior (Gelman et al. 2008), the default of bayes_ubpr 0.1; also the intercept's
prior scale and the horseshoe's slab scale."""

INTERCEPT = "intercept"
"""Key under which a prior for the model's intercept may be given. It applies
to the log odds of the outcome (UBPR, in the paper's model) at the sample mean
of the factors."""


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
        return FAMILY_BUILDERS[self.family](name, self.mu * scale, self.sigma * scale, self.nu, **kwargs)


_PRIOR_FIELDS = tuple(f.name for f in fields(Prior))


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
    return float(known_factor(factor).scale)  # type: ignore[arg-type]


def default_prior(factor: FactorLike) -> Prior:
    """Return the documented default prior for ``factor``'s log odds ratio.

    Normal(0, 1) per unit for binary factors, per reference SD otherwise;
    for ``"intercept"``, Normal(0, 2.5) on the log odds at the factors' sample
    mean. See the :mod:`bayes_ubpr.priors` docstring for the justification and, for the
    paper's six factors, the odds-ratio range it implies per unit and per SD.

    Examples
    --------
    >>> from bayes_ubpr.priors import default_prior
    >>> default_prior("n_fractures")
    Prior(family='normal', mu=0.0, sigma=1.0, nu=None, per='sd')
    """
    if factor == INTERCEPT:
        return Prior("normal", 0.0, WIDE_SCALE)
    per: Per = "unit" if known_factor(factor).kind == "binary" else "sd"
    return Prior("normal", 0.0, DEFAULT_SCALE, per=per)
