"""Loading and validating a user's cohort against the data contract.

The contract is the set of column names in :data:`bayes_ubpr.paper.RISK_FACTORS`
plus the outcome :data:`bayes_ubpr.paper.OUTCOME`. Validation never changes the
caller's frame and never drops a row: it returns a checked copy with clean
dtypes, or raises :class:`~bayes_ubpr.exceptions.CohortValidationError` naming
the column, the first offending rows and what was expected.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
from collections import Counter
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from bayes_ubpr._validate import check_names, describe_rows, did_you_mean, one_line, require_dataframe
from bayes_ubpr.exceptions import CohortValidationError
from bayes_ubpr.paper import OUTCOME, RISK_FACTORS, SIX_FACTORS

__all__ = ["PLAUSIBLE_RANGES", "load_cohort", "validate_cohort"]

PLAUSIBLE_RANGES: dict[str, tuple[float, float]] = {
    "bmd_tscore_abs": (0.0, 10.0),
    "cement_volume_ml": (0.5, 20.0),
    "n_fractures": (1.0, 20.0),
    "age": (0.0, 120.0),
    "height_cm": (100.0, 230.0),
    "weight_kg": (20.0, 250.0),
}
"""Closed ranges outside which a value is rejected as implausible (likely a unit
or sign error): a T-score magnitude above 10, more than 20 mL of cement in one
vertebra, more than 20 treated fractures."""

_HINTS = {
    "bmd_tscore_abs": " bmd_tscore_abs is the magnitude of the T-score: pass abs(T), e.g. 3.1 for T = -3.1.",
    "cement_volume_ml": " cement_volume_ml is the volume per treated level in mL.",
    "height_cm": " Height is expected in centimetres.",
    "weight_kg": " Weight is expected in kilograms.",
}

_FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".pq": "Parquet", ".xlsx": "Excel", ".xls": "Excel"}
_DELIMITERS = (",", ";", "\t", "|")
"""Separators a CSV header is checked for; the most frequent one in the header is used."""


@dataclass(frozen=True)
class _RowNames:
    """How error messages name offending rows: a frame's index labels, or places in the file it was read from."""

    prefix: str
    place: Callable[[list], list] = list
    suffix: str = ""


_FRAME_ROWS = _RowNames("rows with index labels")
_ROW_NAMES: ContextVar[_RowNames] = ContextVar("bayes_ubpr_row_names", default=_FRAME_ROWS)


def _rows(labels: Sequence[object]) -> str:
    """'rows with index labels 3, 10' for a frame; 'CSV lines 5, 12' while :func:`load_cohort` validates a file."""
    names = _ROW_NAMES.get()
    return f"{names.prefix} {describe_rows(names.place(list(labels)))}{names.suffix}"


def load_cohort(
    path: str | PathLike[str],
    *,
    factors: Sequence[str] = SIX_FACTORS,
    require_outcome: bool = True,
    id_column: str | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """Read a cohort from CSV, Parquet or Excel and validate it.

    Parameters
    ----------
    path : str or path-like
        File ending in ``.csv``, ``.parquet``/``.pq`` or ``.xlsx``/``.xls``.
    factors, require_outcome, id_column
        Passed to :func:`validate_cohort`.
    encoding : str, optional
        Text encoding of a CSV file. By default UTF-8, with or without a
        byte-order mark; pass e.g. ``"latin-1"`` or ``"cp1252"`` for a file
        saved by older Windows software. The separator (comma, semicolon, tab
        or ``|``) is read from the header line.

    Returns
    -------
    pandas.DataFrame
        The validated cohort, one row per patient, every row kept.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file type is not supported, or ``encoding`` is not a known encoding.
    CohortValidationError
        If the file cannot be read (not valid text in its encoding, naming
        the line; not a readable Excel or Parquet file), a column name appears
        twice in its header, or the contents break the data contract (see
        :func:`validate_cohort`). Offending rows are named by their place in
        the file: CSV line numbers (the header is line 1), Excel row numbers,
        Parquet rows counted from 1; ``error.rows`` holds their positions
        (from 0) in the loaded table.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bayes_ubpr import simulate_cohort, load_cohort
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "cohort.csv"
    >>> simulate_cohort(n=200, seed=1).to_csv(path, index=False)
    >>> len(load_cohort(path, id_column="patient_id"))
    200
    """
    file = Path(path)
    kind = _FORMATS.get(file.suffix.lower())
    if kind is None:
        raise ValueError(
            f"Cannot read {file.name}: unsupported file type {file.suffix!r}. Use one of {', '.join(sorted(_FORMATS))}."
        )
    if not file.is_file():
        raise FileNotFoundError(f"No cohort file at {file}")
    frame, names = _read_csv(file, encoding) if kind == "CSV" else _read_table(file, kind)
    index = frame.index
    token = _ROW_NAMES.set(names)
    try:
        checked = validate_cohort(
            frame.reset_index(drop=True), factors=factors, require_outcome=require_outcome, id_column=id_column
        )
    finally:
        _ROW_NAMES.reset(token)
    checked.index = index
    return checked


def _read_csv(file: Path, encoding: str | None) -> tuple[pd.DataFrame, _RowNames]:
    """Decode a CSV file (naming the line that is not valid text), check its header, read it."""
    codec = encoding or "utf-8-sig"
    try:
        codecs.lookup(codec)
    except LookupError:
        raise ValueError(f"encoding {encoding!r} is not a known text encoding (e.g. 'utf-8', 'latin-1').") from None
    raw = file.read_bytes()
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        name = "UTF-8" if encoding is None else repr(encoding)
        raise CohortValidationError(
            f"Cannot read {file}: line {line} is not valid {name} text (byte {raw[error.start]:#04x}). "
            "Re-save the file as UTF-8 (e.g. Excel: Save As > CSV UTF-8), or pass its encoding: "
            "load_cohort(..., encoding='latin-1') or `bayes-ubpr fit --encoding latin-1` for Windows/Latin-1 files."
        ) from None
    text = text.removeprefix("\ufeff")  # a byte-order mark left by an explicit encoding="utf-8"
    first_line = text.partition("\n")[0]
    delimiter = max(_DELIMITERS, key=lambda d: (first_line.count(d), d == ","))
    header = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    _check_unique(header, where=f" in the header of {file.name}")
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter)
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise CohortValidationError(f"Cannot read {file} as CSV: {one_line(error)}") from None
    return frame, _RowNames("CSV lines", functools.partial(_csv_lines, text, delimiter, len(frame)))


def _csv_lines(text: str, delimiter: str, n_rows: int, positions: list) -> list:
    """File line numbers of data rows (header = line 1), counting blank lines and line breaks inside quotes."""
    lines = _record_lines(text, delimiter)
    if len(lines) != n_rows:  # a layout the csv module reads differently from pandas: say what is known
        return [f"{position + 1} (data row; line unknown)" for position in positions]
    return [lines[position] for position in positions]


def _record_lines(text: str, delimiter: str) -> list[int]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    next(reader, None)
    lines, end = [], reader.line_num
    for record in reader:
        # pandas skips lines that are empty or only whitespace; a line of separators is a row of missing values
        if len(record) > 1 or (record and record[0].strip()):
            lines.append(end + 1)
        end = reader.line_num
    return lines


def _read_table(file: Path, kind: str) -> tuple[pd.DataFrame, _RowNames]:
    """Read an Excel or Parquet file; a file that is not one is named as such, with the reason."""
    try:
        if kind == "Excel":
            # pandas renames a repeated header to "x.1": check the header as written in the sheet
            _check_unique(
                ["" if pd.isna(v) else str(v) for v in pd.read_excel(file, header=None, nrows=1).iloc[0]],
                where=f" in the header of {file.name}",
            )
            frame = pd.read_excel(file)
        else:
            import pyarrow.parquet as pq

            _check_unique(pq.read_schema(file).names, where=f" in {file.name}")
            frame = pd.read_parquet(file)
    except CohortValidationError:
        raise
    except ImportError as error:
        raise CohortValidationError(f"Cannot read {file}: {one_line(error)} Re-save it as .xlsx or .csv.") from None
    except Exception as error:  # each engine (openpyxl, zipfile, pyarrow) raises its own types for a broken file
        raise CohortValidationError(
            f"not a readable {kind} file: {file} ({type(error).__name__}: {one_line(error)})"
        ) from None
    if kind == "Excel":
        return frame, _RowNames("Excel rows", lambda positions: [p + 2 for p in positions])
    return frame, _RowNames("Parquet rows", lambda positions: [p + 1 for p in positions], " (counting from 1)")


def _check_unique(columns: Sequence[object], *, where: str = "") -> None:
    """Raise naming the first column name that appears more than once (unnamed columns are exempt)."""
    counts = Counter(str(c) for c in columns if str(c).strip())
    repeated = [name for name, count in counts.items() if count > 1]
    if repeated:
        name = repeated[0]
        positions = [str(i + 1) for i, c in enumerate(columns) if str(c) == name]
        raise CohortValidationError(
            f'Column "{name}" appears {counts[name]} times{where} (columns {", ".join(positions)}); '
            "rename or remove the copies so that each column has one name.",
            column=name,
        )


def validate_cohort(
    data: pd.DataFrame,
    *,
    factors: Sequence[str] = SIX_FACTORS,
    require_outcome: bool = True,
    id_column: str | None = None,
) -> pd.DataFrame:
    """Check a cohort against the data contract and return a clean copy.

    Every column named in ``factors`` must be present; every other known
    factor column that is present is checked too. Binary factors must be 0/1,
    ``n_fractures`` a whole number of at least 1, continuous factors finite
    and inside :data:`PLAUSIBLE_RANGES`; nothing may be missing.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient. It is not modified.
    factors : sequence of str, default SIX_FACTORS
        Factor columns that must be present.
    require_outcome : bool, default True
        Whether the outcome column ``ubpr`` must be present, with at least one
        case and one control.
    id_column : str, optional
        Column of patient identifiers, which must be unique and not missing.

    Returns
    -------
    pandas.DataFrame
        A copy with binary and count columns as ``int64`` and continuous
        columns as ``float64``; other columns and all rows unchanged.

    Raises
    ------
    TypeError
        If ``data`` is not a DataFrame.
    CohortValidationError
        Naming the column, the first offending row labels and what was
        expected, for: an empty frame, a column name used twice, a missing column, a non-numeric,
        missing or infinite value, a binary value outside {0, 1}, a
        fractional or < 1 fracture count, an implausible value, duplicate
        patient ids, or an outcome without cases or without controls.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_ubpr import validate_cohort
    >>> df = pd.DataFrame({"fascia_injury": [0, 1, 2], "ubpr": [0, 1, 1]})
    >>> try:
    ...     validate_cohort(df, factors=["fascia_injury"])
    ... except ValueError as error:
    ...     print(error.column, error.rows)
    fascia_injury [2]
    """
    frame = require_dataframe(data).copy()
    _check_unique(list(frame.columns))
    check_names(factors, RISK_FACTORS, what="risk factor")
    if frame.empty:
        raise CohortValidationError("The cohort is empty: it has no rows.")
    required = [*factors, OUTCOME] if require_outcome else list(factors)
    missing = [column for column in required if column not in frame.columns]
    if missing:
        hints = "".join(did_you_mean(column, map(str, frame.columns)) for column in missing)
        raise CohortValidationError(
            f"Missing required column(s): {', '.join(missing)}.{hints} "
            f"Columns present: {', '.join(map(str, frame.columns))}.",
            column=missing[0],
        )
    if id_column is not None:
        _check_ids(frame, id_column)
    for column in [name for name in RISK_FACTORS if name in frame.columns]:
        frame[column] = _check_factor(frame, column)
    if OUTCOME in frame.columns:
        frame[OUTCOME] = _check_outcome(frame, require_both_classes=require_outcome)
    return frame


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    """Column as float, raising on non-numeric, missing or infinite entries."""
    raw = frame[column]
    if pd.api.types.is_bool_dtype(raw):
        raw = raw.astype("Int64")
    values = _real(raw)
    unparsable = values.isna() & raw.notna()
    if unparsable.any():
        bad = frame.index[unparsable.to_numpy()]
        examples = ", ".join(repr(v) for v in raw[unparsable].head(3))
        raise CohortValidationError(
            f'Column "{column}" must be numeric; {_rows(bad)} have non-numeric values ({examples}).',
            column=column,
            rows=list(bad),
        )
    missing = raw.isna().to_numpy()
    if missing.any():
        bad = frame.index[missing]
        raise CohortValidationError(
            f'Column "{column}" has missing values in {_rows(bad)}; impute or remove them explicitly before fitting.',
            column=column,
            rows=list(bad),
        )
    infinite = ~np.isfinite(values.to_numpy())
    if infinite.any():
        bad = frame.index[infinite]
        raise CohortValidationError(
            f'Column "{column}" has infinite values in {_rows(bad)}.', column=column, rows=list(bad)
        )
    return values


def _real(raw: pd.Series) -> pd.Series:
    """Column as float, NaN where an entry is not a real number (text, a complex number, a date...)."""
    numeric = pd.to_numeric(raw, errors="coerce")
    if pd.api.types.is_complex_dtype(numeric):
        array = numeric.to_numpy()
        return pd.Series(np.where(array.imag == 0, array.real, np.nan), index=raw.index)
    return numeric.astype("Float64").astype(float)


def _reject(
    frame: pd.DataFrame, column: str, mask: np.ndarray, expected: str, values: pd.Series, hint: str = ""
) -> None:
    if mask.any():
        bad = frame.index[mask]
        shown = ", ".join(f"{v:g}" for v in values[mask].head(3))
        raise CohortValidationError(
            f'Column "{column}" must be {expected}; {_rows(bad)} have {shown}.{hint}',
            column=column,
            rows=list(bad),
        )


def _check_factor(frame: pd.DataFrame, column: str) -> pd.Series:
    factor = RISK_FACTORS[column]
    values = _numeric(frame, column)
    if factor.kind == "binary":
        _reject(frame, column, ~values.isin([0.0, 1.0]).to_numpy(), f"0 or 1 (binary: {factor.coding})", values)
        return values.astype("int64")
    low, high = PLAUSIBLE_RANGES.get(column, (-np.inf, np.inf))
    if factor.kind == "count":
        whole = values.to_numpy() == np.round(values.to_numpy())
        _reject(frame, column, ~whole, "a whole number", values)
        _reject(frame, column, (values < low).to_numpy(), f"at least {low:g} ({factor.coding})", values)
    implausible = ((values < low) | (values > high)).to_numpy()
    expected = f"between {low:g} and {high:g} ({factor.coding})"
    _reject(frame, column, implausible, expected, values, _HINTS.get(column, ""))
    return values.astype("int64") if factor.kind == "count" else values


def _check_outcome(frame: pd.DataFrame, *, require_both_classes: bool) -> pd.Series:
    values = _numeric(frame, OUTCOME)
    _reject(frame, OUTCOME, ~values.isin([0.0, 1.0]).to_numpy(), "0 or 1 (1 = unsatisfactory relief)", values)
    outcome = values.astype("int64")
    if require_both_classes:
        n_cases = int(outcome.sum())
        if n_cases == 0 or n_cases == len(outcome):
            which = "no cases (ubpr = 1)" if n_cases == 0 else "no controls (ubpr = 0)"
            raise CohortValidationError(
                f'Column "{OUTCOME}" has {which} among {len(outcome)} rows; '
                "a risk-factor model needs both cases and controls.",
                column=OUTCOME,
            )
    return outcome


def _check_ids(frame: pd.DataFrame, id_column: str) -> None:
    if id_column not in frame.columns:
        raise CohortValidationError(
            f'id_column "{id_column}" is not a column.{did_you_mean(id_column, map(str, frame.columns))}',
            column=id_column,
        )
    ids = frame[id_column]
    missing = ids.isna().to_numpy()
    if missing.any():
        bad = frame.index[missing]
        raise CohortValidationError(
            f'Column "{id_column}" has missing patient ids in {_rows(bad)}.',
            column=id_column,
            rows=list(bad),
        )
    duplicated = ids.duplicated(keep=False).to_numpy()
    if duplicated.any():
        bad = frame.index[duplicated]
        repeated = ", ".join(map(str, ids[duplicated].unique()[:5]))
        raise CohortValidationError(
            f'Column "{id_column}" must hold unique patient ids; ids {repeated} repeat in {_rows(bad)}.',
            column=id_column,
            rows=list(bad),
        )
