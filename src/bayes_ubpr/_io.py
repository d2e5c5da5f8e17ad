"""Atomic file writing: a crash never leaves a half-written output behind."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import arviz as az
import pandas as pd

_FRAME_WRITERS = {
    ".csv": lambda frame, path: frame.to_csv(path, index=False),
    ".parquet": lambda frame, path: frame.to_parquet(path, index=False),
    ".pq": lambda frame, path: frame.to_parquet(path, index=False),
    ".xlsx": lambda frame, path: frame.to_excel(path, index=False),
}


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only on success."""
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"Cannot write {target}: folder {target.parent} does not exist")
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=target.suffix)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_frame(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` atomically as CSV, Parquet or Excel, chosen by the file's suffix."""
    target = Path(path)
    writer = _FRAME_WRITERS.get(target.suffix.lower())
    if writer is None:
        raise ValueError(f"Cannot write {target.name}: use one of {', '.join(sorted(_FRAME_WRITERS))}.")
    with atomic_path(target) as temporary:
        writer(frame, temporary)
    return target


def write_netcdf(idata: az.InferenceData, path: str | os.PathLike[str]) -> Path:
    """Write ``idata`` atomically to a NetCDF file."""
    with atomic_path(path) as temporary:
        idata.to_netcdf(str(temporary))
    return Path(path)
