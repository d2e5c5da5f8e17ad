"""The command line: success paths print tables and write files; bad input is one line and exit 2."""

from __future__ import annotations

import arviz as az
import pandas as pd
import pytest

import bayes_ubpr as bu
from bayes_ubpr.audit import AUDIT_COLUMNS
from bayes_ubpr.cli import main

FAST = ["--draws", "500", "--tune", "500", "--chains", "2"]


def test_simulate_writes_a_cohort(tmp_path, capsys):
    out = tmp_path / "cohort.csv"
    assert main(["simulate", "--n", "300", "--seed", "4", "--out", str(out)]) == 0
    cohort = pd.read_csv(out)
    pd.testing.assert_frame_equal(cohort, bu.simulate_cohort(n=300, seed=4), check_dtype=False)
    assert "Wrote 300 patients" in capsys.readouterr().err


def test_simulate_case_control_parquet(tmp_path):
    out = tmp_path / "sample.parquet"
    assert main(["simulate", "--seed", "4", "--controls-per-case", "2", "--out", str(out)]) == 0
    sample = pd.read_parquet(out)
    assert (sample["ubpr"] == 0).sum() == 2 * sample["ubpr"].sum()


def test_fit_prints_table_and_saves_netcdf(tmp_path, capsys):
    cohort = tmp_path / "cohort.csv"
    bu.simulate_cohort(n=600, prevalence=0.3, seed=11).to_csv(cohort, index=False)
    out = tmp_path / "fit.nc"
    assert main(["fit", str(cohort), "--seed", "3", "--out", str(out), *FAST]) == 0
    printed = capsys.readouterr().out
    assert "Paper OR (95% CI)" in printed and "Cement volume per level" in printed
    loaded = az.from_netcdf(out)
    assert list(loaded.posterior["beta"].coords["factor"].values) == list(bu.SIX_FACTORS)
    assert not list(tmp_path.glob(".fit.nc*")), "temporary file left behind"


def test_reproduce_smoke(capsys):
    assert main(["reproduce", *FAST]) == 0
    captured = capsys.readouterr()
    assert "Number of fractures" in captured.out
    assert "[3/3" in captured.err and "cases (paper: 60)" in captured.err


@pytest.mark.parametrize(
    ("make_file", "message"),
    [
        (lambda p: p.write_text("a,b\n1,2\n"), "Missing required column"),
        (lambda p: None, "No cohort file"),
    ],
)
def test_fit_bad_file_is_one_line_and_exit_2(tmp_path, capsys, make_file, message):
    path = tmp_path / "cohort.csv"
    make_file(path)
    assert main(["fit", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bayes-ubpr fit: error:") and message in err
    assert len(err.splitlines()) == 1


def test_fit_unknown_factor_and_unsupported_output(tmp_path, capsys):
    cohort = tmp_path / "cohort.csv"
    bu.simulate_cohort(n=100, prevalence=0.3, seed=1).to_csv(cohort, index=False)
    assert main(["fit", str(cohort), "--factors", "bmd"]) == 2
    assert "unknown factor(s) bmd" in capsys.readouterr().err
    assert main(["simulate", "--out", str(tmp_path / "cohort.json")]) == 2
    assert "use one of" in capsys.readouterr().err


def test_missing_output_folder(tmp_path, capsys):
    assert main(["simulate", "--out", str(tmp_path / "absent" / "c.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_audit_command(tmp_path, capsys):
    assert main(["audit", "--replicates", "100", "--out", str(tmp_path / "audit.csv")]) == 0
    captured = capsys.readouterr()
    # the summary by severity comes first, then the flagged rows
    assert captured.out.index("Findings by severity") < captured.out.index("fascia_injury")
    assert "checks flagged" in captured.err
    saved = pd.read_csv(tmp_path / "audit.csv")
    assert list(saved.columns) == AUDIT_COLUMNS
    assert len(saved) > (saved["severity"] != "ok").sum() > 0
    counts = saved["severity"].value_counts()
    for line in captured.out.splitlines()[2:6]:  # the summary table after its header: severity, checks, tables
        severity, checks = line.split()[:2]
        assert counts.get(severity, 0) == int(checks)


def test_audit_bad_replicates_is_one_line(capsys):
    assert main(["audit", "--replicates", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("bayes-ubpr audit: error:") and "n_replicates must be >= 40" in err
