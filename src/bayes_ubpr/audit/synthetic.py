"""Synthetic papers: a study like the paper's, simulated and printed with the paper's rounding.

The audit must not flag an honest paper. :func:`simulate_paper` draws 60
controls and 60 cases from the package's simulated world (Table 4's control
laws; cases from those laws tilted by Table 5's log odds ratios, so the two
tables agree by construction), records ages, heights and weights in whole
units and VAS and ODI as whole numbers, computes every statistic the paper
prints from those data, and prints them with the paper's digits. Auditing
many such papers measures the audit's false-positive rate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from bayes_ubpr._rng import SeedLike, as_generator
from bayes_ubpr.audit._fits import fit_logistic
from bayes_ubpr.audit._rows import GROUP_SIZE
from bayes_ubpr.paper import RISK_FACTORS, SIX_FACTORS, as_printed
from bayes_ubpr.simulate import true_model

__all__ = ["simulate_paper"]

WHOLE_UNITS = ("age", "height_cm", "weight_kg")
"""Factors recorded in whole units in a synthetic paper (as the granularity checks assume)."""

VAS_SD = 1.0
"""SD of the latent VAS before rounding to whole numbers (wider than printed, so whole numbers can reach it)."""


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """Maximum-likelihood logistic regression (the audit's own Newton-Raphson) of one sample."""
    coef, se, converged = fit_logistic(x[None], y)
    return coef[0, 1:], se[0, 1:], bool(converged[0])


def _table4(controls: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame:
    layout = as_printed("table4")
    rows = []
    for spec in layout.itertuples(index=False):
        row = {c: "" for c in layout.columns}
        row.update({"factor": spec.factor, "paper_row": spec.paper_row, "kind": spec.kind})
        row.update({"level_1": spec.level_1, "level_0": spec.level_0, "statistic_name": spec.statistic_name})
        a, b = controls[spec.factor].to_numpy(float), cases[spec.factor].to_numpy(float)
        if spec.kind == "binary":
            for group, values in (("satisfactory", a), ("unsatisfactory", b)):
                n1 = int(values.sum())
                row.update(
                    {
                        f"{group}_n1": str(n1),
                        f"{group}_pct1": f"{100 * n1 / GROUP_SIZE:.1f}",
                        f"{group}_n0": str(GROUP_SIZE - n1),
                        f"{group}_pct0": f"{100 * (GROUP_SIZE - n1) / GROUP_SIZE:.1f}",
                    }
                )
            counts = np.array([[a.sum(), GROUP_SIZE - a.sum()], [b.sum(), GROUP_SIZE - b.sum()]])
            if (counts.sum(axis=0) == 0).any():
                statistic, p = 0.0, 1.0
            else:
                statistic, p = stats.chi2_contingency(counts, correction=False)[:2]
        else:
            for group, values in (("satisfactory", a), ("unsatisfactory", b)):
                row.update({f"{group}_mean": f"{values.mean():.2f}", f"{group}_sd": f"{values.std(ddof=1):.2f}"})
            statistic, p = stats.ttest_ind(b, a)
        row.update({"statistic": f"{float(statistic):.3f}", "p": f"{float(p):.3f}"})
        rows.append(row)
    return pd.DataFrame(rows, columns=layout.columns)


def _table5(controls: pd.DataFrame, cases: pd.DataFrame) -> pd.DataFrame | None:
    x = np.vstack([controls[list(SIX_FACTORS)].to_numpy(float), cases[list(SIX_FACTORS)].to_numpy(float)])
    y = np.r_[np.zeros(GROUP_SIZE), np.ones(GROUP_SIZE)]
    b, se, converged = _fit(x, y)
    if not converged:
        return None
    z = stats.norm.ppf(0.975)
    rows = []
    for j, factor in enumerate(SIX_FACTORS):
        wald = (b[j] / se[j]) ** 2
        rows.append(
            {
                "factor": factor,
                "paper_row": RISK_FACTORS[factor].paper_row,
                "B": f"{b[j]:.3f}",
                "SE": f"{se[j]:.3f}",
                "wald": f"{wald:.3f}",
                "p": f"{stats.chi2.sf(wald, df=1):.3f}",
                "odds_ratio": f"{np.exp(b[j]):.3f}",
                "ci_lower": f"{np.exp(b[j] - z * se[j]):.3f}",
                "ci_upper": f"{np.exp(b[j] + z * se[j]):.3f}",
            }
        )
    return pd.DataFrame(rows)


def _time_course(rng: np.random.Generator, name: str) -> pd.DataFrame:
    """Whole-number scores over time with the paper's means; cases respect the paper's VAS criteria."""
    layout = as_printed(name)
    vas = name == "table2"
    high = 10 if vas else 100
    rows = []
    for spec in layout.itertuples(index=False):
        row = {"time": spec.time, "label": spec.label}
        samples = {}
        for group in ("satisfactory", "unsatisfactory"):
            mean, sd = float(getattr(spec, f"{group}_mean")), float(getattr(spec, f"{group}_sd"))
            low = 0
            if vas and spec.time == "preoperative":
                low = 7  # inclusion: VAS > 6
            elif vas and group == "unsatisfactory" and spec.time in ("immediate", "1_month"):
                low = 5  # UBPR: VAS > 4 immediately and at one month
            values = np.clip(np.rint(rng.normal(mean, VAS_SD if vas else sd, GROUP_SIZE)), low, high)
            samples[group] = values
            row.update({f"{group}_mean": f"{values.mean():.1f}", f"{group}_sd": f"{values.std(ddof=1):.1f}"})
        p = stats.ttest_ind(samples["unsatisfactory"], samples["satisfactory"]).pvalue
        row["marked"] = str(bool(p < 0.05))
        rows.append(row)
    return pd.DataFrame(rows)


def simulate_paper(*, seed: SeedLike = None) -> dict[str, pd.DataFrame] | None:
    """Simulate a 60:60 study like the paper's and print its Tables 2-5 with the paper's rounding.

    Parameters
    ----------
    seed : None, int or numpy.random.Generator
        Same seed, same paper.

    Returns
    -------
    dict of str to pandas.DataFrame or None
        Tables "table2", "table3", "table4" and "table5" as printed (string
        cells, the columns of :func:`bayes_ubpr.paper.as_printed`), ready
        for ``bayes_ubpr.audit.audit(tables=...)``; None when the simulated
        sample separates (no finite logistic regression to print).

    Examples
    --------
    >>> from bayes_ubpr.audit import audit, simulate_paper
    >>> paper = simulate_paper(seed=3)
    >>> sorted(paper), paper["table4"].set_index("factor").loc["age", "satisfactory_mean"][-3:-2]
    (['table2', 'table3', 'table4', 'table5'], '.')
    >>> findings = audit(tables=paper, across=False)
    >>> int((findings["severity"] == "inconsistent").sum())
    0
    """
    rng = as_generator(seed)
    model = true_model()
    controls, cases = {}, {}
    for name, law in model.laws.items():
        controls[name] = law.sample(rng, GROUP_SIZE)
        cases[name] = law.tilt(float(model.log_odds_ratios[name])).sample(rng, GROUP_SIZE)
    control_frame, case_frame = pd.DataFrame(controls), pd.DataFrame(cases)
    for name in WHOLE_UNITS:
        control_frame[name] = np.rint(control_frame[name])
        case_frame[name] = np.rint(case_frame[name])
    table5 = _table5(control_frame, case_frame)
    if table5 is None:
        return None
    return {
        "table2": _time_course(rng, "table2"),
        "table3": _time_course(rng, "table3"),
        "table4": _table4(control_frame, case_frame),
        "table5": table5,
    }
