"""What users take away from a fit: odds-ratio tables beside the paper's."""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd

from bayes_ubpr._validate import check_probability
from bayes_ubpr.paper import RISK_FACTORS, table5

__all__ = ["format_odds_ratio_table", "odds_ratio_table"]


def _log_odds_ratio_draws(idata: az.InferenceData) -> np.ndarray:
    """Posterior draws of beta as an array (draws, factor)."""
    if not hasattr(idata, "posterior") or "beta" not in idata.posterior:
        raise ValueError("idata has no posterior variable 'beta': pass the result of bayes_ubpr.fit.")
    beta = idata.posterior["beta"]
    return beta.stack(sample=("chain", "draw")).transpose("sample", "factor").to_numpy()


def odds_ratio_table(idata: az.InferenceData, *, prob: float = 0.95) -> pd.DataFrame:
    """Posterior odds ratios per factor, beside the paper's Table 5.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit`.
    prob : float, default 0.95
        Probability mass of the equal-tailed credible interval.

    Returns
    -------
    pandas.DataFrame
        One row per factor in the model: ``factor``, ``label``, ``unit``,
        ``or_median``, ``or_lower``, ``or_upper`` (equal-tailed interval),
        ``prob_positive`` (posterior P(log OR > 0)), and the paper's
        ``paper_or``, ``paper_lower``, ``paper_upper`` (NaN for factors not in
        Table 5). ``.attrs["prob"]`` holds ``prob``; all numbers are raw,
        round only for display.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, odds_ratio_table
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> table = odds_ratio_table(idata)
    >>> list(table.columns[:6])
    ['factor', 'label', 'unit', 'or_median', 'or_lower', 'or_upper']
    """
    prob = check_probability(prob, name="prob")
    draws = _log_odds_ratio_draws(idata)
    factors = [str(f) for f in idata.posterior["beta"].coords["factor"].values]
    tail = (1.0 - prob) / 2.0
    lower, median, upper = np.quantile(draws, [tail, 0.5, 1.0 - tail], axis=0)
    table = pd.DataFrame(
        {
            "factor": factors,
            "label": [RISK_FACTORS[f].label if f in RISK_FACTORS else f for f in factors],
            "unit": [RISK_FACTORS[f].unit if f in RISK_FACTORS else "" for f in factors],
            "or_median": np.exp(median),
            "or_lower": np.exp(lower),
            "or_upper": np.exp(upper),
            "prob_positive": (draws > 0).mean(axis=0),
        }
    )
    paper = table5().set_index("factor")[["odds_ratio", "ci_lower", "ci_upper"]]
    paper.columns = ["paper_or", "paper_lower", "paper_upper"]
    table = table.join(paper, on="factor")
    table.attrs["prob"] = prob
    table.attrs["interval"] = "eti"
    return table


def _interval(center: float, lower: float, upper: float) -> str:
    if np.isnan(center):
        return "-"
    return f"{center:.3g} ({lower:.3g} to {upper:.3g})"


def format_odds_ratio_table(table: pd.DataFrame) -> str:
    """Render an :func:`odds_ratio_table` as aligned text for a terminal or log.

    Odds ratios are shown to three significant digits, which is what the
    Monte Carlo error of a few thousand draws supports; the table itself keeps
    full precision.

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_ubpr.posterior import format_odds_ratio_table
    >>> row = {"factor": "depression", "label": "Depression", "unit": "present vs absent",
    ...        "or_median": 3.1234, "or_lower": 1.2, "or_upper": 9.87, "prob_positive": 0.991,
    ...        "paper_or": 3.426, "paper_lower": 1.145, "paper_upper": 10.255}
    >>> print(format_odds_ratio_table(pd.DataFrame([row])))
    Factor      Per                Posterior OR (95% CrI)  P(OR > 1)  Paper OR (95% CI)
    Depression  present vs absent  3.12 (1.2 to 9.87)      0.991      3.43 (1.15 to 10.3)
    """
    prob = table.attrs.get("prob", 0.95)
    header = ["Factor", "Per", f"Posterior OR ({prob:.0%} CrI)", "P(OR > 1)", "Paper OR (95% CI)"]
    rows = [
        [
            row.label,
            row.unit,
            _interval(row.or_median, row.or_lower, row.or_upper),
            f"{row.prob_positive:.3f}",
            _interval(row.paper_or, row.paper_lower, row.paper_upper),
        ]
        for row in table.itertuples(index=False)
    ]
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip() for line in [header, *rows]
    )
