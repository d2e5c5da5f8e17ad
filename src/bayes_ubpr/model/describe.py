"""The priors of a whole model in words, term by term: :func:`describe_model_priors`.

:func:`bayes_ubpr.describe_priors` states the prior of each factor of a list.
A model made from a formula has more to say: a categorical factor's levels
share one prior, a spline's nonlinear columns and an interaction's columns
get a narrower one (:data:`~bayes_ubpr.terms.ROLE_PRIOR_SCALE`), and group
intercepts have a prior on their SD. This module reads all of it off the
resolved :class:`~bayes_ubpr.ModelSpec`, so that the table says what the fit
used and nothing is decoded twice.
"""

from __future__ import annotations

from collections.abc import Mapping

import arviz as az
import pandas as pd
from scipy import stats

from bayes_ubpr.model._build import GROUP_SD_PRIOR_SCALE, SLOPE_SD_PRIOR_SCALE, prepare_inputs
from bayes_ubpr.model.fitted import Fitted
from bayes_ubpr.model.spec import ModelSpec
from bayes_ubpr.paper import OUTCOME, RISK_FACTORS
from bayes_ubpr.priors import Prior, PriorSpec, describe_prior_spec, prior_words
from bayes_ubpr.terms import ROLE_PRIOR_SCALE, Categorical, Numeric, Spline, Terms

__all__ = ["PRIOR_TABLE_COLUMNS", "describe_model_priors"]

PRIOR_TABLE_COLUMNS = [
    "parameter",
    "term",
    "role",
    "family",
    "mu",
    "sigma",
    "nu",
    "source",
    "unit",
    "reference_sd",
    "or_lower",
    "or_upper",
    "statement",
    "note",
]
"""Columns of :func:`describe_model_priors`: those of :func:`~bayes_ubpr.describe_priors`, plus the term
and role of each row and a ``note`` saying in words what the prior does."""

_SCALE_WORDS = {0.5: "half", 0.25: "a quarter of", 1.0: "the same as"}


def describe_model_priors(model: object, *, data: pd.DataFrame | None = None) -> pd.DataFrame:
    """Table of a model's priors, one row per parameter, with what each does in words.

    Parameters
    ----------
    model : ModelSpec or arviz.InferenceData
        A resolved spec (one whose factors' kinds and scales are known), a
        spec to resolve on ``data``, or a fit (its stored spec).
    data : pandas.DataFrame, optional
        Raw data to resolve an unresolved spec on (levels, knots, scales), as
        :func:`~bayes_ubpr.fit` would.

    Returns
    -------
    pandas.DataFrame
        :data:`PRIOR_TABLE_COLUMNS`: the intercept, then one row per design
        column (``term`` the formula term it belongs to, ``role`` one of
        :data:`~bayes_ubpr.terms.ROLES`), then one row per grouping's SD
        (``role`` "group") and per varying slope's SD (``role`` "slope").
        ``mu``, ``sigma``, the odds-ratio range and ``statement`` are per
        unit of the column as the fit used them (for a formula: a spline's
        nonlinear part and an interaction at their narrower scale).
        ``note`` says it in words, e.g. "levels of fracture_level share one
        prior: Normal(0, 1) per level vs lumbar".

    Raises
    ------
    TypeError
        If ``model`` is neither a ModelSpec nor a fit.
    ValueError
        For a spec whose factors' kinds and scales are not yet known and no
        ``data`` to resolve it on.
    CohortValidationError
        If ``data`` break the data contract (as in :func:`~bayes_ubpr.fit`).

    See Also
    --------
    bayes_ubpr.describe_priors : The same per factor of a list.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_ubpr import ModelSpec
    >>> from bayes_ubpr.model import describe_model_priors
    >>> data = pd.DataFrame({"pain": [0, 1, 0, 1, 1, 0] * 5, "level": ["T", "L", "TL"] * 10,
    ...                      "age": range(60, 90), "hospital": ["A", "B"] * 15})
    >>> table = describe_model_priors(ModelSpec.from_formula("pain ~ C(level) + age + (1 | hospital)"), data=data)
    >>> print(table["note"].iloc[1])
    levels of level share one prior: Normal(0, 1) per level vs L
    >>> print(table["note"].iloc[-1])
    HalfNormal(1) on the SD of hospital intercepts (log odds)
    """
    spec = _resolved(model, data)
    priors = spec.prior_spec()
    given = set(spec.priors) if isinstance(spec.priors, Mapping) else set()
    table = describe_prior_spec(priors, given=given)
    terms = spec.terms if spec.terms is not None else Terms(tuple(Numeric(f) for f in spec.factor_names))
    column_terms, roles = terms.column_terms(), terms.column_roles()
    table.insert(1, "term", ["intercept", *(column_terms[c] for c in spec.factor_names)])
    table.insert(2, "role", ["intercept", *(roles[c] for c in spec.factor_names)])
    intercept = f"{prior_words(priors.intercept)} on the log odds of a patient at the sample mean of every column"
    notes = [intercept, *(_note(c, terms, priors, given) + _catalogue_note(c, spec) for c in spec.factor_names)]
    table["note"] = notes
    extra = _group_rows(spec)
    if extra:
        table = pd.concat([table, pd.DataFrame(extra)], ignore_index=True)
    table = table[PRIOR_TABLE_COLUMNS]
    table.attrs["preset"] = priors.name
    return table


def _resolved(model: object, data: pd.DataFrame | None) -> ModelSpec:
    if isinstance(model, ModelSpec):
        spec = model
    elif isinstance(model, (az.InferenceData, Fitted)):
        spec = Fitted.of(model, name="model").spec
    else:
        raise TypeError(f"model must be a bayes_ubpr.ModelSpec or a fit; got {type(model).__name__}")
    if data is not None:
        return prepare_inputs(data, spec).spec
    if not spec.resolved or (spec.terms is not None and not spec.terms.resolved):
        raise ValueError(
            "the spec's factor kinds and scales (and a formula's levels and knots) come from the data: "
            "pass data=... (or a fit)"
        )
    return spec


def _scale_words(role: str) -> str:
    scale = ROLE_PRIOR_SCALE[role]
    return f"{_SCALE_WORDS.get(scale, f'{scale:g} times')} the main-effect scale"


def _note(column: str, terms: Terms, priors: PriorSpec, given: set[str]) -> str:
    """Say in words what the prior on one design column is and why."""
    name = terms.column_terms()[column]
    role = terms.column_roles()[column]
    term = terms[name]
    factor = next(f for f in priors.factors if f.name == column)
    if priors.structure is not None:
        return f"{priors.kind} shrinkage: one joint prior over every column, no fixed scale per column"
    prior = priors.coefficients[column]
    per = f"{prior_words(prior)} per {factor.unit}"
    if column in given:
        return f"{per}, as given"
    if role == "level" and isinstance(term, Categorical):
        level_priors = {_key(priors.coefficients[c]) for c in term.columns}
        if len(level_priors) == 1:
            return f"levels of {term.column} share one prior: {prior_words(prior)} per level vs {term.reference}"
        return f"{per}"
    if role == "nonlinear" and isinstance(term, Spline):
        return (
            f"nonlinear part of the {term.column} spline: {_scale_words(role)}, shrinking the curve toward a "
            f"straight line; {per}"
        )
    if role == "interaction":
        return f"interaction: {_scale_words(role)}; {prior_words(prior)} per unit of {column}"
    if isinstance(term, Spline):
        return f"linear part of the {term.column} spline: {per}"
    return f"main effect: {per}"


def _catalogue_note(column: str, spec: ModelSpec) -> str:
    """Say where the scale of a column named as in the paper's catalogue came from, for another outcome."""
    base = RISK_FACTORS.get(column)
    factor = next((f for f in spec.factors if f.name == column), None)
    if spec.outcome == OUTCOME or base is None or factor is None or factor.kind == "binary":
        return ""
    if factor.scale == base.scale:
        return f" (the paper's Table 4 SD, {base.scale:.3g}, as asked)"
    return (
        f" (a name of the paper's catalogue, but the scale is this data's SD, {factor.scale:.3g}, not the paper's "
        f"{base.scale:.3g}; pass bu.paper.RISK_FACTORS[{column!r}] as the factor to use the paper's)"
    )


def _key(prior: Prior) -> tuple:
    return (prior.family, prior.mu, prior.sigma, prior.nu)


def _group_rows(spec: ModelSpec) -> list[dict[str, object]]:
    """Rows of the half-normal priors on the SDs of group intercepts and of varying slopes."""
    quantile = float(stats.halfnorm.ppf(0.95))
    rows = []
    for grouping in spec.groups:
        parameter = "group_sd" if len(spec.groups) == 1 else f"group_sd[{grouping}]"
        rows.append(
            _half_normal_row(
                parameter,
                grouping,
                "group",
                GROUP_SD_PRIOR_SCALE,
                f"95% prior mass on a between-group SD below {quantile * GROUP_SD_PRIOR_SCALE:.3g} (log odds)",
                f"HalfNormal({GROUP_SD_PRIOR_SCALE:g}) on the SD of {grouping} intercepts (log odds)",
            )
        )
    for slope in spec.varying_slopes:
        rows.append(
            _half_normal_row(
                f"slope_sd[{slope}]",
                slope,
                "slope",
                SLOPE_SD_PRIOR_SCALE,
                f"95% prior mass on a between-group SD below {quantile * SLOPE_SD_PRIOR_SCALE:.3g} per SD of {slope}",
                f"HalfNormal({SLOPE_SD_PRIOR_SCALE:g}) on the SD across {spec.group} of the {slope} slope, "
                f"per SD of {slope}",
            )
        )
    return rows


def _half_normal_row(
    parameter: str, term: str, role: str, scale: float, statement: str, note: str
) -> dict[str, object]:
    return {
        "parameter": parameter,
        "term": term,
        "role": role,
        "family": "halfnormal",
        "mu": 0.0,
        "sigma": scale,
        "source": "default",
        "unit": "log odds",
        "statement": statement,
        "note": note,
    }
