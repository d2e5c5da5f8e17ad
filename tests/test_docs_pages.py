"""The documentation's worked pages run: every ```python block of a page, in order, in one namespace.

The pages: docs/own-data.md and docs/missing.md.
"""

from __future__ import annotations

import contextlib
import importlib.util
import warnings
from pathlib import Path

import matplotlib
import pytest

DOCS = Path(__file__).parents[1] / "docs"


def _run_tutorial():
    spec = importlib.util.spec_from_file_location("run_tutorial", DOCS / "run_tutorial.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_your_own_data_page_runs_block_by_block(tmp_path):
    # The page fits a messy cohort from a formula and reads it with every function; each snippet must run as
    # written (its printed outputs are refreshed by docs/run_tutorial.py docs/own-data.md, not compared here:
    # they hold Monte Carlo digits).
    page = (DOCS / "own-data.md").read_text(encoding="utf-8")
    matplotlib.use("Agg")
    with contextlib.chdir(tmp_path), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the page's statistical warnings are part of what it shows
        rewritten = _run_tutorial().run_blocks(page, source="own-data.md")
    assert (tmp_path / "hospital.csv").is_file() and (tmp_path / "hospital_report.html").is_file()
    assert "fracture_level = thoracolumbar" in rewritten


@pytest.mark.slow
def test_missing_data_page_runs_block_by_block(tmp_path):
    # The page imputes a cohort with holes, fits 20 completed data sets and the complete cases, and shows what is
    # refused; each snippet must run as written (outputs refreshed by docs/run_tutorial.py docs/missing.md).
    page = (DOCS / "missing.md").read_text(encoding="utf-8")
    matplotlib.use("Agg")
    with contextlib.chdir(tmp_path), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the page's statistical warnings are part of what it shows
        rewritten = _run_tutorial().run_blocks(page, source="missing.md")
    assert (tmp_path / "hospital_missing.csv").is_file()
    assert "'method': 'given', 'imputations': 5" in rewritten
    for refusal in ("an outcome is never imputed", "(a grouping) has missing values", "has 3 categories"):
        assert refusal in rewritten
    assert "a prediction needs every value" in rewritten and "a validation cohort is not imputed here" in rewritten
