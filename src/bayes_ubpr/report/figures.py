"""Figures drawn for the report, each on an off-screen Figure (no pyplot state) and returned as a base64 PNG.

Calibration zoomed to the range of the risks with their distribution beneath, and a forest of contrasts.
"""

from __future__ import annotations

import base64
import io
import textwrap
from collections.abc import Callable, Sequence

import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy import optimize

from bayes_ubpr.plots import calibration_plot, validation_calibration_plot
from bayes_ubpr.report.facts import Facts
from bayes_ubpr.validation import ValidationResult

__all__ = ["calibration_png", "figure_png", "forest_png", "validation_calibration_png", "zoom_limit"]

DPI = 110
"""Resolution of the report's figures: a 7.5-inch figure is 825 px wide, inside a 1,280 px screen's column."""


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _literal(text: object) -> str:
    return str(text).replace("$", r"\$")  # a "$" of a user's label never starts mathtext


def figure_png(draw: Callable[[Axes], object], size: tuple[float, float] = (7.0, 4.5)) -> str:
    """Draw on a fresh off-screen Figure with one Axes; return it as a base64 PNG."""
    figure = Figure(figsize=size, layout="constrained")
    draw(figure.subplots())
    return _png(figure)


def zoom_limit(risks: np.ndarray, *, quantile: float = 0.99, margin: float = 1.15) -> float:
    """Return the upper end of a risk axis that shows where the risks are: the 99th percentile, plus a margin.

    An axis ending at 1 squeezes risks that are mostly below 10% into its
    first tenth, where any curve looks like the diagonal; past 0.6 the whole
    range is shown.

    Examples
    --------
    >>> import numpy as np
    >>> round(zoom_limit(np.linspace(0.0, 0.08, 101)), 3), zoom_limit(np.linspace(0.1, 0.9, 101))
    (0.091, 1.0)
    """
    top = float(np.quantile(np.asarray(risks, dtype=float), quantile)) * margin
    return 1.0 if top > 0.6 else max(top, 0.01)


def _distribution(ax: Axes, risk: np.ndarray, y: np.ndarray, top: float, names: tuple[str, str]) -> None:
    """Histograms of the predicted risks of patients without and with the event, on the zoomed axis."""
    bins = np.linspace(0.0, top, 31).tolist()
    shown = np.clip(risk, 0.0, top)
    ax.hist(shown[y == 0], bins=bins, color="C0", alpha=0.6, label=_literal(names[0]))
    ax.hist(shown[y == 1], bins=bins, color="C3", alpha=0.6, label=_literal(names[1]))
    ax.set_ylabel("patients")
    ax.legend(fontsize="x-small", loc="upper right")


def calibration_png(facts: Facts) -> str:
    """Draw the CORP reliability diagram of the fitted data, zoomed to the risks, with their distribution beneath.

    The risks are on the sample's own scale, the scale the outcomes were
    drawn on (for a case-control fit: the sample's share of cases); the title
    says so.
    """
    y, risk = facts.y, facts.sample_risk
    top = zoom_limit(risk)
    order = np.argsort(risk)
    pav = optimize.isotonic_regression(y[order].astype(float)).x
    inside = risk[order] <= top
    upper = min(1.0, max(top, float(pav[inside].max()) * 1.1 if inside.any() else top))
    figure = Figure(figsize=(6.0, 6.4), layout="constrained")
    curve, spread = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1.2])
    calibration_plot(facts.idata, seed=facts.seed, ax=curve)
    curve.set_xlim(0.0, top)
    curve.set_ylim(0.0, upper)
    curve.set_xlabel("")
    curve.set_ylabel("observed share with the outcome (PAV)")
    scale = (
        f"sample scale, {facts.n_events} cases : {facts.n_patients - facts.n_events} controls"
        if facts.case_control
        else "cohort scale"
    )
    curve.set_title(_literal(f"Fitted data, {scale}"), fontsize="medium")
    names = ("UBPR: no", "UBPR: yes") if facts.event == "UBPR" else (f"{facts.spec.outcome} = 0", facts.event)
    _distribution(spread, risk, y, top, names)
    spread.set_xlabel("predicted risk (posterior mean)" + (", sample scale" if facts.case_control else ""))
    return _png(figure)


def validation_calibration_png(result: ValidationResult) -> str:
    """Draw the validation cohort's flexible calibration curve, zoomed to its predicted risks, their spread beneath."""
    risks = result.risks
    figure = Figure(figsize=(5.8, 6.4) if risks is not None else (5.5, 5.2), layout="constrained")
    if risks is not None:
        ax, spread = figure.subplots(2, 1, sharex=True, height_ratios=[3, 1.2])
    else:
        ax = figure.subplots()
    validation_calibration_plot(result, ax=ax)
    curve = result.calibration
    top = min(1.0, float(curve["predicted"].max()) * 1.1)
    upper = min(1.0, max(top, float(curve["observed_median"].max()) * 1.15))
    ax.set_xlim(0.0, top)
    ax.set_ylim(0.0, upper)
    ax.set_title("Population scale: the validation cohort", fontsize="medium")
    label = "predicted risk (1st to 99th percentile of the cohort's risks)"
    if risks is None:
        ax.set_xlabel(label)
    else:
        ax.set_xlabel("")
        y = risks["outcome"].to_numpy()
        _distribution(spread, risks["risk"].to_numpy(), y, top, ("outcome = 0", "outcome = 1"))
        spread.set_xlabel("predicted risk (posterior mean), 1st to 99th percentile")
    return _png(figure)


def forest_png(labels: Sequence[str], median: np.ndarray, lower: np.ndarray, upper: np.ndarray, *, prob: float) -> str:
    """Draw a forest plot of odds ratios with their credible intervals, log axis, one row per label."""
    wrapped = [textwrap.fill(_literal(label), 48) for label in labels]
    lines = sum(label.count("\n") + 1 for label in wrapped)
    n = len(labels)
    figure = Figure(figsize=(7.5, 0.22 * lines + 0.2 * n + 1.1), layout="constrained")
    ax = figure.subplots()
    rows = np.arange(n)[::-1]
    median, lower, upper = (np.asarray(a, dtype=float) for a in (median, lower, upper))
    ax.errorbar(median, rows, xerr=[median - lower, upper - median], fmt="o", color="C0")
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(rows, wrapped, fontsize="small")
    ax.set_ylim(-0.7, n - 0.3)
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel(f"odds ratio, posterior median and {prob:.0%} CrI (log scale)")
    return _png(figure)
