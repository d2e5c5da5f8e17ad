"""Multiple imputation of a cohort's raw columns by chained equations (statsmodels' ``MICEData``).

Each column with missing values gets a linear model given every other column
of the imputation model (the model's variables, the outcome, the groups and
any auxiliary columns); its missing values are filled by predictive mean
matching (PMM: a draw among the ``donors`` observed patients whose predicted
values are closest, after the model's coefficients are drawn from their
approximate posterior). PMM imputes values that were observed, so a 0/1
column stays 0/1, a count stays whole and a bounded score stays in range;
scikit-learn's ``IterativeImputer(sample_posterior=True)`` draws from a
normal linear model and imputes fractional or out-of-range values instead
(``benchmarks/bench_imputation.py``). Each imputation runs its own chain
from its own seed, so imputation k is the same however many are asked for.

The outcome is always in the imputation model: leaving it out biases the
odds ratios of the imputed covariates toward 1 (Moons et al. 2006). In a
case-control sample the outcome is also the sampling indicator, so the
design is in the model too.

References
----------
van Buuren S, Groothuis-Oudshoorn K (2011). mice: Multivariate imputation by
chained equations in R. J Stat Softw 45(3). doi:10.18637/jss.v045.i03

Moons KGM, Donders RART, Stijnen T, Harrell FE (2006). Using the outcome for
imputation of missing predictor values was preferred. J Clin Epidemiol
59(10):1092-1101. doi:10.1016/j.jclinepi.2006.01.009
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from bayes_ubpr._rng import SeedLike, spawn_seeds
from bayes_ubpr._validate import check_positive_int, describe_rows, require_dataframe
from bayes_ubpr.exceptions import CohortValidationError

__all__ = ["DONORS", "IMPUTATIONS", "ITERATIONS", "ImputationSettings", "impute"]

IMPUTATIONS = 20
"""Default number of imputations. With 7% of values missing the fraction of missing information is
small, and 20 imputations put the Monte Carlo error of a pooled interval well below its width; von Hippel
(2020, Sociol Methods Res 49(3):699-718) and White, Royston & Wood (2011, Stat Med 30(4):377-399, the rule
"as many imputations as the percentage of incomplete cases") are the usual guides."""

ITERATIONS = 10
"""Cycles of chained equations per imputation (statsmodels' ``MICE`` burns in 10; R's mice runs 5)."""

DONORS = 5
"""Observed patients among which PMM draws each imputed value (R mice's default, ``donors = 5``)."""


@dataclasses.dataclass(frozen=True)
class ImputationSettings:
    """How the missing values are imputed; stored in a fit's ``attrs`` as ``missing``.

    Parameters
    ----------
    imputations : int, default 20
        Completed data sets; see :data:`IMPUTATIONS`.
    iterations : int, default 10
        Cycles of chained equations per imputation.
    donors : int, default 5
        Donors of predictive mean matching.
    auxiliary : sequence of str, default ()
        Columns that are not in the model but predict the missing values or
        their being missing (age, when BMD is missing more often in the very
        old): they join the imputation model only.
    """

    imputations: int = IMPUTATIONS
    iterations: int = ITERATIONS
    donors: int = DONORS
    auxiliary: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "imputations", check_positive_int(self.imputations, name="imputations"))
        object.__setattr__(self, "iterations", check_positive_int(self.iterations, name="iterations"))
        object.__setattr__(self, "donors", check_positive_int(self.donors, name="donors"))
        auxiliary = self.auxiliary
        if isinstance(auxiliary, str) or not all(isinstance(c, str) and c for c in auxiliary):
            raise TypeError(f"auxiliary must be a sequence of column names; got {auxiliary!r}")
        object.__setattr__(self, "auxiliary", tuple(dict.fromkeys(auxiliary)))

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as plain values."""
        return {**dataclasses.asdict(self), "auxiliary": list(self.auxiliary)}


@dataclasses.dataclass(frozen=True)
class _Column:
    """One column of the imputation model, how it is coded for statsmodels, and how it is read back."""

    name: str
    kind: str  # "numeric" (imputed or not), "binary" (two text levels, coded 0/1), "dummies" (complete text)
    levels: tuple = ()


def _plan(frame: pd.DataFrame, columns: Sequence[str], outcome: str, groups: Sequence[str]) -> list[_Column]:
    """Decide how each column enters the imputation model; refuse what cannot be imputed, naming it."""
    n = len(frame)
    plan = []
    for column in dict.fromkeys([*columns, outcome]):
        values = frame[column]
        absent = values.isna().to_numpy()
        if absent.all():
            message = f'Column "{column}" has no values at all: nothing to impute it from.'
            raise CohortValidationError(message, column=column)
        if absent.any() and column == outcome:
            rows = list(frame.index[absent])
            raise CohortValidationError(
                f'Column "{column}" (the outcome) has missing values in {_rows(rows)}: an outcome is not imputed '
                "(a patient whose outcome is unknown adds nothing to the analysis model). Remove those patients "
                "explicitly and report how many.",
                column=column,
                rows=rows,
            )
        numeric = pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)
        if numeric and not isinstance(values.dtype, pd.CategoricalDtype):
            plan.append(_Column(column, "numeric"))
            continue
        if isinstance(values.dtype, pd.CategoricalDtype):
            levels = tuple(level for level in values.cat.categories if (values == level).any())
        else:
            levels = tuple(sorted(values.dropna().unique(), key=str))
        if not absent.any():
            plan.append(_Column(column, "dummies", levels))
        elif len(levels) <= 2:
            plan.append(_Column(column, "binary", levels))
        else:
            rows = list(frame.index[absent])
            raise CohortValidationError(
                f'Column "{column}" has {len(levels)} categories and missing values in {_rows(rows)} '
                f"({absent.sum()} of {n}): multiple imputation here imputes numbers and two-level categories only. "
                'Give the unknown ones a level of their own (e.g. "not recorded"), or impute them elsewhere and '
                "pass the completed data sets as a list.",
                column=column,
                rows=rows,
            )
    if groups:
        plan.append(_group_column(frame, groups))
    return plan


def _group_column(frame: pd.DataFrame, groups: Sequence[str]) -> _Column:
    """Return the groups as one categorical column of their combinations (nested groupings: the finest).

    One set of indicators: hospital and surgeon-within-hospital indicators
    would be collinear.
    """
    for column in groups:
        absent = frame[column].isna().to_numpy()
        if absent.any():
            rows = list(frame.index[absent])
            raise CohortValidationError(
                f'Column "{column}" (a grouping) has missing values in {_rows(rows)}: a grouping is not imputed. '
                'Give the unknown ones a label of their own (e.g. "unknown"), or remove those patients explicitly.',
                column=column,
                rows=rows,
            )
    labels = _group_labels(frame, groups)
    return _Column(_GROUPS, "dummies", tuple(sorted(set(labels))))


_GROUPS = "\x00groups"
"""Name of the combined grouping column of the imputation model (no cohort column has it)."""


def _group_labels(frame: pd.DataFrame, groups: Sequence[str]) -> pd.Series:
    return frame[list(groups)].astype(str).agg("\x1f".join, axis=1)


def _rows(rows: Sequence[object]) -> str:
    return f"row {rows[0]}" if len(rows) == 1 else f"rows {describe_rows(rows)}"


def _encode(frame: pd.DataFrame, plan: Sequence[_Column], groups: Sequence[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """Return the numeric frame statsmodels imputes (columns v0, v1, ... that patsy can read) and the name map."""
    coded: dict[str, np.ndarray] = {}
    names: dict[str, str] = {}
    for j, column in enumerate(plan):
        values = _group_labels(frame, groups) if column.name == _GROUPS else frame[column.name]
        key = f"v{j}"
        if column.kind == "numeric":
            coded[key] = pd.to_numeric(values.astype("Float64") if values.dtype == bool else values).to_numpy(
                dtype=float, na_value=np.nan
            )
            names[column.name] = key
        elif column.kind == "binary":
            codes = values.map({level: float(i) for i, level in enumerate(column.levels)})
            coded[key] = codes.to_numpy(dtype=float, na_value=np.nan)
            names[column.name] = key
        else:
            for i, level in enumerate(column.levels[1:], start=1):
                coded[f"{key}_{i}"] = (values == level).to_numpy(dtype=float)
    return pd.DataFrame(coded), names


def _decode(data: pd.DataFrame, imputed: pd.DataFrame, plan: Sequence[_Column], names: dict[str, str]) -> pd.DataFrame:
    """Return ``data`` with the missing values of each imputed column filled from ``imputed``."""
    completed = data.copy()
    completed.attrs = dict(data.attrs)
    for column in plan:
        if column.kind == "dummies":
            continue
        absent = data[column.name].isna().to_numpy()
        if not absent.any():
            continue
        values = imputed[names[column.name]].to_numpy()[absent]
        if column.kind == "binary":
            values = np.array([column.levels[round(v)] for v in values], dtype=object)
        series = completed[column.name].copy()
        if isinstance(series.dtype, pd.CategoricalDtype):
            series.iloc[np.flatnonzero(absent)] = values
        else:
            if series.dtype == object or pd.api.types.is_numeric_dtype(series):
                series = series.astype(object) if column.kind == "binary" else series.astype(float)
            series.iloc[np.flatnonzero(absent)] = values
            if column.kind == "numeric" and pd.api.types.is_integer_dtype(data[column.name].dtype):
                series = series.astype(data[column.name].dtype)
        completed[column.name] = series
    return completed


def _mice_data() -> type:
    """Return statsmodels' ``MICEData`` with its design matrices built by numpy instead of patsy.

    For the default conditional model of each column (all other columns as
    main effects, with an intercept: the formula ``v ~ a + b + ...`` that
    ``MICEData`` writes itself) the design is the other columns in order,
    after a column of ones: what patsy builds, value for value, 10 times
    faster (patsy took 90% of an imputation's time). Everything else --
    the draws of the coefficients, predictive mean matching -- is
    statsmodels' own. ``tests/test_missing.py`` checks that the imputations
    equal those of ``MICEData`` itself.
    """
    from statsmodels.imputation.mice import MICEData

    class _NumpyDesign(MICEData):  # type: ignore[misc]
        def _design(self, vname: str) -> tuple[np.ndarray, np.ndarray]:
            data = self.data
            others = [c for c in data.columns if c != vname]
            exog = np.column_stack([np.ones(len(data)), data[others].to_numpy(dtype=float)])
            return data[vname].to_numpy(dtype=float), exog

        def get_split_data(self, vname: str) -> tuple:
            endog, exog = self._design(vname)
            ixo, ixm = self.ix_obs[vname], self.ix_miss[vname]
            return endog[ixo], exog[ixo], exog[ixm], {}, {}

        def get_fitting_data(self, vname: str) -> tuple:
            endog, exog = self._design(vname)
            ix = self.ix_obs[vname]
            return endog[ix], exog[ix], {}, {}

    return _NumpyDesign


def _one_imputation(coded: pd.DataFrame, settings: ImputationSettings, seed: np.random.SeedSequence) -> pd.DataFrame:
    from statsmodels.tools.sm_exceptions import SingularMatrixWarning

    with warnings.catch_warnings():
        # Indicators of groups and rare levels can be collinear (nested groupings, a bootstrap of the rows);
        # the least-squares fit is still defined (pseudo-inverse), and PMM only ranks its predictions.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", SingularMatrixWarning)
        mice = _mice_data()(coded, k_pmm=settings.donors, rng=np.random.default_rng(seed))
        mice.update_all(settings.iterations)
    return mice.data


def impute(
    data: pd.DataFrame,
    columns: Sequence[str],
    *,
    outcome: str,
    groups: Sequence[str] = (),
    settings: ImputationSettings | None = None,
    seed: SeedLike = None,
) -> list[pd.DataFrame]:
    """Return ``settings.imputations`` completed copies of ``data``, the missing values of ``columns`` imputed.

    Parameters
    ----------
    data : pandas.DataFrame
        The cohort with missing values (``NaN``, ``None``, ``pd.NA``).
    columns : sequence of str
        The raw columns the analysis model reads (numbers, 0/1, text
        categories); those with missing values are imputed.
    outcome : str
        The 0/1 outcome: in the imputation model, never imputed.
    groups : sequence of str, default ()
        Grouping columns (hospital, surgeon): in the imputation model as
        indicators of their combinations (for nested groupings, of the
        finest), never imputed.
    settings : ImputationSettings, optional
        Number of imputations, iterations, donors and auxiliary columns.
    seed : None, int or numpy.random.Generator
        Imputation k uses the k-th child seed: the same whatever the number
        of imputations.

    Returns
    -------
    list of pandas.DataFrame
        Completed copies, in order; columns outside the imputation model,
        row labels and ``attrs`` as in ``data``; ``attrs["imputation"]`` the
        number of each.

    Raises
    ------
    CohortValidationError
        A required column absent; missing values in the outcome or a
        grouping; a column with no values; a text column of more than two
        categories with missing values (these are named, with their rows).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from bayes_ubpr.missing import ImputationSettings, impute
    >>> rng = np.random.default_rng(0)
    >>> cohort = pd.DataFrame({"age": rng.normal(75, 8, 200), "ubpr": rng.integers(0, 2, 200)})
    >>> cohort["bmd"] = -2.5 - 0.05 * (cohort["age"] - 75) + rng.normal(0, 0.5, 200)
    >>> cohort.loc[cohort["age"] > 85, "bmd"] = np.nan
    >>> done = impute(cohort, ["bmd"], outcome="ubpr", settings=ImputationSettings(imputations=3), seed=1)
    >>> len(done), int(done[0]["bmd"].isna().sum()), bool(done[0]["bmd"].isin(cohort["bmd"]).all())
    (3, 0, True)
    """
    frame = require_dataframe(data)
    settings = ImputationSettings() if settings is None else settings
    wanted = [*columns, outcome, *groups, *settings.auxiliary]
    absent = [column for column in dict.fromkeys(wanted) if column not in frame.columns]
    if absent:
        raise CohortValidationError(
            f"Missing required column(s) for imputation: {', '.join(absent)}. "
            f"Columns present: {', '.join(map(str, frame.columns))}.",
            column=absent[0],
        )
    plan = _plan(frame, [*columns, *settings.auxiliary], outcome, groups)
    coded, names = _encode(frame, plan, groups)
    if not coded.isna().any().any():
        return [_with_number(frame.copy(), frame.attrs, k) for k in range(settings.imputations)]
    children = spawn_seeds(seed, settings.imputations)
    completed = []
    for k, child in enumerate(children):
        imputed = _one_imputation(coded, settings, child)
        completed.append(_with_number(_decode(frame, imputed, plan, names), frame.attrs, k))
    return completed


def _with_number(frame: pd.DataFrame, attrs: dict, k: int) -> pd.DataFrame:
    frame.attrs = {**attrs, "imputation": k}
    return frame
