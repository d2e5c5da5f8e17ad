"""Loading and validation: every bad input gets a specific error; nothing is mutated or dropped."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

import bayes_ubpr as bu
from bayes_ubpr.exceptions import CohortValidationError
from bayes_ubpr.factors import infer_kind


@pytest.fixture
def cohort() -> pd.DataFrame:
    return bu.simulate_cohort(n=60, prevalence=0.3, seed=4)


def test_valid_cohort_passes_unchanged_and_complete(cohort):
    before = cohort.copy()
    clean = bu.validate_cohort(cohort, factors=bu.RISK_FACTORS, id_column="patient_id")
    pd.testing.assert_frame_equal(cohort, before)
    assert len(clean) == len(cohort)
    assert clean.index.equals(cohort.index)
    assert clean["n_fractures"].dtype == np.int64
    assert clean["cement_volume_ml"].dtype == np.float64
    assert clean is not cohort


def test_strings_and_booleans_are_coerced_without_mutating(cohort):
    messy = cohort.copy()
    messy["fascia_injury"] = messy["fascia_injury"].astype(bool)
    messy["cement_volume_ml"] = messy["cement_volume_ml"].astype(str)
    snapshot = messy.copy()
    clean = bu.validate_cohort(messy)
    pd.testing.assert_frame_equal(messy, snapshot)
    np.testing.assert_array_equal(clean["fascia_injury"], cohort["fascia_injury"])
    np.testing.assert_allclose(clean["cement_volume_ml"], cohort["cement_volume_ml"])


def test_empty_frame():
    with pytest.raises(CohortValidationError, match="empty"):
        bu.validate_cohort(pd.DataFrame(columns=[*bu.SIX_FACTORS, "ubpr"]))


def test_not_a_dataframe():
    with pytest.raises(TypeError, match="pandas DataFrame; got dict"):
        bu.validate_cohort({"ubpr": [0, 1]})


def test_missing_column_with_suggestion(cohort):
    renamed = cohort.rename(columns={"fascia_injury": "fascia_injry"})
    with pytest.raises(CohortValidationError, match=r'fascia_injury\.? Did you mean "fascia_injry"') as info:
        bu.validate_cohort(renamed)
    assert info.value.column == "fascia_injury"


def test_missing_outcome_only_when_required(cohort):
    no_outcome = cohort.drop(columns="ubpr")
    with pytest.raises(CohortValidationError, match=r"Missing required column.*ubpr"):
        bu.validate_cohort(no_outcome)
    assert len(bu.validate_cohort(no_outcome, require_outcome=False)) == len(cohort)


def test_unknown_factor_name(cohort):
    # Any column may be a factor; one that is not in the data gets the closest column name.
    with pytest.raises(
        CohortValidationError, match=r'Missing required column\(s\): depresion. Did you mean "depression"'
    ):
        bu.validate_cohort(cohort, factors=["depresion"])


def test_non_numeric_value_names_rows(cohort):
    bad = cohort.astype({"cement_volume_ml": object})
    bad.loc[[3, 7], "cement_volume_ml"] = "five"
    with pytest.raises(
        CohortValidationError, match=r'"cement_volume_ml" must be numeric; rows with index labels 3, 7 .*five'
    ) as info:
        bu.validate_cohort(bad)
    assert info.value.rows == [3, 7]


def test_missing_value_names_rows(cohort):
    bad = cohort.copy()
    bad.loc[5, "bmd_tscore_abs"] = np.nan
    with pytest.raises(
        CohortValidationError, match=r'"bmd_tscore_abs" has missing values in rows with index labels 5\b'
    ):
        bu.validate_cohort(bad)


def test_infinite_value(cohort):
    bad = cohort.copy()
    bad.loc[2, "age"] = np.inf
    with pytest.raises(CohortValidationError, match='"age" has infinite values in rows with index labels 2'):
        bu.validate_cohort(bad, factors=[*bu.SIX_FACTORS, "age"])
    assert len(bu.validate_cohort(bad)) == len(bad)  # columns outside the model are left alone


def test_binary_outside_zero_one(cohort):
    bad = cohort.copy()
    bad.loc[[1, 4], "depression"] = 2
    with pytest.raises(
        CohortValidationError, match=r'"depression" must be 0 or 1 .*rows with index labels 1, 4 have 2, 2'
    ):
        bu.validate_cohort(bad)


def test_many_bad_rows_are_summarised(cohort):
    bad = cohort.copy()
    bad["depression"] = 7
    with pytest.raises(CohortValidationError, match=r"rows with index labels 0, 1, 2, 3, 4 \(and 55 more\)"):
        bu.validate_cohort(bad)


def test_fracture_count_must_be_whole_and_at_least_one(cohort):
    fractional = cohort.astype({"n_fractures": float})
    fractional.loc[6, "n_fractures"] = 1.5
    with pytest.raises(
        CohortValidationError, match=r'"n_fractures" must be a whole number; rows with index labels 6 have 1.5'
    ):
        bu.validate_cohort(fractional)
    zero = cohort.copy()
    zero.loc[8, "n_fractures"] = 0
    with pytest.raises(
        CohortValidationError, match=r'"n_fractures" must be at least 1 .*rows with index labels 8 have 0'
    ):
        bu.validate_cohort(zero)


def test_signed_t_score_gets_a_hint(cohort):
    bad = cohort.copy()
    bad["bmd_tscore_abs"] = -bad["bmd_tscore_abs"]
    with pytest.raises(CohortValidationError, match=r"bmd_tscore_abs.*between 0 and 10.*pass abs\(T\)"):
        bu.validate_cohort(bad)


@pytest.mark.parametrize("volume", [-2.0, 0.0, 45.0])
def test_implausible_cement_volume(cohort, volume):
    bad = cohort.copy()
    bad.loc[9, "cement_volume_ml"] = volume
    with pytest.raises(
        CohortValidationError, match=r'"cement_volume_ml" must be between 0.5 and 20 .*rows with index labels 9'
    ):
        bu.validate_cohort(bad)


def test_duplicate_and_missing_ids(cohort):
    dup = cohort.copy()
    dup.loc[10, "patient_id"] = dup.loc[11, "patient_id"]
    with pytest.raises(
        CohortValidationError, match=r"unique patient ids; ids 12 repeat in rows with index labels 10, 11"
    ):
        bu.validate_cohort(dup, id_column="patient_id")
    with pytest.raises(CohortValidationError, match=r'id_column "patient" is not a column. Did you mean "patient_id"'):
        bu.validate_cohort(cohort, id_column="patient")
    missing = cohort.astype({"patient_id": float})
    missing.loc[0, "patient_id"] = np.nan
    with pytest.raises(CohortValidationError, match="missing patient ids in rows with index labels 0"):
        bu.validate_cohort(missing, id_column="patient_id")


@pytest.mark.parametrize(("value", "which"), [(0, "no cases"), (1, "no controls")])
def test_outcome_needs_cases_and_controls(cohort, value, which):
    bad = cohort.assign(ubpr=value)
    with pytest.raises(CohortValidationError, match=which):
        bu.validate_cohort(bad)


def test_outcome_outside_zero_one(cohort):
    bad = cohort.copy()
    bad.loc[0, "ubpr"] = 3
    with pytest.raises(CohortValidationError, match='"ubpr" must be 0 or 1'):
        bu.validate_cohort(bad)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_load_cohort_round_trips(tmp_path, cohort, suffix):
    path = tmp_path / f"cohort{suffix}"
    writer = {".csv": cohort.to_csv, ".parquet": cohort.to_parquet, ".xlsx": cohort.to_excel}[suffix]
    writer(path, index=False)
    loaded = bu.load_cohort(path, factors=bu.RISK_FACTORS, id_column="patient_id")
    pd.testing.assert_frame_equal(
        loaded[list(bu.RISK_FACTORS)].reset_index(drop=True),
        bu.validate_cohort(cohort, factors=bu.RISK_FACTORS)[list(bu.RISK_FACTORS)].reset_index(drop=True),
        check_dtype=False,
    )


def test_load_cohort_errors(tmp_path):
    with pytest.raises(ValueError, match=r"unsupported file type '.json'"):
        bu.load_cohort(tmp_path / "cohort.json")
    with pytest.raises(FileNotFoundError, match="No cohort file"):
        bu.load_cohort(tmp_path / "absent.csv")


# --- Files as users save them: duplicate headers, broken files, encodings, and where the bad rows are ---


def test_csv_with_a_duplicated_column_is_refused(tmp_path, cohort):
    path = tmp_path / "cohort.csv"
    cohort.assign(extra=0).rename(columns={"extra": "depression"}).to_csv(path, index=False)
    with pytest.raises(
        CohortValidationError, match=r'"depression" appears 2 times in the header of cohort\.csv'
    ) as info:
        bu.load_cohort(path)
    assert info.value.column == "depression"


def test_frame_with_duplicated_column_names_is_refused(cohort):
    doubled = pd.concat([cohort, cohort[["depression"]]], axis=1)
    with pytest.raises(CohortValidationError, match=r'"depression" appears 2 times') as info:
        bu.validate_cohort(doubled)
    assert info.value.column == "depression"


def test_unnamed_csv_columns_are_not_duplicates(tmp_path, cohort):
    path = tmp_path / "cohort.csv"
    text = cohort.to_csv(index=False)
    header, body = text.split("\n", 1)
    path.write_text(",," + header + "\n" + "".join(",," + line + "\n" for line in body.splitlines()))
    assert len(bu.load_cohort(path)) == len(cohort)


@pytest.mark.parametrize("content", [b"PK\x03\x04 not really a zip", b"patient_id,ubpr\n1,0\n", b""])
def test_a_corrupt_excel_file_says_so(tmp_path, content):
    path = tmp_path / "cohort.xlsx"
    path.write_bytes(content)
    with pytest.raises(CohortValidationError, match=rf"not a readable Excel file: {re.escape(str(path))} \("):
        bu.load_cohort(path)


def _zip_without_workbook() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "not a workbook")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"patient_id,ubpr\n1,0\n", "its content is neither an .xlsx workbook (a zip archive) nor an .xls one"),
        (b"", "its content is neither an .xlsx workbook (a zip archive) nor an .xls one"),
        (_zip_without_workbook(), "a zip archive without the workbook (xl/workbook.xml) of an .xlsx file"),
    ],
)
def test_a_corrupt_excel_file_gives_a_reason_without_advice_no_option_follows(tmp_path, content, reason):
    # pandas' own reason ends "you must specify an engine manually": no option of load_cohort chooses an engine
    path = tmp_path / "cohort.xlsx"
    path.write_bytes(content)
    message = rf"^not a readable Excel file: {re.escape(str(path))} \({re.escape(reason)}\)$"
    with pytest.raises(CohortValidationError, match=message):
        bu.load_cohort(path)


def test_a_corrupt_parquet_file_says_so(tmp_path):
    path = tmp_path / "cohort.parquet"
    path.write_bytes(b"PAR1 garbage")
    with pytest.raises(CohortValidationError, match=rf"not a readable Parquet file: {re.escape(str(path))} \("):
        bu.load_cohort(path)


def test_latin1_csv_names_the_line_and_the_fix(tmp_path, cohort):
    path = tmp_path / "cohort.csv"
    labelled = cohort.assign(site="Zürich")
    labelled.loc[4, "site"] = "Besançon"
    path.write_bytes(labelled.to_csv(index=False).encode("latin-1"))
    # "Zürich" is on every line from line 2, so the first undecodable byte is on line 2
    with pytest.raises(CohortValidationError, match=r"cohort\.csv.* line 2 .*UTF-8.*encoding=") as info:
        bu.load_cohort(path)
    assert "\n" not in str(info.value)
    loaded = bu.load_cohort(path, encoding="latin-1")
    assert loaded.loc[4, "site"] == "Besançon"


def test_utf8_with_byte_order_mark_is_read(tmp_path, cohort):
    path = tmp_path / "cohort.csv"
    path.write_bytes(cohort.to_csv(index=False).encode("utf-8-sig"))
    loaded = bu.load_cohort(path)
    assert list(loaded.columns) == list(cohort.columns)


def test_semicolon_separated_csv_is_read(tmp_path, cohort):
    path = tmp_path / "cohort.csv"
    cohort.to_csv(path, index=False, sep=";")
    pd.testing.assert_frame_equal(bu.load_cohort(path), bu.validate_cohort(cohort), check_dtype=False)


def test_unknown_encoding_is_a_clear_error(tmp_path, cohort):
    path = tmp_path / "cohort.csv"
    cohort.to_csv(path, index=False)
    with pytest.raises(ValueError, match="encoding 'latin-9x' is not a known text encoding"):
        bu.load_cohort(path, encoding="latin-9x")


def _with_bad_depression(cohort: pd.DataFrame) -> pd.DataFrame:
    bad = cohort.copy()
    bad.loc[[3, 10], "depression"] = 2
    return bad


def test_frame_errors_name_index_labels(cohort):
    bad = _with_bad_depression(cohort).set_index(cohort.index + 100)
    with pytest.raises(CohortValidationError, match=r"rows with index labels 103, 110 have 2, 2") as info:
        bu.validate_cohort(bad)
    assert info.value.rows == [103, 110]


def test_csv_errors_name_file_lines(tmp_path, cohort):
    path = tmp_path / "cohort.csv"
    _with_bad_depression(cohort).to_csv(path, index=False)
    with pytest.raises(CohortValidationError, match=r"CSV lines 5, 12 have 2, 2"):
        bu.load_cohort(path)
    # blank lines are skipped when reading, and counted in the line numbers
    text = path.read_text().splitlines()
    path.write_text("\n".join([*text[:3], "", "  ", *text[3:]]) + "\n\n")
    with pytest.raises(CohortValidationError, match=r"CSV lines 7, 14 have 2, 2"):
        bu.load_cohort(path)


def test_csv_line_numbers_count_quoted_line_breaks(tmp_path, cohort):
    path = tmp_path / "cohort.csv"
    noted = _with_bad_depression(cohort).assign(note="ok")
    noted.loc[1, "note"] = "two\nlines"
    noted.to_csv(path, index=False)
    with pytest.raises(CohortValidationError, match=r"CSV lines 6, 13 have 2, 2"):
        bu.load_cohort(path)


def test_excel_and_parquet_errors_name_their_rows(tmp_path, cohort):
    bad = _with_bad_depression(cohort)
    bad.to_excel(tmp_path / "cohort.xlsx", index=False)
    with pytest.raises(CohortValidationError, match=r"Excel rows 5, 12 have 2, 2"):
        bu.load_cohort(tmp_path / "cohort.xlsx")
    bad.to_parquet(tmp_path / "cohort.parquet", index=False)
    with pytest.raises(CohortValidationError, match=r"Parquet rows 4, 11 \(counting from 1\) have 2, 2"):
        bu.load_cohort(tmp_path / "cohort.parquet")


def test_load_cohort_keeps_a_default_index(tmp_path, cohort):
    path = tmp_path / "cohort.csv"
    cohort.to_csv(path, index=False)
    assert bu.load_cohort(path).index.equals(pd.RangeIndex(len(cohort)))


def test_parquet_with_a_duplicated_column_is_refused(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "cohort.parquet"
    pq.write_table(pa.table([pa.array([1, 2]), pa.array([0, 1])], names=["depression", "depression"]), path)
    with pytest.raises(CohortValidationError, match=r'"depression" appears 2 times in cohort\.parquet'):
        bu.load_cohort(path)


BEYOND_INT64 = [3e19, -4e19, 5e19, 1e20]  # whole numbers an int64 cannot hold (2**63 is about 9.2e18)


def _big_cohort(cohort: pd.DataFrame) -> pd.DataFrame:
    return cohort.assign(big=np.resize(BEYOND_INT64, len(cohort)))


def test_whole_numbers_beyond_int64_are_kept_as_floats_and_read_as_continuous(cohort):
    frame = _big_cohort(cohort)
    checked = bu.validate_cohort(frame, factors=["big", "n_fractures"])
    assert checked["big"].dtype == np.float64  # was int64, every value -9223372036854775808
    np.testing.assert_array_equal(checked["big"].to_numpy(), frame["big"].to_numpy())
    assert checked["n_fractures"].dtype == np.int64  # counts that fit stay integers
    assert infer_kind(checked["big"]) == "continuous"
    assert bu.ModelSpec(factors=["big"]).resolve(checked).factors[0].kind == "continuous"
    wide = bu.validate_cohort(cohort.assign(big=2**62), factors=["big"], require_outcome=False)
    assert wide["big"].dtype == np.int64 and (wide["big"] == 2**62).all()  # inside the range: unchanged


def test_whole_numbers_beyond_int64_in_a_csv_file(tmp_path, cohort):
    frame = _big_cohort(cohort)
    path = tmp_path / "cohort.csv"
    frame.astype({"big": object}).assign(big=[str(int(v)) for v in frame["big"]]).to_csv(path, index=False)
    assert ",30000000000000000000\n" in path.read_text(encoding="utf-8")  # written as whole numbers, not 3e+19
    loaded = bu.load_cohort(path, factors=["big"])
    assert loaded["big"].dtype == np.float64
    np.testing.assert_array_equal(loaded["big"].to_numpy(), frame["big"].to_numpy())
    assert infer_kind(loaded["big"]) == "continuous"


def test_a_declared_count_beyond_int64_is_refused_with_its_column(tmp_path, cohort):
    count = bu.Factor("big", kind="count")
    message = (
        r'Column "big" must be a whole number between -9\.22337e\+18 and 9\.22337e\+18 \(counts are stored as '
        r"64-bit integers\); {rows} have 3e\+19, -4e\+19, 5e\+19\. Declare the factor kind=\"continuous\""
    )
    with pytest.raises(
        CohortValidationError, match=message.format(rows=r"rows with index labels 0, 1, 2, 3, 4 \(and 55 more\)")
    ) as info:
        bu.validate_cohort(_big_cohort(cohort), factors=[count])
    assert info.value.column == "big"
    path = tmp_path / "cohort.csv"
    _big_cohort(cohort).to_csv(path, index=False)
    with pytest.raises(CohortValidationError, match=message.format(rows=r"CSV lines 2, 3, 4, 5, 6 \(and 55 more\)")):
        bu.load_cohort(path, factors=[count])


def test_columns_are_checked_for_presence_and_completeness_only(tmp_path, cohort):
    # A formula's raw columns: text categories are its business (the terms read them), not the loader's.
    raw = cohort.assign(level=np.where(cohort.index % 3 == 0, "thoracic", "lumbar"), hospital="North")
    path = tmp_path / "raw.csv"
    raw.to_csv(path, index=False)
    loaded = bu.load_cohort(path, factors=(), columns=["level", "age", "hospital"])
    assert loaded["level"].tolist() == raw["level"].tolist()
    pd.testing.assert_series_equal(loaded["age"], raw["age"], check_dtype=False)  # left as it is
    with pytest.raises(CohortValidationError, match=r'Missing required column\(s\): levl\. Did you mean "level"\?'):
        bu.load_cohort(path, factors=(), columns=["levl"])
    raw.loc[[2, 5], "level"] = None
    raw.to_csv(path, index=False)
    with pytest.raises(CohortValidationError, match=r'Column "level" has missing values in CSV lines 4, 7;') as info:
        bu.load_cohort(path, factors=(), columns=["level"])
    assert info.value.rows == [2, 5]
    with pytest.raises(CohortValidationError, match=r'Column "ubpr" is both the outcome and a factor'):
        bu.validate_cohort(raw, factors=(), columns=["ubpr"])
    with pytest.raises(TypeError, match=r"columns must be a sequence of column names; got 'level'"):
        bu.validate_cohort(raw, factors=(), columns="level")
    with pytest.raises(ValueError, match="at least one risk factor"):  # without columns, factors stay required
        bu.validate_cohort(raw, factors=())
