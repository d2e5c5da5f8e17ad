"""One entry point for both studies, behind a ``mode`` switch."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence

import pandas as pd

from bayes_ubpr._validate import check_probability
from bayes_ubpr.model import Sampling
from bayes_ubpr.paper import N_PATIENTS, PREVALENCE, SIX_FACTORS
from bayes_ubpr.priors import PriorsLike
from bayes_ubpr.simulate import true_model
from bayes_ubpr.studies._runner import _run_replicates
from bayes_ubpr.studies._settings import STUDY_CHAINS, STUDY_DRAWS, STUDY_TUNE, StudySettings
from bayes_ubpr.studies.coverage import DEFAULT_PROBS, CalibrationResult, _fixed_task, _summarise
from bayes_ubpr.studies.predictive import _summarise_predictive
from bayes_ubpr.studies.sbc import SBCResult, _sbc_task, sbc_verdicts

__all__ = ["calibration_study"]


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
    >>> from bayes_ubpr.studies import calibration_study
    >>> result = calibration_study(n_replicates=2, n=600, prevalence=0.2, draws=300, tune=300, chains=2, seed=1)
    >>> list(result.predictive["model"])
    ['corrected', 'uncorrected', 'offset', 'anchored']
    """
    study = StudySettings(
        n_replicates=n_replicates,
        mode=mode,
        n=n,
        prevalence=prevalence,
        design=design,
        priors=priors,
        factors=factors,
        odds_ratios=odds_ratios,
        n_cases=n_cases,
        correlation=correlation,
        controls_per_case=controls_per_case,
        population_mapping=population_mapping,
        sampling=Sampling(draws=draws, tune=tune, chains=chains, sampler=sampler),
        seed=seed,
        fit_priors=fit_priors,
        progress=progress,
    )
    probs = [check_probability(p, name="probs") for p in probs]
    settings = study.as_dict()
    if mode == "sbc":
        task = functools.partial(_sbc_task, settings=study, n_thinned=n_thinned)
        parts = _run_replicates(task, study, client=client, threads=threads, store=store)
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
    task = functools.partial(_fixed_task, settings=study, truth=truth, probs=probs)
    parts = _run_replicates(task, study, client=client, threads=threads, store=store)
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
