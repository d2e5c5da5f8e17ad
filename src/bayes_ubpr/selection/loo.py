"""Comparing fits by Pareto-smoothed importance-sampling leave-one-out cross-validation (PSIS-LOO).

:func:`loo` and :func:`compare_models` estimate how well fits predict a new
patient of the kind they were fitted to (PSIS-LOO, Vehtari, Gelman & Gabry
2017) and weigh them against each other. Both are functions of fits, read
through :class:`bayes_ubpr.model.Fitted`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import arviz as az
import numpy as np
import pandas as pd

from bayes_ubpr._rng import SeedLike, as_int_seed
from bayes_ubpr._validate import check_choice
from bayes_ubpr.exceptions import StatisticalWarning
from bayes_ubpr.model import Fitted

__all__ = ["PARETO_K_THRESHOLD", "LooResult", "compare_models", "loo"]

PARETO_K_THRESHOLD = 0.7
"""Pareto k above which a patient's PSIS-LOO estimate is unreliable (Vehtari et al. 2024)."""

_K_BINS: tuple[tuple[float, float, str], ...] = (
    (-np.inf, 0.5, "k <= 0.5 (good)"),
    (0.5, 0.7, "0.5 < k <= 0.7 (ok)"),
    (0.7, 1.0, "0.7 < k <= 1 (bad)"),
    (1.0, np.inf, "k > 1 (very bad)"),
)


def _with_log_likelihood(idata: az.InferenceData) -> az.InferenceData:
    """Return the fit's posterior and pointwise log likelihood (computed if the fit was saved without it)."""
    stored = "log_likelihood" in idata.groups()
    log_lik = idata.log_likelihood if stored else Fitted.of(idata).log_likelihood()
    return az.InferenceData(posterior=idata.posterior, log_likelihood=log_lik)


def _elpd_data(idata: az.InferenceData, name: str) -> az.ELPDData:
    """ArviZ's pointwise PSIS-LOO of a fit; its warning about high Pareto k becomes ours, naming the patients."""
    Fitted.of(idata, name=name)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto", category=UserWarning)
        result = az.loo(_with_log_likelihood(idata), pointwise=True)
    k = result["pareto_k"]
    high = k["obs"].values[k.values > PARETO_K_THRESHOLD]
    if high.size:
        shown = ", ".join(map(str, high[:10])) + (f" and {high.size - 10} more" if high.size > 10 else "")
        warnings.warn(
            f"PSIS-LOO of {name}: {high.size} patient(s) with Pareto k > {PARETO_K_THRESHOLD} ({shown}); "
            "their leave-one-out estimates are unreliable (refit without them, or use K-fold CV)",
            StatisticalWarning,
            stacklevel=3,
        )
    return result


@dataclass(frozen=True)
class LooResult:
    """PSIS-LOO estimate of a fit's expected log predictive density.

    Attributes
    ----------
    elpd_loo : float
        Sum over patients of the leave-one-out log predictive density.
    se : float
        Its standard error (sqrt(n) times the SD of the pointwise values).
    p_loo : float
        Effective number of parameters: the in-sample log predictive density
        less ``elpd_loo``.
    pointwise : pandas.DataFrame
        One row per patient: ``obs`` (the fit's row label), ``elpd_loo``
        and ``pareto_k``.

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, loo
    >>> result = loo(fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1))
    >>> result.n_obs, bool(5 < result.p_loo < 10), result.high_k  # 7 parameters, no unreliable patient
    (600, True, [])
    """

    elpd_loo: float
    se: float
    p_loo: float
    pointwise: pd.DataFrame = field(repr=False)

    @property
    def n_obs(self) -> int:
        """Number of patients."""
        return len(self.pointwise)

    @property
    def high_k(self) -> list[Any]:
        """Row labels of the patients with Pareto k > 0.7, whose estimates are unreliable."""
        return self.pointwise.loc[self.pointwise["pareto_k"] > PARETO_K_THRESHOLD, "obs"].tolist()

    def pareto_k_summary(self) -> pd.DataFrame:
        """Patients per range of Pareto k: ``range``, ``count``, ``share``."""
        k = self.pointwise["pareto_k"].to_numpy()
        counts = [int(((k > low) & (k <= high)).sum()) for low, high, _ in _K_BINS]
        return pd.DataFrame(
            {"range": [label for *_, label in _K_BINS], "count": counts, "share": np.array(counts) / len(k)}
        )

    def __str__(self) -> str:
        table = self.pareto_k_summary().to_string(index=False, float_format=lambda v: f"{v:.3f}")
        return (
            f"PSIS-LOO over {self.n_obs} patients: elpd_loo {self.elpd_loo:.1f} (SE {self.se:.1f}), "
            f"p_loo {self.p_loo:.1f}\n{table}"
        )


def loo(idata: az.InferenceData) -> LooResult:
    """Pareto-smoothed importance-sampling leave-one-out cross-validation (PSIS-LOO) of a fit.

    Computed by :func:`arviz.loo` from the fit's pointwise log likelihood
    (stored by :func:`bayes_ubpr.fit`; computed from the posterior for fits
    saved without it). The predictive density is on the scale of the data
    fitted: for a case-control sample, that of a patient drawn like the
    sample's (half of them cases at 1:1), not of a patient from the
    population; the case-control correction of the intercept plays no part.

    Parameters
    ----------
    idata : arviz.InferenceData
        A fit from :func:`bayes_ubpr.fit` or :func:`bayes_ubpr.load_fit`.

    Returns
    -------
    LooResult

    Raises
    ------
    TypeError, ValueError
        If ``idata`` is not a bayes_ubpr fit.

    Warns
    -----
    StatisticalWarning
        Naming the patients whose Pareto k exceeds 0.7.

    References
    ----------
    Vehtari A, Gelman A, Gabry J (2017). Practical Bayesian model evaluation
    using leave-one-out cross-validation and WAIC. Statistics and Computing
    27(5):1413-1432. doi:10.1007/s11222-016-9696-4

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, loo
    >>> result = loo(fit(simulate_cohort(n=600, prevalence=0.3, seed=5), chains=2, seed=1))
    >>> result.pareto_k_summary()["count"].tolist()
    [600, 0, 0, 0]
    """
    result = _elpd_data(idata, "idata")
    pointwise = pd.DataFrame(
        {
            "obs": result["loo_i"]["obs"].values,
            "elpd_loo": result["loo_i"].values,
            "pareto_k": result["pareto_k"].values,
        }
    )
    return LooResult(float(result["elpd_loo"]), float(result["se"]), float(result["p_loo"]), pointwise)


def _check_same_data(fits: Mapping[str, az.InferenceData]) -> None:
    """Raise ValueError unless every fit was fitted to the same patients with the same outcomes."""
    items = list(fits.items())
    first_name, first = items[0]
    first_y = first.observed_data[Fitted.of(first, name=f'fit "{first_name}"').outcome]
    for name, idata in items[1:]:
        y = idata.observed_data[Fitted.of(idata, name=f'fit "{name}"').outcome]
        if y.size != first_y.size:
            raise ValueError(
                f'compare_models needs fits of the same patients: "{name}" has {y.size} observations, '
                f'"{first_name}" {first_y.size}'
            )
        if not np.array_equal(y["obs"].values, first_y["obs"].values):
            raise ValueError(
                f'compare_models needs fits of the same patients: "{name}" and "{first_name}" have different '
                "row labels (obs); fit both to the same data frame"
            )
        differ = np.flatnonzero(y.values != first_y.values)
        if differ.size:
            rows = ", ".join(map(str, y["obs"].values[differ[:5]]))
            raise ValueError(
                f'compare_models needs fits of the same outcomes: "{name}" and "{first_name}" differ in '
                f"{differ.size} patient(s) (rows {rows})"
            )


_METHODS = ("stacking", "BB-pseudo-BMA", "pseudo-BMA")


def compare_models(
    fits: Mapping[str, az.InferenceData], *, method: str = "stacking", seed: SeedLike = None
) -> pd.DataFrame:
    """Compare fits of the same patients by PSIS-LOO: elpd differences with SE and model weights.

    :func:`arviz.compare` on each fit's :func:`loo`. A difference is only
    meaningful between fits of the same observations, so fits of different
    patients or outcomes are refused.

    Parameters
    ----------
    fits : mapping of str to arviz.InferenceData
        Two or more fits from :func:`bayes_ubpr.fit`, by name.
    method : {"stacking", "BB-pseudo-BMA", "pseudo-BMA"}, default "stacking"
        How the weights are computed (Yao et al. 2018).
    seed : None, int or numpy.random.Generator
        For the Bayesian bootstrap of ``"BB-pseudo-BMA"``.

    Returns
    -------
    pandas.DataFrame
        One row per fit, best first: ``model``, ``rank``, ``elpd_loo``,
        ``se``, ``p_loo``, ``elpd_diff`` (to the best fit, 0 for it),
        ``diff_se`` (SE of the difference, from the pointwise differences),
        ``weight`` and ``n_high_k`` (patients with Pareto k > 0.7).

    Raises
    ------
    ValueError
        For fewer than two fits, or fits of different patients (number, row
        labels) or outcomes.
    TypeError
        If ``fits`` is not a mapping of names to fits.

    References
    ----------
    Yao Y, Vehtari A, Simpson D, Gelman A (2018). Using stacking to average
    Bayesian predictive distributions. Bayesian Analysis 13(3):917-1007.
    doi:10.1214/17-BA1091

    Examples
    --------
    >>> from bayes_ubpr import simulate_cohort, fit, compare_models
    >>> cohort = simulate_cohort(n=600, prevalence=0.3, seed=5)
    >>> six = fit(cohort, chains=2, seed=1)
    >>> two = fit(cohort, factors=["fascia_injury", "depression"], chains=2, seed=1)
    >>> table = compare_models({"six factors": six, "two factors": two})
    >>> table["model"].tolist(), bool(table["elpd_diff"].iloc[1] > 2 * table["diff_se"].iloc[1])
    (['six factors', 'two factors'], True)
    """
    if not isinstance(fits, Mapping):
        raise TypeError(f"fits must be a mapping of names to fits, e.g. {{'a': fit_a}}; got {type(fits).__name__}")
    if len(fits) < 2:
        raise ValueError(f"compare_models needs at least two fits; got {len(fits)}")
    check_choice(method, _METHODS, name="method")
    for name, idata in fits.items():
        if not isinstance(name, str):
            raise TypeError(f"fit names must be strings; got {name!r}")
        Fitted.of(idata, name=f'fit "{name}"')
    _check_same_data(fits)
    elpd = {name: _elpd_data(idata, f'fit "{name}"') for name, idata in fits.items()}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Estimated shape parameter of Pareto", category=UserWarning)
        # ArviZ 0.23 sorts in place, which pandas 3 deprecates: ArviZ's to fix, nothing for users to act on.
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.sort_values")
        compared = az.compare(elpd, ic="loo", method=method, seed=as_int_seed(seed) if method[0] == "B" else None)
    table = compared.reset_index(names="model").rename(columns={"dse": "diff_se"})
    table["n_high_k"] = [int((elpd[m]["pareto_k"].values > PARETO_K_THRESHOLD).sum()) for m in table["model"]]
    table["rank"] = table["rank"].astype(int)
    columns = ["model", "rank", "elpd_loo", "se", "p_loo", "elpd_diff", "diff_se", "weight", "n_high_k"]
    return table[columns].astype({c: float for c in columns[2:8]})
