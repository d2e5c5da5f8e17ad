"""Missing values: how much is missing, and multiple imputation of a cohort's raw columns.

:func:`missingness_table` counts what is missing, overall and by outcome;
:func:`impute` returns completed copies of a cohort (statsmodels'
``MICEData``, predictive mean matching). Fitting the completed data sets and
pooling their draws is the model's business (``fit(..., missing="impute")``).
Pure pandas, numpy and statsmodels: nothing here depends on PyMC.
"""

from bayes_ubpr.missing.impute import DONORS, IMPUTATIONS, ITERATIONS, ImputationSettings, impute
from bayes_ubpr.missing.table import complete_cases, missingness_table

__all__ = [
    "DONORS",
    "IMPUTATIONS",
    "ITERATIONS",
    "ImputationSettings",
    "complete_cases",
    "impute",
    "missingness_table",
]
