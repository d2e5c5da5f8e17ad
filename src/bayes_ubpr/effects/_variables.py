"""What the effect functions know of each raw variable of a fit, and the two kernels they share.

Each raw variable a fit's terms read is one of three kinds, and what varies
by kind lives on the kind: a numeric variable's curve runs from its 5th to
its 95th percentile and its strata are its quartiles, a binary one's values
are 0 and 1, a categorical one's are its levels; each checks a value given
for it (an unseen level is an error, a number outside the fitted range a
warning) and lists the contrasts a clinician reads (per unit, per
interquartile range, each level against the reference). Everything is read
off the terms' stored summary, so a fit saved months ago gives the same grid.

The kernels: :func:`patients` builds raw patients from the fit's typical
patient, and :func:`log_odds_ratio_draws` gives, per posterior draw, the log
odds ratio between two sets of patients, ``beta . (x_after - x_before)``
(exact for the logistic model: the intercept and any group offset cancel).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from bayes_ubpr._validate import describe_value, did_you_mean, is_real
from bayes_ubpr.exceptions import StatisticalWarning
from bayes_ubpr.model import Fitted
from bayes_ubpr.paper import RISK_FACTORS
from bayes_ubpr.terms import Categorical, Interaction, Spline
from bayes_ubpr.terms.kinds import main_parts

__all__ = [
    "BinaryVariable",
    "CategoricalVariable",
    "Contrast",
    "NumericVariable",
    "Variable",
    "check_at",
    "check_variable",
    "equal_tailed",
    "grouping_columns",
    "interaction_partners",
    "log_odds_ratio_draws",
    "patients",
    "shown_value",
    "variables_of",
]


def shown_value(value: object) -> str:
    """Return a value as it is written in a table's words: numbers to 4 significant digits, labels as they are."""
    if is_real(value):
        number = float(value)  # type: ignore[arg-type]
        return f"{number:.4g}" if math.isfinite(number) else str(number)
    return str(value)


@dataclass(frozen=True)
class Contrast:
    """Two values of a variable to compare, in words (``after`` against ``before``), with a note for the reader."""

    before: Any
    after: Any
    words: str
    note: str = ""


@dataclass(frozen=True)
class Variable:
    """A raw variable of a fit: its name, label and stored summary (typical value, quantiles or levels)."""

    name: str
    label: str
    summary: Mapping[str, Any] = field(repr=False)
    kind: ClassVar[str] = ""

    @property
    def typical(self) -> Any:
        """The typical patient's value (median, commoner 0/1 value or commonest level)."""
        return self.summary["typical"]

    def check(self, value: object, *, argument: str, stacklevel: int = 4) -> Any:
        """Return ``value`` if the model can speak for it; raise or warn naming ``argument`` otherwise."""
        raise NotImplementedError

    def grid(self, n_points: int) -> tuple[Any, ...]:
        """Return the values along which a curve of this variable is drawn."""
        raise NotImplementedError

    def strata(self) -> tuple[Any, ...]:
        """Return the values at which an effect is shown when this variable modifies it."""
        raise NotImplementedError

    def reference(self) -> Any:
        """Return the value an odds-ratio curve of this variable is relative to by default."""
        raise NotImplementedError

    def contrasts(self, *, per_iqr: bool) -> tuple[Contrast, ...]:
        """Return the contrasts a clinician reads for this variable (``per_iqr``: add the interquartile range)."""
        raise NotImplementedError


@dataclass(frozen=True)
class NumericVariable(Variable):
    """A numeric variable (not 0/1): entering linearly, or through a spline when ``spline``."""

    unit: str = "1 unit"
    spline: bool = False
    kind: ClassVar[str] = "numeric"

    def check(self, value: object, *, argument: str, stacklevel: int = 4) -> float:
        """Return ``value`` as float; a value outside the fitted data's range warns of extrapolation."""
        if not is_real(value) or not math.isfinite(float(value)):  # type: ignore[arg-type]
            raise TypeError(f'{argument}: "{self.name}" is numeric: give a finite number; got {describe_value(value)}')
        number = float(value)  # type: ignore[arg-type]
        low, high = self.summary["min"], self.summary["max"]
        if not low <= number <= high:
            warnings.warn(
                f"{argument}: {self.name} = {number:g} is outside the fitted data ({low:g} to {high:g}): "
                "the estimate extrapolates the model beyond what the data show",
                StatisticalWarning,
                stacklevel=stacklevel,
            )
        return number

    def grid(self, n_points: int) -> tuple[float, ...]:
        """Return ``n_points`` values evenly spaced from the 5th to the 95th percentile of the fitted data."""
        return tuple(float(v) for v in np.linspace(self.summary["p05"], self.summary["p95"], n_points))

    def strata(self) -> tuple[float, ...]:
        """Return the lower quartile, median and upper quartile."""
        return tuple(float(self.summary[q]) for q in ("q1", "median", "q3"))

    def reference(self) -> float:
        """Return the median."""
        return float(self.summary["median"])

    def contrasts(self, *, per_iqr: bool) -> tuple[Contrast, ...]:
        """Return per unit (from the median) and, if ``per_iqr``, the quartiles; a spline: the quartiles only."""
        q1, q3 = float(self.summary["q1"]), float(self.summary["q3"])
        iqr = f"{shown_value(q3)} vs {shown_value(q1)} (upper vs lower quartile)"
        if self.spline:
            note = "nonlinear: the odds ratio depends on the values compared (see conditional_effects)"
            return (Contrast(q1, q3, iqr, note),)
        median = self.reference()
        unit = Contrast(median, median + 1.0, f"per {self.unit}")
        return (unit, Contrast(q1, q3, iqr)) if per_iqr else (unit,)


@dataclass(frozen=True)
class BinaryVariable(Variable):
    """A 0/1 variable."""

    unit: str = "1 vs 0"
    kind: ClassVar[str] = "binary"

    def check(self, value: object, *, argument: str, stacklevel: int = 4) -> float:
        """Return ``value`` as 0.0 or 1.0; any other value is refused."""
        if is_real(value) or isinstance(value, (bool, np.bool_)):
            number = float(value)  # type: ignore[arg-type]
            if number in (0.0, 1.0):
                return number
        raise ValueError(f'{argument}: "{self.name}" is binary: give 0 or 1; got {describe_value(value)}')

    def grid(self, n_points: int) -> tuple[float, ...]:
        """Return 0 and 1."""
        return (0.0, 1.0)

    def strata(self) -> tuple[float, ...]:
        """Return 0 and 1."""
        return (0.0, 1.0)

    def reference(self) -> float:
        """Return 0."""
        return 0.0

    def contrasts(self, *, per_iqr: bool) -> tuple[Contrast, ...]:
        """Return 1 against 0."""
        return (Contrast(0.0, 1.0, self.unit),)


@dataclass(frozen=True)
class CategoricalVariable(Variable):
    """A categorical variable, treatment coded: its levels and reference level, as stored in the fit."""

    levels: tuple[Any, ...] = ()
    reference_level: Any = None
    kind: ClassVar[str] = "categorical"

    def check(self, value: object, *, argument: str, stacklevel: int = 4) -> Any:
        """Return the level equal to ``value``; a level the model was not fitted on is refused, naming the levels."""
        value = value.item() if isinstance(value, np.generic) else value
        try:
            known = value in self.levels
        except TypeError:  # unhashable
            known = False
        if not known:
            levels = ", ".join(repr(level) for level in self.levels)
            hint = did_you_mean(str(value), [str(level) for level in self.levels])
            raise ValueError(
                f'{argument}: "{self.name}" has no level {value!r} in the fit (its levels: {levels}).{hint}'
            )
        return self.levels[self.levels.index(value)]

    def grid(self, n_points: int) -> tuple[Any, ...]:
        """Return every level."""
        return self.levels

    def strata(self) -> tuple[Any, ...]:
        """Return every level."""
        return self.levels

    def reference(self) -> Any:
        """Return the reference level."""
        return self.reference_level

    def contrasts(self, *, per_iqr: bool) -> tuple[Contrast, ...]:
        """Return each level against the reference."""
        ref = self.reference_level
        return tuple(
            Contrast(ref, level, f"{shown_value(level)} vs {shown_value(ref)}") for level in self.levels if level != ref
        )


def _label(view: Fitted, name: str) -> str:
    for factor in view.spec.factors:
        if factor.name == name:
            return factor.label
    return RISK_FACTORS[name].label if name in RISK_FACTORS else name


def _unit(view: Fitted, name: str, default: str) -> str:
    for factor in view.spec.factors:
        if factor.name == name and factor.unit:
            return factor.unit
    known = RISK_FACTORS.get(name)  # a variable only in an interaction has no factor of its own
    return known.unit if known is not None and known.unit else default


def variables_of(view: Fitted) -> dict[str, Variable]:
    """Return the fit's raw variables by name, in the terms' order, each of its kind."""
    terms = view.terms
    summary = terms.summary or {}
    parts = [p for t in terms.terms for p in main_parts(t)]
    categorical = {p.column: p for p in parts if isinstance(p, Categorical)}
    splines = {p.column for p in parts if isinstance(p, Spline)}
    out: dict[str, Variable] = {}
    for name in terms.variables:
        if name not in summary:
            raise ValueError(
                f'the fit stores no summary of "{name}" (its typical value and quantiles): it was made by a '
                "version of bayes_ubpr before terms kept one; refit it to read its effects"
            )
        stored = summary[name]
        label = _label(view, name)
        if name in categorical:
            term = categorical[name]
            out[name] = CategoricalVariable(name, label, stored, tuple(term.levels or ()), term.reference)
        elif stored["kind"] == "binary":
            out[name] = BinaryVariable(name, label, stored, _unit(view, name, "1 vs 0"))
        else:
            out[name] = NumericVariable(name, label, stored, _unit(view, name, "1 unit"), name in splines)
    return out


def grouping_columns(view: Fitted) -> tuple[str, ...]:
    """Return the columns of the fit's groupings (hospital, surgeon), each once."""
    return view.spec.group_columns


def interaction_partners(view: Fitted) -> dict[str, tuple[str, ...]]:
    """Return, per variable, the variables it interacts with (an effect of it depends on their values)."""
    partners: dict[str, dict[str, None]] = {}
    for term in view.terms.terms:
        if isinstance(term, Interaction):
            a, b = (p.variables for p in term.parts)
            for one, others in ((a, b), (b, a)):
                for v in one:
                    partners.setdefault(v, {}).update(dict.fromkeys(others))
    return {v: tuple(others) for v, others in partners.items()}


def check_variable(name: object, variables: Mapping[str, Variable], *, argument: str) -> Variable:
    """Return the variable named; an unknown name is refused with "did you mean" and the model's variables."""
    if not isinstance(name, str):
        raise TypeError(f"{argument} must be a variable's name (a string); got {describe_value(name)}")
    if name not in variables:
        raise ValueError(
            f'{argument}: "{name}" is not a variable of the model.{did_you_mean(name, variables)} '
            f"Its variables: {', '.join(variables)}."
        )
    return variables[name]


def _as_values(value: object) -> list[Any]:
    if isinstance(value, (list, tuple, np.ndarray, pd.Series, pd.Index)):
        values = list(value)
        if not values:
            raise ValueError("an empty list of values")
        return values
    return [value]


def check_at(
    at: Mapping[str, object] | None,
    variables: Mapping[str, Variable],
    view: Fitted,
    *,
    taken: Iterable[str] = (),
    lists: bool = True,
    stacklevel: int = 4,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Return the names in ``at`` and every combination of their values (one dict each; ``[{}]`` without ``at``).

    Keys are the model's variables or its grouping columns; ``taken`` are
    variables the caller sets itself. With ``lists`` a value may be a list
    (one combination per element); without, only single values.
    """
    if at is None:
        return [], [{}]
    if not isinstance(at, Mapping):
        raise TypeError(f"at must be a mapping of variable to value, e.g. {{'age': 70}}; got {describe_value(at)}")
    taken = set(taken)
    groups = grouping_columns(view)
    names, choices = [], []
    for name, value in at.items():
        if name in groups:
            values = _as_values(value) if lists else [value]
        else:
            variable = check_variable(name, variables, argument="at")
            if name in taken:
                raise ValueError(f'at: "{name}" is also the variable being varied; leave it out of at')
            if not lists and isinstance(value, (list, tuple, np.ndarray, pd.Series, pd.Index)):
                raise TypeError(f'at["{name}"] must be a single value here; got {describe_value(value)}')
            try:
                raw = _as_values(value)
            except ValueError:
                raise ValueError(f'at["{name}"] is an empty list: give at least one value') from None
            values = []
            for v in raw:  # a loop, not a comprehension: its frame would shift the warning's stacklevel
                values.append(variable.check(v, argument=f'at["{name}"]', stacklevel=stacklevel))
        names.append(name)
        choices.append(values)
    combos = [dict(zip(names, combo, strict=True)) for combo in _product(choices)]
    return names, combos


def _product(choices: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = [()]
    for values in choices:
        out = [(*combo, value) for combo in out for value in values]
    return out


def patients(view: Fitted, rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Return raw patients: the fit's typical patient, with each row's values put over it."""
    typical = view.terms.typical_values()
    return pd.DataFrame([{**typical, **row} for row in rows], index=pd.RangeIndex(len(rows), name="patient"))


def log_odds_ratio_draws(view: Fitted, before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """Return each row's log odds ratio of ``after`` against ``before`` per posterior draw, (draws, rows).

    ``beta . (x_after - x_before)`` with ``x`` the design columns of the raw
    rows: exact for the logistic model, whose intercept (and group offsets)
    cancel.
    """
    difference = view.design(after) - view.design(before)
    return view.log_odds_ratio_draws @ difference.T


def equal_tailed(draws: np.ndarray, prob: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the median and the equal-tailed interval of ``prob`` of each column of ``draws`` (draws, columns)."""
    tail = (1.0 - prob) / 2.0
    lower, median, upper = np.quantile(draws, [tail, 0.5, 1.0 - tail], axis=0)
    return median, lower, upper
