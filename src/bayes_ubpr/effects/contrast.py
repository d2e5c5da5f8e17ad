"""Contrasts of raw values: the odds ratio and risk difference between two patients who differ in named ways."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

from bayes_ubpr._rng import SeedLike, as_int_seed
from bayes_ubpr._validate import check_choice, check_probability, describe_value
from bayes_ubpr.effects._variables import (
    Variable,
    check_at,
    check_variable,
    equal_tailed,
    log_odds_ratio_draws,
    patients,
    shown_value,
    variables_of,
)
from bayes_ubpr.model import Fitted
from bayes_ubpr.model.fitted import NEW_GROUPS
from bayes_ubpr.posterior import risk_draws

__all__ = ["CONTRAST_SCALES", "contrast"]

CONTRAST_SCALES = ("both", "odds_ratio", "risk_difference")
"""What :func:`contrast` reports: the odds ratio, the risk difference, or both."""


def _check_changes(changes: object, variables: Mapping[str, Variable]) -> dict[str, tuple[Any, Any]]:
    if not isinstance(changes, Mapping):
        raise TypeError(
            "changes must map each variable to (from, to), e.g. {'cement_volume_ml': (3, 5)}; "
            f"got {describe_value(changes)}"
        )
    if not changes:
        raise ValueError("changes is empty: name at least one variable and its (from, to) values")
    checked = {}
    for name, pair in changes.items():
        variable = check_variable(name, variables, argument="changes")
        if isinstance(pair, (str, bytes)) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise TypeError(f'changes["{name}"] must be a pair (from, to); got {describe_value(pair)}')
        before = variable.check(pair[0], argument=f'changes["{name}"]')
        after = variable.check(pair[1], argument=f'changes["{name}"]')
        checked[name] = (before, after)
    return checked


def contrast(
    fit: az.InferenceData,
    changes: Mapping[str, tuple[Any, Any]],
    *,
    at: Mapping[str, Any] | None = None,
    prob: float = 0.95,
    scale: str = "both",
    new_groups: str = "average",
    seed: SeedLike = None,
) -> pd.DataFrame:
    """Odds ratio and risk difference between two patients who differ only in the values named.

    Two patients are built from the fit's typical patient (each numeric
    variable at its median, each 0/1 variable at its commoner value, each
    categorical one at its commonest level; stored in the fit), set to the
    values in ``at``, then to the ``from`` and the ``to`` values of
    ``changes``. The odds ratio of ``to`` against ``from`` is, per posterior
    draw, ``exp(beta . (x_to - x_from))`` with ``x`` the patients' design
    columns: exact for the logistic model, whose intercept cancels, and the
    right contrast for a spline (the curve between the two values) or an
    interaction (the effect at the ``at`` values). The risk difference is
    ``risk(to) - risk(from)`` of the same draws, on the population scale
    (case-control corrected, as :func:`~bayes_ubpr.risk_draws` gives it).

    Parameters
    ----------
    fit : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit`.
    changes : mapping of str to (from, to)
        Raw variable -> the two values compared, e.g.
        ``{"cement_volume_ml": (3, 5)}`` or
        ``{"fracture_level": ("lumbar", "thoracolumbar")}``; several
        variables change together.
    at : mapping of str to value or list, optional
        Values of other variables (or of a grouping column, for the risks)
        for both patients; a list gives one row per value, and several lists
        one row per combination.
    prob : float, default 0.95
        Mass of the equal-tailed credible intervals.
    scale : {"both", "odds_ratio", "risk_difference"}, default "both"
        Which columns to compute.
    new_groups : {"average", "sample", "typical"}, default "average"
        Multilevel fits: how a patient of no known group enters the risks
        (see :func:`~bayes_ubpr.risk_draws`). With ``"sample"`` both patients
        of a row share the drawn group offset, so the difference is that of
        one new group. The odds ratio does not depend on it.
    seed : None, int or numpy.random.Generator
        For ``new_groups="sample"``.

    Returns
    -------
    pandas.DataFrame
        One row per combination of ``at`` values: ``contrast`` (the changes
        in words), one column per ``at`` variable, then ``or_median``,
        ``or_lower``, ``or_upper``, ``p_or_gt_1`` (posterior probability
        that the odds ratio exceeds 1) and ``rd_median``, ``rd_lower``,
        ``rd_upper`` (risk of ``to`` less risk of ``from``) as ``scale``
        asks. ``attrs`` holds ``prob``, ``scale``, ``new_groups``, the
        fit's ``design`` and the typical ``patient`` used.

    Raises
    ------
    ValueError
        For a variable the model does not have (with "did you mean"), a
        level it was not fitted on (naming its levels), a 0/1 variable set
        to another value, or a variable both changed and in ``at``.
    TypeError
        For ``changes`` or ``at`` that are not mappings, a change that is
        not a pair, or a numeric variable given text.

    Warns
    -----
    StatisticalWarning
        For a numeric value outside the range of the fitted data (the
        estimate extrapolates).

    See Also
    --------
    conditional_effects : the whole curve of one variable.
    term_odds_ratios : the standard contrasts of every term.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, contrast
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5),
    ...             "ubpr ~ fascia_injury * depression + rcs(cement_volume_ml, 3) + bmd_tscore_abs", chains=2, seed=1)
    >>> table = contrast(idata, {"cement_volume_ml": (4, 6)}, at={"fascia_injury": [0, 1]})
    >>> table[["contrast", "fascia_injury"]].values.tolist()
    [['cement_volume_ml 4 → 6', 0.0], ['cement_volume_ml 4 → 6', 1.0]]
    >>> bool((table["or_upper"] < 1).all() and (table["rd_upper"] < 0).all())  # more cement, less pain
    True
    """
    view = Fitted.of(fit)
    prob = check_probability(prob, name="prob")
    check_choice(scale, CONTRAST_SCALES, name="scale")
    check_choice(new_groups, NEW_GROUPS, name="new_groups")
    variables = variables_of(view)
    moves = _check_changes(changes, variables)
    names, combos = check_at(at, variables, view, taken=moves)
    before = patients(view, [{**combo, **{v: pair[0] for v, pair in moves.items()}} for combo in combos])
    after = patients(view, [{**combo, **{v: pair[1] for v, pair in moves.items()}} for combo in combos])
    words = "; ".join(f"{v} {shown_value(a)} → {shown_value(b)}" for v, (a, b) in moves.items())
    table = pd.DataFrame({"contrast": [words] * len(combos), **{n: [c[n] for c in combos] for n in names}})
    if scale in ("both", "odds_ratio"):
        log_or = log_odds_ratio_draws(view, before, after)
        median, lower, upper = equal_tailed(log_or, prob)
        table["or_median"], table["or_lower"], table["or_upper"] = np.exp(median), np.exp(lower), np.exp(upper)
        table["p_or_gt_1"] = (log_or > 0).mean(axis=0)
    if scale in ("both", "risk_difference"):
        shared = as_int_seed(seed)  # one seed for both: with new_groups="sample" both share a group's offset
        risks = [
            risk_draws(view.idata, rows, new_groups=new_groups, seed=shared).to_numpy().reshape(-1, len(rows))
            for rows in (before, after)
        ]
        median, lower, upper = equal_tailed(risks[1] - risks[0], prob)
        table["rd_median"], table["rd_lower"], table["rd_upper"] = median, lower, upper
    table.attrs.update({"prob": prob, "scale": scale, "new_groups": new_groups, "design": view.spec.design})
    table.attrs["patient"] = view.terms.typical_values()
    return table
