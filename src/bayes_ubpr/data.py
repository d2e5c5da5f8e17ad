"""Loading and validating a user's cohort against the data contract.

The contract: one row per patient, one numeric column per risk factor and a
0/1 outcome column (``ubpr`` unless told otherwise). Factors are the paper's
catalogue (:data:`bayes_ubpr.paper.RISK_FACTORS`, with their plausible ranges)
or any other column, described by a :class:`~bayes_ubpr.factors.Factor` or
read off the data. Validation never changes the caller's frame and never drops
a row: it returns a checked copy with clean dtypes, or raises
:class:`~bayes_ubpr.exceptions.CohortValidationError` naming the column, the
first offending rows and what was expected.
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

from bayes_ubpr._validate import (
    advising_on_missing,
    check_choice,
    describe_rows,
    did_you_mean,
    missing_advice,
    one_line,
    require_dataframe,
)
from bayes_ubpr.exceptions import CohortValidationError
from bayes_ubpr.factors import INT64_BOUND, Factor, is_count_value
from bayes_ubpr.paper import OUTCOME, PLAUSIBLE_RANGES, RISK_FACTORS, SIX_FACTORS

__all__ = ["PLAUSIBLE_RANGES", "FactorLike", "as_factors", "load_cohort", "validate_cohort"]

FactorLike = str | Factor
"""A factor given by column name (the paper's catalogue, or read off the data) or as a :class:`Factor`."""


def as_factors(factors: Sequence[FactorLike]) -> tuple[Factor, ...]:
    """Turn names and :class:`Factor` objects into Factors, checking that no column repeats.

    A name in the paper's catalogue gives the catalogue's Factor (label, unit,
    Table 4 scale, plausible range); any other name gives a bare Factor whose
    kind and scale are read off the data when it is fitted.

    Raises
    ------
    TypeError
        If an entry is neither a string nor a Factor, or ``factors`` is a bare string.
    ValueError
        If ``factors`` is empty or names a column twice.

    Examples
    --------
    >>> from bayes_ubpr.data import as_factors
    >>> [(f.name, f.kind) for f in as_factors(["depression", "intravertebral_cleft"])]
    [('depression', 'binary'), ('intravertebral_cleft', None)]
    """
    if isinstance(factors, (str, Factor)):
        raise TypeError(f"factors must be a sequence of names or Factors, not a single {type(factors).__name__}")
    out = []
    for item in factors:
        if isinstance(item, Factor):
            out.append(item)
        elif isinstance(item, str):
            out.append(RISK_FACTORS.get(item) or Factor(item))
        else:
            raise TypeError(f"each factor must be a column name or a Factor; got {type(item).__name__} {item!r}")
    if not out:
        raise ValueError("factors must name at least one risk factor")
    names = [f.name for f in out]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"factors lists {', '.join(repeated)} more than once; give each factor once")
    return tuple(out)


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
    factors: Sequence[FactorLike] = SIX_FACTORS,
    outcome: str = OUTCOME,
    require_outcome: bool = True,
    id_column: str | None = None,
    encoding: str | None = None,
    columns: Sequence[str] = (),
    missing: str = "error",
) -> pd.DataFrame:
    """Read a cohort from CSV, Parquet or Excel and validate it.

    Parameters
    ----------
    path : str or path-like
        File ending in ``.csv``, ``.parquet``/``.pq`` or ``.xlsx``/``.xls``.
    factors, outcome, require_outcome, id_column, columns, missing
        Passed to :func:`validate_cohort` (``missing="keep"`` reads a
        cohort with missing values for ``fit(..., missing="impute")``).
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
            frame.reset_index(drop=True),
            factors=factors,
            outcome=outcome,
            require_outcome=require_outcome,
            id_column=id_column,
            columns=columns,
            missing=missing,
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
        raise CohortValidationError(f"not a readable {kind} file: {file} ({_broken_file_reason(error)})") from None
    if kind == "Excel":
        return frame, _RowNames("Excel rows", lambda positions: [p + 2 for p in positions])
    return frame, _RowNames("Parquet rows", lambda positions: [p + 1 for p in positions], " (counting from 1)")


def _broken_file_reason(error: Exception) -> str:
    """Return what a reader said of a broken file, without advice that no option of ours lets the user follow."""
    said = one_line(error)
    if "you must specify an engine manually" in said:  # pandas: no Excel signature at the start of the file
        return "its content is neither an .xlsx workbook (a zip archive) nor an .xls one"
    if isinstance(error, KeyError) and said == "'zip'":  # pandas: a zip archive that holds no workbook
        return "a zip archive without the workbook (xl/workbook.xml) of an .xlsx file"
    return f"{type(error).__name__}: {said}"


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
    factors: Sequence[FactorLike] = SIX_FACTORS,
    outcome: str = OUTCOME,
    require_outcome: bool = True,
    id_column: str | None = None,
    columns: Sequence[str] = (),
    missing: str = "error",
) -> pd.DataFrame:
    """Check a cohort against the data contract and return a clean copy.

    Every factor column must be present, numeric, finite and complete.
    Binary factors must be 0/1 and counts whole numbers; a factor with a
    plausible range (the catalogue's, :data:`PLAUSIBLE_RANGES`, or a
    :class:`Factor`'s ``range``) must lie inside it. A factor without a
    declared kind is checked for what its values are. Other columns are left
    alone.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per patient. It is not modified.
    factors : sequence of str or Factor, default SIX_FACTORS
        Factor columns that must be present: catalogue names, any other
        column name, or :class:`~bayes_ubpr.factors.Factor` objects.
    outcome : str, default "ubpr"
        Outcome column, coded 0/1 (1 = the event).
    require_outcome : bool, default True
        Whether the outcome column must be present, with at least one case
        and one control.
    id_column : str, optional
        Column of patient identifiers, which must be unique and not missing.
    columns : sequence of str, default ()
        Other columns that must be present and complete, of any type and
        left as they are: the raw variables of a formula's terms (text
        categories included) and its group columns, whose kinds the terms
        decide (:meth:`ModelSpec.variables <bayes_ubpr.ModelSpec.variables>`).
        With ``columns``, ``factors`` may be empty: the outcome is then the
        only column checked for values.
    missing : {"error", "keep"}, default "error"
        Missing values in factor columns and ``columns``: refused, naming
        the rows, or kept as they are (``NaN``) for an imputation to fill
        (``fit(..., missing="impute")``); every value present is checked
        all the same. The outcome and patient ids must always be complete.

    Returns
    -------
    pandas.DataFrame
        A copy with binary and count columns as ``int64`` and continuous
        columns as ``float64``; other columns and all rows unchanged. Whole
        numbers beyond the ``int64`` range (see
        :data:`~bayes_ubpr.factors.INT64_BOUND`) stay ``float64``: such a
        factor without a declared kind is continuous.

    Raises
    ------
    TypeError
        If ``data`` is not a DataFrame, or ``columns`` is not a sequence of names.
    CohortValidationError
        Naming the column, the first offending row labels and what was
        expected, for: an empty frame, a column name used twice, a missing column, a non-numeric,
        missing or infinite value, a binary value outside {0, 1}, a
        fractional count or one beyond the ``int64`` range, a value outside a factor's plausible range, a
        factor that is also the outcome, duplicate patient ids, or an outcome
        without cases or without controls.
    ValueError
        If ``factors`` is empty or lists a column twice.

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
    check_choice(missing, ("error", "keep"), name="missing")
    keep = missing == "keep"
    _check_unique(list(frame.columns))
    raw = _column_names(columns)
    specs = () if raw and not len(factors) else as_factors(factors)
    names = [f.name for f in specs]
    if outcome in [*names, *raw]:
        raise CohortValidationError(
            f'Column "{outcome}" is both the outcome and a factor; a factor cannot predict itself. '
            "Remove it from factors or name another outcome.",
            column=outcome,
        )
    if frame.empty:
        raise CohortValidationError("The cohort is empty: it has no rows.")
    needed = [*names, *(column for column in raw if column not in names)]
    required = [*needed, outcome] if require_outcome else needed
    absent = [column for column in required if column not in frame.columns]
    if absent:
        hints = "".join(did_you_mean(column, map(str, frame.columns)) for column in absent)
        raise CohortValidationError(
            f"Missing required column(s): {', '.join(absent)}.{hints} "
            f"Columns present: {', '.join(map(str, frame.columns))}.",
            column=absent[0],
        )
    if id_column is not None:
        _check_ids(frame, id_column)
    for column in raw:
        if not keep:
            _check_complete(frame, column)
    for factor in specs:
        frame[factor.name] = _check_factor(frame, factor, keep_missing=keep)
    if outcome in frame.columns:
        frame[outcome] = _check_outcome(frame, outcome, require_both_classes=require_outcome)
    return frame


def _column_names(columns: Sequence[str]) -> list[str]:
    if isinstance(columns, str) or not all(isinstance(c, str) and c for c in columns):
        raise TypeError(f"columns must be a sequence of column names; got {columns!r}")
    return list(dict.fromkeys(columns))


def _check_complete(frame: pd.DataFrame, column: str) -> None:
    """Raise naming the rows where ``column`` (of any type) has missing values."""
    missing = frame[column].isna().to_numpy()
    if missing.any():
        bad = frame.index[missing]
        raise CohortValidationError(
            f'Column "{column}" has missing values in {_rows(bad)}; {missing_advice()}.',
            column=column,
            rows=list(bad),
        )


def _numeric(frame: pd.DataFrame, column: str, *, keep_missing: bool = False) -> pd.Series:
    """Column as float, raising on non-numeric, infinite or (unless kept) missing entries."""
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
    if missing.any() and not keep_missing:
        bad = frame.index[missing]
        raise CohortValidationError(
            f'Column "{column}" has missing values in {_rows(bad)}; {missing_advice()}.',
            column=column,
            rows=list(bad),
        )
    infinite = ~np.isfinite(values.to_numpy()) & ~missing
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


def _check_factor(frame: pd.DataFrame, factor: Factor, *, keep_missing: bool = False) -> pd.Series:
    values = _numeric(frame, factor.name, keep_missing=keep_missing)
    present = values.notna().to_numpy()
    if present.all():
        return _check_values(frame, factor, values)
    _check_values(frame.loc[present], factor, values[present])
    return values  # float, NaN where missing


def _check_values(frame: pd.DataFrame, factor: Factor, values: pd.Series) -> pd.Series:
    """Check a factor's values (kind, range) and return them as int64 for binary and count factors."""
    column = factor.name
    coding = f" ({factor.coding})" if factor.coding else ""
    whole = (values.to_numpy() == np.round(values.to_numpy())) if len(values) else np.array([], bool)
    if factor.kind == "binary":
        _reject(frame, column, ~values.isin([0.0, 1.0]).to_numpy(), f"0 or 1 (binary{coding or ''})", values)
    elif factor.kind == "count":
        _reject(frame, column, ~whole, "a whole number", values)
    if factor.range is not None:
        low, high = factor.range
        if factor.kind == "count":
            _reject(frame, column, (values < low).to_numpy(), f"at least {low:g}{coding}", values)
        implausible = ((values < low) | (values > high)).to_numpy()
        _reject(frame, column, implausible, f"between {low:g} and {high:g}{coding}", values, _HINTS.get(column, ""))
    counts = is_count_value(values.to_numpy())
    if factor.kind == "count":
        _reject(
            frame,
            column,
            ~counts,
            f"a whole number between {-INT64_BOUND:g} and {INT64_BOUND:g} (counts are stored as 64-bit integers)",
            values,
            ' Declare the factor kind="continuous" for larger values.',
        )
    discrete = factor.kind in ("binary", "count") or (factor.kind is None and bool(counts.all()))
    return values.astype("int64") if discrete else values


OUTCOME_MISSING_ADVICE = (
    "an outcome is never imputed (a patient whose outcome is unknown adds nothing to the analysis model): "
    "remove those patients explicitly and report how many"
)


def _check_outcome(frame: pd.DataFrame, outcome: str, *, require_both_classes: bool) -> pd.Series:
    with advising_on_missing(OUTCOME_MISSING_ADVICE):
        values = _numeric(frame, outcome)
    _reject(frame, outcome, ~values.isin([0.0, 1.0]).to_numpy(), "0 or 1 (1 = the event)", values)
    result = values.astype("int64")
    if require_both_classes:
        n_cases = int(result.sum())
        if n_cases == 0 or n_cases == len(result):
            which = f"no cases ({outcome} = 1)" if n_cases == 0 else f"no controls ({outcome} = 0)"
            raise CohortValidationError(
                f'Column "{outcome}" has {which} among {len(result)} rows; '
                "a risk-factor model needs both cases and controls.",
                column=outcome,
            )
    return result


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
