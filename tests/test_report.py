"""Figures, saved fits and the report: self-contained, atomic, and rendered by a real browser."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes

import bayes_ubpr as bu
from bayes_ubpr.cli import main
from bayes_ubpr.report import EXAMPLE_PATIENT

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
]


@pytest.fixture(scope="module")
def report_path(tmp_path_factory, small_fit):
    path = tmp_path_factory.mktemp("report") / "report.html"
    return bu.write_report(small_fit, path, seed=1)


class TestPlots:
    def test_each_plot_returns_axes(self, small_fit):
        summary = bu.ppc_summary(small_fit, seed=1)
        for draw in (
            lambda: bu.forest_plot(small_fit),
            lambda: bu.ppc_plot(summary, small_fit, seed=1),
            lambda: bu.calibration_plot(small_fit, n_consistency=20, seed=1),
            lambda: bu.risk_distribution_plot(small_fit),
        ):
            ax = draw()
            assert isinstance(ax, Axes)
            plt.close(ax.figure)

    def test_forest_plot_draws_ours_and_the_papers_on_a_log_axis(self, small_fit):
        fig, ax = plt.subplots()
        assert bu.forest_plot(small_fit, ax=ax) is ax
        assert ax.get_xscale() == "log"
        assert len(ax.get_yticks()) == len(bu.SIX_FACTORS)
        plt.close(fig)


class TestSaveLoad:
    def test_round_trip_keeps_what_tables_need(self, small_fit, tmp_path):
        path = bu.save_fit(small_fit, tmp_path / "fit.nc")
        loaded = bu.load_fit(path)
        assert bu.ModelSpec.from_idata(loaded) == bu.ModelSpec.from_idata(small_fit)
        a, b = bu.odds_ratio_table(small_fit), bu.odds_ratio_table(loaded)
        np.testing.assert_allclose(a["or_median"], b["or_median"])
        assert not list(tmp_path.glob(".fit.nc*"))

    def test_load_errors(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="No fit file"):
            bu.load_fit(tmp_path / "absent.nc")
        import arviz as az

        other = az.from_dict(posterior={"x": np.zeros((2, 10))})
        other.to_netcdf(str(tmp_path / "other.nc"))
        with pytest.raises(ValueError, match="not a bayes_ubpr fit"):
            bu.load_fit(tmp_path / "other.nc")


def _not_fits(small_fit, folder):
    """NetCDF and other files that are not bayes_ubpr fits, with the reason each should be refused for."""
    import arviz as az

    posterior_only = az.from_dict(posterior={"x": np.zeros((2, 10))})
    no_x = small_fit.copy()
    del no_x.constant_data["x"]
    bad_spec = small_fit.copy()
    bad_spec.attrs["model_spec"] = "not json"
    no_spec = small_fit.copy()
    del no_spec.attrs["model_spec"]
    cases = {
        "posterior_only.nc": (posterior_only, r"lacks the observed_data, constant_data groups"),
        "no_x.nc": (no_x, r"constant_data lacks x"),
        "bad_spec.nc": (bad_spec, r"its model specification is missing or unreadable"),
        "no_spec.nc": (no_spec, r"its attrs hold no model specification"),
    }
    for name, (idata, _) in cases.items():
        idata.to_netcdf(str(folder / name))
    (folder / "text.nc").write_text("patient,ubpr\n1,0\n")
    (folder / "empty.nc").write_bytes(b"")
    return {name: reason for name, (_, reason) in cases.items()} | {
        "text.nc": "not a NetCDF file",
        "empty.nc": "not a NetCDF file",
    }


def test_files_that_are_not_fits_are_named_with_the_reason(small_fit, tmp_path):
    for name, reason in _not_fits(small_fit, tmp_path).items():
        path = tmp_path / name
        with pytest.raises(bu.NotAFitError, match=rf"^not a bayes_ubpr fit: {re.escape(str(path))} \(.*{reason}"):
            bu.load_fit(path)


def test_report_command_on_a_file_that_is_not_a_fit(small_fit, tmp_path, capsys):
    for name in _not_fits(small_fit, tmp_path):
        path = tmp_path / name
        assert main(["report", str(path), "--out", str(tmp_path / "r.html")]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"bayes-ubpr report: error: not a bayes_ubpr fit: {path} ("), err
        assert len(err.splitlines()) == 1, err
    assert not (tmp_path / "r.html").exists()


def _hand_edited(small_fit, path, edit):
    """Save ``small_fit`` with its stored model specification edited: ``edit`` changes the decoded JSON in place,
    or is the attribute's new value itself."""
    if callable(edit):
        spec = json.loads(small_fit.attrs["model_spec"])
        edit(spec)
        edit = json.dumps(spec)
    idata = small_fit.copy()
    idata.attrs = {**small_fit.attrs, "model_spec": edit}
    idata.to_netcdf(str(path))
    return path


HAND_EDITS = {
    "priors a plain string": (lambda s: s.update(priors="default"), r'field "priors": stored priors must be a table'),
    "priors an unknown preset": (lambda s: s.update(priors={"preset": "flat"}), "priors preset must be one of"),
    "a prior's sigma a string": (
        lambda s: s.update(priors={"mapping": {"depression": {"family": "normal", "mu": 0, "sigma": "1"}}}),
        r"field \"priors\": stored prior of \"depression\": Prior sigma must be a positive finite number",
    ),
    "a factor's kind removed": (
        lambda s: s["factors"][0].update(kind=None),
        r'field "factors": factor "bmd_tscore_abs" has no kind',
    ),
    "a factor's label a number": (
        lambda s: s["factors"][1].update(label=5),
        r'field "factors": Factor "fascia_injury" label must be a string; got int 5',
    ),
    "a factor's range one number": (
        lambda s: s["factors"][0].update(range=[10]),
        r'field "factors": Factor "bmd_tscore_abs" range must be a pair of finite numbers',
    ),
    "the factors a string": (lambda s: s.update(factors="depression"), r'field "factors": must be a list of factors'),
    "the outcome a number": (lambda s: s.update(outcome=1), r"outcome must be a column name"),
    "the design misspelt": (lambda s: s.update(design="cc"), r"design must be one of 'cohort', 'case_control'"),
    "a case-control design without prevalence": (
        lambda s: s.update(design="case_control"),
        r'field "population_prevalence": a case-control fit records its prevalence',
    ),
    "a prevalence for a cohort": (lambda s: s.update(population_prevalence=0.1), r"population_prevalence applies"),
    "the group a number": (
        lambda s: s.update(group=3),
        r"field \"group\": must be a column name or a list of groupings; got int 3",
    ),
    "varying slopes a string": (lambda s: s.update(varying_slopes="depression"), r'field "varying_slopes": must be'),
    "population_mapping unknown": (lambda s: s.update(population_mapping="exact"), r"population_mapping must be one"),
    "the priors field removed": (lambda s: s.pop("priors"), r"model specification lacks 'priors'"),
    "an unknown field": (lambda s: s.update(prior=1), r'unknown key .prior.\. Did you mean "priors"\?'),
    "a list, not an object": ("[1]", r"model specification must be a table of settings; got list"),
    "not JSON": ('{"factors": [', r"is not valid JSON \(Expecting value"),
}


@pytest.mark.parametrize("case", list(HAND_EDITS))
def test_a_fit_with_a_hand_edited_model_specification_names_the_field(small_fit, tmp_path, case):
    edit, reason = HAND_EDITS[case]
    path = _hand_edited(small_fit, tmp_path / "edited.nc", edit)
    prefix = rf"^not a bayes_ubpr fit: {re.escape(str(path))} \(its model specification is missing or unreadable \("
    with pytest.raises(bu.NotAFitError, match=prefix + r"model_spec.*" + reason) as info:
        bu.load_fit(path)
    assert "\n" not in str(info.value)


def test_report_command_on_a_fit_with_a_hand_edited_model_specification(small_fit, tmp_path, capsys):
    path = _hand_edited(small_fit, tmp_path / "edited.nc", lambda spec: spec.update(priors="default"))
    assert main(["report", str(path), "--out", str(tmp_path / "r.html")]) == 2  # was an AttributeError traceback
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"bayes-ubpr report: error: not a bayes_ubpr fit: {path} ("), err
    assert 'field "priors"' in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "r.html").exists()


class TestReport:
    def test_html_is_self_contained_with_every_section(self, report_path):
        text = report_path.read_text()
        for heading in (
            "Data",
            "Priors",
            "Sampling diagnostics",
            "Odds ratios beside the paper",
            "Forest plot",
            "Posterior-predictive checks",
            "Calibration",
            "Absolute risk: two example patients",
        ):
            assert f"<h2>{heading}</h2>" in text
        assert not re.search(r"(src|href)=\"https?://", text), "the report must not load anything from the network"
        images = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
        assert len(images) == 4  # forest, replicated cases, calibration, risk distributions
        assert all(base64.b64decode(image).startswith(b"\x89PNG") for image in images)

    def test_markdown_and_bad_suffix(self, small_fit, tmp_path):
        text = bu.write_report(small_fit, tmp_path / "report.md", seed=1).read_text()
        assert text.startswith("# ") and "## Odds ratios beside the paper" in text and "| label |" in text
        with pytest.raises(ValueError, match=r"use a \.html, \.htm or \.md file"):
            bu.write_report(small_fit, tmp_path / "report.pdf")

    def test_markdown_escapes_the_title_and_user_text(self, small_fit, tmp_path):
        title = "Site <script>alert(1)</script> *all* [link](http://x) C# | a_b\nsecond line"
        text = bu.write_report(small_fit, tmp_path / "report.md", title=title, seed=1).read_text()
        first = text.splitlines()[0]
        assert first == (r"# Site \<script\>alert(1)\</script\> \*all\* \[link\](http://x) C\# \| a\_b second line")
        assert "<script>" not in text
        assert "bmd\\_tscore\\_abs" in text  # factor names are text, not emphasis markers

    def test_markdown_table_cells_are_escaped(self):
        import pandas as pd

        from bayes_ubpr.report import _render_markdown

        group = pd.DataFrame({"quantity": ["group"], "value": ["<img src=x onerror=alert(1)> **x** | y\nz"]})
        text = _render_markdown("T", [("Data", "", group)], "footer")
        row = text.splitlines()[-3]
        assert row == r"| group | \<img src=x onerror=alert(1)\> \*\*x\*\* \| y z |"

    def test_a_failed_write_leaves_no_file(self, small_fit, tmp_path, monkeypatch):
        import bayes_ubpr.report as report

        def broken(*args, **kwargs):
            raise RuntimeError("disk full")

        monkeypatch.setattr(report, "_render_html", broken)
        target = tmp_path / "report.html"
        with pytest.raises(RuntimeError):
            bu.write_report(small_fit, target)
        assert not target.exists() and not list(tmp_path.iterdir())

    @pytest.mark.slow
    @pytest.mark.skipif(
        shutil.which("chromium") is None, reason="Debian's chromium is not installed (.ci/run installs it)"
    )
    def test_renders_in_headless_chromium(self, report_path, tmp_path):
        shot = tmp_path / "shot.png"
        result = subprocess.run(
            [
                "chromium",
                *CHROMIUM_FLAGS,
                f"--user-data-dir={tmp_path / 'profile'}",
                "--window-size=1200,3000",
                f"--screenshot={shot}",
                report_path.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        console = [line for line in result.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
        assert not console, console
        image = plt.imread(shot)
        assert image.shape[0] > 1000
        assert image[..., :3].std() > 0.05, "the screenshot is blank"


class TestCli:
    @pytest.mark.slow
    def test_report_command(self, small_fit, tmp_path, capsys):
        fit_path = bu.save_fit(small_fit, tmp_path / "fit.nc")
        assert main(["report", str(fit_path), "--out", str(tmp_path / "r.html")]) == 0
        assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")
        assert main(["report", str(tmp_path / "missing.nc"), "--out", str(tmp_path / "r.html")]) == 2
        assert "No fit file" in capsys.readouterr().err

    @pytest.mark.slow
    def test_reproduce_writes_a_report(self, tmp_path):
        out = tmp_path / "out.html"
        assert main(["reproduce", "--draws", "500", "--tune", "500", "--chains", "2", "--report", str(out)]) == 0
        assert "Odds ratios beside the paper" in out.read_text()


def test_labels_with_dollar_signs_are_drawn_literally(small_cohort, tmp_path):
    # Before: "$...$" in a label started matplotlib's mathtext, which failed after the fit with a
    # multi-line parse error; a single "$" was silently dropped from the figure.
    from matplotlib.figure import Figure

    labels = ["BMD $T$-score", r"cost in $\frac{", "fee $5"]
    factors = [
        bu.Factor(name, label=label)
        for name, label in zip(["bmd_tscore_abs", "fascia_injury", "depression"], labels, strict=True)
    ]
    idata = bu.fit(small_cohort, factors=factors, draws=200, tune=200, chains=2, seed=1, log_likelihood=False)
    figure = Figure()
    ax = bu.forest_plot(idata, ax=figure.subplots())
    figure.savefig(tmp_path / "forest.png")  # draws every text: mathtext would raise here
    drawn = sorted(text.get_text().split("\n")[0] for text in ax.get_yticklabels())
    assert drawn == sorted(label.replace("$", r"\$") for label in labels)
    assert bu.write_report(idata, tmp_path / "report.html", seed=1).exists()


# --- Formula fits: example patients from raw values; group spread in the report ---


def _raw_cohort(n: int = 800, seed: int = 11, hospitals: int = 0):
    """Text categories and a U-shaped volume effect centred at 4 mL, so that the 95th percentile is the riskier end."""
    import pandas as pd
    from scipy.special import expit

    rng = np.random.default_rng(seed)
    level = rng.choice(["thoracic", "thoracolumbar", "lumbar"], n, p=[0.3, 0.45, 0.25])
    sex = rng.choice(["F", "M"], n, p=[0.7, 0.3])
    volume = rng.gamma(9, 0.55, n).round(1)
    injury = rng.binomial(1, 0.3, n)
    eta = -2.5 + 1.5 * (sex == "M") + 1.5 * (level == "thoracolumbar") + 1.0 * injury + 0.3 * (volume - 4) ** 2
    frame = {"sex": sex, "level": level, "volume": volume, "injury": injury}
    if hospitals:
        hospital = rng.choice([f"H{k}" for k in range(hospitals)], n)
        eta = eta + np.where(hospital == "H0", 0.8, 0.0)
        frame["hospital"] = hospital
    return pd.DataFrame({"pain": rng.binomial(1, expit(eta)), **frame})


SPLINE_FORMULA = "pain ~ sex + C(level) + injury + rcs(volume, 4)"


@pytest.fixture(scope="module")
def spline_fit():
    data = _raw_cohort()
    return data, bu.fit(
        data, SPLINE_FORMULA, sampling=bu.Sampling(draws=1000, tune=1000, chains=2), seed=3, check=False
    )


def test_example_patients_of_a_formula_fit_are_raw_values_the_data_hold(spline_fit):
    data, idata = spline_fit
    patients = bu.example_patients(idata)
    assert list(patients.columns) == ["sex", "level", "injury", "volume"]
    assert patients.index.tolist() == ["typical patient", "high-risk example"]
    typical, high = patients.loc["typical patient"], patients.loc["high-risk example"]
    assert typical.tolist() == ["F", "thoracolumbar", 0.0, float(data["volume"].median())]  # commonest, median
    for _, patient in patients.iterrows():
        assert patient["sex"] in set(data["sex"]) and patient["level"] in set(data["level"])
        assert patient["injury"] in (0.0, 1.0)
        assert data["volume"].min() <= patient["volume"] <= data["volume"].max()
    # the truth: men, thoracolumbar fractures and injury raise the risk; of the volume's 5th and 95th
    # percentiles (2.6 and 8.2 mL) the 95th lies further from the U's bottom at 4 mL
    assert high[["sex", "level", "injury"]].tolist() == ["M", "thoracolumbar", 1.0]
    assert high["volume"] == pytest.approx(np.quantile(data["volume"], 0.95))
    risk = bu.predict_risk(idata, patients)
    assert risk.loc["high-risk example", "risk_lower"] > risk.loc["typical patient", "risk_upper"]


def test_example_patients_of_a_factor_fit_keep_the_papers_high_risk_patient(small_fit, small_cohort):
    patients = bu.example_patients(small_fit)
    assert list(patients.columns) == list(bu.SIX_FACTORS)
    typical = patients.loc["typical patient"]
    assert typical["cement_volume_ml"] == pytest.approx(small_cohort["cement_volume_ml"].median())
    assert typical["n_fractures"] == round(small_cohort["n_fractures"].median())
    expected = {name: float(value) for name, value in EXAMPLE_PATIENT.items()}
    assert patients.loc["high-risk example"].to_dict() == expected


@pytest.mark.slow
def test_a_grouped_formula_fits_report_shows_the_formula_priors_and_group_spread(tmp_path):
    data = _raw_cohort(hospitals=5)
    formula = f"{SPLINE_FORMULA} + (1 | hospital)"
    idata = bu.fit(data, formula, sampling=bu.Sampling(draws=1000, tune=1000, chains=2), seed=4, check=False)
    text = bu.write_report(idata, tmp_path / "report.md", seed=1).read_text()
    assert "| formula | pain \\~ sex + C(level) + injury + rcs(volume, 4) + (1 \\| hospital) |" in text
    assert "levels of level share one prior: Normal(0, 1) per level vs lumbar" in text
    assert "nonlinear part of the volume spline: half the main-effect scale" in text
    assert "HalfNormal(1) on the SD of hospital intercepts (log odds)" in text
    assert "## Differences between groups" in text and "## Group offsets" in text
    assert "| grouping | n\\_groups | sd\\_median | sd\\_lower | sd\\_upper | mor\\_median |" in text
    assert "Larsen \\& Merlo 2005" in text and "doi:10.1093/aje/kwi017" in text
    assert "| high-risk example | M | thoracolumbar |" in text
    assert "## Odds ratios by term" in text and "## Coefficients per design column" in text
    assert "## Risk along volume" in text  # the spline's curve beside its interquartile odds ratio
    # the spline's curve, forest, group offsets, replicated cases, calibration, risks
    assert text.count("](data:image/png;base64,") == 6
