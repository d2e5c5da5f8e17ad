"""The compatibility path: one entry point for both studies behind a ``mode`` switch, with loose keywords."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from bayes_ubpr.model import ModelSpec, Sampling
from bayes_ubpr.model.sampling import sampling_from_keywords
from bayes_ubpr.paper import N_PATIENTS, PREVALENCE, SIX_FACTORS
from bayes_ubpr.priors import PriorsLike
from bayes_ubpr.studies._settings import STUDY_SAMPLING, StudySettings
from bayes_ubpr.studies.coverage import DEFAULT_PROBS, CalibrationResult, run_coverage
from bayes_ubpr.studies.sbc import SBCResult, run_sbc

__all__ = ["calibration_study"]


def calibration_study(
    *,
    n_replicates: int,
    mode: str = "fixed",
    spec: ModelSpec | None = None,
    sampling: Sampling | None = None,
    n: int = N_PATIENTS,
    prevalence: float = PREVALENCE,
    design: str | None = None,
    priors: PriorsLike = None,
    seed: int | None = None,
    factors: Sequence[str] | None = None,
    odds_ratios: Mapping[str, float] | None = None,
    n_cases: int | None = None,
    correlation: Mapping[tuple[str, str], float] | None = None,
    controls_per_case: int = 1,
    population_mapping: str | None = None,
    probs: Sequence[float] = DEFAULT_PROBS,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    sampler: str | None = None,
    n_thinned: int = 99,
    fit_priors: PriorsLike | str = "same",
    progress: bool = False,
    client: object = None,
    threads: int | None = None,
    store: str | os.PathLike[str] | None = None,
) -> CalibrationResult | SBCResult:
    """Run either calibration study behind a ``mode`` switch: the compatibility path.

    New code calls :func:`coverage_study` (``mode="fixed"``) or
    :func:`sbc_study` (``mode="sbc"``), which take the fitted model as a
    :class:`~bayes_ubpr.ModelSpec` and its sampling as a
    :class:`~bayes_ubpr.Sampling`; this function runs the same study with
    the same numbers. The loose keywords that describe the fitted model
    (``design``, ``priors``, ``factors``, ``population_mapping``,
    ``fit_priors``) or its sampling (``draws``, ``tune``, ``chains``,
    ``sampler``) still work for one release, with a ``DeprecationWarning``.
    Those of the simulated world (``n``, ``prevalence``, ``odds_ratios``,
    ``n_cases``, ``correlation``, ``controls_per_case``) stay.

    Parameters
    ----------
    n_replicates : int
        Number of simulated cohorts.
    mode : {"fixed", "sbc"}, default "fixed"
        ``"fixed"``: :func:`coverage_study`, returns a
        :class:`CalibrationResult`. ``"sbc"``: :func:`sbc_study`, returns an
        :class:`SBCResult`.
    spec : ModelSpec, optional
        The fitted model (default :data:`STUDY_SPEC`); in SBC also the
        model whose prior the truth is drawn from.
    sampling : Sampling, optional
        Default :data:`STUDY_SAMPLING`.
    n, prevalence, seed, odds_ratios, n_cases, correlation, controls_per_case, probs, progress, client, threads, store
        As for :func:`coverage_study` (SBC ignores ``n_cases`` and ``probs``).
    n_thinned : int, default 99
        SBC: as for :func:`sbc_study`.
    design, priors, factors, population_mapping : optional
        Deprecated: the fields of ``spec``. In SBC, ``priors`` are also
        those the truth is drawn from (``truth_priors`` of :func:`sbc_study`).
    fit_priors : priors or "same", default "same"
        Deprecated: SBC's analysis priors when they differ from ``priors``
        (``spec.priors`` of :func:`sbc_study`).
    draws, tune, chains, sampler : optional
        Deprecated: the fields of ``sampling``.

    Returns
    -------
    CalibrationResult or SBCResult

    Raises
    ------
    TypeError
        For the model given both as ``spec`` and as loose keywords.

    Warns
    -----
    DeprecationWarning
        For any of the loose keywords of the model or its sampling.

    Examples
    --------
    >>> from bayes_ubpr import Sampling
    >>> from bayes_ubpr.studies import calibration_study
    >>> quick = Sampling(draws=200, tune=300, chains=2)
    >>> sbc = calibration_study(
    ...     n_replicates=2, mode="sbc", n=600, prevalence=0.2, sampling=quick, seed=1, n_thinned=19
    ... )
    >>> type(sbc).__name__, sbc.n_values
    ('SBCResult', 20)
    """
    model = {"design": design, "priors": priors, "factors": factors, "population_mapping": population_mapping}
    model = {name: value for name, value in model.items() if value is not None}
    if not (isinstance(fit_priors, str) and fit_priors == "same"):
        model["fit_priors"] = fit_priors
    if model and spec is not None:
        raise TypeError(f"calibration_study: pass {', '.join(model)} inside spec=ModelSpec(...), not beside it")
    sampling = sampling_from_keywords(
        sampling,
        {"draws": draws, "tune": tune, "chains": chains, "sampler": sampler},
        default=STUDY_SAMPLING,
        caller="calibration_study",
    )
    world: dict[str, Any] = {
        "n_replicates": n_replicates,
        "sampling": sampling,
        "seed": seed,
        "n": n,
        "prevalence": prevalence,
        "odds_ratios": odds_ratios,
        "n_cases": n_cases,
        "correlation": correlation,
        "controls_per_case": controls_per_case,
        "progress": progress,
    }
    if model:
        warnings.warn(
            f"calibration_study({', '.join(f'{k}=...' for k in model)}) is deprecated and will be removed in the "
            "next release: pass the fitted model as spec=bayes_ubpr.ModelSpec(...) to coverage_study or sbc_study "
            "(in SBC, the priors the truth is drawn from as truth_priors=)",
            DeprecationWarning,
            stacklevel=2,
        )
    if spec is not None:
        study = StudySettings.from_spec(spec, caller="calibration_study", mode=mode, **world)
    else:  # the keywords as they always were, so that the stores they wrote resume
        study = StudySettings(
            mode=mode,
            design="case_control" if design is None else design,
            priors=priors,
            factors=SIX_FACTORS if factors is None else factors,
            population_mapping=population_mapping,
            fit_priors=fit_priors,
            **world,
        )
    if study.mode == "sbc":
        return run_sbc(study, n_thinned, client=client, threads=threads, store=store)
    return run_coverage(study, probs, client=client, threads=threads, store=store)
