"""The published study as data: constants, risk-factor metadata and tables.

Everything here is transcribed from

    Causes of Residual Back Pain at Early Stage After Percutaneous
    Vertebroplasty: A Retrospective Analysis of 1,316 Cases.
    Pain Physician (Xi'an Hong-Hui Hospital), page E500 for Table 5.

Numbers are stored exactly as printed, including where they disagree with
each other; such disagreements are findings for the audit, never silently
corrected here. The tables live as CSV files in ``bayes_ubpr/data`` and are
described in :data:`DATASETS`.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import replace
from importlib import resources

import pandas as pd

from bayes_ubpr.factors import Factor, FactorKind

__all__ = [
    "DATASETS",
    "DOMAINS",
    "N_CASES",
    "N_CONTROLS_SAMPLED",
    "N_PATIENTS",
    "NULL_FACTORS",
    "OUTCOME",
    "PLAUSIBLE_RANGES",
    "PREVALENCE",
    "RISK_FACTORS",
    "SIX_FACTORS",
    "RiskFactor",
    "as_printed",
    "table2",
    "table3",
    "table4",
    "table5",
]

N_PATIENTS = 1316
"""Patients treated by PVP between March 2013 and January 2016 (Methods)."""

N_CASES = 60
"""Patients with unsatisfactory back pain relief (Results)."""

N_CONTROLS_SAMPLED = 60
"""Satisfactory patients drawn at random as the comparison group (Results)."""

PREVALENCE = N_CASES / N_PATIENTS
"""Observed prevalence of UBPR, 60/1316 = 0.0456 (printed as 4.6%)."""

OUTCOME = "ubpr"
"""Outcome column: 1 = unsatisfactory back pain relief (VAS > 4 immediately
and one month after PVP), 0 = satisfactory relief."""


def _entry(name: str, label: str, kind: FactorKind, unit: str, coding: str, paper_row: str, domain: str) -> Factor:
    """Return a catalogue factor before its Table 4 scale and plausible range are attached."""
    return Factor(
        name,
        kind=kind,
        label=label,
        unit=unit,
        coding=coding,
        paper_row=paper_row,
        domain=domain,  # type: ignore[arg-type]
    )


RiskFactor = Factor
"""Former name of :class:`bayes_ubpr.factors.Factor` (deprecated; removed in 0.3)."""

_FACTORS = (
    _entry(
        "bmd_tscore_abs",
        "BMD T-score (magnitude)",
        "continuous",
        "1 T-score unit",
        "|T-score| of preoperative bone mineral density; higher = lower bone density",
        "BMD",
        "bone_quality",
    ),
    _entry(
        "fascia_injury",
        "Lumbodorsal fascia injury",
        "binary",
        "present vs absent",
        "1 = lumbodorsal (thoracolumbar) fascia contusion on MRI, 0 = none",
        "Lumbodorsal fascia contusion",
        "soft_tissue",
    ),
    _entry(
        "cement_distribution_poor",
        "Unsatisfactory cement distribution",
        "binary",
        "unsatisfactory vs satisfactory",
        "1 = unsatisfactory cement distribution, 0 = satisfactory",
        "Cement distribution",
        "surgical_technique",
    ),
    _entry(
        "n_fractures",
        "Number of fractures",
        "count",
        "1 fractured vertebra",
        "number of fractured vertebrae treated (whole number >= 1)",
        "Number of fractures",
        "surgical_technique",
    ),
    _entry(
        "cement_volume_ml",
        "Cement volume per level",
        "continuous",
        "1 mL",
        "cement volume injected per level, mL",
        "Cement volume injected per level",
        "surgical_technique",
    ),
    _entry(
        "depression",
        "Depression",
        "binary",
        "present vs absent",
        "1 = depression, 0 = none",
        "Depression",
        "psychological_comorbidity",
    ),
    _entry("age", "Age", "continuous", "1 year", "age, years", "Age", "demographics"),
    _entry("sex_male", "Male sex", "binary", "male vs female", "1 = male, 0 = female", "Gender", "demographics"),
    _entry("height_cm", "Height", "continuous", "1 cm", "height, cm", "Height", "demographics"),
    _entry("weight_kg", "Weight", "continuous", "1 kg", "weight, kg", "Weight", "demographics"),
    _entry(
        "bilateral_approach",
        "Bilateral approach",
        "binary",
        "bilateral vs unilateral",
        "1 = bilateral transpedicular approach, 0 = unilateral",
        "Surgical approach",
        "surgical_technique",
    ),
    _entry(
        "general_anesthesia",
        "General anaesthesia",
        "binary",
        "general vs local",
        "1 = general anaesthesia, 0 = local",
        "Anesthesia",
        "surgical_technique",
    ),
    _entry(
        "hypertension",
        "Hypertension",
        "binary",
        "present vs absent",
        "1 = hypertension, 0 = none",
        "Hypertension",
        "psychological_comorbidity",
    ),
    _entry(
        "diabetes",
        "Diabetes",
        "binary",
        "present vs absent",
        "1 = diabetes, 0 = none",
        "Diabetes",
        "psychological_comorbidity",
    ),
    _entry(
        "copd",
        "COPD",
        "binary",
        "present vs absent",
        "1 = chronic obstructive pulmonary disease, 0 = none",
        "COPD",
        "psychological_comorbidity",
    ),
)

DOMAINS: dict[str, tuple[str, ...]] = {
    domain: tuple(f.name for f in _FACTORS if f.domain == domain)
    for domain in dict.fromkeys(str(f.domain) for f in _FACTORS)
}
"""Factor names grouped by clinical domain."""

_OVER_TIME_NOTES = (
    "One row per time point (preoperative; immediately after the operation; 1, 3 and 12 months after), "
    "with each group's mean and SD as printed ({what}), 60 patients per group. marked is True where the "
    "paper prints * (P < 0.05) beside the unsatisfactory group's value. The printed table lists the "
    "unsatisfactory group first; the columns here follow Table 4's order (satisfactory first)."
)

DATASETS: dict[str, dict[str, str]] = {
    "table2": {
        "file": "table2.csv",
        "title": "Changes of preoperative and postoperative VAS scores of back pain (x ± s)",
        "source": "Paper, Table 2 (60 satisfactory vs 60 unsatisfactory patients)",
        "notes": _OVER_TIME_NOTES.format(what="VAS of back pain, 0-10, one decimal"),
    },
    "table3": {
        "file": "table3.csv",
        "title": "Changes of preoperative and postoperative ODI scores (x ± s)",
        "source": "Paper, Table 3 (60 satisfactory vs 60 unsatisfactory patients)",
        "notes": _OVER_TIME_NOTES.format(what="Oswestry Disability Index, percent, one decimal"),
    },
    "table4": {
        "file": "table4.csv",
        "title": "Univariate analyses for all factors associated with residual back pain after PVP",
        "source": "Paper, Table 4 (60 satisfactory vs 60 unsatisfactory patients)",
        "notes": (
            "One row per factor. Continuous and count factors: mean and SD per group. "
            "Binary factors: count and percent per group for the level coded 1 (level_1) "
            "and the level coded 0 (level_0). statistic is the printed t (continuous) or "
            "chi-square (binary) value; a printed P of 0.000 is stored as 0.0. The PDF "
            "text scrambles the table; statistics are assigned to rows in printed row order."
        ),
    },
    "table5": {
        "file": "table5.csv",
        "title": "The multifactor logistic regression analysis for the factors associated with UBPR",
        "source": "Paper, Table 5, page E500",
        "notes": (
            "B is the log odds ratio per unit of the factor (the paper's footnote calls it "
            "'baseline'); SE its standard error; wald the printed Wald chi-square; p the "
            "printed P (0.000 stored as 0.0); odds_ratio and ci_lower/ci_upper the printed "
            "OR and 95% CI."
        ),
    },
}
"""Registry of the paper's tables shipped with the package, with their sources."""


@functools.cache
def _load_dataset(name: str) -> pd.DataFrame:
    spec = DATASETS[name]
    with resources.files("bayes_ubpr").joinpath("data", spec["file"]).open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle)
    frame.attrs.update({"dataset": name, **spec})
    return frame


def _read_dataset(name: str) -> pd.DataFrame:
    """Return a fresh copy of a shipped table (read from disk once per process)."""
    return _load_dataset(name).copy(deep=True)


def as_printed(name: str) -> pd.DataFrame:
    """Return a shipped table with every cell as the string printed, trailing zeros kept.

    The audit reads the precision of each number from these strings (0.60
    is printed to two decimals, which the float 0.6 forgets).

    Parameters
    ----------
    name : {"table2", "table3", "table4", "table5"}
        A key of :data:`DATASETS`.

    Returns
    -------
    pandas.DataFrame
        The table with string cells ("" where the table has no value).
        Source and notes are in ``.attrs``.

    Raises
    ------
    ValueError
        If ``name`` is not a shipped table.

    Examples
    --------
    >>> from bayes_ubpr.paper import as_printed
    >>> as_printed("table4").set_index("factor").loc["n_fractures", "satisfactory_sd"]
    '0.60'
    """
    if name not in DATASETS:
        options = ", ".join(repr(key) for key in DATASETS)
        raise ValueError(f"name must be one of {options}; got {name!r}")
    spec = DATASETS[name]
    with resources.files("bayes_ubpr").joinpath("data", spec["file"]).open("r", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    frame.attrs.update({"dataset": name, **spec})
    return frame


def _over_time(name: str) -> pd.DataFrame:
    frame = _read_dataset(name)
    frame["marked"] = frame["marked"].astype(bool)
    return frame


def table2() -> pd.DataFrame:
    """Return the paper's Table 2: VAS of back pain over time in the two groups, as printed.

    Returns
    -------
    pandas.DataFrame
        Five rows (``time``: "preoperative", "immediate", "1_month",
        "3_months", "12_months") with the printed ``label``,
        ``satisfactory_mean``, ``satisfactory_sd``, ``unsatisfactory_mean``,
        ``unsatisfactory_sd`` (60 patients per group) and ``marked`` (True
        where the paper prints * for P < 0.05). Source and notes are in
        ``.attrs``.

    See Also
    --------
    table3 : the ODI over the same time points.

    Examples
    --------
    >>> from bayes_ubpr.paper import table2
    >>> t2 = table2().set_index("time")
    >>> float(t2.loc["1_month", "unsatisfactory_mean"]), bool(t2.loc["12_months", "marked"])
    (4.6, False)
    """
    return _over_time("table2")


def table3() -> pd.DataFrame:
    """Return the paper's Table 3: Oswestry Disability Index over time in the two groups, as printed.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`table2`, for the ODI (percent).

    See Also
    --------
    table2 : the VAS over the same time points.

    Examples
    --------
    >>> from bayes_ubpr.paper import table3
    >>> t3 = table3().set_index("time")
    >>> float(t3.loc["immediate", "satisfactory_mean"]), bool(t3.loc["immediate", "marked"])
    (45.4, True)
    """
    return _over_time("table3")


def table4() -> pd.DataFrame:
    """Return the paper's Table 4: each factor in the two groups, as printed.

    Returns
    -------
    pandas.DataFrame
        One row per candidate factor (15 rows) with columns ``factor``,
        ``paper_row``, ``kind``, ``level_1`` and ``level_0`` (the printed
        labels of the levels coded 1 and 0), ``satisfactory_mean``,
        ``satisfactory_sd``, ``unsatisfactory_mean``, ``unsatisfactory_sd``
        (continuous and count factors), ``satisfactory_n1``,
        ``satisfactory_pct1``, ``satisfactory_n0``, ``satisfactory_pct0`` and
        the same for ``unsatisfactory`` (binary factors), and the printed
        ``statistic_name`` ("t" or "chi2"), ``statistic`` and ``p``. Each
        group has 60 patients. Source and notes are in ``.attrs``.

    See Also
    --------
    table5 : the multivariate logistic regression.

    Examples
    --------
    >>> from bayes_ubpr.paper import table4
    >>> t4 = table4().set_index("factor")
    >>> float(t4.loc["cement_volume_ml", "unsatisfactory_mean"])
    4.75
    >>> int(t4.loc["fascia_injury", "unsatisfactory_n1"])
    43
    """
    frame = _read_dataset("table4")
    for column in frame.columns:
        if column.endswith(("_n1", "_n0")):
            frame[column] = frame[column].astype("Int64")
    return frame


def table5() -> pd.DataFrame:
    """Return the paper's Table 5: the multivariate logistic regression.

    Returns
    -------
    pandas.DataFrame
        One row per factor of :data:`SIX_FACTORS` with columns ``factor``,
        ``paper_row``, ``B`` (log odds ratio per unit), ``SE``, ``wald``,
        ``p``, ``odds_ratio``, ``ci_lower`` and ``ci_upper`` (95% CI), as
        printed. Source and notes are in ``.attrs``.

    See Also
    --------
    table4 : the univariate comparison of the two groups.

    Examples
    --------
    >>> from bayes_ubpr.paper import table5
    >>> t5 = table5().set_index("factor")
    >>> float(t5.loc["fascia_injury", "odds_ratio"])
    3.805
    """
    return _read_dataset("table5")


PLAUSIBLE_RANGES: dict[str, tuple[float, float]] = {
    "bmd_tscore_abs": (0.0, 10.0),
    "cement_volume_ml": (0.5, 20.0),
    "n_fractures": (1.0, 20.0),
    "age": (0.0, 120.0),
    "height_cm": (100.0, 230.0),
    "weight_kg": (20.0, 250.0),
}
"""Closed ranges outside which a catalogue factor's value is rejected as implausible
(likely a unit or sign error): a T-score magnitude above 10, more than 20 mL of
cement in one vertebra, fewer than 1 or more than 20 treated fractures."""


def _satisfactory_sd(row: pd.Series) -> float:
    """SD of a factor in the paper's satisfactory group: sqrt(q (1 - q)) for a binary one."""
    if row["kind"] == "binary":
        q = row["satisfactory_n1"] / (row["satisfactory_n1"] + row["satisfactory_n0"])
        return float(math.sqrt(q * (1 - q)))
    return float(row["satisfactory_sd"])


def _catalogue() -> dict[str, Factor]:
    """Return the fifteen factors with Table 4's satisfactory-group SD as reference scale."""
    rows = _load_dataset("table4").set_index("factor")
    return {
        f.name: replace(f, scale=_satisfactory_sd(rows.loc[f.name]), range=PLAUSIBLE_RANGES.get(f.name))
        for f in _FACTORS
    }


RISK_FACTORS: dict[str, Factor] = _catalogue()
"""All fifteen Table 4 candidate factors by column name, Table 5's six first.

Each is a :class:`~bayes_ubpr.factors.Factor` whose reference scale is its SD
in the paper's satisfactory group (Table 4; sqrt(q (1 - q)) for a binary
factor with a proportion q of ones) and whose plausible range is in
:data:`PLAUSIBLE_RANGES`."""

SIX_FACTORS: tuple[str, ...] = tuple(RISK_FACTORS)[:6]
"""The six factors of the paper's multivariate model (Table 5)."""

NULL_FACTORS: tuple[str, ...] = tuple(RISK_FACTORS)[6:]
"""The nine Table 4 factors without a detectable effect in the paper."""


def __getattr__(name: str) -> object:
    """Old home of the audit: ``paper.audit`` and ``paper.AUDIT_COLUMNS`` moved to :mod:`bayes_ubpr.audit`."""
    if name in {"audit", "AUDIT_COLUMNS"}:
        warnings.warn(
            f"bayes_ubpr.paper.{name} is deprecated and will be removed in the next release; "
            f"use bayes_ubpr.audit.{name}",
            DeprecationWarning,
            stacklevel=2,
        )
        from bayes_ubpr import audit as _audit

        return getattr(_audit, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
