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
