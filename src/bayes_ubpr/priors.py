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
from dataclasses import asdict, dataclass, replace
from typing import Literal

import pandas as pd

from bayes_ubpr._validate import check_choice, check_names
from bayes_ubpr.paper import RISK_FACTORS, table4

__all__ = [
    "DEFAULT_SCALE",
    "INTERCEPT",
    "Prior",
    "default_prior",
    "describe_priors",
    "reference_sd",
    "resolve_priors",
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


def resolve_priors(factors: Sequence[str], priors: Mapping[str, Prior] | None = None) -> dict[str, Prior]:
    """Complete and check a prior mapping for a model on ``factors``.

    Parameters
    ----------
    factors : sequence of str
        Factors in the model.
    priors : mapping of str to Prior, optional
        Overrides; keys are factor names or ``"intercept"``.

    Returns
    -------
    dict of str to Prior
        ``"intercept"`` first, then one entry per factor, all per unit.

    Raises
    ------
    ValueError
        If a key is neither a model factor nor ``"intercept"``.
    TypeError
        If a value is not a :class:`Prior`.
    """
    given = dict(priors or {})
    check_names(given, [INTERCEPT, *factors], what="prior key (a factor in the model or 'intercept')")
    for key, value in given.items():
        if not isinstance(value, Prior):
            raise TypeError(f'priors["{key}"] must be a bayes_ubpr.priors.Prior; got {type(value).__name__}')
    resolved = {INTERCEPT: given.get(INTERCEPT, default_prior(INTERCEPT))}
    for factor in factors:
        prior = given.get(factor, default_prior(factor))
        resolved[factor] = prior.per_unit(reference_sd(factor))
    return resolved


def describe_priors(factors: Sequence[str], priors: Mapping[str, Prior] | None = None) -> pd.DataFrame:
    """Table of the priors a model on ``factors`` will use, per unit of each factor.

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``parameter``, ``family``, ``mu``, ``sigma``,
        ``nu``, ``source`` ("default" or "user") and the central 95% prior
        interval of the odds ratio, ``or_lower`` and ``or_upper`` (normal
        family only; NaN for others).

    Examples
    --------
    >>> from bayes_ubpr.priors import describe_priors
    >>> describe_priors(["fascia_injury"])[["parameter", "sigma"]]
           parameter  sigma
    0      intercept    2.5
    1  fascia_injury    2.5
    """
    resolved = resolve_priors(factors, priors)
    rows = []
    for name, prior in resolved.items():
        half_width = 1.959963984540054 * prior.sigma if prior.family == "normal" else math.nan
        rows.append(
            {
                "parameter": name,
                "family": prior.family,
                "mu": prior.mu,
                "sigma": prior.sigma,
                "nu": prior.nu,
                "source": "user" if priors and name in priors else "default",
                "or_lower": _exp(prior.mu - half_width),
                "or_upper": _exp(prior.mu + half_width),
            }
        )
    return pd.DataFrame(rows)
