"""Simulated 60:60 samples fitted by logistic regression, and the laws of Table 4's groups they come from.

Shared by the cross-table checks of :mod:`bayes_ubpr.audit.across`. Numeric
kernels only: tables in, arrays out.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special

from bayes_ubpr._rng import SeedLike, spawn_seeds
from bayes_ubpr._validate import check_names, check_positive_int, check_probability
from bayes_ubpr.audit._rows import check_numbers, number
from bayes_ubpr.exceptions import ConvergenceError, StatisticalWarning
from bayes_ubpr.paper import N_CASES, N_CONTROLS_SAMPLED, SIX_FACTORS, table4, table5
from bayes_ubpr.simulate import MAX_FRACTURES, BernoulliLaw, Law, NormalLaw, max_entropy_count_law

COUNT_SUPPORT = tuple(range(1, MAX_FRACTURES + 1))
"""Support of the number of fractures, as in :func:`bayes_ubpr.simulate.control_laws`."""

INDEPENDENCE = (
    "the six factors are independent within the control group (Table 4 prints no correlations), "
    "so each factor's case law is its control law tilted by its own log odds ratio"
)
"""Assumption of the cross-table checks with independent factors."""

MIN_REPLICATES = 40
"""Fewest replicates that put one expected replicate in each 2.5% tail of a central 95% interval."""

# --------------------------------------------------------------------------------------------------
# Table 4's two groups and the laws built from them
# --------------------------------------------------------------------------------------------------


_NUMERIC4 = [
    "satisfactory_mean",
    "satisfactory_sd",
    "unsatisfactory_mean",
    "unsatisfactory_sd",
    "satisfactory_n1",
    "satisfactory_n0",
    "unsatisfactory_n1",
    "unsatisfactory_n0",
]
NUMERIC5 = ["B", "SE", "wald", "p", "odds_ratio", "ci_lower", "ci_upper"]


def numeric_table(table: pd.DataFrame | None, *, name: str, columns: list[str]) -> pd.DataFrame:
    """Return a table (the paper's by default) with numbers in ``columns``, indexed by factor, for the six factors."""
    if table is None:
        table = table4() if name == "table4" else table5()
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame; got {type(table).__name__}")
    missing = [c for c in ["factor", *columns, *(["kind"] if name == "table4" else [])] if c not in table.columns]
    if missing:
        raise ValueError(f"{name} is missing column(s) {', '.join(missing)}")
    absent = [f for f in SIX_FACTORS if f not in set(table["factor"].astype(str))]
    if absent:
        raise ValueError(f"{name} has no row for factor(s) {', '.join(absent)}")
    check_numbers(table, name=name, columns=columns, key="factor")
    out = table.astype({"factor": str}).set_index("factor").loc[list(SIX_FACTORS)].copy()
    for column in columns:
        out[column] = out[column].map(number)
    return out


def printed_groups(t4: pd.DataFrame | None = None) -> pd.DataFrame:
    """Table 4's control and case groups for the six factors, as means and SDs.

    A binary factor's mean is its proportion of 1s and its SD is
    sqrt(p(1-p)); the ``within_ss_*`` columns hold each group's sum of
    squared deviations (n p (1-p) for binary factors, (n - 1) SD^2 from a
    printed sample SD otherwise).
    """
    t4 = numeric_table(t4, name="table4", columns=_NUMERIC4)
    rows = []
    for factor, row in t4.iterrows():
        if row.kind == "binary":
            n0 = int(row.satisfactory_n1 + row.satisfactory_n0)
            n1 = int(row.unsatisfactory_n1 + row.unsatisfactory_n0)
            m0, m1 = int(row.satisfactory_n1) / n0, int(row.unsatisfactory_n1) / n1
            s0, s1 = math.sqrt(m0 * (1 - m0)), math.sqrt(m1 * (1 - m1))
            ss0, ss1 = n0 * s0**2, n1 * s1**2
        else:
            n0, n1 = N_CONTROLS_SAMPLED, N_CASES
            m0, s0, m1, s1 = row.satisfactory_mean, row.satisfactory_sd, row.unsatisfactory_mean, row.unsatisfactory_sd
            ss0, ss1 = (n0 - 1) * s0**2, (n1 - 1) * s1**2
        rows.append(
            {
                "factor": factor,
                "kind": row.kind,
                "statistic": "proportion" if row.kind == "binary" else "mean",
                "n_controls": n0,
                "control_mean": float(m0),
                "control_sd": float(s0),
                "n_cases": n1,
                "case_mean": float(m1),
                "case_sd": float(s1),
                "within_ss_controls": float(ss0),
                "within_ss_cases": float(ss1),
            }
        )
    return pd.DataFrame(rows)


def group_law(kind: str, mean: float, sd: float) -> Law:
    """Build the law :func:`~bayes_ubpr.simulate.control_laws` would build from a group's mean and SD."""
    if kind == "binary":
        return BernoulliLaw(mean)
    if kind == "count":
        return max_entropy_count_law(mean, sd, COUNT_SUPPORT)
    return NormalLaw(mean, sd)


def control_laws_of(groups: pd.DataFrame) -> list[Law]:
    """Laws of the six factors in the control group, as :func:`bayes_ubpr.simulate.control_laws` builds them."""
    return [group_law(g.kind, g.control_mean, g.control_sd) for g in groups.itertuples(index=False)]


def log_odds_ratios(
    odds_ratios: Mapping[str, float] | None, t5: pd.DataFrame | None = None
) -> tuple[pd.Series, list[str]]:
    """Table 5's B, with any caller-given odds ratios in place; also the factors overridden."""
    beta = numeric_table(t5, name="table5", columns=NUMERIC5)["B"].astype(float)
    if odds_ratios is None:
        return beta, []
    if not isinstance(odds_ratios, Mapping):
        raise TypeError(f"odds_ratios must be a mapping of factor name to odds ratio; got {type(odds_ratios).__name__}")
    for name, value in odds_ratios.items():
        check_names([name], SIX_FACTORS, what="Table 5 factor in odds_ratios")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ValueError(f'odds_ratios["{name}"] must be a positive finite number; got {value!r}')
        beta[name] = math.log(value)
    return beta, list(odds_ratios)


# --------------------------------------------------------------------------------------------------
# Simulated 60:60 samples, each fitted with the six-factor logistic regression
# --------------------------------------------------------------------------------------------------


def replicate_generators(seed: SeedLike, n_replicates: int) -> tuple[list[np.random.Generator], int | None]:
    """One generator per replicate, spawned up front so replicate k is the same whatever ``n_replicates`` is.

    Also returns the root entropy to record (for ``seed=None`` too, so the
    run can be repeated); None when the caller passed a Generator, whose
    state is theirs.
    """
    children = spawn_seeds(seed, n_replicates)
    recorded = None if isinstance(seed, np.random.Generator) else int(children[0].entropy)  # type: ignore[arg-type]
    return [np.random.default_rng(child) for child in children], recorded


def _draw_samples(
    controls: Sequence[Law], cases: Sequence[Law], generators: Sequence[np.random.Generator]
) -> np.ndarray:
    """Design arrays of shape (replicates, controls + cases, factors): controls first, then cases."""
    n0, n1 = N_CONTROLS_SAMPLED, N_CASES
    x = np.empty((len(generators), n0 + n1, len(controls)))
    for k, rng in enumerate(generators):
        for j, (control, case) in enumerate(zip(controls, cases, strict=True)):
            x[k, :n0, j] = control.sample(rng, n0)
            x[k, n0:, j] = case.sample(rng, n1)
    return x


def _outcome() -> np.ndarray:
    return np.r_[np.zeros(N_CONTROLS_SAMPLED), np.ones(N_CASES)]


def _information(design: np.ndarray, coef: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fitted probabilities and the Fisher information X' W X, batched over replicates."""
    p = special.expit(np.einsum("rnk,rk->rn", design, coef))
    return p, np.einsum("rnk,rn,rnl->rkl", design, p * (1 - p), design)


def fit_logistic(
    x: np.ndarray, y: np.ndarray, *, max_iter: int = 100, tol: float = 1e-8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Maximum-likelihood logistic regression with an intercept, by Newton-Raphson on a batch of designs.

    Parameters
    ----------
    x : numpy.ndarray
        Designs of shape (replicates, patients, factors), without intercept.
    y : numpy.ndarray
        0/1 outcomes of shape (patients,), shared by all replicates.
    max_iter : int, default 100
        Newton steps before a replicate counts as not converged.
    tol : float, default 1e-8
        Converged when no coefficient moves by more than this.

    Returns
    -------
    coef, se : numpy.ndarray
        Shape (replicates, factors + 1), intercept first; SEs from the
        inverse observed information. NaN where not converged.
    converged : numpy.ndarray of bool
        False where the information became singular (condition number above
        1e12) or the steps never fell below ``tol``: the signature of
        separation, where no finite maximum exists (Albert & Anderson 1984).
    """
    design = np.concatenate([np.ones((*x.shape[:2], 1)), x], axis=2)
    n_rep = design.shape[0]
    coef = np.zeros((n_rep, design.shape[2]))
    active, converged = np.ones(n_rep, dtype=bool), np.zeros(n_rep, dtype=bool)
    for _ in range(max_iter):
        index = np.flatnonzero(active)
        if index.size == 0:
            break
        p, information = _information(design[index], coef[index])
        score = np.einsum("rnk,rn->rk", design[index], y - p)
        # Under separation the weights p(1 - p) vanish and the information turns singular.
        singular = ~(np.linalg.cond(information) < 1e12)
        solvable = ~singular
        step = np.linalg.solve(information[solvable], score[solvable][..., None])[..., 0]
        coef[index[solvable]] += step
        done = np.zeros(index.size, dtype=bool)
        done[solvable] = np.abs(step).max(axis=1) < tol
        converged[index[done]] = True
        active[index[done | singular]] = False
    se = np.full_like(coef, np.nan)
    if converged.any():
        _, information = _information(design[converged], coef[converged])
        se[converged] = np.sqrt(np.diagonal(np.linalg.inv(information), axis1=1, axis2=2))
    coef[~converged] = np.nan
    return coef, se, converged


def check_simulation_options(n_replicates: object, prob: object, max_se: object) -> tuple[int, float, float]:
    n_replicates = check_positive_int(n_replicates, name="n_replicates", minimum=MIN_REPLICATES)
    prob = check_probability(prob, name="prob")
    if isinstance(max_se, bool) or not isinstance(max_se, (int, float)) or not max_se > 0:
        raise ValueError(f"max_se must be a positive number; got {max_se!r}")
    return n_replicates, prob, float(max_se)


def _replicate_count_check(n_kept: int, n_replicates: int, prob: float) -> None:
    """Refuse too few usable replicates; warn when exclusions could fill a whole tail."""
    if n_kept < MIN_REPLICATES:
        raise ConvergenceError(
            f"only {n_kept} of {n_replicates} simulated fits converged with finite SEs; "
            f"at least {MIN_REPLICATES} are needed to place the printed values"
        )
    excluded = n_replicates - n_kept
    if excluded / n_replicates > (1 - prob) / 2:
        warnings.warn(
            f"{excluded} of {n_replicates} simulated fits were excluded (separation or huge SE), more than the "
            f"{(1 - prob) / 2:.1%} upper tail: the upper quantiles of the simulated SEs are unreliable",
            StatisticalWarning,
            stacklevel=4,
        )


class Fits(NamedTuple):
    """Simulated samples and fits of the replicates that are used, with the bookkeeping for ``.attrs``."""

    x: np.ndarray
    coef: np.ndarray
    se: np.ndarray
    attrs: dict


def simulate_fits(
    controls: Sequence[Law],
    cases: Sequence[Law],
    *,
    n_replicates: int,
    seed: SeedLike,
    prob: float,
    max_se: float,
) -> Fits:
    """Draw and fit the replicates; drop (and count) those with separation or an SE above ``max_se``."""
    generators, recorded = replicate_generators(seed, n_replicates)
    x = _draw_samples(controls, cases, generators)
    return fit_and_keep(x, recorded=recorded, prob=prob, max_se=max_se)


def fit_and_keep(x: np.ndarray, *, recorded: int | None, prob: float, max_se: float) -> Fits:
    """Fit simulated designs; drop (and count) those with separation or an SE above ``max_se``."""
    n_replicates = x.shape[0]
    coef, se, converged = fit_logistic(x, _outcome())
    large = converged & ~(se[:, 1:] <= max_se).all(axis=1)
    kept = converged & ~large
    _replicate_count_check(int(kept.sum()), n_replicates, prob)
    attrs = {
        "seed": recorded,
        "n_replicates": n_replicates,
        "n_used": int(kept.sum()),
        "n_excluded": int((~kept).sum()),
        "n_separated": int((~converged).sum()),
        "n_large_se": int(large.sum()),
        "excluded_replicates": np.flatnonzero(~kept).tolist(),
        "max_se": max_se,
        "prob": prob,
        "fit": "six-factor maximum-likelihood logistic regression with intercept (Newton-Raphson)",
    }
    return Fits(x[kept], coef[kept], se[kept], attrs)
