"""Checks across tables: whether Table 4 and Table 5 fit each other.

:mod:`bayes_ubpr.audit.within` checks each table against itself. This module
checks the two tables against each other, which needs the simulated world of
:mod:`bayes_ubpr.simulate`:

* :func:`implied_case_group`: under the logistic model with factors
  independent among controls, the case group's law of each factor is the
  control law exponentially tilted by its log odds ratio. Tilting Table 4's
  control group by Table 5's B gives the case means and proportions that
  Table 5 implies, to set beside the case group Table 4 prints.
* :func:`standard_error_plausibility`: 60:60 samples whose groups follow
  Table 4, each fitted with the six-factor logistic regression, give the
  standard errors (and B) that such a study produces; the printed ones are
  placed in that distribution.
* :func:`implied_case_group_by_correlation`: the implied case group again,
  with the six factors correlated within groups (a Gaussian copula, as
  :func:`bayes_ubpr.simulate.simulate_cohort` draws them), to see which flags
  survive plausible correlations.
* :func:`audit_rows` and :func:`audit_across_tables`: the same findings in
  the shape of :func:`bayes_ubpr.audit.audit`.

Each function audits the paper's Tables 4 and 5 by default, or any tables
with their columns passed as ``table4`` and ``table5`` (a simulated paper).
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy import special, stats

from bayes_ubpr._rng import SeedLike, as_generator
from bayes_ubpr._validate import check_choice, check_names, check_positive_int, check_probability
from bayes_ubpr.exceptions import ConvergenceError, StatisticalWarning
from bayes_ubpr.audit._rows import AUDIT_COLUMNS, Check, number
from bayes_ubpr.audit._rows import frame as audit_frame
from bayes_ubpr.paper import N_CASES, N_CONTROLS_SAMPLED, SIX_FACTORS, table4, table5
from bayes_ubpr.simulate import (
    MAX_FRACTURES,
    BernoulliLaw,
    DiscreteLaw,
    Law,
    NormalLaw,
    _max_entropy_count_law,
)

__all__ = [
    "audit_across_tables",
    "audit_rows",
    "implied_case_group",
    "implied_case_group_by_correlation",
    "standard_error_plausibility",
]

COUNT_SUPPORT = tuple(range(1, MAX_FRACTURES + 1))
"""Support of the number of fractures, as in :func:`bayes_ubpr.simulate.control_laws`."""

CASE_GROUPS = ("printed", "implied")
"""Where simulated cases come from: Table 4's printed case group, or the control group tilted by Table 5."""

MIN_REPLICATES = 40
"""Fewest replicates that put one expected replicate in each 2.5% tail of a central 95% interval."""

INDEPENDENCE = (
    "the six factors are independent within the control group (Table 4 prints no correlations), "
    "so each factor's case law is its control law tilted by its own log odds ratio"
)

_CROSS_TABLE = "Table 4 vs Table 5"
_SIMULATED_FROM = {"printed": "Table 4", "implied": "Table 5's world"}


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
_NUMERIC5 = ["B", "SE", "wald", "p", "odds_ratio", "ci_lower", "ci_upper"]


def _numeric(table: pd.DataFrame | None, *, name: str, columns: list[str]) -> pd.DataFrame:
    """A table (the paper's by default) with numbers in ``columns``, indexed by factor, for the six factors."""
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
    out = table.astype({"factor": str}).set_index("factor").loc[list(SIX_FACTORS)].copy()
    for column in columns:
        out[column] = out[column].map(number)
    return out


def _printed_groups(t4: pd.DataFrame | None = None) -> pd.DataFrame:
    """Table 4's control and case groups for the six factors, as means and SDs.

    A binary factor's mean is its proportion of 1s and its SD is
    sqrt(p(1-p)); the ``within_ss_*`` columns hold each group's sum of
    squared deviations (n p (1-p) for binary factors, (n - 1) SD^2 from a
    printed sample SD otherwise).
    """
    t4 = _numeric(t4, name="table4", columns=_NUMERIC4)
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


def _group_law(kind: str, mean: float, sd: float) -> Law:
    """Build the law :func:`~bayes_ubpr.simulate.control_laws` would build from a group's mean and SD."""
    if kind == "binary":
        return BernoulliLaw(mean)
    if kind == "count":
        return _max_entropy_count_law(mean, sd, COUNT_SUPPORT)
    return NormalLaw(mean, sd)


def _control_laws(groups: pd.DataFrame) -> list[Law]:
    """Laws of the six factors in the control group, as :func:`bayes_ubpr.simulate.control_laws` builds them."""
    return [_group_law(g.kind, g.control_mean, g.control_sd) for g in groups.itertuples(index=False)]


def _log_odds_ratios(
    odds_ratios: Mapping[str, float] | None, t5: pd.DataFrame | None = None
) -> tuple[pd.Series, list[str]]:
    """Table 5's B, with any caller-given odds ratios in place; also the factors overridden."""
    beta = _numeric(t5, name="table5", columns=_NUMERIC5)["B"].astype(float)
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


def _replicate_generators(seed: SeedLike, n_replicates: int) -> tuple[list[np.random.Generator], int | None]:
    """One generator per replicate, spawned up front so replicate k is the same whatever ``n_replicates`` is.

    Also returns the root entropy to record (for ``seed=None`` too, so the
    run can be repeated); None when the caller passed a Generator, whose
    state is theirs.
    """
    root = as_generator(seed)
    recorded = None if isinstance(seed, np.random.Generator) else int(root.bit_generator.seed_seq.entropy)  # type: ignore[attr-defined]
    return root.spawn(n_replicates), recorded


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


def _fit_logistic(
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


def _check_simulation_options(n_replicates: object, prob: object, max_se: object) -> tuple[int, float, float]:
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


class _Fits(NamedTuple):
    """Simulated samples and fits of the replicates that are used, with the bookkeeping for ``.attrs``."""

    x: np.ndarray
    coef: np.ndarray
    se: np.ndarray
    attrs: dict


def _simulate_fits(
    controls: Sequence[Law],
    cases: Sequence[Law],
    *,
    n_replicates: int,
    seed: SeedLike,
    prob: float,
    max_se: float,
) -> _Fits:
    """Draw and fit the replicates; drop (and count) those with separation or an SE above ``max_se``."""
    generators, recorded = _replicate_generators(seed, n_replicates)
    x = _draw_samples(controls, cases, generators)
    return _fit_and_keep(x, recorded=recorded, prob=prob, max_se=max_se)


def _fit_and_keep(x: np.ndarray, *, recorded: int | None, prob: float, max_se: float) -> _Fits:
    """Fit simulated designs; drop (and count) those with separation or an SE above ``max_se``."""
    n_replicates = x.shape[0]
    coef, se, converged = _fit_logistic(x, _outcome())
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
    return _Fits(x[kept], coef[kept], se[kept], attrs)


# --------------------------------------------------------------------------------------------------
# 1. The case group Table 5 implies
# --------------------------------------------------------------------------------------------------


def _implied_mean(kind: str, mean: float, sd: float, beta: float) -> float:
    """Mean of the law built from a control group's mean and SD, tilted by ``beta``."""
    return float(_group_law(kind, mean, sd).tilt(beta).moments()[0])


def _replicate_differences(fits: _Fits, kinds: Sequence[str]) -> tuple[np.ndarray, int]:
    """Case mean minus implied case mean in each replicate, recomputed as from a printed Table 4 and 5.

    Each replicate's control mean and SD (sample SD, as Table 4 prints)
    build its control law, which its own fitted B tilts. NaN where the
    count law cannot be built from a replicate's moments; the number of
    such values is returned too.
    """
    n0 = N_CONTROLS_SAMPLED
    differences = np.full((fits.x.shape[0], len(kinds)), np.nan)
    failures = 0
    for j, kind in enumerate(kinds):
        controls, cases = fits.x[:, :n0, j], fits.x[:, n0:, j]
        means, sds = controls.mean(axis=1), controls.std(axis=1, ddof=1)
        for k in range(fits.x.shape[0]):
            try:
                implied = _implied_mean(kind, float(means[k]), float(sds[k]), float(fits.coef[k, j + 1]))
            except ValueError:  # the maximum-entropy count law has no solution for these moments
                failures += 1
                continue
            differences[k, j] = cases[k].mean() - implied
    return differences, failures


def _implied_reason(statistic: str, z: float, z_simulated: float, consistent: bool) -> str:
    direction = "above" if z_simulated > 0 else "below"
    versus = "from" if consistent else direction
    return (
        f"the printed case {statistic} is {abs(z_simulated):.1f} SE {versus} the one the ORs imply, by the spread "
        f"of that difference in 60:60 samples of Table 5's world ({abs(z):.1f} SE by the case group's "
        "sampling error alone)"
    )


def implied_case_group(
    *,
    odds_ratios: Mapping[str, float] | None = None,
    n_replicates: int = 1000,
    seed: SeedLike = 0,
    prob: float = 0.95,
    max_se: float = 10.0,
    table4: pd.DataFrame | None = None,
    table5: pd.DataFrame | None = None,
) -> pd.DataFrame:
    r"""Return the case group that Table 5's odds ratios imply, beside the case group Table 4 prints.

    Under a logistic model the law of a factor among cases is its law among
    controls tilted by its log odds ratio :math:`\beta`:
    :math:`f_1(x) \propto f_0(x)\, e^{\beta x}` (Prentice & Pyke 1979). The
    control laws are those of :func:`bayes_ubpr.simulate.control_laws`
    (Table 4's satisfactory group), so the implied case mean is
    :math:`\mu_0 + \beta\sigma_0^2` for the normal factors, the control odds
    times the OR for the binary ones, and the mean of the tilted
    maximum-entropy law on 1..6 for the number of fractures.

    Parameters
    ----------
    odds_ratios : mapping of str to float, optional
        Odds ratios per unit for any of the six factors in place of exp(B)
        of Table 5.
    n_replicates : int, default 1000
        Simulated 60:60 samples of Table 5's world (controls from the
        control laws, cases from the tilted laws), each recomputing its
        printed-minus-implied difference, to know how much that difference
        varies when Table 4 and Table 5 do agree. At least 40.
    seed : None, int or numpy.random.Generator, default 0
        Root seed of those samples; replicate k uses the k-th spawned child.
    prob : float, default 0.95
        A printed case statistic is consistent when its ``z_simulated`` lies
        within the central ``prob`` of a normal law: :math:`|z| < 1.96` for
        0.95, the usual two-sided 5% level for one factor. With six factors
        about 0.3 flags are expected by chance; the Bonferroni cut-off for
        six is 2.64.
    max_se : float, default 10.0
        Simulated fits with an SE above this are excluded, as in
        :func:`standard_error_plausibility`.
    table4, table5 : pandas.DataFrame, optional
        Tables 4 and 5 to check, with the columns of
        :func:`bayes_ubpr.paper.table4` and :func:`bayes_ubpr.paper.table5`
        (numbers or the strings printed); default the paper's.

    Returns
    -------
    pandas.DataFrame
        One row per factor of :data:`~bayes_ubpr.paper.SIX_FACTORS`:
        ``factor``; ``statistic`` ("mean" or "proportion");
        ``log_odds_ratio`` (the B used); ``control_printed`` and
        ``case_printed`` (Table 4); ``case_implied``; ``difference``
        (printed minus implied); ``standard_error`` of the printed case
        statistic (case SD / sqrt(60), or sqrt(p (1 - p) / 60)) and ``z``
        (difference / standard_error); ``bias_simulated`` and
        ``standard_error_simulated`` (mean and SD of the difference over the
        simulated samples) and ``z_simulated`` ((difference -
        bias_simulated) / standard_error_simulated); ``consistent``
        (:math:`|z_{simulated}|` below the threshold); ``reason``. Settings
        (assumption, source of the odds ratios, threshold, seed, replicates
        used and excluded) are in ``.attrs``.

    Raises
    ------
    TypeError
        If ``odds_ratios`` is not a mapping, ``n_replicates`` is not an
        integer, ``seed`` is not a seed or ``prob`` is not a number.
    ValueError
        If ``odds_ratios`` names a factor outside the six or an odds ratio is
        not a positive finite number, ``n_replicates`` is below 40, ``prob``
        is not in (0, 1) or ``max_se`` is not a positive number.
    ConvergenceError
        If fewer than 40 simulated samples give a usable fit.

    See Also
    --------
    standard_error_plausibility : the other cross-table check.
    bayes_ubpr.simulate.true_model : the simulated world built on the same tilt.

    Notes
    -----
    Independence of the factors within the control group is an assumption:
    Table 4 prints no correlations.

    ``z`` takes the control laws and B as exact and asks whether the printed
    case group could be a sample of 60 from the implied case law. But the
    control summaries and B are estimates too, B from these same two groups.
    The verdict therefore uses ``z_simulated``: the same difference
    recomputed in samples where Table 4 and Table 5 agree by construction
    (controls from the control laws, cases from the tilted laws, B fitted
    by maximum likelihood), which carries every source of sampling error
    and their correlations. For Table 5's odds ratios the difference varies
    more there than the case mean alone does (``standard_error_simulated``
    is larger than ``standard_error`` for all six factors), so ``z``
    overstates a discrepancy. ``bias_simulated`` corrects for the
    small-sample bias of B (maximum-likelihood B are biased away from 0).
    ``z_simulated`` uses only the mean and SD of the simulated differences;
    for the number of fractures their distribution is skewed (B enters the
    tilted count law nonlinearly), so its ``z_simulated`` is approximate.

    References
    ----------
    Prentice RL, Pyke R (1979). Logistic disease incidence models and
    case-control studies. Biometrika 66(3):403-411. doi:10.1093/biomet/66.3.403

    Examples
    --------
    >>> from bayes_ubpr.audit import implied_case_group
    >>> implied = implied_case_group(n_replicates=40, seed=1).set_index("factor")
    >>> round(float(implied.loc["n_fractures", "case_implied"]), 2), float(implied.loc["n_fractures", "case_printed"])
    (2.15, 2.17)
    """
    n_replicates, prob, max_se = _check_simulation_options(n_replicates, prob, max_se)
    beta, overridden = _log_odds_ratios(odds_ratios, table5)
    threshold = float(stats.norm.ppf(0.5 + prob / 2))
    groups = _printed_groups(table4)
    controls = _control_laws(groups)
    tilted = [law.tilt(float(beta[name])) for name, law in zip(SIX_FACTORS, controls, strict=True)]
    fits = _simulate_fits(controls, tilted, n_replicates=n_replicates, seed=seed, prob=prob, max_se=max_se)
    differences, failures = _replicate_differences(fits, list(groups["kind"]))
    rows = []
    for j, group in enumerate(groups.itertuples(index=False)):
        implied = float(tilted[j].moments()[0])
        difference = group.case_mean - implied
        se = group.case_sd / math.sqrt(group.n_cases)
        bias, spread = float(np.nanmean(differences[:, j])), float(np.nanstd(differences[:, j], ddof=1))
        z, z_simulated = difference / se, (difference - bias) / spread
        consistent = bool(abs(z_simulated) < threshold)
        rows.append(
            {
                "factor": group.factor,
                "statistic": group.statistic,
                "log_odds_ratio": float(beta[group.factor]),
                "control_printed": group.control_mean,
                "case_printed": group.case_mean,
                "case_implied": implied,
                "difference": difference,
                "standard_error": se,
                "z": z,
                "bias_simulated": bias,
                "standard_error_simulated": spread,
                "z_simulated": z_simulated,
                "consistent": consistent,
                "reason": _implied_reason(group.statistic, z, z_simulated, consistent),
            }
        )
    frame = pd.DataFrame(rows)
    frame.attrs = {
        "check": "implied_case_group",
        "assumption": INDEPENDENCE,
        "odds_ratio_source": (
            "Table 5 B (log odds ratio per unit, as printed)"
            + (f", replaced by the caller's odds ratios for {', '.join(overridden)}" if overridden else "")
        ),
        "control_laws": "as bayes_ubpr.simulate.control_laws builds them, from Table 4's satisfactory group",
        "threshold": threshold,
        **fits.attrs,
        "count_law_failures": failures,
    }
    return frame


# --------------------------------------------------------------------------------------------------
# 1b. The implied case group when the factors are correlated within groups
# --------------------------------------------------------------------------------------------------

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


def _copula_scores(rng: np.random.Generator, size: int, rho: float, signs: np.ndarray) -> np.ndarray:
    """Normal scores with correlation ``rho * sign_j * sign_k`` between factors j and k."""
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


def _tilted_means(laws: Sequence[Law], beta: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Means of the joint control law (copula of ``laws``) tilted by exp(beta'x), by weighting ``scores``."""
    x = _law_values(laws, scores)
    log_w = x @ beta
    w = np.exp(log_w - log_w.max())
    return (w @ x) / w.sum()


@functools.lru_cache(maxsize=4096)
def _count_law(mean: float, sd: float) -> Law:
    return _group_law("count", mean, sd)


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


def _correlated_replicates(
    controls: Sequence[Law], beta: np.ndarray, rho: float, generators: Sequence[np.random.Generator]
) -> np.ndarray:
    """Designs of 60 controls from the copula and 60 cases resampled from it with weights exp(beta'x)."""
    signs = np.sign(beta)
    n0, n1 = N_CONTROLS_SAMPLED, N_CASES
    x = np.empty((len(generators), n0 + n1, len(controls)))
    for k, rng in enumerate(generators):
        scores = _copula_scores(rng, n0 + n1 * RESAMPLING_POOL, rho, signs)
        values = _law_values(controls, scores)
        x[k, :n0] = values[:n0]
        pool = values[n0:]
        log_w = pool @ beta
        w = np.exp(log_w - log_w.max())
        x[k, n0:] = pool[rng.choice(pool.shape[0], size=n1, p=w / w.sum())]
    return x


def _correlated_differences(fits: _Fits, kinds: Sequence[str], scores: np.ndarray) -> tuple[np.ndarray, int]:
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
        differences[k] = fits.x[k, n0:].mean(axis=0) - _tilted_means(laws, fits.coef[k, 1:], scores)
    return differences, failures


def implied_case_group_by_correlation(
    *,
    correlations: Sequence[float] = CORRELATIONS,
    n_replicates: int = 1000,
    seed: SeedLike = 0,
    prob: float = 0.95,
    max_se: float = 10.0,
    table4: pd.DataFrame | None = None,
    table5: pd.DataFrame | None = None,
) -> pd.DataFrame:
    r"""Return the implied case group of :func:`implied_case_group` for a range of within-group correlations.

    With correlated factors the case law is the *joint* control law tilted
    by :math:`e^{\beta^\top x}`, so each factor's case mean moves with the
    other factors' odds ratios too: a factor correlated with other risk
    factors looks more extreme among cases than its own OR implies. The
    joint control law is a Gaussian copula (as
    :func:`bayes_ubpr.simulate.simulate_cohort` uses) of Table 4's control
    laws, equicorrelated with ``rho`` between every pair of risk-aligned
    factors. The implied means are integrated over 20,000 copula draws; the
    spread of printed-minus-implied is simulated as in
    :func:`implied_case_group` (60 controls from the copula, 60 cases
    resampled from 3,000 copula draws with weights :math:`e^{\beta^\top
    x}`, B refitted, the implied means recomputed under the same
    ``rho``). At ``rho = 0`` the rows are those of
    :func:`implied_case_group`.

    Parameters
    ----------
    correlations : sequence of float, default (0, 0.1, 0.2, 0.3, 0.4, 0.5)
        Within-group correlations to try, each in [0, 0.8].
    n_replicates : int, default 1000
        Simulated 60:60 samples per correlation; at least 40.
    seed : None, int or numpy.random.Generator, default 0
        Root seed, the same for every correlation (common random numbers).
    prob : float, default 0.95
        A printed case statistic is consistent when :math:`|z_{simulated}|`
        is below the normal quantile of ``0.5 + prob / 2``.
    max_se : float, default 10.0
        Simulated fits with an SE above this are excluded.
    table4, table5 : pandas.DataFrame, optional
        Tables 4 and 5 to check; default the paper's.

    Returns
    -------
    pandas.DataFrame
        One row per factor and correlation: ``factor``, ``correlation``,
        ``statistic``, ``case_printed``, ``case_implied``, ``difference``,
        ``bias_simulated``, ``standard_error_simulated``, ``z_simulated``,
        ``consistent``. ``.attrs`` records the assumption, seed and
        replicates used per correlation.

    Raises
    ------
    TypeError
        If ``correlations`` is not a sequence of numbers, or as
        :func:`implied_case_group`.
    ValueError
        If a correlation is outside [0, 0.8], or as :func:`implied_case_group`.
    ConvergenceError
        If fewer than 40 simulated samples give a usable fit with
        independent factors. A correlation at which that happens is left out
        of the table instead (its ``.attrs["by_correlation"]`` entry says why).

    See Also
    --------
    implied_case_group : the same check with independent factors.

    Examples
    --------
    >>> from bayes_ubpr.audit import implied_case_group_by_correlation
    >>> table = implied_case_group_by_correlation(correlations=(0.0, 0.4), n_replicates=60, seed=1)
    >>> bmd = table[table["factor"] == "bmd_tscore_abs"].set_index("correlation")
    >>> bool(bmd.loc[0.4, "case_implied"] > bmd.loc[0.0, "case_implied"])
    True
    """
    if isinstance(correlations, (str, bytes)) or not isinstance(correlations, Sequence) or not correlations:
        raise TypeError(f"correlations must be a non-empty sequence of numbers; got {correlations!r}")
    for rho in correlations:
        if isinstance(rho, bool) or not isinstance(rho, (int, float)):
            raise TypeError(f"correlations must hold numbers; got {rho!r}")
        if not 0.0 <= rho <= 0.8:
            raise ValueError(f"each correlation must be in [0, 0.8] (risk-aligned equicorrelation); got {rho!r}")
    n_replicates, prob, max_se = _check_simulation_options(n_replicates, prob, max_se)
    threshold = float(stats.norm.ppf(0.5 + prob / 2))
    groups = _printed_groups(table4)
    beta = _log_odds_ratios(None, table5)[0].to_numpy(dtype=float)
    controls = _control_laws(groups)
    kinds = list(groups["kind"])
    frames, settings = [], {}
    for rho in correlations:
        if rho == 0:
            independent = implied_case_group(
                n_replicates=n_replicates, seed=seed, prob=prob, max_se=max_se, table4=table4, table5=table5
            )
            part = independent.assign(correlation=0.0)
            settings[0.0] = {k: independent.attrs[k] for k in ("seed", "n_used", "n_excluded", "count_law_failures")}
        else:
            generators, recorded = _replicate_generators(seed, n_replicates)
            with warnings.catch_warnings():
                # Correlated risk factors separate cases from controls more often; the exclusions are
                # recorded in .attrs and the rows' reasons instead of warned about once per correlation.
                warnings.simplefilter("ignore", StatisticalWarning)
                try:
                    fits = _fit_and_keep(
                        _correlated_replicates(controls, beta, float(rho), generators),
                        recorded=recorded,
                        prob=prob,
                        max_se=max_se,
                    )
                except ConvergenceError as error:  # this correlation separates too many samples to judge
                    settings[float(rho)] = {"seed": recorded, "n_used": 0, "n_excluded": n_replicates, "error": str(error)}
                    continue
            signs = np.sign(beta)
            scores = _copula_scores(np.random.default_rng(20161316), INTEGRATION_DRAWS, float(rho), signs)
            implied = _tilted_means(controls, beta, scores)
            differences, failures = _correlated_differences(fits, kinds, scores[:REPLICATE_INTEGRATION_DRAWS])
            bias, spread = np.nanmean(differences, axis=0), np.nanstd(differences, axis=0, ddof=1)
            difference = groups["case_mean"].to_numpy() - implied
            z_simulated = (difference - bias) / spread
            part = pd.DataFrame(
                {
                    "factor": groups["factor"],
                    "statistic": groups["statistic"],
                    "case_printed": groups["case_mean"],
                    "case_implied": implied,
                    "difference": difference,
                    "bias_simulated": bias,
                    "standard_error_simulated": spread,
                    "z_simulated": z_simulated,
                    "consistent": np.abs(z_simulated) < threshold,
                    "correlation": float(rho),
                }
            )
            settings[float(rho)] = {
                "seed": recorded,
                "n_used": fits.attrs["n_used"],
                "n_excluded": fits.attrs["n_excluded"],
                "count_law_failures": failures,
            }
        frames.append(part)
    columns = [
        "factor",
        "correlation",
        "statistic",
        "case_printed",
        "case_implied",
        "difference",
        "bias_simulated",
        "standard_error_simulated",
        "z_simulated",
        "consistent",
    ]
    table = pd.concat([f[columns] for f in frames], ignore_index=True)
    table["consistent"] = table["consistent"].astype(bool)
    table.attrs = {
        "check": "implied_case_group_by_correlation",
        "assumption": CORRELATED,
        "n_replicates": n_replicates,
        "threshold": threshold,
        "prob": prob,
        "by_correlation": settings,
        "integration_draws": INTEGRATION_DRAWS,
        "resampling_pool": RESAMPLING_POOL * N_CASES,
    }
    return table


# --------------------------------------------------------------------------------------------------
# 2. How plausible Table 5's standard errors are for 60:60 samples like Table 4
# --------------------------------------------------------------------------------------------------


def _sample_laws(
    case_group: str, t4: pd.DataFrame | None = None, t5: pd.DataFrame | None = None
) -> tuple[list[Law], list[Law]]:
    """Control and case laws of the six factors, in :data:`SIX_FACTORS` order."""
    groups = _printed_groups(t4)
    controls = _control_laws(groups)
    if case_group == "implied":
        beta, _ = _log_odds_ratios(None, t5)
        return controls, [law.tilt(float(beta[name])) for name, law in zip(SIX_FACTORS, controls, strict=True)]
    cases = [_group_law(g.kind, g.case_mean, g.case_sd) for g in groups.itertuples(index=False)]
    return controls, cases


def _standard_error_floor(groups: pd.DataFrame) -> np.ndarray:
    r"""Smallest SE of each B that any 120 patients with Table 4's group summaries allow.

    With an intercept, :math:`\operatorname{Var}\hat\beta_j = [S^{-1}]_{jj}
    \ge 1/S_{jj}`, where :math:`S_{jj} = \sum_i w_i (x_{ij} - \bar x_{w,j})^2
    \le \tfrac14 \sum_i (x_{ij} - \bar x_j)^2` because the weights
    :math:`w_i = p_i(1 - p_i)` are at most 1/4. So
    :math:`\mathrm{SE}_j \ge 2 / \sqrt{\sum_i (x_{ij} - \bar x_j)^2}`, whatever
    the other factors and the fitted coefficients; the total sum of squares
    is the two groups' within sums plus
    :math:`n_0 n_1 / (n_0 + n_1)\, (\bar x_1 - \bar x_0)^2`.
    """
    n0, n1 = groups["n_controls"].to_numpy(float), groups["n_cases"].to_numpy(float)
    between = n0 * n1 / (n0 + n1) * (groups["case_mean"] - groups["control_mean"]).to_numpy() ** 2
    total = groups["within_ss_controls"].to_numpy() + groups["within_ss_cases"].to_numpy() + between
    return 2 / np.sqrt(total)


def _placement_reason(what: str, q: float, mcse: float, n: int, prob: float, median: float, printed: float) -> str:
    """One line placing a printed value among ``n`` simulated ones at percentile ``q``."""
    low, high = (1 - prob) / 2, (1 + prob) / 2
    ratio = f"; the simulated median is {median / printed:.1f} times the printed value"
    if q == 0:
        text = f"smaller than all {n} simulated {what}s (percentile below {300 / n:.2g}%, rule of three){ratio}"
    elif q == 1:
        text = f"larger than all {n} simulated {what}s (percentile above {100 - 300 / n:.4g}%, rule of three){ratio}"
    elif q < low:
        text = f"smaller than {100 * (1 - q):.1f}% of {n} simulated {what}s{ratio}"
    elif q > high:
        text = f"larger than {100 * q:.1f}% of {n} simulated {what}s{ratio}"
    else:
        text = f"at percentile {100 * q:.1f}% of {n} simulated {what}s, inside the central {prob:.0%}"
    if min(abs(q - low), abs(q - high)) < 2 * mcse:
        text += "; within 2 Monte Carlo SE of the cut-off, so more replicates could change the verdict"
    return text


def _placement_rows(
    printed: pd.DataFrame, coef: np.ndarray, se: np.ndarray, floor: np.ndarray, *, prob: float
) -> list[dict]:
    """Place each printed SE and B among simulated ones (kept replicates only; intercept column dropped).

    ``printed`` is indexed by factor with columns ``B`` and ``SE`` in the
    order of the columns of ``coef`` and ``se`` after the intercept.
    """
    rows = []
    n = coef.shape[0]
    for statistic, simulated, floors in (("SE", se[:, 1:], floor), ("B", coef[:, 1:], np.full(len(floor), np.nan))):
        for j, factor in enumerate(printed.index):
            values, value = simulated[:, j], float(printed.loc[factor, statistic])
            q = float((np.sum(values < value) + 0.5 * np.sum(values == value)) / n)
            mcse = math.sqrt(q * (1 - q) / n)
            lower, median, upper = np.quantile(values, [(1 - prob) / 2, 0.5, (1 + prob) / 2])
            rows.append(
                {
                    "factor": factor,
                    "statistic": statistic,
                    "printed": value,
                    "simulated_median": float(median),
                    "simulated_lower": float(lower),
                    "simulated_upper": float(upper),
                    "percentile": q,
                    "percentile_mcse": mcse,
                    "plausible": bool((1 - prob) / 2 <= q <= (1 + prob) / 2),
                    "se_floor": float(floors[j]),
                    "reason": _placement_reason(statistic, q, mcse, n, prob, float(median), value),
                }
            )
    return rows


def standard_error_plausibility(
    *,
    n_replicates: int = 1000,
    seed: SeedLike = 0,
    case_group: str = "printed",
    prob: float = 0.95,
    max_se: float = 10.0,
    table4: pd.DataFrame | None = None,
    table5: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Place Table 5's SEs and B among those of 60:60 samples that match Table 4.

    Each replicate draws 60 controls from
    :func:`bayes_ubpr.simulate.control_laws` and 60 cases from the printed
    case group of Table 4 (normal with the printed case mean and SD for
    continuous factors, Bernoulli with the printed case proportion for
    binary ones, the maximum-entropy law on 1..6 with the printed case mean
    and SD for the number of fractures), fits the six-factor
    maximum-likelihood logistic regression, and keeps its B and SEs. Each
    printed SE and B is then placed in the simulated distribution.

    Parameters
    ----------
    n_replicates : int, default 1000
        Simulated 60:60 samples; at least 40.
    seed : None, int or numpy.random.Generator, default 0
        Root seed. Replicate k uses the k-th spawned child, so it is the
        same whatever ``n_replicates`` is.
    case_group : {"printed", "implied"}, default "printed"
        Draw cases from Table 4's printed case group, or from the control
        laws tilted by Table 5's B (the case group Table 5 implies, see
        :func:`implied_case_group`): SEs of samples from Table 5's own world.
    prob : float, default 0.95
        A printed value is plausible when it lies within the central ``prob``
        of the simulated values.
    max_se : float, default 10.0
        Converged fits with an SE above this for any factor are excluded
        too: on the log-odds scale an SE of 10 means a 95% interval for the
        OR spanning a factor of e^39, no information, as near-separation
        gives.
    table4, table5 : pandas.DataFrame, optional
        Tables 4 and 5 to check, with the columns of
        :func:`bayes_ubpr.paper.table4` and :func:`bayes_ubpr.paper.table5`
        (numbers or the strings printed); default the paper's.

    Returns
    -------
    pandas.DataFrame
        Twelve rows, the six factors of
        :data:`~bayes_ubpr.paper.SIX_FACTORS` for ``statistic`` "SE" and then
        for "B", with ``printed`` (Table 5), ``simulated_median``,
        ``simulated_lower`` and ``simulated_upper`` (the central ``prob``
        interval, 2.5% and 97.5% quantiles by default), ``percentile`` (share
        of simulated values below the printed one), ``percentile_mcse`` (its
        binomial Monte Carlo SE; 0 at percentile 0 or 1, where the reason
        gives the rule-of-three bound instead), ``plausible``, ``se_floor``
        (SE rows: the smallest SE any 120 patients with Table 4's group
        summaries allow, whatever the fit; NaN for B) and ``reason``.
        ``.attrs`` records ``seed`` (the root entropy; None for a Generator),
        ``n_replicates``, ``n_used``, ``n_excluded``, ``n_separated``,
        ``n_large_se``, ``excluded_replicates`` and the settings.

    Raises
    ------
    TypeError
        If ``n_replicates`` is not an integer, ``seed`` is not a seed, or
        ``prob`` is not a number.
    ValueError
        If ``n_replicates`` is below 40, ``case_group`` is not one of the
        choices, ``prob`` is not in (0, 1), or ``max_se`` is not a positive
        number.
    ConvergenceError
        If fewer than 40 replicates give a usable fit.

    Warns
    -----
    StatisticalWarning
        If the excluded replicates outnumber the upper tail (2.5% by
        default): they have the largest SEs, so the upper quantiles are then
        unreliable.

    See Also
    --------
    implied_case_group : the other cross-table check.
    bayes_ubpr.paper.audit : the checks within each table.

    Notes
    -----
    Replicates with separation have no finite maximum-likelihood estimate
    (Albert & Anderson 1984); Newton-Raphson then fails to converge. They
    are counted in ``.attrs`` and excluded, as are fits with an SE above
    ``max_se``. Both have large SEs, so excluding them can only make a
    printed SE look larger relative to the simulated ones, never smaller.
    Factors are drawn independently within each group (Table 4 prints no
    correlations); correlated factors would make the simulated SEs larger
    still.

    References
    ----------
    Albert A, Anderson JA (1984). On the existence of maximum likelihood
    estimates in logistic regression models. Biometrika 71(1):1-10.
    doi:10.1093/biomet/71.1.1

    Examples
    --------
    >>> from bayes_ubpr.audit import standard_error_plausibility
    >>> result = standard_error_plausibility(n_replicates=40, seed=1)
    >>> result.attrs["n_replicates"], bool(result.query("statistic == 'SE'")["plausible"].any())
    (40, False)
    """
    n_replicates, prob, max_se = _check_simulation_options(n_replicates, prob, max_se)
    check_choice(case_group, CASE_GROUPS, name="case_group")
    controls, cases = _sample_laws(case_group, table4, table5)
    fits = _simulate_fits(controls, cases, n_replicates=n_replicates, seed=seed, prob=prob, max_se=max_se)
    printed = _numeric(table5, name="table5", columns=_NUMERIC5)[["B", "SE"]]
    floor = _standard_error_floor(_printed_groups(table4))
    frame = pd.DataFrame(_placement_rows(printed, fits.coef, fits.se, floor, prob=prob))
    frame.attrs = {
        "check": "standard_error_plausibility",
        "case_group": case_group,
        "assumption": "the six factors are drawn independently within each group (Table 4 prints no correlations)",
        **fits.attrs,
    }
    return frame


# --------------------------------------------------------------------------------------------------
# 3. Audit-shaped rows
# --------------------------------------------------------------------------------------------------


def _tail(z: float) -> float:
    """Two-sided normal tail probability of ``z``."""
    return float(2 * stats.norm.sf(abs(z)))


def _implied_checks(result: pd.DataFrame) -> list[Check]:
    """Rows of :func:`implied_case_group` (independent factors)."""
    checks = []
    for row in result.itertuples(index=False):
        ok = bool(row.consistent)
        checks.append(
            Check(
                _CROSS_TABLE,
                f"case {row.statistic} implied by the ORs (tilted control law)",
                str(row.factor),
                float(row.case_printed),
                float(row.case_implied),
                "within sampling error" if ok else "beyond sampling error",
                "ok" if ok else "implausible",
                str(row.reason),
                assumption=INDEPENDENCE,
                probability=math.nan if ok else _tail(float(row.z_simulated)),
            )
        )
    return checks


def _correlation_checks(result: pd.DataFrame) -> list[Check]:
    """Rows of :func:`implied_case_group_by_correlation`: a factor is implausible only if flagged at every rho.

    A factor flagged with independent factors but not at some correlation is a
    note; one flagged only at some correlations is ok (the flag then speaks
    against that correlation, not against the paper). A last row says whether
    one correlation fits all six factors at once.
    """
    checks = []
    low, high = result["correlation"].min(), result["correlation"].max()
    span = f"within-group correlation {low:g} to {high:g}"
    used = result.attrs.get("by_correlation", {})
    excluded = ", ".join(f"{r:g}: {v['n_excluded']}" for r, v in used.items())
    tail = (
        f"; replicates excluded for separation by correlation: {excluded} of {result.attrs.get('n_replicates')}"
        if used
        else ""
    )
    for factor, rows in result.groupby("factor", sort=False):
        rows = rows.sort_values("correlation")
        first = rows.iloc[0]
        flagged = ~rows["consistent"].to_numpy()
        zs = ", ".join(f"{r:g}: {z:+.1f}" for r, z in zip(rows["correlation"], rows["z_simulated"], strict=True))
        probability = math.nan
        if flagged.all():
            least = rows.loc[rows["z_simulated"].abs().idxmin()]
            severity, verdict = "implausible", f"beyond sampling error at every {span}"
            probability = _tail(float(least.z_simulated))
            reason = f"the printed case {first.statistic} stays beyond the sampling error at every correlation"
        elif flagged[0]:
            cleared = rows.loc[~flagged, "correlation"].min()
            severity, verdict = "note", f"flagged at independence, not at correlation {cleared:g}"
            reason = f"flagged with independent factors; a within-group correlation of {cleared:g} removes the flag"
        else:
            severity, verdict = "ok", f"within sampling error at some {span}"
            reason = f"the printed case {first.statistic} is within the sampling error with independent factors"
            if flagged.any():
                reason += (
                    f" (flagged from correlation {rows.loc[flagged, 'correlation'].min():g}: "
                    "such correlations are then too strong for this factor)"
                )
        checks.append(
            Check(
                _CROSS_TABLE,
                f"case {first.statistic} implied by the ORs, {span}",
                str(factor),
                float(first.case_printed),
                float(first.case_implied),
                verdict,
                severity,
                f"{reason} (z by correlation: {zs}; Prentice & Pyke 1979, doi:10.1093/biomet/66.3.403){tail}",
                assumption=CORRELATED,
                probability=probability,
            )
        )
    fitting = result.groupby("correlation")["consistent"].all()
    worst = result.assign(z=result["z_simulated"].abs()).groupby("correlation")["z"].max()
    best = float(worst.idxmin())
    ok = bool(fitting.any())
    checks.append(
        Check(
            _CROSS_TABLE,
            f"all six case statistics at one {span}",
            "",
            math.nan,
            best,
            f"all six fit at correlation {', '.join(f'{r:g}' for r in fitting.index[fitting])}" if ok else "no correlation fits all six",
            "ok" if ok else "note",
            f"largest |z| of the six by correlation: {', '.join(f'{r:g}: {z:.1f}' for r, z in worst.items())}; "
            f"recomputed is the correlation where it is smallest",
            assumption=CORRELATED,
        )
    )
    return checks


def _plausibility_checks(result: pd.DataFrame) -> list[Check]:
    """Rows of :func:`standard_error_plausibility`, with the simulation's size and Monte Carlo error."""
    prob = result.attrs.get("prob", 0.95)
    source = _SIMULATED_FROM[result.attrs.get("case_group", "printed")]
    n = int(result.attrs.get("n_used", 0))
    checks = []
    for row in result.itertuples(index=False):
        ok = bool(row.plausible)
        q = float(row.percentile)
        tail = min(q, 1 - q)
        # none of n below (or above): the rule of three bounds the tail at 3/n with 95% confidence
        probability = max(tail, 3 / n) if tail == 0 and n else tail
        size = f"{n} simulated 60:60 fits (seed {result.attrs.get('seed')}); percentile {100 * q:.1f}% ± {100 * row.percentile_mcse:.1f}% (Monte Carlo SE)"
        checks.append(
            Check(
                _CROSS_TABLE,
                f"{row.statistic} within the central {prob:.0%} of 60:60 fits simulated from {source}",
                str(row.factor),
                float(row.printed),
                float(row.simulated_median),
                "inside the simulated range" if ok else "outside the simulated range",
                "ok" if ok else "implausible",
                f"{row.reason}; {size}",
                assumption=result.attrs.get("assumption", ""),
                probability=math.nan if ok else probability,
            )
        )
    return checks


def audit_rows(result: pd.DataFrame) -> pd.DataFrame:
    """Turn the result of a cross-table check into rows of :func:`bayes_ubpr.audit.audit`.

    Parameters
    ----------
    result : pandas.DataFrame
        The output of :func:`implied_case_group`,
        :func:`implied_case_group_by_correlation` or
        :func:`standard_error_plausibility`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~bayes_ubpr.audit.AUDIT_COLUMNS`. ``printed`` is the
        printed case statistic (``recomputed``: the implied one, at
        independence) or the printed SE or B (``recomputed``: the simulated
        median). ``probability`` is the two-sided normal tail of the
        simulated z (the least extreme over the correlations) or the
        simulated tail share of the SE or B (at most 3/n when no replicate
        is as extreme, the rule of three).

    Raises
    ------
    TypeError
        If ``result`` is not a DataFrame.
    ValueError
        If ``result`` has the columns of none of the checks.

    Examples
    --------
    >>> from bayes_ubpr.audit import audit_rows, implied_case_group
    >>> list(audit_rows(implied_case_group(n_replicates=40, seed=1))["table"].unique())
    ['Table 4 vs Table 5']
    """
    if not isinstance(result, pd.DataFrame):
        raise TypeError(f"result must be a pandas DataFrame; got {type(result).__name__}")
    if {"correlation", "z_simulated", "consistent"} <= set(result.columns):
        checks = _correlation_checks(result)
    elif {"case_implied", "z", "consistent"} <= set(result.columns):
        checks = _implied_checks(result)
    elif {"simulated_median", "percentile", "plausible"} <= set(result.columns):
        checks = _plausibility_checks(result)
    else:
        raise ValueError(
            "result must come from implied_case_group, implied_case_group_by_correlation or "
            f"standard_error_plausibility; got columns {', '.join(map(str, result.columns))}"
        )
    rows = audit_frame(checks)
    rows.attrs = dict(result.attrs)
    return rows


def audit_across_tables(
    *,
    n_replicates: int = 1000,
    seed: SeedLike = 0,
    correlations: Sequence[float] = CORRELATIONS,
    table4: pd.DataFrame | None = None,
    table5: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Both cross-table checks as rows of :func:`bayes_ubpr.audit.audit`.

    Parameters
    ----------
    n_replicates : int, default 1000
        Simulated 60:60 samples for each check (and each correlation); at least 40.
    seed : None, int or numpy.random.Generator, default 0
        Root seed of the simulations.
    correlations : sequence of float, default (0, 0.1, 0.2, 0.3, 0.4, 0.5)
        Within-group correlations for the implied case group; a factor is
        flagged only if it is flagged at every one.
    table4, table5 : pandas.DataFrame, optional
        Tables 4 and 5 to check; default the paper's.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~bayes_ubpr.audit.AUDIT_COLUMNS`: seven rows from
        :func:`implied_case_group_by_correlation` (one per factor, one for
        all six together), then twelve (SE and B) from
        :func:`standard_error_plausibility`. ``.attrs`` holds both checks'
        settings.

    Raises
    ------
    TypeError, ValueError, ConvergenceError
        As :func:`implied_case_group_by_correlation` and
        :func:`standard_error_plausibility`.

    Examples
    --------
    >>> from bayes_ubpr.audit import AUDIT_COLUMNS, audit_across_tables
    >>> rows = audit_across_tables(n_replicates=60, seed=1, correlations=(0.0, 0.3))
    >>> list(rows.columns) == AUDIT_COLUMNS, len(rows)
    (True, 19)
    """
    implied = implied_case_group_by_correlation(
        correlations=correlations, n_replicates=n_replicates, seed=seed, table4=table4, table5=table5
    )
    plausibility = standard_error_plausibility(n_replicates=n_replicates, seed=seed, table4=table4, table5=table5)
    rows = pd.concat([audit_rows(implied), audit_rows(plausibility)], ignore_index=True)
    rows.attrs = {"implied_case_group_by_correlation": implied.attrs, "standard_error_plausibility": plausibility.attrs}
    return rows
