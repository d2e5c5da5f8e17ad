"""Convergence checks of a fit: R-hat, bulk and tail ESS, divergences (Vehtari et al. 2021)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import arviz as az
import numpy as np
import pandas as pd

from bayes_ubpr.exceptions import StatisticalWarning
from bayes_ubpr.model.fitted import Fitted

__all__ = ["ESS_PER_CHAIN_MIN", "RHAT_MAX", "check_convergence", "n_divergent"]

RHAT_MAX = 1.01
"""Largest acceptable rank-normalised split R-hat (Vehtari et al. 2021)."""

ESS_PER_CHAIN_MIN = 100
"""Smallest acceptable bulk and tail ESS per chain (Vehtari et al. 2021)."""


def n_divergent(idata: az.InferenceData) -> int:
    if "sample_stats" not in idata.groups():  # draws from elsewhere may carry no sampler statistics
        return 0
    stats = idata.sample_stats
    return int(stats["diverging"].sum()) if "diverging" in stats else 0


def check_convergence(idata: az.InferenceData, *, var_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Check R-hat, bulk and tail ESS and divergences; warn naming what failed.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit with at least two chains.
    var_names : sequence of str, optional
        Parameters to check; default ``alpha``, ``beta`` and, where present,
        ``group_sd``, ``slope_sd``, ``global_scale``. ``beta`` is the sampled
        ``beta_std`` divided by constants (same R-hat and ESS) and names
        factors as users know them.

    Returns
    -------
    pandas.DataFrame
        ArviZ's diagnostics (``r_hat``, ``ess_bulk``, ``ess_tail``) per
        parameter, with a boolean ``ok`` column.

    Warns
    -----
    StatisticalWarning
        If any parameter fails or any transition diverged.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, check_convergence
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> table = check_convergence(idata)
    >>> bool(table["ok"].all()), list(table.columns[-3:])
    (True, ['ess_tail', 'r_hat', 'ok'])
    """
    if var_names is None:
        Fitted.of_draws(idata).log_odds_ratio_draws  # noqa: B018  (draws of beta, or a ValueError saying so)
        optional = ("group_sd", "slope_sd", "global_scale")
        var_names = [v for v in ("alpha", "beta", *optional) if v in idata.posterior]
    chains = idata.posterior.sizes["chain"]
    # A stuck chain has zero variance: ArviZ then divides by zero and reports R-hat inf, which we report.
    with np.errstate(divide="ignore", invalid="ignore"):
        summary = az.summary(idata, var_names=list(var_names), kind="diagnostics", round_to="none")
    ess_min = ESS_PER_CHAIN_MIN * chains
    ess_ok = (summary["ess_bulk"] >= ess_min) & (summary["ess_tail"] >= ess_min)
    summary["ok"] = ess_ok & (summary["r_hat"] <= RHAT_MAX) if chains > 1 else ess_ok
    problems = [
        f"{name} (R-hat {row.r_hat:.3f}, bulk ESS {row.ess_bulk:.0f}, tail ESS {row.ess_tail:.0f})"
        for name, row in summary.loc[~summary["ok"]].iterrows()
    ]
    divergent = n_divergent(idata)
    if divergent:
        problems.append(f"{divergent} divergent transitions")
    if problems:
        warnings.warn(
            f"Sampling may not have converged (R-hat > {RHAT_MAX} or ESS < {ess_min}): "
            + "; ".join(problems)
            + ". Run more tuning steps or draws before trusting these results.",
            StatisticalWarning,
            stacklevel=3,
        )
    return summary
