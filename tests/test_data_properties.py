"""Property-based tests of load_cohort / validate_cohort and read_factor_file (Hypothesis).

Random cohorts are broken in the ways real files are: missing, duplicated,
mistyped, out-of-range and non-finite values, dropped or repeated columns,
and written with odd encodings and separators. Whatever the input, the
library either validates it to the same data or raises its own
:class:`CohortValidationError` naming a column (or, for a file it cannot
decode, the file and line); no other exception escapes.

Random factor files (TOML) hold every key with values of every TOML type:
they are read into valid Factors and Priors, or refused with a ValueError or
TypeError naming the file; no other exception escapes.
"""

from __future__ import annotations

import datetime
import decimal
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import bayes_ubpr as bu
from bayes_ubpr.exceptions import CohortValidationError
from bayes_ubpr.factors import KINDS, Factor
from bayes_ubpr.model import read_factor_file
from bayes_ubpr.priors import Prior

CONTRACT = [*bu.SIX_FACTORS, "ubpr"]
# derandomize: the same examples on every run and machine (the project's fixed-seed rule); no example database
SETTINGS = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

ODD_VALUES = st.sampled_from(
    [
        None,
        np.nan,
        pd.NA,
        math.inf,
        -math.inf,
        "",
        "abc",
        " 2 ",
        "1e3",
        "1,5",
        "nan",
        "inf",
        True,
        False,
        -1,
        0,
        2,
        1.5,
        1e300,
        -0.0,
        10**30,
        decimal.Decimal("1.5"),
        complex(1, 2),
        pd.Timestamp("2016-01-01"),
        b"1",
        "Zürich",
    ]
)


@st.composite
def broken_cohorts(draw) -> pd.DataFrame:
    seed = draw(st.integers(0, 2**16))
    n = draw(st.integers(1, 25))
    frame = bu.simulate_cohort(n=n, prevalence=0.4, seed=seed).drop(columns="true_risk", errors="ignore")
    for _ in range(draw(st.integers(0, 4))):
        column = draw(st.sampled_from(list(frame.columns)))
        action = draw(st.sampled_from(["value", "value", "as_text", "drop", "duplicate", "rename"]))
        if action == "value":
            row = draw(st.integers(0, n - 1))
            frame = frame.astype({column: object})
            frame.iloc[row, frame.columns.get_loc(column)] = draw(ODD_VALUES)
        elif action == "as_text":
            frame[column] = frame[column].astype(str)
        elif action == "drop":
            frame = frame.drop(columns=column)
        elif action == "duplicate":
            frame = pd.concat([frame, frame[[column]]], axis=1)
        else:
            frame = frame.rename(columns={column: column.upper()})
    return frame


def _outcome(call):
    """("ok", data) or ("error", exception) for the library's own error; anything else fails the test."""
    try:
        return "ok", call()
    except CohortValidationError as error:
        return "error", error


@SETTINGS
@given(frame=broken_cohorts())
def test_a_frame_validates_to_the_same_data_or_the_error_names_a_column(frame):
    snapshot = frame.copy()
    status, result = _outcome(lambda: bu.validate_cohort(frame))
    pd.testing.assert_frame_equal(frame, snapshot)  # never modified
    if status == "error":
        assert result.column is not None, result
        assert result.column in {str(c) for c in frame.columns} | set(CONTRACT), result
        assert result.column in str(result)
        return
    assert result.index.equals(frame.index) and list(result.columns) == list(frame.columns)
    for column in CONTRACT:
        values = frame[column].map(lambda v: float(v) if not isinstance(v, str) else float(v.strip()))
        np.testing.assert_array_equal(result[column].to_numpy(float), values.to_numpy(float), err_msg=column)


ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16"])
SEPARATORS = st.sampled_from([",", ";", "\t", "|"])


@settings(SETTINGS, max_examples=40)  # each example writes and reads a file
@given(frame=broken_cohorts(), encoding=ENCODINGS, separator=SEPARATORS, declare=st.booleans())
def test_a_csv_file_loads_to_the_same_data_or_the_error_names_a_column_or_line(
    tmp_path_factory, frame, encoding, separator, declare
):
    frame = frame.assign(site=["Besançon", "Zürich", "Basel"] * (len(frame) // 3) + ["Köln"] * (len(frame) % 3))
    path = tmp_path_factory.mktemp("csv") / "cohort.csv"
    text = frame.to_csv(index=False, sep=separator)
    path.write_bytes(text.encode(encoding, errors="replace"))
    status, result = _outcome(lambda: bu.load_cohort(path, encoding=encoding if declare else None))
    if status == "error":
        if result.column is None:  # a file-level error: it names the file and says how to fix it
            assert str(path) in str(result) and "\n" not in str(result), result
        else:
            assert result.column in str(result)
        if not declare and encoding in ("utf-8", "utf-8-sig"):
            assert result.column is not None, result  # UTF-8 files are read without being told
        return
    # what pandas itself reads from the same text (one parser, so strings like " 2 " are read the same way)
    expected = bu.validate_cohort(pd.read_csv(path, sep=separator, encoding=encoding))
    pd.testing.assert_frame_equal(result, expected)
    assert result["site"].str.len().gt(0).all()


@pytest.mark.parametrize("value", [complex(1, 2), pd.Timestamp("2016-01-01"), b"yes", decimal.Decimal("2")])
def test_odd_python_objects_in_a_factor_column(value):
    frame = bu.simulate_cohort(n=10, prevalence=0.4, seed=1).astype({"depression": object})
    frame.loc[3, "depression"] = value
    with pytest.raises(CohortValidationError, match=r'"depression" must be'):
        bu.validate_cohort(frame)


# ----------------------------------------------------------------------------- factor files

FILE_KEYS = ["kind", "label", "unit", "scale", "range", "domain", "coding", "prior"]
PRIOR_KEYS = ["family", "mu", "sigma", "nu", "per"]
MISSPELT = ["lable", "colour", "name", "paper_row", "Kind", "sigam", "sd"]
WORDS = ["binary", "count", "continuous", "normal", "student_t", "laplace", "unit", "sd", "", "0-20", "x"]
TOML_SCALARS = st.one_of(
    st.sampled_from(WORDS),
    st.text(max_size=8),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, 1, -1, 2, 10**30, 10**400]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
)
TOML_VALUES = st.recursive(
    TOML_SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(PRIOR_KEYS + MISSPELT), inner, max_size=3)
    ),
    max_leaves=6,
)
NUMBERS = st.one_of(st.integers(-5, 500), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([10**400]))
FACTOR_NAMES = st.sampled_from(["crp", "depression", "bmd_tscore_abs", "age", "two words", "ünï", ""]) | st.text(
    max_size=6
)


VALID_FIELDS = {
    "kind": st.sampled_from(KINDS),
    "label": st.text(min_size=1, max_size=8),
    "unit": st.text(min_size=1, max_size=8),
    "scale": st.floats(1e-6, 1e6) | st.integers(1, 1000),
    "range": st.tuples(st.integers(-100, 0), st.floats(1.0, 1e3)).map(list),
    "domain": st.text(max_size=8),
    "coding": st.text(max_size=8),
    "prior": st.fixed_dictionaries(
        {"mu": st.floats(-5, 5), "sigma": st.floats(0.01, 10)}, optional={"per": st.sampled_from(["unit", "sd"])}
    ),
}
"""A valid value of each key of a factor file."""


@st.composite
def factor_file_tables(draw) -> dict:
    """One [factors.<name>] table: any keys, mostly known ones, each with a valid value or one of any TOML type."""
    table = {}
    keys = draw(st.lists(st.sampled_from(FILE_KEYS), max_size=5, unique=True))
    if draw(st.integers(0, 4)) == 0:
        keys.append(draw(st.sampled_from(MISSPELT[:4])))
    for key in keys:
        if key == "range":
            odd = st.lists(NUMBERS, max_size=3) | TOML_VALUES
        elif key == "prior":
            odd = st.dictionaries(st.sampled_from(PRIOR_KEYS + MISSPELT[-2:]), NUMBERS | TOML_SCALARS, max_size=4)
        elif key == "scale":
            odd = NUMBERS | TOML_VALUES
        else:
            odd = TOML_VALUES
        table[key] = draw(VALID_FIELDS[key] if key in VALID_FIELDS and draw(st.integers(0, 3)) else odd)
    return table


def _toml_string(text: str) -> str:
    escaped = (f"\\u{ord(c):04x}" if c in '"\\' or ord(c) < 0x20 or ord(c) == 0x7F else c for c in text)
    return '"' + "".join(escaped) + '"'


def _toml(value: object) -> str:
    """TOML text of a value (TOML has no null: the strategies never make one)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else "inf"
            if value == math.inf
            else "-inf"
            if value == -math.inf
            else repr(value)
        )
    if isinstance(value, (int, datetime.date)):
        return str(value) if isinstance(value, int) else value.isoformat()
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    assert isinstance(value, dict)
    return "{" + ", ".join(f"{_toml_string(k)} = {_toml(v)}" for k, v in value.items()) + "}"


def _factor_file(tables: dict[str, dict], top: dict) -> str:
    lines = [f"{_toml_string(key)} = {_toml(value)}" for key, value in top.items()]
    for name, table in tables.items():
        lines.append(f"[factors.{_toml_string(name)}]")
        lines.extend(f"{_toml_string(key)} = {_toml(value)}" for key, value in table.items())
    return "\n".join(lines) + "\n"


def _assert_valid(factor: Factor) -> None:
    assert isinstance(factor.name, str) and factor.name
    assert factor.kind is None or factor.kind in KINDS
    assert all(isinstance(getattr(factor, key), str) for key in ("label", "unit", "coding", "paper_row"))
    assert factor.domain is None or isinstance(factor.domain, str)
    assert factor.scale is None or (type(factor.scale) is float and math.isfinite(factor.scale) and factor.scale > 0)
    if factor.range is not None:
        low, high = factor.range
        assert type(low) is float and type(high) is float and math.isfinite(low) and math.isfinite(high)
        assert low < high


@settings(SETTINGS, max_examples=200)  # reading a small TOML file takes a millisecond
@given(
    tables=st.dictionaries(FACTOR_NAMES, factor_file_tables(), min_size=1, max_size=3),
    top=st.integers(0, 9).flatmap(lambda k: st.just({}) if k else st.fixed_dictionaries({"outcome": TOML_SCALARS})),
)
def test_a_factor_file_gives_valid_factors_or_an_error_naming_the_file(tmp_path_factory, tables, top):
    path = tmp_path_factory.mktemp("toml") / "factors.toml"
    path.write_text(_factor_file(tables, top), encoding="utf-8")
    try:
        factors, priors = read_factor_file(path)
    except (ValueError, TypeError) as error:
        assert str(path) in str(error), error
        event("refused")
        return
    event("read")
    assert [f.name for f in factors] == list(tables)
    for factor in factors:
        _assert_valid(factor)
    assert set(priors) <= set(tables) and all(isinstance(p, Prior) for p in priors.values())
    for prior in priors.values():
        assert all(math.isfinite(v) for v in (prior.mu, prior.sigma, prior.nu or 1.0)) and prior.sigma > 0


VALID_TABLES = st.fixed_dictionaries({}, optional=VALID_FIELDS)


@settings(SETTINGS, max_examples=50)
@given(tables=st.dictionaries(st.text(min_size=1, max_size=6), VALID_TABLES, min_size=1, max_size=3))
def test_a_factor_file_of_valid_fields_is_read_as_written(tmp_path_factory, tables):
    path = tmp_path_factory.mktemp("toml") / "factors.toml"
    path.write_text(_factor_file(tables, {}), encoding="utf-8")
    factors, priors = read_factor_file(path)
    for factor, (name, table) in zip(factors, tables.items(), strict=True):
        settings_ = {key: value for key, value in table.items() if key != "prior"}
        if "range" in settings_:
            settings_["range"] = tuple(float(v) for v in settings_["range"])
        assert factor.name == name
        for key, value in settings_.items():
            assert getattr(factor, key) == value, key
        base = bu.RISK_FACTORS.get(name) or Factor(name)
        for key in {"kind", "scale", "range", "domain", "coding"} - settings_.keys():
            assert getattr(factor, key) == getattr(base, key), key
        _assert_valid(factor)
        if "prior" in table:
            assert priors[name] == Prior(**table["prior"])
