"""Your own cohort, your own factors: Factor, ModelSpec and the outcome carried through the library."""

from __future__ import annotations

import json
import math

import arviz as az
import numpy as np
import pandas as pd
import pymc as pm
import pytest
import statsmodels.api as sm

import bayes_ubpr as bu
from bayes_ubpr.cli import main
from bayes_ubpr.exceptions import CohortValidationError
from bayes_ubpr.factors import Factor, infer_kind
from bayes_ubpr.model import ModelSpec, build_model, read_factor_file
from bayes_ubpr.model.spec import RESERVED_NAMES
from bayes_ubpr.priors import Horseshoe, PopulationPrevalence, Prior

SPECTOR_FACTORS = ["GPA", "TUCE", "PSI"]
WIDE = {name: Prior(sigma=100.0) for name in [*SPECTOR_FACTORS, "intercept"]}


@pytest.fixture(scope="module")
def spector() -> pd.DataFrame:
    # Spector & Mazzeo (1980), shipped with statsmodels: 32 students, outcome GRADE, with its own column names.
    return sm.datasets.spector.load_pandas().data


@pytest.fixture(scope="module")
def spector_fit(spector):
    return bu.fit(spector, factors=SPECTOR_FACTORS, outcome="GRADE", priors=WIDE, seed=1, check=False)


def _mle(spector: pd.DataFrame) -> np.ndarray:
    result = sm.Logit(spector["GRADE"], sm.add_constant(spector[SPECTOR_FACTORS])).fit(disp=0)
    return np.asarray(result.params)


# ----------------------------------------------------------------------------- Factor


def test_kind_is_inferred_from_values():
    assert infer_kind([0, 1, 1, 0]) == "binary"
    assert infer_kind([True, False]) == "binary"
    assert infer_kind([1, 2, 7]) == "count"
    assert infer_kind([0.5, 1.0]) == "continuous"


def test_user_factor_scale_is_the_data_sd():
    x = np.array([2.0, 4.0, 9.0, 1.0])
    resolved = Factor("crp").resolve(x)
    assert resolved.kind == "count"
    assert resolved.scale == pytest.approx(np.std(x, ddof=1))
    binary = Factor("cleft").resolve([0, 1, 1, 1])
    assert binary.scale == pytest.approx(math.sqrt(0.75 * 0.25))
    assert binary.unit == "1 vs 0" and binary.label == "cleft"


def test_given_parts_of_a_factor_are_kept():
    factor = Factor("crp", kind="continuous", scale=10.0, label="C-reactive protein", unit="1 mg/L")
    assert factor.resolve([1.0, 2.0, 3.0]) is factor


@pytest.mark.parametrize(
    ("factor", "values", "message"),
    [
        (Factor("cleft", kind="binary"), [0, 1, 2], r'"cleft" is declared binary.*values other than 0/1 \(2\)'),
        (Factor("levels", kind="count"), [1, 2.5], r'"levels" is declared a count.*fractions \(2.5\)'),
        (Factor("flat"), [3.0, 3.0, 3.0], '"flat" is constant'),
    ],
)
def test_factor_contradicting_its_data(factor, values, message):
    with pytest.raises(ValueError, match=message):
        factor.resolve(values)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "non-empty string"),
        ({"name": "x", "kind": "ordinal"}, 'Factor "x" kind must be one of'),
        ({"name": "x", "scale": 0}, "scale must be a positive finite number"),
        ({"name": "x", "range": (5, 1)}, "low < high"),
    ],
)
def test_invalid_factor(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Factor(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"label": 5}, TypeError, 'Factor "x" label must be a string; got int 5'),
        ({"unit": ["a", "b"]}, TypeError, r"Factor \"x\" unit must be a string; got list \['a', 'b'\]"),
        ({"coding": None}, TypeError, 'Factor "x" coding must be a string; got NoneType None'),
        ({"paper_row": 1.0}, TypeError, 'Factor "x" paper_row must be a string'),
        ({"domain": 3}, TypeError, 'Factor "x" domain must be a string'),
        ({"kind": 2}, ValueError, 'Factor "x" kind must be one of'),
        ({"scale": True}, TypeError, 'Factor "x" scale must be a positive finite number; got bool True'),
        ({"scale": "12"}, TypeError, "Factor \"x\" scale must be a positive finite number; got str '12'"),
        ({"scale": math.nan}, ValueError, 'Factor "x" scale must be a positive finite number; got nan'),
        ({"scale": 10**400}, ValueError, 'Factor "x" scale must be a positive finite number; got 1000'),
        ({"range": "0-20"}, TypeError, "Factor \"x\" range must be a pair of finite numbers .*got str '0-20'"),
        ({"range": "05"}, TypeError, 'Factor "x" range must be a pair'),  # once read as (0, 5)
        ({"range": 5}, TypeError, 'Factor "x" range must be a pair'),
        ({"range": [5]}, ValueError, r"Factor \"x\" range must be a pair .*got 1 value\(s\): \[5\]"),
        ({"range": (0, "20")}, TypeError, 'Factor "x" range must be a pair'),
        ({"range": (False, 1)}, TypeError, 'Factor "x" range must be a pair'),
        ({"range": (0, math.inf)}, ValueError, 'Factor "x" range must be a pair of finite numbers'),
    ],
)
def test_factor_fields_of_the_wrong_type_name_the_factor_and_the_field(kwargs, error, message):
    with pytest.raises(error, match=message):
        Factor("x", **kwargs)


def test_factor_fields_of_other_real_types_are_kept_as_floats():
    factor = Factor("x", scale=np.int64(3), range=np.array([0, 20]))
    assert factor.scale == 3.0 and type(factor.scale) is float
    assert factor.range == (0.0, 20.0) and all(type(v) is float for v in factor.range)
    assert Factor("x", range=[0, 20]).range == (0.0, 20.0)


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"name": "x", "lable": "X"}, ValueError, r"Factor \"x\" has unknown key 'lable'. Did you mean \"label\"\?"),
        ({"label": "X"}, ValueError, "Factor lacks 'name'"),
        ({"name": "x", "range": "0-20"}, TypeError, 'Factor "x" range must be a pair'),
        ("x", TypeError, "Factor must be a table of settings; got str 'x'"),
    ],
)
def test_factor_from_a_malformed_dict(values, error, message):
    with pytest.raises(error, match=message):
        Factor.from_dict(values)


def test_catalogue_holds_factors_with_table4_scales():
    factor = bu.RISK_FACTORS["cement_volume_ml"]
    assert isinstance(factor, Factor)
    assert factor.scale == 0.46 and factor.range == (0.5, 20.0) and factor.paper_row
    assert bu.RISK_FACTORS["fascia_injury"].scale == pytest.approx(math.sqrt(17 / 60 * 43 / 60))


# ----------------------------------------------------------------------------- ModelSpec


@pytest.mark.slow
def test_spec_round_trips_through_attrs_and_netcdf(tmp_path):
    cohort = bu.simulate_cohort(n=400, prevalence=0.3, seed=3)
    cohort["cleft"] = (np.random.default_rng(1).random(len(cohort)) < 0.3).astype(int)
    spec = ModelSpec(
        factors=("fascia_injury", Factor("cleft", label="Intravertebral cleft"), "n_fractures"),
        priors={"cleft": Prior("student_t", 0.0, 1.0, nu=4)},
        design="case_control",
        population_prevalence=PopulationPrevalence(30.5, 370.5),
    )
    idata = bu.fit(cohort, spec, chains=2, seed=2, check=False)
    stored = ModelSpec.from_idata(idata)
    assert stored == spec.resolve(cohort)
    q = cohort["cleft"].mean()
    assert stored.factors[1].scale == pytest.approx(math.sqrt(q * (1 - q)))  # recorded: the scale the prior used
    assert ModelSpec.from_idata(bu.load_fit(bu.save_fit(idata, tmp_path / "fit.nc"))) == stored
    assert ModelSpec.from_dict(stored.to_dict()) == stored


def test_fits_saved_by_version_0_1_are_read():
    attrs = {
        "factors": '["fascia_injury", "age"]',
        "priors": '{"name": "sceptical", "kind": "independent", "intercept": {}, "coefficients": {}, "structure": null}',
        "design": "case_control",
        "population_prevalence": '{"beta_alpha": 60.5, "beta_beta": 1256.5}',
        "group": "",
        "varying_slopes": "[]",
    }
    idata = az.from_dict(posterior={"alpha": np.zeros((1, 2))}, attrs=attrs)
    spec = ModelSpec.from_idata(idata)
    assert spec == ModelSpec(
        factors=("fascia_injury", "age"),
        priors="sceptical",
        design="case_control",
        population_prevalence=PopulationPrevalence(60.5, 1256.5),
    )
    with pytest.raises(ValueError, match="not a bayes_ubpr fit"):
        ModelSpec.from_idata(az.from_dict(posterior={"alpha": np.zeros((1, 2))}))


def _stored(**changes) -> dict:
    """A spec as a fit stores it (resolved: kinds and scales known), with some fields changed."""
    spec = ModelSpec(factors=["depression", "n_fractures"], design="case_control", population_prevalence=0.05)
    return spec.to_dict() | changes


def _edit_factor(index: int, **changes) -> list[dict]:
    factors = _stored()["factors"]
    factors[index] = {key: value for key, value in (factors[index] | changes).items() if value is not ...}
    return factors


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ("not a dict", TypeError, "model specification must be a table of settings; got str"),
        ({k: v for k, v in _stored().items() if k != "priors"}, ValueError, "model specification lacks 'priors'"),
        (_stored(prior={"preset": "default"}), ValueError, r'unknown key .prior.\. Did you mean "priors"\?'),
        (_stored(priors="default"), TypeError, 'field "priors": stored priors must be a table with one key'),
        (_stored(priors={"preset": "flat"}), ValueError, "priors preset must be one of"),
        (_stored(factors="depression"), TypeError, 'field "factors": must be a list of factors; got str'),
        (_stored(factors=[5]), TypeError, 'field "factors": Factor must be a table of settings; got int 5'),
        (_stored(factors=_edit_factor(0, name=...)), ValueError, "field \"factors\": Factor lacks 'name'"),
        (_stored(factors=_edit_factor(1, scale="0.6")), TypeError, 'field "factors": Factor "n_fractures" scale must'),
        (_stored(factors=_edit_factor(1, range=[1])), ValueError, 'field "factors": Factor "n_fractures" range must'),
        (
            _stored(factors=_edit_factor(0, colour=1)),
            ValueError,
            'field "factors": Factor "depression" has unknown key',
        ),
        (_stored(outcome=5), TypeError, "outcome must be a column name"),
        (_stored(design="cc"), ValueError, "design must be one of 'cohort', 'case_control'; got 'cc'"),
        (_stored(population_prevalence="x"), ValueError, "population_prevalence must be a number strictly between"),
        (_stored(population_prevalence={"a": 1}), ValueError, "field \"population_prevalence\": .* unknown key 'a'"),
        (
            _stored(population_prevalence={"beta_alpha": -1, "beta_beta": 3}),
            ValueError,
            'field "population_prevalence": PopulationPrevalence alpha must be a positive number',
        ),
        (_stored(group=5), TypeError, 'field "group": must be a column name or a list of groupings; got int 5'),
        (_stored(varying_slopes="depression"), TypeError, 'field "varying_slopes": must be a list of factor names'),
        (_stored(varying_slopes=[1]), TypeError, 'field "varying_slopes": must be a list of factor names'),
        (_stored(population_mapping=1), ValueError, "population_mapping must be one of 'offset', 'anchored'; got 1"),
    ],
)
def test_a_malformed_stored_spec_names_the_field(values, error, message):
    with pytest.raises(error, match=message):
        ModelSpec.from_dict(values)


def _attrs_fit(text: object) -> az.InferenceData:
    return az.from_dict(posterior={"alpha": np.zeros((1, 2))}, attrs={"model_spec": text})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", r"model_spec is not valid JSON \(Expecting property name"),
        (5, "model_spec must be JSON text; got int 5"),
        (json.dumps(_stored(priors="default")), 'model_spec: field "priors": stored priors must be a table'),
        (json.dumps(_stored(factors=_edit_factor(0, kind=None))), 'field "factors": factor "depression" has no kind'),
        (
            json.dumps(_stored(factors=_edit_factor(1, scale=None))),
            'field "factors": factor "n_fractures" has no scale',
        ),
        (json.dumps(_stored(population_prevalence=None)), 'field "population_prevalence": a case-control fit records'),
        (
            json.dumps(
                _stored(
                    priors={
                        "domains": ModelSpec(priors=bu.DomainShrinkage(domains={"a": ("x",)})).to_dict()["priors"][
                            "domains"
                        ]
                    }
                )
            ),
            'field "priors": DomainShrinkage has no domain for factor\\(s\\) depression, n_fractures',
        ),
    ],
)
def test_a_fit_whose_stored_spec_is_not_one_a_fit_writes_is_refused(text, message):
    with pytest.raises(ValueError, match=message):
        ModelSpec.from_idata(_attrs_fit(text))
    assert ModelSpec.from_idata(_attrs_fit(json.dumps(_stored()))) == ModelSpec.from_dict(_stored())


@pytest.mark.parametrize(
    ("attrs", "message"),
    [
        (
            {"priors": '{"name": "custom", "kind": "independent", "coefficients": []}'},
            "priors coefficients must be a table",
        ),
        (
            {"priors": '{"name": "custom", "kind": "independent", "coefficients": {"age": {"sd": 1}}}'},
            "prior of \"age\" has unknown key 'sd'",
        ),
        ({"priors": '["sceptical"]'}, "priors must be a table of settings; got list"),
        ({"priors": "{"}, "priors is not valid JSON"),
        ({"factors": '"age"'}, 'field "factors": must be a list of factor names'),
        ({"varying_slopes": '"age"'}, 'field "varying_slopes": must be a list of factor names'),
        ({"population_prevalence": '{"beta_alpha": 1}'}, "population_prevalence lacks 'beta_beta'"),
    ],
)
def test_malformed_settings_of_a_version_0_1_fit_are_named(attrs, message):
    stored = {"factors": '["fascia_injury", "age"]', "priors": '{"name": "sceptical", "kind": "independent"}'}
    idata = az.from_dict(posterior={"alpha": np.zeros((1, 2))}, attrs=stored | attrs)
    with pytest.raises(ValueError, match=r"its settings \(saved by bayes_ubpr 0\.1\): " + message):
        ModelSpec.from_idata(idata)


def test_spec_round_trips_shrinkage_priors():
    spec = ModelSpec(priors=Horseshoe(expected_nonzero=2, slab_scale=1.5))
    assert ModelSpec.from_dict(spec.to_dict()) == spec
    assert ModelSpec.from_dict(ModelSpec(priors="domains").to_dict()) == ModelSpec(priors="domains")


def test_fit_takes_a_spec_or_keywords_not_both():
    sample = bu.simulate_cohort(n=300, prevalence=0.3, seed=2)
    with pytest.raises(TypeError, match="either as spec or as keywords, not both"):
        bu.fit(sample, ModelSpec(), priors="sceptical")
    with pytest.raises(TypeError, match="spec must be a bayes_ubpr.ModelSpec"):
        bu.fit(sample, 5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="a formula reads .*a prior preset goes in priors="):
        bu.fit(sample, "default")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"factors": ["depression"], "outcome": "depression"}, ValueError, "both the outcome and a factor"),
        ({"factors": ["depression", "depression"]}, ValueError, "lists depression more than once"),
        ({"factors": []}, ValueError, "at least one risk factor"),
        ({"factors": "depression"}, TypeError, "not a single str"),
        ({"outcome": "beta"}, ValueError, "name of one of the model's own variables"),
        ({"design": "cohort", "population_prevalence": 0.1}, ValueError, 'only to design="case_control"'),
        ({"design": "case_control", "population_prevalence": 1.5}, ValueError, "strictly between 0 and 1"),
        ({"varying_slopes": ["depression"]}, ValueError, "needs a group column"),
        ({"group": "site", "varying_slopes": ["age"]}, ValueError, 'Unknown varying slope .* "age"'),
        ({"priors": {"age": Prior()}}, ValueError, 'Unknown prior key .* "age"'),
        ({"priors": "flat"}, ValueError, "priors preset must be one of"),
        ({"priors": 3}, TypeError, "priors must be None, a preset name"),
    ],
)
def test_invalid_spec(kwargs, error, message):
    with pytest.raises(error, match=message):
        ModelSpec(**kwargs)


def test_reserved_names_cover_every_model_variable():
    cohort = bu.simulate_cohort(n=300, prevalence=0.3, seed=2, n_sites=3)
    sample = bu.case_control_sample(cohort, seed=1)
    for spec in (
        ModelSpec(design="case_control", group="site", varying_slopes=("depression",)),
        ModelSpec(priors="horseshoe"),
        ModelSpec(priors="domains"),
        ModelSpec(design="case_control", population_prevalence=0.05),
        ModelSpec(priors={"depression": Prior("laplace", 0, 1)}),
    ):
        model = build_model(sample, spec)
        names = set(model.named_vars) | set(model.coords) - {spec.outcome}
        assert names - {f"beta_std_{f}" for f in spec.factor_names} - {spec.outcome} <= RESERVED_NAMES


def test_case_control_of_another_outcome_needs_its_prevalence(spector):
    with pytest.raises(ValueError, match='case-control design of "GRADE" needs the population prevalence'):
        bu.fit(spector, factors=SPECTOR_FACTORS, outcome="GRADE", design="case_control", check=False)


# ----------------------------------------------------------------------------- bad data


def test_outcome_column_missing_or_not_binary(spector):
    with pytest.raises(CohortValidationError, match=r"Missing required column\(s\): grade. Did you mean \"GRADE\""):
        bu.validate_cohort(spector, factors=SPECTOR_FACTORS, outcome="grade")
    bad = spector.assign(GRADE=spector["GRADE"].replace({1.0: 2.0}))
    with pytest.raises(CohortValidationError, match=r'"GRADE" must be 0 or 1 .*rows with index labels 4, 9'):
        bu.validate_cohort(bad, factors=SPECTOR_FACTORS, outcome="GRADE")


def test_declared_kind_must_match_the_column(spector):
    with pytest.raises(CohortValidationError, match=r'"TUCE" must be 0 or 1') as info:
        bu.fit(spector, factors=["GPA", Factor("TUCE", kind="binary")], outcome="GRADE", check=False)
    assert info.value.column == "TUCE"


def test_catalogue_ranges_only_for_catalogue_factors():
    frame = pd.DataFrame({"cement_volume_ml": [30.0, 25.0, 40.0, 35.0], "y": [0, 1, 0, 1]})
    with pytest.raises(CohortValidationError, match="between 0.5 and 20"):
        bu.validate_cohort(frame, factors=["cement_volume_ml"], outcome="y")
    own = Factor("cement_volume_ml", kind="continuous", unit="1 mL (whole vertebra)")
    assert len(bu.validate_cohort(frame, factors=[own], outcome="y")) == 4


# ----------------------------------------------------------------------------- own data end to end


@pytest.mark.slow
def test_spector_posterior_agrees_with_statsmodels(spector, spector_fit):
    mle = _mle(spector)
    draws = spector_fit.posterior["beta"].stack(sample=("chain", "draw")).to_numpy()
    median, sd = np.median(draws, axis=1), draws.std(axis=1)
    # With 32 students the likelihood is skewed, so the posterior median sits between the mode (the MLE under a
    # flat prior) and the mean: by 0.14-0.35 posterior SD here. Half a posterior SD bounds that and still fails
    # for a wrong scale, sign or column (each moves the median by several SDs).
    np.testing.assert_array_less(np.abs(median - mle[1:]), 0.5 * sd)
    # The mode itself is the MLE, up to the N(0, 100) prior's pull (about var / 100^2, under 1e-3 here).
    model = build_model(spector, ModelSpec.from_idata(spector_fit))
    with model:
        mode = pm.find_MAP(progressbar=False)
    np.testing.assert_allclose(mode["beta"], mle[1:], atol=1e-2 * np.abs(mle[1:]).max())
    np.testing.assert_allclose(mode["intercept"], mle[0], atol=0.05)


@pytest.mark.slow
def test_spector_tables_and_report_use_its_own_labels(spector_fit, tmp_path):
    table = bu.odds_ratio_table(spector_fit)
    assert table["label"].tolist() == SPECTOR_FACTORS
    assert table["unit"].tolist() == ["1 unit", "1 unit", "1 vs 0"]
    assert table[["paper_or", "paper_lower", "paper_upper"]].isna().all().all()
    assert "Paper" not in bu.format_odds_ratio_table(table)  # nothing to say of the paper here
    text = bu.write_report(spector_fit, tmp_path / "report.html", seed=1).read_text(encoding="utf-8")
    assert "Bayesian logistic regression of GRADE" in text
    assert "paper" not in text.lower().replace("bayes_ubpr", "")
    assert "cases (GRADE = 1)" in text


def test_paper_columns_only_for_the_papers_factors_and_outcome():
    cohort = bu.simulate_cohort(n=400, prevalence=0.3, seed=3)
    idata = bu.fit(cohort, factors=["fascia_injury", "age"], chains=2, seed=1, check=False)
    table = bu.odds_ratio_table(idata).set_index("factor")
    assert table.loc["fascia_injury", "paper_or"] == 3.805
    assert np.isnan(table.loc["age", "paper_or"])
    renamed = cohort.rename(columns={"ubpr": "pain"})
    other = bu.fit(renamed, factors=["fascia_injury"], outcome="pain", chains=2, seed=1, check=False)
    assert bu.odds_ratio_table(other)["paper_or"].isna().all()


@pytest.mark.slow
def test_cli_fits_a_cohort_with_its_own_names_and_factor_file(spector, tmp_path, capsys):
    data = tmp_path / "spector.csv"
    spector.to_csv(data, index=False)
    factor_file = tmp_path / "factors.toml"
    factor_file.write_text(
        '[factors.GPA]\nlabel = "Grade point average"\nunit = "1 grade point"\n\n'
        '[factors.TUCE]\nkind = "continuous"\nprior = { sigma = 2.5, per = "sd" }\n\n'
        '[factors.PSI]\nkind = "binary"\nlabel = "Personalised instruction"\n',
        encoding="utf-8",
    )
    report = tmp_path / "report.md"
    args = ["fit", str(data), "--outcome", "GRADE", "--factor-file", str(factor_file), "--report", str(report)]
    assert main([*args, "--chains", "2", "--seed", "1", "--out", str(tmp_path / "fit.nc")]) == 0
    out = capsys.readouterr().out
    assert "Grade point average" in out and "Personalised instruction" in out
    stored = ModelSpec.from_idata(bu.load_fit(tmp_path / "fit.nc"))
    assert [f.kind for f in stored.factors] == ["continuous", "continuous", "binary"]
    assert stored.priors == {"TUCE": Prior(sigma=2.5, per="sd")}
    assert "| Grade point average |" in report.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[factors.x]\nkind = 'ordinal'\n", r"\[factors.x\]: Factor \"x\" kind must be one of"),
        ("[factors.x]\ncolour = 'red'\n", r"\[factors.x\] has unknown key 'colour'"),
        ("[factors.x]\nprior = { sd = 1 }\n", r"prior has unknown key 'sd'"),
        ("outcome = 'y'\n", r"unknown top-level key\(s\) \['outcome'\]"),
        ("[factors.x\n", "not a valid UTF-8 TOML file"),
        ("[factors.x]\nlabel = 5\n", r"\[factors.x\]: Factor \"x\" label must be a string; got int 5"),
        ("[factors.x]\nunit = ['a', 'b']\n", r"\[factors.x\]: Factor \"x\" unit must be a string"),
        ("[factors.x]\nrange = [5]\n", r"\[factors.x\]: Factor \"x\" range must be a pair of finite numbers"),
        ("[factors.x]\nrange = '0-20'\n", r"\[factors.x\]: Factor \"x\" range must be a pair .* str '0-20'"),
        ("[factors.x]\nscale = true\n", r"\[factors.x\]: Factor \"x\" scale must be a positive finite number"),
        ("[factors.depression]\nlabel = 5\n", r"\[factors.depression\]: Factor \"depression\" label must be"),
        ("[factors.x]\nlable = 'X'\n", r"\[factors.x\] has unknown key 'lable'. Did you mean \"label\"\?"),
        ("[factors.x]\nprior = { sigam = 1 }\n", r"prior has unknown key 'sigam'. Did you mean \"sigma\"\?"),
        ("[factors.x]\nprior = { sigma = '1' }\n", r"\[factors.x\]: Prior sigma must be a positive finite number"),
        ("[factors.x]\nprior = { mu = 1" + "0" * 400 + " }\n", r"\[factors.x\]: Prior mu must be a finite"),
        ("[factors.x]\nprior = 3\n", r"\[factors.x\]: prior must be a table .*; got int 3"),
        ("[factors]\nx = 3\n", r"\[factors.x\] must be a table of settings; got int 3"),
    ],
)
def test_bad_factor_file_names_the_key_and_the_file(tmp_path, text, message):
    path = tmp_path / "factors.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as info:
        read_factor_file(path)
    assert str(path) in str(info.value)


def test_cli_bad_model_fails_before_reading_or_fitting(tmp_path, capsys):
    data = tmp_path / "data.csv"
    pd.DataFrame({"a": [0, 1, 0, 1], "y": [0, 1, 1, 0]}).to_csv(data, index=False)
    assert main(["fit", str(data), "--outcome", "a", "--factors", "a"]) == 2
    assert '"a" is both the outcome and a factor' in capsys.readouterr().err
    assert not list(tmp_path.glob("*.nc"))


# ----------------------------------------------------------------------------- the paper's workflows


def test_paper_workflow_posteriors_are_unchanged():
    # Posterior means from bayes_ubpr 0.1.0 (commit 045afe6) for the same data and settings, before ModelSpec;
    # 0.1.0's default prior is priors="wide" since the default became Normal(0, 1) (issue 14). Since nutpie
    # samples the hand-written density (issue 15) the draws differ, so the means must agree within Monte Carlo
    # error: four MCSEs of the difference, taking 0.1's MCSE (same settings) equal to this run's.
    cohort = bu.simulate_cohort(seed=2016)
    sample = bu.case_control_sample(cohort, seed=2017)
    idata = bu.fit(sample, design="case_control", priors="wide", seed=1, chains=2, draws=300, tune=300, check=False)
    before = [-0.15186183015169338, 0.577276954139877, -0.35710461192168996, 0.7223221415909187, -2.196575056706153]
    before += [0.5292923113216302]
    _assert_within_monte_carlo_error(idata, "beta", before)
    _assert_within_monte_carlo_error(idata, "intercept_population", 7.54505938799511)
    three = bu.fit(cohort, factors=["bmd_tscore_abs", "age", "copd"], priors="sceptical", seed=3, chains=2,
                   draws=300, tune=300, check=False)  # fmt: skip
    _assert_within_monte_carlo_error(three, "beta", [0.26310052202375167, -0.0252986756548842, -0.12977844056639437])


def _assert_within_monte_carlo_error(idata, name, before):
    mean = idata.posterior[name].mean(("chain", "draw")).to_numpy()
    mcse = az.mcse(idata, var_names=[name])[name].to_numpy()
    assert (np.abs(mean - np.asarray(before)) < 4 * np.sqrt(2) * mcse).all(), (name, mean, before, mcse)


@pytest.mark.slow
def test_power_scaling_on_a_case_control_fit_with_a_fixed_prevalence():
    # Regression: power_scaling rebuilt the model from three settings and lost the prevalence (KeyError).
    sample = bu.case_control_sample(bu.simulate_cohort(n=600, prevalence=0.3, seed=5), seed=2)
    idata = bu.fit(sample, design="case_control", population_prevalence=0.046, chains=2, seed=1, check=False)
    table = bu.power_scaling(idata, sample)
    assert table["factor"].tolist() == list(bu.SIX_FACTORS)
    assert np.isfinite(table[["prior_sensitivity", "likelihood_sensitivity"]].to_numpy()).all()
