"""Pooled imputation recovers the log odds ratios that complete cases bias, and agrees with statsmodels' MICE.

The cohorts are those of ``docs/missing_study.py`` (whose functions these tests run): x1 missing at random
given the outcome and x2, mostly among events with a high x2, so that complete cases are selected on the
outcome and x2 together and the complete-case log odds ratio of x2 is biased.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import bayes_ubpr as bu

SCRIPT = Path(__file__).parents[1] / "docs" / "missing_study.py"

pytestmark = pytest.mark.slow


def _load():
    spec = importlib.util.spec_from_file_location("missing_study", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


study = _load()

SAMPLING = bu.Sampling(draws=400, tune=300, chains=2)


@pytest.fixture(scope="module")
def replicates() -> pd.DataFrame:
    """Sixteen cohorts of the study's design, each fitted on complete cases and by pooled imputation (M = 5)."""
    design = study.Design()
    rows = []
    for k, seed in enumerate(np.random.SeedSequence(20270).spawn(16)):
        cohort_seed, cc_seed, mi_seed = seed.spawn(3)
        full, observed = study.simulate_cohort(design, cohort_seed)
        for method, method_seed in [("complete_case", cc_seed), ("bayes_mi", mi_seed)]:
            table, _, _ = study._counted(  # a StatisticalWarning (R-hat of a short chain) is counted, not raised
                study.analyse, method, full, observed, imputations=5, sampling=SAMPLING, seed=method_seed, threads=1
            )
            for coefficient, truth in design.truth.items():
                rows.append(
                    {
                        "replicate": k,
                        "method": method,
                        "coefficient": coefficient,
                        "error": table.loc[coefficient, "estimate"] - truth,
                    }
                )
    return pd.DataFrame(rows)


def _bias(replicates: pd.DataFrame, method: str, coefficient: str) -> tuple[float, float]:
    """Mean error over replicates and its Monte Carlo SE (replicate SD / sqrt(R))."""
    error = replicates.query("method == @method and coefficient == @coefficient")["error"]
    return error.mean(), error.std(ddof=1) / np.sqrt(len(error))


def test_complete_cases_bias_x2_and_pooled_imputation_does_not(replicates):
    bias, mcse = _bias(replicates, "complete_case", "x2")
    assert bias < -3 * mcse  # selected on the outcome and x2: the x2 log OR is pulled down, far beyond MC error
    for coefficient in ["x1", "x2"]:  # the imputed covariate and the one the missingness depends on
        bias, mcse = _bias(replicates, "bayes_mi", coefficient)
        assert abs(bias) < 4 * mcse, (coefficient, bias, mcse)


def test_pooled_posterior_matches_statsmodels_mice_with_rubins_rules():
    """One cohort of 2,000 patients: the pooled posterior against statsmodels' MICE + Rubin's rules (the reference).

    With the weak default prior (Normal(0, 1) per SD, against posterior SDs near 0.07 per SD here: the prior
    holds under 1% of the precision) and 2,000 patients, each imputation's posterior is close to the normal
    likelihood around its maximum, so its median and interval are those of ``sm.Logit``; the mixture of the
    imputations' posteriors has variance W + (1 - 1/M) B, Rubin's total W + (1 + 1/M) B (about 1% apart in SD
    at M = 30 here), and the t quantile of Rubin's df is within 1% of the normal one. What remains is Monte Carlo error: each method draws its
    own imputations (statsmodels with its own PMM, 20 donors, one chain), so each pooled estimate is off its
    M = infinity value by about sqrt(B / M), and each B is estimated on M - 1 degrees of freedom.
    """
    imputations = 30
    _, observed = study.simulate_cohort(study.Design(n=2000), np.random.SeedSequence(41))
    seeds = np.random.SeedSequence(42).spawn(2)
    idata, _, _ = study._counted(  # an R-hat note from one of the 30 short fits is counted, not raised
        study.fit_bayes,
        observed,
        sampling=bu.Sampling(draws=500, tune=400, chains=2),
        seed=seeds[0],
        missing="impute",
        imputations=imputations,
    )
    bayes = study.posterior_summary(idata).assign(between=study.between_imputation_variance(idata))
    reference = study.fit_mice(observed, imputations=imputations, seed=seeds[1])  # statsmodels MICE + Rubin

    ess = bu.model.diagnostics_summary(idata, ["beta"]).set_index(bayes.index)["ess_bulk"]
    sampler_mcse = 1.25 * bayes["sd"] / np.sqrt(ess)  # MCSE of a median, ~1.25 that of a mean for a normal
    imputation_mcse = np.sqrt(bayes["between"] / imputations + reference["between"] / imputations)
    tolerance = 0.25 * bayes["sd"] + 3 * np.sqrt(imputation_mcse**2 + sampler_mcse**2)
    difference = (bayes["estimate"] - reference["estimate"]).abs()
    assert (difference < tolerance).all(), pd.DataFrame({"difference": difference, "tolerance": tolerance})

    # Interval widths go as sqrt(W + B): an estimate of B on M - 1 df has a relative SE sqrt(2 / (M - 1)), so a
    # width has a relative SE about fmi / 2 * sqrt(2 / (M - 1)) per method (0.03 at x1's fmi of 0.25, M = 30);
    # three SEs of the difference of two such, plus 5% for the prior, the t quantile and the mixture's
    # W + (1 - 1/M) B against Rubin's W + (1 + 1/M) B, come to 19% for x1 and under 10% for x2 and z.
    width_se = reference["fmi"] / 2 * np.sqrt(2 / (imputations - 1))
    width_tolerance = 0.05 + 3 * np.sqrt(2) * width_se
    assert (width_tolerance < 0.2).all()  # the design keeps the comparison sharp
    ratio = (bayes["upper"] - bayes["lower"]) / (reference["upper"] - reference["lower"])
    assert ((ratio - 1).abs() < width_tolerance).all(), pd.DataFrame({"ratio": ratio, "tolerance": width_tolerance})
