"""Benchmark: multiple imputation, the imputer chosen and what 20 imputations cost against one fit.

1. The imputer. statsmodels' ``MICEData`` (predictive mean matching, what
   ``bayes_ubpr.missing.impute`` uses) against scikit-learn's
   ``IterativeImputer(sample_posterior=True)`` (Bayesian ridge draws; a user's
   other choice, ``pip install scikit-learn``), both making 20 imputations of
   the issue's cohort: 920 patients, BMD T-score missing for ~7% (more often
   over 80), fascia injury (0/1) for ~7%, a count and a bounded score
   complete. Printed: time for 20 imputations, the share of imputed 0/1 values
   that are not 0 or 1, the share of imputed BMD values outside the observed
   range, and the mean imputed BMD against the true (masked) values' mean.
2. The cost. One fit of the completed cohort (4 chains x (1,000 + 1,000)),
   then ``fit(..., missing="impute", imputations=20)`` with the same sampling
   per imputation, in one process: the ratio to 20 single fits (goal: at most
   1), and the same with 250 draws per imputation (what the docs suggest).

Run:  python benchmarks/bench_imputation.py [--imputations 20]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from scipy.special import expit

import bayes_ubpr as bu
from bayes_ubpr.missing import ImputationSettings, impute

FORMULA = "pain ~ age + bmd_tscore + fascia_injury + n_fractures + score"


def cohort(seed: int = 23, n: int = 920) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cohort with its missing values, and the same cohort complete (the truth)."""
    rng = np.random.default_rng(seed)
    age = rng.normal(74, 7, n).round()
    bmd = (-3.0 - 0.03 * (age - 74) + rng.normal(0, 0.6, n)).round(1)
    injury = rng.binomial(1, 0.25, n)
    fractures = rng.poisson(0.5, n) + 1
    score = np.clip(rng.normal(5, 2, n).round(), 0, 10)
    eta = -3.0 + 0.03 * (age - 74) - 0.4 * (bmd + 3) + 1.0 * injury + 0.3 * (fractures - 1) + 0.1 * (score - 5)
    truth = pd.DataFrame(
        {"age": age, "bmd_tscore": bmd, "fascia_injury": injury, "n_fractures": fractures, "score": score}
    )
    truth["pain"] = rng.binomial(1, expit(eta))
    data = truth.copy()
    old = rng.random(n) < np.where(age > 80, 0.2, 0.04)
    data.loc[old, "bmd_tscore"] = np.nan
    data.loc[rng.random(n) < 0.07, "fascia_injury"] = np.nan
    return data, truth


def imputer_table(data: pd.DataFrame, truth: pd.DataFrame, m: int) -> pd.DataFrame:
    columns = ["age", "bmd_tscore", "fascia_injury", "n_fractures", "score"]
    holes_bmd, holes_injury = data["bmd_tscore"].isna(), data["fascia_injury"].isna()
    low, high = data["bmd_tscore"].min(), data["bmd_tscore"].max()
    rows = []

    def summarise(name: str, seconds: float, done: list[pd.DataFrame]) -> None:
        injury = np.concatenate([d.loc[holes_injury, "fascia_injury"].to_numpy() for d in done])
        bmd = np.concatenate([d.loc[holes_bmd, "bmd_tscore"].to_numpy() for d in done])
        rows.append(
            {
                "imputer": name,
                "seconds": seconds,
                "binary_not_0_1": float(np.mean(~np.isin(injury, [0.0, 1.0]))),
                "bmd_outside_observed_range": float(np.mean((bmd < low) | (bmd > high))),
                "mean_imputed_bmd": float(bmd.mean()),
                "true_mean_of_missing_bmd": float(truth.loc[holes_bmd, "bmd_tscore"].mean()),
            }
        )

    start = time.perf_counter()
    done = impute(data, columns, outcome="pain", settings=ImputationSettings(imputations=m), seed=1)
    summarise("statsmodels MICEData (PMM)", time.perf_counter() - start, done)
    try:
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401
        from sklearn.impute import IterativeImputer
    except ImportError:
        print("scikit-learn is not installed: its IterativeImputer is left out (pip install scikit-learn)")
        return pd.DataFrame(rows)
    start = time.perf_counter()
    values = data[[*columns, "pain"]].to_numpy(dtype=float)
    done = []
    for k in range(m):
        imputer = IterativeImputer(sample_posterior=True, max_iter=10, random_state=k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            filled = imputer.fit_transform(values)
        done.append(pd.DataFrame(filled, columns=[*columns, "pain"], index=data.index))
    summarise("scikit-learn IterativeImputer (sample_posterior)", time.perf_counter() - start, done)
    return pd.DataFrame(rows)


def cost(data: pd.DataFrame, truth: pd.DataFrame, m: int) -> None:
    settings = {"chains": 4, "draws": 1000, "tune": 1000}
    bu.fit(truth, FORMULA, seed=0, **settings)  # compile (or load the cached density) once, for both
    start = time.perf_counter()
    bu.fit(truth, FORMULA, seed=1, **settings)
    one = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bu.fit(data, FORMULA, missing="impute", imputations=m, seed=1, **settings)
    pooled = time.perf_counter() - start
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bu.fit(data, FORMULA, missing="impute", imputations=m, seed=1, **(settings | {"draws": 250}))
    short = time.perf_counter() - start
    print(f"one fit (4 x (1000 + 1000)), complete cohort: {one:.2f} s")
    print(f"{m} imputations, same sampling each:         {pooled:.2f} s = {pooled / (m * one):.2f}x {m} single fits")
    print(f"{m} imputations, 250 draws each:             {short:.2f} s = {short / (m * one):.2f}x {m} single fits")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imputations", type=int, default=20)
    args = parser.parse_args()
    data, truth = cohort()
    print(
        f"{len(data)} patients, {int(truth['pain'].sum())} events; missing: BMD {data['bmd_tscore'].isna().sum()}, "
        f"fascia injury {data['fascia_injury'].isna().sum()}"
    )
    with pd.option_context("display.width", 160, "display.float_format", "{:.3g}".format):
        print(imputer_table(data, truth, args.imputations).to_string(index=False))
    cost(data, truth, args.imputations)


if __name__ == "__main__":
    main()
