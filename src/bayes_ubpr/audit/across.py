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

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from bayes_ubpr._rng import SeedLike
from bayes_ubpr._validate import check_choice
from bayes_ubpr.audit._across_rows import (
    correlation_checks,
    implied_checks,
    plausibility_checks,
)
from bayes_ubpr.audit._copula import (
    CORRELATED,
    CORRELATIONS,
    INTEGRATION_DRAWS,
    REPLICATE_INTEGRATION_DRAWS,
    RESAMPLING_POOL,
    copula_scores,
    correlated_differences,
    correlated_replicates,
    tilted_means,
)
from bayes_ubpr.audit._fits import (
    INDEPENDENCE,
    NUMERIC5,
    Fits,
    check_simulation_options,
    control_laws_of,
    fit_and_keep,
    group_law,
    log_odds_ratios,
    numeric_table,
    printed_groups,
    replicate_generators,
    simulate_fits,
)
from bayes_ubpr.audit._rows import frame as audit_frame
from bayes_ubpr.exceptions import ConvergenceError, StatisticalWarning
from bayes_ubpr.paper import N_CASES, N_CONTROLS_SAMPLED, SIX_FACTORS
from bayes_ubpr.simulate import Law

__all__ = [
    "audit_across_tables",
    "audit_rows",
    "implied_case_group",
    "implied_case_group_by_correlation",
    "standard_error_plausibility",
]

CASE_GROUPS = ("printed", "implied")
"""Where simulated cases come from: Table 4's printed case group, or the control group tilted by Table 5."""

# --------------------------------------------------------------------------------------------------
# 1. The case group Table 5 implies
# --------------------------------------------------------------------------------------------------


def _implied_mean(kind: str, mean: float, sd: float, beta: float) -> float:
    """Mean of the law built from a control group's mean and SD, tilted by ``beta``."""
    return float(group_law(kind, mean, sd).tilt(beta).moments()[0])


def _replicate_differences(fits: Fits, kinds: Sequence[str]) -> tuple[np.ndarray, int]:
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
    n_replicates, prob, max_se = check_simulation_options(n_replicates, prob, max_se)
    beta, overridden = log_odds_ratios(odds_ratios, table5)
    threshold = float(stats.norm.ppf(0.5 + prob / 2))
    groups = printed_groups(table4)
    controls = control_laws_of(groups)
    tilted = [law.tilt(float(beta[name])) for name, law in zip(SIX_FACTORS, controls, strict=True)]
    fits = simulate_fits(controls, tilted, n_replicates=n_replicates, seed=seed, prob=prob, max_se=max_se)
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
    n_replicates, prob, max_se = check_simulation_options(n_replicates, prob, max_se)
    threshold = float(stats.norm.ppf(0.5 + prob / 2))
    groups = printed_groups(table4)
    beta = log_odds_ratios(None, table5)[0].to_numpy(dtype=float)
    controls = control_laws_of(groups)
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
            generators, recorded = replicate_generators(seed, n_replicates)
            with warnings.catch_warnings():
                # Correlated risk factors separate cases from controls more often; the exclusions are
                # recorded in .attrs and the rows' reasons instead of warned about once per correlation.
                warnings.simplefilter("ignore", StatisticalWarning)
                try:
                    fits = fit_and_keep(
                        correlated_replicates(controls, beta, float(rho), generators),
                        recorded=recorded,
                        prob=prob,
                        max_se=max_se,
                    )
                except ConvergenceError as error:  # this correlation separates too many samples to judge
                    settings[float(rho)] = {
                        "seed": recorded,
                        "n_used": 0,
                        "n_excluded": n_replicates,
                        "error": str(error),
                    }
                    continue
            signs = np.sign(beta)
            scores = copula_scores(np.random.default_rng(20161316), INTEGRATION_DRAWS, float(rho), signs)
            implied = tilted_means(controls, beta, scores)
            differences, failures = correlated_differences(fits, kinds, scores[:REPLICATE_INTEGRATION_DRAWS])
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
    groups = printed_groups(t4)
    controls = control_laws_of(groups)
    if case_group == "implied":
        beta, _ = log_odds_ratios(None, t5)
        return controls, [law.tilt(float(beta[name])) for name, law in zip(SIX_FACTORS, controls, strict=True)]
    cases = [group_law(g.kind, g.case_mean, g.case_sd) for g in groups.itertuples(index=False)]
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
    bayes_ubpr.audit.audit : every check, within and across tables.

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
    n_replicates, prob, max_se = check_simulation_options(n_replicates, prob, max_se)
    check_choice(case_group, CASE_GROUPS, name="case_group")
    controls, cases = _sample_laws(case_group, table4, table5)
    fits = simulate_fits(controls, cases, n_replicates=n_replicates, seed=seed, prob=prob, max_se=max_se)
    printed = numeric_table(table5, name="table5", columns=NUMERIC5)[["B", "SE"]]
    floor = _standard_error_floor(printed_groups(table4))
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
        checks = correlation_checks(result)
    elif {"case_implied", "z", "consistent"} <= set(result.columns):
        checks = implied_checks(result)
    elif {"simulated_median", "percentile", "plausible"} <= set(result.columns):
        checks = plausibility_checks(result)
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
