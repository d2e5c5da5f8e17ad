"""The case group that Table 5's odds ratios imply, beside the one Table 4 prints.

:func:`implied_case_group` with the six factors independent within groups,
:func:`implied_case_group_by_correlation` with them correlated (a Gaussian
copula, :mod:`bayes_ubpr.audit._copula`). Public through
:mod:`bayes_ubpr.audit.across` and :mod:`bayes_ubpr.audit`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from bayes_ubpr._rng import SeedLike
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
    Fits,
    check_simulation_options,
    control_laws_of,
    fit_and_keep,
    group_law,
    log_odds_ratios,
    printed_groups,
    replicate_generators,
    simulate_fits,
)
from bayes_ubpr.exceptions import ConvergenceError, StatisticalWarning
from bayes_ubpr.paper import N_CASES, N_CONTROLS_SAMPLED, SIX_FACTORS


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
