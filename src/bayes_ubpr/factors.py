"""What a risk factor is: a column of the data with a kind, a label and a reference scale.

A :class:`Factor` is the library's whole knowledge of one column. The paper's
fifteen Table 4 factors are a built-in catalogue of them
(:data:`bayes_ubpr.paper.RISK_FACTORS`); any other column becomes a Factor
whose missing parts are read off the data by :meth:`Factor.resolve`:

* kind: 0/1 (or bool) values are ``"binary"``, whole numbers ``"count"``
  (below 2**63 in magnitude, so that they fit a 64-bit integer column),
  anything else ``"continuous"``;
* reference scale (the SD that per-SD priors refer to): the SD of the column
  in the data being fitted, ``sqrt(q (1 - q))`` for a binary column with a
  proportion q of ones. This is the autoscaling convention of rstanarm's
  ``autoscale = TRUE`` and of Bambi's default priors; the scale used is
  recorded in the fit, so a fit states exactly what prior it had;
* label: the column name.

Pure Python and numpy: nothing here depends on PyMC.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal, get_args

import numpy as np

from bayes_ubpr._validate import check_choice, check_keys, check_text, describe_value, is_finite_real, is_real, shown

__all__ = ["INT64_BOUND", "KINDS", "Factor", "FactorKind", "infer_kind", "is_count_value"]

FactorKind = Literal["binary", "count", "continuous"]
KINDS: tuple[str, ...] = get_args(FactorKind)

_DEFAULT_UNITS = {"binary": "1 vs 0", "count": "1 unit", "continuous": "1 unit"}


@dataclass(frozen=True)
class Factor:
    """One risk factor: a data column with its kind, label and reference scale.

    Parameters
    ----------
    name : str
        Column name in the data.
    kind : {"binary", "count", "continuous"}, optional
        Measurement type. ``None``: inferred from the data when fitted.
    label : str, optional
        Human-readable label for tables and figures (default: ``name``).
    unit : str, optional
        One step of the factor, so an odds ratio reads "per <unit>"
        (default "1 vs 0" for binary factors, "1 unit" otherwise).
    scale : float, optional
        Reference SD of the factor, to which per-SD priors refer. ``None``:
        the SD of the fitted data (see the module docstring).
    range : (float, float), optional
        Closed plausible range; values outside are rejected as likely unit or
        sign errors. ``None``: no range check.
    domain : str, optional
        Clinical domain, for domain shrinkage (:class:`~bayes_ubpr.priors.DomainShrinkage`).
    coding : str, optional
        What the values mean, shown in error messages.
    paper_row : str, optional
        Row name in the paper's tables (catalogue factors only).

    Raises
    ------
    ValueError
        For an empty name, an unknown kind, a scale that is not positive and
        finite, or a range that is not two finite numbers with low < high.
    TypeError
        For a field of the wrong type: a label, unit, domain, coding or
        paper_row that is not a string, a scale that is not a real number
        (``True`` is not one), a range that is not a pair of numbers. Every
        message names the factor and the field.

    Examples
    --------
    >>> from bayes_ubpr.factors import Factor
    >>> cleft = Factor("intravertebral_cleft", kind="binary", label="Intravertebral cleft")
    >>> cleft.unit
    '1 vs 0'
    >>> Factor("crp").resolve([3.0, 8.5, 12.0, 4.5]).kind
    'continuous'
    """

    name: str
    kind: FactorKind | None = None
    label: str = ""
    unit: str = ""
    scale: float | None = None
    range: tuple[float, float] | None = None
    domain: str | None = None
    coding: str = ""
    paper_row: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Factor name must be a non-empty string; got {self.name!r}")
        who = f'Factor "{self.name}"'
        for text in ("label", "unit", "coding", "paper_row"):
            check_text(getattr(self, text), name=f"{who} {text}")
        if self.domain is not None:
            check_text(self.domain, name=f"{who} domain")
        if self.kind is not None:
            check_choice(self.kind, KINDS, name=f"{who} kind")
        if not self.label:
            object.__setattr__(self, "label", self.name)
        if not self.unit and self.kind is not None:
            object.__setattr__(self, "unit", _DEFAULT_UNITS[self.kind])
        if self.scale is not None:
            if not is_real(self.scale):
                raise TypeError(f"{who} scale must be a positive finite number; got {describe_value(self.scale)}")
            if not is_finite_real(self.scale) or not self.scale > 0:
                raise ValueError(f"{who} scale must be a positive finite number; got {shown(self.scale)}")
            object.__setattr__(self, "scale", float(self.scale))
        if self.range is not None:
            object.__setattr__(self, "range", _checked_range(self.range, who))

    @property
    def resolved(self) -> bool:
        """Whether kind and scale are known (nothing is left to read off data)."""
        return self.kind is not None and self.scale is not None

    def resolve(self, values: Any) -> Factor:
        """Return this factor with its kind and scale read off ``values`` where not given.

        Parameters
        ----------
        values : array-like
            The factor's column, numeric and complete (as after
            :func:`bayes_ubpr.validate_cohort`).

        Raises
        ------
        ValueError
            If a declared kind contradicts the data (a binary factor with
            values other than 0/1, a count with fractions), or the column is
            constant so that no scale can be taken from it.
        """
        x = np.asarray(values, dtype=float)
        kind = self.kind if self.kind is not None else infer_kind(x)
        _check_kind(self.name, kind, x)
        scale = self.scale
        if scale is None:
            scale = _data_scale(x, kind)
            if not scale > 0:
                raise ValueError(
                    f'Factor "{self.name}" is constant in the data (every value is {x[0]:g}): '
                    "its odds ratio cannot be estimated. Leave it out of factors."
                )
        if kind == self.kind and scale == self.scale:
            return self
        return replace(self, kind=kind, scale=scale, unit=self.unit or _DEFAULT_UNITS[kind])

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form, for JSON in ``InferenceData.attrs``."""
        out = asdict(self)
        out["range"] = list(self.range) if self.range is not None else None
        return out

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Factor:
        """Inverse of :meth:`to_dict`.

        Raises
        ------
        ValueError, TypeError
            Naming the key, for a key that is not a field, no ``name``, or a
            field of the wrong type or value (as the constructor checks them).
        """
        name = values.get("name") if isinstance(values, Mapping) else None
        what = f'Factor "{name}"' if isinstance(name, str) else "Factor"
        return cls(**check_keys(values, _FIELDS, what=what, required=("name",)))  # type: ignore[arg-type]


_FIELDS = tuple(f.name for f in fields(Factor))

INT64_BOUND = 2.0**63
"""Whole numbers from -2**63 up to (not including) this bound fit a 64-bit integer column; larger ones
(3e19, say) are continuous values, kept as floats."""


def is_count_value(values: Any) -> np.ndarray:
    """Elementwise: whether each value is a whole number that a 64-bit integer holds exactly.

    Examples
    --------
    >>> from bayes_ubpr.factors import is_count_value
    >>> is_count_value([2.0, 2.5, 3e19]).tolist()
    [True, False, False]
    """
    x = np.asarray(values, dtype=float)
    return (x == np.round(x)) & (x >= -INT64_BOUND) & (x < INT64_BOUND)


def infer_kind(values: Any) -> FactorKind:
    """Kind of a numeric column: 0/1 → "binary", whole numbers → "count", else "continuous".

    Whole numbers beyond the range of a 64-bit integer (see :func:`is_count_value`) are "continuous".

    Examples
    --------
    >>> from bayes_ubpr.factors import infer_kind
    >>> infer_kind([0, 1, 1]), infer_kind([1, 2, 5]), infer_kind([0.5, 2.0])
    ('binary', 'count', 'continuous')
    """
    x = np.asarray(values, dtype=float)
    if np.isin(x, (0.0, 1.0)).all():
        return "binary"
    if np.all(is_count_value(x)):
        return "count"
    return "continuous"


def _check_kind(name: str, kind: str, x: np.ndarray) -> None:
    if kind == "binary" and not np.isin(x, (0.0, 1.0)).all():
        shown = ", ".join(f"{v:g}" for v in np.unique(x[~np.isin(x, (0.0, 1.0))])[:3])
        raise ValueError(f'Factor "{name}" is declared binary, but the data hold values other than 0/1 ({shown}).')
    if kind == "count" and not np.all(x == np.round(x)):
        shown = ", ".join(f"{v:g}" for v in x[x != np.round(x)][:3])
        raise ValueError(f'Factor "{name}" is declared a count, but the data hold fractions ({shown}).')


def _data_scale(x: np.ndarray, kind: str) -> float:
    """Return the reference SD read off the data: sqrt(q (1 - q)) for binary, the sample SD otherwise."""
    if kind == "binary":
        q = float(x.mean())
        return math.sqrt(q * (1.0 - q))
    return float(x.std(ddof=1)) if len(x) > 1 else 0.0


def _checked_range(value: object, who: str) -> tuple[float, float]:
    """Return a factor's range as two floats after checking it is a pair of finite numbers, low < high."""
    expected = f"{who} range must be a pair of finite numbers (low, high)"
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise TypeError(f"{expected}; got {describe_value(value)}")
    if len(value) != 2:
        raise ValueError(f"{expected}; got {len(value)} value(s): {shown(value)}")
    if not all(is_real(v) for v in value):
        raise TypeError(f"{expected}; got {shown(value)}")
    if not all(is_finite_real(v) for v in value):
        raise ValueError(f"{expected}; got {shown(value)}")
    low, high = (float(v) for v in value)
    if not low < high:
        raise ValueError(f"{who} range must be (low, high) with low < high; got {value!r}")
    return low, high
