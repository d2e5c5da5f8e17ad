"""Atomic file writing: a crash never leaves a half-written output behind.

A write goes to a temporary file beside its target, named
``.<target name>.bayes_ubpr-<pid>-<random>.tmp<suffix>``, and is renamed over
the target only when complete. A writer killed mid-write leaves its
temporary behind; the next write to the same target (or the opening of a
calibration store, for its whole folder) removes the temporaries of ours
whose process no longer exists, or that are older than
:data:`STALE_AFTER_SECONDS` (a process id reused, or a writer on another
machine sharing the folder).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # not imported at run time: the command line checks output paths with this module alone
    import arviz as az
    import pandas as pd

_FRAME_WRITERS = {
    ".csv": lambda frame, path: frame.to_csv(path, index=False),
    ".parquet": lambda frame, path: frame.to_parquet(path, index=False),
    ".pq": lambda frame, path: frame.to_parquet(path, index=False),
    ".xlsx": lambda frame, path: frame.to_excel(path, index=False),
}
FRAME_SUFFIXES = tuple(sorted(_FRAME_WRITERS))
"""File types :func:`write_frame` writes."""
FIT_SUFFIXES = (".nc",)
"""File types of a saved fit (NetCDF)."""

_TAG = "bayes_ubpr"
_TEMPORARY = re.compile(rf"^\.(?P<target>.+)\.{_TAG}-(?P<pid>\d+)-[a-z0-9_]+\.tmp")
STALE_AFTER_SECONDS = 6 * 3600
"""Age after which a temporary of ours is removed even if its process id is in use (the id may be reused)."""


def check_suffix(path: str | os.PathLike[str], suffixes: tuple[str, ...], *, what: str) -> Path:
    """Return ``path`` as a Path if its file type is one of ``suffixes``; else raise ValueError naming them."""
    target = Path(path)
    if target.suffix.lower() not in suffixes:
        choices = ", ".join(suffixes[:-1]) + " or " + suffixes[-1] if len(suffixes) > 1 else suffixes[0]
        raise ValueError(f"Cannot write {what} to {target.name}: use a {choices} file.")
    return target


def check_storable_name(name: str, *, what: str) -> str:
    """Return ``name`` if a saved fit (NetCDF through HDF5) can hold it as a variable name; else raise ValueError.

    HDF5 reads ``/`` in a name as a path separator, so xarray refuses to
    write it; found before a fit, not after it.

    Examples
    --------
    >>> check_storable_name("residual_pain", what="outcome")
    'residual_pain'
    >>> check_storable_name("pain/relief", what="outcome")
    Traceback (most recent call last):
    ...
    ValueError: outcome "pain/relief": a saved fit (NetCDF) cannot hold a name with "/", ... to "pain_relief"
    """
    if "/" in name:
        raise ValueError(
            f'{what} "{name}": a saved fit (NetCDF) cannot hold a name with "/", which HDF5 reads as a folder; '
            f'rename the column, e.g. to "{name.replace("/", "_")}"'
        )
    return name


def _process_exists(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name == "nt":  # os.kill would terminate the process on Windows: rely on the age alone
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    return True


def remove_stale_temporaries(folder: str | os.PathLike[str], target: str | None = None) -> list[Path]:
    """Remove our temporaries in ``folder`` (of ``target`` only, if given) whose writer is gone; return them."""
    removed = []
    now = time.time()
    for path in sorted(Path(folder).glob(f".*.{_TAG}-*.tmp*")):
        match = _TEMPORARY.match(path.name)
        if match is None or (target is not None and match["target"] != target):
            continue
        try:
            age = now - path.stat().st_mtime
        except FileNotFoundError:  # its writer finished (or another cleaner was first)
            continue
        if age < STALE_AFTER_SECONDS and _process_exists(int(match["pid"])):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only on success.

    The temporary is ours by name (see the module docstring) and private to
    this process; stale temporaries of earlier writers to ``path`` are removed first.
    """
    target = Path(path)
    if not target.parent.is_dir():
        raise FileNotFoundError(f"Cannot write {target}: folder {target.parent} does not exist")
    if target.is_dir():
        raise IsADirectoryError(f"Cannot write {target}: it is a folder; name a file")
    remove_stale_temporaries(target.parent, target.name)
    handle, name = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.{_TAG}-{os.getpid()}-", suffix=f".tmp{target.suffix}"
    )
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes files private; outputs are ordinary files
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def write_frame(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write ``frame`` atomically as CSV, Parquet or Excel, chosen by the file's suffix."""
    target = check_suffix(path, FRAME_SUFFIXES, what="a table")
    with atomic_path(target) as temporary:
        _FRAME_WRITERS[target.suffix.lower()](frame, temporary)
    return target


def write_netcdf(idata: az.InferenceData, path: str | os.PathLike[str]) -> Path:
    """Write ``idata`` atomically to a NetCDF file."""
    with atomic_path(path) as temporary:
        idata.to_netcdf(str(temporary))
    return Path(path)
