"""ArviZ, imported once without its notice about the coming refactor.

ArviZ 0.23 warns on import, once a day, with a multi-line ``FutureWarning``
that version 1.0 will change its API. bayes_ubpr pins ``arviz<0.24`` (see
``pyproject.toml``), so the notice asks nothing of our users and would
otherwise be the first thing every command prints. Only that warning is
silenced, and only while ArviZ is imported; the package imports this module
before anything else, so every later ``import arviz`` finds it loaded.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing a major refactor", category=FutureWarning)
    import arviz  # noqa: F401
