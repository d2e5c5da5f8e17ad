"""Conditional effects: the risk, or the odds ratio, along one variable, in strata of a second."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

from bayes_ubpr._rng import SeedLike
from bayes_ubpr._validate import check_choice, check_positive_int, check_probability, describe_value
from bayes_ubpr.effects._variables import (
    check_at,
    check_variable,
    equal_tailed,
    log_odds_ratio_draws,
    patients,
    variables_of,
)
from bayes_ubpr.model import Fitted
from bayes_ubpr.model.fitted import NEW_GROUPS
from bayes_ubpr.posterior import risk_draws

__all__ = ["EFFECT_SCALES", "conditional_effects"]

EFFECT_SCALES = ("risk", "odds_ratio")
"""Scales of :func:`conditional_effects`: absolute risk, or the odds ratio against a reference value."""


def conditional_effects(
    fit: az.InferenceData,
    variable: str,
    *,
    by: str | None = None,
    at: Mapping[str, Any] | None = None,
    scale: str = "risk",
    grid: Sequence[Any] | None = None,
    n_points: int = 50,
    reference: Any = None,
    prob: float = 0.95,
    new_groups: str = "average",
    seed: SeedLike = None,
) -> pd.DataFrame:
    """Compute the risk, or the odds ratio, along one variable, the others at a typical patient's values.

    What brms' ``conditional_effects`` and rms' ``Predict`` show: a curve of
    one raw variable, the other variables at the fit's typical patient
    (numeric medians, commoner 0/1 values, commonest levels; stored in the
    fit) or at ``at``, one curve per value of ``by``. A spline is drawn as
    the curve it is, an interaction as one curve per stratum.

    Parameters
    ----------
    fit : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit`.
    variable : str
        The raw variable along the x axis.
    by : str, optional
        A second variable: one curve per level of a categorical one, per
        value of a 0/1 one, and at the lower quartile, median and upper
        quartile of a numeric one.
    at : mapping of str to value, optional
        Values of other variables (or of a grouping column, for risks)
        instead of the typical patient's.
    scale : {"risk", "odds_ratio"}, default "risk"
        ``"risk"``: the absolute risk on the population scale (case-control
        corrected, as :func:`~bayes_ubpr.risk_draws` gives it).
        ``"odds_ratio"``: the odds ratio against ``reference`` within each
        ``by`` stratum, exact per draw, ``exp(beta . (x - x_reference))``.
    grid : sequence, optional
        Values of ``variable``; default ``n_points`` from the 5th to the
        95th percentile of the fitted data for a numeric variable (from the
        fit's stored summary), 0 and 1 for a 0/1 one, every level of a
        categorical one.
    n_points : int, default 50
        Points of the default grid of a numeric variable.
    reference : optional
        ``scale="odds_ratio"`` only: the value the odds ratios are against;
        default the variable's median (numeric), 0 (0/1) or reference level
        (categorical).
    prob : float, default 0.95
        Mass of the equal-tailed credible band.
    new_groups : {"average", "sample", "typical"}, default "average"
        Multilevel fits, ``scale="risk"``: how a patient of no known group
        enters (see :func:`~bayes_ubpr.risk_draws`).
    seed : None, int or numpy.random.Generator
        For ``new_groups="sample"``.

    Returns
    -------
    pandas.DataFrame
        One row per value of ``variable`` (and of ``by``): a column named
        as the variable, one named as ``by`` (if given), ``estimate`` (the
        posterior median), ``lower``, ``upper`` and ``scale``. ``attrs``
        holds ``variable``, ``by``, their ``label`` and ``by_label``,
        ``scale``, ``reference``, ``prob``, ``new_groups``, the fit's
        ``design`` and the typical ``patient``; :func:`plot_conditional_effects`
        draws it.

    Raises
    ------
    ValueError
        For a variable the model does not have (with "did you mean"), a
        level it was not fitted on (naming its levels), ``by`` equal to
        ``variable``, an empty grid, or ``reference`` with ``scale="risk"``.
    TypeError
        For a numeric variable given text, or a list in ``at``.

    Warns
    -----
    StatisticalWarning
        For a numeric value (in ``grid``, ``at`` or ``reference``) outside
        the range of the fitted data.

    See Also
    --------
    contrast : the odds ratio and risk difference between two chosen values.
    plot_conditional_effects : the figure of this table.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, conditional_effects
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5),
    ...             "ubpr ~ fascia_injury * depression + rcs(cement_volume_ml, 3) + bmd_tscore_abs", chains=2, seed=1)
    >>> curve = conditional_effects(idata, "cement_volume_ml", by="fascia_injury", n_points=5)
    >>> curve.shape, list(curve.columns)
    ((10, 6), ['cement_volume_ml', 'fascia_injury', 'estimate', 'lower', 'upper', 'scale'])
    >>> risk = curve.pivot(index="cement_volume_ml", columns="fascia_injury", values="estimate")
    >>> bool((risk[1.0] > risk[0.0]).all())  # injury raises the risk at every volume
    True
    """
    view = Fitted.of(fit)
    prob = check_probability(prob, name="prob")
    check_choice(scale, EFFECT_SCALES, name="scale")
    check_choice(new_groups, NEW_GROUPS, name="new_groups")
    n_points = check_positive_int(n_points, name="n_points", minimum=2)
    variables = variables_of(view)
    along = check_variable(variable, variables, argument="variable")
    stratified = None if by is None else check_variable(by, variables, argument="by")
    if by == variable:
        raise ValueError(f'by: "{by}" is the variable along the x axis; choose a second variable, or by=None')
    if grid is None:
        values = list(along.grid(n_points))
    else:
        if isinstance(grid, (str, bytes)) or not isinstance(grid, Sequence | np.ndarray | pd.Series | pd.Index):
            raise TypeError(f"grid must be a sequence of values of {variable}; got {describe_value(grid)}")
        if len(grid) == 0:
            raise ValueError("grid is empty: give at least one value, or grid=None for the default")
        values = []
        for v in grid:  # a loop, not a comprehension: its frame would shift the warning's stacklevel
            values.append(along.check(v, argument="grid", stacklevel=3))
    strata = [None] if stratified is None else list(stratified.strata())
    _, (fixed,) = check_at(at, variables, view, taken=[variable, *([by] if by else [])], lists=False)
    rows = [{**fixed, variable: x, **({by: s} if by else {})} for s in strata for x in values]
    frame = patients(view, rows)
    if scale == "odds_ratio":
        ref = along.reference() if reference is None else along.check(reference, argument="reference", stacklevel=3)
        base = patients(view, [{**row, variable: ref} for row in rows])
        draws = log_odds_ratio_draws(view, base, frame)
    else:
        if reference is not None:
            raise ValueError('reference applies to scale="odds_ratio" only; risks are absolute')
        ref = None
        draws = risk_draws(view.idata, frame, new_groups=new_groups, seed=seed).to_numpy().reshape(-1, len(rows))
    median, lower, upper = equal_tailed(draws, prob)
    if scale == "odds_ratio":  # quantiles of the log odds ratio, as every odds-ratio table of the library takes them
        median, lower, upper = np.exp(median), np.exp(lower), np.exp(upper)
    table = pd.DataFrame({variable: [row[variable] for row in rows]})
    if by:
        table[by] = [row[by] for row in rows]
    table["estimate"], table["lower"], table["upper"], table["scale"] = median, lower, upper, scale
    table.attrs.update(
        {
            "variable": variable,
            "by": by,
            "label": along.label,
            "by_label": None if stratified is None else stratified.label,
            "scale": scale,
            "reference": ref,
            "prob": prob,
            "new_groups": new_groups,
            "design": view.spec.design,
            "patient": {**view.terms.typical_values(), **fixed},
        }
    )
    return table
