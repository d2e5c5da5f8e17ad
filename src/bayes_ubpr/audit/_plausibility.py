"""How plausible Table 5's standard errors (and B) are for 60:60 samples like Table 4.

:func:`standard_error_plausibility`, public through
:mod:`bayes_ubpr.audit.across` and :mod:`bayes_ubpr.audit`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from bayes_ubpr._rng import SeedLike
from bayes_ubpr._validate import check_choice
from bayes_ubpr.audit._fits import (
    NUMERIC5,
    check_simulation_options,
    control_laws_of,
    group_law,
    log_odds_ratios,
    numeric_table,
    printed_groups,
    simulate_fits,
)
from bayes_ubpr.paper import SIX_FACTORS
from bayes_ubpr.simulate import Law

CASE_GROUPS = ("printed", "implied")
"""Where simulated cases come from: Table 4's printed case group, or the control group tilted by Table 5."""


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
