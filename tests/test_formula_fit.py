"""Fits from a formula on raw columns: terms built from strings, stored knots and levels, groups at prediction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

import bayes_ubpr as bu
from bayes_ubpr import CohortValidationError, ModelSpec
from bayes_ubpr.model import Fitted, one_off_sampler

# 2 x (800 + 800): at 2 x (400 + 400) the interaction's R-hat was 1.012 on seed 3 (bulk ESS 494), over the
# convergence warning's 1.01 by chance.
FAST = bu.Sampling(draws=800, tune=800, chains=2)
GROUPED = bu.Sampling(draws=1000, tune=1000, chains=2)  # a between-hospital SD of six hospitals needs more draws


def raw_cohort(n: int = 800, seed: int = 11) -> pd.DataFrame:
    """A cohort as a hospital exports it: text categories, a U-shaped volume effect, two hospitals of surgeons."""
    rng = np.random.default_rng(seed)
    hospital = rng.choice(["North", "South", "West", "East", "Central", "Coast"], n)
    surgeon = np.array([f"{h[0]}{k}" for h, k in zip(hospital, rng.integers(1, 4, n), strict=True)])
    level = rng.choice(["thoracic", "thoracolumbar", "lumbar"], n, p=[0.3, 0.45, 0.25])
    sex = rng.choice(["F", "M"], n, p=[0.7, 0.3])
    volume = rng.gamma(9, 0.55, n).round(1)
    injury = rng.binomial(1, 0.3, n)
    eta = (
        -2.0
        + 0.5 * (sex == "M")
        + 0.15 * (volume - 5) ** 2
        + 0.8 * injury * (level == "thoracolumbar")
        + np.where(hospital == "South", 0.5, 0.0)
    )
    return pd.DataFrame(
        {
            "pain": rng.binomial(1, special.expit(eta)),
            "sex": sex,
            "level": level,
            "volume": volume,
            "injury": injury,
            "hospital": hospital,
            "surgeon": surgeon,
        }
    )


FORMULA = "pain ~ sex + C(level, Treatment('lumbar')) * injury + rcs(volume, 4)"


@pytest.fixture(scope="module")
def formula_fit() -> tuple[pd.DataFrame, object]:
    data = raw_cohort()
    return data, bu.fit(data, FORMULA, sampling=FAST, seed=3, check=False)


def test_a_formula_fit_holds_its_terms_and_design_columns(formula_fit):
    data, idata = formula_fit
    spec = ModelSpec.from_idata(idata)
    assert spec.formula == FORMULA
    assert spec.terms.names == ("sex", "level", "injury", "level:injury", "volume")
    factors = [str(f) for f in idata.posterior["factor"].values]
    assert factors == [
        "sex[M]",
        "level[thoracic]",
        "level[thoracolumbar]",
        "injury",
        "level[thoracic]:injury",
        "level[thoracolumbar]:injury",
        "volume",
        "volume'",
        "volume''",
    ]
    knots = spec.terms["volume"].knots
    assert knots == pytest.approx(np.quantile(data["volume"], [0.05, 0.35, 0.65, 0.95]))
    # the fitted design is the terms' design of the raw data
    view = Fitted.of(idata)
    np.testing.assert_allclose(view.x, spec.terms.design(data).to_numpy(), rtol=0, atol=0)


def test_predictions_come_from_raw_values_and_survive_saving(formula_fit, tmp_path):
    _, idata = formula_fit
    patients = pd.DataFrame(
        {"sex": ["F", "M"], "level": ["thoracolumbar", "lumbar"], "injury": [1, 0], "volume": [4.7, 9.0]},
        index=["a", "b"],
    )
    risk = bu.predict_risk(idata, patients)
    view = Fitted.of(idata)
    x = view.spec.terms.design(patients).to_numpy()
    eta = idata.posterior["intercept_population"].to_numpy().reshape(-1, 1) + view.log_odds_ratio_draws @ x.T
    np.testing.assert_allclose(risk["risk_median"], np.median(special.expit(eta), axis=0), rtol=1e-12)
    loaded = bu.load_fit(bu.save_fit(idata, tmp_path / "fit.nc"))
    assert ModelSpec.from_idata(loaded) == ModelSpec.from_idata(idata)
    pd.testing.assert_frame_equal(bu.predict_risk(loaded, patients), risk, check_exact=False, rtol=1e-12)


def test_unseen_levels_and_missing_columns_are_refused_by_name(formula_fit):
    _, idata = formula_fit
    patients = pd.DataFrame({"sex": ["F", "X"], "level": ["sacral", "lumbar"], "injury": [1, 0], "volume": [5, 6]})
    with pytest.raises(CohortValidationError, match=r"Column \"sex\" has level\(s\) 'X' in rows 1 .*levels: 'F', 'M'"):
        bu.predict_risk(idata, patients)
    with pytest.raises(CohortValidationError, match='column "volume" is not in the data'):
        bu.predict_risk(idata, patients.drop(columns="volume").assign(sex="F", level="lumbar"))
    with pytest.raises(CohortValidationError, match='Column "volume" must be numeric.*C\\(volume\\)'):
        bu.predict_risk(idata, patients.assign(sex="F", level="lumbar", volume=["5 mL", "6 mL"]))


def test_term_priors_are_narrowed_for_curvature_and_interactions(formula_fit):
    _, idata = formula_fit
    spec = ModelSpec.from_idata(idata)
    priors = spec.prior_spec().coefficients
    per_sd = {f.name: priors[f.name].sigma * f.scale for f in spec.factors}  # scales the per-SD priors refer to
    assert per_sd["volume"] == pytest.approx(1.0)
    assert per_sd["volume'"] == pytest.approx(0.5) and per_sd["volume''"] == pytest.approx(0.5)
    assert priors["level[thoracic]"].sigma == priors["level[thoracolumbar]"].sigma == 1.0  # levels share a scale
    assert priors["level[thoracolumbar]:injury"].sigma == pytest.approx(0.5)  # 0/1 product: per unit, halved


def test_formula_settings_cannot_be_given_twice():
    with pytest.raises(TypeError, match="the formula gives the model's group"):
        ModelSpec.from_formula("pain ~ sex + (1 | hospital)", group="hospital")
    with pytest.raises(TypeError, match="the formula gives the model's outcome"):
        bu.fit(raw_cohort(50), "pain ~ sex", outcome="pain")


def test_the_hand_written_density_covers_one_grouping_and_several():
    data = raw_cohort(300)
    one = ModelSpec.from_formula("pain ~ sex + volume + (1 | hospital)")
    nested = ModelSpec.from_formula("pain ~ sex + volume + (1 | hospital/surgeon)")
    crossed = ModelSpec.from_formula("pain ~ sex + volume + (1 | hospital) + (1 | level)")
    slopes = ModelSpec.from_formula("pain ~ sex + volume + (1 + volume | hospital)")
    assert nested.groups == ("hospital", "hospital:surgeon") and crossed.groups == ("hospital", "level")
    assert [one_off_sampler(data, spec) for spec in (one, nested, crossed)] == ["nutpie"] * 3
    assert one_off_sampler(data, slopes) == "pymc"  # varying slopes stay with PyMC


@pytest.fixture(scope="module")
def grouped_fit() -> object:
    return bu.fit(raw_cohort(), "pain ~ sex + rcs(volume, 3) + (1 | hospital)", sampling=GROUPED, seed=4, check=False)


def test_a_named_group_uses_its_offset_a_new_one_the_between_group_spread(grouped_fit):
    idata = grouped_fit
    base = {"sex": ["F"] * 3, "volume": [5.0] * 3}
    patients = pd.DataFrame(base | {"hospital": ["South", "North", "Mars"]}, index=["south", "north", "new"])
    typical = bu.risk_draws(idata, patients, new_groups="typical")
    offsets = idata.posterior["group_offset"]
    south, north, new = (typical.sel(patient=p) for p in ("south", "north", "new"))
    np.testing.assert_allclose(
        special.logit(south) - special.logit(new), offsets.sel(group="South"), rtol=1e-9, atol=1e-9
    )
    assert float((north - south).median()) < 0  # South's simulated offset is +0.5 over the others
    assert typical.attrs["unseen_groups"] == {"hospital": ["Mars"]}
    # no hospital column: every patient is at a new hospital
    absent = bu.risk_draws(idata, patients.drop(columns="hospital"), new_groups="typical")
    np.testing.assert_allclose(absent.sel(patient="south"), new, rtol=1e-12)
    sampled = bu.predict_risk(idata, patients, new_groups="sample", seed=1)
    fixed = bu.predict_risk(idata, patients, new_groups="typical")
    width = sampled["risk_upper"] - sampled["risk_lower"]
    assert width["new"] > (fixed["risk_upper"] - fixed["risk_lower"])["new"]
    assert width["south"] == pytest.approx((fixed["risk_upper"] - fixed["risk_lower"])["south"])


def test_the_average_over_a_new_group_is_the_mean_of_sampled_groups(grouped_fit):
    idata = grouped_fit
    patient = pd.DataFrame({"sex": ["M"], "volume": [8.0], "hospital": ["Mars"]})
    average = bu.risk_draws(idata, patient, new_groups="average").to_numpy().reshape(-1)
    replicates = np.stack(
        [bu.risk_draws(idata, patient, new_groups="sample", seed=k).to_numpy().reshape(-1) for k in range(200)]
    )
    # per posterior draw, the mean of 200 sampled groups estimates the Gauss-Hermite integral: within 4 MC SEs
    se = replicates.std(axis=0, ddof=1) / np.sqrt(len(replicates))
    assert np.all(np.abs(replicates.mean(axis=0) - average) < 4 * se + 1e-12)


@pytest.mark.slow
def test_nested_groups_fit_and_predict_by_hospital_and_surgeon():
    data = raw_cohort(600, seed=5)
    idata = bu.fit(data, "pain ~ sex + volume + (1 | hospital/surgeon)", sampling=GROUPED, seed=6, check=False)
    post = idata.posterior
    assert post["group_sd"].dims[-1] == "grouping"
    assert list(post["grouping"].values) == ["hospital", "hospital:surgeon"]
    assert "hospital[North]" in post["group"].values and "hospital:surgeon[North:N1]" in post["group"].values
    patients = pd.DataFrame(
        {"sex": ["F"] * 2, "volume": [5.0] * 2, "hospital": ["North", "North"], "surgeon": ["N1", "N9"]},
        index=["known", "new surgeon"],
    )
    risk = bu.risk_draws(idata, patients, new_groups="typical")
    offsets = post["group_offset"]
    known = special.logit(risk.sel(patient="known")) - special.logit(risk.sel(patient="new surgeon"))
    np.testing.assert_allclose(known, offsets.sel(group="hospital:surgeon[North:N1]"), rtol=1e-9, atol=1e-9)
    assert risk.attrs["unseen_groups"] == {"hospital": [], "hospital:surgeon": ["North:N9"]}
    # the stored fit's pointwise likelihood sums both groupings' offsets
    view = Fitted.of(idata)
    eta = view.linear_predictor_draws
    x = view.x
    idx = idata.constant_data["group_idx"].to_numpy()
    by_hand = (
        post["intercept"].to_numpy().reshape(-1, 1)
        + view.log_odds_ratio_draws @ x.T
        + offsets.stack(sample=("chain", "draw")).transpose("sample", "group").to_numpy()[:, idx].sum(axis=-1)
    )
    np.testing.assert_allclose(eta, by_hand, rtol=1e-12)


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("y ~ x + (0 + x | g)", r"\(x \| g\) without group intercepts is not supported.*write \(x \| g\)"),
        ("y ~ rcs(x) + x", r"term\(s\) x appear twice"),
    ],
)
def test_formulas_the_model_cannot_honour_are_formula_errors(formula, message):
    with pytest.raises(bu.FormulaError, match=message):
        bu.parse_formula(formula)


def test_a_factor_interacting_with_a_variable_without_main_effect_gets_a_slope_per_level():
    data = raw_cohort(200)
    terms = bu.parse_formula("pain ~ C(level) + C(level):injury").terms.resolve(data)
    assert terms["level:injury"].columns == (
        "level[lumbar]:injury",
        "level[thoracic]:injury",
        "level[thoracolumbar]:injury",
    )
    design = terms.design(data)
    by_hand = (data["level"] == "lumbar") * data["injury"]
    np.testing.assert_array_equal(design["level[lumbar]:injury"], by_hand)
    # with the main effect, the reference level's slope is the main effect's: no column of its own
    terms = bu.parse_formula("pain ~ C(level) * injury").terms.resolve(data)
    assert "level[lumbar]:injury" not in terms.columns
