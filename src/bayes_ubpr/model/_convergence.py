"""Convergence checks of a fit: R-hat, bulk and tail ESS, divergences (Vehtari et al. 2021)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import arviz as az
import numpy as np
import pandas as pd

from bayes_ubpr.exceptions import StatisticalWarning
from bayes_ubpr.model.fitted import Fitted

__all__ = ["ESS_PER_CHAIN_MIN", "RHAT_MAX", "chain_blocks", "check_convergence", "diagnostics_summary", "n_divergent"]

RHAT_MAX = 1.01
"""Largest acceptable rank-normalised split R-hat (Vehtari et al. 2021)."""

ESS_PER_CHAIN_MIN = 100
"""Smallest acceptable bulk and tail ESS per chain (Vehtari et al. 2021)."""


def chain_blocks(idata: az.InferenceData) -> list[np.ndarray]:
    """Return the chain positions of each imputation of a pooled fit (one block of every chain otherwise)."""
    posterior = idata.posterior
    if "imputation" not in posterior.coords:
        return [np.arange(posterior.sizes["chain"])]
    labels = np.asarray(posterior["imputation"].values)
    return [np.flatnonzero(labels == k) for k in dict.fromkeys(labels.tolist())]


def diagnostics_summary(idata: az.InferenceData, var_names: Sequence[str] | None = None) -> pd.DataFrame:
    """Return ArviZ's diagnostics (MCSE, ESS, R-hat) per parameter, within imputations for a pooled fit.

    Chains of different imputations sample different posteriors, so their
    R-hat measures the imputations' disagreement, not the sampler's mixing.
    For a fit of multiply imputed data (chains with an ``imputation``
    coordinate) R-hat is the largest over the imputations, each computed
    on its own chains, an ESS the sum of the imputations' ESS (their draws
    are independent) and an MCSE that of the mean of the imputations'
    estimates. Other fits: ArviZ's summary as it is.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit (or draws of ``beta``).
    var_names : sequence of str, optional
        Default ``alpha``, ``beta`` and, where present, ``group_sd``,
        ``slope_sd``, ``global_scale``.

    Examples
    --------
    >>> from bayes_ubpr import fit, simulate_cohort
    >>> from bayes_ubpr.model import diagnostics_summary
    >>> idata = fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1)
    >>> list(diagnostics_summary(idata, ["beta"]).columns)
    ['mcse_mean', 'mcse_sd', 'ess_bulk', 'ess_tail', 'r_hat']
    """
    if var_names is None:
        Fitted.of_draws(idata).log_odds_ratio_draws  # noqa: B018  (draws of beta, or a ValueError saying so)
        optional = ("group_sd", "slope_sd", "global_scale")
        var_names = [v for v in ("alpha", "beta", *optional) if v in idata.posterior]
    blocks = chain_blocks(idata)
    posterior = idata.posterior[list(var_names)]
    # A stuck chain has zero variance: ArviZ then divides by zero and reports R-hat inf, which we report.
    with np.errstate(divide="ignore", invalid="ignore"):
        parts = [az.summary(posterior.isel(chain=block), kind="diagnostics", round_to="none") for block in blocks]
    if len(parts) == 1:
        return parts[0]
    joined = pd.concat(parts, keys=range(len(parts)))
    grouped = joined.groupby(level=1, sort=False)
    pooled = {f"mcse_{m}": np.sqrt(grouped[f"mcse_{m}"].agg(_sum_of_squares)) / len(parts) for m in ("mean", "sd")}
    pooled |= {"ess_bulk": grouped["ess_bulk"].sum(), "ess_tail": grouped["ess_tail"].sum()}
    return pd.DataFrame({**pooled, "r_hat": grouped["r_hat"].max()}).loc[parts[0].index]


def _sum_of_squares(values: pd.Series) -> float:
    return float(np.square(values.to_numpy()).sum())


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
    chains = idata.posterior.sizes["chain"]
    summary = diagnostics_summary(idata, var_names)
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
