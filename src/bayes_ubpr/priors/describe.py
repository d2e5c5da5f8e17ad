""":func:`describe_priors`: the priors of a model as a table and in words, per unit and per reference SD."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

import pandas as pd

from bayes_ubpr.data import FactorLike
from bayes_ubpr.factors import Factor
from bayes_ubpr.priors.families import INTERCEPT, Prior
from bayes_ubpr.priors.presets import PriorsLike, resolve_priors
from bayes_ubpr.priors.spec import PriorSpec

__all__ = ["describe_prior_spec", "describe_priors", "prior_words"]


def describe_priors(factors: Sequence[FactorLike], priors: PriorsLike = None) -> pd.DataFrame:
    """Table of the priors a model on ``factors`` will use, per unit and per reference SD of each factor.

    Parameters
    ----------
    factors : sequence of str or Factor
        Factors in the model (with known kinds and scales, see :func:`resolve_priors`).
    priors : str, mapping, Horseshoe, DomainShrinkage or None
        As for :func:`resolve_priors`.

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``parameter``, ``family``, ``mu``, ``sigma``,
        ``nu`` (per unit of the factor), ``source``, ``unit``,
        ``reference_sd``, the central 95% prior interval of the odds ratio
        per unit, ``or_lower`` and ``or_upper``, and ``statement``, the same
        in words per unit and per reference SD (normal priors; NaN and an
        empty statement otherwise). Per-SD and per-unit scales read alike but
        are not: for cement volume (SD 0.46 mL) the default's 95% range per
        mL is far wider than per SD. For a shrinkage structure the factor
        rows name it in ``family`` and leave the numbers NaN: use
        :func:`bayes_ubpr.prior_predictive` to see the odds ratios it implies.
        ``.attrs["preset"]`` names the preset.

    Examples
    --------
    >>> from bayes_ubpr.priors import describe_priors
    >>> describe_priors(["fascia_injury"])[["parameter", "sigma"]]
           parameter  sigma
    0      intercept    2.5
    1  fascia_injury    1.0
    >>> print(describe_priors(["bmd_tscore_abs"], "sceptical")["statement"].iloc[1])
    95% prior mass on OR 0.0123 to 81 per 1 T-score unit (OR 0.333 to 3 per SD of 0.25)
    """
    if hasattr(factors, "prior_spec"):  # a ModelSpec: its terms and groups change the priors
        raise TypeError(
            "describe_priors takes factors and priors; describe a ModelSpec (or a fit) with "
            "bayes_ubpr.describe_model_priors(spec), which applies its terms' prior scales"
        )
    user_keys = set(priors) if isinstance(priors, Mapping) else set()
    return describe_prior_spec(resolve_priors(factors, priors), given=user_keys)


def describe_prior_spec(spec: PriorSpec, *, given: Collection[str] = ()) -> pd.DataFrame:
    """Table of resolved priors (a :class:`PriorSpec`), as :func:`describe_priors` gives it.

    Parameters
    ----------
    spec : PriorSpec
        Resolved priors, e.g. :meth:`ModelSpec.prior_spec <bayes_ubpr.ModelSpec.prior_spec>`,
        whose scales already reflect a formula's terms.
    given : collection of str, default ()
        Parameters whose prior the user gave by name (``source`` "user").

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`describe_priors`.

    Examples
    --------
    >>> from bayes_ubpr.priors import describe_prior_spec, resolve_priors
    >>> describe_prior_spec(resolve_priors(["depression"], "sceptical"))["sigma"].round(3).tolist()
    [2.5, 0.561]
    """
    source = spec.name if spec.name != "custom" else "default"
    rows = [_prior_row(INTERCEPT, spec.intercept, "user" if INTERCEPT in given else source)]
    for factor in spec.factors:
        if spec.structure is None:
            row = _prior_row(factor.name, spec.coefficients[factor.name], "user" if factor.name in given else source)
            row.update(_per_sd_statement(spec.coefficients[factor.name], factor))
            rows.append(row)
        else:
            rows.append({"parameter": factor.name, "family": spec.kind, "source": spec.name, "unit": factor.unit})
    columns = ["parameter", "family", "mu", "sigma", "nu", "source", "unit", "reference_sd"]
    table = pd.DataFrame(rows, columns=[*columns, "or_lower", "or_upper", "statement"])
    table["statement"] = table["statement"].astype(object).where(table["statement"].notna(), "")
    table.attrs["preset"] = spec.name
    return table


def prior_words(prior: Prior) -> str:
    """Return a prior as it is written in words, e.g. ``Normal(0, 1)`` or ``Student-t(3, 0, 2.5)``.

    Examples
    --------
    >>> from bayes_ubpr.priors import Prior, prior_words
    >>> prior_words(Prior(sigma=0.5)), prior_words(Prior("student_t", sigma=2.5, nu=3))
    ('Normal(0, 0.5)', 'Student-t(3, 0, 2.5)')
    """
    name = {"normal": "Normal", "student_t": "Student-t", "laplace": "Laplace"}[prior.family]
    numbers = [prior.mu, prior.sigma] if prior.nu is None else [prior.nu, prior.mu, prior.sigma]
    return f"{name}({', '.join(f'{v:.3g}' for v in numbers)})"


def _per_sd_statement(prior: Prior, factor: Factor) -> dict[str, object]:
    """Return the unit, reference SD and the prior's 95% OR range in words, per unit and per SD."""
    row: dict[str, object] = {"unit": factor.unit, "reference_sd": factor.scale, "statement": ""}
    if prior.family == "normal":
        per_sd = replace(prior, mu=prior.mu * float(factor.scale), sigma=prior.sigma * float(factor.scale))  # type: ignore[arg-type]
        low, high = _or_range(prior)
        low_sd, high_sd = _or_range(per_sd)
        per = factor.unit if str(factor.unit).startswith("vs ") else f"per {factor.unit}"  # a level: "vs lumbar"
        row["statement"] = (
            f"95% prior mass on OR {low:.3g} to {high:.3g} {per} "
            f"(OR {low_sd:.3g} to {high_sd:.3g} per SD of {factor.scale:.3g})"
        )
    return row


def _or_range(prior: Prior) -> tuple[float, float]:
    half_width = 1.959963984540054 * prior.sigma
    return _exp(prior.mu - half_width), _exp(prior.mu + half_width)


def _prior_row(name: str, prior: Prior, source: str) -> dict[str, object]:
    low, high = _or_range(prior) if prior.family == "normal" else (math.nan, math.nan)
    return {
        "parameter": name,
        "family": prior.family,
        "mu": prior.mu,
        "sigma": prior.sigma,
        "nu": prior.nu,
        "source": source,
        "or_lower": low,
        "or_upper": high,
    }


def _exp(x: float) -> float:
    """Exp that saturates at 0 and inf instead of overflowing, for very wide priors."""
    return math.exp(x) if x < 709.0 else math.inf
