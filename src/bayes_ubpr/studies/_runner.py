"""The replicate runner of every study: seeds, the store of sealed replicate files, threads or Dask, progress.

Replicate k always uses the k-th child of ``numpy.random.SeedSequence(seed)``,
so it is the same whatever the batch size or the order replicates run in; a
store keeps each finished replicate in its own file, so a killed study
resumes; every reduction over replicates sums in one fixed order, so a
summary does not depend on the executor.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayes_ubpr._io import atomic_path, remove_stale_temporaries
from bayes_ubpr._rng import spawn_seeds
from bayes_ubpr._steps import report_step
from bayes_ubpr._validate import check_positive_int
from bayes_ubpr.model.refit import sigint_watch
from bayes_ubpr.studies._settings import StudySettings


class _Progress:
    """A study's progress on stderr (with ``progress=True``): a redrawn bar on a terminal, else plain lines.

    In a log file a redrawn bar is one line that grows with every replicate
    and is read at the end; there, a line says how many replicates are done,
    the time elapsed and about how long is left, at every twentieth of the
    study, at least once a minute, and at the end.
    """

    LINES = 20
    """Lines over a whole study, where stderr is not a terminal (and more if a minute passes without one)."""

    def __init__(self, settings: StudySettings, done: int) -> None:
        self.on, self.total = settings.progress, settings.n_replicates
        self.stored, self.shown = done, done * self.LINES // self.total  # replicates found in a store
        self.start = self.last = time.perf_counter()

    def update(self, done: int) -> None:
        """Say that ``done`` replicates are finished (those found in the store included)."""
        if not self.on:
            return
        if sys.stderr.isatty():
            bar = int(30 * (done - 1) / self.total)
            line = f"\r[{'#' * bar}{'.' * (30 - bar)}] replicate {done}/{self.total}"
            print(line, end="", file=sys.stderr, flush=True)
            if done == self.total:
                print(file=sys.stderr)
            return
        now, step = time.perf_counter(), done * self.LINES // self.total
        if done < self.total and step <= self.shown and now - self.last < 60:
            return
        self.shown, self.last = step, now
        elapsed, ran = now - self.start, done - self.stored
        print(
            f"replicate {done}/{self.total} done ({100 * done // self.total}%), {elapsed:.0f} s elapsed, "
            f"about {elapsed * (self.total - done) / ran:.0f} s left",
            file=sys.stderr,
            flush=True,
        )

    def stop(self) -> None:
        """End the bar's line when the study stops before its end (Ctrl-C)."""
        if self.on and sys.stderr.isatty():
            print(file=sys.stderr, flush=True)


def summary_moments(values: pd.Series) -> tuple[float, float, int]:
    """Mean, SD (ddof 1) and number of the non-missing ``values``, with exact sums (:func:`math.fsum`).

    Exactly rounded sums do not depend on the order of the values, so a
    summary is the same to the last bit however the replicates were run.
    """
    x = values.dropna().to_numpy(float)
    n = len(x)
    mean = math.fsum(x) / n if n else math.nan
    sd = math.sqrt(math.fsum((x - mean) ** 2) / (n - 1)) if n > 1 else math.nan
    return mean, sd, n


def by_replicate(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in replicate order (stable: each replicate's rows keep theirs), whatever order replicates finished in."""
    return frame.sort_values("replicate", kind="stable") if "replicate" in frame else frame


def _guarded(task: Callable[..., dict], k: int, child: np.random.SeedSequence) -> dict:
    """Run one replicate; a failure is recorded with its reason instead of ending the study."""
    try:
        return task(k, child)
    except Exception as error:
        return {"failed": [{"replicate": k, "error": f"{type(error).__name__}: {error}"}]}


def _store_settings(settings: StudySettings) -> str:
    """Fingerprint of a study: its settings and the package version that computes its replicates.

    The number of replicates is left out: replicate k does not depend on it,
    so a study is extended by running it again with more replicates.
    """
    fingerprint = {k: repr(v) for k, v in settings.as_dict().items() if k not in ("progress", "n_replicates")}
    fingerprint["bayes_ubpr_version"] = version("bayes-ubpr")
    return json.dumps(fingerprint, sort_keys=True)


def _open_store(store: str | os.PathLike[str] | None, settings: StudySettings) -> Path | None:
    """Create or reopen a study folder; refuse one written with other settings.

    Temporaries of writers that were killed are removed; those of live
    processes (another study on the same store) are left to them.
    """
    if store is None:
        return None
    folder = Path(store)
    folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(folder)
    stamp = folder / "settings.json"
    fingerprint = _store_settings(settings)
    if stamp.exists():
        if not _same_study(stamp.read_text(), fingerprint):
            raise ValueError(
                f"store {folder} holds a study with other settings or from another bayes_ubpr version; "
                "use a new folder to start afresh"
            )
    else:
        with atomic_path(stamp) as temporary:
            temporary.write_text(fingerprint)
    return folder


def _same_study(written: str, fingerprint: str) -> bool:
    """Whether a store's stamp is this study's fingerprint.

    Priors ``None`` and ``"default"`` are the same priors: a study given its
    model as a spec (whose priors are never ``None``) reopens the store of
    the same study run with ``priors=None``.
    """
    if written == fingerprint:
        return True
    try:
        stamps = [json.loads(text) for text in (written, fingerprint)]
    except ValueError:
        return False
    for stamp in stamps:
        if not isinstance(stamp, dict):
            return False
        for key in ("priors", "fit_priors"):
            if stamp.get(key) == repr(None):
                stamp[key] = repr("default")
    return stamps[0] == stamps[1]


def _replicate_file(folder: Path, k: int) -> Path:
    return folder / f"replicate_{k:06d}.nc"


_SEAL = "bayes_ubpr_replicate"
"""Root attribute of a replicate file, written last: its tables and the SHA-256 of their contents."""


def _save_replicate(folder: Path, k: int, parts: dict) -> None:
    """One NetCDF file per finished replicate, one group per table, sealed with a checksum, written atomically.

    The tables are read back from the temporary file and their checksum stored
    in it as the last step, so that a file is accepted later only if every
    table it should hold is there with the contents that were written.
    """
    import h5netcdf

    with atomic_path(_replicate_file(folder, k)) as temporary:
        temporary.unlink()
        for name, rows in parts.items():
            frame = pd.DataFrame(rows).reset_index(drop=True)
            xr.Dataset.from_dataframe(frame).to_netcdf(temporary, group=name, mode="a", engine="h5netcdf")
        seal = {"tables": sorted(parts), "sha256": _checksum(_read_tables(temporary, sorted(parts)))}
        with h5netcdf.File(temporary, "a") as handle:
            handle.attrs[_SEAL] = json.dumps(seal)


def _read_tables(path: Path, names: Sequence[str]) -> dict:
    parts = {}
    for name in names:
        with xr.open_dataset(path, group=name, engine="h5netcdf", cache=False) as dataset:
            parts[name] = dataset.to_dataframe().reset_index(drop=True).to_dict("records")
    return parts


def _checksum(parts: dict) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=repr).encode()).hexdigest()


def _load_replicate(path: Path) -> dict | None:
    """Return the tables of a stored replicate, or None (with a warning) if the file is incomplete or damaged."""
    import h5netcdf

    try:
        with h5netcdf.File(path, "r") as handle:
            seal = json.loads(handle.attrs[_SEAL])
        parts = _read_tables(path, seal["tables"])
        if _checksum(parts) == seal["sha256"]:
            return parts
    except (OSError, KeyError, ValueError, TypeError):  # not HDF5, no seal, a table missing or unreadable
        pass
    warnings.warn(f"{path.name} in the study store is incomplete or damaged; computing it again", stacklevel=3)
    return None


def run_replicates(
    task: Callable[..., dict],
    settings: StudySettings,
    *,
    client: object,
    threads: int | None = None,
    store: str | os.PathLike[str] | None = None,
) -> dict:
    """Run every replicate not already stored, in threads of this process or on a Dask client; collect the tables."""
    folder = _open_store(store, settings)
    children = spawn_seeds(settings.seed, settings.n_replicates)
    results: dict[int, dict] = {}

    def stored(k: int) -> dict | None:
        path = None if folder is None else _replicate_file(folder, k)
        return _load_replicate(path) if path is not None and path.exists() else None

    for k in range(settings.n_replicates):
        if (parts := stored(k)) is not None:
            results[k] = parts
    todo = [k for k in range(settings.n_replicates) if k not in results]
    progress = _Progress(settings, len(results))
    found = f"; {len(results)} found in the store" if results else ""
    report_step(f"{len(todo)} of {settings.n_replicates} replicates to run{found}")

    def finish(k: int, parts: dict) -> None:
        results[k] = parts
        if folder is not None:
            _save_replicate(folder, k, parts)
        progress.update(len(results))

    def run(k: int) -> dict | None:
        if stored(k) is not None:  # another process on the same store may have finished it meanwhile
            return None
        return _guarded(task, k, children[k])

    if client is None:
        n_threads = (os.cpu_count() or 1) if threads is None else check_positive_int(threads, name="threads")
        # Python drops a KeyboardInterrupt raised inside a weakref callback or __del__ ("Exception ignored
        # in ..."): the watch records the SIGINT, and the loop stops on it after the next replicate.
        with sigint_watch() as watch, ThreadPoolExecutor(max_workers=n_threads) as pool:
            running = {pool.submit(run, k): k for k in todo}
            try:
                for done in as_completed(running):
                    k, parts = running[done], done.result()
                    if parts is None:
                        results[k] = stored(k) or _guarded(task, k, children[k])
                        progress.update(len(results))
                    else:
                        finish(k, parts)
                    if watch.interrupted:
                        raise KeyboardInterrupt
            except BaseException:  # Ctrl-C: end after the replicates that are running, not after the study
                pool.shutdown(wait=True, cancel_futures=True)
                progress.stop()
                raise
    else:
        from distributed import as_completed as dask_completed

        futures = {client.submit(_guarded, task, k, children[k], pure=False): k for k in todo}  # type: ignore[attr-defined]
        try:
            for future in dask_completed(futures):
                finish(futures[future], future.result())
        except BaseException:
            client.cancel(list(futures))  # type: ignore[attr-defined]
            progress.stop()
            raise
    tables: dict[str, list] = {}
    for k in sorted(results):
        for name, rows in results[k].items():
            tables.setdefault(name, []).extend(rows)
    return {name: pd.DataFrame(rows) for name, rows in tables.items()}
