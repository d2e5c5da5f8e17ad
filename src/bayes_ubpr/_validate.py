"""Argument checks shared by the public functions, with messages that say what to fix."""

from __future__ import annotations

import contextlib
import difflib
import math
import numbers
import reprlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar

import numpy as np
import pandas as pd

from bayes_ubpr.exceptions import one_line as one_line  # defined there, beside the errors, for the light CLI


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """Return ' Did you mean "x"?' for the closest choice (ignoring case), or an empty string."""
    by_lower = {str(choice).lower(): str(choice) for choice in choices}
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), n=1, cutoff=0.6)
    return f' Did you mean "{by_lower[close[0]]}"?' if close else ""


def check_names(names: Iterable[str], allowed: Collection[str], *, what: str) -> None:
    """Raise ValueError naming the first unknown name, the allowed ones and a suggestion."""
    for name in names:
        if name not in allowed:
            raise ValueError(
                f'Unknown {what} "{name}".{did_you_mean(name, allowed)} Allowed: {", ".join(sorted(allowed))}.'
            )


def check_choice(value: object, choices: Sequence[str], *, name: str) -> None:
    """Raise ValueError if ``value`` is not one of ``choices``."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}.{did_you_mean(str(value), choices)}")


def shown(value: object) -> str:
    """Return a repr of ``value`` cut to a readable length (a long string or a huge integer is abbreviated)."""
    return reprlib.repr(value)


def describe_value(value: object) -> str:
    """Return ``value`` as its type and a short repr, e.g. ``str '0-20'``, for one-line messages."""
    return f"{type(value).__name__} {shown(value)}"


def is_real(value: object) -> bool:
    """Whether ``value`` is a real number (Python or numpy), not a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def is_finite_real(value: object) -> bool:
    """Whether ``value`` is a finite real number, not a bool (an integer too large for a float is not finite)."""
    if not is_real(value):
        return False
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except OverflowError:
        return False


def check_text(value: object, *, name: str) -> None:
    """Raise TypeError unless ``value`` is a string."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string; got {describe_value(value)}")


def check_keys(
    values: object, allowed: Sequence[str], *, what: str, required: Collection[str] = ()
) -> Mapping[str, object]:
    """Return ``values`` after checking that it is a mapping with only ``allowed`` keys and every ``required`` one.

    Unknown keys get "did you mean": for settings read from a file or from a
    saved fit, where a key may be misspelt or lost.
    """
    if not isinstance(values, Mapping):
        raise TypeError(f"{what} must be a table of settings; got {describe_value(values)}")
    for key in values:
        if key not in allowed:
            raise ValueError(
                f"{what} has unknown key {key!r}.{did_you_mean(str(key), allowed)} Allowed: {', '.join(allowed)}."
            )
    missing = [key for key in required if key not in values]
    if missing:
        raise ValueError(f"{what} lacks {', '.join(repr(key) for key in missing)}")
    return values


def check_positive_int(value: object, *, name: str, minimum: int = 1) -> int:
    """Return ``value`` as int after checking it is a whole number >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer; got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return value


def check_probability(value: object, *, name: str) -> float:
    """Return ``value`` as float after checking 0 < value < 1."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number strictly between 0 and 1; got {value!r}") from None
    if not 0.0 < number < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1; got {value!r}")
    return number


def describe_rows(labels: Sequence[object], *, limit: int = 5) -> str:
    """Describe offending row labels: the first few, then how many more."""
    shown = ", ".join(str(label) for label in list(labels)[:limit])
    extra = len(labels) - limit
    return f"{shown} (and {extra} more)" if extra > 0 else shown


def require_dataframe(data: object, *, name: str = "data") -> pd.DataFrame:
    """Raise TypeError unless ``data`` is a pandas DataFrame."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {type(data).__name__}")
    return data


FIT_MISSING_ADVICE = 'fit(..., missing="impute") imputes them (multiple imputation); or remove those rows explicitly'
PREDICT_MISSING_ADVICE = (
    "a prediction needs every value the model reads: fill them in, or leave those patients out "
    "(the fit's imputation model is not applied to new patients)"
)
_MISSING_ADVICE: ContextVar[str] = ContextVar("bayes_ubpr_missing_advice", default=FIT_MISSING_ADVICE)


def missing_advice() -> str:
    """Return what a message about missing values tells the user to do, where it is raised (fitting by default)."""
    return _MISSING_ADVICE.get()


@contextlib.contextmanager
def advising_on_missing(advice: str) -> Iterator[None]:
    """Within the block, messages about missing values give ``advice`` (predicting, validating)."""
    token = _MISSING_ADVICE.set(advice)
    try:
        yield
    finally:
        _MISSING_ADVICE.reset(token)
