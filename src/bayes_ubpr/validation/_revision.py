"""What recalibration, updating and their validation share: the new cohort's design, the old linear predictor."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from bayes_ubpr._rng import SeedLike
from bayes_ubpr._validate import advising_on_missing, require_dataframe
from bayes_ubpr.data import validate_cohort
from bayes_ubpr.model import Fitted, ModelSpec, Sampling
from bayes_ubpr.validation.external import VALIDATION_MISSING_ADVICE

__all__ = ["check_sampling", "design_of", "interval_of", "original_of", "population_linear_predictor", "seed_of"]


def design_of(view: Fitted, data: pd.DataFrame, *, name: str) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Return the design columns, the outcome and the row labels of ``data``, checked as a validation cohort."""
    require_dataframe(data, name=name)
    spec = view.spec
    with advising_on_missing(VALIDATION_MISSING_ADVICE):
        clean = validate_cohort(spec.model_frame(data), factors=spec.factors, outcome=spec.outcome)
    x = clean[list(spec.factor_names)].to_numpy(dtype=float)
    return x, clean[spec.outcome].to_numpy(dtype=float), clean.index


def population_linear_predictor(view: Fitted, x: np.ndarray) -> np.ndarray:
    """Return each patient's population-scale log odds per draw, (draws, n), at a typical site (no group offset)."""
    intercept = view.idata.posterior["intercept_population"].stack(sample=("chain", "draw")).to_numpy()
    return intercept[:, None] + view.log_odds_ratio_draws @ x.T


def interval_of(draws: np.ndarray, prob: float = 0.95) -> dict[str, float]:
    """Return the mean, SD and equal-tailed interval of draws, as plain floats (for JSON)."""
    tail = (1.0 - prob) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return {"mean": float(draws.mean()), "sd": float(draws.std(ddof=1)), "lower": float(low), "upper": float(high)}


def check_sampling(sampling: object, *, caller: str) -> Sampling:
    """Return ``sampling``, or ``Sampling()`` for None; refuse anything else."""
    if sampling is None:
        return Sampling()
    if not isinstance(sampling, Sampling):
        raise TypeError(f"{caller}: sampling must be a bayes_ubpr.Sampling; got {type(sampling).__name__}")
    return sampling


def original_of(spec: ModelSpec) -> dict[str, Any]:
    """Return what a revised fit records of the model it was made from: design, prevalence, groupings."""
    return {
        "design": spec.design,
        "population_prevalence": spec.to_dict()["population_prevalence"],
        "groups": list(spec.groups),
    }


def seed_of(seed: SeedLike) -> int | None:
    """Return the seed as a revised fit records it: the int given, else None."""
    return int(seed) if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) else None
