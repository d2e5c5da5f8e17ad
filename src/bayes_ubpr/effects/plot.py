"""The figure of a conditional-effects table: one curve (or set of points) per stratum, with its band."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from bayes_ubpr.effects._variables import shown_value

__all__ = ["plot_conditional_effects"]

_COLUMNS = ("estimate", "lower", "upper", "scale")
_POPULATION_NOTE = "Risks on the population scale (case-control corrected)"


def _literal(text: object) -> str:
    """Return ``text`` as matplotlib draws it literally: a ``$`` of a user's label never starts mathtext."""
    return str(text).replace("$", r"\$")


def _names(table: pd.DataFrame) -> tuple[str, str | None]:
    """Return the variable along x and the stratifying one: from ``attrs``, else the columns before ``estimate``."""
    if "variable" in table.attrs:
        return table.attrs["variable"], table.attrs.get("by")
    leading = list(table.columns[: list(table.columns).index("estimate")])
    if not 1 <= len(leading) <= 2:
        raise ValueError(
            "table must have the variable's column (and the by variable's) before estimate, as "
            f"conditional_effects returns it; got columns {list(table.columns)}"
        )
    return str(leading[0]), (str(leading[1]) if len(leading) == 2 else None)


def _is_curve(values: pd.Series) -> bool:
    """Whether x is drawn as a line: numbers with more than two distinct values."""
    return pd.api.types.is_numeric_dtype(values) and values.nunique() > 2


def plot_conditional_effects(table: pd.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Draw a :func:`conditional_effects` table: one line per stratum with its shaded credible band.

    A numeric variable is drawn as a line with a band; a 0/1 or categorical
    one as points with interval bars, side by side per stratum. The risk
    scale is in percent, with a note for a case-control fit that risks are
    on the population scale; the odds-ratio scale is logarithmic, with a
    dashed line at 1.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`conditional_effects`. Its ``attrs`` (kept unless the
        table was concatenated) name the variables and give their labels;
        without them the variable is the first column and ``by`` the second,
        if there are two before ``estimate``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the axes.

    Raises
    ------
    ValueError
        For a table without the columns ``estimate``, ``lower``, ``upper``
        and ``scale``, or with more than one scale.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, conditional_effects, plot_conditional_effects
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5),
    ...             "ubpr ~ fascia_injury * depression + rcs(cement_volume_ml, 3) + bmd_tscore_abs", chains=2, seed=1)
    >>> figure = plot_conditional_effects(conditional_effects(idata, "cement_volume_ml", by="depression"))
    >>> ax = figure.axes[0]
    >>> ax.get_xlabel(), ax.get_ylabel(), len(ax.get_lines())  # one line per stratum
    ('Cement volume per level', 'Risk', 2)
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a DataFrame from conditional_effects; got {type(table).__name__}")
    missing = [c for c in _COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks the column(s) {', '.join(missing)}: pass the table conditional_effects returns")
    scales = table["scale"].unique()
    if len(scales) != 1 or scales[0] not in ("risk", "odds_ratio"):
        raise ValueError(f'table must hold one scale, "risk" or "odds_ratio"; got {list(scales)}')
    scale = scales[0]
    variable, by = _names(table)
    if ax is None:
        _, ax = plt.subplots(figsize=(6.0, 4.0), layout="constrained")
    groups = [(None, table)] if by is None else list(table.groupby(by, sort=False))
    curve = _is_curve(table[variable])
    categories = list(dict.fromkeys(table[variable]))
    width = 0.6 / max(len(groups), 1)
    by_label = table.attrs.get("by_label") or by
    for k, (value, rows) in enumerate(groups):
        label = None if by is None else f"{_literal(by_label)} = {_literal(shown_value(value))}"
        if curve:
            (line,) = ax.plot(rows[variable], rows["estimate"], label=label)
            ax.fill_between(rows[variable], rows["lower"], rows["upper"], color=line.get_color(), alpha=0.2, lw=0)
        else:
            x = np.array([categories.index(v) for v in rows[variable]]) + (k - (len(groups) - 1) / 2) * width
            errors = [rows["estimate"] - rows["lower"], rows["upper"] - rows["estimate"]]
            ax.errorbar(x, rows["estimate"], yerr=errors, fmt="o", capsize=3, label=label)
    if not curve:
        ax.set_xticks(range(len(categories)), [_literal(shown_value(c)) for c in categories])
    ax.set_xlabel(_literal(table.attrs.get("label") or variable))
    if scale == "risk":
        ax.set_ylabel("Risk")
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        if table.attrs.get("design") == "case_control":
            ax.annotate(_POPULATION_NOTE, (0.01, 0.99), xycoords="axes fraction", va="top", fontsize="small")
    else:
        ax.set_ylabel("Odds ratio")
        ax.set_yscale("log")
        ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    if by is not None:
        ax.legend(frameon=False)
    return ax.figure  # type: ignore[return-value]
