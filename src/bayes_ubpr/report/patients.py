"""The two example patients of a report: a typical one, and one moved to the riskiest values the data hold."""

from __future__ import annotations

from typing import Any

import arviz as az
import numpy as np
import pandas as pd

from bayes_ubpr.model import Fitted
from bayes_ubpr.paper import RISK_FACTORS
from bayes_ubpr.terms import Categorical
from bayes_ubpr.terms.kinds import main_parts

__all__ = ["EXAMPLE_PATIENT", "example_patients"]

EXAMPLE_PATIENT = {
    "bmd_tscore_abs": 3.6,
    "fascia_injury": 1,
    "cement_distribution_poor": 0,
    "n_fractures": 3,
    "cement_volume_ml": 4.0,
    "depression": 0,
}
"""A high-risk patient: low bone density (T = -3.6), fascia injury, three fractures, 4 mL of cement."""


def example_patients(idata: az.InferenceData) -> pd.DataFrame:
    """Return a typical patient and a high-risk one, as raw values the fit's terms read.

    The typical patient is :meth:`Fitted.typical_patient
    <bayes_ubpr.model.Fitted.typical_patient>`: each numeric variable's
    median in the fitted data (rounded for binary and count variables), each
    categorical factor's commonest level. The high-risk patient starts from
    it and changes one raw variable at a time, in model order, to the value
    that raises the posterior median log odds most: a categorical factor to
    one of its levels, a binary variable to 0 or 1, a numeric one (or a
    spline's variable) to its 5th or 95th percentile, keeping the typical
    value where neither raises the risk. Each change is judged through the
    model's own design columns, after the changes before it, so a spline's
    curve and an interaction are followed and every value is one the data
    hold: never a squared term inconsistent with its base. A fit made with a
    list of factors gives the paper's factors the values of
    :data:`EXAMPLE_PATIENT`.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit` (its terms carry the typical values,
        percentiles and levels of the fitted data).

    Returns
    -------
    pandas.DataFrame
        Rows ``"typical patient"`` and ``"high-risk example"``, one column per
        raw variable of the fit: ready for :func:`bayes_ubpr.predict_risk`.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, predict_risk
    >>> from bayes_ubpr.report import example_patients
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> patients = example_patients(idata)
    >>> patients.loc["high-risk example", ["fascia_injury", "n_fractures", "cement_volume_ml"]].tolist()
    [1.0, 3.0, 4.0]
    >>> risk = predict_risk(idata, patients)
    >>> bool(risk.loc["high-risk example", "risk_median"] > risk.loc["typical patient", "risk_median"])
    True
    """
    view = Fitted.of(idata)
    terms = view.terms
    summary = terms.summary or {}
    kinds = {f.name: f.kind for f in view.spec.factors}
    levels = {p.column: p.levels for t in terms.terms for p in main_parts(t) if isinstance(p, Categorical)}
    typical = {v: _possible(value, kinds.get(v)) for v, value in terms.typical_values().items()}
    high = dict(typical)
    paper = {}
    if view.spec.terms is None:  # a fit of factors: the paper's own example for the paper's factors
        paper = {
            f.name: float(EXAMPLE_PATIENT[f.name])
            for f in view.spec.factors
            if f.name in EXAMPLE_PATIENT and f.paper_row == RISK_FACTORS[f.name].paper_row
        }
    beta = view.log_odds_ratio_draws
    for variable in terms.variables:
        if variable in paper:
            high[variable] = paper[variable]
            continue
        about = summary.get(variable, {})
        options: list[Any]
        if variable in levels:
            options = list(levels[variable] or ())
        elif about.get("kind") == "binary":
            options = [0.0, 1.0]
        else:
            options = [_possible(about[q], kinds.get(variable)) for q in ("p05", "p95") if q in about]
        candidates = list(dict.fromkeys([high[variable], *options]))  # the current value first: ties keep it
        frame = pd.DataFrame([{**high, **paper, variable: value} for value in candidates])
        x = view.design(frame)
        gain = np.median((x - x[0]) @ beta.T, axis=1)  # posterior median log odds ratio of each change
        high[variable] = candidates[int(np.argmax(gain))]
    return pd.DataFrame([typical, high], index=["typical patient", "high-risk example"])


def _possible(value: object, kind: str | None) -> object:
    """Return a typical or percentile value as a patient can have it: whole for binary and count variables."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(round(value)) if kind in ("binary", "count") else float(value)
    return value
