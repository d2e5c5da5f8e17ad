"""Argument checks shared by the public functions, with messages that say what to fix."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable, Sequence

import pandas as pd


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


def one_line(error: BaseException) -> str:
    """Return an exception's message on one line (for one-line CLI errors), or its type if it has none."""
    return " ".join(str(error).split()) or type(error).__name__


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
