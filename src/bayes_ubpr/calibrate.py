"""Calibration studies: would our intervals and risks be right in a world like the paper's.

A study simulates many cohorts with known truth, draws the paper's
case-control sample from each, fits it, and keeps only small per-replicate
summaries (never the traces), so memory stays flat as replicates grow.
Replicate k always uses the k-th child of ``numpy.random.SeedSequence(seed)``,
so it is the same whatever the batch size or the order replicates run in.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import sys
import threading
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr
from scipy import special

from bayes_ubpr import metrics
from bayes_ubpr._io import atomic_path, remove_stale_temporaries
from bayes_ubpr._validate import check_choice, check_positive_int, check_probability
from bayes_ubpr.exceptions import StatisticalWarning
from bayes_ubpr.model import ModelSpec, default_sampler, fit
from bayes_ubpr.model._build import ModelInputs, build_from_inputs, prepare_inputs
from bayes_ubpr.model._draws import CHECKED, FitArrays, sample_arrays
from bayes_ubpr.model.mapping import MAPPINGS, anchored_intercept, linear_predictors, offset_intercept
from bayes_ubpr.paper import N_PATIENTS, OUTCOME, PREVALENCE, SIX_FACTORS
from bayes_ubpr.priors import PopulationPrevalence, PriorsLike
from bayes_ubpr.simulate import case_control_sample, simulate_cohort, true_model

__all__ = [
    "CalibrationResult",
    "SBCResult",
    "calibration_study",
    "replicate_seeds",
    "sbc_verdicts",
    "simulate_cohorts",
    "simultaneous_ecdf_band",
]

DEFAULT_PROBS = (0.5, 0.8, 0.9, 0.95)


def _report_progress(settings: dict, k: int | None) -> None:
    """Redraw the progress line after replicate ``k``; ``None``: the study stops here, end the line."""
    if not settings["progress"]:
        return
    if k is None:
        print(file=sys.stderr, flush=True)
    else:
        total = settings["n_replicates"]
        done = int(30 * k / total)
        print(f"\r[{'#' * done}{'.' * (30 - done)}] replicate {k + 1}/{total}", end="", file=sys.stderr, flush=True)
        if k + 1 == total:
            print(file=sys.stderr)


def replicate_seeds(seed: int | None, n_replicates: int) -> list[np.random.SeedSequence]:
    """Child seed sequences, one per replicate, spawned once from ``seed``.

    Examples
    --------
    >>> a = replicate_seeds(1, 5)[3].generate_state(1)
    >>> b = replicate_seeds(1, 10)[3].generate_state(1)
    >>> bool((a == b).all())
    True
    """
    n_replicates = check_positive_int(n_replicates, name="n_replicates")
    return np.random.SeedSequence(seed).spawn(n_replicates)


def _cohort(
    child: np.random.SeedSequence,
    *,
    n: int,
    prevalence: float,
    odds_ratios: Mapping[str, float] | None,
    n_cases: int | None,
    correlation: Mapping[tuple[str, str], float] | None = None,
    max_tries: int = 10_000,
) -> pd.DataFrame:
    """One replicate's cohort; with ``n_cases``, redrawn until it has exactly that many cases."""
    rng = np.random.default_rng(child)
    for _ in range(max_tries):
        cohort = simulate_cohort(n, prevalence, seed=rng, odds_ratios=odds_ratios, correlation=correlation)
        if n_cases is None or int(cohort[OUTCOME].sum()) == n_cases:
            return cohort
    raise RuntimeError(f"no cohort with exactly {n_cases} cases in {max_tries} draws; is the prevalence right?")


def simulate_cohorts(
    n_replicates: int,
    n: int = N_PATIENTS,
    prevalence: float = PREVALENCE,
    *,
    seed: int | None = None,
    odds_ratios: Mapping[str, float] | None = None,
    n_cases: int | None = None,
    correlation: Mapping[tuple[str, str], float] | None = None,
) -> Iterator[pd.DataFrame]:
    """Yield ``n_replicates`` independent cohorts, replicate k from the k-th child seed.

    Parameters
    ----------
    n_replicates : int
        Number of cohorts.
    n, prevalence, odds_ratios, correlation
        As for :func:`bayes_ubpr.simulate_cohort` (``correlation``: a
        Gaussian copula over the factors).
    seed : int, optional
        Root seed; replicate k is the same whatever ``n_replicates`` is.
    n_cases : int, optional
        Condition on exactly this many cases (the paper observed 60): cohorts
        are redrawn until they have it, which samples the conditional law
        exactly.

    Yields
    ------
    pandas.DataFrame
        A cohort with a ``replicate`` column.

    Examples
    --------
    >>> from bayes_ubpr.calibrate import simulate_cohorts
    >>> cohorts = list(simulate_cohorts(3, n=500, seed=1, n_cases=20))
    >>> [int(c["ubpr"].sum()) for c in cohorts]
    [20, 20, 20]
    """
    for k, child in enumerate(replicate_seeds(seed, n_replicates)):
        cohort = _cohort(
            child, n=n, prevalence=prevalence, odds_ratios=odds_ratios, n_cases=n_cases, correlation=correlation
        )
        cohort.insert(0, "replicate", k)
        yield cohort


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
    >>> from bayes_ubpr.calibrate import calibration_study
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


def _replicate_sample(
    child: np.random.SeedSequence, settings: dict, *, n_cases: int | None
) -> tuple[pd.DataFrame, pd.DataFrame, np.random.Generator]:
    """One replicate's cohort, its case-control sample, and the generator for the rest of the replicate."""
    cohort = _cohort(
        child,
        n=settings["n"],
        prevalence=settings["prevalence"],
        odds_ratios=settings["odds_ratios"],
        n_cases=n_cases,
        correlation=settings["correlation"],
    )
    rng = np.random.default_rng(child.spawn(1)[0])
    return cohort, case_control_sample(cohort, settings["controls_per_case"], seed=rng), rng


def _model_spec(settings: dict, priors: PriorsLike) -> ModelSpec:
    """Return the study's model: the simulated paper world's factors and outcome, its priors and design."""
    return ModelSpec(
        factors=tuple(settings["factors"]),
        priors=priors,
        design=settings["design"],
        population_mapping=settings["population_mapping"],
    )


STUDY_CHAINS, STUDY_TUNE, STUDY_DRAWS = 2, 200, 700
"""A study's default sampling: 2 chains x (200 + 700), the cheapest of the settings tried that met the
convergence target in every one of 100 replicates of the paper's design (bulk ESS >= 1,020, tail ESS >= 694,
R-hat <= 1.0075; nutpie adapts in 200 steps). 4 x (300 + 500) met it in 99 of 100 at 1.6x the time and
4 x (100 + 450) in 97; R-hat over more but shorter chains is noisier at the same total draws. A user fit
keeps 4 chains, for which R-hat is a stronger check of mixing: pass ``chains=4`` for the same here."""

REFIT_FACTOR = 4
"""A replicate whose draws miss the convergence target is refitted once with this many times the draws
(and twice the tuning); if it still misses, it is kept and flagged, never dropped."""

_VAR_NAMES = ("alpha", "beta", "intercept", "intercept_population")


def _arrays_from_fit(
    sample: pd.DataFrame, spec: ModelSpec, settings: dict, seed: int, draws: int, tune: int
) -> FitArrays:
    """Draws of a non-nutpie sampler through :func:`bayes_ubpr.fit`, as :class:`FitArrays`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        # replicates already run side by side: each one's chains on one core
        idata = fit(sample, spec, draws=draws, tune=tune, chains=settings["chains"], cores=1, seed=seed,
                    sampler=settings["sampler"], check=False, log_likelihood=False)  # fmt: skip
    post = idata.posterior
    arrays = {name: post[name].to_numpy() for name in (*_VAR_NAMES, "prevalence", *CHECKED) if name in post}
    n_divergent = int(idata.sample_stats["diverging"].sum()) if "diverging" in idata.sample_stats else 0
    return FitArrays.from_draws(arrays, n_divergent, (*_VAR_NAMES, "prevalence"))


def _fit_replicate(
    sample: pd.DataFrame, settings: dict, priors: PriorsLike, rng: np.random.Generator
) -> tuple[FitArrays, bool, bool]:
    """Fit one replicate to arrays; refit it longer if it misses the convergence target.

    Returns the draws, whether they were refitted, and whether they still
    miss the target (flagged).
    """
    spec = _model_spec(settings, priors)
    seed = int(rng.integers(2**31 - 1))
    draws, tune = settings["draws"], settings["tune"]
    if (settings["sampler"] or default_sampler()) == "nutpie":
        spec = spec.resolve(sample)  # a simulated sample needs no validation
        prevalence = spec.population_prevalence
        if isinstance(prevalence, PopulationPrevalence):
            # The prevalence enters no likelihood term: its posterior is its Beta prior, independent of the
            # rest. Drawn here instead of by NUTS, it leaves the sampler one dimension and one Beta density
            # fewer (the same posterior, about 1.2x faster per replicate).
            spec = spec.replace(population_prevalence=0.5)
        inputs = prepare_inputs(sample, spec, validated=True)
        target_accept = 0.8 if inputs.priors.kind == "independent" else 0.95

        def run(seed: int, draws: int, tune: int) -> FitArrays:
            arrays = sample_arrays(inputs, draws=draws, tune=tune, chains=settings["chains"], seed=seed,
                                   target_accept=target_accept, var_names=_VAR_NAMES)  # fmt: skip
            if isinstance(prevalence, PopulationPrevalence):
                shape = arrays.draws["intercept_population"].shape
                drawn = np.random.default_rng(seed).beta(prevalence.alpha, prevalence.beta, size=shape)
                arrays.draws["intercept_population"] = arrays.draws["intercept_population"] + special.logit(drawn)
                arrays.draws["prevalence"] = drawn
            if spec.design == "case_control" and spec.population_mapping == "anchored":
                shape = arrays.draws["intercept"].shape
                pi = arrays.flat("prevalence") if "prevalence" in arrays.draws else float(prevalence)  # type: ignore[arg-type]
                y_sample = inputs.data["outcome_values"]
                anchored = anchored_intercept(inputs.raw, y_sample, arrays.flat("beta"), pi)
                arrays.draws["intercept_population"] = anchored.reshape(shape)
            return arrays
    else:

        def run(seed: int, draws: int, tune: int) -> FitArrays:
            return _arrays_from_fit(sample, spec, settings, seed, draws, tune)

    arrays = run(seed, draws, tune)
    if arrays.converged:
        return arrays, False, False
    arrays = run(seed + 1, REFIT_FACTOR * draws, 2 * tune)
    return arrays, True, not arrays.converged


def _one_replicate(
    k: int,
    child: np.random.SeedSequence,
    *,
    settings: dict,
    truth: pd.Series,
    probs: Sequence[float],
) -> tuple[list[dict], list[dict], list[dict]]:
    cohort, sample, rng = _replicate_sample(child, settings, n_cases=settings["n_cases"])
    arrays, refitted, flagged = _fit_replicate(sample, settings, settings["priors"], rng)
    beta = arrays.flat("beta")
    rows = []
    for j, factor in enumerate(settings["factors"]):
        draws = beta[:, j]
        row = {"replicate": k, "factor": factor, "truth": truth[factor], "median": float(np.median(draws))}
        for p in probs:
            low, high = np.quantile(draws, [(1 - p) / 2, (1 + p) / 2])
            row[f"covered_{p:g}"] = bool(low <= truth[factor] <= high)
            row[f"width_{p:g}"] = float(high - low)
        row["flagged"] = flagged
        row["refitted"] = refitted
        rows.append(row)
    x = cohort[list(settings["factors"])].to_numpy(float)
    y, true_risk = cohort[OUTCOME].to_numpy(), cohort["true_risk"].to_numpy()
    predictive, curve = _predictive_calibration(k, arrays, x, y, true_risk, sample=_sample_arrays(sample, settings))
    return rows, predictive, curve


def _sample_arrays(sample: pd.DataFrame, settings: dict) -> tuple[np.ndarray, np.ndarray]:
    """Return the fitted case-control sample's raw design and outcomes, which both population mappings need."""
    return sample[list(settings["factors"])].to_numpy(float), sample[OUTCOME].to_numpy()


RISK_DRAWS = 500
"""Fewest posterior draws (evenly thinned, 700 of a study's default 1,400) averaged into each patient's
predicted risk in a study.

The Monte Carlo error of a posterior-mean risk from 500 draws is under 5% of
its posterior SD, and the calibration metrics average it over every patient
of the cohort: noise of that size in the predicted log odds attenuates the
calibration slope by less than 0.001, far below its MCSE over replicates.
These risks were a third of a replicate's time with every draw.
"""


def _population_intercepts(arrays: FitArrays, thin: slice, sample: tuple[np.ndarray, np.ndarray] | None) -> list[tuple]:
    """Each way of mapping to the population, as (model label, intercept per draw).

    ``corrected`` is the fit's own mapping and ``uncorrected`` the sample
    scale; when the prevalence is a posterior variable (uncertain prevalence)
    and the sample is known, ``offset`` and ``anchored`` are both computed from
    the same draws, so the two mappings are compared on the same fits.
    """
    intercept = arrays.flat("intercept")[thin]
    models = [("corrected", arrays.flat("intercept_population")[thin]), ("uncorrected", intercept)]
    if sample is not None and "prevalence" in arrays.draws:
        x_sample, y_sample = sample
        prevalence = arrays.flat("prevalence")[thin]
        beta = arrays.flat("beta")[thin]
        models.append(("offset", offset_intercept(intercept, y_sample, prevalence)))
        models.append(("anchored", anchored_intercept(x_sample, y_sample, beta, prevalence)))
    return models


def _predictive_calibration(
    k: int,
    arrays: FitArrays,
    x: np.ndarray,
    y: np.ndarray,
    true_risk: np.ndarray,
    *,
    sample: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[list[dict], list[dict]]:
    """Calibration of the whole cohort's posterior-mean risks, with and without the case-control correction."""
    total = arrays.flat("beta").shape[0]
    thin = slice(None, None, max(1, total // RISK_DRAWS))
    beta = arrays.flat("beta")[thin]
    linear = linear_predictors(beta, x)
    buffer = np.empty_like(linear)
    predictive, curve = [], []
    risks: list[tuple[np.ndarray, np.ndarray]] = []
    for model, intercept in _population_intercepts(arrays, thin, sample):
        # the fit's own mapping ("corrected") repeats one of the others, up to the order of its sums: reuse its risks
        risk = next((r for i, r in risks if np.allclose(i, intercept, rtol=0, atol=1e-9)), None)
        if risk is None:
            risk = _mean_risk(intercept, linear, buffer)
            risks.append((intercept, risk))
        predictive.append(
            {
                "replicate": k,
                "model": model,
                "calibration_in_the_large": metrics.calibration_in_the_large(y, risk),
                "calibration_slope": metrics.calibration_slope(y, risk),
                "brier": metrics.brier_score(y, risk),
                "mean_abs_risk_error": metrics.mean_absolute_risk_error(true_risk, risk),
                "mean_risk": float(risk.mean()),
                "mean_true_risk": float(true_risk.mean()),
                "prevalence": float(y.mean()),
            }
        )
        curve.extend(_risk_curve(k, model, risk, true_risk))
    return predictive, curve


def _mean_risk(intercept: np.ndarray, linear: np.ndarray, buffer: np.ndarray) -> np.ndarray:
    """Posterior-mean risk per patient, ``mean_s expit(intercept[s] + linear[s, i])``, computed in ``buffer``.

    ``1 / (1 + exp(-z))`` with numpy's vectorised exp is about twice as fast as
    :func:`scipy.special.expit` and agrees with it to 2 ulp per risk.
    """
    np.add(intercept[:, None], linear, out=buffer)
    np.negative(buffer, out=buffer)
    with np.errstate(over="ignore"):  # exp(-z) = inf for z below -709: its risk is 0, as it should be
        np.exp(buffer, out=buffer)
    buffer += 1.0
    np.reciprocal(buffer, out=buffer)
    return buffer.mean(axis=0)


def _risk_curve(k: int, model: str, risk: np.ndarray, true_risk: np.ndarray, n_bins: int = 10) -> list[dict]:
    """Mean predicted and mean true risk per decile of predicted risk, for the calibration curve."""
    edges = np.quantile(risk, np.linspace(0, 1, n_bins + 1))
    bins = np.clip(np.searchsorted(edges, risk, side="right") - 1, 0, n_bins - 1)
    return [
        {
            "replicate": k,
            "model": model,
            "bin": b,
            "predicted": float(risk[bins == b].mean()),
            "true": float(true_risk[bins == b].mean()),
        }
        for b in range(n_bins)
        if np.any(bins == b)
    ]


def _moments(values: pd.Series) -> tuple[float, float, int]:
    """Mean, SD (ddof 1) and number of the non-missing ``values``, with exact sums (:func:`math.fsum`).

    Exactly rounded sums do not depend on the order of the values, so a
    summary is the same to the last bit however the replicates were run.
    """
    x = values.dropna().to_numpy(float)
    n = len(x)
    mean = math.fsum(x) / n if n else math.nan
    sd = math.sqrt(math.fsum((x - mean) ** 2) / (n - 1)) if n > 1 else math.nan
    return mean, sd, n


def _by_replicate(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in replicate order (stable: each replicate's rows keep theirs), whatever order replicates finished in."""
    return frame.sort_values("replicate", kind="stable") if "replicate" in frame else frame


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


def _summarise_predictive(frame: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for model, group in _by_replicate(frame).groupby("model", sort=False):
        row: dict[str, object] = {"model": model}
        for column in ("calibration_in_the_large", "calibration_slope", "brier", "mean_abs_risk_error"):
            # NaN where the metric does not exist (e.g. no finite slope under separation): counted, not averaged
            mean, sd, count = _moments(group[column])
            row[column] = mean
            row[f"{column}_mcse"] = sd / math.sqrt(count) if count else math.nan
        row["n_undefined"] = int(group[["calibration_in_the_large", "calibration_slope"]].isna().any(axis=1).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def calibration_study(
    *,
    n_replicates: int,
    mode: str = "fixed",
    n: int = N_PATIENTS,
    prevalence: float = PREVALENCE,
    design: str = "case_control",
    priors: PriorsLike = None,
    seed: int | None = None,
    factors: Sequence[str] = SIX_FACTORS,
    odds_ratios: Mapping[str, float] | None = None,
    n_cases: int | None = None,
    correlation: Mapping[tuple[str, str], float] | None = None,
    controls_per_case: int = 1,
    population_mapping: str | None = None,
    probs: Sequence[float] = DEFAULT_PROBS,
    draws: int = STUDY_DRAWS,
    tune: int = STUDY_TUNE,
    chains: int = STUDY_CHAINS,
    sampler: str | None = None,
    n_thinned: int = 99,
    fit_priors: PriorsLike | str = "same",
    progress: bool = False,
    client: object = None,
    threads: int | None = None,
    store: str | os.PathLike[str] | None = None,
) -> CalibrationResult | SBCResult:
    """Run a fixed-truth calibration study in a world like the paper's.

    For each replicate: simulate a cohort with the true odds ratios (Table
    5's by default), take the paper's case-control sample, fit it, and record
    the posterior median log OR, whether each central credible interval
    covers the truth, and how well the predicted risks of the whole cohort
    are calibrated, with and without the case-control correction.

    Parameters
    ----------
    n_replicates : int
        Number of simulated cohorts.
    mode : {"fixed", "sbc"}, default "fixed"
        ``"fixed"``: the true odds ratios are Table 5's (or ``odds_ratios``).
        ``"sbc"``: simulation-based calibration (Talts et al. 2018): for each
        replicate the parameters are drawn from the prior and the outcomes of
        the case-control sample from the model given them; the rank of each
        true parameter among ``n_thinned`` posterior draws is uniform when
        the inference is calibrated. Returns an :class:`SBCResult`.
    n, prevalence, odds_ratios, n_cases, correlation
        The simulated world (see :func:`simulate_cohorts`).
    design : {"case_control", "cohort"}, default "case_control"
        Design of the fitted model (the sample is always case-control).
    priors, factors, chains, sampler
        Passed to :func:`bayes_ubpr.fit`.
    draws, tune, chains : int, default 700, 200 and 2
        Per chain, and chains. Sized to the convergence target rather than to
        a habit (see :data:`STUDY_DRAWS`): every replicate's draws are
        checked, and one whose R-hat exceeds 1.01, whose bulk or tail ESS
        falls below 400 (or 100 per chain, if more) for any parameter, or
        that diverges is refitted with 4x the draws and 2x the tuning; it is
        flagged if it still misses, and never dropped (``refitted`` and
        ``flagged`` columns).
    seed : int, optional
        Root seed; replicate k uses the k-th spawned child.
    controls_per_case : int, default 1
        Controls per case in each sample.
    population_mapping : {"offset", "anchored"}, optional
        How the fitted model maps its intercept to the population (see
        :class:`~bayes_ubpr.ModelSpec`); default the ModelSpec default. The
        ``corrected`` predictive row uses it; with an uncertain prevalence
        the ``offset`` and ``anchored`` rows show both mappings on the same fits.
    probs : sequence of float
        Central credible-interval masses whose coverage is reported.
    n_thinned : int, default 99
        SBC mode: posterior draws kept (evenly thinned) to rank the truth
        among, so ranks run from 0 to ``n_thinned``.
    fit_priors : priors or "same", default "same"
        SBC mode: priors of the analysis when they should differ from the
        data-generating ``priors``, to see what a misspecified prior does to
        calibration.
    progress : bool, default False
        Print a progress line per replicate to stderr.
    client : distributed.Client, optional
        Run replicates on a Dask cluster. Each replicate is seeded by its own
        child seed, so results are identical whichever executor runs them.
    threads : int, optional
        Without ``client``: replicates run side by side in this many threads
        of this process (default: one per CPU core), each replicate's chains
        on one core. The sampler runs outside Python's global lock and the
        compiled model is shared, so no process starts or compiles anew;
        results are the same as with ``threads=1``.
    store : str or path-like, optional
        Folder where each finished replicate is saved at once (one NetCDF
        file each, written atomically). Running the same study with the same
        store again resumes: finished replicates are read back, not refitted.
        A store written with other settings is refused.

    Returns
    -------
    CalibrationResult
        Summary tables with Monte Carlo standard errors; per-replicate rows.

    Examples
    --------
    >>> from bayes_ubpr.calibrate import calibration_study
    >>> result = calibration_study(n_replicates=2, n=600, prevalence=0.2, draws=300, tune=300, chains=2, seed=1)
    >>> list(result.predictive["model"])
    ['corrected', 'uncorrected', 'offset', 'anchored']
    """
    n_replicates = check_positive_int(n_replicates, name="n_replicates")
    check_choice(mode, ("fixed", "sbc"), name="mode")
    if population_mapping is not None:
        check_choice(population_mapping, MAPPINGS, name="population_mapping")
    probs = [check_probability(p, name="probs") for p in probs]
    settings = {
        "n_replicates": n_replicates,
        "mode": mode,
        "n": n,
        "prevalence": prevalence,
        "design": design,
        "priors": priors,
        "factors": list(factors),
        "odds_ratios": dict(odds_ratios or {}),
        "n_cases": n_cases,
        "correlation": dict(correlation or {}),
        "controls_per_case": controls_per_case,
        "population_mapping": population_mapping or ModelSpec().population_mapping,
        "draws": draws,
        "tune": tune,
        "chains": chains,
        "sampler": sampler,
        "seed": seed,
        "fit_priors": priors if isinstance(fit_priors, str) and fit_priors == "same" else fit_priors,
        "progress": progress,
    }
    if mode == "sbc":
        task = functools.partial(_sbc_task, settings=settings, n_thinned=n_thinned)
        parts = _run_replicates(task, settings, client=client, threads=threads, store=store)
        ranks = parts.get("rows", pd.DataFrame(columns=["replicate", "parameter", "rank", "flagged"]))
        replicate_predictive = parts.get("predictive", pd.DataFrame(columns=["replicate", "model"]))
        return SBCResult(
            verdicts=sbc_verdicts(ranks, n_thinned + 1),
            ranks=ranks,
            n_values=n_thinned + 1,
            settings=settings,
            failed=parts.get("failed"),
            predictive=_summarise_predictive(replicate_predictive),
            replicate_predictive=replicate_predictive,
            risk_curve=parts.get("curve"),
        )
    truth = true_model(prevalence=prevalence, odds_ratios=odds_ratios).log_odds_ratios
    task = functools.partial(_fixed_task, settings=settings, truth=truth, probs=probs)
    parts = _run_replicates(task, settings, client=client, threads=threads, store=store)
    replicates = parts["rows"]
    replicate_predictive = parts["predictive"]
    return CalibrationResult(
        summary=_summarise(replicates, probs),
        predictive=_summarise_predictive(replicate_predictive),
        replicates=replicates,
        replicate_predictive=replicate_predictive,
        settings=settings,
        failed=parts.get("failed"),
        risk_curve=parts.get("curve"),
    )


def simultaneous_ecdf_band(
    n_ranks: int, n_values: int, *, prob: float = 0.95, n_simulations: int = 2000, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simultaneous band for the ECDF of ``n_ranks`` uniform ranks on 0..n_values-1.

    The band is built from pointwise binomial intervals at an adjusted level
    gamma, chosen by simulation so that a uniform sample stays inside at every
    evaluation point with probability ``prob`` (Säilynoja, Bürkner & Vehtari
    2022, the simulation variant).

    Returns
    -------
    z, lower, upper : numpy.ndarray
        Evaluation points (fractions of the rank range) and the band for the
        ECDF minus z.

    References
    ----------
    Säilynoja T, Bürkner PC, Vehtari A (2022). Graphical test for discrete
    uniformity and its applications in goodness-of-fit evaluation and
    multiple sample comparison. Statistics and Computing 32:32.
    doi:10.1007/s11222-022-10090-6

    Examples
    --------
    >>> from bayes_ubpr.calibrate import simultaneous_ecdf_band
    >>> z, lower, upper = simultaneous_ecdf_band(100, 20, seed=0)
    >>> z.shape, bool((lower < 0).all() and (upper > 0).all())
    ((19,), True)
    """
    from scipy import stats

    z = np.arange(1, n_values) / n_values
    rng = np.random.default_rng(seed)
    counts = np.stack(
        [
            (rng.integers(0, n_values, size=n_ranks)[:, None] < np.arange(1, n_values)).sum(axis=0)
            for _ in range(n_simulations)
        ]
    )
    cdf = stats.binom.cdf(counts, n_ranks, z)
    tail = np.minimum(cdf, 1 - stats.binom.cdf(counts - 1, n_ranks, z))
    gamma = np.quantile(2 * tail.min(axis=1), 1 - prob)
    lower = stats.binom.ppf(gamma / 2, n_ranks, z) / n_ranks - z
    upper = stats.binom.ppf(1 - gamma / 2, n_ranks, z) / n_ranks - z
    return z, lower, upper


def sbc_verdicts(ranks: pd.DataFrame, n_values: int, *, prob: float = 0.95, seed: int | None = 0) -> pd.DataFrame:
    """Uniformity check of SBC ranks per parameter.

    Parameters
    ----------
    ranks : pandas.DataFrame
        Columns ``parameter`` and ``rank`` (0..n_values-1), one row per replicate.
    n_values : int
        Number of possible rank values (thinned draws + 1).

    Returns
    -------
    pandas.DataFrame
        Per parameter: ``n_replicates``, ``max_ecdf_difference`` and
        ``verdict`` ("consistent with uniform" or "miscalibrated": the ECDF
        difference leaves its simultaneous ``prob`` band).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bayes_ubpr.calibrate import sbc_verdicts
    >>> rng = np.random.default_rng(1)
    >>> ranks = pd.DataFrame({
    ...     "parameter": ["uniform"] * 200 + ["too narrow"] * 200,
    ...     "rank": np.r_[rng.integers(0, 100, 200), rng.choice([0, 99], 200)],  # truth always outside
    ... })
    >>> sbc_verdicts(ranks, 100)["verdict"].tolist()
    ['consistent with uniform', 'miscalibrated']
    """
    rows = []
    for parameter, group in ranks.groupby("parameter", sort=False):
        values = group["rank"].to_numpy()
        z, lower, upper = simultaneous_ecdf_band(len(values), n_values, prob=prob, seed=seed)
        difference = (values[:, None] < np.arange(1, n_values)).mean(axis=0) - z
        inside = bool(np.all((difference >= lower - 1e-12) & (difference <= upper + 1e-12)))
        rows.append(
            {
                "parameter": parameter,
                "n_replicates": len(values),
                "max_ecdf_difference": float(np.abs(difference).max()),
                "verdict": "consistent with uniform" if inside else "miscalibrated",
            }
        )
    return pd.DataFrame(rows)


def _sbc_replicate(
    k: int, child: np.random.SeedSequence, *, settings: dict, n_thinned: int
) -> tuple[list[dict], list[dict], list[dict]]:
    """Draw parameters from the prior, outcomes given them, fit, rank the truth and check predicted risks."""
    cohort, sample, rng = _replicate_sample(child, settings, n_cases=None)
    inputs = prepare_inputs(sample, _model_spec(settings, settings["priors"]), validated=True)
    x = inputs.data["X"]
    for _ in range(1000):
        alpha, beta_std, beta, intercept_population = _prior_draw(inputs, int(rng.integers(2**31 - 1)))
        y = (rng.random(len(x)) < special.expit(alpha + x @ beta_std)).astype(np.int64)
        if 0 < y.sum() < len(y):  # the model needs both outcomes; SBC holds conditionally on the data
            break
    simulated = sample.assign(**{OUTCOME: y})
    arrays, _, flagged = _fit_replicate(simulated, settings, settings["fit_priors"], rng)
    step = max(1, arrays.flat("beta").shape[0] // n_thinned)
    draws = arrays.flat("beta")[::step][:n_thinned]
    alpha_draws = arrays.flat("alpha")[::step][:n_thinned]
    rows = [{"replicate": k, "parameter": "alpha", "rank": int((alpha_draws < alpha).sum()), "flagged": flagged}]
    rows += [
        {"replicate": k, "parameter": f"beta[{f}]", "rank": int((draws[:, j] < beta[j]).sum()), "flagged": flagged}
        for j, f in enumerate(settings["factors"])
    ]
    # Predictive calibration against the drawn truth: the cohort's population risks under the prior draw
    # (its intercept mapped to the population as the model maps it), with outcomes drawn from them.
    x_cohort = cohort[list(settings["factors"])].to_numpy(float)
    true_risk = special.expit(intercept_population + x_cohort @ beta)
    y_cohort = (rng.random(len(true_risk)) < true_risk).astype(np.int64)
    predictive, curve = _predictive_calibration(
        k, arrays, x_cohort, y_cohort, true_risk, sample=_sample_arrays(simulated, settings)
    )
    return rows, predictive, curve


_PRIOR_DRAWS = threading.local()  # each thread its own models: their data are set before every draw


def _prior_draw(inputs: ModelInputs, seed: int) -> list[np.ndarray]:
    """One draw of alpha, beta_std, beta and intercept_population from the prior of ``inputs``' model.

    What ``pm.draw(..., random_seed=seed)`` returns, from a function compiled
    once per model structure (and thread) instead of once per call: the new
    data go into the model's data containers and the seed into its random
    generators.
    """
    import pymc as pm
    from pymc.sampling.mcmc import _get_seeds_per_chain
    from pytensor.graph.traversal import graph_inputs
    from pytensor.tensor.random.type import RandomType

    cache = _PRIOR_DRAWS.__dict__.setdefault("cache", {})
    if inputs.key not in cache:
        model = build_from_inputs(inputs)
        outputs = [model[name] for name in ("alpha", "beta_std", "beta", "intercept_population")]
        rngs = [v for v in graph_inputs(outputs) if isinstance(v.type, RandomType)]
        cache[inputs.key] = (model, pm.pytensorf.compile(inputs=[], outputs=outputs), rngs)
    model, draw, rngs = cache[inputs.key]
    for name, value in inputs.data.items():
        model[name].set_value(np.asarray(value, dtype=model[name].dtype))  # pm.Data keeps integers as int32
    (seed,) = _get_seeds_per_chain(seed, 1)
    pm.pytensorf.reseed_rngs(rngs, seed)
    return draw()


@dataclass(frozen=True)
class SBCResult:
    """Outcome of a simulation-based calibration study; printing it shows the verdicts.

    Attributes
    ----------
    verdicts : pandas.DataFrame
        Per parameter: the uniformity verdict of its ranks (see :func:`sbc_verdicts`).
    ranks : pandas.DataFrame
        One row per replicate and parameter: ``rank`` and whether the fit was ``flagged``.
    n_values : int
        Possible rank values (``n_thinned + 1``).
    settings : dict
        What was run.
    failed : pandas.DataFrame or None
        Replicates that raised, with the reason.
    predictive, replicate_predictive, risk_curve : pandas.DataFrame or None
        Predictive calibration as in :class:`CalibrationResult`, where each
        replicate's true risks are the population risks under its prior draw
        (the drawn intercept mapped to the population as the model maps it).

    Examples
    --------
    >>> from bayes_ubpr.calibrate import calibration_study
    >>> sbc = calibration_study(
    ...     n_replicates=2, mode="sbc", n=600, prevalence=0.2, draws=200, tune=300, chains=2, seed=1, n_thinned=19
    ... )
    >>> sbc.n_values, list(sbc.verdicts.columns)
    (20, ['parameter', 'n_replicates', 'max_ecdf_difference', 'verdict'])
    """

    verdicts: pd.DataFrame
    ranks: pd.DataFrame
    n_values: int
    settings: dict
    failed: pd.DataFrame | None = None
    predictive: pd.DataFrame | None = None
    replicate_predictive: pd.DataFrame | None = None
    risk_curve: pd.DataFrame | None = None

    def __str__(self) -> str:
        def show(frame: pd.DataFrame) -> str:
            return frame.to_string(index=False, float_format=lambda v: f"{v:.3g}")

        text = f"Simulation-based calibration: {self.settings['n_replicates']} replicates\n{show(self.verdicts)}"
        if self.predictive is not None and not self.predictive.empty:
            text += "\n\nPredictive calibration of the whole cohort's risks (truth drawn from the prior)\n"
            text += show(self.predictive)
        return text


def _fixed_task(k: int, child: np.random.SeedSequence, *, settings: dict, truth: pd.Series, probs) -> dict:
    rows, predictive, curve = _one_replicate(k, child, settings=settings, truth=truth, probs=probs)
    return {"rows": rows, "predictive": predictive, "curve": curve}


def _sbc_task(k: int, child: np.random.SeedSequence, *, settings: dict, n_thinned: int) -> dict:
    rows, predictive, curve = _sbc_replicate(k, child, settings=settings, n_thinned=n_thinned)
    return {"rows": rows, "predictive": predictive, "curve": curve}


def _guarded(task: Callable[..., dict], k: int, child: np.random.SeedSequence) -> dict:
    """Run one replicate; a failure is recorded with its reason instead of ending the study."""
    try:
        return task(k, child)
    except Exception as error:
        return {"failed": [{"replicate": k, "error": f"{type(error).__name__}: {error}"}]}


def _store_settings(settings: dict) -> str:
    """Fingerprint of a study: its settings and the package version that computes its replicates.

    The number of replicates is left out: replicate k does not depend on it,
    so a study is extended by running it again with more replicates.
    """
    fingerprint = {k: repr(v) for k, v in settings.items() if k not in ("progress", "n_replicates")}
    fingerprint["bayes_ubpr_version"] = version("bayes-ubpr")
    return json.dumps(fingerprint, sort_keys=True)


def _open_store(store: str | os.PathLike[str] | None, settings: dict) -> Path | None:
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
        if stamp.read_text() != fingerprint:
            raise ValueError(
                f"store {folder} holds a study with other settings or from another bayes_ubpr version; "
                "use a new folder to start afresh"
            )
    else:
        with atomic_path(stamp) as temporary:
            temporary.write_text(fingerprint)
    return folder


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


def _run_replicates(
    task: Callable[..., dict],
    settings: dict,
    *,
    client: object,
    threads: int | None = None,
    store: str | os.PathLike[str] | None = None,
) -> dict:
    """Run every replicate not already stored, in threads of this process or on a Dask client; collect the tables."""
    folder = _open_store(store, settings)
    children = replicate_seeds(settings["seed"], settings["n_replicates"])
    results: dict[int, dict] = {}

    def stored(k: int) -> dict | None:
        path = None if folder is None else _replicate_file(folder, k)
        return _load_replicate(path) if path is not None and path.exists() else None

    for k in range(settings["n_replicates"]):
        if (parts := stored(k)) is not None:
            results[k] = parts
    todo = [k for k in range(settings["n_replicates"]) if k not in results]

    def finish(k: int, parts: dict) -> None:
        results[k] = parts
        if folder is not None:
            _save_replicate(folder, k, parts)
        _report_progress(settings, len(results) - 1)

    def run(k: int) -> dict | None:
        if stored(k) is not None:  # another process on the same store may have finished it meanwhile
            return None
        return _guarded(task, k, children[k])

    if client is None:
        n_threads = (os.cpu_count() or 1) if threads is None else check_positive_int(threads, name="threads")
        with ThreadPoolExecutor(max_workers=n_threads) as pool:
            running = {pool.submit(run, k): k for k in todo}
            try:
                for done in as_completed(running):
                    k, parts = running[done], done.result()
                    if parts is None:
                        results[k] = stored(k) or _guarded(task, k, children[k])
                        _report_progress(settings, len(results) - 1)
                    else:
                        finish(k, parts)
            except BaseException:  # Ctrl-C: end after the replicates that are running, not after the study
                pool.shutdown(wait=True, cancel_futures=True)
                _report_progress(settings, None)
                raise
    else:
        from distributed import as_completed as dask_completed

        futures = {client.submit(_guarded, task, k, children[k], pure=False): k for k in todo}  # type: ignore[attr-defined]
        try:
            for future in dask_completed(futures):
                finish(futures[future], future.result())
        except BaseException:
            client.cancel(list(futures))  # type: ignore[attr-defined]
            _report_progress(settings, None)
            raise
    tables: dict[str, list] = {}
    for k in sorted(results):
        for name, rows in results[k].items():
            tables.setdefault(name, []).extend(rows)
    return {name: pd.DataFrame(rows) for name, rows in tables.items()}
