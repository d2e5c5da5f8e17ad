"""Figures of a fit: matplotlib Axes returned, never shown."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from scipy import optimize

from bayes_ubpr._rng import SeedLike, as_generator
from bayes_ubpr.group_effects import group_effects_table
from bayes_ubpr.model import Fitted
from bayes_ubpr.paper import OUTCOME
from bayes_ubpr.posterior import PPCSummary, odds_ratio_table
from bayes_ubpr.selection import SelectionResult
from bayes_ubpr.sensitivity import ControlResampling, TippingPoints, margin_from_one
from bayes_ubpr.studies import CalibrationResult, SBCResult, simultaneous_ecdf_band
from bayes_ubpr.validation import ValidationResult

__all__ = [
    "calibration_plot",
    "control_resampling_plot",
    "coverage_plot",
    "decision_curve_plot",
    "forest_plot",
    "group_effects_plot",
    "ppc_plot",
    "predicted_vs_true_plot",
    "prevalence_sensitivity_plot",
    "prior_sensitivity_plot",
    "risk_distribution_plot",
    "sbc_ecdf_plot",
    "selection_plot",
    "tipping_point_plot",
    "validation_calibration_plot",
]


def _literal(text: object) -> str:
    """Return ``text`` as matplotlib draws it literally: a ``$`` of a user's label never starts mathtext."""
    return str(text).replace("$", r"\$")


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def forest_plot(idata: az.InferenceData, *, prob: float = 0.95, ax: Axes | None = None) -> Axes:
    """Posterior odds ratios with their credible intervals, the paper's 95% CIs beside them.

    Log-scaled odds-ratio axis; a dashed line at OR 1.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit`.
    prob : float, default 0.95
        Credible interval mass.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from bayes_ubpr import simulate_cohort, fit
    >>> from bayes_ubpr.plots import forest_plot
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> ax = forest_plot(idata)
    >>> ax.get_xlabel(), ax.get_xscale(), len(ax.get_yticks())  # one row per factor
    ('odds ratio', 'log', 6)
    >>> plt.close("all")
    """
    table = odds_ratio_table(idata, prob=prob)
    ax = _axes(ax, (7, 0.6 * len(table) + 1.5))
    rows = np.arange(len(table))[::-1]
    ax.errorbar(
        table["or_median"],
        rows + 0.12,
        xerr=[table["or_median"] - table["or_lower"], table["or_upper"] - table["or_median"]],
        fmt="o",
        color="C0",
        label=f"posterior median, {prob:.0%} credible interval",
    )
    has_paper = table["paper_or"].notna().to_numpy()
    if has_paper.any():  # the paper's values only where they describe the same factor and outcome
        ax.errorbar(
            table.loc[has_paper, "paper_or"],
            rows[has_paper] - 0.12,
            xerr=[
                (table["paper_or"] - table["paper_lower"])[has_paper],
                (table["paper_upper"] - table["paper_or"])[has_paper],
            ],
            fmt="s",
            color="C3",
            label="paper (Table 5), 95% CI",
        )
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    labels = [_literal(f"{label}\n(per {unit})") for label, unit in zip(table["label"], table["unit"], strict=True)]
    ax.set_yticks(rows, labels)
    ax.set_xlabel("odds ratio")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 * 6 / max(len(table), 3)), ncol=2, fontsize="small")
    return ax


def group_effects_plot(fit: az.InferenceData, *, prob: float = 0.95, ax: Axes | None = None) -> Axes:
    """Caterpillar plot of the groups: each group's odds ratio against a typical group, grouping by grouping.

    Groups sorted within each grouping, log-scaled odds-ratio axis, a dashed
    line at OR 1 (a typical group, offset 0); the legend gives each
    grouping's median odds ratio (:func:`~bayes_ubpr.group_effects.group_effects_table`).

    Parameters
    ----------
    fit : arviz.InferenceData
        A fit with group intercepts, e.g. of ``"... + (1 | hospital/surgeon)"``.
    prob : float, default 0.95
        Credible interval mass.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If the fit has no group intercepts.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from bayes_ubpr import fit, simulate_cohort
    >>> from bayes_ubpr.plots import group_effects_plot
    >>> cohort = simulate_cohort(n=600, prevalence=0.3, seed=5).assign(hospital=lambda d: d.index % 4)
    >>> ax = group_effects_plot(fit(cohort, group="hospital", chains=2, seed=1))
    >>> ax.get_xscale(), len(ax.get_yticks())  # one row per hospital
    ('log', 4)
    >>> plt.close("all")
    """
    table = group_effects_table(fit, prob=prob)
    if table.empty:
        raise ValueError("the fit has no group intercepts to plot: fit with a grouping, e.g. '... + (1 | hospital)'")
    offsets = table[table["parameter"] == "offset"]
    parts = [part.sort_values("or_median") for _, part in offsets.groupby("grouping", sort=False)]
    ordered = pd.concat(parts, ignore_index=True)
    ax = _axes(ax, (7, 0.22 * len(ordered) + 1.8))
    rows = np.arange(len(ordered))[::-1]
    for k, (grouping, part) in enumerate(ordered.groupby("grouping", sort=False)):
        where = rows[(ordered["grouping"] == grouping).to_numpy()]
        sd = table[(table["grouping"] == grouping) & (table["parameter"] == "sd")].iloc[0]
        ax.errorbar(
            part["or_median"],
            where,
            xerr=[part["or_median"] - part["or_lower"], part["or_upper"] - part["or_median"]],
            fmt="o",
            markersize=4,
            color=f"C{k}",
            label=_literal(f"{grouping}: MOR {sd['or_median']:.2f} ({sd['or_lower']:.2f} to {sd['or_upper']:.2f})"),
        )
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(rows, [_literal(label) for label in ordered["group"]] if len(ordered) <= 60 else [])
    ax.set_xlabel(f"odds ratio against a typical group (posterior median, {prob:.0%} interval)")
    ax.legend(title="median odds ratio", fontsize="small", loc="best")
    return ax


def ppc_plot(summary: PPCSummary, idata: az.InferenceData, *, seed: SeedLike = None, ax: Axes | None = None) -> Axes:
    """Replicated number of cases against the observed number.

    Parameters
    ----------
    summary : PPCSummary
        From :func:`bayes_ubpr.ppc_summary` of ``idata``.
    idata : arviz.InferenceData
        The fit.
    seed : None, int or numpy.random.Generator
        For the replicated outcomes.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from bayes_ubpr import simulate_cohort, fit
    >>> from bayes_ubpr.posterior import ppc_summary
    >>> from bayes_ubpr.plots import ppc_plot
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> ax = ppc_plot(ppc_summary(idata, seed=2), idata, seed=3)
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['replicated data', 'observed (185)']
    >>> plt.close("all")
    """
    ax = _axes(ax, (6, 3.5))
    risk = Fitted.of(idata).risk_draws
    replicated = (as_generator(seed).random(risk.shape) < risk).sum(axis=1)
    observed = summary.checks.set_index("statistic").loc["number of cases", "observed"]
    bins = np.arange(replicated.min(), replicated.max() + 2) - 0.5  # one bar per whole number of cases
    ax.hist(replicated, bins=bins.tolist(), color="C0", alpha=0.7, label="replicated data")
    ax.axvline(observed, color="C3", linewidth=2, label=f"observed ({observed:.0f})")
    ax.set_xlabel("number of cases")
    ax.set_ylabel("posterior draws")
    ax.legend(fontsize="small")
    return ax


def calibration_plot(
    idata: az.InferenceData, *, n_consistency: int = 200, seed: SeedLike = None, ax: Axes | None = None
) -> Axes:
    """CORP reliability diagram: PAV-calibrated observed rate against predicted risk.

    The pool-adjacent-violators fit (isotonic regression of the outcome on the
    posterior-mean risk) is the CORP reliability curve; its grey band is the
    90% consistency band, the curves that perfectly calibrated risks give on
    outcomes resampled as Bernoulli(risk). Binned curves mislead with few
    events; this one needs no bins.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit`.
    n_consistency : int, default 200
        Outcome sets resampled for the consistency band.
    seed : None, int or numpy.random.Generator
        For the resampled outcomes.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    References
    ----------
    Dimitriadis T, Gneiting T, Jordan AI (2021). Stable reliability diagrams
    for probabilistic classifiers. PNAS 118(8):e2016191118.
    doi:10.1073/pnas.2016191118

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from bayes_ubpr import simulate_cohort, fit
    >>> from bayes_ubpr.plots import calibration_plot
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> ax = calibration_plot(idata, seed=2)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('predicted risk (posterior mean)', 'observed rate (PAV)')
    >>> plt.close("all")
    """
    ax = _axes(ax, (5, 5))
    view = Fitted.of(idata)
    y, risk = view.y, view.risk_draws.mean(axis=0)
    order = np.argsort(risk)
    p = risk[order]
    curve = optimize.isotonic_regression(y[order].astype(float)).x
    rng = as_generator(seed)
    resampled = np.array(
        [optimize.isotonic_regression((rng.random(len(p)) < p).astype(float)).x for _ in range(n_consistency)]
    )
    low, high = np.quantile(resampled, [0.05, 0.95], axis=0)
    ax.fill_between(p, low, high, color="grey", alpha=0.3, step="post", label="90% consistency band")
    ax.step(p, curve, where="post", color="C0", label="CORP (PAV) reliability curve")
    ax.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle=":")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted risk (posterior mean)")
    ax.set_ylabel("observed rate (PAV)")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def risk_distribution_plot(idata: az.InferenceData, *, ax: Axes | None = None) -> Axes:
    """Distribution of posterior-mean predicted risks among cases and among controls.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from bayes_ubpr import simulate_cohort, fit
    >>> from bayes_ubpr.plots import risk_distribution_plot
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> ax = risk_distribution_plot(idata)
    >>> ax.get_ylabel(), len(ax.patches)  # two histograms of 25 bins
    ('patients', 50)
    >>> plt.close("all")
    """
    ax = _axes(ax, (6, 3.5))
    view = Fitted.of(idata)
    y, outcome, risk = view.y, view.outcome, view.risk_draws.mean(axis=0)
    bins = np.linspace(0, 1, 26).tolist()
    names = ("satisfactory relief ", "UBPR ") if outcome == OUTCOME else ("", "")
    ax.hist(risk[y == 0], bins=bins, alpha=0.6, color="C0", label=_literal(f"{names[0]}({outcome} = 0)"))
    ax.hist(risk[y == 1], bins=bins, alpha=0.6, color="C3", label=_literal(f"{names[1]}({outcome} = 1)"))
    ax.set_xlabel("predicted risk on the fitted data's scale (posterior mean)")
    ax.set_ylabel("patients")
    ax.legend(fontsize="small")
    return ax


def sbc_ecdf_plot(result: SBCResult, *, prob: float = 0.95, ax: Axes | None = None) -> Axes:
    """ECDF difference of each parameter's SBC ranks with its simultaneous band.

    A calibrated inference keeps every line inside the grey band
    (Säilynoja et al. 2022).

    Parameters
    ----------
    result : SBCResult
        From :func:`bayes_ubpr.sbc_study`.
    prob : float, default 0.95
        Mass of the simultaneous band.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from bayes_ubpr import Sampling, sbc_study
    >>> from bayes_ubpr.plots import sbc_ecdf_plot
    >>> quick = Sampling(draws=200, tune=300, chains=2)
    >>> sbc = sbc_study(n_replicates=2, n=600, prevalence=0.2, sampling=quick, seed=1, n_thinned=19)
    >>> ax = sbc_ecdf_plot(sbc)
    >>> [text.get_text() for text in ax.get_legend().get_texts()][:3]  # the band, then one line per parameter
    ['95% simultaneous band', 'alpha', 'beta[bmd_tscore_abs]']
    >>> plt.close("all")
    """
    ax = _axes(ax, (7, 4))
    n_replicates = int(result.ranks.groupby("parameter").size().iloc[0])
    z, lower, upper = simultaneous_ecdf_band(n_replicates, result.n_values, prob=prob)
    ax.fill_between(z, lower, upper, color="grey", alpha=0.3, step="post", label=f"{prob:.0%} simultaneous band")
    grid = np.arange(1, result.n_values)
    for parameter, group in result.ranks.groupby("parameter", sort=False):
        difference = (group["rank"].to_numpy()[:, None] < grid).mean(axis=0) - z
        ax.step(z, difference, where="post", linewidth=1, label=_literal(parameter))
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("fractional rank")
    ax.set_ylabel("ECDF difference")
    ax.legend(fontsize="x-small", ncol=2)
    return ax


def coverage_plot(result: CalibrationResult, *, ax: Axes | None = None) -> Axes:
    """Interval coverage per factor against nominal, with 2 Monte Carlo SE bars.

    Parameters
    ----------
    result : CalibrationResult
        From :func:`bayes_ubpr.coverage_study`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from bayes_ubpr import Sampling, coverage_study
    >>> from bayes_ubpr.plots import coverage_plot
    >>> quick = Sampling(draws=200, tune=300, chains=2)
    >>> result = coverage_study(n_replicates=2, n=600, prevalence=0.2, sampling=quick, seed=1)
    >>> ax = coverage_plot(result)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('nominal credible-interval mass', 'coverage of the true log OR')
    >>> plt.close("all")
    """
    ax = _axes(ax, (6, 4))
    columns = [c for c in result.summary.columns if c.startswith("coverage_") and not c.endswith("_mcse")]
    nominal = np.array([float(c.removeprefix("coverage_")) for c in columns])
    for i, (_, row) in enumerate(result.summary.iterrows()):
        values = row[columns].to_numpy(float)
        errors = row[[f"{c}_mcse" for c in columns]].to_numpy(float)
        offset = (i - len(result.summary) / 2) * 0.004
        ax.errorbar(nominal + offset, values, yerr=2 * errors, fmt="o", markersize=3, label=_literal(row["factor"]))
    ax.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle=":")
    ax.set_xlim(nominal.min() - 0.05, 1.0)
    ax.set_ylim(max(0.0, nominal.min() - 0.3), 1.02)
    ax.set_xlabel("nominal credible-interval mass")
    ax.set_ylabel("coverage of the true log OR")
    ax.legend(fontsize="x-small")
    return ax


def predicted_vs_true_plot(
    result: CalibrationResult | SBCResult,
    *,
    models: Sequence[str] = ("corrected", "uncorrected"),
    ax: Axes | None = None,
) -> Axes:
    """Predicted against true risk in a calibration study, with and without the case-control correction.

    Each point is a decile of one replicate's predicted risks (mean predicted,
    mean true); the lines join the averages over replicates per decile. On the
    diagonal, predicted risks are calibrated to the population.

    Parameters
    ----------
    result : CalibrationResult or SBCResult
        From :func:`bayes_ubpr.coverage_study` or :func:`bayes_ubpr.sbc_study`.
    models : sequence of str, default ("corrected", "uncorrected")
        Rows of the study's predictive table to draw: ``"corrected"`` (the
        fit's own population mapping), ``"uncorrected"``, and for a
        case-control study with an uncertain prevalence ``"offset"`` and
        ``"anchored"``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If the study holds no risk curve for these models.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from bayes_ubpr import Sampling, coverage_study
    >>> from bayes_ubpr.plots import predicted_vs_true_plot
    >>> quick = Sampling(draws=200, tune=300, chains=2)
    >>> result = coverage_study(n_replicates=2, n=600, prevalence=0.2, sampling=quick, seed=1)
    >>> ax = predicted_vs_true_plot(result)
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['corrected', 'uncorrected']
    >>> plt.close("all")
    """
    if result.risk_curve is None or result.risk_curve.empty:
        raise ValueError("the study holds no risk curve (every replicate failed?)")
    curve = result.risk_curve[result.risk_curve["model"].isin(list(models))]
    if curve.empty:
        raise ValueError(f"the study holds no risk curve for models {list(models)}")
    ax = _axes(ax, (5.5, 5))
    for i, (model, group) in enumerate(curve.groupby("model", sort=False)):
        ax.scatter(group["predicted"], group["true"], s=6, alpha=0.25, color=f"C{i}")
        mean = group.groupby("bin")[["predicted", "true"]].mean()
        ax.plot(mean["predicted"], mean["true"], marker="o", color=f"C{i}", label=_literal(model))
    top = float(curve[["predicted", "true"]].to_numpy().max())
    ax.plot([0, top], [0, top], color="black", linewidth=0.8, linestyle=":")
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_xlabel("predicted risk (posterior mean)")
    ax.set_ylabel("true risk")
    ax.legend(fontsize="small")
    return ax


def _require_columns(table: object, columns: list[str], *, what: str) -> None:
    missing = [c for c in columns if c not in getattr(table, "columns", [])]
    if missing:
        raise ValueError(f"{what} needs a table with columns {columns}; missing {missing}")


def prior_sensitivity_plot(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Each factor's OR interval under every prior setting, with the paper's CI.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`bayes_ubpr.sensitivity.prior_sensitivity`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        Log OR axis, one band per factor, one line per setting (a hollow
        marker where the interval includes OR 1), the paper's 95% CI in black.

    Raises
    ------
    ValueError
        If ``table`` lacks the columns of a prior-sensitivity table.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from bayes_ubpr import ModelSpec, Sampling, simulate_cohort, case_control_sample
    >>> from bayes_ubpr.sensitivity import prior_sensitivity
    >>> from bayes_ubpr.plots import prior_sensitivity_plot
    >>> sample = case_control_sample(simulate_cohort(n=600, prevalence=0.3, seed=5), seed=2)
    >>> spec, quick = ModelSpec(design="case_control"), Sampling(chains=2)
    >>> grid = prior_sensitivity(sample, spec, priors=["default", "sceptical"], sampling=quick, seed=1)
    >>> ax = prior_sensitivity_plot(grid)
    >>> [text.get_text() for text in ax.get_legend().get_texts()]
    ['default', 'sceptical', 'paper (Table 5)']
    >>> plt.close("all")
    """
    _require_columns(table, ["setting", "factor", "or_median", "or_lower", "or_upper"], what="prior_sensitivity_plot")
    factors = list(dict.fromkeys(table["factor"]))
    settings = list(dict.fromkeys(table["setting"]))
    ax = _axes(ax, (7.5, 0.9 * len(factors) + 1.5))
    offsets = np.linspace(0.35, -0.35, len(settings) + 1)
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, max(len(settings), 2)))
    for i, setting in enumerate(settings):
        rows = table[table["setting"] == setting].set_index("factor").loc[factors]
        y = len(factors) - 1 - np.arange(len(factors)) + offsets[i]
        includes = ((rows["or_lower"] <= 1) & (rows["or_upper"] >= 1)).to_numpy()
        ax.hlines(y, rows["or_lower"], rows["or_upper"], color=colours[i], linewidth=1.2)
        ax.scatter(rows["or_median"][~includes], y[~includes], color=colours[i], s=14, label=_literal(setting))
        ax.scatter(rows["or_median"][includes], y[includes], facecolor="white", edgecolor=colours[i], s=14)
    if "paper_or" in table:
        paper = table.drop_duplicates("factor").set_index("factor").loc[factors]
        y = len(factors) - 1 - np.arange(len(factors)) + offsets[-1]
        ax.hlines(y, paper["paper_lower"], paper["paper_upper"], color="black", linewidth=2)
        ax.scatter(paper["paper_or"], y, color="black", marker="s", s=16, label="paper (Table 5)")
    ax.axvline(1, color="grey", linestyle="--", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(len(factors) - 1 - np.arange(len(factors)), [_literal(factor) for factor in factors])
    ax.set_xlabel("odds ratio (posterior median and credible interval; hollow: interval includes 1)")
    ax.legend(fontsize="xx-small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


def tipping_point_plot(result: TippingPoints | pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Distance of each factor's interval from OR 1 as the sceptical prior widens.

    Parameters
    ----------
    result : TippingPoints
        From :func:`bayes_ubpr.sensitivity.tipping_points`. Deprecated: a
        table carrying its grid in ``.attrs["grid"]``, as ``tipping_points``
        returned before.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        Log prior SD against the log OR of the interval limit nearest 1
        (signed: above 0 the interval excludes 1), tipping points marked.

    Raises
    ------
    ValueError
        If ``result`` is neither a TippingPoints nor a table with a grid in
        ``.attrs["grid"]``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from bayes_ubpr import ModelSpec, Sampling, simulate_cohort, case_control_sample
    >>> from bayes_ubpr.sensitivity import tipping_points
    >>> from bayes_ubpr.plots import tipping_point_plot
    >>> sample = case_control_sample(simulate_cohort(n=600, prevalence=0.3, seed=5), seed=2)
    >>> spec, quick = ModelSpec(design="case_control"), Sampling(chains=2)
    >>> ax = tipping_point_plot(tipping_points(sample, spec, scales=[0.1, 0.3, 1.0], sampling=quick, seed=1))
    >>> ax.get_xscale(), len(ax.get_legend().get_texts())  # one line per factor
    ('log', 6)
    >>> plt.close("all")
    """
    summary, grid = _tipping_tables(result)
    ax = _axes(ax, (6.5, 4.5))
    for i, (factor, group) in enumerate(grid.groupby("factor", sort=False)):
        ax.plot(group["sigma"], margin_from_one(group), marker="o", markersize=3, color=f"C{i}", label=_literal(factor))
        tipping = summary.set_index("factor").loc[factor, "tipping_sigma"]
        if np.isfinite(tipping):
            ax.axvline(tipping, color=f"C{i}", linestyle=":", linewidth=0.8)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("SD of the sceptical prior on the log OR (per unit or per reference SD)")
    ax.set_ylabel("log OR of the limit nearest 1 (> 0: excludes 1)")
    ax.legend(fontsize="x-small")
    return ax


def _tipping_tables(result: object) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the summary and grid of a TippingPoints, or (deprecated) of a table with ``.attrs["grid"]``."""
    if isinstance(result, TippingPoints):
        return result.summary, result.grid
    grid = result.attrs.get("grid") if isinstance(result, pd.DataFrame) else None
    if grid is None:
        raise ValueError(
            f"tipping_point_plot needs the result of tipping_points (a TippingPoints); got {type(result).__name__}"
        )
    warnings.warn(
        'tipping_point_plot of a table with .attrs["grid"] is deprecated and will be removed in the next release: '
        "pass the TippingPoints that tipping_points returns",
        DeprecationWarning,
        stacklevel=3,
    )
    return result, grid


def prevalence_sensitivity_plot(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Predicted absolute risk of each patient against the assumed population prevalence.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`bayes_ubpr.sensitivity.prevalence_sensitivity`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ValueError
        If ``table`` lacks the columns of a prevalence-sensitivity table.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from bayes_ubpr import simulate_cohort, case_control_sample, fit
    >>> from bayes_ubpr.sensitivity import prevalence_sensitivity
    >>> from bayes_ubpr.plots import prevalence_sensitivity_plot
    >>> sample = case_control_sample(simulate_cohort(n=600, prevalence=0.3, seed=5), seed=2)
    >>> idata = fit(sample, design="case_control", chains=2, seed=1, check=False)
    >>> patients = pd.DataFrame(
    ...     {"bmd_tscore_abs": [3.0, 3.6], "fascia_injury": [0, 1], "cement_distribution_poor": [0, 0],
    ...      "n_fractures": [1, 3], "cement_volume_ml": [5.5, 4.0], "depression": [0, 0]},
    ...     index=["typical", "high risk"])
    >>> ax = prevalence_sensitivity_plot(prevalence_sensitivity(idata, patients))
    >>> ax.get_xlabel(), [text.get_text() for text in ax.get_legend().get_texts()]
    ('assumed population prevalence of UBPR', ['typical', 'high risk'])
    >>> plt.close("all")
    """
    _require_columns(
        table, ["patient", "prevalence", "risk_median", "risk_lower", "risk_upper"], what="prevalence_sensitivity_plot"
    )
    ax = _axes(ax, (6.5, 4.5))
    for i, (patient, rows) in enumerate(table.groupby("patient", sort=False)):
        rows = rows.sort_values("prevalence")
        ax.plot(rows["prevalence"], rows["risk_median"], marker="o", color=f"C{i}", label=_literal(patient))
        ax.fill_between(rows["prevalence"], rows["risk_lower"], rows["risk_upper"], color=f"C{i}", alpha=0.2)
    outcome = table.attrs.get("outcome", OUTCOME)  # a table without it: the paper's
    ax.set_xlabel(f"assumed population prevalence of {'UBPR' if outcome == OUTCOME else _literal(f'{outcome} = 1')}")
    ax.set_ylabel("predicted risk (median and credible interval)")
    ax.legend(fontsize="small")
    return ax


def control_resampling_plot(result: ControlResampling | pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Posterior SD and between-control-set SD of each log OR, per control ratio.

    Parameters
    ----------
    result : ControlResampling or pandas.DataFrame
        From :func:`bayes_ubpr.sensitivity.control_resampling`, or its
        ``summary`` table.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        Bars: root mean posterior variance; black ticks: SD of the posterior
        median between random control sets.

    Raises
    ------
    ValueError
        If ``result`` lacks the columns of a control-resampling table.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from bayes_ubpr import ModelSpec, Sampling, simulate_cohort
    >>> from bayes_ubpr.sensitivity import control_resampling
    >>> from bayes_ubpr.plots import control_resampling_plot
    >>> cohort = simulate_cohort(n=600, prevalence=0.3, seed=5)
    >>> spec, quick = ModelSpec(design="case_control"), Sampling(chains=2)
    >>> result = control_resampling(cohort, spec, n_draws=2, controls_per_case=[1, 2], sampling=quick, seed=1)
    >>> ax = control_resampling_plot(result)
    >>> sorted(text.get_text() for text in ax.get_legend().get_texts())
    ['1:1 posterior SD', '1:2 posterior SD', 'SD between control sets']
    >>> plt.close("all")
    """
    table = result.summary if isinstance(result, ControlResampling) else result
    _require_columns(
        table, ["controls_per_case", "factor", "posterior_sd", "between_draw_sd"], what="control_resampling_plot"
    )
    factors = list(dict.fromkeys(table["factor"]))
    ratios = sorted(table["controls_per_case"].unique())
    ax = _axes(ax, (7.5, 4.5))
    width = 0.8 / len(ratios)
    x = np.arange(len(factors))
    for i, ratio in enumerate(ratios):
        rows = table[table["controls_per_case"] == ratio].set_index("factor").loc[factors]
        position = x - 0.4 + width * (i + 0.5)
        ax.bar(position, rows["posterior_sd"], width=width, color=f"C{i}", label=f"1:{ratio} posterior SD")
        ax.scatter(position, rows["between_draw_sd"], color="black", marker="_", s=120, zorder=3)
    ax.scatter([], [], color="black", marker="_", s=120, label="SD between control sets")
    ax.set_xticks(x, [_literal(factor) for factor in factors], rotation=30, ha="right", fontsize="small")
    ax.set_ylabel("SD of the log OR")
    ax.legend(fontsize="x-small")
    return ax


def validation_calibration_plot(result: ValidationResult, *, ax: Axes | None = None) -> Axes:
    """Flexible calibration curve in a validation cohort, with its credible band.

    The lowess-smoothed observed risk against the predicted risk (Austin &
    Steyerberg 2019), posterior median and band over the draws of the
    predicted risks, beside the diagonal of perfect calibration; the ICI (its
    estimate at the posterior-mean risks) with its interval in the legend.

    Parameters
    ----------
    result : ValidationResult
        From :func:`bayes_ubpr.validate_model`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from bayes_ubpr import simulate_cohort, validate_model
    >>> from bayes_ubpr.plots import validation_calibration_plot
    >>> result = validate_model("paper", simulate_cohort(n=1300, prevalence=0.1, seed=3), prevalence=0.1,
    ...                         n_draws=100, seed=1)
    >>> ax = validation_calibration_plot(result)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('predicted risk', 'observed risk (lowess-smoothed)')
    >>> plt.close("all")
    """
    if not isinstance(result, ValidationResult):
        raise TypeError(f"result must be a ValidationResult from validate_model; got {type(result).__name__}")
    ax = _axes(ax, (5, 5))
    curve = result.calibration
    ici = result.performance.set_index("metric").loc["ici"]
    prob = result.settings.get("prob", 0.95)
    ax.fill_between(
        curve["predicted"],
        curve["observed_lower"],
        curve["observed_upper"],
        color="C0",
        alpha=0.25,
        label=f"{prob:.0%} credible band",
    )
    ax.plot(
        curve["predicted"],
        curve["observed_median"],
        color="C0",
        label=f"calibration curve; ICI {ici['estimate']:.3f} ({ici['lower']:.3f} to {ici['upper']:.3f})",
    )
    top = min(1.0, float(max(curve["predicted"].max(), curve["observed_upper"].max())) * 1.05)
    ax.plot([0, top], [0, top], color="black", linewidth=0.8, linestyle=":", label="perfect calibration")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("predicted risk")
    ax.set_ylabel("observed risk (lowess-smoothed)")
    ax.legend(loc="upper left", fontsize="small")
    return ax


def decision_curve_plot(result: ValidationResult | pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Net benefit of the model, of treating everyone and of treating no one, by threshold risk.

    Posterior medians with credible bands (Bayesian decision curve analysis:
    Vickers & Elkin 2006; Wynants et al. 2018); the vertical axis stops a
    little below 0, where treating everyone at high thresholds would
    dominate the picture.

    Parameters
    ----------
    result : ValidationResult or pandas.DataFrame
        From :func:`bayes_ubpr.validate_model`, or a table from
        :func:`bayes_ubpr.metrics.bayesian_decision_curve`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib.pyplot as plt
    >>> from bayes_ubpr.metrics import bayesian_decision_curve
    >>> from bayes_ubpr.plots import decision_curve_plot
    >>> rng = np.random.default_rng(1)
    >>> p = rng.uniform(0.01, 0.5, 400)
    >>> y = (rng.random(400) < p).astype(int)
    >>> ax = decision_curve_plot(bayesian_decision_curve(y, p, np.arange(0.01, 0.5, 0.01), seed=2))
    >>> ax.get_xlabel(), len(ax.get_lines())  # model, treat all, treat none
    ('threshold risk', 3)
    >>> plt.close("all")
    """
    table = result.decision if isinstance(result, ValidationResult) else result
    _require_columns(table, ["threshold", "nb_model_median", "nb_all_median"], what="a decision-curve table")
    ax = _axes(ax, (7, 4.5))
    t = table["threshold"]
    for name, label, colour in (("model", "model", "C0"), ("all", "treat all", "C1")):
        ax.fill_between(t, table[f"nb_{name}_lower"], table[f"nb_{name}_upper"], color=colour, alpha=0.2)
        ax.plot(t, table[f"nb_{name}_median"], color=colour, label=label)
    ax.axhline(0.0, color="black", linewidth=1, label="treat none")
    top = float(max(table["nb_model_upper"].max(), table["nb_all_upper"].max()))
    ax.set_ylim(-0.15 * top, 1.05 * top)
    ax.set_xlim(float(t.min()), float(t.max()))
    ax.set_xlabel("threshold risk")
    ax.set_ylabel("net benefit")
    ax.legend(fontsize="small")
    return ax


def selection_plot(result: SelectionResult, *, ax: Axes | None = None) -> Axes:
    """Difference in elpd from the reference model against submodel size, with 1-SE bars.

    PSIS-LOO (with the reference's weights, on the search run on all the
    data) and, where folds were run, K-fold cross-validation of the whole
    search; the suggested size is marked. Each tick names the factor (for a
    spec with terms, the term) added at that size.

    Parameters
    ----------
    result : SelectionResult
        From :func:`bayes_ubpr.select_factors`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from bayes_ubpr import ModelSpec, Sampling, simulate_cohort, select_factors, selection_plot
    >>> cohort = simulate_cohort(n=400, prevalence=0.3, seed=5)
    >>> spec = ModelSpec(factors=["fascia_injury", "depression", "age", "copd"])
    >>> result = select_factors(cohort, spec, n_folds=0, sampling=Sampling(chains=2, draws=1000, tune=300), seed=1)
    >>> ax = selection_plot(result)
    >>> ax.get_xlabel(), len(ax.containers)  # one set of error bars: PSIS-LOO only
    ('submodel size (factor added)', 1)
    >>> plt.close("all")
    """
    if not isinstance(result, SelectionResult):
        raise TypeError(f"result must be a SelectionResult from select_factors; got {type(result).__name__}")
    path = result.path
    ax = _axes(ax, (max(6.0, 0.45 * len(path) + 2), 4.5))
    estimates = [("loo", "PSIS-LOO (reference weights)", "C0", -0.1)]
    if path["elpd_diff_cv"].notna().any():
        estimates.append(("cv", f"{result.settings.get('n_folds')}-fold CV of the search", "C1", 0.1))
    for key, label, colour, shift in estimates:
        ax.errorbar(
            path["size"] + shift,
            path[f"elpd_diff_{key}"],
            yerr=path[f"elpd_diff_{key}_se"],
            fmt="o-",
            color=colour,
            capsize=3,
            markersize=4,
            label=label,
        )
    ax.axhline(0.0, color="black", linewidth=1, linestyle="--", label="reference model")
    ax.axvline(result.suggested_size, color="grey", linewidth=1, linestyle=":", label="suggested size")
    labels = [
        _literal(f"{f} ({m})") if f else "intercept only (0)" for m, f in zip(path["size"], path["factor"], strict=True)
    ]
    ax.set_xticks(path["size"], labels, rotation=45, ha="right", rotation_mode="anchor", fontsize="small")
    ax.set_xlabel("submodel size (term added)" if "terms" in result.settings else "submodel size (factor added)")
    ax.set_ylabel("elpd difference to the reference")
    ax.legend(fontsize="small")
    return ax
