"""Effects of the simulated world beyond one log odds ratio per unit: a categorical factor and a curve.

The paper's world gives every factor a log odds ratio per unit. An effect
takes over one variable of the world instead, with its own law among
controls and its own contribution to the log odds:

* :class:`LevelEffects`, a categorical factor with text levels (the fracture
  level, say) and a true odds ratio per level against the first level;
* :class:`QuadraticEffect`, a normal variable whose log odds is a quadratic
  curve, e.g. a U-shaped effect of the cement volume (too little cement
  fails to stabilise, too much leaks);
* :class:`CurveEffect`, the same with any smooth curve (a restricted cubic
  spline with stated knots, say), integrated numerically.

Each effect knows what :func:`~bayes_ubpr.simulate.true_model` needs to keep
the world exact: the cumulant generating function of its contribution under
the control law, log E[exp(f(X))], which enters the intercept, and the
tilted law, density proportional to the control law's times exp(f(x)), which
is the variable's law among cases. Both are in closed form for levels (a
finite sum) and for a quadratic (a normal law tilted by a quadratic is
normal), and computed on a fine grid for any other curve; controls follow the
stated law exactly, as the paper's factors follow Table 4.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast

import numpy as np
import pandas as pd
from scipy import special

from bayes_ubpr._validate import check_text, describe_value, is_finite_real
from bayes_ubpr.simulate.laws import NormalLaw, control_laws

__all__ = ["CurveEffect", "Effect", "LevelEffects", "QuadraticEffect"]


@dataclass(frozen=True)
class LevelEffects:
    r"""A categorical factor of the simulated world: text levels, their law among controls, an OR per level.

    Parameters
    ----------
    variable : str
        The column it is drawn into, e.g. ``"fracture_level"``.
    levels : sequence of str
        The levels; the first is the reference (odds ratio 1).
    pmf : sequence of float
        Probability of each level among controls (summing to 1).
    odds_ratios : mapping of str to float, optional
        True odds ratio of each level against the first; levels not given
        have odds ratio 1.

    Raises
    ------
    ValueError, TypeError
        For fewer than two distinct levels, probabilities that are not
        positive or do not sum to 1, an odds ratio of an unknown level, of
        the reference other than 1, or not positive and finite.

    Notes
    -----
    With control probabilities :math:`p_l` and log odds ratios
    :math:`\beta_l` (:math:`\beta_{\text{ref}} = 0`), the contribution to
    the log odds is :math:`\beta_{X}`, its cumulant generating function
    :math:`\log \sum_l p_l e^{\beta_l}`, and the law among cases
    :math:`p_l e^{\beta_l} / \sum_m p_m e^{\beta_m}`. The log odds ratio of
    level :math:`l` against any other level :math:`r` is
    :math:`\beta_l - \beta_r`: what a model with reference :math:`r` estimates.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr.simulate import LevelEffects
    >>> level = LevelEffects(
    ...     "fracture_level", ("lumbar", "thoracic", "thoracolumbar"), (0.3, 0.25, 0.45),
    ...     odds_ratios={"thoracic": 1.5, "thoracolumbar": 2.5},
    ... )
    >>> level.reference, round(level.log_odds_ratio("thoracolumbar", "thoracic"), 4)  # log(2.5 / 1.5)
    ('lumbar', 0.5108)
    >>> [round(float(p), 3) for p in level.tilted_pmf()]  # the law among cases
    [0.167, 0.208, 0.625]
    >>> level.sample(np.random.default_rng(1), 4).tolist()
    ['thoracic', 'thoracolumbar', 'lumbar', 'thoracolumbar']
    """

    variable: str
    levels: tuple[str, ...]
    pmf: tuple[float, ...]
    odds_ratios: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_text(self.variable, name="variable")
        if isinstance(self.levels, str) or not isinstance(self.levels, Sequence):
            raise TypeError(
                f'levels of "{self.variable}" must be a sequence of names; got {describe_value(self.levels)}'
            )
        levels = tuple(self.levels)
        if not all(isinstance(level, str) and level for level in levels):
            raise TypeError(f'levels of "{self.variable}" must be non-empty strings; got {levels}')
        if len(levels) < 2 or len(set(levels)) != len(levels):
            raise ValueError(f'"{self.variable}" needs two or more distinct levels; got {levels}')
        if isinstance(self.pmf, str) or not all(is_finite_real(p) for p in self.pmf):
            raise TypeError(f'pmf of "{self.variable}" must be a sequence of numbers; got {describe_value(self.pmf)}')
        pmf = tuple(float(p) for p in self.pmf)
        if len(pmf) != len(levels) or not all(p > 0 for p in pmf) or abs(sum(pmf) - 1) > 1e-9:
            raise ValueError(
                f'pmf of "{self.variable}" must give each of its {len(levels)} levels a positive probability, '
                f"summing to 1; got {pmf}"
            )
        ratios = {}
        for level, ratio in dict(self.odds_ratios).items():
            if level not in levels:
                raise ValueError(f'odds_ratios of "{self.variable}" name level {level!r}, not one of {levels}')
            if not is_finite_real(ratio) or ratio <= 0:
                raise ValueError(
                    f'odds_ratios["{level}"] of "{self.variable}" must be a positive finite number; got {ratio!r}'
                )
            if level == levels[0] and ratio != 1:
                raise ValueError(
                    f'{level!r} is the reference level of "{self.variable}", whose odds ratio is 1; got {ratio!r}'
                )
            ratios[level] = float(ratio)
        object.__setattr__(self, "levels", levels)
        object.__setattr__(self, "pmf", pmf)
        object.__setattr__(self, "odds_ratios", ratios)

    @property
    def reference(self) -> str:
        """The reference level (odds ratio 1): the first."""
        return self.levels[0]

    def _beta(self) -> np.ndarray:
        return np.log([self.odds_ratios.get(level, 1.0) for level in self.levels])

    def log_odds_ratio(self, level: str, reference: str | None = None) -> float:
        """Return the true log odds ratio of ``level`` against ``reference`` (default the first level)."""
        beta = dict(zip(self.levels, self._beta(), strict=True))
        for name in (level, self.reference if reference is None else reference):
            if name not in beta:
                raise ValueError(f'"{self.variable}" has no level {name!r}; its levels are {self.levels}')
        return float(beta[level] - beta[self.reference if reference is None else reference])

    def log_odds(self, values: Sequence[Any] | np.ndarray | pd.Series) -> np.ndarray:
        """Return each value's contribution to the log odds (its level's log OR against the first level).

        Raises
        ------
        ValueError
            Naming a value that is not one of the levels.
        """
        lookup = dict(zip(self.levels, self._beta(), strict=True))
        values = list(values)
        unknown = [v for v in dict.fromkeys(values) if v not in lookup]
        if unknown:
            raise ValueError(f'"{self.variable}" has no level(s) {unknown}; its levels are {self.levels}')
        return np.array([lookup[v] for v in values], dtype=float)

    def log_mgf(self) -> float:
        """Return log E[exp(contribution)] under the control law."""
        return float(special.logsumexp(np.log(self.pmf) + self._beta()))

    def tilted_pmf(self) -> np.ndarray:
        """Return the law of the levels among cases: the control probabilities times the odds ratios, renormalised."""
        log_weights = np.log(self.pmf) + self._beta()
        return np.exp(log_weights - special.logsumexp(log_weights))

    def sample(self, rng: np.random.Generator, size: int, *, tilted: bool = False) -> np.ndarray:
        """Draw ``size`` levels from the control law (``tilted``: from the case law)."""
        pmf = self.tilted_pmf() if tilted else np.asarray(self.pmf)
        return np.asarray(self.levels, dtype=object)[rng.choice(len(self.levels), size=size, p=pmf)]

    def as_dict(self) -> dict[str, Any]:
        """Plain-Python summary, as a cohort's ``attrs["truth"]`` records it."""
        return {
            "type": "levels",
            "variable": self.variable,
            "levels": list(self.levels),
            "pmf": list(self.pmf),
            "log_odds_ratios": {level: float(b) for level, b in zip(self.levels, self._beta(), strict=True)},
        }


@dataclass(frozen=True)
class QuadraticEffect:
    r"""A normal variable of the simulated world whose log odds is a quadratic curve, e.g. U-shaped.

    Its contribution to the log odds is
    ``slope * (x - centre) + curvature * (x - centre) ** 2``: with
    ``slope = 0`` and ``curvature > 0`` a U whose bottom is at ``centre``.
    The true log odds ratio of ``x = a`` against ``x = b`` is the difference
    of the curve at ``a`` and ``b``.

    Parameters
    ----------
    variable : str
        The column it is drawn into; a catalogue factor (``"cement_volume_ml"``)
        replaces that factor's log odds ratio per unit with the curve.
    curvature : float
        Coefficient of the square, per unit squared.
    centre : float
        Where the square is centred (the bottom of the U when ``slope = 0``).
    slope : float, default 0.0
        Log odds ratio per unit at ``centre``.
    law : NormalLaw, optional
        Law of the variable among controls; default the catalogue factor's
        (:func:`~bayes_ubpr.simulate.control_laws`), e.g. Normal(5.55, 0.46)
        mL for the cement volume.
    contrasts : sequence of (float, float), optional
        Pairs ``(a, b)`` whose log odds ratio a study reports against the
        truth, ``f(a) - f(b)``; default one SD of the control law either
        side of ``centre`` against ``centre``, both arms of the curve.

    Raises
    ------
    ValueError, TypeError
        For numbers that are not finite, a variable with no law (not a
        continuous catalogue factor, and no ``law``), or a curvature of
        ``1 / (2 sd**2)`` or more, for which the law among cases, the control
        law tilted by the curve, would not be a distribution.

    Notes
    -----
    For :math:`X \sim N(m, s^2)` among controls, :math:`u = x - c`,
    :math:`f(x) = b u + a u^2` and precision :math:`P = 1/s^2 - 2a > 0`, the
    law among cases, proportional to the normal density times
    :math:`e^{f(x)}`, is normal with mean :math:`c + (\mu / s^2 + b) / P`
    (:math:`\mu = m - c`) and variance :math:`1/P`, and
    :math:`\log E[e^{f(X)}] = -\tfrac12 \log(P s^2) + (\mu/s^2 + b)^2 / (2P) - \mu^2 / (2 s^2)`.

    Examples
    --------
    >>> from bayes_ubpr.simulate import QuadraticEffect
    >>> volume = QuadraticEffect("cement_volume_ml", curvature=1.5, centre=5.5)
    >>> volume.law  # the catalogue's law among controls
    NormalLaw(mean=5.55, sd=0.46)
    >>> round(volume.log_odds_ratio(4.5, 5.5), 3)  # 1 mL below the bottom of the U against it
    1.5
    >>> [(round(a, 2), b) for a, b in volume.contrasts]
    [(5.04, 5.5), (5.96, 5.5)]
    >>> law = volume.tilted_law()  # among cases: wider, both arms of the U more common
    >>> round(law.mean, 3), round(law.sd, 3)
    (5.637, 0.761)
    """

    variable: str
    curvature: float
    centre: float
    slope: float = 0.0
    law: NormalLaw | None = None
    contrasts: Sequence[tuple[float, float]] | None = None

    def __post_init__(self) -> None:
        check_text(self.variable, name="variable")
        for name in ("curvature", "centre", "slope"):
            value = getattr(self, name)
            if not is_finite_real(value):
                raise ValueError(f'{name} of "{self.variable}" must be a finite number; got {value!r}')
            object.__setattr__(self, name, float(value))
        law = _normal_law(self.variable, self.law)
        object.__setattr__(self, "law", law)
        limit = 1 / (2 * law.sd**2)
        if self.curvature >= limit:
            raise ValueError(
                f'curvature of "{self.variable}" must be below 1 / (2 sd^2) = {limit:.4g} for the law among cases '
                f"(the control law N({law.mean:g}, {law.sd:g}^2) tilted by the curve) to exist; got {self.curvature}"
            )
        default = ((self.centre - law.sd, self.centre), (self.centre + law.sd, self.centre))
        object.__setattr__(self, "contrasts", _contrasts(self.variable, self.contrasts, default))

    @property
    def _law(self) -> NormalLaw:
        return cast(NormalLaw, self.law)  # set in __post_init__

    def log_odds(self, values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
        """Return the curve at ``values``: ``slope * (x - centre) + curvature * (x - centre) ** 2``."""
        u = np.asarray(values, dtype=float) - self.centre
        return self.slope * u + self.curvature * u**2

    def log_odds_ratio(self, a: float, b: float) -> float:
        """Return the true log odds ratio of ``x = a`` against ``x = b``, ``f(a) - f(b)``."""
        return float(self.log_odds([a])[0] - self.log_odds([b])[0])

    def _precision(self) -> float:
        return 1 / self._law.sd**2 - 2 * self.curvature

    def log_mgf(self) -> float:
        """Return log E[exp(f(X))] under the control law (closed form; see Notes)."""
        s2, mu = self._law.sd**2, self._law.mean - self.centre
        precision = self._precision()
        linear = mu / s2 + self.slope
        return float(-0.5 * math.log(precision * s2) + linear**2 / (2 * precision) - mu**2 / (2 * s2))

    def tilted_law(self) -> NormalLaw:
        """Return the law among cases: the control law tilted by exp(f(x)), a normal law (see Notes)."""
        s2, mu = self._law.sd**2, self._law.mean - self.centre
        precision = self._precision()
        return NormalLaw(self.centre + (mu / s2 + self.slope) / precision, math.sqrt(1 / precision))

    def sample(self, rng: np.random.Generator, size: int, *, tilted: bool = False) -> np.ndarray:
        """Draw ``size`` values from the control law (``tilted``: from the case law)."""
        return (self.tilted_law() if tilted else self._law).sample(rng, size)

    def as_dict(self) -> dict[str, Any]:
        """Plain-Python summary, as a cohort's ``attrs["truth"]`` records it."""
        return {
            "type": "quadratic",
            "variable": self.variable,
            "curvature": self.curvature,
            "centre": self.centre,
            "slope": self.slope,
            "law": {"mean": float(self._law.mean), "sd": float(self._law.sd)},
            "contrasts": [list(pair) for pair in self.contrasts],  # type: ignore[union-attr]
        }


CURVE_GRID_SDS = 16.0
"""Half-width, in control-law SDs around its mean, of the grid on which :class:`CurveEffect` integrates."""

CURVE_GRID_POINTS = 32_001
"""Points of that grid (spacing 0.001 SD): the trapezoid rule's error on the smooth integrands of a curve with
continuous second derivative is below 1e-9 relative (checked against :class:`QuadraticEffect`'s closed form)."""


@dataclass(frozen=True)
class CurveEffect:
    """A normal variable of the simulated world whose log odds is any smooth curve, integrated numerically.

    The general case of :class:`QuadraticEffect`: ``curve`` gives the
    contribution to the log odds at each value, e.g. a restricted cubic
    spline with stated knots and coefficients, which a model with a spline
    of the same knots can represent exactly. Its cumulant generating
    function and the law among cases (the control law tilted by
    ``exp(curve(x))``) are computed on a fine grid (:data:`CURVE_GRID_POINTS`
    points over the control mean +/- :data:`CURVE_GRID_SDS` SDs) by the
    trapezoid rule; cases are drawn by inverting the tilted CDF on the grid.

    Parameters
    ----------
    variable : str
        The column it is drawn into; a catalogue factor's log odds ratio per
        unit is replaced by the curve.
    curve : callable
        Vectorised: an array of values to their contributions to the log
        odds (finite, with no jump).
    label : str
        What the curve is, recorded in place of the function (in a cohort's
        ``attrs["truth"]`` and a study's settings), e.g.
        ``"rcs(4.8, 5.4, 5.8, 6.4) U"``.
    law : NormalLaw, optional
        Law of the variable among controls; default the catalogue factor's.
    contrasts : sequence of (float, float), optional
        Pairs ``(a, b)`` whose log odds ratio ``curve(a) - curve(b)`` a study
        reports; default one SD of the control law either side of its mean,
        against the mean.

    Raises
    ------
    ValueError, TypeError
        For a curve that is not callable or not finite on the grid, one that
        rises so steeply that the tilted law has mass at the grid's edge, or
        a variable with no normal law.

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr.simulate import CurveEffect, QuadraticEffect
    >>> exact = QuadraticEffect("cement_volume_ml", curvature=1.5, centre=5.5)
    >>> numeric = CurveEffect("cement_volume_ml", lambda x: 1.5 * (x - 5.5) ** 2, label="1.5 (x - 5.5)^2")
    >>> bool(abs(numeric.log_mgf() - exact.log_mgf()) < 1e-9)
    True
    >>> cases = numeric.sample(np.random.default_rng(1), 100_000, tilted=True)
    >>> round(float(cases.mean()), 2), round(float(cases.std()), 2)  # the closed form: 5.637, 0.761
    (5.64, 0.76)
    """

    variable: str
    curve: Callable[[np.ndarray], np.ndarray] = field(repr=False)
    label: str
    law: NormalLaw | None = None
    contrasts: Sequence[tuple[float, float]] | None = None

    def __post_init__(self) -> None:
        check_text(self.variable, name="variable")
        check_text(self.label, name="label")
        if not callable(self.curve):
            raise TypeError(
                f'curve of "{self.variable}" must be a function of the values; got {describe_value(self.curve)}'
            )
        law = _normal_law(self.variable, self.law)
        object.__setattr__(self, "law", law)
        default = ((law.mean - law.sd, law.mean), (law.mean + law.sd, law.mean))
        object.__setattr__(self, "contrasts", _contrasts(self.variable, self.contrasts, default))
        _, log_weights = self._grid()
        peak = log_weights.max()
        if max(log_weights[0], log_weights[-1]) > peak + math.log(1e-12):
            raise ValueError(
                f'the curve of "{self.variable}" rises so steeply that the law among cases has mass beyond '
                f"{CURVE_GRID_SDS:g} control SDs from the mean; the tilted law does not exist or needs another law"
            )

    @property
    def _law(self) -> NormalLaw:
        return cast(NormalLaw, self.law)  # set in __post_init__

    def log_odds(self, values: Sequence[float] | np.ndarray | pd.Series) -> np.ndarray:
        """Return the curve at ``values``."""
        x = np.asarray(values, dtype=float)
        out = np.asarray(self.curve(x), dtype=float)
        if out.shape != x.shape or not np.all(np.isfinite(out)):
            raise ValueError(f'curve of "{self.variable}" must return one finite number per value')
        return out

    def log_odds_ratio(self, a: float, b: float) -> float:
        """Return the true log odds ratio of ``x = a`` against ``x = b``, ``curve(a) - curve(b)``."""
        ends = self.log_odds(np.array([a, b], dtype=float))
        return float(ends[0] - ends[1])

    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the grid and the log of the tilted density there, up to a constant: -z^2 / 2 + curve(x)."""
        z = np.linspace(-CURVE_GRID_SDS, CURVE_GRID_SDS, CURVE_GRID_POINTS)
        x = self._law.mean + self._law.sd * z
        return x, -0.5 * z**2 + self.log_odds(x)

    def log_mgf(self) -> float:
        """Return log E[exp(curve(X))] under the control law (the trapezoid rule on the grid)."""
        _, log_weights = self._grid()
        peak = log_weights.max()
        dz = 2 * CURVE_GRID_SDS / (CURVE_GRID_POINTS - 1)
        mass = np.trapezoid(np.exp(log_weights - peak), dx=dz)
        return float(peak + math.log(mass) - 0.5 * math.log(2 * math.pi))

    def sample(self, rng: np.random.Generator, size: int, *, tilted: bool = False) -> np.ndarray:
        """Draw ``size`` values from the control law (``tilted``: the case law, by its CDF on the grid)."""
        if not tilted:
            return self._law.sample(rng, size)
        x, log_weights = self._grid()
        density = np.exp(log_weights - log_weights.max())
        cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2)])
        return np.interp(rng.random(size), cdf / cdf[-1], x)

    def as_dict(self) -> dict[str, Any]:
        """Plain-Python summary, as a cohort's ``attrs["truth"]`` records it (the curve by its label)."""
        return {
            "type": "curve",
            "variable": self.variable,
            "label": self.label,
            "law": {"mean": float(self._law.mean), "sd": float(self._law.sd)},
            "contrasts": [list(pair) for pair in self.contrasts],  # type: ignore[union-attr]
        }


def _normal_law(variable: str, law: NormalLaw | None) -> NormalLaw:
    """Return ``law``, or the catalogue's normal law of ``variable``; refuse anything else."""
    if law is None:
        law = control_laws().get(variable)  # type: ignore[assignment]
        if not isinstance(law, NormalLaw):
            continuous = [n for n, v in control_laws().items() if isinstance(v, NormalLaw)]
            raise ValueError(
                f'"{variable}" has no normal law in the paper\'s catalogue (those with one: '
                f"{', '.join(continuous)}); pass law=NormalLaw(mean, sd)"
            )
    if not isinstance(law, NormalLaw):
        raise TypeError(f'law of "{variable}" must be a NormalLaw; got {describe_value(law)}')
    return law


def _contrasts(
    variable: str, contrasts: Sequence[tuple[float, float]] | None, default: tuple[tuple[float, float], ...]
) -> tuple[tuple[float, float], ...]:
    """Return the stated contrasts as pairs of floats, or ``default``."""
    if contrasts is None:
        return default
    pairs = tuple(contrasts)
    if not pairs or not all(
        isinstance(pair, Sequence) and len(pair) == 2 and all(is_finite_real(v) for v in pair) for pair in pairs
    ):
        raise ValueError(f'contrasts of "{variable}" must be pairs of finite numbers (a, b); got {contrasts!r}')
    return tuple((float(a), float(b)) for a, b in pairs)


Effect: TypeAlias = LevelEffects | QuadraticEffect | CurveEffect
"""An effect of the simulated world that takes over one variable."""

NUMERIC_EFFECTS = (QuadraticEffect, CurveEffect)
"""The effects of a numeric variable: they have contrasts."""

RESERVED_COLUMNS = ("patient_id", "site", "true_risk", "replicate")
"""Columns a simulated cohort writes itself, which no effect may take (nor the outcome)."""


def check_effects(effects: Sequence[Effect] | None) -> tuple[Effect, ...]:
    """Return ``effects`` as a tuple, each an effect, of distinct variables other than the cohort's own columns."""
    if effects is None:
        return ()
    kinds = (LevelEffects, *NUMERIC_EFFECTS)
    if isinstance(effects, kinds):
        effects = (effects,)
    if not isinstance(effects, Sequence):
        raise TypeError(
            f"effects must be a sequence of LevelEffects, QuadraticEffect or CurveEffect; got {describe_value(effects)}"
        )
    effects = tuple(effects)
    for effect in effects:
        if not isinstance(effect, kinds):
            raise TypeError(
                f"effects must be LevelEffects, QuadraticEffect or CurveEffect; got {describe_value(effect)}"
            )
        if effect.variable in (*RESERVED_COLUMNS, "ubpr"):
            raise ValueError(f'an effect cannot take the column "{effect.variable}", which the cohort writes itself')
    variables = [e.variable for e in effects]
    twice = sorted({v for v in variables if variables.count(v) > 1})
    if twice:
        raise ValueError(f"effects take each variable once; {', '.join(twice)} is taken twice")
    return effects
