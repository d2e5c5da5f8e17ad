"""The public API: every name in an ``__all__`` exists, and every public function and class shows an example.

Issue #7: each public object's numpydoc docstring has an ``Examples`` section with
``>>>`` lines, which ``pytest --doctest-modules`` runs.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

import bayes_ubpr

MODULES = [
    "bayes_ubpr.paper",
    "bayes_ubpr.data",
    "bayes_ubpr.simulate",
    "bayes_ubpr.priors",
    "bayes_ubpr.model",
    "bayes_ubpr.posterior",
    "bayes_ubpr.group_effects",
    "bayes_ubpr.metrics",
    "bayes_ubpr.studies",
    "bayes_ubpr.studies.world",
    "bayes_ubpr.studies.coverage",
    "bayes_ubpr.studies.sbc",
    "bayes_ubpr.studies.predictive",
    "bayes_ubpr.calibrate",
    "bayes_ubpr.sensitivity",
    "bayes_ubpr.validation",
    "bayes_ubpr.crosscheck",
    "bayes_ubpr.audit",
    "bayes_ubpr.audit.granularity",
    "bayes_ubpr.audit.within",
    "bayes_ubpr.audit.across",
    "bayes_ubpr.audit.text",
    "bayes_ubpr.audit.synthetic",
    "bayes_ubpr.selection",
    "bayes_ubpr.selection.loo",
    "bayes_ubpr.selection.projpred",
    "bayes_ubpr.effects",
    "bayes_ubpr.plots",
    "bayes_ubpr.report",
    "bayes_ubpr",
]

# A numpydoc section: its title on one line, underlined by dashes on the next.
EXAMPLES_SECTION = re.compile(r"^Examples\n-{8,}\n(?P<body>.*?)(?=^\S[^\n]*\n-{3,}\n|\Z)", flags=re.M | re.S)


def _public_objects() -> dict[str, object]:
    """Every function and class named in a public ``__all__``, by the first module listing it."""
    found: dict[str, object] = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj not in found.values():
                found[f"{module_name}.{name}"] = obj
    return found


def _has_example(obj: object) -> bool:
    match = EXAMPLES_SECTION.search(inspect.getdoc(obj) or "")
    return match is not None and ">>>" in match.group("body")


@pytest.mark.parametrize("module_name", MODULES)
def test_every_name_in_all_exists(module_name):
    module = importlib.import_module(module_name)
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names attributes that do not exist: {missing}"


@pytest.mark.parametrize("module_name", MODULES)
def test_all_has_no_duplicates(module_name):
    names = importlib.import_module(module_name).__all__
    duplicates = sorted({name for name in names if names.count(name) > 1})
    assert not duplicates, f"{module_name}.__all__ lists these names more than once: {duplicates}"


def test_top_level_all_names_existing_attributes_once():
    names = bayes_ubpr.__all__
    assert [name for name in names if not hasattr(bayes_ubpr, name)] == []
    assert len(names) == len(set(names))


# --- The package is imported lazily: `import bayes_ubpr` is quick, every name loads on first use ---


def _fresh(code: str, **env: str):
    """Run ``code`` in a fresh Python process (this one has imported everything already)."""
    import os
    import subprocess
    import sys

    environment = {**os.environ, "PYTHONWARNINGS": "", **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=600)


HEAVY = ("arviz", "matplotlib", "pandas", "pymc", "pytensor", "scipy")


def test_importing_the_package_imports_none_of_the_numeric_stack():
    result = _fresh(f"import sys, bayes_ubpr\nprint(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_top_level_name_is_its_modules_own_and_listed_once():
    # _EXPORTS says where each name of __all__ lives; the TYPE_CHECKING imports (what type checkers and the
    # API docs read) must say the same
    import ast
    from pathlib import Path

    tree = ast.parse(Path(bayes_ubpr.__file__).read_text(encoding="utf-8"))
    checked = next(node for node in tree.body if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test))
    imported = {alias.name: node.module for node in checked.body for alias in node.names}
    assert set(imported) == set(bayes_ubpr._HOME) == set(bayes_ubpr.__all__) - {"__version__"}
    for name, module in bayes_ubpr._HOME.items():
        defined = getattr(importlib.import_module(module), name)
        assert getattr(bayes_ubpr, name) is defined is getattr(importlib.import_module(imported[name]), name), name


def test_names_and_submodules_load_on_first_use():
    code = (
        "from bayes_ubpr import load_cohort, metrics\n"  # a name and a submodule, by from-import
        "import bayes_ubpr as bu\n"
        "assert bu.load_cohort is bu.data.load_cohort and bu.metrics is metrics\n"
        "assert 'missing' in dir(bu) and 'fit' in dir(bu)\n"
        "print(bu.missing.__name__, bu.__version__ == __import__('importlib.metadata').metadata.version('bayes-ubpr'))\n"
        "bu.no_such_name\n"
    )
    result = _fresh(code)
    assert result.stdout.strip() == "bayes_ubpr.missing True", result.stderr
    assert result.stderr.strip().endswith("AttributeError: module 'bayes_ubpr' has no attribute 'no_such_name'")


def test_every_public_function_and_class_has_an_examples_section():
    offenders = sorted(
        f"{name} (defined in {obj.__module__})" for name, obj in _public_objects().items() if not _has_example(obj)
    )
    assert not offenders, (
        f"{len(offenders)} public objects have no numpydoc 'Examples' section with '>>>' lines:\n  "
        + "\n  ".join(offenders)
    )


def test_the_examples_check_reads_numpydoc_sections():
    def documented():
        """Do something.

        Examples
        --------
        >>> 1 + 1
        2
        """

    def other_section_only():
        """Do something.

        Notes
        -----
        Examples are elsewhere; ``>>>`` is mentioned here.
        """

    def empty_examples():
        """Do something.

        Examples
        --------
        See the tutorial.

        References
        ----------
        >>> not an example of this function
        """

    assert _has_example(documented)
    assert not _has_example(other_section_only)
    assert not _has_example(empty_examples)
    assert not _has_example(lambda: None)


# --- One way in (docs/contributing.md): the signature rule, walked over the public API ---

SAMPLING_KEYWORDS = {"draws", "tune", "chains", "cores", "sampler", "target_accept", "progressbar"}
SPEC_KEYWORDS = {"factors", "outcome", "design", "population_prevalence", "group", "varying_slopes"}
SPEC_KEYWORDS |= {"population_mapping"}
OTHER_MEANINGS = {
    # a parameter named like a sampling or model keyword that means something else here
    ("bayes_ubpr.model.prior_predictive", "draws"): "prior draws, not MCMC draws",
    ("bayes_ubpr.simulate.case_control_sample", "outcome"): "the column to sample on",
    ("bayes_ubpr.data.load_cohort", "factors"): "the columns to check",
    ("bayes_ubpr.data.load_cohort", "outcome"): "the column to check",
    ("bayes_ubpr.data.validate_cohort", "factors"): "the columns to check",
    ("bayes_ubpr.data.validate_cohort", "outcome"): "the column to check",
    ("bayes_ubpr.model.check_design", "outcome"): "the column to check",
    ("bayes_ubpr.simulate.simulate_cohort", "outcome"): "the column to simulate",
    ("bayes_ubpr.model.check_design", "factors"): "the columns to check",
    ("bayes_ubpr.sensitivity.prior_grid", "factors"): "the factors the grid of priors is for",
}


def _functions() -> dict[str, inspect.Signature]:
    return {name: inspect.signature(obj) for name, obj in _public_objects().items() if inspect.isfunction(obj)}


def test_only_fit_takes_loose_sampling_and_model_keywords():
    # Elsewhere they exist only as deprecated keyword-only parameters that default to None (and warn).
    offences = []
    for name, signature in _functions().items():
        if name == "bayes_ubpr.model.fit":
            continue
        for parameter in signature.parameters.values():
            loose = parameter.name in SAMPLING_KEYWORDS | SPEC_KEYWORDS
            # a required parameter is the function's subject (as_factors(factors)), not an option
            if not loose or parameter.default is inspect.Parameter.empty or (name, parameter.name) in OTHER_MEANINGS:
                continue
            if parameter.kind is not parameter.KEYWORD_ONLY or parameter.default is not None:
                offences.append(f"{name}({parameter.name}={parameter.default!r})")
    assert not offences, "loose keywords outside fit: " + ", ".join(offences)


REVISIONS = {
    "bayes_ubpr.validation.recalibrate",
    "bayes_ubpr.validation.update",
    "bayes_ubpr.validation.validate_updating",
}


def test_functions_that_fit_take_data_spec_sampling_and_seed():
    fitting = {
        name: s
        for name, s in _functions().items()
        if "sampling" in s.parameters and "Sampling" in str(s.parameters["sampling"].annotation)
    }
    assert {
        "bayes_ubpr.model.fit",
        "bayes_ubpr.sensitivity.prior_sensitivity",
        "bayes_ubpr.selection.select_factors",
    } <= set(fitting)
    for name, signature in fitting.items():
        parameters = list(signature.parameters.values())
        positional = [p.name for p in parameters if p.kind is p.POSITIONAL_OR_KEYWORD]
        if name == "bayes_ubpr.studies.calibration_study":  # the compatibility path: every argument by keyword
            assert "spec" in signature.parameters, name
        elif name == "bayes_ubpr.effects.term_summary":  # a function of a fit that refits it on its own data
            assert positional[:2] == ["fit", "data"], (name, positional)
        elif name in REVISIONS:  # functions of a fit that revise it with a new cohort's data
            assert positional[:2] == ["fit", "new_cohort"], (name, positional)
        else:
            assert positional[:2] in (["data", "spec"], ["cohort", "spec"], ["spec"]), (name, positional)
        draws_nothing = name == "bayes_ubpr.model.estimate_fit_seconds"  # times gradients at a fixed point
        for keyword in ("sampling",) if draws_nothing else ("sampling", "seed"):
            parameter = signature.parameters[keyword]
            assert parameter.kind is parameter.KEYWORD_ONLY and parameter.default is None, (name, keyword)


def test_functions_of_a_fit_refuse_what_is_not_one():
    # Every public function whose first parameter is a fit reads it through model.Fitted, which refuses an
    # InferenceData that is not a bayes_ubpr fit with NotAFitError (or, for tables that also serve draws
    # made elsewhere, a ValueError naming what is missing).
    import arviz as az
    import numpy as np
    import pandas as pd

    not_a_fit = az.from_dict(posterior={"a": np.zeros((2, 10))})
    extra = {
        "bayes_ubpr.posterior.risk_draws": (pd.DataFrame({"x": [1.0]}),),
        "bayes_ubpr.posterior.predict_risk": (pd.DataFrame({"x": [1.0]}),),
        "bayes_ubpr.sensitivity.power_scaling": (pd.DataFrame({"x": [1.0]}),),
        "bayes_ubpr.sensitivity.prevalence_sensitivity": (pd.DataFrame({"x": [1.0]}),),
        "bayes_ubpr.plots.ppc_plot": (None,),
        "bayes_ubpr.report.write_report": ("report.html",),
        "bayes_ubpr.validation.validate_model": (pd.DataFrame({"ubpr": [0, 1]}),),
        **dict.fromkeys(REVISIONS, (pd.DataFrame({"ubpr": [0, 1]}),)),
        "bayes_ubpr.model.save_fit": ("fit.nc",),
        "bayes_ubpr.model.completed_data": (pd.DataFrame({"ubpr": [0, 1]}),),
        "bayes_ubpr.effects.contrast": ({"age": (60, 70)},),
        "bayes_ubpr.effects.conditional_effects": ("age",),
    }
    reads_a_fit = {
        name
        for name, signature in _functions().items()
        if next(iter(signature.parameters), None) in ("idata", "fit", "model")
        and not name.endswith((".fit", ".save_fit"))
    }
    unchecked = []
    for name in sorted(reads_a_fit):
        module, function = name.rsplit(".", 1)
        call = getattr(importlib.import_module(module), function)
        args = extra.get(name, ())
        if name == "bayes_ubpr.plots.ppc_plot":
            continue  # takes a PPCSummary first; its fit is read by ppc_summary
        try:
            call(not_a_fit, *args)
        except bayes_ubpr.NotAFitError:
            continue
        except (ValueError, TypeError) as error:
            if "not a bayes_ubpr fit" in str(error) or "no posterior variable 'beta'" in str(error):
                continue
            unchecked.append(f"{name}: {type(error).__name__}: {error}")
        else:
            unchecked.append(f"{name}: accepted it")
    assert not unchecked, "\n".join(unchecked)
