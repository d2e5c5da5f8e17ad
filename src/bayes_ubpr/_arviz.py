"""ArviZ, imported once without its notice about the coming refactor, and where no cache folder is writable.

ArviZ 0.23 warns on import, once a day, with a multi-line ``FutureWarning``
that version 1.0 will change its API. bayes_ubpr pins ``arviz<0.24`` (see
``pyproject.toml``), so the notice asks nothing of our users and would
otherwise be the first thing every command prints. Only that warning is
silenced, and only while ArviZ is imported; the package imports this module
before anything else, so every later ``import arviz`` finds it loaded.

ArviZ also records the day of its notice in its user cache folder, and its
import fails (``OSError: Read-only file system``) where that folder cannot be
written: a read-only home, as on some clusters and containers. There, the
record goes to a temporary folder for the length of the import. Matplotlib,
which ArviZ imports, copes with an unwritable configuration folder by making
a temporary one, with a two-line warning on every start; here it is given a
temporary one before it looks (removed when the process ends), silently.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path


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


_matplotlib_folder()
with warnings.catch_warnings(), _cache_home_for_arviz():
    warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning)
    import arviz  # noqa: F401
