"""ArviZ, imported without its notice about the coming refactor, and where no cache folder is writable.

ArviZ 0.23 warns on import, once a day, with a multi-line ``FutureWarning``
that version 1.0 will change its API. bayes_ubpr pins ``arviz<0.24`` (see
``pyproject.toml``), so the notice asks nothing of our users and would
otherwise be the first thing every command prints. Only that warning is
silenced, and only while ArviZ is imported.

The package imports this module before anything else, and this module does
not import ArviZ (which takes seconds, with PyMC's stack behind it: a command
that refuses a bad argument should not wait for it). It puts a finder first on
:data:`sys.meta_path` that, on the first ``import arviz`` of the process,
whichever module asks, runs ArviZ's own loader inside :func:`quiet_import` and
then steps aside. If ArviZ is already imported, there is nothing to do.

ArviZ also records the day of its notice in its user cache folder, and its
import fails (``OSError: Read-only file system``) where that folder cannot be
written: a read-only home, as on some clusters and containers. There, the
record goes to a temporary folder for the length of the import. Matplotlib,
which ArviZ imports, copes with an unwritable configuration folder by making
a temporary one, with a two-line warning on every start; here it is given a
temporary one before it looks (removed when the process ends), silently; this
is done when the package is imported, as matplotlib may come before ArviZ.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.machinery
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _cache_home_for_arviz() -> Iterator[None]:
    """Point ArviZ's user cache folder (``XDG_CACHE_HOME``) at a temporary one, if its own cannot be written."""
    from platformdirs import user_cache_dir

    if _writable(Path(user_cache_dir("arviz", "arviz"))):
        yield
        return
    before = os.environ.get("XDG_CACHE_HOME")
    with tempfile.TemporaryDirectory(prefix="bayes_ubpr-arviz-") as temporary:
        os.environ["XDG_CACHE_HOME"] = temporary
        try:
            yield
        finally:
            if before is None:
                del os.environ["XDG_CACHE_HOME"]
            else:
                os.environ["XDG_CACHE_HOME"] = before


def _matplotlib_folder() -> None:
    """Give matplotlib a temporary configuration and cache folder (``MPLCONFIGDIR``) if its own is not writable."""
    if "MPLCONFIGDIR" in os.environ or not sys.platform.startswith("linux"):
        return
    config = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "matplotlib"
    if _writable(config):
        return
    folder = tempfile.mkdtemp(prefix="bayes_ubpr-matplotlib-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["MPLCONFIGDIR"] = folder


@contextlib.contextmanager
def quiet_import() -> Iterator[None]:
    """Within the block, ArviZ's import shows no refactor notice and survives an unwritable cache folder."""
    with warnings.catch_warnings(), _cache_home_for_arviz():
        warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning)
        yield


class ArvizFinder:
    """A :data:`sys.meta_path` finder that has the first ``import arviz`` run inside :func:`quiet_import`.

    It finds ArviZ as the finders after it do, and wraps the found loader's
    ``exec_module`` for that one import; it removes itself from
    :data:`sys.meta_path` when asked for ArviZ, so it runs once.
    """

    def find_spec(
        self, name: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        """Return ArviZ's spec with a quiet loader when ``name`` is ``"arviz"``; else None (not ours)."""
        if name != "arviz":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = None if find is None else find(name, path, target)
            if spec is not None:
                break
        else:
            return None  # not installed: the import fails as it would without us
        loader: Any = spec.loader
        exec_module = getattr(loader, "exec_module", None)
        if exec_module is None:
            return spec

        def exec_quietly(module: ModuleType) -> None:
            try:
                with quiet_import():
                    exec_module(module)
            finally:
                with contextlib.suppress(AttributeError):
                    del loader.exec_module  # the loader's own method again

        with contextlib.suppress(AttributeError):  # a loader without instance attributes: as without us
            loader.exec_module = exec_quietly
        return spec


def install() -> None:
    """Have the process's first ``import arviz`` go through :class:`ArvizFinder` (nothing if ArviZ is imported)."""
    if "arviz" in sys.modules or any(isinstance(finder, ArvizFinder) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, ArvizFinder())


_matplotlib_folder()
install()
