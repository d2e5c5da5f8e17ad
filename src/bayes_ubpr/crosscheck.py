"""Published-statistics audit across tables: whether Table 4 and Table 5 fit each other.

:func:`bayes_ubpr.paper.audit` checks each table against itself. This module
checks the two tables against each other, which needs the simulated world of
:mod:`bayes_ubpr.simulate` (so it lives after it in the workflow):

* :func:`implied_case_group`: under the logistic model with factors
  independent among controls, the case group's law of each factor is the
  control law exponentially tilted by its log odds ratio. Tilting Table 4's
  control group by Table 5's B gives the case means and proportions that
  Table 5 implies, to set beside the case group Table 4 prints.
* :func:`standard_error_plausibility`: 60:60 samples whose groups follow
  Table 4, each fitted with the six-factor logistic regression, give the
  standard errors (and B) that such a study produces; the printed ones are
  placed in that distribution.
* :func:`audit_rows` and :func:`audit_across_tables`: the same findings in
  the shape of :func:`bayes_ubpr.paper.audit`, to append to it.
"""

from __future__ import annotations

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
from bayes_ubpr.paper import AUDIT_COLUMNS, N_CASES, N_CONTROLS_SAMPLED, SIX_FACTORS, table4, table5
from bayes_ubpr.simulate import (
    MAX_FRACTURES,
    BernoulliLaw,
    Law,
    NormalLaw,
    _max_entropy_count_law,
    control_laws,
)

__all__ = [
    "audit_across_tables",
    "audit_rows",
    "implied_case_group",
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


def _printed_groups() -> pd.DataFrame:
    """Table 4's control and case groups for the six factors, as means and SDs.

    A binary factor's mean is its proportion of 1s and its SD is
    sqrt(p(1-p)); the ``within_ss_*`` columns hold each group's sum of
    squared deviations (n p (1-p) for binary factors, (n - 1) SD^2 from a
    printed sample SD otherwise).
    """
    t4 = table4().set_index("factor").loc[list(SIX_FACTORS)]
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


def _log_odds_ratios(odds_ratios: Mapping[str, float] | None) -> tuple[pd.Series, list[str]]:
    """Table 5's B, with any caller-given odds ratios in place; also the factors overridden."""
    beta = table5().set_index("factor")["B"].astype(float).loc[list(SIX_FACTORS)]
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
    >>> from bayes_ubpr.crosscheck import implied_case_group
    >>> implied = implied_case_group(n_replicates=40, seed=1).set_index("factor")
    >>> round(float(implied.loc["n_fractures", "case_implied"]), 2), float(implied.loc["n_fractures", "case_printed"])
    (2.15, 2.17)
    """
    n_replicates, prob, max_se = _check_simulation_options(n_replicates, prob, max_se)
    beta, overridden = _log_odds_ratios(odds_ratios)
    threshold = float(stats.norm.ppf(0.5 + prob / 2))
    groups = _printed_groups()
    laws = control_laws()
    controls = [laws[name] for name in SIX_FACTORS]
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
        "control_laws": "bayes_ubpr.simulate.control_laws (Table 4's satisfactory group)",
        "threshold": threshold,
        **fits.attrs,
        "count_law_failures": failures,
    }
    return frame


# --------------------------------------------------------------------------------------------------
# 2. How plausible Table 5's standard errors are for 60:60 samples like Table 4
# --------------------------------------------------------------------------------------------------


def _sample_laws(case_group: str) -> tuple[list[Law], list[Law]]:
    """Control and case laws of the six factors, in :data:`SIX_FACTORS` order."""
    laws = control_laws()
    controls = [laws[name] for name in SIX_FACTORS]
    if case_group == "implied":
        beta = table5().set_index("factor")["B"]
        return controls, [laws[name].tilt(float(beta[name])) for name in SIX_FACTORS]
    groups = _printed_groups()
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
    >>> from bayes_ubpr.crosscheck import standard_error_plausibility
    >>> result = standard_error_plausibility(n_replicates=40, seed=1)
    >>> result.attrs["n_replicates"], bool(result.query("statistic == 'SE'")["plausible"].any())
    (40, False)
    """
    n_replicates, prob, max_se = _check_simulation_options(n_replicates, prob, max_se)
    check_choice(case_group, CASE_GROUPS, name="case_group")
    controls, cases = _sample_laws(case_group)
    fits = _simulate_fits(controls, cases, n_replicates=n_replicates, seed=seed, prob=prob, max_se=max_se)
    printed = table5().set_index("factor").loc[list(SIX_FACTORS), ["B", "SE"]]
    floor = _standard_error_floor(_printed_groups())
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


def audit_rows(result: pd.DataFrame) -> pd.DataFrame:
    """Turn the result of either cross-table check into rows shaped like :func:`bayes_ubpr.paper.audit`.

    Parameters
    ----------
    result : pandas.DataFrame
        The output of :func:`implied_case_group` or
        :func:`standard_error_plausibility`.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~bayes_ubpr.paper.AUDIT_COLUMNS`: ``printed`` is the
        printed case statistic (recomputed: the implied one) or the printed
        SE or B (recomputed: the simulated median).

    Raises
    ------
    TypeError
        If ``result`` is not a DataFrame.
    ValueError
        If ``result`` has the columns of neither check.

    Examples
    --------
    >>> from bayes_ubpr.crosscheck import audit_rows, implied_case_group
    >>> list(audit_rows(implied_case_group(n_replicates=40, seed=1))["table"].unique())
    ['Table 4 vs Table 5']
    """
    if not isinstance(result, pd.DataFrame):
        raise TypeError(f"result must be a pandas DataFrame; got {type(result).__name__}")
    if {"case_implied", "z", "consistent"} <= set(result.columns):
        quantity = "case " + result["statistic"] + " implied by the ORs (tilted control law)"
        recomputed, ok = result["case_implied"], result["consistent"]
        printed = result["case_printed"]
    elif {"simulated_median", "percentile", "plausible"} <= set(result.columns):
        prob, source = result.attrs.get("prob", 0.95), _SIMULATED_FROM[result.attrs.get("case_group", "printed")]
        quantity = result["statistic"] + f" within the central {prob:.0%} of 60:60 fits simulated from {source}"
        recomputed, ok, printed = result["simulated_median"], result["plausible"], result["printed"]
    else:
        raise ValueError(
            "result must come from implied_case_group or standard_error_plausibility; "
            f"got columns {', '.join(map(str, result.columns))}"
        )
    rows = pd.DataFrame(
        {
            "table": _CROSS_TABLE,
            "quantity": quantity,
            "factor": result["factor"],
            "printed": printed.astype(float),
            "recomputed": recomputed.astype(float),
            "consistent": ok.astype(bool),
            "reason": result["reason"],
        },
        columns=AUDIT_COLUMNS,
    )
    rows.attrs = dict(result.attrs)
    return rows


def audit_across_tables(*, n_replicates: int = 1000, seed: SeedLike = 0) -> pd.DataFrame:
    """Both cross-table checks as rows to append to :func:`bayes_ubpr.paper.audit`.

    Parameters
    ----------
    n_replicates : int, default 1000
        Simulated 60:60 samples for each check; at least 40.
    seed : None, int or numpy.random.Generator, default 0
        Root seed of both simulations.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`~bayes_ubpr.paper.AUDIT_COLUMNS`: six rows from
        :func:`implied_case_group`, then twelve (SE and B) from
        :func:`standard_error_plausibility`. ``.attrs`` holds both checks'
        settings under ``implied_case_group`` and
        ``standard_error_plausibility``.

    Raises
    ------
    TypeError, ValueError, ConvergenceError
        As :func:`implied_case_group` and :func:`standard_error_plausibility`.

    Examples
    --------
    >>> from bayes_ubpr.crosscheck import audit_across_tables
    >>> from bayes_ubpr.paper import AUDIT_COLUMNS
    >>> rows = audit_across_tables(n_replicates=40, seed=1)
    >>> list(rows.columns) == AUDIT_COLUMNS, len(rows)
    (True, 18)
    """
    implied = implied_case_group(n_replicates=n_replicates, seed=seed)
    plausibility = standard_error_plausibility(n_replicates=n_replicates, seed=seed)
    rows = pd.concat([audit_rows(implied), audit_rows(plausibility)], ignore_index=True)
    rows.attrs = {"implied_case_group": implied.attrs, "standard_error_plausibility": plausibility.attrs}
    return rows
