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
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes files private; outputs are ordinary files
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


def save_fit(idata: az.InferenceData, path: str | os.PathLike[str]) -> Path:
    """Save a fit to NetCDF, atomically, with everything needed to rebuild its tables and report.

    The posterior, sample statistics, fitted data (``observed_data``,
    ``constant_data``) and the settings in ``attrs`` (the model's
    :class:`~bayes_ubpr.ModelSpec`, seed, sampler, version) all go into the
    one file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from bayes_ubpr import simulate_cohort, fit, save_fit, load_fit
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> path = save_fit(idata, pathlib.Path(tempfile.mkdtemp()) / "fit.nc")
    >>> "model_spec" in load_fit(path).attrs
    True
    """
    return write_netcdf(idata, path)


def load_fit(path: str | os.PathLike[str]) -> az.InferenceData:
    """Load a fit saved by :func:`save_fit` (or ``bayes-ubpr fit --out``).

    Raises
    ------
    FileNotFoundError
        If there is no file at ``path``.
    ValueError
        If the file is not a bayes_ubpr fit (no factors or fitted data in it).

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
    idata = az.from_netcdf(str(file))
    missing = [group for group in ("posterior", "observed_data", "constant_data") if group not in idata.groups()]
    # "model_spec" since 0.2 (ModelSpec.to_attrs); 0.1 stored "factors" and its other settings one by one.
    if missing or not ("model_spec" in idata.attrs or "factors" in idata.attrs):
        raise ValueError(
            f"{file.name} is not a bayes_ubpr fit: it lacks "
            + (", ".join(missing) if missing else "the model specification ('model_spec' attribute)")
            + ". Save fits with bayes_ubpr.save_fit."
        )
    return idata
