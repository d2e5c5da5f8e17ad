"""How much groups (hospitals, surgeons) differ: their SDs as median odds ratios, and each group's offset.

A multilevel fit gives each grouping an SD of intercepts on the log-odds
scale, which few clinicians can read. :func:`group_effects_table` states it
as the median odds ratio (Larsen & Merlo 2005) beside the interquartile odds
ratio, and lists each group's offset as an odds ratio against a typical group
(offset 0), all with posterior medians and intervals.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from bayes_ubpr._validate import check_probability
from bayes_ubpr.model.fitted import Fitted

__all__ = ["GROUP_EFFECT_COLUMNS", "IQR_OR_SCALE", "MOR_SCALE", "group_effects_table"]

MOR_SCALE = math.sqrt(2.0) * float(stats.norm.ppf(0.75))
"""0.954: the median odds ratio is ``exp(MOR_SCALE * sd)`` (Larsen & Merlo 2005): the median, over pairs of
groups drawn at random, of the odds ratio between the higher- and the lower-risk group for identical patients."""

IQR_OR_SCALE = float(stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
"""1.349: the interquartile odds ratio is ``exp(IQR_OR_SCALE * sd)``: the odds ratio between a group at the 75th
and one at the 25th percentile of the normal distribution of intercepts (the interquartile-range contrast that
``rms::summary`` reports for a continuous predictor, Harrell 2015)."""

GROUP_EFFECT_COLUMNS = [
    "grouping",
    "parameter",
    "group",
    "n_groups",
    "n_patients",
    "median",
    "lower",
    "upper",
    "or_median",
    "or_lower",
    "or_upper",
    "iqr_or_median",
    "iqr_or_lower",
    "iqr_or_upper",
]
"""Columns of :func:`group_effects_table`."""


def group_effects_table(fit: object, *, prob: float = 0.95) -> pd.DataFrame:
    """Table of a multilevel fit's group effects: each grouping's SD, then each group's offset.

    Parameters
    ----------
    fit : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit` (with or without group intercepts).
    prob : float, default 0.95
        Mass of the equal-tailed credible intervals.

    Returns
    -------
    pandas.DataFrame
        :data:`GROUP_EFFECT_COLUMNS`, for each grouping (in model order) one
        row with ``parameter`` "sd" followed by one row per group with
        ``parameter`` "offset":

        * ``grouping``: the grouping (a column, or ``"a:b"`` for b nested in a);
        * ``group``: the group's label within its grouping (empty for the SD row);
        * ``n_groups``: groups in the grouping (SD row); ``n_patients``: fitted
          patients in the group (all of them on the SD row);
        * ``median``, ``lower``, ``upper``: the SD, or the group's offset, on
          the log-odds scale;
        * ``or_median``, ``or_lower``, ``or_upper``: on the SD row the median
          odds ratio ``exp(0.954 sd)`` (Larsen & Merlo 2005); on an offset row
          the group's odds ratio against a typical group (offset 0), for
          otherwise identical patients;
        * ``iqr_or_median``, ``iqr_or_lower``, ``iqr_or_upper``: SD row only,
          the interquartile odds ratio ``exp(1.349 sd)`` between a group at the
          75th and one at the 25th percentile.

        A fit without groups gives an empty frame with these columns; the
        SDs of varying slopes are not listed.

    Raises
    ------
    TypeError, NotAFitError
        If ``fit`` is not a bayes_ubpr fit.
    ValueError
        If ``prob`` is not strictly between 0 and 1.

    Notes
    -----
    The SD of intercepts is on the log-odds scale, where a normal
    distribution of group effects makes the median odds ratio a function of
    it alone: ``MOR = exp(sqrt(2) * Phi^-1(0.75) * sd)``. An MOR of 1 means no
    difference between groups; it compares directly with the odds ratios of
    the risk factors. Both odds ratios are increasing in the SD, so their
    posterior quantiles are those of the SD transformed.

    References
    ----------
    Larsen K, Merlo J (2005). Appropriate assessment of neighborhood effects on
    individual health: integrating random and fixed effects in multilevel
    logistic regression. American Journal of Epidemiology 161(1):81-88.
    doi:10.1093/aje/kwi017

    Harrell FE (2015). Regression Modeling Strategies, 2nd ed. Springer.
    doi:10.1007/978-3-319-19425-7

    Examples
    --------
    >>> from bayes_ubpr import fit, simulate_cohort
    >>> from bayes_ubpr.group_effects import group_effects_table
    >>> cohort = simulate_cohort(n=600, prevalence=0.3, seed=5).assign(hospital=lambda d: d.index % 4)
    >>> table = group_effects_table(fit(cohort, group="hospital", chains=2, seed=1))
    >>> table["parameter"].tolist()
    ['sd', 'offset', 'offset', 'offset', 'offset']
    >>> bool((table["or_median"].iloc[0] >= 1) and (table["iqr_or_median"].iloc[0] > table["or_median"].iloc[0]))
    True
    """
    view = Fitted.of(fit)
    prob = check_probability(prob, name="prob")
    groups = view.spec.groups
    post = view.idata.posterior
    if not groups or "group_sd" not in post or "group_offset" not in post:
        return pd.DataFrame({column: [] for column in GROUP_EFFECT_COLUMNS})
    stacked = post.stack(sample=("chain", "draw"))
    offsets = stacked["group_offset"].transpose("group", "sample")
    labels = [str(label) for label in offsets["group"].values]
    offset_draws = offsets.to_numpy()
    counts = _patients_per_group(view, len(labels))
    quantiles = [(1 - prob) / 2, 0.5, (1 + prob) / 2]
    rows = []
    for grouping in groups:
        sd = stacked["group_sd"] if len(groups) == 1 else stacked["group_sd"].sel(grouping=grouping)
        members = list(range(len(labels))) if len(groups) == 1 else _members(labels, grouping)
        low, mid, high = np.quantile(sd.to_numpy(), quantiles)
        rows.append(
            {
                "grouping": grouping,
                "parameter": "sd",
                "group": "",
                "n_groups": len(members),
                "n_patients": len(view.y),
                **_with_odds_ratios(low, mid, high, MOR_SCALE),
                **_with_odds_ratios(low, mid, high, IQR_OR_SCALE, prefix="iqr_or_", log_odds=False),
            }
        )
        for j in members:
            low, mid, high = np.quantile(offset_draws[j], quantiles)
            label = labels[j] if len(groups) == 1 else labels[j][len(grouping) + 1 : -1]
            rows.append(
                {
                    "grouping": grouping,
                    "parameter": "offset",
                    "group": label,
                    "n_patients": pd.NA if counts is None else int(counts[j]),
                    **_with_odds_ratios(low, mid, high, 1.0),
                }
            )
    table = pd.DataFrame(rows, columns=GROUP_EFFECT_COLUMNS)
    for column in ("n_groups", "n_patients"):
        table[column] = table[column].astype("Int64")
    return table


def _with_odds_ratios(
    low: float, mid: float, high: float, scale: float, *, prefix: str = "or_", log_odds: bool = True
) -> dict[str, float]:
    """Return the quantiles (if ``log_odds``) and ``exp(scale * quantile)`` as ``{prefix}lower`` etc."""
    values = {"lower": float(low), "median": float(mid), "upper": float(high)}
    odds = {f"{prefix}{k}": math.exp(scale * v) for k, v in values.items()}
    return (values | odds) if log_odds else odds


def _members(labels: list[str], grouping: str) -> list[int]:
    """Positions of a grouping's groups among the labels ``grouping[level]`` of a fit with several groupings."""
    prefix = f"{grouping}["
    return [j for j, label in enumerate(labels) if label.startswith(prefix) and label.endswith("]")]


def _patients_per_group(view: Fitted, n_groups: int) -> np.ndarray | None:
    """Fitted patients in each group (the ``group`` coordinate's order), from the stored group codes if any."""
    constant = view.idata.constant_data
    if "group_idx" not in constant:
        return None
    return np.bincount(constant["group_idx"].to_numpy().ravel(), minlength=n_groups)
