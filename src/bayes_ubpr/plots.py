"""Figures of a fit: matplotlib Axes returned, never shown."""

from __future__ import annotations

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from scipy import optimize

from bayes_ubpr._rng import SeedLike, as_generator
from bayes_ubpr.calibrate import CalibrationResult, SBCResult, simultaneous_ecdf_band
from bayes_ubpr.posterior import PPCSummary, _fitted_data, _fitted_risk_draws, odds_ratio_table

__all__ = [
    "calibration_plot",
    "coverage_plot",
    "forest_plot",
    "ppc_plot",
    "predicted_vs_true_plot",
    "risk_distribution_plot",
    "sbc_ecdf_plot",
]


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> Axes:
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=figsize, layout="constrained")
    return new


def forest_plot(idata: az.InferenceData, *, prob: float = 0.95, ax: Axes | None = None) -> Axes:
    """Posterior odds ratios with their credible intervals, the paper's 95% CIs beside them.

    Log-scaled odds-ratio axis; a dashed line at OR 1.

    Returns
    -------
    matplotlib.axes.Axes
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
    ax.set_yticks(rows, [f"{label}\n(per {unit})" for label, unit in zip(table["label"], table["unit"], strict=True)])
    ax.set_xlabel("odds ratio")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12 * 6 / max(len(table), 3)), ncol=2, fontsize="small")
    return ax


def ppc_plot(summary: PPCSummary, idata: az.InferenceData, *, seed: SeedLike = None, ax: Axes | None = None) -> Axes:
    """Replicated number of cases against the observed number.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (6, 3.5))
    risk = _fitted_risk_draws(idata)
    replicated = (as_generator(seed).random(risk.shape) < risk).sum(axis=1)
    observed = summary.checks.set_index("statistic").loc["number of cases", "observed"]
    bins = np.arange(replicated.min(), replicated.max() + 2) - 0.5  # one bar per whole number of cases
    ax.hist(replicated, bins=bins, color="C0", alpha=0.7, label="replicated data")
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

    References
    ----------
    Dimitriadis T, Gneiting T, Jordan AI (2021). Stable reliability diagrams
    for probabilistic classifiers. PNAS 118(8):e2016191118.
    doi:10.1073/pnas.2016191118

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (5, 5))
    _, y, _ = _fitted_data(idata)
    risk = _fitted_risk_draws(idata).mean(axis=0)
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

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (6, 3.5))
    _, y, _ = _fitted_data(idata)
    risk = _fitted_risk_draws(idata).mean(axis=0)
    bins = np.linspace(0, 1, 26)
    ax.hist(risk[y == 0], bins=bins, alpha=0.6, color="C0", label="satisfactory relief (ubpr = 0)")
    ax.hist(risk[y == 1], bins=bins, alpha=0.6, color="C3", label="UBPR (ubpr = 1)")
    ax.set_xlabel("predicted risk on the fitted data's scale (posterior mean)")
    ax.set_ylabel("patients")
    ax.legend(fontsize="small")
    return ax


def sbc_ecdf_plot(result: SBCResult, *, prob: float = 0.95, ax: Axes | None = None) -> Axes:
    """ECDF difference of each parameter's SBC ranks with its simultaneous band.

    A calibrated inference keeps every line inside the grey band
    (Säilynoja et al. 2022).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (7, 4))
    n_replicates = int(result.ranks.groupby("parameter").size().iloc[0])
    z, lower, upper = simultaneous_ecdf_band(n_replicates, result.n_values, prob=prob)
    ax.fill_between(z, lower, upper, color="grey", alpha=0.3, step="post", label=f"{prob:.0%} simultaneous band")
    grid = np.arange(1, result.n_values)
    for parameter, group in result.ranks.groupby("parameter", sort=False):
        difference = (group["rank"].to_numpy()[:, None] < grid).mean(axis=0) - z
        ax.step(z, difference, where="post", linewidth=1, label=parameter)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.set_xlabel("fractional rank")
    ax.set_ylabel("ECDF difference")
    ax.legend(fontsize="x-small", ncol=2)
    return ax


def coverage_plot(result: CalibrationResult, *, ax: Axes | None = None) -> Axes:
    """Interval coverage per factor against nominal, with 2 Monte Carlo SE bars.

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _axes(ax, (6, 4))
    columns = [c for c in result.summary.columns if c.startswith("coverage_") and not c.endswith("_mcse")]
    nominal = np.array([float(c.removeprefix("coverage_")) for c in columns])
    for i, (_, row) in enumerate(result.summary.iterrows()):
        values = row[columns].to_numpy(float)
        errors = row[[f"{c}_mcse" for c in columns]].to_numpy(float)
        offset = (i - len(result.summary) / 2) * 0.004
        ax.errorbar(nominal + offset, values, yerr=2 * errors, fmt="o", markersize=3, label=row["factor"])
    ax.plot([0, 1], [0, 1], color="black", linewidth=0.8, linestyle=":")
    ax.set_xlim(nominal.min() - 0.05, 1.0)
    ax.set_ylim(max(0.0, nominal.min() - 0.3), 1.02)
    ax.set_xlabel("nominal credible-interval mass")
    ax.set_ylabel("coverage of the true log OR")
    ax.legend(fontsize="x-small")
    return ax


def predicted_vs_true_plot(result: CalibrationResult | SBCResult, *, ax: Axes | None = None) -> Axes:
    """Predicted against true risk in a calibration study, with and without the case-control correction.

    Each point is a decile of one replicate's predicted risks (mean predicted,
    mean true); the lines join the averages over replicates per decile. On the
    diagonal, predicted risks are calibrated to the population.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if result.risk_curve is None or result.risk_curve.empty:
        raise ValueError("the study holds no risk curve (every replicate failed?)")
    ax = _axes(ax, (5.5, 5))
    for i, (model, group) in enumerate(result.risk_curve.groupby("model", sort=False)):
        ax.scatter(group["predicted"], group["true"], s=6, alpha=0.25, color=f"C{i}")
        mean = group.groupby("bin")[["predicted", "true"]].mean()
        ax.plot(mean["predicted"], mean["true"], marker="o", color=f"C{i}", label=model)
    top = float(result.risk_curve[["predicted", "true"]].to_numpy().max())
    ax.plot([0, top], [0, top], color="black", linewidth=0.8, linestyle=":")
    ax.set_xscale("symlog", linthresh=0.01)
    ax.set_yscale("symlog", linthresh=0.01)
    ax.set_xlabel("predicted risk (posterior mean)")
    ax.set_ylabel("true risk")
    ax.legend(fontsize="small")
    return ax
