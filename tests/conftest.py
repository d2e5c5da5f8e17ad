"""Shared fixtures: a seeded generator and a few small real fits, made once per session."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bayes_ubpr as bu

SLOW_DOCTESTS = frozenset(
    {
        "bayes_ubpr.report.document.write_report",
        "bayes_ubpr.posterior.PPCSummary",
        "bayes_ubpr.sensitivity.priors.power_scaling",
        "bayes_ubpr.group_effects.group_effects_table",  # the first multilevel fit of a session: ~5 s here
    }
)
"""Doctests that fit and draw for longer than ~5 s: marked ``slow`` like the tests that do (run by .ci/run)."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A session-wide hook: it sees the doctests collected from src/ as well as the tests here.
    for item in items:
        if isinstance(item, pytest.DoctestItem) and item.name in SLOW_DOCTESTS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20161316)


@pytest.fixture(scope="session")
def small_cohort() -> pd.DataFrame:
    """600 simulated patients at 30% prevalence: enough events that the design check is quiet."""
    return bu.simulate_cohort(n=600, prevalence=0.3, seed=11)


@pytest.fixture(scope="session")
def small_fit(small_cohort):
    return bu.fit(small_cohort, draws=500, tune=500, chains=2, seed=3)
