"""Every example script runs from start to end in its --quick mode, so none rots."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES_DIR = Path(__file__).parents[1] / "examples"
# Files starting with an underscore are helpers the examples share, not examples.
EXAMPLES = sorted(path for path in EXAMPLES_DIR.glob("*.py") if not path.name.startswith("_"))


def _load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_there_are_examples():
    assert EXAMPLES


# The examples analyse the paper's 60:60 design, whose design check warns by intent, and their quick
# settings are too short for the convergence checks to pass.
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::bayes_ubpr.exceptions.StatisticalWarning")
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_quick(path, tmp_path, capsys, monkeypatch):
    # Run as a script, an example finds its shared helper beside it on sys.path; loaded here, it needs the same.
    monkeypatch.syspath_prepend(str(EXAMPLES_DIR))
    module = _load(path)
    assert module.main(["--quick", "--output-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip()
    assert any(tmp_path.iterdir()), "the example saved nothing"


# A fresh interpreter from another directory, as a user runs it: the script must find its helper by itself.
# About 3 s per script (importing bayes_ubpr), so all of them together stay out of the quick suite.
@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_starts_from_another_directory(path, tmp_path):
    result = subprocess.run(
        [sys.executable, str(path), "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "--quick" in result.stdout
    assert "--output-dir" in result.stdout
