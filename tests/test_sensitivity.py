"""Sensitivity analyses: E-value kernel on arrays, and each refitting analysis on simulated data with known truth."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

import bayes_ubpr as bu
from bayes_ubpr.priors import DEFAULT_SCALE, Prior, wide_priors
from bayes_ubpr.sensitivity import (
    control_resampling,
    e_value,
    e_value_table,
    power_scaling,
    prevalence_sensitivity,
    prior_grid,
    prior_sensitivity,
    tipping_points,
)
from bayes_ubpr.sensitivity.priors import _tipping_row
from bayes_ubpr.simulate import LevelEffects, QuadraticEffect

# Enough draws that R-hat (unrounded) stays within 1.01: a short run would warn, and warnings are errors here.
FAST = {"draws": 1000, "tune": 1000, "chains": 4}
SAMPLING = bu.Sampling(**FAST)
CASE_CONTROL = bu.ModelSpec(design="case_control")  # the model of the analyses called without a spec (deprecated)


# ----------------------------------------------------------------------------- E-values


def test_e_value_matches_the_published_example_and_formula():
    # VanderWeele & Ding (2017), breastfeeding example: RR 3.9 has E-value 7.26.
    assert round(e_value(3.9), 2) == 7.26
    ratios = np.array([0.25, 0.8, 1.0, 1.5, 10.0])
    rr = np.maximum(ratios, 1 / ratios)
    np.testing.assert_allclose(e_value(ratios), rr + np.sqrt(rr * (rr - 1)))
    # A common outcome: RR is approximated by sqrt(OR) (VanderWeele & Ding 2017, eq. for OR with prevalence > 15%).
    assert e_value(9.0, rare_outcome=False) == pytest.approx(e_value(3.0))


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan, np.inf])
def test_e_value_rejects_impossible_odds_ratios(bad):
    with pytest.raises(ValueError, match="odds_ratio must be positive and finite"):
        e_value([1.2, bad])


def test_e_value_table_uses_the_limit_nearest_one(small_fit):
    table = e_value_table(small_fit).set_index("factor")
    includes = (table["or_lower"] <= 1) & (table["or_upper"] >= 1)
    assert (table.loc[includes, "e_value_limit"] == 1).all()
    excludes = table.loc[~includes]
    assert len(excludes) > 0, "the small cohort has effects whose intervals exclude 1"
    nearest = np.where(excludes["or_median"] >= 1, excludes["or_lower"], excludes["or_upper"])
    np.testing.assert_allclose(excludes["e_value_limit"], e_value(nearest))
    # The point E-value lies within the posterior interval of per-draw E-values.
    assert (table["e_value"].between(table["e_value_posterior_lower"], table["e_value_posterior_upper"])).all()
    assert (table["e_value_limit"] <= table["e_value"]).all()


# ----------------------------------------------------------------------------- prior grid and sensitivity


def test_prior_grid_names_families_and_scales():
    grid = prior_grid(["fascia_injury", "n_fractures"], scales=[0.5, 1])
    assert len(grid) == 8
    assert grid["default x 1"]["n_fractures"] == Prior(sigma=DEFAULT_SCALE, per="sd")
    assert grid["student_t x 0.5"]["fascia_injury"] == Prior("student_t", sigma=0.5 * DEFAULT_SCALE, nu=3)
    # scale 0.5 of the paper family is the published SE itself (inflation 1)
    assert grid["paper x 0.5"]["fascia_injury"].sigma == pytest.approx(0.423)
    with pytest.raises(ValueError, match="prior family must be one of"):
        prior_grid(families=["flat"])
    with pytest.raises(ValueError, match="scales must be positive finite numbers; got -1"):
        prior_grid(scales=[-1])
    with pytest.raises(ValueError, match="inflation must be a number >= 1"):
        prior_grid(families=["paper"], scales=[0.25])


def test_prior_sensitivity_flags_a_conclusion_that_a_sceptic_overturns(small_cohort):
    settings = {"default": "default", "dogmatic sceptic": {f: Prior(sigma=0.01) for f in ["fascia_injury"]}}
    table = prior_sensitivity(small_cohort, bu.ModelSpec(), priors=settings, sampling=SAMPLING, seed=4)
    fascia = table[table["factor"] == "fascia_injury"].set_index("setting")
    # The simulated OR is 3.8 (Table 5): the data exclude 1, a prior with SD 0.01 pins the OR at 1.
    assert fascia.loc["default", "excludes_one"] and not fascia.loc["dogmatic sceptic", "excludes_one"]
    assert fascia["flips"].all()
    assert fascia.loc["dogmatic sceptic", "or_median"] == pytest.approx(1, abs=0.05)
    assert table.attrs["draws"] == FAST["draws"]
    with pytest.raises(TypeError, match="wrap a single preset in a list"):
        prior_sensitivity(small_cohort, CASE_CONTROL, priors="default")
    with pytest.raises(TypeError, match="unexpected fit options"):
        prior_sensitivity(small_cohort, CASE_CONTROL, priors=["default"], target="x")


def test_tipping_point_interpolates_where_the_limit_crosses_one():
    sigma = np.array([0.1, 0.2, 0.4])
    group = pd.DataFrame(
        {
            "sigma": sigma,
            "or_median": [1.1, 1.5, 2.0],
            "or_lower": [np.exp(-0.2), np.exp(-0.1), np.exp(0.1)],
            "or_upper": [2.0, 3.0, 4.0],
        }
    )
    row = _tipping_row("fascia_injury", group)
    assert row["status"] == "flips"
    # the log margin goes -0.1 -> +0.1 between sigma 0.2 and 0.4: halfway on log sigma
    assert row["tipping_sigma"] == pytest.approx(np.sqrt(0.2 * 0.4))
    assert row["tipping_or_bound"] == pytest.approx(np.exp(1.959963984540054 * np.sqrt(0.08)))
    protective = group.assign(or_median=1 / group["or_median"], or_lower=0.2, or_upper=1 / group["or_lower"])
    assert _tipping_row("x", protective)["tipping_sigma"] == pytest.approx(np.sqrt(0.08))
    assert _tipping_row("x", group.assign(or_lower=1.5))["status"] == "excludes 1 on the whole grid"
    assert _tipping_row("x", group.assign(or_lower=0.5))["status"] == "includes 1 on the whole grid"


@pytest.mark.slow
def test_tipping_points_separate_a_strong_effect_from_a_null_one(small_cohort):
    # Simulated truth: cement volume has OR 0.079 per mL (strong), age is not in the model's world (null).
    factors = ["cement_volume_ml", "age"]
    spec = bu.ModelSpec(factors=factors, design="case_control")
    tipping = tipping_points(small_cohort, spec, scales=[0.01, 0.05, 0.25, 2.5], sampling=SAMPLING, seed=2)
    result = tipping.summary
    status = result.set_index("factor")["status"]
    assert status["cement_volume_ml"] == "flips"
    assert status["age"] == "includes 1 on the whole grid"
    assert 0.01 < result.set_index("factor").loc["cement_volume_ml", "tipping_sigma"] < 0.25
    assert len(tipping.grid) == 8
    assert tipping.grid["sigma"].unique().tolist() == [0.01, 0.05, 0.25, 2.5]
    assert "grid" not in result.attrs and result.attrs["seed"] == tipping.seed
    with pytest.raises(ValueError, match="at least two positive prior SDs"):
        tipping_points(small_cohort, spec, scales=[1.0])


# ----------------------------------------------------------------------------- power-scaling


@pytest.mark.slow
def test_power_scaling_diagnoses_conflict_and_a_dominant_prior(small_cohort):
    # Weakly informative Normal(0, 2.5) priors (priors="wide"): the likelihood dominates every factor.
    wide = wide_priors(bu.SIX_FACTORS)
    quiet = power_scaling(bu.fit(small_cohort, priors=wide, seed=3, **FAST), small_cohort)
    assert (quiet["diagnosis"] == "-").all(), quiet
    # Truth log OR 1.34 for fascia injury; a prior at -3 with SD 0.3 contradicts the data.
    conflict = bu.fit(small_cohort, priors={**wide, "fascia_injury": Prior(mu=-3, sigma=0.3)}, seed=3, **FAST)
    table = power_scaling(conflict, small_cohort).set_index("factor")
    assert table.loc["fascia_injury", "diagnosis"] == "prior-data conflict"
    # Each factor's own prior is scaled: the others, whose priors agree with the data, are not blamed.
    assert (table.drop(index="fascia_injury")["diagnosis"] == "-").all(), table
    # A prior at the truth with SD 0.05 agrees with the data but leaves the likelihood little to say.
    dominant = bu.fit(small_cohort, priors={**wide, "fascia_injury": Prior(mu=1.336, sigma=0.05)}, seed=3, **FAST)
    table = power_scaling(dominant, small_cohort).set_index("factor")
    assert table.loc["fascia_injury", "diagnosis"] == "strong prior / weak likelihood"
    assert (table.drop(index="fascia_injury")["diagnosis"] == "-").all()
    with pytest.raises(ValueError, match="threshold must lie strictly between 0 and 1"):
        power_scaling(dominant, small_cohort, threshold=1.5)


# ----------------------------------------------------------------------------- prevalence


@pytest.fixture(scope="module")
def case_control_fit():
    cohort = bu.simulate_cohort(n=3000, seed=7)
    sample = bu.case_control_sample(cohort, controls_per_case=2, seed=8)
    return bu.fit(sample, design="case_control", seed=1, check=False, **FAST)


def test_prevalence_sensitivity_scales_risks_with_the_assumed_prevalence(case_control_fit):
    from bayes_ubpr.report import example_patients

    patients = example_patients(case_control_fit)
    table = prevalence_sensitivity(case_control_fit, patients, prevalences=[0.046, 0.10, 0.22])
    assert len(table) == 6
    for _, rows in table.groupby("patient"):
        assert rows["risk_median"].is_monotonic_increasing
        assert rows["risk_ratio"].iloc[0] == 1
    at_ten = table[(table["patient"] == "typical patient") & (table["prevalence"] == 0.10)]
    direct = bu.predict_risk(case_control_fit, patients, prevalence=0.10).loc["typical patient"]
    assert at_ten["risk_median"].item() == pytest.approx(direct["risk_median"])
    cohort_fit = bu.fit(bu.simulate_cohort(n=600, prevalence=0.3, seed=11), seed=3, **FAST)
    with pytest.raises(ValueError, match="needs a design='case_control' fit"):
        prevalence_sensitivity(cohort_fit, patients)
    with pytest.raises(ValueError, match="prevalences must be strictly between 0 and 1; got 1.5"):
        prevalence_sensitivity(case_control_fit, patients, prevalences=[1.5])


# ----------------------------------------------------------------------------- control resampling


@pytest.mark.slow
def test_control_resampling_splits_uncertainty_and_more_controls_narrow_intervals():
    cohort = bu.simulate_cohort(seed=2016)
    truth = bu.true_model().log_odds_ratios
    resampled = control_resampling(
        cohort, CASE_CONTROL, n_draws=4, controls_per_case=(1, 4), seed=5, truth=truth, sampling=SAMPLING
    )
    result = resampled.summary
    assert set(result["controls_per_case"]) == {1, 4}
    assert result["share_from_controls"].between(0, 1).all()
    one = result[result["controls_per_case"] == 1]
    four = result[result["controls_per_case"] == 4].set_index("factor")
    assert (one["width_vs_1to1"] == 1).all()
    # Four times the controls: the posterior SD shrinks for every factor (about sqrt(1.25 / 2) = 0.79 for
    # a binary factor's log OR when cases and controls are the only information).
    assert (four["width_vs_1to1"] < 1).all(), four
    per_draw = resampled.per_draw
    assert len(per_draw) == 2 * 4 * 6
    # Each draw fits a different control set: the posterior medians differ.
    assert per_draw.groupby(["controls_per_case", "factor"])["median_log_or"].nunique().min() == 4
    with pytest.raises(ValueError, match="n_draws must be >= 2; got 1"):
        control_resampling(cohort, CASE_CONTROL, n_draws=1)


def test_sensitivity_figures_draw_and_reject_wrong_tables():
    import matplotlib.pyplot as plt

    from bayes_ubpr.plots import (
        control_resampling_plot,
        prevalence_sensitivity_plot,
        prior_sensitivity_plot,
        tipping_point_plot,
    )

    factors = ["fascia_injury", "depression"]
    grid = pd.DataFrame(
        {
            "setting": ["a", "a", "b", "b"],
            "factor": factors * 2,
            "or_median": [3.0, 2.0, 1.5, 1.1],
            "or_lower": [1.5, 0.9, 0.8, 0.7],
            "or_upper": [6.0, 4.0, 3.0, 1.8],
            "paper_or": [3.8, 3.4, 3.8, 3.4],
            "paper_lower": [1.7, 1.1, 1.7, 1.1],
            "paper_upper": [8.7, 10.3, 8.7, 10.3],
        }
    )
    ax = prior_sensitivity_plot(grid)
    assert [t.get_text() for t in ax.get_yticklabels()] == factors
    tipping = bu.TippingPoints(
        summary=pd.DataFrame({"factor": factors, "tipping_sigma": [0.3, np.nan]}),
        grid=grid.assign(sigma=[0.1, 0.1, 1.0, 1.0]),
        prob=0.95,
        design="case_control",
        seed=1,
        sampling=SAMPLING,
    )
    assert len(tipping_point_plot(tipping).lines) == 4  # two margins, one tipping point, the line at 0
    # The table that tipping_points returned before, its grid in .attrs, is drawn for one more release.
    table = tipping.summary.copy()
    table.attrs["grid"] = tipping.grid
    with pytest.warns(DeprecationWarning, match="pass the TippingPoints that tipping_points returns"):
        assert len(tipping_point_plot(table).lines) == 4
    prevalence = pd.DataFrame(
        {
            "patient": ["p", "p"],
            "prevalence": [0.05, 0.2],
            "risk_median": [0.04, 0.15],
            "risk_lower": [0.02, 0.1],
            "risk_upper": [0.08, 0.25],
        }
    )
    assert prevalence_sensitivity_plot(prevalence).get_xlabel() == "assumed population prevalence of UBPR"
    prevalence.attrs["outcome"] = "residual_pain"  # as prevalence_sensitivity records a fit's own outcome
    assert prevalence_sensitivity_plot(prevalence).get_xlabel().endswith("prevalence of residual_pain = 1")
    resampling = pd.DataFrame(
        {"controls_per_case": [1, 1, 4, 4], "factor": factors * 2, "posterior_sd": [0.5, 0.6, 0.4, 0.45]}
    ).assign(between_draw_sd=0.2)
    assert len(control_resampling_plot(resampling).patches) == 4
    result = bu.ControlResampling(summary=resampling, per_draw=pd.DataFrame(), prob=0.95, seed=1, sampling=SAMPLING)
    assert len(control_resampling_plot(result).patches) == 4
    plt.close("all")
    with pytest.raises(ValueError, match=r"missing \['setting'\]"):
        prior_sensitivity_plot(grid.drop(columns="setting"))
    with pytest.raises(ValueError, match=r"needs the result of tipping_points \(a TippingPoints\); got DataFrame"):
        tipping_point_plot(pd.DataFrame())
    with pytest.raises(ValueError, match="needs the result of tipping_points"):
        tipping_point_plot(grid)


def test_result_classes_print_their_summary():
    summary = pd.DataFrame(
        {
            "factor": ["fascia_injury", "depression"],
            "tipping_sigma": [0.2361, np.nan],
            "tipping_or_bound": [1.5889, np.nan],
            "excludes_one_at_widest": [True, False],
            "status": ["flips", "includes 1 on the whole grid"],
        }
    )
    grid = pd.DataFrame({"sigma": [0.05, 0.05, 2.5, 2.5], "factor": ["fascia_injury", "depression"] * 2})
    tipping = bu.TippingPoints(summary, grid, prob=0.9, design="case_control", seed=1, sampling=SAMPLING)
    lines = str(tipping).splitlines()
    assert lines[0] == (
        "Tipping points of sceptical Normal(0, sigma) priors on the log OR: 2 prior SDs from 0.05 to 2.5 (90% intervals)"
    )
    assert "0.236" in lines[2] and "1.59" in lines[2] and lines[3].split()[1:3] == ["-", "-"]
    per_draw = pd.DataFrame({"controls_per_case": [1, 1, 1, 4, 4, 4], "draw": [0, 1, 2, 0, 1, 2]})
    summary = pd.DataFrame({"controls_per_case": [1, 4], "factor": ["depression"] * 2, "posterior_sd": [0.5731, 0.4]})
    resampled = bu.ControlResampling(summary, per_draw, prob=0.95, seed=None, sampling=SAMPLING)
    lines = str(resampled).splitlines()
    assert lines[0] == "Control resampling: 3 random control sets at 1:1, 1:4 (95% intervals; SDs on the log OR scale)"
    assert lines[2].split() == ["1", "depression", "0.573"]


@pytest.mark.slow
def test_cli_sensitivity_writes_tables_and_figures(tmp_path, capsys):
    from bayes_ubpr.cli import main

    small = ["--draws", "300", "--tune", "300", "--chains", "2"]
    assert main(["sensitivity", "prevalence", "--out", str(tmp_path), "--prevalences", "0.046", "0.22", *small]) == 0
    table = pd.read_csv(tmp_path / "prevalence_sensitivity.csv")
    assert sorted(table["prevalence"].unique()) == [0.046, 0.22]
    assert (tmp_path / "prevalence_sensitivity.png").stat().st_size > 0
    assert main(["sensitivity", "confounding", "--out", str(tmp_path), *small]) == 0
    e_values = pd.read_csv(tmp_path / "e_values.csv")
    assert len(e_values) == 6 and (e_values["e_value"] >= 1).all()
    assert "e_value_limit" in capsys.readouterr().out
    in_a_file = tmp_path / "e_values.csv" / "results"  # a missing folder is made, but not in a file
    assert main(["sensitivity", "confounding", "--out", str(in_a_file)]) == 2
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.slow
def test_a_grid_of_one_prior_family_compiles_nothing(small_cohort, monkeypatch):
    import nutpie

    def refuse(*args, **kwargs):
        raise AssertionError("compiled a model that the hand-written density covers")

    monkeypatch.setattr(nutpie, "compile_pymc_model", refuse)
    grid = prior_grid(families=["student_t"], scales=[0.5, 2.0])
    bu.fit(small_cohort, priors=grid["student_t x 0.5"], seed=1, check=False, **FAST)
    wide = bu.fit(small_cohort, priors=grid["student_t x 2"], seed=1, check=False, **FAST)
    # ... and the refit really used the new scale: its prior SD on the log OR is twice the default's.
    assert json_prior_sigma(wide, "fascia_injury") == pytest.approx(2.0 * DEFAULT_SCALE)


def json_prior_sigma(idata, factor):
    return bu.ModelSpec.from_idata(idata).prior_spec().coefficients[factor].sigma


@pytest.mark.slow
def test_power_scaling_with_mixed_prior_families(small_cohort):
    priors = {"depression": Prior("student_t", 0.0, 2.5, nu=3), "fascia_injury": Prior("laplace", 0.0, 2.5)}
    idata = bu.fit(small_cohort, priors=priors, seed=2, check=False, **FAST)
    table = power_scaling(idata, small_cohort)
    assert table["prior_sensitivity"].notna().all() and (table["diagnosis"] == "-").all(), table


def test_e_values_per_sd_and_seeds_as_generators(small_fit, small_cohort):
    per_sd = e_value_table(small_fit, scale="sd")
    reference = bu.odds_ratio_table(small_fit, scale="sd")
    np.testing.assert_allclose(per_sd["or_median"], reference["or_median"])
    np.testing.assert_allclose(per_sd["e_value"], e_value(reference["or_median"].to_numpy()))
    with pytest.raises(ValueError, match="scale must be one of 'unit', 'sd'; got 'mL'"):
        e_value_table(small_fit, scale="mL")
    options = {"n_draws": 2, "controls_per_case": (1,), "sampling": SAMPLING}
    from_int = control_resampling(small_cohort, CASE_CONTROL, seed=5, **options)
    from_generator = control_resampling(small_cohort, CASE_CONTROL, seed=np.random.default_rng(5), **options)
    pd.testing.assert_frame_equal(from_int.per_draw, from_generator.per_draw)
    assert (from_int.seed, from_generator.seed) == (5, None)


# ----------------------------------------------------------------------------- the old calls, for one release


@pytest.fixture
def recorded_fits(monkeypatch, small_fit):
    """Replace the analyses' fits by a stored one, recording what each would have fitted and how."""
    import bayes_ubpr.sensitivity.priors
    import bayes_ubpr.sensitivity.resampling

    calls = []

    def record(data, spec, *, sampling, seed, check):
        calls.append({"spec": spec, "sampling": sampling, "seed": seed, "rows": len(data)})
        return small_fit

    monkeypatch.setattr(bayes_ubpr.sensitivity.priors, "fit", record)
    monkeypatch.setattr(bayes_ubpr.sensitivity.resampling, "fit", record)
    return calls


def _seeds_as_ints(calls):
    """Control sets are fitted with spawned Generators: compare what they draw, not the objects."""
    return [
        {**call, "seed": int(call["seed"].integers(2**31))} if not isinstance(call["seed"], int) else call
        for call in calls
    ]


@pytest.mark.parametrize(
    ("function", "old", "new", "messages"),
    [
        (
            prior_sensitivity,
            {"priors": ["default", "sceptical"], "chains": 2, "seed": 1},
            {"spec": CASE_CONTROL, "priors": ["default", "sceptical"], "sampling": bu.Sampling(chains=2), "seed": 1},
            [
                r"prior_sensitivity\(chains=...\) is deprecated.*sampling=bayes_ubpr.Sampling\(chains=...\)",
                r'prior_sensitivity without spec= fits ModelSpec\(design="case_control"\).*default is "cohort"\);'
                r' this default is deprecated.*pass spec=bayes_ubpr.ModelSpec\(design="case_control"\) instead',
            ],
        ),
        (
            prior_sensitivity,
            {"priors": ["default"], "factors": ["fascia_injury", "age"], "design": "cohort", "seed": 1},
            {"spec": bu.ModelSpec(factors=["fascia_injury", "age"]), "priors": ["default"], "seed": 1},
            [
                r"prior_sensitivity\(factors=..., design=...\) is deprecated.*"
                r'release: pass spec=bayes_ubpr.ModelSpec\(factors=..., design="cohort"\) instead$'
            ],
        ),
        (
            tipping_points,
            {"scales": [0.1, 1.0], "draws": 500, "tune": 300, "seed": 2},
            {"spec": CASE_CONTROL, "scales": [0.1, 1.0], "sampling": bu.Sampling(draws=500, tune=300), "seed": 2},
            [
                r"tipping_points\(draws=..., tune=...\) is deprecated",
                r"tipping_points without spec= fits .* this default is deprecated",
            ],
        ),
        (
            control_resampling,
            {"n_draws": 2, "controls_per_case": [1], "priors": "wide", "sampler": "pymc", "seed": 3},
            {
                "spec": bu.ModelSpec(priors="wide", design="case_control"),
                "n_draws": 2,
                "controls_per_case": [1],
                "sampling": bu.Sampling(sampler="pymc"),
                "seed": 3,
            },
            [
                r"control_resampling\(sampler=...\) is deprecated",
                r'control_resampling\(priors=...\) is deprecated.*ModelSpec\(priors=..., design="case_control"\)',
            ],
        ),
    ],
    ids=["prior_sensitivity", "prior_sensitivity_spec_keywords", "tipping_points", "control_resampling"],
)
def test_old_calls_warn_and_fit_what_they_fitted(function, old, new, messages, small_cohort, recorded_fits):
    with pytest.warns(DeprecationWarning) as caught:
        before = function(small_cohort, **old)
    assert len(caught) == len(messages), [str(w.message) for w in caught]
    for warning, message in zip(caught, messages, strict=True):
        assert re.search(message, str(warning.message)), str(warning.message)
        assert warning.filename == __file__  # the warning names the caller's line
    old_calls = _seeds_as_ints(recorded_fits)
    recorded_fits.clear()
    after = function(small_cohort, **new)  # no warning: warnings are errors here
    assert _seeds_as_ints(recorded_fits) == old_calls
    for old_table, new_table in zip(_tables(before), _tables(after), strict=True):
        pd.testing.assert_frame_equal(old_table, new_table)
        assert old_table.attrs.keys() == new_table.attrs.keys()
    if dataclasses.is_dataclass(before):
        settings = [f.name for f in dataclasses.fields(before) if not isinstance(getattr(before, f.name), pd.DataFrame)]
        assert {name: getattr(before, name) for name in settings} == {name: getattr(after, name) for name in settings}


def _tables(result):
    """The tables of an analysis' result: itself, or the DataFrames of a result class."""
    if isinstance(result, pd.DataFrame):
        return [result]
    values = [getattr(result, field.name) for field in dataclasses.fields(result)]
    return [value for value in values if isinstance(value, pd.DataFrame)]


def test_sampling_and_spec_are_given_one_way(small_cohort, recorded_fits):
    with pytest.raises(TypeError, match=r"pass chains inside sampling=Sampling\(...\), not beside it"):
        prior_sensitivity(small_cohort, CASE_CONTROL, sampling=bu.Sampling(), chains=2)
    with pytest.raises(TypeError, match="sampling must be a bayes_ubpr.Sampling; got dict"):
        tipping_points(small_cohort, CASE_CONTROL, sampling={"chains": 2})
    with pytest.raises(TypeError, match="either as spec or as keywords, not both"):
        prior_sensitivity(small_cohort, CASE_CONTROL, design="cohort")
    with pytest.raises(TypeError, match="either as spec or as keywords, not both"):
        control_resampling(small_cohort, CASE_CONTROL, priors="wide")
    with pytest.raises(TypeError, match="spec must be a bayes_ubpr.ModelSpec; got str"):
        control_resampling(small_cohort, "case_control")
    assert recorded_fits == []


# ----------------------------------------------------------------------------- a formula's terms


TERM_EFFECTS = [
    LevelEffects(
        "fracture_level",
        ("lumbar", "thoracic", "thoracolumbar"),
        (0.3, 0.25, 0.45),
        odds_ratios={"thoracic": 1.5, "thoracolumbar": 4.0},
    ),
    QuadraticEffect("cement_volume_ml", curvature=1.5, centre=5.5),
]
TERM_SPEC = bu.ModelSpec.from_formula(
    "ubpr ~ fascia_injury + C(fracture_level) + rcs(cement_volume_ml, 3)", design="case_control"
)
TERM_COLUMNS = [
    "fascia_injury",
    "fracture_level[thoracic]",
    "fracture_level[thoracolumbar]",
    "cement_volume_ml",
    "cement_volume_ml'",
]


@pytest.fixture(scope="module")
def term_cohort() -> pd.DataFrame:
    """Raw columns as a hospital exports them: a text fracture level, the cement volume of a U-shaped effect."""
    return bu.simulate_cohort(n=1500, prevalence=0.15, seed=41, effects=TERM_EFFECTS)


@pytest.fixture(scope="module")
def term_sample(term_cohort) -> pd.DataFrame:
    return bu.case_control_sample(term_cohort, seed=42)


@pytest.fixture(scope="module")
def term_fit(term_sample):
    return bu.fit(term_sample, TERM_SPEC, sampling=SAMPLING, seed=43, check=False)


@pytest.mark.slow
def test_prior_sensitivity_and_tipping_points_refit_a_formula_on_raw_columns(term_sample):
    # 6 s here: four refits of a five-column model
    table = prior_sensitivity(term_sample, TERM_SPEC, priors=["wide", "sceptical"], sampling=SAMPLING, seed=1)
    assert table.groupby("setting")["factor"].apply(list).to_dict() == {"sceptical": TERM_COLUMNS, "wide": TERM_COLUMNS}
    ors = table.pivot(index="factor", columns="setting", values="or_median")
    # the sceptical prior pulls the strong level effect (true OR 4 vs lumbar) towards OR 1
    assert 1 < ors.loc["fracture_level[thoracolumbar]", "sceptical"] < ors.loc["fracture_level[thoracolumbar]", "wide"]
    result = tipping_points(term_sample, TERM_SPEC, scales=[0.05, 2.0], sampling=SAMPLING, seed=1)
    assert result.summary["factor"].tolist() == TERM_COLUMNS
    assert result.grid["sigma"].tolist() == [0.05] * 5 + [2.0] * 5


def test_control_resampling_reads_a_formulas_levels_and_knots_off_the_whole_cohort(term_cohort, recorded_fits):
    control_resampling(term_cohort, TERM_SPEC, n_draws=2, controls_per_case=[1, 2], sampling=SAMPLING, seed=4)
    specs = [call["spec"] for call in recorded_fits]
    assert len(specs) == 4
    knots = np.quantile(term_cohort["cement_volume_ml"], [0.1, 0.5, 0.9])  # rcs(x, 3): Harrell's quantiles
    for spec in specs:  # every control set is fitted with the cohort's knots, not its own
        assert spec.terms["cement_volume_ml"].knots == pytest.approx(knots)
        assert spec.terms["fracture_level"].levels == ("lumbar", "thoracic", "thoracolumbar")
        assert spec.factor_names == tuple(TERM_COLUMNS)


def test_control_resampling_of_a_formula_fits_on_raw_columns(term_cohort):
    # 2 s here: two refits
    result = control_resampling(term_cohort, TERM_SPEC, n_draws=2, controls_per_case=[1], sampling=SAMPLING, seed=4)
    assert result.summary["factor"].tolist() == TERM_COLUMNS
    assert result.per_draw.groupby("draw")["factor"].apply(list).to_dict() == {0: TERM_COLUMNS, 1: TERM_COLUMNS}


def test_e_values_of_a_formula_fit_name_term_and_level_and_skip_spline_columns(term_fit):
    table = e_value_table(term_fit).set_index("factor")
    assert table.index.tolist() == TERM_COLUMNS
    assert table["term"].tolist() == ["fascia_injury", "fracture_level", "fracture_level", *["cement_volume_ml"] * 2]
    assert table["level"].iloc[1:3].tolist() == ["thoracic", "thoracolumbar"]
    assert table["level"].iloc[[0, 3, 4]].isna().all()
    # a level's OR is against the reference: its E-value is that OR's
    level = table.loc["fracture_level[thoracolumbar]"]
    assert level["e_value"] == pytest.approx(e_value(level["or_median"]))
    # a spline's columns have no OR of their own: no E-value
    assert table.loc[["cement_volume_ml", "cement_volume_ml'"], "e_value"].isna().all()
    assert table.loc[["cement_volume_ml", "cement_volume_ml'"], "or_median"].notna().all()


def test_prevalence_sensitivity_of_a_formula_fit_takes_raw_patients(term_fit):
    patients = pd.DataFrame(
        {"fascia_injury": [0, 1], "fracture_level": ["lumbar", "thoracolumbar"], "cement_volume_ml": [5.5, 4.5]},
        index=["low risk", "high risk"],
    )
    table = prevalence_sensitivity(term_fit, patients, prevalences=[0.05, 0.15])
    assert table.shape == (4, 6)
    high = table.set_index(["patient", "prevalence"])["risk_median"]
    assert high[("high risk", 0.05)] > high[("low risk", 0.05)]
    assert high[("high risk", 0.15)] > high[("high risk", 0.05)]
    with pytest.raises(
        bu.CohortValidationError, match=r"level\(s\) 'sacral' in rows new that the model was not fitted"
    ):
        prevalence_sensitivity(term_fit, patients.iloc[:1].set_axis(["new"]).assign(fracture_level="sacral"))


@pytest.mark.slow
def test_power_scaling_of_a_formula_fit_rebuilds_it_from_raw_columns(term_fit, term_sample):
    # PyMC's log-likelihood computation: 2 s here with a warm compilation cache, 20-40 s with a cold one
    table = power_scaling(term_fit, term_sample)
    assert table["factor"].tolist() == TERM_COLUMNS
    assert table[["prior_sensitivity", "likelihood_sensitivity"]].notna().all().all()


def test_cli_sensitivity_refuses_a_saved_fit_beside_another_model_or_without_data(tmp_path, capsys):
    """Issue 25: a saved fit names its model; a refit needs the data; the user's columns need --data."""
    from bayes_ubpr.cli import main

    saved = tmp_path / "fit.nc"
    saved.write_bytes(b"")  # only its existence is checked before these refusals
    out = ["--out", str(tmp_path / "out")]
    cases = [
        (["prevalence", "--fit", str(saved), "--outcome", "pain"], "--fit and --outcome exclude each other"),
        (["priors", "--fit", str(saved)], "sensitivity priors refits the saved fit's model: give --data"),
        (["confounding", "--fit", str(saved), "--data", str(saved)], "reads the saved fit itself"),
        (["priors", "--outcome", "pain"], "describe your --data: give --data too"),
    ]
    for arguments, message in cases:
        assert main(["sensitivity", *arguments, *out]) == 2
        assert message in capsys.readouterr().err


@pytest.mark.slow
def test_cli_sensitivity_on_a_users_own_saved_fit_and_data(tmp_path, capsys):
    """Issue 25: `sensitivity priors --data my.csv` answered "Missing required column(s): cement_distribution_poor,
    ubpr"; now the user's outcome, factors and saved fit are read, and no paper prior is put on another outcome."""
    from bayes_ubpr.cli import main

    cohort = bu.simulate_cohort(n=400, prevalence=0.3, seed=3).rename(columns={"ubpr": "pain"})
    data = tmp_path / "mine.csv"
    cohort.to_csv(data, index=False)
    small = ["--draws", "300", "--tune", "300", "--chains", "2", "--seed", "1"]
    mine = ["--data", str(data), "--outcome", "pain", "--factors", "fascia_injury", "depression", "--design", "cohort"]
    assert main(["sensitivity", "priors", *mine, "--out", str(tmp_path / "p"), *small]) == 0
    grid = pd.read_csv(tmp_path / "p" / "prior_sensitivity.csv")
    assert set(grid["factor"]) == {"fascia_injury", "depression"}
    assert not grid["setting"].str.startswith("paper").any()  # Table 5 is no prior for another outcome
    fit_file = tmp_path / "fit.nc"
    assert (
        main(
            [
                "fit",
                str(data),
                "--outcome",
                "pain",
                "--factors",
                "fascia_injury",
                "depression",
                "--out",
                str(fit_file),
                *small,
            ]
        )
        == 0
    )
    assert main(["sensitivity", "confounding", "--fit", str(fit_file), "--out", str(tmp_path / "c")]) == 0
    e_values = pd.read_csv(tmp_path / "c" / "e_values.csv")
    assert len(e_values) == 2 and (e_values["e_value"] >= 1).all()
    capsys.readouterr()
