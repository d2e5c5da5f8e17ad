"""The simulated world of a study: cohorts with known truth and the paper's case-control sample of each."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from bayes_ubpr._rng import spawn_seeds
from bayes_ubpr._validate import check_positive_int
from bayes_ubpr.paper import N_PATIENTS, OUTCOME, PREVALENCE
from bayes_ubpr.simulate import case_control_sample, simulate_cohort

if TYPE_CHECKING:
    from bayes_ubpr.studies._settings import StudySettings

__all__ = ["replicate_seeds", "simulate_cohorts"]


def replicate_seeds(seed: int | None, n_replicates: int) -> list[np.random.SeedSequence]:
    """Child seed sequences, one per replicate, spawned once from ``seed``.

    The studies' name for ``bayes_ubpr._rng.spawn_seeds``, the one seed
    helper of every study, with ``n_replicates`` checked.

    Examples
    --------
    >>> a = replicate_seeds(1, 5)[3].generate_state(1)
    >>> b = replicate_seeds(1, 10)[3].generate_state(1)
    >>> bool((a == b).all())
    True
    """
    return spawn_seeds(seed, check_positive_int(n_replicates, name="n_replicates"))


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
    >>> from bayes_ubpr.studies import simulate_cohorts
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


def replicate_sample(
    child: np.random.SeedSequence, settings: StudySettings, *, n_cases: int | None
) -> tuple[pd.DataFrame, pd.DataFrame, np.random.Generator]:
    """One replicate's cohort, its case-control sample, and the generator for the rest of the replicate."""
    cohort = _cohort(
        child,
        n=settings.n,
        prevalence=settings.prevalence,
        odds_ratios=settings.odds_ratios,
        n_cases=n_cases,
        correlation=settings.correlation,
    )
    rng = np.random.default_rng(child.spawn(1)[0])
    return cohort, case_control_sample(cohort, settings.controls_per_case, seed=rng), rng


def sample_design(sample: pd.DataFrame, settings: StudySettings) -> tuple[np.ndarray, np.ndarray]:
    """Return the fitted case-control sample's raw design and outcomes, which both population mappings need."""
    return sample[list(settings.factors)].to_numpy(float), sample[OUTCOME].to_numpy()
