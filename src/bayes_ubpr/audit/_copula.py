"""The six factors correlated within groups: a Gaussian copula of Table 4's laws, tilted by the odds ratios.

Kernels of :func:`bayes_ubpr.audit.across.implied_case_group_by_correlation`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from scipy import stats

from bayes_ubpr.audit._fits import Fits, group_law
from bayes_ubpr.paper import N_CASES, N_CONTROLS_SAMPLED
from bayes_ubpr.simulate import BernoulliLaw, Law, NormalLaw

CORRELATIONS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)
"""Within-group correlations tried by :func:`implied_case_group_by_correlation` (0 to a clinically plausible 0.5)."""

RESAMPLING_POOL = 50
"""Control-law draws per case from which cases are resampled with weights exp(B'x) (sampling-importance resampling)."""

INTEGRATION_DRAWS = 20_000
"""Copula draws over which the implied case means of the printed tables are integrated."""

REPLICATE_INTEGRATION_DRAWS = 4_000
"""Copula draws for each simulated replicate's implied means (the same draws for every replicate)."""

CORRELATED = (
    "the six factors' normal scores are equicorrelated within each group (a Gaussian copula with correlation rho "
    "between every pair of risk-aligned factors: each factor oriented so that higher values go with UBPR, as "
    "Table 5's signs say), so that risk factors cluster in the same patients; each factor keeps its Table 4 law"
)


def copula_scores(rng: np.random.Generator, size: int, rho: float, signs: np.ndarray) -> np.ndarray:
    """Draw normal scores with correlation ``rho * sign_j * sign_k`` between factors j and k."""
    matrix = rho * np.outer(signs, signs)
    np.fill_diagonal(matrix, 1.0)
    return rng.standard_normal((size, len(signs))) @ np.linalg.cholesky(matrix).T


def _law_values(laws: Sequence[Law], scores: np.ndarray) -> np.ndarray:
    """Each factor's values whose normal scores are ``scores`` (the Gaussian-copula transform of each law)."""
    columns = []
    for j, law in enumerate(laws):
        z = scores[:, j]
        if isinstance(law, NormalLaw):
            columns.append(law.mean + law.sd * z)
        elif isinstance(law, BernoulliLaw):
            columns.append((z > stats.norm.ppf(1 - law.p)).astype(float))
        else:  # a count law: the same transform as DiscreteLaw.from_normal, with Phi(z) computed once per call
            columns.append(law.from_normal(z).astype(float))
    return np.column_stack(columns)


def tilted_means(laws: Sequence[Law], beta: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Means of the joint control law (copula of ``laws``) tilted by exp(beta'x), by weighting ``scores``."""
    x = _law_values(laws, scores)
    log_w = x @ beta
    w = np.exp(log_w - log_w.max())
    return (w @ x) / w.sum()


@functools.lru_cache(maxsize=4096)
def _count_law(mean: float, sd: float) -> Law:
    return group_law("count", mean, sd)


def _sample_laws_of(kinds: Sequence[str], controls: np.ndarray) -> list[Law]:
    """Control laws rebuilt from one replicate's 60 controls, as from a printed Table 4 (sample SD)."""
    laws: list[Law] = []
    for j, kind in enumerate(kinds):
        values = controls[:, j]
        mean, sd = float(values.mean()), float(values.std(ddof=1))
        if kind == "binary":
            laws.append(BernoulliLaw(mean))
        elif kind == "count":  # whole-number data: few distinct (mean, SD) pairs, so the solved laws are cached
            laws.append(_count_law(round(mean, 12), round(sd, 12)))
        else:
            laws.append(NormalLaw(mean, sd))
    return laws


def correlated_replicates(
    controls: Sequence[Law], beta: np.ndarray, rho: float, generators: Sequence[np.random.Generator]
) -> np.ndarray:
    """Designs of 60 controls from the copula and 60 cases resampled from it with weights exp(beta'x)."""
    signs = np.sign(beta)
    n0, n1 = N_CONTROLS_SAMPLED, N_CASES
    x = np.empty((len(generators), n0 + n1, len(controls)))
    for k, rng in enumerate(generators):
        scores = copula_scores(rng, n0 + n1 * RESAMPLING_POOL, rho, signs)
        values = _law_values(controls, scores)
        x[k, :n0] = values[:n0]
        pool = values[n0:]
        log_w = pool @ beta
        w = np.exp(log_w - log_w.max())
        x[k, n0:] = pool[rng.choice(pool.shape[0], size=n1, p=w / w.sum())]
    return x


def correlated_differences(fits: Fits, kinds: Sequence[str], scores: np.ndarray) -> tuple[np.ndarray, int]:
    """Case mean minus implied case mean in each replicate, the implied one under the same copula."""
    n0 = N_CONTROLS_SAMPLED
    differences = np.full((fits.x.shape[0], len(kinds)), np.nan)
    failures = 0
    for k in range(fits.x.shape[0]):
        try:
            laws = _sample_laws_of(kinds, fits.x[k, :n0])
        except ValueError:  # no count law has this replicate's mean and SD
            failures += 1
            continue
        differences[k] = fits.x[k, n0:].mean(axis=0) - tilted_means(laws, fits.coef[k, 1:], scores)
    return differences, failures
