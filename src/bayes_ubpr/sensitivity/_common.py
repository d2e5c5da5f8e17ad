"""What the sensitivity analyses that refit share: the model they vary and how they sample it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from bayes_ubpr.data import FactorLike, validate_cohort
from bayes_ubpr.model import ModelSpec
from bayes_ubpr.priors import PriorsLike

FIT_DEFAULTS = {"draws": 1000, "tune": 1000, "chains": 4}


def resolved_spec(
    data: pd.DataFrame,
    spec: ModelSpec | None,
    *,
    factors: Sequence[FactorLike] | None = None,
    priors: PriorsLike = None,
    design: str | None = None,
) -> ModelSpec:
    """Return the analysis' model resolved on ``data``: factor kinds and scales known, so priors can be set."""
    if spec is None and design is None:
        design = "case_control"  # sensitivity analyses re-read the paper's case-control sample
    spec = ModelSpec.from_arguments(spec, factors=factors, priors=priors, design=design)
    clean = validate_cohort(data, factors=spec.factors, outcome=spec.outcome)
    clean.attrs = dict(data.attrs)
    return spec.resolve(clean)


def checked_fit_options(options: Mapping[str, object]) -> dict[str, Any]:
    """Return the options for :func:`bayes_ubpr.fit`: the defaults here, overridden by ``options``."""
    unknown = set(options) - {"draws", "tune", "chains", "sampler"}
    if unknown:
        raise TypeError(f"unexpected fit options {sorted(unknown)}; allowed: draws, tune, chains, sampler")
    return {**FIT_DEFAULTS, **options}
