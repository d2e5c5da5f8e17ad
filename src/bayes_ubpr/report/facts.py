"""What a report says, computed once from a fit: tables, example patients, diagnostics, and human labels.

The headline, the sections and the appendix all read one :class:`Facts`, so
that a number appears with the same value wherever it is shown.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd

from bayes_ubpr.effects import missing_summary, term_odds_ratios, without_repeated_main_effects
from bayes_ubpr.effects.missing import MissingSummary
from bayes_ubpr.group_effects import group_effects_table
from bayes_ubpr.model import Fitted, ModelSpec, check_convergence
from bayes_ubpr.paper import OUTCOME, RISK_FACTORS
from bayes_ubpr.posterior import PPCSummary, odds_ratio_table, ppc_summary, predict_risk
from bayes_ubpr.priors import PopulationPrevalence
from bayes_ubpr.report import formatting as fmt
from bayes_ubpr.report.patients import example_patients
from bayes_ubpr.selection import LooResult, loo
from bayes_ubpr.validation import ValidationResult

__all__ = ["EVENTS_PER_PARAMETER_MIN", "FEW_GROUPS", "Facts"]

EVENTS_PER_PARAMETER_MIN = 10
"""Below this many events (of the rarer outcome) per coefficient the headline warns of overfitting (Peduzzi et al.
1996, doi:10.1016/S0895-4356(96)00236-3; a rule of thumb, not a guarantee)."""

FEW_GROUPS = 5
"""With fewer groups than this a between-group SD leans on its prior (as the groups section says)."""

_PARAMETER = re.compile(r"^(?P<name>[a-z_]+)\[(?P<inside>.*)\]$")


@dataclass(frozen=True)
class Facts:
    """Everything a report shows of one fit, computed once.

    Attributes
    ----------
    view : Fitted
        The fit.
    prob : float
        Credible interval mass throughout.
    seed : int
        For replicated data and new groups' offsets.
    validation : ValidationResult or None
        An external validation, if given.
    """

    view: Fitted
    prob: float
    seed: int
    validation: ValidationResult | None = None

    @classmethod
    def of(
        cls, idata: az.InferenceData, *, prob: float, seed: int, validation: ValidationResult | None = None
    ) -> Facts:
        """Return the facts of a fit (nothing is computed until a section asks)."""
        return cls(Fitted.of(idata), prob, seed, validation)

    # --- the data ---------------------------------------------------------------------------------

    @property
    def idata(self) -> az.InferenceData:
        """The fit's InferenceData."""
        return self.view.idata

    @property
    def spec(self) -> ModelSpec:
        """The fit's model."""
        return self.view.spec

    @functools.cached_property
    def y(self) -> np.ndarray:
        """The fitted outcomes, 0/1."""
        return np.asarray(self.idata.observed_data[self.spec.outcome].to_numpy())

    @property
    def n_patients(self) -> int:
        """Patients fitted."""
        return len(self.y)

    @property
    def n_events(self) -> int:
        """Patients with the outcome."""
        return int(self.y.sum())

    @property
    def case_control(self) -> bool:
        """Whether the fit is of a case-control sample (risks mapped to the population by a prevalence)."""
        return self.spec.design == "case_control"

    @property
    def event(self) -> str:
        """The outcome in words: "UBPR" for the paper's outcome, else ``"<outcome> = 1"``."""
        return "UBPR" if self.spec.outcome == OUTCOME else f"{self.spec.outcome} = 1"

    @property
    def prevalence(self) -> tuple[float, str] | None:
        """For a case-control fit: the population prevalence used (its mean) and how it was given, in words."""
        if not self.case_control:
            return None
        given = self.spec.population_prevalence
        if isinstance(given, PopulationPrevalence):
            words = f"a Beta({given.alpha:g}, {given.beta:g}) prior on it"
            return given.mean, words
        if given is None:
            return None
        return float(given), "as given"

    @property
    def n_coefficients(self) -> int:
        """Design columns (coefficients besides the intercept)."""
        return len(self.spec.factor_names)

    @functools.cached_property
    def missing(self) -> MissingSummary | None:
        """What was missing and how it was imputed (fits with ``missing="impute"`` or given imputations)."""
        return missing_summary(self.idata, prob=self.prob) if "missing" in self.idata.attrs else None

    # --- labels -----------------------------------------------------------------------------------

    @functools.cached_property
    def _factor_labels(self) -> dict[str, tuple[str, str]]:
        return {f.name: (f.label, f.unit) for f in self.spec.factors}

    def label(self, name: str) -> str:
        """Return the label of a design column or raw variable: the Factor's, the catalogue's, else the name."""
        if name in self._factor_labels:
            return self._factor_labels[name][0]
        if name in RISK_FACTORS:
            return RISK_FACTORS[name].label
        return name

    def unit(self, name: str) -> str:
        """Return the unit of a design column or raw variable ("" where there is none)."""
        if name in self._factor_labels:
            return self._factor_labels[name][1]
        return RISK_FACTORS[name].unit if name in RISK_FACTORS else ""

    def kind(self, name: str) -> str | None:
        """Return the kind of a design column or raw variable ("binary", "count", "continuous"), if known."""
        kinds = {f.name: f.kind for f in self.spec.factors}
        if name in kinds:
            return kinds[name]
        return RISK_FACTORS[name].kind if name in RISK_FACTORS else None

    def value_words(self, name: str, value: object) -> str:
        """Return a raw value as the report shows it: "yes"/"no" for a 0/1 factor, numbers to three digits."""
        if isinstance(value, (float, int, np.floating, np.integer)) and not isinstance(value, bool):
            x = float(value)
            if self.kind(name) == "binary" and x in (0.0, 1.0):
                return "yes" if x else "no"
            return f"{int(x)}" if x.is_integer() else fmt.significant(x)
        return str(value)

    def term_label(self, term: str) -> str:
        """Return a formula term's label: an interaction's parts joined by "×"."""
        return " × ".join(self.label(part) for part in term.split(":"))

    def stratum_label(self, stratum: str) -> str:
        """Return ``"a = 1; b = x"`` with each variable by its label."""
        parts = []
        for piece in filter(None, (p.strip() for p in stratum.split(";"))):
            name, _, value = piece.partition(" = ")
            parts.append(f"{self.label(name)} = {value}" if value else self.label(name))
        return "; ".join(parts)

    def parameter_label(self, parameter: str) -> str:
        """Return a sampled parameter's label: ``beta[x]`` as the factor, ``alpha`` as the intercept."""
        if parameter in ("alpha", "intercept"):
            return "Intercept"
        if parameter in self._factor_labels:
            return self.label(parameter)
        if parameter == "group_sd":
            return f"SD between {self.spec.groups[0]} groups" if self.spec.groups else parameter
        match = _PARAMETER.match(parameter)
        if match is None:
            return parameter
        name, inside = match["name"], match["inside"]
        if name == "beta":
            return self.label(inside)
        if name == "group_sd":
            return f"SD between {inside} groups"
        if name == "slope_sd":
            return f"SD of the {self.label(inside)} slope between groups"
        return parameter

    # --- tables of the fit ------------------------------------------------------------------------

    @functools.cached_property
    def odds(self) -> pd.DataFrame:
        """:func:`~bayes_ubpr.odds_ratio_table` with the maximum-likelihood columns, one row per design column."""
        return odds_ratio_table(self.idata, prob=self.prob, include_mle=True)

    @property
    def has_paper(self) -> bool:
        """Whether the paper's Table 5 answers the same question (the paper's factors and outcome)."""
        return bool(self.odds["paper_or"].notna().any())

    @functools.cached_property
    def terms(self) -> pd.DataFrame | None:
        """For a formula fit: :func:`~bayes_ubpr.term_odds_ratios` without the rows an interaction repeats."""
        if self.spec.terms is None:
            return None
        return without_repeated_main_effects(term_odds_ratios(self.idata, prob=self.prob)).reset_index(drop=True)

    @functools.cached_property
    def diagnostics(self) -> pd.DataFrame:
        """:func:`~bayes_ubpr.check_convergence` per parameter (its warning is the report's caveat instead)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return check_convergence(self.idata)

    @property
    def n_divergent(self) -> int:
        """Divergent transitions of the sampler."""
        stats = self.idata.sample_stats if "sample_stats" in self.idata.groups() else None
        return int(stats["diverging"].sum()) if stats is not None and "diverging" in stats else 0

    @functools.cached_property
    def ppc(self) -> PPCSummary:
        """Posterior-predictive checks on the fitted data (the sample's own scale)."""
        return ppc_summary(self.idata, prob=self.prob, seed=self.seed)

    @functools.cached_property
    def loo(self) -> LooResult:
        """PSIS-LOO of the fit (its high-k warning is listed in the appendix instead)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return loo(self.idata)

    @functools.cached_property
    def groups(self) -> pd.DataFrame:
        """:func:`~bayes_ubpr.group_effects_table` (empty for a fit without groups)."""
        return group_effects_table(self.idata, prob=self.prob)

    @functools.cached_property
    def patients(self) -> pd.DataFrame:
        """The two example patients' raw values joined to their risks (population scale)."""
        examples = example_patients(self.idata)
        return examples.join(predict_risk(self.idata, examples, prob=self.prob, seed=self.seed))

    @property
    def patient_variables(self) -> list[str]:
        """The raw variables of the example patients, in model order."""
        return [c for c in self.patients.columns if not c.startswith("risk_")]

    @functools.cached_property
    def sample_risk(self) -> np.ndarray:
        """Posterior-mean risk of each fitted patient on the sample's own scale."""
        return np.asarray(self.view.risk_draws.mean(axis=0))
