"""Sensitivity to the draw of controls: refits of one cohort over many random control sets and ratios."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd

from bayes_ubpr._rng import SeedLike, as_generator
from bayes_ubpr._steps import report_step
from bayes_ubpr._validate import check_positive_int, check_probability, require_dataframe
from bayes_ubpr.data import FactorLike
from bayes_ubpr.model import ModelSpec, Sampling, fit
from bayes_ubpr.priors import PriorsLike
from bayes_ubpr.sensitivity._common import model_spec, sampling_attrs, sampling_of
from bayes_ubpr.simulate import case_control_sample

__all__ = ["ControlResampling", "control_resampling"]


@dataclass(frozen=True)
class ControlResampling:
    """Refits of one cohort over random control sets: a summary per ratio and factor, and every fit's row.

    Attributes
    ----------
    summary : pandas.DataFrame
        One row per ratio and factor: ``controls_per_case``, ``factor``,
        ``n_draws``, ``median_log_or`` (mean over draws), ``posterior_sd``
        (root mean posterior variance), ``between_draw_sd`` (SD of the
        posterior medians), ``share_from_controls`` (between-draw variance
        over the total), ``mean_width`` (mean interval width on the log OR
        scale) and ``width_vs_1to1`` (relative to 1:1); with ``truth``,
        ``truth``, ``bias`` and ``coverage``. Its ``.attrs`` hold the
        settings.
    per_draw : pandas.DataFrame
        One row per ratio, control set and factor: ``controls_per_case``,
        ``draw``, ``factor``, ``median_log_or``, ``posterior_var``,
        ``lower`` and ``upper`` (the interval on the log OR scale).
    prob : float
        Credible interval mass.
    seed : int or None
        The root seed, when given as an int.
    sampling : Sampling
        How each control set's fit was sampled.

    Examples
    --------
    >>> from bayes_ubpr import ModelSpec, Sampling, simulate_cohort
    >>> from bayes_ubpr.sensitivity import control_resampling
    >>> cohort = simulate_cohort(n=600, prevalence=0.3, seed=5)
    >>> spec, quick = ModelSpec(design="case_control"), Sampling(chains=2)
    >>> result = control_resampling(cohort, spec, n_draws=2, controls_per_case=[1], sampling=quick, seed=1)
    >>> result.per_draw.groupby("draw")["factor"].size().to_dict()  # 6 factors from each control set
    {0: 6, 1: 6}
    >>> str(result).splitlines()[0]  # printing shows the summary
    'Control resampling: 2 random control sets at 1:1 (95% intervals; SDs on the log OR scale)'
    """

    summary: pd.DataFrame
    per_draw: pd.DataFrame
    prob: float
    seed: int | None
    sampling: Sampling

    def __str__(self) -> str:
        ratios = ", ".join(f"1:{k}" for k in self.summary["controls_per_case"].unique())
        n_draws = self.per_draw.groupby("controls_per_case")["draw"].nunique().max()
        title = (
            f"Control resampling: {n_draws} random control sets at {ratios} "
            f"({self.prob:.0%} intervals; SDs on the log OR scale)"
        )
        return f"{title}\n{self.summary.to_string(index=False, float_format=lambda v: f'{v:.3g}')}"


def control_resampling(
    cohort: pd.DataFrame,
    spec: ModelSpec | None = None,
    *,
    n_draws: int = 20,
    controls_per_case: Sequence[int] = (1, 2, 4),
    truth: Mapping[str, float] | None = None,
    prob: float = 0.95,
    sampling: Sampling | None = None,
    seed: SeedLike = None,
    factors: Sequence[FactorLike] | None = None,
    priors: PriorsLike = None,
    **fit_options: object,
) -> ControlResampling:
    """Refit one cohort over many random control sets and several control ratios.

    The paper drew one set of 60 controls out of 1,256. For each ratio k in
    ``controls_per_case`` and each of ``n_draws`` random control sets (all
    cases kept, as the paper did), this fits the case-control model and
    splits the uncertainty of each log OR by the law of total variance:
    the mean posterior variance (what one analysis reports) and the variance
    of the posterior median between control sets (which controls were
    drawn).

    Parameters
    ----------
    cohort : pandas.DataFrame
        A whole cohort (e.g. from :func:`bayes_ubpr.simulate_cohort`) with
        the outcome and the factor columns, or the raw columns a formula's
        terms read.
    spec : ModelSpec
        The model (its design is set to ``"case_control"``), e.g. a
        formula's: its terms' levels and knots are read off the whole cohort
        once, so that every control set's fit has the same design columns
        (a spline's knots read off each control set would make its
        coefficients different quantities). Omitting it is deprecated: the
        model is then ``ModelSpec(design="case_control")``, with a
        ``DeprecationWarning``.
    n_draws : int, default 20
        Random control sets per ratio.
    controls_per_case : sequence of int, default (1, 2, 4)
        Control ratios.
    truth : mapping, optional
        True log odds ratios per factor, or per design column of a formula
        (a simulated cohort's, e.g. ``true_model().log_odds_ratios``),
        adding ``bias`` and ``coverage``; every factor must have one.
        The cases are this one cohort's, so both include the cohort's own
        sampling error: more controls concentrate the posterior on the
        cohort's values, not on the truth.
    prob : float, default 0.95
        Credible interval mass.
    sampling : Sampling, optional
        How each control set's fit is sampled; default ``DEFAULT_SAMPLING``,
        4 chains x (1,000 + 1,000).
    seed : None, int or numpy.random.Generator
        Root seed; control set d of ratio k uses its own spawned child.
    factors, priors
        Deprecated: the spec's fields, as :func:`bayes_ubpr.fit` takes them;
        pass ``spec`` instead.
    **fit_options
        Deprecated: ``draws``, ``tune``, ``chains``, ``sampler``; pass
        ``sampling`` instead.

    Returns
    -------
    ControlResampling
        ``summary``: one row per ratio and factor, the posterior SD and the
        SD between control sets of its log OR, the share of the variance
        from the draw of controls and the interval width relative to 1:1
        (with ``truth``, bias and coverage); ``per_draw``: one row per fit
        and factor; and the settings.

    Examples
    --------
    >>> from bayes_ubpr import ModelSpec, Sampling, simulate_cohort
    >>> from bayes_ubpr.sensitivity import control_resampling
    >>> cohort = simulate_cohort(n=600, prevalence=0.3, seed=5)
    >>> spec, quick = ModelSpec(design="case_control"), Sampling(chains=2)
    >>> result = control_resampling(cohort, spec, n_draws=2, controls_per_case=[1, 2], sampling=quick, seed=1)
    >>> result.summary.shape, result.per_draw.shape  # 2 ratios x 6 factors, each from 2 control sets
    ((12, 9), (24, 7))
    >>> summary = result.summary
    >>> bool((summary.loc[summary["controls_per_case"] == 2, "width_vs_1to1"] < 1).all())  # more controls, narrower
    True
    """
    require_dataframe(cohort, name="cohort")
    n_draws = check_positive_int(n_draws, name="n_draws", minimum=2)
    ratios = [check_positive_int(k, name="controls_per_case") for k in controls_per_case]
    if not ratios:
        raise ValueError("controls_per_case must hold at least one ratio")
    prob = check_probability(prob, name="prob")
    sampling = sampling_of(sampling, fit_options, caller="control_resampling")
    model = model_spec(spec, caller="control_resampling", factors=factors, priors=priors)
    model = model.replace(design="case_control") if model.design != "case_control" else model
    # a formula's levels and knots are read off the whole cohort once, so that every control set's fit
    # estimates the same coefficients (a spline's columns at other knots would be other columns)
    model = model.with_terms_of(cohort)
    children = as_generator(seed).spawn(len(ratios) * n_draws)
    rows = []
    for i, k in enumerate(ratios):
        for d in range(n_draws):
            rng = children[i * n_draws + d]
            report_step(f"control set {d + 1} of {n_draws} at 1:{k} (fit {i * n_draws + d + 1} of {len(children)})")
            sample = case_control_sample(cohort, k, seed=rng, outcome=model.outcome)
            idata = fit(sample, model, sampling=sampling, seed=rng, check=False)
            rows.extend(_draw_rows(idata, k, d, prob))
    per_draw = pd.DataFrame(rows)
    summary = _summarise_resampling(per_draw, truth)
    int_seed = seed if isinstance(seed, int) else None
    summary.attrs.update({"prob": prob, "seed": int_seed, **sampling_attrs(sampling)})
    return ControlResampling(summary=summary, per_draw=per_draw, prob=prob, seed=int_seed, sampling=sampling)


def _draw_rows(idata: az.InferenceData, ratio: int, draw: int, prob: float) -> list[dict[str, object]]:
    beta = idata.posterior["beta"].stack(sample=("chain", "draw")).transpose("factor", "sample")
    low, high = np.quantile(beta.to_numpy(), [(1 - prob) / 2, (1 + prob) / 2], axis=1)
    return [
        {
            "controls_per_case": ratio,
            "draw": draw,
            "factor": str(factor),
            "median_log_or": float(np.median(values)),
            "posterior_var": float(np.var(values, ddof=1)),
            "lower": float(low[j]),
            "upper": float(high[j]),
        }
        for j, (factor, values) in enumerate(zip(beta["factor"].values, beta.to_numpy(), strict=True))
    ]


def _summarise_resampling(per_draw: pd.DataFrame, truth: Mapping[str, float] | None) -> pd.DataFrame:
    rows = []
    for (ratio, factor), group in per_draw.groupby(["controls_per_case", "factor"], sort=False):
        within = group["posterior_var"].mean()
        between = group["median_log_or"].var(ddof=1)
        row = {
            "controls_per_case": ratio,
            "factor": factor,
            "n_draws": len(group),
            "median_log_or": group["median_log_or"].mean(),
            "posterior_sd": math.sqrt(within),
            "between_draw_sd": math.sqrt(between),
            "share_from_controls": between / (within + between),
            "mean_width": (group["upper"] - group["lower"]).mean(),
        }
        if truth is not None:
            true_value = float(truth[factor])
            row["truth"] = true_value
            row["bias"] = group["median_log_or"].mean() - true_value
            row["coverage"] = ((group["lower"] <= true_value) & (true_value <= group["upper"])).mean()
        rows.append(row)
    summary = pd.DataFrame(rows)
    first = summary.groupby("factor", sort=False)["mean_width"].transform("first")
    summary.insert(summary.columns.get_loc("mean_width") + 1, "width_vs_1to1", summary["mean_width"] / first)
    return summary
