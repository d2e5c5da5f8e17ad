"""Odds ratios per term as a clinician reads them: per unit, per interquartile range, level against reference."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

from bayes_ubpr._text import format_interval, text_table
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

__all__ = ["format_term_odds_ratios", "term_odds_ratios", "without_repeated_main_effects"]


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


def without_repeated_main_effects(table: pd.DataFrame) -> pd.DataFrame:
    """Return a :func:`term_odds_ratios` table without the main-effect rows that an interaction's rows repeat.

    The main effect of a variable that interacts is its odds ratio in one
    stratum (the typical one), which the interaction's rows give beside
    every other stratum.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"term": ["a", "a:b", "a:b"], "variable": ["a", "a", "a"]})
    >>> without_repeated_main_effects(table)["term"].tolist()
    ['a:b', 'a:b']
    """
    interaction = table["term"].str.contains(":", regex=False)
    interacting = set(table.loc[interaction, "variable"])
    return table[interaction | ~table["variable"].isin(interacting)]


def format_term_odds_ratios(table: pd.DataFrame) -> str:
    """Render a :func:`term_odds_ratios` table as aligned text for a terminal or log.

    One line per contrast: the term, what is compared, within which stratum,
    the odds ratio with its credible interval (three significant digits, what
    the Monte Carlo error of a few thousand draws supports) and the posterior
    probability that it exceeds 1. A main effect whose variable interacts is
    shown within the strata of the interaction's rows only, once.

    Examples
    --------
    >>> import pandas as pd
    >>> row = {"term": "level", "variable": "level", "contrast": "thoracolumbar vs lumbar", "stratum": "",
    ...        "or_median": 1.2345, "or_lower": 0.61, "or_upper": 2.38, "p_or_gt_1": 0.713, "note": ""}
    >>> print(format_term_odds_ratios(pd.DataFrame([row])))
    Term   Contrast                 Within  Posterior OR (95% CrI)  P(OR > 1)
    level  thoracolumbar vs lumbar  -       1.23 (0.61 to 2.38)     0.713
    """
    prob = table.attrs.get("prob", 0.95)
    shown = without_repeated_main_effects(table)
    header = ["Term", "Contrast", "Within", f"Posterior OR ({prob:.0%} CrI)", "P(OR > 1)"]
    rows = [
        [
            row.term,
            row.contrast,
            row.stratum or "-",
            format_interval(row.or_median, row.or_lower, row.or_upper),
            f"{row.p_or_gt_1:.3f}",
        ]
        for row in shown.itertuples(index=False)
    ]
    notes = sorted({note for note in shown["note"] if note and note.startswith("nonlinear")})
    return "\n".join([text_table(header, rows), *notes])
