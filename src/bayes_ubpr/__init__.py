"""Bayesian re-analysis of risk factors for back pain after vertebroplasty.

bayes_ubpr re-analyses the risk factors for unsatisfactory back pain relief
(UBPR) after percutaneous vertebroplasty, built around one published
1,316-patient study (see :mod:`bayes_ubpr.paper`).

``import bayes_ubpr`` is quick: each name of ``__all__`` (and each submodule,
``bayes_ubpr.model``) is imported on first use, so that a command that
refuses a bad argument does not wait seconds for PyMC.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any

import bayes_ubpr._arviz  # noqa: F401  (first: ArviZ without its refactor notice, whoever imports it; see the module)

# What type checkers and the API docs read; at run time, _EXPORTS imports them on first use. contrast and loo
# come from the modules that define them: from their packages, mypy takes them for the submodules of that name.
if TYPE_CHECKING:
    from bayes_ubpr.audit import (
        audit_across_tables,
        audit_rows,
        grim,
        grimmer,
        implied_case_group,
        implied_case_group_by_correlation,
        standard_error_plausibility,
    )
    from bayes_ubpr.data import load_cohort, validate_cohort
    from bayes_ubpr.effects import (
        conditional_effects,
        missing_summary,
        plot_conditional_effects,
        term_odds_ratios,
        term_summary,
    )
    from bayes_ubpr.effects.contrast import contrast
    from bayes_ubpr.exceptions import (
        CohortValidationError,
        ConvergenceError,
        FitInterrupted,
        NotAFitError,
        PerformanceWarning,
        StatisticalWarning,
    )
    from bayes_ubpr.factors import Factor
    from bayes_ubpr.group_effects import group_effects_table
    from bayes_ubpr.model import (
        ModelSpec,
        Sampling,
        build_model,
        check_convergence,
        check_design,
        describe_model_priors,
        fit,
        load_fit,
        prior_predictive,
        save_fit,
    )
    from bayes_ubpr.paper import (
        N_CASES,
        N_PATIENTS,
        NULL_FACTORS,
        OUTCOME,
        PREVALENCE,
        RISK_FACTORS,
        SIX_FACTORS,
        table2,
        table3,
        table4,
        table5,
    )
    from bayes_ubpr.plots import (
        calibration_plot,
        control_resampling_plot,
        coverage_plot,
        decision_curve_plot,
        forest_plot,
        group_effects_plot,
        ppc_plot,
        predicted_vs_true_plot,
        prevalence_sensitivity_plot,
        prior_sensitivity_plot,
        risk_distribution_plot,
        sbc_ecdf_plot,
        selection_plot,
        tipping_point_plot,
        validation_calibration_plot,
    )
    from bayes_ubpr.posterior import (
        PPCSummary,
        format_odds_ratio_table,
        maximum_likelihood,
        odds_ratio_table,
        ppc_summary,
        predict_risk,
        reanalyse_published,
        risk_draws,
    )
    from bayes_ubpr.priors import (
        DomainShrinkage,
        Horseshoe,
        PopulationPrevalence,
        Prior,
        default_prior,
        describe_priors,
        paper_priors,
    )
    from bayes_ubpr.report import example_patients, write_report
    from bayes_ubpr.selection import LooResult, SelectionResult, compare_models, select_factors
    from bayes_ubpr.selection.loo import loo
    from bayes_ubpr.sensitivity import (
        LITERATURE_PREVALENCES,
        ControlResampling,
        TippingPoints,
        control_resampling,
        e_value,
        e_value_table,
        power_scaling,
        prevalence_sensitivity,
        prior_grid,
        prior_sensitivity,
        tipping_points,
    )
    from bayes_ubpr.simulate import case_control_sample, simulate_cohort, true_model
    from bayes_ubpr.studies import (
        CalibrationResult,
        SBCResult,
        calibration_study,
        coverage_study,
        sbc_study,
        simulate_cohorts,
    )
    from bayes_ubpr.terms import FormulaError, parse_formula
    from bayes_ubpr.validation import (
        UpdatingValidation,
        ValidationResult,
        recalibrate,
        update,
        validate_model,
        validate_updating,
    )

_EXPORTS: dict[str, tuple[str, ...]] = {
    "bayes_ubpr.audit": (
        "audit_across_tables",
        "audit_rows",
        "grim",
        "grimmer",
        "implied_case_group",
        "implied_case_group_by_correlation",
        "standard_error_plausibility",
    ),
    "bayes_ubpr.data": (
        "load_cohort",
        "validate_cohort",
    ),
    "bayes_ubpr.effects": (
        "conditional_effects",
        "contrast",
        "missing_summary",
        "plot_conditional_effects",
        "term_odds_ratios",
        "term_summary",
    ),
    "bayes_ubpr.exceptions": (
        "CohortValidationError",
        "ConvergenceError",
        "FitInterrupted",
        "NotAFitError",
        "PerformanceWarning",
        "StatisticalWarning",
    ),
    "bayes_ubpr.factors": ("Factor",),
    "bayes_ubpr.group_effects": ("group_effects_table",),
    "bayes_ubpr.model": (
        "ModelSpec",
        "Sampling",
        "build_model",
        "check_convergence",
        "check_design",
        "describe_model_priors",
        "fit",
        "load_fit",
        "prior_predictive",
        "save_fit",
    ),
    "bayes_ubpr.paper": (
        "N_CASES",
        "N_PATIENTS",
        "NULL_FACTORS",
        "OUTCOME",
        "PREVALENCE",
        "RISK_FACTORS",
        "SIX_FACTORS",
        "table2",
        "table3",
        "table4",
        "table5",
    ),
    "bayes_ubpr.plots": (
        "calibration_plot",
        "control_resampling_plot",
        "coverage_plot",
        "decision_curve_plot",
        "forest_plot",
        "group_effects_plot",
        "ppc_plot",
        "predicted_vs_true_plot",
        "prevalence_sensitivity_plot",
        "prior_sensitivity_plot",
        "risk_distribution_plot",
        "sbc_ecdf_plot",
        "selection_plot",
        "tipping_point_plot",
        "validation_calibration_plot",
    ),
    "bayes_ubpr.posterior": (
        "PPCSummary",
        "format_odds_ratio_table",
        "maximum_likelihood",
        "odds_ratio_table",
        "ppc_summary",
        "predict_risk",
        "reanalyse_published",
        "risk_draws",
    ),
    "bayes_ubpr.priors": (
        "DomainShrinkage",
        "Horseshoe",
        "PopulationPrevalence",
        "Prior",
        "default_prior",
        "describe_priors",
        "paper_priors",
    ),
    "bayes_ubpr.report": (
        "example_patients",
        "write_report",
    ),
    "bayes_ubpr.selection": (
        "LooResult",
        "SelectionResult",
        "compare_models",
        "loo",
        "select_factors",
    ),
    "bayes_ubpr.sensitivity": (
        "LITERATURE_PREVALENCES",
        "ControlResampling",
        "TippingPoints",
        "control_resampling",
        "e_value",
        "e_value_table",
        "power_scaling",
        "prevalence_sensitivity",
        "prior_grid",
        "prior_sensitivity",
        "tipping_points",
    ),
    "bayes_ubpr.simulate": (
        "case_control_sample",
        "simulate_cohort",
        "true_model",
    ),
    "bayes_ubpr.studies": (
        "CalibrationResult",
        "SBCResult",
        "calibration_study",
        "coverage_study",
        "sbc_study",
        "simulate_cohorts",
    ),
    "bayes_ubpr.terms": (
        "FormulaError",
        "parse_formula",
    ),
    "bayes_ubpr.validation": (
        "ValidationResult",
        "validate_model",
        "UpdatingValidation",
        "recalibrate",
        "update",
        "validate_updating",
    ),
}
"""The names of :data:`__all__` by the module that defines them (the ``TYPE_CHECKING`` imports above)."""

_HOME = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    # the paper
    "N_CASES",
    "N_PATIENTS",
    "NULL_FACTORS",
    "OUTCOME",
    "PREVALENCE",
    "RISK_FACTORS",
    "SIX_FACTORS",
    "table2",
    "table3",
    "table4",
    "table5",
    # data
    "Factor",
    "load_cohort",
    "validate_cohort",
    # formulas and terms (bayes_ubpr.terms)
    "parse_formula",
    # simulation
    "case_control_sample",
    "simulate_cohort",
    "true_model",
    # published-statistics audit (the whole audit: bayes_ubpr.audit.audit)
    "grim",
    "grimmer",
    "audit_across_tables",
    "audit_rows",
    "implied_case_group",
    "implied_case_group_by_correlation",
    "standard_error_plausibility",
    # priors and model
    "DomainShrinkage",
    "Horseshoe",
    "PopulationPrevalence",
    "Prior",
    "default_prior",
    "describe_priors",
    "describe_model_priors",
    "paper_priors",
    "ModelSpec",
    "Sampling",
    "build_model",
    "check_convergence",
    "check_design",
    "fit",
    "prior_predictive",
    # posterior
    "PPCSummary",
    "format_odds_ratio_table",
    "maximum_likelihood",
    "odds_ratio_table",
    "ppc_summary",
    "predict_risk",
    "reanalyse_published",
    "risk_draws",
    "group_effects_table",
    # effects of terms (contrasts, conditional effects, per-term summaries)
    "conditional_effects",
    "contrast",
    "plot_conditional_effects",
    "term_odds_ratios",
    "term_summary",
    "missing_summary",
    # calibration studies
    "CalibrationResult",
    "SBCResult",
    "calibration_study",
    "coverage_study",
    "sbc_study",
    "simulate_cohorts",
    # sensitivity analysis
    "LITERATURE_PREVALENCES",
    "ControlResampling",
    "TippingPoints",
    "control_resampling",
    "e_value",
    "e_value_table",
    "power_scaling",
    "prevalence_sensitivity",
    "prior_grid",
    "prior_sensitivity",
    "tipping_points",
    # model comparison and factor selection
    "LooResult",
    "SelectionResult",
    "compare_models",
    "loo",
    "select_factors",
    # external validation and decision curves
    "ValidationResult",
    "validate_model",
    "UpdatingValidation",
    "recalibrate",
    "update",
    "validate_updating",
    # figures and report
    "calibration_plot",
    "control_resampling_plot",
    "predicted_vs_true_plot",
    "prevalence_sensitivity_plot",
    "prior_sensitivity_plot",
    "tipping_point_plot",
    "validation_calibration_plot",
    "decision_curve_plot",
    "coverage_plot",
    "sbc_ecdf_plot",
    "selection_plot",
    "forest_plot",
    "group_effects_plot",
    "ppc_plot",
    "risk_distribution_plot",
    "example_patients",
    "write_report",
    # saving fits
    "load_fit",
    "save_fit",
    # errors and warnings
    "CohortValidationError",
    "FitInterrupted",
    "FormulaError",
    "NotAFitError",
    "PerformanceWarning",
    "ConvergenceError",
    "StatisticalWarning",
    "__version__",
]


def __getattr__(name: str) -> Any:
    """Import a name of :data:`__all__`, or a public submodule, on first use (PEP 562)."""
    if name in _HOME:
        value = getattr(importlib.import_module(_HOME[name]), name)
    elif name == "__version__":
        from importlib.metadata import version

        value = version("bayes-ubpr")
    elif name in _submodules():
        return importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the names of :data:`__all__` and the submodules, imported or not."""
    return sorted({*globals(), *__all__, *_submodules()})


def _submodules() -> set[str]:
    """Return the names of the package's public submodules (without importing them)."""
    return {module.name for module in pkgutil.iter_modules(__path__) if not module.name.startswith("_")}
