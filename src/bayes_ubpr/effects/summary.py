"""How much each term matters, as a whole: an ``anova``-like table of a fit's terms."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd
from scipy import stats

from bayes_ubpr._rng import SeedLike, spawn_seeds
from bayes_ubpr._validate import check_probability, require_dataframe
from bayes_ubpr.effects._variables import equal_tailed
from bayes_ubpr.model import SAMPLERS, Fitted, ModelSpec, Sampling
from bayes_ubpr.model import fit as fit_model
from bayes_ubpr.selection import compare_models
from bayes_ubpr.terms import Interaction, Numeric, Spline, Terms

__all__ = ["term_summary"]


@dataclass(frozen=True)
class _Part:
    """A block of a fit's coefficients: a whole term, or a spline's nonlinear columns."""

    term: str
    part: str
    columns: tuple[str, ...]


def _parts(view: Fitted) -> list[_Part]:
    out = []
    for term in view.terms.terms:
        out.append(_Part(term.name, "all", term.columns))
        if isinstance(term, Spline):
            out.append(_Part(term.name, "nonlinear", term.columns[1:]))
    return out


def _block_measures(view: Fitted, part: _Part, prob: float) -> dict[str, float]:
    """Return the Wald-type distance of a block's coefficients from 0 and the spread of its log-odds contribution."""
    names = list(view.spec.factor_names)
    idx = [names.index(c) for c in part.columns]
    draws = view.log_odds_ratio_draws[:, idx]
    mean = draws.mean(axis=0)
    covariance = np.atleast_2d(np.cov(draws, rowvar=False))
    chi2 = float(mean @ np.linalg.pinv(covariance, hermitian=True) @ mean)
    # SD over the fitted patients of x_i . b per draw: sqrt(b' C b), C the design block's covariance (ddof 0).
    design = np.atleast_2d(np.cov(view.x[:, idx], rowvar=False, ddof=0))
    sd = np.sqrt(np.maximum(np.einsum("si,ij,sj->s", draws, design, draws), 0.0))
    median, lower, upper = equal_tailed(sd[:, None], prob)
    return {
        "n_columns": len(idx),
        "chi2": chi2,
        "p_chi2": float(stats.chi2.sf(chi2, len(idx))),
        "sd_median": float(median[0]),
        "sd_lower": float(lower[0]),
        "sd_upper": float(upper[0]),
    }


def _filtered(spec: ModelSpec, columns: tuple[str, ...]) -> dict[str, object]:
    """Return the spec's settings that name design columns, kept to ``columns``."""
    priors = spec.priors
    if isinstance(priors, Mapping):
        priors = {k: v for k, v in priors.items() if k not in spec.factor_names or k in columns}
    return {"priors": priors, "varying_slopes": tuple(s for s in spec.varying_slopes if s in columns)}


def _without(view: Fitted, part: _Part) -> tuple[ModelSpec | None, str]:
    """Return the model without a term (and the interactions that need it), or with a spline made linear.

    Returns the reduced spec (``None`` if nothing would be left) and the
    interactions dropped with the term, in words.
    """
    spec, terms = view.spec, view.terms
    if part.part == "nonlinear":

        def linear(term: object) -> object:
            return Numeric(part.term) if isinstance(term, Spline) and term.column == part.term else term

        made = [
            Interaction(tuple(linear(p) for p in t.parts)) if isinstance(t, Interaction) else linear(t)  # type: ignore[arg-type]
            for t in terms.terms
        ]
        reduced = Terms(tuple(made), None, terms.summary)  # type: ignore[arg-type]
        return spec.replace(terms=reduced, factors=(), **_filtered(spec, reduced.columns)), ""
    needing = [t.name for t in terms.terms if isinstance(t, Interaction) and part.term in (p.name for p in t.parts)]
    dropped = {part.term, *needing}
    kept = [name for name in terms.names if name not in dropped]
    if not kept:
        return None, ", ".join(needing)
    if spec.terms is None:  # a fit made with factors=: one factor per term
        factors = tuple(f for f in spec.factors if f.name in kept)
        return spec.replace(factors=factors, **_filtered(spec, tuple(kept))), ""
    reduced = terms.subset(kept)
    return spec.replace(terms=reduced, factors=(), **_filtered(spec, reduced.columns)), ", ".join(needing)


def _check_data(view: Fitted, data: object) -> pd.DataFrame | list[pd.DataFrame]:
    """Return ``data`` if it is the fit's data (or completed data sets of it, for a fit of imputed data)."""
    if isinstance(data, (list, tuple)) and data:
        return [_check_one(view, frame, f"data[{k}]") for k, frame in enumerate(data)]
    if "x_imputed" in view.idata.constant_data:
        raise ValueError(
            "this fit pooled completed data sets: pass them as data (for a fit made with missing='impute', "
            "bayes_ubpr.model.completed_data(fit, data) makes them again)"
        )
    return _check_one(view, data, "data")


def _check_one(view: Fitted, data: object, name: str) -> pd.DataFrame:
    frame = require_dataframe(data, name=name)
    outcome = view.outcome
    if outcome not in frame.columns:
        raise ValueError(f'{name} has no outcome column "{outcome}": pass the data the fit was made from')
    y = view.y
    if len(frame) != len(y) or not np.array_equal(pd.to_numeric(frame[outcome]).to_numpy(), y):
        raise ValueError(
            f"{name} must be the data the fit was made from: the fit has {len(y)} patients ({int(y.sum())} with "
            f"{outcome} = 1), {name} has {len(frame)} rows with other outcomes"
        )
    return frame


def _default_sampling(view: Fitted) -> Sampling:
    """Return the fit's own draws and chains, as many tuning steps as draws, and its sampler."""
    posterior = view.idata.posterior
    draws = int(posterior.sizes["draw"])
    sampler = view.idata.attrs.get("sampler")
    return Sampling(
        draws=draws, tune=draws, chains=int(posterior.sizes["chain"]), sampler=sampler if sampler in SAMPLERS else None
    )


def term_summary(
    fit: az.InferenceData,
    data: pd.DataFrame | list[pd.DataFrame] | None = None,
    *,
    prob: float = 0.95,
    loo: bool = True,
    sampling: Sampling | None = None,
    seed: SeedLike = None,
) -> pd.DataFrame:
    """How much each term of a fit matters, as a whole: a Bayesian reading of ``rms::anova``.

    One row per term (a categorical factor, a spline or an interaction is
    one term however many columns it has) and, for a spline, a second row
    for its nonlinear part alone. Two posterior measures, from the fit:

    * ``chi2``: the squared Mahalanobis distance of the term's coefficients
      from 0, ``b' S^-1 b`` with ``b`` their posterior mean and ``S`` their
      posterior covariance, and ``p_chi2`` its chi-square tail probability
      on ``n_columns`` degrees of freedom: the Wald statistic of
      ``rms::anova``, computed from the posterior (it approaches the
      frequentist one when the prior is weak);
    * ``sd_median`` (``sd_lower``, ``sd_upper``): the posterior median (and
      interval) of the SD, across the fitted patients, of the term's
      contribution ``x_i . b`` to the log odds: how far the term moves
      patients' log odds apart (0.5 means the term alone spreads patients'
      odds by a factor of about 1.6 per SD).

    Given the fitted ``data`` (the fit stores only the design columns, not
    the raw ones), the model is refitted without each term, and
    ``elpd_drop`` is the PSIS-LOO expected log predictive density lost
    (:func:`~bayes_ubpr.compare_models`), with ``elpd_drop_se`` its standard
    error from the pointwise differences. Dropping a main effect that an
    interaction needs drops the interaction too (``dropped_with``); a
    spline's nonlinear row compares with the model where the spline is a
    straight line.

    Parameters
    ----------
    fit : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit`.
    data : pandas.DataFrame or list of pandas.DataFrame, optional
        The data ``fit`` was made from (same rows, same order); for a fit of
        multiply imputed data its completed data sets
        (:func:`bayes_ubpr.model.completed_data`), each reduced model then
        pooled over them. Without it, no LOO columns.
    prob : float, default 0.95
        Mass of the equal-tailed interval of the SD.
    loo : bool, default True
        Refit without each term and compare by PSIS-LOO (needs ``data``;
        one refit per row of the table).
    sampling : Sampling, optional
        How the refits are sampled; default the fit's own chains and draws
        (with as many tuning steps), by its sampler.
    seed : None, int or numpy.random.Generator
        Seeds of the refits, spawned up front (one per row); the root's
        entropy is recorded in ``attrs["seed_entropy"]``.

    Returns
    -------
    pandas.DataFrame
        ``term``, ``part`` (``"all"``, or ``"nonlinear"`` for a spline's
        nonlinear part), ``n_columns``, ``chi2``, ``p_chi2``, ``sd_median``,
        ``sd_lower``, ``sd_upper`` and, with ``data`` and ``loo``,
        ``elpd_drop``, ``elpd_drop_se`` and ``dropped_with`` (NaN for the
        only term of a model, which cannot be dropped). Model order.

    Raises
    ------
    ValueError
        If ``data`` is not the data the fit was made from (number of rows,
        outcomes).
    TypeError
        If ``data`` is not a DataFrame or ``sampling`` not a Sampling.

    See Also
    --------
    term_odds_ratios : the odds ratios of each term.
    bayes_ubpr.compare_models : PSIS-LOO comparison of fits.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, term_summary
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5),
    ...             "ubpr ~ fascia_injury * depression + rcs(cement_volume_ml, 3) + bmd_tscore_abs", chains=2, seed=1)
    >>> table = term_summary(idata)
    >>> table[["term", "part", "n_columns"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['fascia_injury', 'all', 1], ['depression', 'all', 1], ['fascia_injury:depression', 'all', 1],
     ['cement_volume_ml', 'all', 2], ['cement_volume_ml', 'nonlinear', 1], ['bmd_tscore_abs', 'all', 1]]
    >>> bool(table.set_index("term").loc["fascia_injury", "p_chi2"] < 0.01)  # true OR 3.8
    True
    """
    view = Fitted.of(fit)
    prob = check_probability(prob, name="prob")
    if sampling is not None and not isinstance(sampling, Sampling):
        raise TypeError(f"sampling must be a bayes_ubpr.Sampling; got {type(sampling).__name__}")
    parts = _parts(view)
    table = pd.DataFrame([{"term": p.term, "part": p.part, **_block_measures(view, p, prob)} for p in parts])
    table.attrs["prob"] = prob
    if data is None or not loo:
        return table
    frame = _check_data(view, data)
    sampling = _default_sampling(view) if sampling is None else sampling
    seeds = spawn_seeds(seed, len(parts))
    drop, drop_se, dropped_with = [], [], []
    for part, child in zip(parts, seeds, strict=True):
        reduced, needing = _without(view, part)
        dropped_with.append(needing)
        if reduced is None:
            drop.append(np.nan)
            drop_se.append(np.nan)
            continue
        refit = fit_model(frame, reduced, sampling=sampling, seed=child, check=False)
        compared = compare_models({"with": view.idata, "without": refit}).set_index("model")
        drop.append(float(compared.loc["with", "elpd_loo"] - compared.loc["without", "elpd_loo"]))
        drop_se.append(float(compared["diff_se"].max()))
    table["elpd_drop"], table["elpd_drop_se"], table["dropped_with"] = drop, drop_se, dropped_with
    table.attrs.update({"sampling": sampling.to_attrs(), "seed_entropy": seeds[0].entropy if seeds else None})
    return table
