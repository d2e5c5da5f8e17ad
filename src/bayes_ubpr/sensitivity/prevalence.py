"""Sensitivity of absolute risks to the population prevalence assumed for a case-control fit."""

from __future__ import annotations

from collections.abc import Sequence

import arviz as az
import pandas as pd

from bayes_ubpr._validate import check_probability
from bayes_ubpr.model import Fitted
from bayes_ubpr.paper import PREVALENCE
from bayes_ubpr.posterior import predict_risk

__all__ = ["LITERATURE_PREVALENCES", "prevalence_sensitivity"]

LITERATURE_PREVALENCES = (PREVALENCE, 0.05, 0.10, 0.15, 0.22)
"""The paper's own prevalence (60/1316) and points across the 5-22% range of
UBPR after vertebroplasty that its introduction cites (its references 5-12)."""


def prevalence_sensitivity(
    idata: az.InferenceData,
    patients: pd.DataFrame,
    *,
    prevalences: Sequence[float] = LITERATURE_PREVALENCES,
    prob: float = 0.95,
) -> pd.DataFrame:
    """Absolute risks of ``patients`` under each assumed population prevalence.

    A case-control sample fixes the odds ratios but not the intercept; the
    intercept that maps risks to the population depends on the prevalence
    assumed (Prentice & Pyke 1979). This recomputes every risk for each
    prevalence from the same posterior.

    Parameters
    ----------
    idata : arviz.InferenceData
        A ``design="case_control"`` fit.
    patients : pandas.DataFrame
        One row per patient with the fit's factor columns (for a formula
        fit, the raw columns its terms read: text levels, the spline's
        variable).
    prevalences : sequence of float
        Population prevalences; default the paper's 4.6% and 5%, 10%, 15%,
        22% across the literature's range.
    prob : float, default 0.95
        Credible interval mass.

    Returns
    -------
    pandas.DataFrame
        One row per patient and prevalence: ``patient`` (the index label),
        ``prevalence``, ``risk_median``, ``risk_lower``, ``risk_upper`` and
        ``risk_ratio`` (median risk over the median risk at the first
        prevalence).

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_ubpr import simulate_cohort, case_control_sample, fit
    >>> from bayes_ubpr.sensitivity import prevalence_sensitivity
    >>> sample = case_control_sample(simulate_cohort(n=600, prevalence=0.3, seed=5), seed=2)
    >>> idata = fit(sample, design="case_control", chains=2, seed=1, check=False)
    >>> patient = pd.DataFrame({"bmd_tscore_abs": [3.0], "fascia_injury": [1], "cement_distribution_poor": [0],
    ...                         "n_fractures": [2], "cement_volume_ml": [5.0], "depression": [0]})
    >>> table = prevalence_sensitivity(idata, patient, prevalences=[0.05, 0.10, 0.22])
    >>> table.shape
    (3, 6)
    >>> bool(table["risk_median"].is_monotonic_increasing)
    True
    """
    if Fitted.of(idata).spec.design != "case_control":
        raise ValueError("prevalence_sensitivity needs a design='case_control' fit; a cohort fit estimates its own")
    if len(prevalences) == 0:
        raise ValueError("prevalences must hold at least one prevalence")
    frames = []
    for prevalence in prevalences:
        prevalence = check_probability(prevalence, name="prevalences")
        risk = predict_risk(idata, patients, prob=prob, prevalence=prevalence)
        frames.append(risk.rename_axis("patient").reset_index().assign(prevalence=prevalence))
    table = pd.concat(frames, ignore_index=True)
    baseline = table.groupby("patient", sort=False)["risk_median"].transform("first")
    table["risk_ratio"] = table["risk_median"] / baseline
    table = table[["patient", "prevalence", "risk_median", "risk_lower", "risk_upper", "risk_ratio"]]
    outcome = Fitted.of(idata).spec.outcome
    table.attrs.update({"prob": prob, "prevalences": [float(p) for p in prevalences], "outcome": outcome})
    return table
