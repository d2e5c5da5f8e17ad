"""Every example script runs from start to end in its --quick mode, so none rots."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_examples():
    assert EXAMPLES


# The examples analyse the paper's 60:60 design, whose design check warns by intent.
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::bayes_ubpr.exceptions.StatisticalWarning")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_quick(path, tmp_path, capsys):
    module = _load(path)
    assert module.main(["--quick", "--output-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip()
    assert any(tmp_path.iterdir()), "the example saved nothing"
