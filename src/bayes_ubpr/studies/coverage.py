"""The fixed-truth study: coverage, bias and RMSE of the posterior when the truth is Table 5's."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_ubpr.paper import OUTCOME
from bayes_ubpr.studies._fit import _fit_replicate
from bayes_ubpr.studies._runner import _by_replicate, _moments
from bayes_ubpr.studies._settings import StudySettings
from bayes_ubpr.studies.predictive import _predictive_calibration
from bayes_ubpr.studies.world import _replicate_sample, _sample_arrays

__all__ = ["DEFAULT_PROBS", "CalibrationResult"]

DEFAULT_PROBS = (0.5, 0.8, 0.9, 0.95)


@dataclass(frozen=True)
class CalibrationResult:
    """Outcome of :func:`calibration_study`; printing it shows the summary tables.

    Attributes
    ----------
    summary : pandas.DataFrame
        Per factor: ``truth``, ``bias`` and ``rmse`` of the posterior median
        log odds ratio with Monte Carlo standard errors, and ``coverage_<p>``
        of each central credible interval with ``coverage_<p>_mcse``.
    predictive : pandas.DataFrame
        Per model (``corrected``: case-control corrected population risks;
        ``uncorrected``: the sample-scale risks) the mean over replicates of
        calibration-in-the-large, calibration slope, Brier score and
        mean absolute error against the true risks (``mean_abs_risk_error``,
        :func:`~bayes_ubpr.metrics.mean_absolute_risk_error`) of the whole
        cohort's predicted risks, each with its Monte Carlo standard error.
    replicates : pandas.DataFrame
        One row per replicate and factor (and the replicate's diagnostics).
    replicate_predictive : pandas.DataFrame
        One row per replicate and model.
    settings : dict
        What was run.
    failed : pandas.DataFrame or None
        Replicates that raised, with the reason (``replicate``, ``error``).
    risk_curve : pandas.DataFrame or None
        Per replicate, model and decile of predicted risk: mean ``predicted``
        and mean ``true`` risk of the cohort's patients (for the calibration curve).

    Examples
    --------
    >>> from bayes_ubpr.studies import calibration_study
    >>> result = calibration_study(n_replicates=2, n=600, prevalence=0.2, draws=200, tune=300, chains=2, seed=1)
    >>> list(result.summary.columns[:4])
    ['factor', 'truth', 'bias', 'bias_mcse']
    >>> str(result).startswith("Calibration study: 2 replicates, case_control design, n = 600")
    True
    """

    summary: pd.DataFrame
    predictive: pd.DataFrame
    replicates: pd.DataFrame
    replicate_predictive: pd.DataFrame
    settings: dict
    failed: pd.DataFrame | None = None
    risk_curve: pd.DataFrame | None = None

    def __str__(self) -> str:
        def show(frame: pd.DataFrame) -> str:
            return frame.to_string(index=False, float_format=lambda v: f"{v:.3g}")

        per_replicate = self.replicates.groupby("replicate")
        flagged = int(per_replicate["flagged"].any().sum())
        refitted = int(per_replicate["refitted"].any().sum()) if "refitted" in self.replicates else 0
        return (
            f"Calibration study: {self.settings['n_replicates']} replicates, {self.settings['design']} design, "
            f"n = {self.settings['n']}, prevalence {self.settings['prevalence']:.3g}; "
            f"{refitted} refitted longer and {flagged} still flagged (R-hat > 1.01, ESS < 400 or divergences).\n\n"
            f"Posterior median log OR and interval coverage\n{show(self.summary)}\n\n"
            f"Predictive calibration of the whole cohort's risks\n{show(self.predictive)}"
        )


def _one_replicate(
    k: int,
    child: np.random.SeedSequence,
    *,
    settings: StudySettings,
    truth: pd.Series,
    probs: Sequence[float],
) -> tuple[list[dict], list[dict], list[dict]]:
    cohort, sample, rng = _replicate_sample(child, settings, n_cases=settings.n_cases)
    arrays, refitted, flagged = _fit_replicate(sample, settings.fit_spec, settings.sampling, rng)
    beta = arrays.flat("beta")
    rows = []
    for j, factor in enumerate(settings.factors):
        draws = beta[:, j]
        row = {"replicate": k, "factor": factor, "truth": truth[factor], "median": float(np.median(draws))}
        for p in probs:
            low, high = np.quantile(draws, [(1 - p) / 2, (1 + p) / 2])
            row[f"covered_{p:g}"] = bool(low <= truth[factor] <= high)
            row[f"width_{p:g}"] = float(high - low)
        row["flagged"] = flagged
        row["refitted"] = refitted
        rows.append(row)
    x = cohort[list(settings.factors)].to_numpy(float)
    y, true_risk = cohort[OUTCOME].to_numpy(), cohort["true_risk"].to_numpy()
    predictive, curve = _predictive_calibration(k, arrays, x, y, true_risk, sample=_sample_arrays(sample, settings))
    return rows, predictive, curve


def _summarise(replicates: pd.DataFrame, probs: Sequence[float]) -> pd.DataFrame:
    rows = []
    for factor, group in _by_replicate(replicates).groupby("factor", sort=False):
        error = group["median"] - group["truth"]
        bias, bias_sd, r = _moments(error)
        mean_square, square_sd, _ = _moments(error**2)
        row = {
            "factor": factor,
            "truth": group["truth"].iloc[0],
            "bias": bias,
            "bias_mcse": bias_sd / math.sqrt(r),
            "rmse": math.sqrt(mean_square),
            # delta method: SE of sqrt(mean(e^2)) = SD(e^2) / (2 rmse sqrt(R))
            "rmse_mcse": square_sd / (2 * math.sqrt(mean_square) * math.sqrt(r)),
        }
        for p in probs:
            coverage = _moments(group[f"covered_{p:g}"].astype(float))[0]
            row[f"coverage_{p:g}"] = coverage
            row[f"coverage_{p:g}_mcse"] = math.sqrt(coverage * (1 - coverage) / r)
            if f"width_{p:g}" in group:
                width, width_sd, _ = _moments(group[f"width_{p:g}"])
                row[f"width_{p:g}"] = width
                row[f"width_{p:g}_mcse"] = width_sd / math.sqrt(r)
        rows.append(row)
    return pd.DataFrame(rows)


def _fixed_task(
    k: int, child: np.random.SeedSequence, *, settings: StudySettings, truth: pd.Series, probs: Sequence[float]
) -> dict:
    rows, predictive, curve = _one_replicate(k, child, settings=settings, truth=truth, probs=probs)
    return {"rows": rows, "predictive": predictive, "curve": curve}
