"""Sensitivity to unmeasured confounding: E-values (VanderWeele & Ding 2017).

The kernel, :func:`e_value`, is plain NumPy, tested on arrays.
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd

from bayes_ubpr._validate import check_choice, check_probability
from bayes_ubpr.model import Fitted, ModelSpec
from bayes_ubpr.posterior import odds_ratio_table
from bayes_ubpr.terms import Categorical, Numeric

__all__ = ["e_value", "e_value_table"]


def e_value(odds_ratio: float | np.ndarray, *, rare_outcome: bool = True) -> float | np.ndarray:
    """Compute the E-value of an odds ratio (VanderWeele & Ding 2017).

    The minimum strength of association, on the risk-ratio scale, that an
    unmeasured confounder would need with both the risk factor and the
    outcome to explain the observed association away. For a rare outcome
    (under about 15%; UBPR's 4.6% qualifies) the OR approximates the risk
    ratio RR; otherwise RR is approximated by sqrt(OR). Then E = RR +
    sqrt(RR (RR - 1)) for RR >= 1, with RR replaced by 1/RR below 1.

    Parameters
    ----------
    odds_ratio : float or array_like
        Positive odds ratios.
    rare_outcome : bool, default True
        Whether the outcome is rare in the population.

    Returns
    -------
    float or numpy.ndarray
        E-values (>= 1), shaped like ``odds_ratio``.

    References
    ----------
    VanderWeele TJ, Ding P (2017). Sensitivity analysis in observational
    research: introducing the E-value. Annals of Internal Medicine
    167(4):268-274. doi:10.7326/M16-2607

    Examples
    --------
    >>> from bayes_ubpr.sensitivity import e_value
    >>> round(e_value(3.805), 2)  # Table 5's OR for lumbodorsal fascia injury
    7.07
    >>> round(e_value(1 / 3.805), 2)  # protective associations are mirrored
    7.07
    >>> e_value(1.0)
    1.0
    """
    ratio = np.asarray(odds_ratio, dtype=float)
    if not np.all(np.isfinite(ratio) & (ratio > 0)):
        bad = np.atleast_1d(ratio)[~(np.isfinite(np.atleast_1d(ratio)) & (np.atleast_1d(ratio) > 0))]
        raise ValueError(f"odds_ratio must be positive and finite; got {bad[:5].tolist()}")
    rr = ratio if rare_outcome else np.sqrt(ratio)
    rr = np.maximum(rr, 1 / rr)
    values = rr + np.sqrt(rr * (rr - 1))
    return float(values) if values.ndim == 0 else values


def e_value_table(
    idata: az.InferenceData, *, prob: float = 0.95, rare_outcome: bool = True, scale: str = "unit"
) -> pd.DataFrame:
    """Tabulate E-values of each posterior odds ratio and of its credible limit nearest 1.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit`.
    prob : float, default 0.95
        Credible interval mass.
    rare_outcome : bool, default True
        Whether the outcome is rare in the population (the case-control
        odds ratio estimates the population one, where UBPR's 4.6% is rare).
    scale : {"unit", "sd"}, default "unit"
        E-values of the odds ratio per unit of each factor, or per SD of the
        factor in the fitted data. A continuous factor's E-value depends on
        its unit (per mL of cement it is large); per SD compares factors.

    Returns
    -------
    pandas.DataFrame
        One row per factor (design column): ``factor``, ``or_median``,
        ``or_lower``, ``or_upper``, ``e_value`` (of the posterior median OR),
        ``e_value_limit`` (of the interval limit nearest 1; 1 when the
        interval includes 1), the posterior distribution of the E-value over
        draws: ``e_value_posterior_lower``, ``e_value_posterior_upper``
        (central ``prob`` interval), and the ``term`` and ``level`` the
        column belongs to (for a formula fit: ``fracture_level`` and
        ``thoracic`` for the column ``fracture_level[thoracic]``, whose OR
        is against the reference level; ``level`` is empty otherwise).

    Notes
    -----
    E-values are of odds ratios, so they are per design column: a numeric
    factor's OR per unit (or per SD) and each level's OR against its
    reference. A spline's columns and an interaction's products have no odds
    ratio of their own (a spline's OR is a contrast between two values,
    which :func:`e_value` takes directly): their E-values are NaN.

    References
    ----------
    VanderWeele TJ, Ding P (2017). doi:10.7326/M16-2607

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit
    >>> from bayes_ubpr.sensitivity import e_value_table
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> table = e_value_table(idata, rare_outcome=False).set_index("factor")  # 30% is not a rare outcome
    >>> list(table.columns[:5])
    ['or_median', 'or_lower', 'or_upper', 'e_value', 'e_value_limit']
    >>> bool(table.loc["fascia_injury", "e_value_limit"] > 1)  # its interval excludes OR 1
    True
    """
    prob = check_probability(prob, name="prob")
    check_choice(scale, ("unit", "sd"), name="scale")
    table = odds_ratio_table(idata, prob=prob, scale=scale)[["factor", "or_median", "or_lower", "or_upper"]].copy()
    table["e_value"] = e_value(table["or_median"].to_numpy(), rare_outcome=rare_outcome)
    includes_one = (table["or_lower"] <= 1) & (table["or_upper"] >= 1)
    nearest = np.where(table["or_median"] >= 1, table["or_lower"], table["or_upper"])
    table["e_value_limit"] = np.where(includes_one, 1.0, e_value(nearest, rare_outcome=rare_outcome))
    view = Fitted.of_draws(idata)
    log_or = view.log_odds_ratio_draws
    per = view.x_scale if scale == "sd" else 1.0
    per_draw = e_value(np.exp(log_or * per), rare_outcome=rare_outcome)
    low, high = np.quantile(per_draw, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    table["e_value_posterior_lower"], table["e_value_posterior_upper"] = low, high
    own = _own_odds_ratios(view.spec)
    table["term"], table["level"] = own["term"].to_numpy(), own["level"].to_numpy()
    columns = ["e_value", "e_value_limit", "e_value_posterior_lower", "e_value_posterior_upper"]
    table.loc[~own["own_odds_ratio"].to_numpy(), columns] = np.nan
    table.attrs.update({"prob": prob, "rare_outcome": rare_outcome, "scale": scale})
    return table


def _own_odds_ratios(spec: ModelSpec) -> pd.DataFrame:
    """Per design column: its term, its level (a categorical's), and whether its odds ratio is one of its own.

    A numeric column's OR is per unit and a level's against the reference;
    a spline's columns (the linear one included) and an interaction's
    products are parts of a curve or of a difference of ORs, not ORs of
    their own.
    """
    if spec.terms is None:
        names = list(spec.factor_names)
        return pd.DataFrame({"term": names, "level": [None] * len(names), "own_odds_ratio": True})
    rows: list[tuple[str, object, bool]] = []
    for term in spec.terms.terms:
        if isinstance(term, Categorical):
            rows += [(term.name, level, True) for level in term.kept_levels]
        else:
            rows += [(term.name, None, isinstance(term, Numeric))] * len(term.columns)
    return pd.DataFrame(rows, columns=["term", "level", "own_odds_ratio"])
