"""Odds ratios per term as a clinician reads them: per unit, per interquartile range, level against reference."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

from bayes_ubpr._validate import check_probability
from bayes_ubpr.effects._variables import (
    Variable,
    equal_tailed,
    interaction_partners,
    log_odds_ratio_draws,
    patients,
    shown_value,
    variables_of,
)
from bayes_ubpr.model import Fitted
from bayes_ubpr.terms import Interaction

__all__ = ["term_odds_ratios"]


@dataclass(frozen=True)
class _Row:
    term: str
    variable: str
    contrast: str
    stratum: str
    note: str
    before: dict[str, Any]
    after: dict[str, Any]


def _stratum(values: Mapping[str, Any]) -> str:
    return "; ".join(f"{name} = {shown_value(value)}" for name, value in values.items())


def _rows(view: Fitted, variables: Mapping[str, Variable]) -> list[_Row]:
    """Every row of the table: which term, which contrast, in which stratum, as two sets of raw values."""
    partners = interaction_partners(view)
    typical = view.terms.typical_values()
    per_iqr = view.spec.terms is not None  # a fit made with factors= keeps odds_ratio_table's one row per unit
    rows = []
    for term in view.terms.terms:
        if isinstance(term, Interaction):
            for part, other in (term.parts, term.parts[::-1]):
                changed, modifier = variables[part.name], variables[other.name]
                rest = {v: typical[v] for v in partners.get(part.name, ()) if v != other.name}
                note = f"the odds ratio of {part.name} within each stratum of {other.name}"
                for level in modifier.strata():
                    fixed = {other.name: level, **rest}
                    for c in changed.contrasts(per_iqr=per_iqr):
                        text = "; ".join(filter(None, (note, c.note)))
                        after = {**fixed, part.name: c.after}
                        rows.append(
                            _Row(
                                term.name,
                                part.name,
                                c.words,
                                _stratum(fixed),
                                text,
                                {**fixed, part.name: c.before},
                                after,
                            )
                        )
            continue
        variable = variables[term.name]
        fixed = {v: typical[v] for v in partners.get(term.name, ())}
        modifies = f"depends on {', '.join(fixed)}: see the interaction's rows" if fixed else ""
        for c in variable.contrasts(per_iqr=per_iqr):
            text = "; ".join(filter(None, (c.note, modifies)))
            after = {**fixed, term.name: c.after}
            rows.append(
                _Row(term.name, term.name, c.words, _stratum(fixed), text, {**fixed, term.name: c.before}, after)
            )
    return rows


def term_odds_ratios(fit: az.InferenceData, *, prob: float = 0.95) -> pd.DataFrame:
    """Odds ratios of every term of a fit, as a clinician reads them.

    Each row compares two patients who differ in one variable, the others
    at the fit's typical patient's values (as ``rms::summary`` does), and
    gives ``exp(beta . (x_after - x_before))`` per posterior draw (see
    :func:`contrast`):

    * a numeric term: per unit (from the median; the unit is the factor's,
      e.g. "1 mL") and from the lower to the upper quartile;
    * a 0/1 term: 1 against 0;
    * a categorical term: each level against the reference
      ("thoracolumbar vs lumbar");
    * a spline: the upper against the lower quartile, with a note that the
      effect is nonlinear (read the curve of :func:`conditional_effects`);
    * an interaction ``a:b``: the contrasts of ``a`` within each stratum of
      ``b`` (each level of a categorical or 0/1 ``b``; the quartiles and
      median of a numeric one) and of ``b`` within each stratum of ``a``.
      For 0/1 ``a`` and categorical ``b`` the odds ratio of ``a`` in level
      L is ``exp(beta_a + beta_a:b[L])``.

    A main effect of a variable that interacts is given at the typical
    values of the variables it interacts with (named in ``stratum``). For a
    fit made with ``factors=`` (no terms) there is one row per factor, per
    unit: the odds ratios of :func:`~bayes_ubpr.odds_ratio_table`.

    Parameters
    ----------
    fit : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit`.
    prob : float, default 0.95
        Mass of the equal-tailed credible intervals.

    Returns
    -------
    pandas.DataFrame
        ``term``, ``variable`` (the one compared), ``contrast`` (in words),
        ``stratum`` (the values of the variables it interacts with, or
        empty), ``or_median``, ``or_lower``, ``or_upper``, ``p_or_gt_1``
        (posterior probability that the odds ratio exceeds 1) and ``note``.
        ``attrs`` holds ``prob`` and the typical ``patient``.

    See Also
    --------
    contrast : an odds ratio between values of your choice.
    term_summary : how much each term matters, as a whole.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, term_odds_ratios
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5),
    ...             "ubpr ~ fascia_injury * depression + rcs(cement_volume_ml, 3) + bmd_tscore_abs", chains=2, seed=1)
    >>> table = term_odds_ratios(idata)
    >>> for row in table.iloc[[0, 2, 6]].itertuples():
    ...     print(f"{row.term} | {row.contrast} | {row.stratum}")
    fascia_injury | present vs absent | depression = 0
    fascia_injury:depression | present vs absent | depression = 0
    cement_volume_ml | 5.776 vs 5.015 (upper vs lower quartile) |
    """
    view = Fitted.of(fit)
    prob = check_probability(prob, name="prob")
    rows = _rows(view, variables_of(view))
    before = patients(view, [row.before for row in rows])
    after = patients(view, [row.after for row in rows])
    log_or = log_odds_ratio_draws(view, before, after)
    median, lower, upper = equal_tailed(log_or, prob)
    table = pd.DataFrame(
        {
            "term": [row.term for row in rows],
            "variable": [row.variable for row in rows],
            "contrast": [row.contrast for row in rows],
            "stratum": [row.stratum for row in rows],
            "or_median": np.exp(median),
            "or_lower": np.exp(lower),
            "or_upper": np.exp(upper),
            "p_or_gt_1": (log_or > 0).mean(axis=0),
            "note": [row.note for row in rows],
        }
    )
    table.attrs.update({"prob": prob, "patient": view.terms.typical_values()})
    return table
