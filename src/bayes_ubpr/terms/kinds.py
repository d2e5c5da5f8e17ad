"""The kinds of model term, each building its design columns from raw data with its levels and knots stored.

A term is what a user writes in a formula: a numeric column (``age``), a
categorical factor (``C(fracture_level)``, or a column of strings), a
restricted cubic spline (``rcs(cement_volume_ml, 4)``) or the interaction of
two of these (``fascia_injury:C(fracture_level)``). :meth:`Terms.resolve`
reads off the data what a term needs (levels and reference, knots) once;
:meth:`Terms.design` then builds the same columns from any data, the fitted
sample or new patients, refusing values the model cannot speak for.

Column names follow patsy and Bambi: ``fracture_level[lumbar]`` (a level
against the reference), ``cement_volume_ml'`` and ``cement_volume_ml''`` (a
spline's nonlinear columns, as ``rms`` names them), ``a:b`` (a product).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Literal, TypeAlias

import numpy as np
import pandas as pd

from bayes_ubpr._validate import check_keys, describe_value, did_you_mean, missing_advice
from bayes_ubpr.exceptions import CohortValidationError
from bayes_ubpr.factors import Factor
from bayes_ubpr.paper import RISK_FACTORS
from bayes_ubpr.terms.basis import SPLINE_KNOTS, default_knots, nonlinear_transform, rcs_basis, treatment_columns

__all__ = [
    "LEVEL_SCALE",
    "ROLES",
    "ROLE_PRIOR_SCALE",
    "SUMMARY_QUANTILES",
    "Categorical",
    "Interaction",
    "Level",
    "MainTerm",
    "Numeric",
    "Role",
    "Spline",
    "Term",
    "is_categorical",
    "main_parts",
    "summarise",
    "term_from_dict",
]

Role = Literal["linear", "level", "nonlinear", "interaction"]
ROLES: tuple[str, ...] = ("linear", "level", "nonlinear", "interaction")
"""What a design column is to its term: a numeric column's or spline's ``"linear"`` part, a categorical
factor's ``"level"`` against the reference, a spline's ``"nonlinear"`` part, or a product (``"interaction"``)."""

ROLE_PRIOR_SCALE: dict[str, float] = {"linear": 1.0, "level": 1.0, "nonlinear": 0.5, "interaction": 0.5}
"""Multiplier of a preset prior's scale by the role of a design column. A spline's nonlinear coefficients get
half the scale of a main effect, so the prior pulls the curve toward its linear fit; an interaction's get half
too, the usual expectation that interactions are smaller than main effects (Gelman et al. 2020, Regression and
Other Stories, section 16.4: an interaction needs four times the sample of a main effect of the same size)."""

LEVEL_SCALE = 0.5
"""Reference scale recorded for every level indicator of a categorical factor: the SD of a 0/1 column with half
ones. Binary columns get per-unit priors, so every level of one factor has the same prior (the scale is only
recorded, never used to rescale a level's prior)."""

Level: TypeAlias = str | int | float | bool


def _missing_column(column: str, data: pd.DataFrame) -> CohortValidationError:
    return CohortValidationError(
        f'column "{column}" is not in the data.{did_you_mean(column, map(str, data.columns))}', column=column
    )


def _rows(data: pd.DataFrame, mask: np.ndarray, limit: int = 5) -> list:
    return list(data.index[mask][:limit])


def _rows_text(data: pd.DataFrame, mask: np.ndarray) -> str:
    shown = ", ".join(map(str, _rows(data, mask)))
    more = int(mask.sum()) - min(int(mask.sum()), 5)
    return f"rows {shown}" + (f" (and {more} more)" if more else "")


def _column(data: pd.DataFrame, column: str) -> pd.Series:
    if column not in data.columns:
        raise _missing_column(column, data)
    values = data[column]
    missing = values.isna().to_numpy()
    if missing.any():
        raise CohortValidationError(
            f'Column "{column}" has missing values in {_rows_text(data, missing)}; {missing_advice()}',
            column=column,
            rows=_rows(data, missing),
        )
    return values


def is_categorical(values: pd.Series) -> bool:
    """Whether a column is read as categorical: strings, pandas categories or objects that are not numbers."""
    if isinstance(values.dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(values.dtype):
        return True
    if values.dtype == object:
        return not all(isinstance(v, (int, float, np.number, bool, np.bool_)) for v in values)
    return False


def _numeric(data: pd.DataFrame, column: str) -> np.ndarray:
    values = _column(data, column)
    if is_categorical(values):
        raise CohortValidationError(
            f'Column "{column}" must be numeric for this term; it holds text or categories '
            f"(e.g. {values.iloc[0]!r}): write C({column}) for a categorical factor",
            column=column,
        )
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(numbers)
    if bad.any():
        raise CohortValidationError(
            f'Column "{column}" must hold finite numbers; {_rows_text(data, bad)} do not',
            column=column,
            rows=_rows(data, bad),
        )
    return numbers


def _plain(value: Any) -> Level:
    """Return a level as a plain Python scalar (JSON keeps it)."""
    value = value.item() if isinstance(value, np.generic) else value
    if isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


def _factor_of(column: str, **settings: Any) -> Factor:
    """Return the catalogue's Factor for a paper column, else a new one; ``settings`` override."""
    base = RISK_FACTORS.get(column)
    if base is None:
        return Factor(column, **settings)
    return replace(base, **settings)


class _OneColumn:
    """What every term of one raw column has: its name and the column it reads."""

    column: str

    @property
    def name(self) -> str:
        """The term's name: the column."""
        return self.column

    @property
    def variables(self) -> tuple[str, ...]:
        """Raw columns the term reads."""
        return (self.column,)


@dataclass(frozen=True)
class Numeric(_OneColumn):
    """A numeric column entering the model linearly (one log odds ratio per unit)."""

    column: str
    type: ClassVar[str] = "numeric"

    @property
    def resolved(self) -> bool:
        """Whether everything read off the data is known (always, for a numeric column)."""
        return True

    def resolve(self, data: pd.DataFrame) -> Term:
        """Return the term fitted to ``data``: a :class:`Categorical` if the column holds text or categories."""
        if is_categorical(_column(data, self.column)):
            return Categorical(self.column).resolve(data)
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        """Design column names."""
        return (self.column,)

    @property
    def roles(self) -> tuple[Role, ...]:
        """Role of each design column."""
        return ("linear",)

    def matrix(self, data: pd.DataFrame) -> np.ndarray:
        """Design columns of ``data``, (rows, columns)."""
        return _numeric(data, self.column)[:, None]

    def factors(self, *, alone: bool) -> tuple[Factor, ...]:
        """Return the design columns as Factors (the paper's catalogue entry where there is one and ``alone``)."""
        return (_factor_of(self.column) if alone else _factor_of(self.column, paper_row=""),)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form."""
        return {"type": self.type, "column": self.column}


@dataclass(frozen=True)
class Categorical(_OneColumn):
    """A categorical factor in treatment coding: one log odds ratio per level against the reference.

    Parameters
    ----------
    column : str
        Raw column (strings, pandas categories, or numbers read as labels).
    reference : str, int, float or bool, optional
        Reference level; default the first level (pandas' category order,
        else sorted), as R and Bambi choose it.
    levels : tuple, optional
        Every level, in order; read off the data when resolved.
    full : bool, default False
        One column per level, the reference's included: how a factor is coded
        inside an interaction whose other part has no main effect in the
        model (``C(level) + C(level):injury`` gives one injury slope per
        level, as patsy, formulae and R code it). Set by
        :meth:`~bayes_ubpr.terms.Terms.resolve`.
    """

    column: str
    reference: Level | None = None
    levels: tuple[Level, ...] | None = None
    full: bool = False
    type: ClassVar[str] = "categorical"

    def __post_init__(self) -> None:
        if self.levels is not None:
            levels = tuple(_plain(level) for level in self.levels)
            if len(levels) < 2 or len(set(levels)) != len(levels):
                raise ValueError(f'categorical "{self.column}" needs two or more distinct levels; got {levels}')
            object.__setattr__(self, "levels", levels)
            if self.reference is not None and self.reference not in levels:
                raise ValueError(
                    f'reference level {self.reference!r} of "{self.column}" is not one of its levels {levels}'
                )

    @property
    def resolved(self) -> bool:
        """Whether the levels and reference are known."""
        return self.levels is not None and self.reference is not None

    @property
    def kept_levels(self) -> tuple[Level, ...]:
        """Levels with a column (all but the reference, or all when coded in full)."""
        return tuple(level for level in self._levels if self.full or level != self.reference)

    @property
    def _levels(self) -> tuple[Level, ...]:
        if self.levels is None:
            raise ValueError(f'categorical "{self.column}" has no levels yet: resolve it on data first')
        return self.levels

    def resolve(self, data: pd.DataFrame) -> Categorical:
        """Return the term with its levels (and reference, if not stated) read off ``data``."""
        if self.levels is not None:
            levels = self.levels
        else:
            values = _column(data, self.column)
            if isinstance(values.dtype, pd.CategoricalDtype):
                present = set(values.unique())
                levels = tuple(_plain(v) for v in values.cat.categories if v in present)
            else:
                try:
                    levels = tuple(_plain(v) for v in sorted(values.unique()))
                except TypeError:  # mixed types: sort as text
                    levels = tuple(_plain(v) for v in sorted(values.unique(), key=str))
            if len(levels) < 2:
                raise CohortValidationError(
                    f'Column "{self.column}" has a single level ({levels[0]!r}): its effect cannot be estimated; '
                    "leave it out of the formula",
                    column=self.column,
                )
        reference = self.reference
        if reference is None:
            reference = levels[0]
        elif reference not in levels:
            raise CohortValidationError(
                f'reference level {reference!r} of "{self.column}" does not occur in the data '
                f"(levels: {', '.join(map(repr, levels))})",
                column=self.column,
            )
        return Categorical(self.column, reference, levels, self.full)

    @property
    def columns(self) -> tuple[str, ...]:
        """Design column names: ``column[level]`` for each level but the reference."""
        return tuple(f"{self.column}[{level}]" for level in self.kept_levels)

    @property
    def roles(self) -> tuple[Role, ...]:
        """Role of each design column."""
        level: Role = "level"
        return (level,) * len(self.kept_levels)

    def codes(self, data: pd.DataFrame) -> np.ndarray:
        """Index of each row's level in :attr:`levels`; unseen levels refused by name."""
        levels = self._levels
        values = _column(data, self.column)
        plain = pd.Series([_plain(v) for v in values], index=data.index, dtype=object)
        lookup = {level: code for code, level in enumerate(levels)}
        codes = np.array([lookup.get(v, -1) for v in plain], dtype=np.int64)
        unseen = codes < 0
        if unseen.any():
            names = ", ".join(repr(v) for v in dict.fromkeys(plain[unseen]))
            raise CohortValidationError(
                f'Column "{self.column}" has level(s) {names} in {_rows_text(data, unseen)} that the model was '
                f"not fitted on (its levels: {', '.join(map(repr, levels))})",
                column=self.column,
                rows=_rows(data, unseen),
            )
        return codes

    def matrix(self, data: pd.DataFrame) -> np.ndarray:
        """Design columns of ``data``: 0/1 indicators of each level but the reference (of each, if coded in full)."""
        levels = self._levels
        codes = self.codes(data)
        if self.full:
            return (codes[:, None] == np.arange(len(levels))[None, :]).astype(float)
        return treatment_columns(codes, len(levels), levels.index(self.reference))  # type: ignore[arg-type]

    def factors(self, *, alone: bool) -> tuple[Factor, ...]:
        """Return the level indicators as binary Factors sharing one reference scale."""
        label = _factor_of(self.column).label
        return tuple(
            Factor(
                column,
                kind="binary",
                label=f"{label}: {level}",
                unit="vs the others' slope" if self.full else f"vs {self.reference}",
                scale=LEVEL_SCALE,
                coding=f"1 if {self.column} is {level!r}, 0 otherwise",
            )
            for column, level in zip(self.columns, self.kept_levels, strict=True)
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form."""
        levels = list(self.levels) if self.levels is not None else None
        values = {"type": self.type, "column": self.column, "reference": self.reference, "levels": levels}
        return values | ({"full": True} if self.full else {})


@dataclass(frozen=True)
class Spline(_OneColumn):
    """A restricted cubic spline of a numeric column, with k knots (k - 1 columns).

    Parameters
    ----------
    column : str
        Raw numeric column.
    k : int, default 4
        Number of knots, 3 to 7.
    knots : tuple of float, optional
        Knot positions; default Harrell's quantiles of the fitted data
        (:func:`~bayes_ubpr.terms.basis.default_knots`).
    transform : tuple of tuple of float, optional
        The k x (k - 2) matrix that turns ``[1, x, Harrell's columns]`` into
        the nonlinear design columns, orthonormal to x on the fitted data
        (:func:`~bayes_ubpr.terms.basis.nonlinear_transform`); computed when
        the spline is resolved and stored with it.

    Notes
    -----
    The design holds x itself (the linear part) and k - 2 nonlinear columns.
    These span the same curves as Harrell's truncated-power columns
    (:func:`~bayes_ubpr.terms.basis.rcs_basis`), so any curve Harrell's
    basis fits, this one fits; they are made orthonormal to x so that the
    nonlinear coefficients' prior shrinks every departure from a straight
    line alike.
    """

    column: str
    k: int = 4
    knots: tuple[float, ...] | None = None
    transform: tuple[tuple[float, ...], ...] | None = None
    type: ClassVar[str] = "spline"

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k not in SPLINE_KNOTS:
            raise ValueError(f"rcs({self.column}, k): k must be a whole number of knots from 3 to 7; got {self.k!r}")
        if self.knots is not None:
            knots = tuple(float(t) for t in self.knots)
            if len(knots) != self.k or not all(np.isfinite(knots)) or any(np.diff(knots) <= 0):
                raise ValueError(
                    f"rcs({self.column}, {self.k}): knots must be {self.k} increasing finite numbers; got {knots}"
                )
            object.__setattr__(self, "knots", knots)
        if self.transform is not None:
            transform = np.asarray(self.transform, dtype=float)
            if transform.shape != (self.k, self.k - 2) or not np.isfinite(transform).all():
                raise ValueError(
                    f"rcs({self.column}, {self.k}): transform must be {self.k} rows of {self.k - 2} finite numbers"
                )
            object.__setattr__(self, "transform", tuple(tuple(float(v) for v in row) for row in transform))

    @property
    def resolved(self) -> bool:
        """Whether the knots and the nonlinear columns' transform are known."""
        return self.knots is not None and self.transform is not None

    def resolve(self, data: pd.DataFrame) -> Spline:
        """Return the spline with its knots at Harrell's quantiles of ``data`` (unless stated) and its transform."""
        if self.resolved:
            return self
        x = _numeric(data, self.column)
        try:
            knots = self.knots if self.knots is not None else tuple(float(t) for t in default_knots(x, self.k))
            transform = nonlinear_transform(x, knots)
        except ValueError as error:
            raise CohortValidationError(f"rcs({self.column}, {self.k}): {error}", column=self.column) from None
        return Spline(self.column, self.k, knots, tuple(map(tuple, transform)))

    @property
    def columns(self) -> tuple[str, ...]:
        """Design column names: the column itself, then ``column'``, ``column''``, ..."""
        return (self.column, *(self.column + "'" * j for j in range(1, self.k - 1)))

    @property
    def roles(self) -> tuple[Role, ...]:
        """Role of each design column: linear, then nonlinear."""
        linear: Role = "linear"
        nonlinear: Role = "nonlinear"
        return (linear, *(nonlinear,) * (self.k - 2))

    def matrix(self, data: pd.DataFrame) -> np.ndarray:
        """Design columns of ``data``: x and the k - 2 nonlinear columns at the stored knots and transform."""
        if self.knots is None or self.transform is None:
            raise ValueError(f"rcs({self.column}, {self.k}) has no knots yet: resolve it on data first")
        x = _numeric(data, self.column)
        nonlinear = np.column_stack([np.ones_like(x), x, rcs_basis(x, self.knots)]) @ np.asarray(self.transform)
        return np.column_stack([x, nonlinear])

    def factors(self, *, alone: bool) -> tuple[Factor, ...]:
        """Return the linear column (without the paper's row: its OR is not a per-unit OR) and the nonlinear ones."""
        linear = _factor_of(self.column, paper_row="", kind="continuous")
        label = linear.label
        nonlinear = tuple(
            Factor(column, kind="continuous", label=f"{label} (nonlinear {j})", unit=f"1 SD of {column}")
            for j, column in enumerate(self.columns[1:], start=1)
        )
        return (linear, *nonlinear)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form."""
        knots = list(self.knots) if self.knots is not None else None
        transform = [list(row) for row in self.transform] if self.transform is not None else None
        return {"type": self.type, "column": self.column, "k": self.k, "knots": knots, "transform": transform}


MainTerm: TypeAlias = Numeric | Categorical | Spline


@dataclass(frozen=True)
class Interaction:
    """The product of two terms: every column of one times every column of the other."""

    parts: tuple[MainTerm, MainTerm]
    type: ClassVar[str] = "interaction"

    def __post_init__(self) -> None:
        parts = tuple(self.parts)
        if len(parts) != 2 or not all(isinstance(p, (Numeric, Categorical, Spline)) for p in parts):
            raise ValueError("an interaction is of exactly two terms, each numeric, categorical or a spline")
        if parts[0].name == parts[1].name:
            raise ValueError(f'an interaction of "{parts[0].name}" with itself is not a term; use rcs() for a curve')
        object.__setattr__(self, "parts", parts)

    @property
    def name(self) -> str:
        """The term's name: ``a:b``."""
        return f"{self.parts[0].name}:{self.parts[1].name}"

    @property
    def variables(self) -> tuple[str, ...]:
        """Raw columns the term reads."""
        return self.parts[0].variables + self.parts[1].variables

    @property
    def resolved(self) -> bool:
        """Whether both parts are resolved."""
        return all(p.resolved for p in self.parts)

    def resolve(self, data: pd.DataFrame) -> Interaction:
        """Return the interaction with both parts resolved on ``data``."""
        return Interaction(tuple(p.resolve(data) for p in self.parts))  # type: ignore[arg-type]

    @property
    def columns(self) -> tuple[str, ...]:
        """Design column names: ``a_column:b_column`` for every pair."""
        return tuple(f"{a}:{b}" for a in self.parts[0].columns for b in self.parts[1].columns)

    @property
    def roles(self) -> tuple[Role, ...]:
        """Role of each design column."""
        interaction: Role = "interaction"
        return (interaction,) * len(self.columns)

    def matrix(self, data: pd.DataFrame) -> np.ndarray:
        """Design columns of ``data``: the products of the parts' columns."""
        a, b = (p.matrix(data) for p in self.parts)
        return (a[:, :, None] * b[:, None, :]).reshape(len(data), -1)

    def factors(self, *, alone: bool) -> tuple[Factor, ...]:
        """Return the products as Factors: binary when both parts are 0/1 indicators, else read off the data."""
        a, b = (p.factors(alone=False) for p in self.parts)
        out = []
        for fa in a:
            for fb in b:
                binary = fa.kind == "binary" and fb.kind == "binary"
                out.append(
                    Factor(
                        f"{fa.name}:{fb.name}",
                        kind="binary" if binary else None,
                        label=f"{fa.label} × {fb.label}",
                        unit="interaction",
                    )
                )
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form."""
        return {"type": self.type, "parts": [p.to_dict() for p in self.parts]}


Term: TypeAlias = Numeric | Categorical | Spline | Interaction

SUMMARY_QUANTILES = {"p05": 0.05, "q1": 0.25, "median": 0.5, "q3": 0.75, "p95": 0.95}
"""Quantiles of each numeric variable kept with the terms: contrasts default to the interquartile range (as
``rms::summary`` does) and curves span the 5th to 95th percentile."""


def main_parts(term: Term) -> tuple[MainTerm, ...]:
    """Return the main terms a term is made of: an interaction's two parts, else the term itself."""
    return term.parts if isinstance(term, Interaction) else (term,)


def summarise(values: pd.Series, categorical: bool) -> dict[str, Any]:
    """Summarise what later calls need of a raw variable: a typical value, and quantiles or level counts."""
    if categorical or is_categorical(values):
        counts = pd.Series([_plain(v) for v in values]).value_counts(sort=True)
        return {"kind": "categorical", "typical": _plain(counts.index[0]), "n_levels": len(counts)}
    x = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    quantiles = {name: float(np.quantile(x, q)) for name, q in SUMMARY_QUANTILES.items()}
    binary = set(np.unique(x)) <= {0.0, 1.0}
    typical = float(np.mean(x) >= 0.5) if binary else quantiles["median"]
    return {
        "kind": "binary" if binary else "numeric",
        "typical": typical,
        "min": float(x.min()),
        "max": float(x.max()),
        **quantiles,
    }


_TERM_TYPES: dict[str, type] = {cls.type: cls for cls in (Numeric, Categorical, Spline, Interaction)}


def term_from_dict(values: Mapping[str, Any]) -> Term:
    """Inverse of a term's ``to_dict``; every field checked, as it may come from an edited file."""
    if not isinstance(values, Mapping):
        raise TypeError(f"a term must be a table; got {describe_value(values)}")
    kind = values.get("type")
    if kind not in _TERM_TYPES:
        raise ValueError(f"a term's type must be one of {', '.join(_TERM_TYPES)}; got {kind!r}")
    fields = {"numeric": ("column",), "categorical": ("column", "reference", "levels", "full")}
    fields |= {"spline": ("column", "k", "knots", "transform"), "interaction": ("parts",)}
    names = ("type", *fields[kind])
    required = tuple(name for name in names if name != "full")  # coded in full: stored only when true
    stored = dict(check_keys(values, names, what=f"{kind} term", required=required))
    if not isinstance(stored.get("full", False), bool):
        raise TypeError(f"a categorical term's full must be true or false; got {describe_value(stored['full'])}")
    del stored["type"]
    if kind == "interaction":
        parts = stored["parts"]
        if not isinstance(parts, list) or len(parts) != 2:
            raise ValueError(f"an interaction term holds two parts; got {describe_value(parts)}")
        return Interaction(tuple(term_from_dict(p) for p in parts))  # type: ignore[arg-type]
    if not isinstance(stored["column"], str) or not stored["column"]:
        raise TypeError(f"a term's column must be a name; got {describe_value(stored['column'])}")
    for key in ("levels", "knots", "transform"):
        if key in stored and stored[key] is not None and not isinstance(stored[key], list):
            raise TypeError(f"a term's {key} must be a list; got {describe_value(stored[key])}")
        if key in stored and stored[key] is not None:
            rows = list(stored[key])  # type: ignore[call-overload]
            stored[key] = tuple(tuple(row) if isinstance(row, list) else row for row in rows)
    return _TERM_TYPES[kind](**stored)
