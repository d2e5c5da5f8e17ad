"""What a fit of multiply imputed data did with the missing values, and what complete-case analysis would say."""

from __future__ import annotations

import dataclasses
import json

import arviz as az
import pandas as pd

from bayes_ubpr._text import format_interval, text_table
from bayes_ubpr.effects.odds_ratios import term_odds_ratios, without_repeated_main_effects
from bayes_ubpr.model import Fitted

__all__ = ["MissingSummary", "missing_summary"]

_KEYS = ["term", "contrast", "stratum"]


@dataclasses.dataclass(frozen=True)
class MissingSummary:
    """The missing values of a fit's data and how they were handled.

    Attributes
    ----------
    method : {"impute", "model", "given"}
        Imputed by :func:`bayes_ubpr.fit` (``missing="impute"``), modelled
        inside the model (``missing="model"``), or completed data sets given
        as a list.
    imputations : int
        Completed data sets whose draws were pooled (0: nothing was missing,
        or the values were modelled).
    imputed_columns : tuple of str
        Columns with missing values that were imputed (or modelled).
    auxiliary : tuple of str
        Columns in the imputation model only (``impute_with``).
    table : pandas.DataFrame
        :func:`bayes_ubpr.missing.missingness_table` of the data (empty for
        given imputations).
    n_patients, n_events : int
        Patients and events the pooled fit used.
    complete_cases, complete_case_events : int or None
        What a complete-case analysis keeps (None for given imputations).
    comparison : pandas.DataFrame or None
        With ``compare_complete_case=True``: per term and contrast (as
        :func:`bayes_ubpr.term_odds_ratios`), the pooled odds ratio
        (``or_median``, ``or_lower``, ``or_upper``) beside the complete-case
        one (``cc_or_median``, ``cc_or_lower``, ``cc_or_upper``).

    Examples
    --------
    >>> import pandas as pd
    >>> from bayes_ubpr.effects import MissingSummary
    >>> summary = MissingSummary("given", 5, (), (), pd.DataFrame(), 120, 60, None, None, None)
    >>> summary.describe()[:58]
    'The model was fitted to each of 5 completed data sets give'
    """

    method: str
    imputations: int
    imputed_columns: tuple[str, ...]
    auxiliary: tuple[str, ...]
    table: pd.DataFrame
    n_patients: int
    n_events: int
    complete_cases: int | None
    complete_case_events: int | None
    comparison: pd.DataFrame | None

    def describe(self) -> str:
        """Return one paragraph: what was missing, how it was imputed, what complete-case analysis loses."""
        if self.method == "given":
            return (
                f"The model was fitted to each of {self.imputations} completed data sets given with the data "
                "(imputed elsewhere) and the posterior draws were pooled."
            )
        if not self.imputations and not (self.method == "model" and self.imputed_columns):
            return "No value the model reads was missing: the fit used every patient as they were."
        lost = self.n_patients - (self.complete_cases or 0)
        lost_events = self.n_events - (self.complete_case_events or 0)
        complete_case = (
            f"A complete-case analysis would drop {lost:,} patients ({lost / self.n_patients:.0%}) and "
            f"{lost_events} events ({_share(lost_events, self.n_events)})."
        )
        if self.method == "model":
            return (
                f"Missing values in {', '.join(self.imputed_columns)} were modelled inside the model (as brms' "
                "mi() does): each of these columns has a regression on the model's complete covariates and the "
                "modelled columns before it (normal; logistic for a 0/1 column) and its missing values are "
                "parameters of the one posterior (a 0/1 column's are summed out of the likelihood and drawn "
                f"afterwards), so all {self.n_patients:,} patients and {self.n_events} events count. "
                f"{complete_case} This assumes the values are missing at random given the model's covariates "
                "and outcome."
            )
        auxiliary = f" and the auxiliary column(s) {', '.join(self.auxiliary)}" if self.auxiliary else ""
        return (
            f"Missing values in {', '.join(self.imputed_columns)} were imputed {self.imputations} times by chained "
            "equations with predictive mean matching (statsmodels MICEData), with the outcome and every "
            f"variable of the model{auxiliary} in the imputation model; the model was fitted to each completed "
            f"data set and the posterior draws were pooled, so all {self.n_patients:,} patients and "
            f"{self.n_events} events count. {complete_case} "
            "This assumes the values are missing at random given the variables in the imputation model."
        )

    def format(self) -> str:
        """Return the summary as text for a terminal or log: the paragraph, the table, the comparison."""
        parts = [self.describe()]
        if not self.table.empty and "missing_events" in self.table:
            header = ["Column", "Missing", "Among events", "Among non-events"]
            rows = [
                [
                    row.column,
                    f"{row.n_missing} ({row.percent_missing:.1f}%)",
                    f"{row.missing_events} ({row.percent_missing_events:.1f}%)",
                    f"{row.missing_non_events} ({row.percent_missing_non_events:.1f}%)",
                ]
                for row in self.table.itertuples(index=False)
                if row.n_missing
            ]
            if rows:
                parts.append(text_table(header, rows))
        if self.comparison is not None:
            table = self.comparison
            header = [
                "Term",
                "Contrast",
                "Within",
                f"Imputed ({self.n_patients:,} patients, {self.n_events} events)",
                f"Complete case ({self.complete_cases:,} patients, {self.complete_case_events} events)",
            ]
            rows = [
                [
                    row.term,
                    row.contrast,
                    row.stratum or "-",
                    format_interval(row.or_median, row.or_lower, row.or_upper),
                    format_interval(row.cc_or_median, row.cc_or_lower, row.cc_or_upper),
                ]
                for row in table.itertuples(index=False)
            ]
            parts.append("Posterior odds ratios (95% CrI), imputed beside complete case:\n" + text_table(header, rows))
        return "\n\n".join(parts)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "-"


def _complete_case_view(idata: az.InferenceData) -> az.InferenceData:
    """Return the complete-case draws as a fit of their own, with the pooled fit's model and typical patient."""
    view = az.InferenceData(posterior=idata["complete_case"], observed_data=idata.observed_data)
    view.add_groups(constant_data=idata.constant_data.drop_vars("x_imputed", errors="ignore"))
    view.attrs = dict(idata.attrs)
    return view


def missing_summary(fit: az.InferenceData, *, prob: float = 0.95) -> MissingSummary:
    """Return what a fit of data with missing values did with them.

    Parameters
    ----------
    fit : arviz.InferenceData
        A fit made with ``missing="impute"`` or ``missing="model"``, or of a
        list of completed data sets.
    prob : float, default 0.95
        Mass of the credible intervals of the comparison.

    Returns
    -------
    MissingSummary
        Its ``format()`` is what ``bayes-ubpr fit --missing impute`` prints.

    Raises
    ------
    ValueError
        If the fit was made with nothing to impute asked (``missing="error"``).

    Examples
    --------
    >>> import numpy as np
    >>> from bayes_ubpr import fit, simulate_cohort
    >>> from bayes_ubpr.effects import missing_summary
    >>> cohort = simulate_cohort(n=400, prevalence=0.3, seed=5)
    >>> cohort.loc[cohort.index[::10], "bmd_tscore_abs"] = np.nan
    >>> idata = fit(cohort, missing="impute", imputations=3, chains=2, draws=400, seed=1)
    >>> summary = missing_summary(idata)
    >>> summary.imputations, summary.imputed_columns, summary.complete_cases
    (3, ('bmd_tscore_abs',), 360)
    """
    view = Fitted.of(fit)
    text = view.idata.attrs.get("missing")
    if text is None:
        raise ValueError("this fit was made without imputation (missing='error'): every patient was complete")
    info = json.loads(text)
    counts = info.get("counts", {})
    y = view.y
    comparison = None
    if "complete_case" in view.idata.groups():
        pooled = without_repeated_main_effects(term_odds_ratios(view.idata, prob=prob))
        cc = term_odds_ratios(_complete_case_view(view.idata), prob=prob)
        cc = cc.rename(columns={c: f"cc_{c}" for c in ("or_median", "or_lower", "or_upper")})
        comparison = pooled[[*_KEYS, "or_median", "or_lower", "or_upper"]].merge(
            cc[[*_KEYS, "cc_or_median", "cc_or_lower", "cc_or_upper"]], on=_KEYS, how="left"
        )
    complete_case = info.get("complete_case", {})
    return MissingSummary(
        method=info["method"],
        imputations=int(info.get("imputations", 0)),
        imputed_columns=tuple(info.get("imputed_columns", info.get("modelled_columns", ()))),
        auxiliary=tuple(info.get("auxiliary", ())),
        table=pd.DataFrame(info.get("table", [])),
        n_patients=len(y),
        n_events=int(y.sum()),
        complete_cases=complete_case.get("n_patients", counts.get("complete_cases")),
        complete_case_events=complete_case.get("n_events", counts.get("complete_case_events")),
        comparison=comparison,
    )
