"""What the sensitivity analyses that refit share: the model they vary and how they sample it.

They take ``(data, spec, *, ..., sampling=..., seed=...)``. For one release
they also accept, with a ``DeprecationWarning``, what they took before: no
``spec`` (then the paper's case-control design, not :class:`ModelSpec`'s
cohort default), the spec's fields as keywords, and the loose sampling
keywords ``draws``, ``tune``, ``chains`` and ``sampler``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from bayes_ubpr.model import ModelSpec, Sampling
from bayes_ubpr.model.refit import resolve_spec
from bayes_ubpr.model.sampling import sampling_from_keywords

DEFAULT_SAMPLING = Sampling(draws=1000, tune=1000, chains=4)
"""How each refit is sampled unless ``sampling=`` says otherwise: 4 chains x (1,000 + 1,000)."""

DEFAULT_DESIGN = "case_control"
"""The design of the deprecated default model (no ``spec``): the paper's case-control sample."""

_LOOSE_SAMPLING = ("draws", "tune", "chains", "sampler")
"""The loose sampling keywords these functions took before ``sampling=`` (deprecated)."""


def model_spec(spec: ModelSpec | None, *, caller: str, stacklevel: int = 3, **keywords: Any) -> ModelSpec:
    """Return the model of an analysis: ``spec``, or (deprecated) the spec's fields as ``keywords``, or the default.

    ``keywords`` are :class:`ModelSpec` fields (``None``: not given). Without
    ``spec``, the design is ``keywords["design"]`` or :data:`DEFAULT_DESIGN`,
    and a ``DeprecationWarning`` names the ``ModelSpec`` to pass instead.

    Raises
    ------
    TypeError
        If ``spec`` is not a ModelSpec, or is given together with keywords.
    """
    given = {name: value for name, value in keywords.items() if value is not None}
    if spec is not None:
        return ModelSpec.from_arguments(spec, **given)
    shown = ", ".join(f"{name}=..." for name in given)
    design = given.pop("design", None)
    chosen = DEFAULT_DESIGN if design is None else design
    suggested = ", ".join([*(f"{name}=..." for name in given), f'design="{chosen}"'])
    default = (
        f'ModelSpec(design="{DEFAULT_DESIGN}"), the paper\'s case-control sample (ModelSpec\'s own default is "cohort")'
    )
    if shown:
        message = f"{caller}({shown}) is deprecated and will be removed in the next release"
        message += "" if design is not None else f"; without a design it fits {default}"
    else:
        message = (
            f"{caller} without spec= fits {default}; this default is deprecated and will be removed in the next release"
        )
    warnings.warn(
        f"{message}: pass spec=bayes_ubpr.ModelSpec({suggested}) instead", DeprecationWarning, stacklevel=stacklevel
    )
    return ModelSpec.from_arguments(None, **given, design=chosen)


def resolved_on(data: pd.DataFrame | Sequence[pd.DataFrame], spec: ModelSpec) -> ModelSpec:
    """Return ``spec`` resolved on ``data`` (or on completed data sets): factor kinds and scales known."""
    return resolve_spec(data, spec)


def sampling_of(
    sampling: Sampling | None, fit_options: Mapping[str, object], *, caller: str, stacklevel: int = 4
) -> Sampling:
    """Return how an analysis samples: ``sampling``, or (deprecated) ``fit_options`` over :data:`DEFAULT_SAMPLING`.

    Raises
    ------
    TypeError
        For an option other than the loose keywords these functions took
        (``draws``, ``tune``, ``chains``, ``sampler``), for loose keywords
        beside ``sampling``, or for a ``sampling`` that is not a Sampling.
    """
    unknown = set(fit_options) - set(_LOOSE_SAMPLING)
    if unknown:
        raise TypeError(
            f"{caller}: unexpected fit options {sorted(unknown)}; allowed: {', '.join(_LOOSE_SAMPLING)} "
            "(deprecated: pass sampling=bayes_ubpr.Sampling(...))"
        )
    return sampling_from_keywords(sampling, fit_options, default=DEFAULT_SAMPLING, caller=caller, stacklevel=stacklevel)


def sampling_attrs(sampling: Sampling) -> dict[str, Any]:
    """Return the sampling settings as the analyses' tables record them in ``.attrs`` (``None`` left out)."""
    recorded = {"draws": sampling.draws, "tune": sampling.tune, "chains": sampling.chains}
    optional = {"sampler": sampling.sampler, "cores": sampling.cores, "target_accept": sampling.target_accept}
    return recorded | {name: value for name, value in optional.items() if value is not None}
