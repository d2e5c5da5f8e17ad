"""The fixed-truth study: coverage, bias and RMSE of the posterior when the truth is Table 5's."""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from bayes_ubpr._validate import check_probability
from bayes_ubpr.model import ModelSpec, Sampling
from bayes_ubpr.paper import N_PATIENTS, OUTCOME, PREVALENCE
from bayes_ubpr.simulate import TrueModel
from bayes_ubpr.simulate.effects import Effect
from bayes_ubpr.studies._fit import fit_replicate
from bayes_ubpr.studies._runner import by_replicate, run_replicates, summary_moments
from bayes_ubpr.studies._settings import StudySettings
from bayes_ubpr.studies.predictive import predictive_calibration, summarise_predictive
from bayes_ubpr.studies.world import design, replicate_sample, sample_design, site_offsets, true_quantities

__all__ = ["DEFAULT_PROBS", "CalibrationResult", "coverage_study"]

DEFAULT_PROBS = (0.5, 0.8, 0.9, 0.95)


@dataclass(frozen=True)
class CalibrationResult:
    """Outcome of :func:`coverage_study`; printing it shows the summary tables.

    Attributes
    ----------
    summary : pandas.DataFrame
        Per quantity whose truth the world knows (a factor; with terms, a
        level against the reference, or a contrast of a spline,
        ``cement_volume_ml[5.04 vs 5.5]``: see
        :func:`~bayes_ubpr.studies.world.true_quantities`), in the column
        ``factor``: ``truth``, ``bias`` and ``rmse`` of the posterior median
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
        One row per replicate and quantity (and the replicate's diagnostics).
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
    >>> from bayes_ubpr import Sampling
    >>> from bayes_ubpr.studies import coverage_study
    >>> quick = Sampling(draws=200, tune=300, chains=2)
    >>> result = coverage_study(n_replicates=2, n=600, prevalence=0.2, sampling=quick, seed=1)
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
    truth: TrueModel,
    probs: Sequence[float],
) -> tuple[list[dict], list[dict], list[dict]]:
    cohort, sample, rng = replicate_sample(child, settings, n_cases=settings.n_cases)
    spec = settings.fit_spec.with_terms_of(sample)  # levels and knots of this replicate's sample
    arrays, refitted, flagged = fit_replicate(sample, spec, settings.sampling, rng)
    beta = arrays.flat("beta")
    rows = []
    for quantity in true_quantities(spec, truth):
        draws = quantity.draws(beta)
        row = {"replicate": k, "factor": quantity.name, "truth": quantity.truth, "median": float(np.median(draws))}
        for p in probs:
            low, high = np.quantile(draws, [(1 - p) / 2, (1 + p) / 2])
            row[f"covered_{p:g}"] = bool(low <= quantity.truth <= high)
            row[f"width_{p:g}"] = float(high - low)
        row["flagged"] = flagged
        row["refitted"] = refitted
        rows.append(row)
    y, true_risk = cohort[OUTCOME].to_numpy(), cohort["true_risk"].to_numpy()
    if spec.group is None:
        sites, mappings = None, sample_design(sample, spec)
    else:  # the anchored mapping knows no sites' intercepts: only the fit's own (offset) mapping is shown
        sites, mappings = site_offsets(arrays, cohort, sample, rng), None
    predictive, curve = predictive_calibration(
        k, arrays, design(cohort, spec), y, true_risk, sample=mappings, sites=sites
    )
    return rows, predictive, curve


def _summarise(replicates: pd.DataFrame, probs: Sequence[float]) -> pd.DataFrame:
    rows = []
    for factor, group in by_replicate(replicates).groupby("factor", sort=False):
        error = group["median"] - group["truth"]
        bias, bias_sd, r = summary_moments(error)
        mean_square, square_sd, _ = summary_moments(error**2)
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
            coverage = summary_moments(group[f"covered_{p:g}"].astype(float))[0]
            row[f"coverage_{p:g}"] = coverage
            row[f"coverage_{p:g}_mcse"] = math.sqrt(coverage * (1 - coverage) / r)
            if f"width_{p:g}" in group:
                width, width_sd, _ = summary_moments(group[f"width_{p:g}"])
                row[f"width_{p:g}"] = width
                row[f"width_{p:g}_mcse"] = width_sd / math.sqrt(r)
        rows.append(row)
    return pd.DataFrame(rows)


def _fixed_task(
    k: int, child: np.random.SeedSequence, *, settings: StudySettings, truth: TrueModel, probs: Sequence[float]
) -> dict:
    rows, predictive, curve = _one_replicate(k, child, settings=settings, truth=truth, probs=probs)
    return {"rows": rows, "predictive": predictive, "curve": curve}


def coverage_study(
    spec: ModelSpec | None = None,
    *,
    n_replicates: int,
    sampling: Sampling | None = None,
    seed: int | None = None,
    n: int = N_PATIENTS,
    prevalence: float = PREVALENCE,
    odds_ratios: Mapping[str, float] | None = None,
    n_cases: int | None = None,
    correlation: Mapping[tuple[str, str], float] | None = None,
    effects: Sequence[Effect] | None = None,
    controls_per_case: int = 1,
    n_sites: int = 1,
    site_sd: float = 0.0,
    probs: Sequence[float] = DEFAULT_PROBS,
    progress: bool = False,
    client: object = None,
    threads: int | None = None,
    store: str | os.PathLike[str] | None = None,
) -> CalibrationResult:
    r"""Run a fixed-truth calibration study of ``spec`` in a world like the paper's.

    For each replicate: simulate a cohort with the true odds ratios (Table
    5's by default), take the paper's case-control sample, fit ``spec`` to
    it, and record the posterior median log OR, whether each central
    credible interval covers the truth, and how well the predicted risks of
    the whole cohort are calibrated, with and without the case-control
    correction.

    With ``effects`` the world also has a categorical factor with text
    levels or a curved effect, and ``spec`` may be a formula's
    (:meth:`~bayes_ubpr.ModelSpec.from_formula`) with ``C()`` and ``rcs()``
    terms; their levels and knots are read off each replicate's sample, as
    a fit reads them, and the study reports what has a true value: each
    level's log OR against the fit's reference level, and a spline's log OR
    between stated values (:func:`~bayes_ubpr.studies.world.true_quantities`).

    Parameters
    ----------
    spec : ModelSpec, optional
        The fitted model: its factors (of the paper's catalogue) or terms
        (of the world's variables, without interactions: the world is
        additive), priors, design and population mapping. Default :data:`STUDY_SPEC`, the six
        factors of Table 5 with the default priors and the case-control
        design; ``STUDY_SPEC.replace(priors="sceptical")`` changes one thing.
        (``ModelSpec()`` alone has the cohort design: the sample is always
        case-control, the fitted model need not be.) The ``corrected``
        predictive row uses its population mapping; with an uncertain
        prevalence the ``offset`` and ``anchored`` rows show both mappings on
        the same fits. ``group="site"`` fits the sites' intercepts of a world
        of sites (``n_sites``); the cohort's predicted risks then include each
        patient's site offset (a site the sample lacks: a new site's, drawn
        from the fitted SD).
    n_replicates : int
        Number of simulated cohorts.
    sampling : Sampling, optional
        Draws, tuning steps, chains, sampler and target acceptance of each
        replicate's fit. Default :data:`STUDY_SAMPLING`, 2 chains x (200 +
        700), sized to the convergence target rather than to a habit (see
        :data:`STUDY_DRAWS`): every replicate's draws are checked, and one
        whose R-hat exceeds 1.01, whose bulk or tail ESS falls below 400 (or
        100 per chain, if more) for any parameter, or that diverges is
        refitted with 2x the tuning and 2x-4x the draws (what its ESS
        shortfall asks for, :func:`~bayes_ubpr.studies.refit_factor`); it is flagged if it
        still misses, and never dropped (``refitted`` and ``flagged``
        columns). Each replicate's chains run on one core, so ``cores`` and
        ``progressbar`` stay unset.
    seed : int, optional
        Root seed; replicate k uses the k-th spawned child.
    n, prevalence, odds_ratios, n_cases, correlation
        The simulated world (see :func:`simulate_cohorts`).
    effects : sequence of LevelEffects or QuadraticEffect, optional
        Effects of the world beyond a log odds ratio per unit: a categorical
        factor with a known OR per level, a curve of a continuous variable
        with the contrasts it is judged at (see
        :func:`bayes_ubpr.simulate.true_model`).
    controls_per_case : int, default 1
        Controls per case in each sample.
    n_sites : int, default 1
        Sites (hospitals) of the world: above 1, each patient is assigned one
        at random, recorded in a ``site`` column, and the sites' log-odds
        intercepts have SD ``site_sd`` around the prevalence (see
        :func:`bayes_ubpr.simulate_cohort`). The sample is drawn from the
        whole cohort, as the paper's. A model without ``group="site"`` in
        such a world shows what ignoring the sites costs.
    site_sd : float, default 0
        SD of the sites' log-odds intercepts.
    probs : sequence of float
        Central credible-interval masses whose coverage is reported.
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

    Raises
    ------
    ValueError, TypeError
        Naming the argument, before any replicate runs: a spec with an
        outcome, prevalence, varying slopes, factors or term variables the
        simulated world does not have, a grouping other than ``"site"`` (or
        ``"site"`` without ``n_sites``), an interaction, or a setting out of
        range.

    See Also
    --------
    sbc_study : simulation-based calibration, the truth drawn from the prior.

    Examples
    --------
    >>> from bayes_ubpr import Sampling
    >>> from bayes_ubpr.studies import STUDY_SPEC, coverage_study
    >>> quick = Sampling(draws=300, tune=300, chains=2)
    >>> spec = STUDY_SPEC.replace(population_mapping="anchored")
    >>> result = coverage_study(spec, n_replicates=2, n=600, prevalence=0.2, sampling=quick, seed=1)
    >>> list(result.predictive["model"])
    ['corrected', 'uncorrected', 'offset', 'anchored']

    A world with a categorical fracture level and a U-shaped cement volume, fitted by a formula:

    >>> from bayes_ubpr import ModelSpec
    >>> from bayes_ubpr.simulate import LevelEffects, QuadraticEffect
    >>> effects = [
    ...     LevelEffects("fracture_level", ("lumbar", "thoracic", "thoracolumbar"), (0.3, 0.25, 0.45),
    ...                  odds_ratios={"thoracic": 1.5, "thoracolumbar": 2.5}),
    ...     QuadraticEffect("cement_volume_ml", curvature=1.5, centre=5.5),
    ... ]
    >>> spec = ModelSpec.from_formula("ubpr ~ fascia_injury + C(fracture_level) + rcs(cement_volume_ml, 4)",
    ...                               design="case_control")
    >>> result = coverage_study(spec, n_replicates=2, n=600, prevalence=0.2, effects=effects, sampling=quick, seed=1)
    >>> print("\n".join(result.summary["factor"]))  # what has a truth: levels vs the reference, contrasts
    fascia_injury
    fracture_level[thoracic]
    fracture_level[thoracolumbar]
    cement_volume_ml[5.04 vs 5.5]
    cement_volume_ml[5.96 vs 5.5]
    """
    study = StudySettings.from_spec(
        spec,
        caller="coverage_study",
        mode="fixed",
        n_replicates=n_replicates,
        sampling=sampling,
        seed=seed,
        n=n,
        prevalence=prevalence,
        odds_ratios=odds_ratios,
        n_cases=n_cases,
        correlation=correlation,
        effects=effects or (),
        controls_per_case=controls_per_case,
        n_sites=n_sites,
        site_sd=site_sd,
        progress=progress,
    )
    return run_coverage(study, probs, client=client, threads=threads, store=store)


def run_coverage(
    study: StudySettings,
    probs: Sequence[float],
    *,
    client: object,
    threads: int | None,
    store: str | os.PathLike[str] | None,
) -> CalibrationResult:
    """Run the replicates of a fixed-truth study and summarise them."""
    probs = [check_probability(p, name="probs") for p in probs]
    task = functools.partial(_fixed_task, settings=study, truth=study.world, probs=probs)
    parts = run_replicates(task, study, client=client, threads=threads, store=store)
    replicates = parts["rows"]
    replicate_predictive = parts["predictive"]
    return CalibrationResult(
        summary=_summarise(replicates, probs),
        predictive=summarise_predictive(replicate_predictive),
        replicates=replicates,
        replicate_predictive=replicate_predictive,
        settings=study.as_dict(),
        failed=parts.get("failed"),
        risk_curve=parts.get("curve"),
    )
