"""Property-based tests of load_cohort / validate_cohort (Hypothesis).

Random cohorts are broken in the ways real files are: missing, duplicated,
mistyped, out-of-range and non-finite values, dropped or repeated columns,
and written with odd encodings and separators. Whatever the input, the
library either validates it to the same data or raises its own
:class:`CohortValidationError` naming a column (or, for a file it cannot
decode, the file and line); no other exception escapes.
"""

from __future__ import annotations

import decimal
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bayes_ubpr as bu
from bayes_ubpr.exceptions import CohortValidationError

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
