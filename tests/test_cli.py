"""The command line: success paths print tables and write files; bad input is one line and exit 2."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import arviz as az
import numpy as np
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
    printed, err = capsys.readouterr()
    assert "Paper OR (95% CI)" in printed and "Cement volume per level" in printed
    # stderr is not a terminal here, as in a log file: a start line, the sampler's progress, an end line
    lines = err.splitlines()
    assert re.fullmatch(
        r"\[ +\d+\.\d s\] fit: fitting 600 patients \(\d+ with ubpr = 1\), 2 chains x \(500 tuning \+ 500 draws\)",
        lines[0],
    )
    assert "sampling: 100% (2,000 of 2,000 iterations), " in err
    assert re.fullmatch(r"\[ +\d+\.\d s\] fit: done in \d+ s", lines[-1]), lines
    loaded = az.from_netcdf(out)
    assert list(loaded.posterior["beta"].coords["factor"].values) == list(bu.SIX_FACTORS)
    assert not list(tmp_path.glob(".fit.nc*")), "temporary file left behind"
    # without --log-likelihood the file holds no log likelihood; loo recomputes it from the same draws
    assert "log_likelihood" not in loaded.groups()
    kept = tmp_path / "kept.nc"
    assert main(["fit", str(cohort), "--seed", "3", "--out", str(kept), "--log-likelihood", *FAST]) == 0
    stored = az.from_netcdf(kept)
    assert stored.log_likelihood["ubpr"].shape == (2, 500, 600)
    assert bu.loo(loaded).elpd_loo == pytest.approx(bu.loo(stored).elpd_loo, rel=1e-12)
    assert float(az.loo(stored).elpd_loo) == pytest.approx(bu.loo(stored).elpd_loo, rel=1e-12)


def test_reproduce_smoke(capsys):
    assert main(["reproduce", *FAST]) == 0
    captured = capsys.readouterr()
    assert "Number of fractures" in captured.out
    # the demo's three parts, each labelled for what it is (issue 25): the paper's own numbers re-analysed, the
    # audit's counts, one simulated world
    parts = [captured.out.index(label) for label in ("1. The paper's Table 5", "2. The audit", "3. One simulated")]
    assert parts == sorted(parts)
    assert re.search(r"of \d+ checks, \d+ are inconsistent", captured.out)
    assert "0.079 (0.036 to 0.172)" in captured.out.split("2. The audit")[0]  # Table 5's cement volume OR
    assert re.search(r"\] reproduce: case-control sample: \d+ cases \(paper: 60\)", captured.err), captured.err
    assert re.search(r"\] reproduce: done in \d+ s\n", captured.err), captured.err


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
    assert "Missing required column(s): bmd." in capsys.readouterr().err
    assert main(["simulate", "--out", str(tmp_path / "cohort.json")]) == 2
    assert "use a .csv, .parquet, .pq or .xlsx file" in capsys.readouterr().err


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


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--replicates", "5"], "--replicates must be at least 40; got 5"),
        (["--seed", "-5"], "--seed must be a non-negative integer; got -5"),
    ],
)
def test_audit_bad_integer_option_is_one_line_naming_it(options, message, capsys, no_work):
    assert main(["audit", *options]) == 2
    assert capsys.readouterr().err.strip() == f"bayes-ubpr audit: error: {message}"


def test_fit_reads_a_latin1_file_with_encoding(tmp_path, capsys, monkeypatch):
    import bayes_ubpr.cli as cli

    path = tmp_path / "cohort.csv"
    path.write_bytes(
        bu.simulate_cohort(n=100, prevalence=0.3, seed=1).assign(site="Besançon").to_csv(index=False).encode("latin-1")
    )
    assert main(["fit", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "line 2 is not valid UTF-8" in err and "--encoding latin-1" in err

    def fake_fit_and_report(sample, args, spec):  # loading is what is tested here, not fitting
        print(f"loaded {len(sample)} rows, site {sample['site'].iloc[0]}")

    monkeypatch.setattr(cli, "_fit_and_report", fake_fit_and_report)
    assert main(["fit", str(path), "--encoding", "latin-1"]) == 0
    assert "loaded 100 rows, site Besançon" in capsys.readouterr().out


# --- Outputs are checked before any work: nothing is fitted for results that could not be saved ---


@pytest.fixture
def no_work(monkeypatch):
    """Make every long computation fail the test if a command reaches it."""
    import bayes_ubpr.audit
    import bayes_ubpr.data
    import bayes_ubpr.model
    import bayes_ubpr.sensitivity
    import bayes_ubpr.simulate
    import bayes_ubpr.studies

    def forbidden(*args, **kwargs):
        raise AssertionError("the command started work before checking its outputs")

    # the command line imports the library inside each command, so it finds these where they are defined
    for module, name in [
        (bayes_ubpr.model, "fit"),
        (bayes_ubpr.data, "load_cohort"),
        (bayes_ubpr.model, "load_fit"),
        (bayes_ubpr.audit, "audit"),
        (bayes_ubpr.simulate, "simulate_cohort"),
    ]:
        monkeypatch.setattr(module, name, forbidden)
    for name in ("coverage_study", "sbc_study"):
        monkeypatch.setattr(bayes_ubpr.studies, name, forbidden)
    for name in ("control_resampling", "prior_sensitivity", "e_value_table"):
        monkeypatch.setattr(bayes_ubpr.sensitivity, name, forbidden)


def _read_only_folder(tmp_path):
    """A folder this process cannot write in: chmod for a normal user; root ignores modes, so a read-only mount."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    for folder in (Path("/sys"), Path("/proc")):  # read-only to root too
        try:
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError:
            return folder
    pytest.skip("running as root with no read-only folder to write to")


def _one_error_line(capsys, command):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"bayes-ubpr {command}: error:"), err
    return err


def test_every_output_is_checked_before_work(tmp_path, capsys, no_work):
    cohort = tmp_path / "cohort.csv"
    cohort.write_text("a\n1\n")
    absent = tmp_path / "absent"
    a_file = tmp_path / "file.txt"
    a_file.write_text("")
    folder_nc, folder_html, folder_csv = tmp_path / "fit.nc", tmp_path / "report.html", tmp_path / "audit.csv"
    for folder in (folder_nc, folder_html, folder_csv):
        folder.mkdir()
    saved = tmp_path / "saved.nc"
    saved.write_text("")
    cases = [
        (["fit", str(cohort), "--out", str(absent / "fit.nc")], "does not exist"),
        (["fit", str(cohort), "--report", str(tmp_path / "report.pdf")], r"use a \.html, \.htm or \.md file"),
        (["fit", str(cohort), "--out", str(tmp_path / "fit.csv")], r"use a \.nc file"),
        (["reproduce", "--report", str(tmp_path / "report.pdf")], r"\.html, \.htm or \.md"),
        (["reproduce", "--out", str(absent / "fit.nc")], "does not exist"),
        (["simulate", "--out", str(tmp_path / "cohort.json")], r"use a \.csv, \.parquet, \.pq or \.xlsx file"),
        (["audit", "--across-tables", "--out", str(absent / "audit.csv")], "does not exist"),
        # a folder output is made when missing (see test_output_folders_are_made_with_their_parents); it cannot
        # be made in a file
        (["calibrate", "--out", str(a_file)], "is not a folder"),
        (["calibrate", "--out", str(a_file / "results")], rf"--out: {re.escape(str(a_file))} is not a folder"),
        (["calibrate", "--out", str(tmp_path), "--store", str(a_file / "store")], "is not a folder"),
        (["sensitivity", "controls", "--out", str(a_file / "deeper" / "still")], "is not a folder"),
        (["report", str(saved), "--out", str(tmp_path / "r.pdf")], r"\.html, \.htm or \.md"),
        # an output that names an existing folder (before: the work ran, then "[Errno 21] Is a directory"
        # naming the hidden temporary file)
        (
            ["fit", str(cohort), "--out", str(folder_nc)],
            rf"--out: {re.escape(str(folder_nc))} is a folder; name a file",
        ),
        (["fit", str(cohort), "--report", str(folder_html)], r"--report: .*report\.html is a folder"),
        (["reproduce", "--out", str(folder_nc)], "is a folder"),
        (["audit", "--out", str(folder_csv)], r"--out: .*audit\.csv is a folder"),
        (["report", str(saved), "--out", str(folder_html)], "is a folder"),
        (["validate", str(saved), str(cohort), "--report", str(folder_html)], "is a folder"),
        # an outcome name a saved fit cannot hold (before: the whole fit ran, then xarray refused the name)
        (
            ["fit", str(cohort), "--outcome", "pain/relief", "--out", str(tmp_path / "new.nc")],
            r'outcome "pain/relief": a saved fit \(NetCDF\) cannot hold a name with "/".*"pain_relief"',
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        assert re.search(message, _one_error_line(capsys, argv[0])), argv


def test_output_folders_are_made_with_their_parents(tmp_path, capsys):
    # Before: `--out results/` failed on a fresh folder ("--out: folder results does not exist"), as in the
    # README's examples. A folder is made when the command saves into it, so a refusal leaves none behind.
    cohort = tmp_path / "cohort.csv"
    bu.simulate_cohort(n=300, prevalence=0.2, seed=3).to_csv(cohort, index=False)
    out = tmp_path / "results" / "validation"
    assert main(["validate", "paper", str(cohort), "--draws", "60", "--out", str(out)]) == 0
    assert {"validation_performance.csv", "decision_curve.png"} <= {path.name for path in out.iterdir()}
    assert f"in {out}" in capsys.readouterr().err
    refused = tmp_path / "refused"
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    assert main(["validate", "paper", str(tmp_path / "bad.csv"), "--out", str(refused / "deeper")]) == 2
    assert "Missing required column" in _one_error_line(capsys, "validate") and not refused.exists()
    # a file's folder is not made: a mistyped folder is caught before the work, not made
    assert main(["fit", str(cohort), "--out", str(tmp_path / "fits" / "fit.nc")]) == 2
    assert f"--out: folder {tmp_path / 'fits'} does not exist" in _one_error_line(capsys, "fit")


def test_a_read_only_output_folder_fails_before_the_study(tmp_path, capsys, no_work):
    folder = _read_only_folder(tmp_path)
    assert main(["calibrate", "--replicates", "2", "--out", str(folder)]) == 2
    assert "cannot write in" in _one_error_line(capsys, "calibrate")
    (tmp_path / "c.csv").write_text("")  # found, never read
    assert main(["fit", str(tmp_path / "c.csv"), "--out", str(folder / "fit.nc")]) == 2
    assert "cannot write in" in _one_error_line(capsys, "fit")
    assert main(["calibrate", "--out", str(tmp_path), "--store", str(folder / "store")]) == 2
    assert "cannot write in" in _one_error_line(capsys, "calibrate")


# --- Arguments are checked before the library (and PyMC) is imported: a refusal comes back at once ---

REFUSE = """\
import sys
from bayes_ubpr.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as stop:  # argparse's own refusals (an unknown choice, a number that is not one)
    code = stop.code
print(code, sorted(m for m in ("pymc", "pytensor", "arviz", "pandas") if m in sys.modules))
"""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["fit", "absent.csv"], "fit: error: No cohort file at absent.csv"),
        (["fit", "cohort.csv", "--chains", "0"], "fit: error: --chains must be at least 1; got 0"),
        (["fit", "cohort.csv", "--priors", "bold"], "fit: error: argument --priors: invalid choice: 'bold'"),
        (["fit", "cohort.csv", "--imputations", "3"], "fit: error: --imputations need(s) --missing impute"),
        (
            ["select", "cohort.csv", "--formula", "y ~ x", "--factors", "a"],
            "--formula and --factors exclude each other",
        ),
        (["calibrate", "--out", "cohort.csv"], "calibrate: error: --out: cohort.csv is not a folder"),
        (["validate", "paper", "cohort.csv", "--prob", "1.5"], "--prob must be strictly between 0 and 1; got 1.5"),
        (["sensitivity", "priors", "--out", "new", "--ratios", "2"], "--ratios is for `sensitivity controls`"),
        (["simulate", "--out", "cohort.json"], "simulate: error: Cannot write a table to cohort.json"),
    ],
)
def test_a_refusal_comes_before_pymc_arviz_and_pandas_are_imported(tmp_path, argv, message):
    import subprocess
    import sys

    (tmp_path / "cohort.csv").write_text("")
    (tmp_path / "refuse.py").write_text(REFUSE)
    source = str(Path(bu.__file__).parents[1])  # this bayes_ubpr, whatever the working folder
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "refuse.py", *argv], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600
    )
    assert result.stdout.strip() == "2 []", result.stdout + result.stderr  # exit code 2, nothing heavy imported
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr, result.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # numbers in range
        (["fit", "c.csv", "--draws", "0"], "--draws must be at least 1; got 0"),
        (["fit", "c.csv", "--tune", "-1"], "--tune must be 0 or more; got -1"),
        (["fit", "c.csv", "--seed", "-3"], "--seed must be a non-negative integer; got -3"),
        (["fit", "c.csv", "--missing", "impute", "--imputations", "0"], "--imputations must be at least 1; got 0"),
        (["fit", "c.csv", "--design", "case_control", "--prevalence", "0"], "--prevalence must be strictly between"),
        (["simulate", "--out", "s.csv", "--n", "0"], "--n must be at least 1; got 0"),
        (["simulate", "--out", "s.csv", "--controls-per-case", "0"], "--controls-per-case must be at least 1"),
        (["calibrate", "--out", "d", "--replicates", "0"], "--replicates must be at least 1; got 0"),
        (["calibrate", "--out", "d", "--workers", "0"], "--workers must be at least 1; got 0"),
        (["calibrate", "--out", "d", "--sites", "0"], "--sites must be at least 1; got 0"),
        (["calibrate", "--out", "d", "--sites", "4", "--site-sd", "-1"], "--site-sd must be a finite number, 0 or"),
        (["calibrate", "--out", "d", "--group", "site"], "--group site needs a world of sites: --sites 2 or more"),
        (["calibrate", "--out", "d", "--mode", "sbc", "--sites", "4"], "--sites and --group are for --mode fixed"),
        (["select", "c.csv", "--folds", "1"], "--folds must be 0 (no cross-validation of the search) or at least 2"),
        (["select", "c.csv", "--folds", "-2"], "or at least 2; got -2"),
        (["select", "c.csv", "--max-size", "-1"], "--max-size must be 0 or more; got -1"),
        (["sensitivity", "controls", "--out", "d", "--control-sets", "1"], "--control-sets must be at least 2; got 1"),
        (["sensitivity", "controls", "--out", "d", "--ratios", "1", "0"], "--ratios must be at least 1; got 0"),
        (["sensitivity", "prevalence", "--out", "d", "--prevalences", "0.1", "1"], "--prevalences must be strictly"),
        (["effects", "f.nc", "--prob", "0"], "--prob must be strictly between 0 and 1; got 0"),
        (["validate", "paper", "c.csv", "--draws", "0"], "--draws must be at least 1; got 0"),
        # options that exclude each other, or need another
        (["fit", "c.csv", "--formula", "y ~ x", "--group", "site"], "--formula and --group exclude each other"),
        (["fit", "c.csv", "--impute-with", "a"], "--impute-with need(s) --missing impute"),
        (["fit", "c.csv", "--compare-complete-case"], "--compare-complete-case need(s) --missing impute"),
        (["fit", "c.csv", "--prevalence", "0.1"], "--prevalence needs --design case_control"),
        (["sensitivity", "priors", "--out", "d", "--prevalences", "0.1"], "--prevalences is for `sensitivity prev"),
        (["sensitivity", "priors", "--out", "d", "--control-sets", "5"], "--control-sets is for `sensitivity contr"),
        (["validate", "paper", "c.csv", "--report", "r.html"], "--report needs a saved fit: the published model"),
        (["fit", "c.csv", "--encoding", "klingon"], "--encoding: unknown text encoding 'klingon'"),
        # input files
        (["fit", "c.json"], "Cannot read c.json: unsupported file type '.json'. Use one of .csv, .parquet, .pq"),
        (["fit", "c.csv", "--factor-file", "absent.toml"], "No factor file at absent.toml"),
        (["select", "absent.csv"], "No cohort file at absent.csv"),
        (["sensitivity", "priors", "--out", "d", "--data", "absent.csv"], "No cohort file at absent.csv"),
        (["validate", "absent.nc", "c.csv"], "No fit file at absent.nc"),
        (["validate", "paper", "absent.csv"], "No cohort file at absent.csv"),
        (["effects", "absent.nc"], "No fit file at absent.nc"),
        (["report", "absent.nc", "--out", "r.html"], "No fit file at absent.nc"),
    ],
)
def test_every_argument_is_checked_before_the_library_is_imported(
    tmp_path, monkeypatch, capsys, no_work, argv, message
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.csv").write_text("")
    (tmp_path / "f.nc").write_text("")
    assert main(argv) == 2
    assert message in _one_error_line(capsys, argv[0])


def test_a_parser_error_is_one_line_naming_the_help(capsys):
    with pytest.raises(SystemExit) as stopped:
        main(["fit", "c.csv", "--chains", "two"])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err == "bayes-ubpr fit: error: argument --chains: invalid int value: 'two' (see bayes-ubpr fit --help)\n"
    with pytest.raises(SystemExit) as stopped:  # read from the package's metadata only when asked
        main(["--version"])
    assert stopped.value.code == 0 and capsys.readouterr().out == f"bayes-ubpr {bu.__version__}\n"


def test_the_command_lines_choices_and_defaults_are_the_librarys():
    # copied into bayes_ubpr._cli_parser, which must not import the library's modules (they import PyMC)
    from bayes_ubpr import _cli_parser as parser
    from bayes_ubpr import audit, data, missing, model, paper, priors, report, studies, validation

    assert (parser.OUTCOME, parser.N_PATIENTS, parser.N_CASES) == (paper.OUTCOME, paper.N_PATIENTS, paper.N_CASES)
    assert parser.PREVALENCE == paper.PREVALENCE
    assert (parser.SAMPLERS, parser.DESIGNS, parser.PRESETS) == (model.SAMPLERS, model.DESIGNS, priors.PRESETS)
    assert (parser.STUDY_CHAINS, parser.STUDY_TUNE, parser.STUDY_DRAWS) == (
        studies.STUDY_CHAINS,
        studies.STUDY_TUNE,
        studies.STUDY_DRAWS,
    )
    assert (parser.MIN_REPLICATES, parser.IMPUTATIONS) == (audit.MIN_REPLICATES, missing.IMPUTATIONS)
    assert parser.REPORT_SUFFIXES == report.REPORT_SUFFIXES and parser.PAPER == validation.PAPER
    assert set(parser.COHORT_SUFFIXES) == set(data._FORMATS)


# --- A command prints only what it has to say ---


def _fresh_python(tmp_path, code_or_args, **environment):
    """Run Python in a fresh process whose ArviZ has never shown its daily notice (an empty cache folder)."""
    import subprocess
    import sys

    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "PYTHONWARNINGS": "", **environment}
    return subprocess.run([sys.executable, *code_or_args], capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.parametrize("first", ["bayes_ubpr", "bayes_ubpr.paper", "bayes_ubpr._io"])
def test_arvizs_notice_is_silenced_whoever_imports_arviz_first(tmp_path, first):
    # ArviZ 0.23 shows its refactor notice once a day, and never where arviz-base, -stats and -plots are
    # installed: a stand-in ArviZ that always shows it. The package imports ArviZ lazily, so its own modules
    # (and the user's code) import it after `import bayes_ubpr`, through bayes_ubpr._arviz's finder.
    fake = tmp_path / "fake" / "arviz"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text(
        'import warnings\nwarnings.warn("\\nArviZ is undergoing a major refactor ...", FutureWarning)\n'
    )
    path = os.pathsep.join(filter(None, [str(fake.parent), os.environ.get("PYTHONPATH")]))
    code = f"import warnings, {first}, arviz\nwarnings.warn('a FutureWarning of someone else', FutureWarning)\n"
    quiet = _fresh_python(tmp_path, ["-c", code], PYTHONPATH=path)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr.strip() == "<string>:2: FutureWarning: a FutureWarning of someone else"
    noisy = _fresh_python(tmp_path, ["-c", "import arviz"], PYTHONPATH=path)  # the stand-in does warn
    assert "ArviZ is undergoing a major refactor" in noisy.stderr


@pytest.mark.slow
def test_reproduce_prints_no_third_party_warnings(tmp_path):
    result = _fresh_python(
        tmp_path, ["-m", "bayes_ubpr.cli", "reproduce", "--draws", "300", "--tune", "300", "--chains", "2"]
    )
    assert result.returncode == 0, result.stderr
    assert "Number of fractures" in result.stdout
    assert not re.search(r"\w+Warning\b|ArviZ is undergoing", result.stderr), result.stderr


def test_a_long_fit_says_so_and_shows_its_progress(tmp_path, capsys, monkeypatch):
    import bayes_ubpr.cli as cli

    seen = {}

    def fake_fit(sample, spec, **options):  # the sampling itself is not what is tested here
        seen.update(options)
        raise ValueError("stop after the call")

    monkeypatch.setattr(bu.model, "fit", fake_fit)
    path = tmp_path / "big.csv"
    bu.simulate_cohort(n=cli.LONG_FIT_ROWS, prevalence=0.1, seed=1).to_csv(path, index=False)
    assert main(["fit", str(path)]) == 2
    err = capsys.readouterr().err
    assert "A long fit (20,000 patients" in err and seen["progressbar"] is True
    assert re.search(r"about \d+ (s|min) of sampling on one core", err), err
    assert seen["sampler"] == "nutpie"  # the default model: the cached hand-written density, nothing to compile


@pytest.mark.slow
def test_a_fit_prints_the_table_and_no_sampler_log(tmp_path):
    # In a fresh process: PyMC's log handler writes to the stderr it found at import, which capsys cannot see.
    path = tmp_path / "cohort.csv"
    bu.simulate_cohort(n=300, prevalence=0.3, seed=2).to_csv(path, index=False)
    args = ["fit", str(path), "--draws", "200", "--tune", "200", "--chains", "2", "--seed", "1"]
    result = _fresh_python(tmp_path, ["-m", "bayes_ubpr.cli", *args])
    assert result.returncode == 0, result.stderr
    assert "Lumbodorsal fascia injury" in result.stdout
    for log_line in ("Initializing NUTS", "Sequential sampling", "Sampling 2 chains for"):  # PyMC's INFO lines
        assert log_line not in result.stderr, result.stderr


# --- A long command says how far it is, in a log file too ---

TINY = ["--draws", "100", "--tune", "100", "--chains", "2"]
STEP = r"\[ +\d+\.\d s\] "  # the time since the command started


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["select", "{cohort}", "--factors", "fascia_injury", "depression", "--folds", "2", "--seed", "1"],
            [
                r"select: reference fit to 300 patients, then the forward search over 2 factors \(then the same in "
                r"each of 2 folds\)$",
                r"sampling: 100% \(400 of 400 iterations\)",
                r"select: fold 1 of 2: reference fit to 1\d\d patients and search",
                r"select: fold 2 of 2: reference fit to 1\d\d patients and search",
                r"select: done in \d+ s",
            ],
        ),
        (
            ["calibrate", "--replicates", "2", "--seed", "1", "--out", "{folder}"],
            [
                "calibrate: 2 of 2 replicates to run",
                r"replicate 1/2 done \(50%\), \d+ s elapsed, about \d+ s left",
                r"replicate 2/2 done \(100%\)",
                r"calibrate: done in \d+ s",
            ],
        ),
        (
            ["sensitivity", "controls", "--control-sets", "2", "--ratios", "1", "--out", "{folder}"],
            [
                r"sensitivity controls: control set 1 of 2 at 1:1 \(fit 1 of 2\)",
                r"sensitivity controls: control set 2 of 2 at 1:1 \(fit 2 of 2\)",
                r"sensitivity controls: done in \d+ s",
            ],
        ),
        (
            ["fit", "{holes}", "--missing", "impute", "--imputations", "2", "--seed", "1"],
            [
                r"fit: fitting 300 patients \(\d+ with ubpr = 1\), 2 chains x \(100 tuning \+ 100 draws\)",
                r"fit: Missing values: depression 30 \(10\.0%\)",
                "fit: 2 completed data sets imputed",
                "fit: 1 of 2 completed data sets fitted",
                "fit: 2 of 2 completed data sets fitted",
                r"fit: done in \d+ s",
            ],
        ),
    ],
    ids=["select", "calibrate", "sensitivity", "fit-imputed"],
)
def test_a_long_command_prints_its_progress_as_lines_in_a_log_file(tmp_path, capsys, argv, expected):
    # Before: a 218 s fit and a 479 s select printed nothing until they finished when stderr was a file.
    cohort = bu.simulate_cohort(n=300, prevalence=0.3, seed=2)
    cohort.to_csv(tmp_path / "cohort.csv", index=False)
    cohort.assign(depression=cohort["depression"].mask(cohort.index < 30)).to_csv(tmp_path / "holes.csv", index=False)
    paths = {"cohort": tmp_path / "cohort.csv", "holes": tmp_path / "holes.csv", "folder": tmp_path / "out"}
    assert main([part.format(**paths) for part in argv] + TINY) == 0
    lines = capsys.readouterr().err.splitlines()  # capsys's stderr is not a terminal, as a log file is not
    found = [
        next((i for i, line in enumerate(lines) if re.match(rf"({STEP})?{pattern}", line)), None)
        for pattern in expected
    ]
    assert None not in found and found == sorted(found), "\n".join(lines)  # every line, in this order


def test_a_study_prints_a_line_at_every_twentieth_where_stderr_is_not_a_terminal(capsys):
    from types import SimpleNamespace

    from bayes_ubpr.studies._runner import _Progress

    progress = _Progress(SimpleNamespace(progress=True, n_replicates=100), done=10)  # 10 found in a store
    for done in range(11, 101):
        progress.update(done)
    lines = capsys.readouterr().err.splitlines()
    assert [int(line.split()[1].split("/")[0]) for line in lines] == list(range(15, 101, 5))
    assert re.fullmatch(r"replicate 100/100 done \(100%\), \d+ s elapsed, about 0 s left", lines[-1])


# --- --formula: a model from a formula, fitted from raw columns (text included) ---

FORMULA = (
    "residual_pain ~ age + sex + C(fracture_level) + fascia_injury * C(fracture_level) + rcs(cement_volume_ml, 4) "
    "+ (1 | hospital/surgeon)"
)


def _raw_cohort(n: int = 400, seed: int = 23) -> pd.DataFrame:
    """A cohort as a hospital exports it: text categories, a U-shaped cement effect, surgeons within hospitals."""
    import numpy as np
    from scipy.special import expit

    rng = np.random.default_rng(seed)
    hospital = rng.choice(["North", "South"], n)
    surgeon = np.array([f"{h[0]}{k}" for h, k in zip(hospital, rng.integers(1, 5, n), strict=True)])
    sex = rng.choice(["F", "M"], n, p=[0.7, 0.3])
    level = rng.choice(["thoracic", "thoracolumbar", "lumbar"], n, p=[0.3, 0.45, 0.25])
    age = rng.normal(74, 7, n).round()
    volume = rng.gamma(9, 0.55, n).round(1)
    fascia = rng.binomial(1, 0.25, n)
    eta = (
        -2.5
        + 0.03 * (age - 74)
        + 0.4 * (sex == "M")
        + 0.15 * (volume - 5) ** 2
        + 0.4 * fascia
        + 1.0 * fascia * (level == "thoracolumbar")
        + 0.3 * (hospital == "South")
    )
    return pd.DataFrame(
        {
            "residual_pain": rng.binomial(1, expit(eta)),
            "age": age,
            "sex": sex,
            "fracture_level": level,
            "fascia_injury": fascia,
            "cement_volume_ml": volume,
            "hospital": hospital,
            "surgeon": surgeon,
        }
    )


def test_fit_formula_loads_text_columns_and_passes_the_formulas_model(tmp_path, capsys, monkeypatch):
    import bayes_ubpr.cli as cli

    path = tmp_path / "raw.csv"
    _raw_cohort().to_csv(path, index=False)
    seen = {}

    def fake_fit_and_report(sample, args, spec):  # loading and the model are tested here, not sampling
        seen.update(sample=sample, spec=spec)

    monkeypatch.setattr(cli, "_fit_and_report", fake_fit_and_report)
    assert main(["fit", str(path), "--formula", FORMULA, "--priors", "sceptical"]) == 0
    spec, sample = seen["spec"], seen["sample"]
    assert spec.formula == FORMULA and spec.outcome == "residual_pain" and spec.priors == "sceptical"
    assert spec.groups == ("hospital", "hospital:surgeon")
    assert spec.terms.names == (
        "age",
        "sex",
        "fracture_level",
        "fascia_injury",
        "fascia_injury:fracture_level",
        "cement_volume_ml",
    )
    assert sample["sex"].tolist() == _raw_cohort()["sex"].tolist()  # text kept as text, every row kept
    assert "] fit: fitting 400 patients" in capsys.readouterr().err


def test_fit_formula_names_a_missing_or_incomplete_column_by_csv_line(tmp_path, capsys):
    path = tmp_path / "raw.csv"
    data = _raw_cohort(n=50)
    data.to_csv(path, index=False)
    assert main(["fit", str(path), "--formula", "residual_pain ~ age + C(sx)"]) == 2
    assert 'Missing required column(s): sx. Did you mean "sex"?' in _one_error_line(capsys, "fit")
    data.loc[[3, 7], "surgeon"] = None
    data.to_csv(path, index=False)
    assert main(["fit", str(path), "--formula", "residual_pain ~ age + (1 | hospital/surgeon)"]) == 2
    assert 'Column "surgeon" has missing values in CSV lines 5, 9' in _one_error_line(capsys, "fit")


@pytest.mark.parametrize(
    ("command", "options", "named"),
    [
        ("fit", ["--factors", "age"], "--factors"),
        ("fit", ["--outcome", "residual_pain"], "--outcome"),
        ("fit", ["--group", "hospital"], "--group"),
        ("fit", ["--factor-file", "factors.toml", "--group", "hospital"], "--group, --factor-file"),
        ("select", ["--factors", "age", "sex"], "--factors"),
        ("select", ["--outcome", "residual_pain"], "--outcome"),
    ],
)
def test_formula_excludes_the_options_it_replaces(tmp_path, capsys, no_work, command, options, named):
    (tmp_path / "raw.csv").write_text("")  # found, never read
    argv = [command, str(tmp_path / "raw.csv"), "--formula", "residual_pain ~ age + sex", *options]
    assert main(argv) == 2
    err = _one_error_line(capsys, command)
    assert f"--formula and {named} exclude each other: the formula names the outcome, the terms and the groups" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["fit", "raw.csv", "--formula", "residual_pain ~ np.log(age)"],
            r"error: --formula: np\.log\(age\): the formula understands C\(\) and rcs\(\) only",
        ),
        (["fit", "raw.csv", "--formula", "residual_pain ~ age +"], r"error: --formula: cannot read the formula"),
        (["fit", "raw.csv", "--formula", "age + sex"], r'error: --formula: a formula reads "outcome ~ term \+ term"'),
        (["select", "raw.csv", "--formula", "y ~ rcs(age, 9)"], r"error: --formula: rcs\(age, k\): k must be"),
        (["sensitivity", "prevalence", "--out", ".", "--formula", "ubpr ~ a:b:c"], r"error: --formula: a:b:c"),
        # the outcome is read off the formula before an output is checked
        (["fit", "raw.csv", "--out", "fit.nc", "--formula", "~ age"], r"error: --formula: "),
    ],
)
def test_a_bad_formula_is_one_line_and_exit_2_before_any_work(tmp_path, capsys, no_work, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "raw.csv").write_text("")  # found, never read
    assert main(argv) == 2
    assert re.search(message, _one_error_line(capsys, argv[0]))


@pytest.mark.slow
def test_fit_formula_from_a_csv_with_text_columns_then_validate(tmp_path, capsys):
    path, other = tmp_path / "raw.csv", tmp_path / "new.csv"
    _raw_cohort(n=400, seed=23).to_csv(path, index=False)
    _raw_cohort(n=300, seed=24).to_csv(other, index=False)
    out, report = tmp_path / "fit.nc", tmp_path / "report.md"
    argv = ["fit", str(path), "--formula", FORMULA, "--seed", "1", "--out", str(out), "--report", str(report)]
    assert main([*argv, "--draws", "300", "--tune", "300", "--chains", "2"]) == 0
    printed = capsys.readouterr().out
    # a formula fit prints odds ratios per term: levels against the reference, the interaction's strata, the
    # spline between its quartiles; never a coefficient per unit of a spline's nonlinear column
    for label in ("M vs F", "thoracic vs lumbar", "fracture_level = thoracolumbar", "(upper vs lower quartile)"):
        assert label in printed
    assert "nonlinear 1" not in printed and "interaction  " not in printed
    assert re.search(r"hospital:surgeon: median odds ratio between groups \d\.\d\d \(95% CI", printed)
    loaded = bu.load_fit(out)
    assert bu.ModelSpec.from_idata(loaded).formula == FORMULA
    assert "sex[M]" in loaded.posterior["factor"].values
    text = report.read_text()
    assert "## Differences between groups" in text and "residual\\_pain \\~ age" in text
    # a formula fit's validation cohort is read by its raw columns (before: its design columns were required)
    assert main(["validate", str(out), str(other), "--draws", "200"]) == 0
    assert "auc" in capsys.readouterr().out.lower()


# --- effects: a saved fit's odds ratios per term, contrasts and curves ---


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--contrast", "volume=3"], r"--contrast 'volume=3': expected VAR=FROM,TO"),
        (["--contrast", "=3,5"], r"--contrast '=3,5': expected VAR=FROM,TO"),
        (["--at", "level"], r"--at 'level': expected VAR=VALUE"),
        (["--by", "sex"], r"--by needs --curve"),
    ],
)
def test_effects_arguments_are_checked_before_the_fit_is_read(tmp_path, capsys, options, message):
    assert main(["effects", str(tmp_path / "absent.nc"), *options]) == 2
    assert re.search(message, capsys.readouterr().err)


def test_effects_prints_term_odds_ratios_contrasts_and_curves(tmp_path, capsys):
    path, out = tmp_path / "raw.csv", tmp_path / "fit.nc"
    _raw_cohort(n=400, seed=23).to_csv(path, index=False)
    formula = "residual_pain ~ sex + C(fracture_level) * fascia_injury + rcs(cement_volume_ml, 3)"
    argv = ["fit", str(path), "--formula", formula, "--out", str(out), "--draws", "300", "--tune", "300"]
    assert main([*argv, "--chains", "2", "--seed", "1"]) == 0
    capsys.readouterr()
    assert main(["effects", str(out)]) == 0
    assert "fracture_level = thoracolumbar" in capsys.readouterr().out
    changes = ["--contrast", "cement_volume_ml=3,5", "--at", "fracture_level=lumbar,thoracolumbar"]
    assert main(["effects", str(out), *changes, "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("cement_volume_ml 3 → 5") == 2  # one row per level held
    table = pd.read_csv(tmp_path / "contrast.csv")
    idata = bu.load_fit(out)
    expected = bu.contrast(idata, {"cement_volume_ml": (3, 5)}, at={"fracture_level": ["lumbar", "thoracolumbar"]})
    np.testing.assert_allclose(table["or_median"], expected["or_median"], rtol=1e-9)
    assert main(["effects", str(out), "--curve", "cement_volume_ml", "--by", "sex", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "curve_cement_volume_ml.png").is_file()
    assert main(["effects", str(out), "--contrast", "volume=3,5"]) == 2
    assert '"volume" is not a variable of the model' in capsys.readouterr().err
