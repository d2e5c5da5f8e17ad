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

import arviz as az
import pandas as pd

from bayes_ubpr._validate import one_line
from bayes_ubpr.exceptions import NotAFitError

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


def save_fit(idata: az.InferenceData, path: str | os.PathLike[str]) -> Path:
    """Save a fit to NetCDF, atomically, with everything needed to rebuild its tables and report.

    The posterior, sample statistics, fitted data (``observed_data``,
    ``constant_data``) and the settings in ``attrs`` (the model's
    :class:`~bayes_ubpr.ModelSpec`, seed, sampler, version) all go into the
    one file, which must end in ``.nc``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bayes_ubpr import simulate_cohort, fit, save_fit, load_fit
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> path = save_fit(idata, pathlib.Path(tempfile.mkdtemp()) / "fit.nc")
    >>> "model_spec" in load_fit(path).attrs
    True
    """
    from bayes_ubpr.model.spec import ModelSpec  # the spec knows how a fit records its model

    target = check_suffix(path, FIT_SUFFIXES, what="a fit")
    if "model_spec" in idata.attrs:
        check_storable_name(ModelSpec.from_idata(idata).outcome, what="outcome")
    return write_netcdf(idata, target)


def load_fit(path: str | os.PathLike[str]) -> az.InferenceData:
    """Load a fit saved by :func:`save_fit` (or ``bayes-ubpr fit --out``).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    NotAFitError
        If the file is not a bayes_ubpr fit: not NetCDF, without the groups,
        variables or attributes that tables and reports are rebuilt from, or
        with a stored model specification that is not one a fit writes (not
        JSON; a field missing, unknown, or of the wrong type or value, checked
        as :meth:`ModelSpec.from_dict <bayes_ubpr.ModelSpec.from_dict>` checks
        it). The message is one line, ``not a bayes_ubpr fit: PATH (reason)``,
        and the reason names the field.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from bayes_ubpr import fit, load_fit, save_fit, simulate_cohort
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = save_fit(idata, Path(folder) / "fit.nc")
    ...     loaded = load_fit(path)
    >>> loaded.attrs["model_spec"] == idata.attrs["model_spec"]
    True
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"No fit file at {file}")
    try:
        idata = az.from_netcdf(str(file))
    except Exception as error:  # h5py, netCDF4 and xarray raise OSError, ValueError, KeyError... for other files
        raise NotAFitError(file, f"not a NetCDF file: {type(error).__name__}: {one_line(error)}") from None
    problem = _fit_problem(idata)
    if problem is not None:
        raise NotAFitError(file, f"{problem}; save fits with bayes_ubpr.save_fit")
    return idata


_FIT_CONTENTS = {"posterior": ("beta",), "observed_data": (), "constant_data": ("x", "x_scale")}
"""Variables each group of a fit must hold (and the outcome, named by its spec): what odds-ratio tables,
risks and reports are rebuilt from."""


def _fit_problem(idata: az.InferenceData) -> str | None:
    """Say what keeps ``idata`` from being a bayes_ubpr fit, or return None."""
    from bayes_ubpr.model.spec import ModelSpec  # the spec knows how a fit records its model

    missing = [group for group in _FIT_CONTENTS if group not in idata.groups()]
    if missing:
        return f"it lacks the {', '.join(missing)} group{'s' if len(missing) > 1 else ''}"
    try:
        spec = ModelSpec.from_idata(idata)
    except (ValueError, TypeError, KeyError) as error:
        return f"its model specification is missing or unreadable ({one_line(error)})"
    for group, names in {**_FIT_CONTENTS, "observed_data": (spec.outcome,)}.items():
        absent = [name for name in names if name not in idata[group]]
        if absent:
            return f"its {group} lacks {', '.join(absent)}"
    labels = idata.posterior["beta"].coords.get("factor")
    if labels is None or [str(label) for label in labels.values] != list(spec.factor_names):
        return "its posterior beta does not hold one coefficient per factor of its model specification"
    return None
