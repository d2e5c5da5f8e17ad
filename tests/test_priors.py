"""Prior objects check themselves; defaults are documented and convert to per-unit scales."""

from __future__ import annotations

import math

import pytest

from bayes_ubpr.priors import (
    DEFAULT_SCALE,
    PAPER_INFLATION,
    PRESETS,
    SCEPTICAL_SCALE,
    WIDE_SCALE,
    DomainShrinkage,
    Horseshoe,
    PopulationPrevalence,
    Prior,
    default_prior,
    describe_priors,
    paper_priors,
    priors_from_dict,
    priors_to_dict,
    reference_sd,
    resolve_priors,
)


def test_valid_priors():
    assert Prior() == Prior("normal", 0.0, 1.0)
    assert Prior("student_t", 0, 2, nu=3).nu == 3.0
    assert Prior("laplace", mu=1, sigma=0.5).mu == 1.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"family": "cauchy"}, "Prior family must be one of 'normal', 'student_t', 'laplace'; got 'cauchy'"),
        ({"family": "normall"}, 'Did you mean "normal"'),
        ({"sigma": 0}, "sigma must be a positive finite number; got 0"),
        ({"sigma": math.inf}, "sigma must be a positive finite number"),
        ({"mu": math.nan}, "mu must be a finite number"),
        ({"mu": 10**400}, "mu must be a finite number; got 1000"),  # too large for a float: once an OverflowError
        ({"family": "student_t"}, "student_t Prior needs nu > 0"),
        ({"family": "student_t", "nu": -1}, "student_t Prior needs nu > 0"),
        ({"nu": 3}, "nu applies only to the student_t family"),
        ({"per": "mL"}, "Prior per must be one of 'unit', 'sd'"),
    ],
)
def test_invalid_priors(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Prior(**kwargs)


def test_structures_check_their_intercept_and_domains():
    with pytest.raises(TypeError, match="Horseshoe intercept must be a bayes_ubpr.priors.Prior; got dict"):
        Horseshoe(intercept={"sigma": 1.0})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="DomainShrinkage intercept must be a bayes_ubpr.priors.Prior; got str"):
        DomainShrinkage(intercept="normal")  # type: ignore[arg-type]
    for domains in ({"bone": "bmd_tscore_abs"}, {"bone": [1]}, ["bone"]):
        with pytest.raises(TypeError, match="DomainShrinkage domains must map each domain name to a sequence"):
            DomainShrinkage(domains=domains)  # type: ignore[arg-type]


STORED_INTERCEPT = Prior("normal", 0.0, 2.5).to_dict()


@pytest.mark.parametrize(
    ("stored", "error", "message"),
    [
        ("default", TypeError, r"stored priors must be a table with one key \(preset, mapping, horseshoe, domains\)"),
        (
            {"preset": "default", "mapping": {}},
            ValueError,
            r"stored priors must have one key .*\['preset', 'mapping'\]",
        ),
        ({"presets": "default"}, ValueError, 'stored priors kind must be one of .* Did you mean "preset"'),
        ({"preset": 5}, TypeError, "stored priors preset must be a string; got int 5"),
        ({"mapping": []}, TypeError, "stored priors mapping must be a table of priors by factor; got list"),
        (
            {"mapping": {"depression": {"sd": 1.0}}},
            ValueError,
            "stored prior of \"depression\" has unknown key 'sd'",
        ),
        ({"mapping": {"depression": [1.0]}}, TypeError, 'stored prior of "depression" must be a table of settings'),
        ({"horseshoe": {"expected_nonzero": 2}}, ValueError, "horseshoe priors lacks 'intercept'"),
        (
            {"mapping": {"depression": {"sigma": "1"}}},
            ValueError,
            "stored prior of \"depression\": Prior sigma must be a positive finite number; got '1'",
        ),
        (
            {"horseshoe": {**priors_to_dict(Horseshoe())["horseshoe"], "intercept": {"sigma": -1}}},
            ValueError,
            "horseshoe intercept: Prior sigma must be a positive finite number; got -1",
        ),
        (
            {"domains": {"global_scale": 1.0}},
            ValueError,
            "domains priors lacks 'domain_spread', 'domains', 'intercept'",
        ),
        (
            {"domains": {"global_scale": 1, "domain_spread": 1, "domains": {"a": "x"}, "intercept": STORED_INTERCEPT}},
            TypeError,
            "DomainShrinkage domains must map each domain name to a sequence of factor names",
        ),
    ],
)
def test_malformed_stored_priors_name_what_is_wrong(stored, error, message):
    with pytest.raises(error, match=message):
        priors_from_dict(stored)


def test_stored_priors_round_trip():
    for priors in ("sceptical", {"depression": Prior("student_t", 0.5, 1.0, nu=3)}, Horseshoe(), DomainShrinkage()):
        assert priors_from_dict(priors_to_dict(priors)) == priors
    partial = {"mapping": {"depression": {"sigma": 2.0}}, "horseshoe": {"intercept": {}}}  # fields left out: defaults
    assert priors_from_dict({"mapping": partial["mapping"]}) == {"depression": Prior(sigma=2.0)}
    assert priors_from_dict({"horseshoe": partial["horseshoe"]}) == Horseshoe(intercept=Prior())
    domains = DomainShrinkage(domains={"bone": ("bmd_tscore_abs",), "rest": ("depression", "age")})
    assert priors_from_dict(priors_to_dict(domains)) == domains


def test_reference_sd_comes_from_table4_control_group():
    assert reference_sd("cement_volume_ml") == 0.46
    assert reference_sd("n_fractures") == 0.60
    assert reference_sd("fascia_injury") == pytest.approx(math.sqrt(17 / 60 * 43 / 60))


def test_defaults_per_unit_for_binary_and_per_sd_otherwise():
    assert default_prior("depression") == Prior("normal", 0.0, DEFAULT_SCALE, per="unit")
    assert default_prior("bmd_tscore_abs").per == "sd"
    assert default_prior("intercept") == Prior("normal", 0.0, WIDE_SCALE)


def test_resolve_converts_to_per_unit_and_keeps_overrides():
    override = Prior("student_t", 0.5, 1.0, nu=4)
    spec = resolve_priors(["cement_volume_ml", "depression"], {"depression": override})
    resolved = spec.coefficients
    assert spec.name == "custom" and spec.kind == "independent"
    assert list(resolved) == ["cement_volume_ml", "depression"]
    assert resolved["cement_volume_ml"].sigma == pytest.approx(DEFAULT_SCALE / 0.46)
    assert resolved["cement_volume_ml"].per == "unit"
    assert resolved["depression"] == override
    per_sd = resolve_priors(["n_fractures"], {"n_fractures": Prior(mu=0.6, sigma=0.3, per="sd")}).coefficients
    assert per_sd["n_fractures"].mu == pytest.approx(1.0)
    assert per_sd["n_fractures"].sigma == pytest.approx(0.5)


def test_resolve_errors():
    with pytest.raises(ValueError, match=r'Unknown prior key .* "depresion". Did you mean "depression"'):
        resolve_priors(["depression"], {"depresion": Prior()})
    with pytest.raises(ValueError, match=r'Unknown prior key .* "age"'):
        resolve_priors(["depression"], {"age": Prior()})
    with pytest.raises(TypeError, match=r'priors\["depression"\] must be a bayes_ubpr.priors.Prior; got tuple'):
        resolve_priors(["depression"], {"depression": (0, 1)})


def test_describe_priors_reports_or_ranges():
    table = describe_priors(["fascia_injury", "age"], {"age": Prior(sigma=0.1)})
    assert list(table["parameter"]) == ["intercept", "fascia_injury", "age"]
    assert list(table["source"]) == ["default", "default", "user"]
    row = table.set_index("parameter").loc["fascia_injury"]
    assert row["or_upper"] == pytest.approx(math.exp(1.959963984540054 * DEFAULT_SCALE))
    assert row["or_lower"] == pytest.approx(1 / row["or_upper"])
    wide = describe_priors(["depression"], {"depression": Prior(sigma=1e6)})
    assert wide.loc[1, "or_upper"] == math.inf


class TestPresets:
    def test_sceptical_puts_95_percent_between_a_third_and_three(self):
        spec = resolve_priors(["depression", "n_fractures"], "sceptical")
        assert spec.name == "sceptical"
        depression = spec.coefficients["depression"]
        assert math.exp(1.959963984540054 * depression.sigma) == pytest.approx(3.0)
        # per SD for a count factor: per unit the scale is divided by its reference SD
        assert spec.coefficients["n_fractures"].sigma == pytest.approx(SCEPTICAL_SCALE / 0.60)

    def test_paper_priors_centre_on_table5_with_inflated_se(self):
        spec = resolve_priors(["cement_volume_ml", "age"], "paper")
        volume = spec.coefficients["cement_volume_ml"]
        assert (volume.mu, volume.sigma) == (-2.542, pytest.approx(0.400 * PAPER_INFLATION))
        assert spec.coefficients["age"] == default_prior("age").per_unit(reference_sd("age"))
        assert paper_priors(["depression"], inflation=1.0)["depression"].sigma == 0.559
        with pytest.raises(ValueError, match="inflation must be a number >= 1"):
            paper_priors(["depression"], inflation=0.5)

    def test_shrinkage_presets_and_objects(self):
        assert resolve_priors(["age"], "horseshoe").kind == "horseshoe"
        assert resolve_priors(["age"], "domains").kind == "domains"
        custom = Horseshoe(expected_nonzero=2, slab_scale=1.0)
        spec = resolve_priors(["age", "copd"], custom)
        assert spec.structure is custom and spec.coefficients == {}
        assert custom.global_scale(15, 100) == pytest.approx(2 / 13 * 2 / 10)
        with pytest.raises(ValueError, match="Horseshoe slab_df must be a positive number"):
            Horseshoe(slab_df=0)
        with pytest.raises(ValueError, match="DomainShrinkage global_scale must be a positive number"):
            DomainShrinkage(global_scale=-1)

    def test_unknown_preset_and_wrong_type(self):
        with pytest.raises(
            ValueError, match=r"priors preset must be one of .*; got 'skeptical'.* Did you mean \"sceptical\""
        ):
            resolve_priors(["age"], "skeptical")
        with pytest.raises(TypeError, match="priors must be None, a preset name, .*; got list"):
            resolve_priors(["age"], [Prior()])

    def test_describe_names_the_structure(self):
        table = describe_priors(["age", "copd"], "horseshoe")
        assert table.attrs["preset"] == "horseshoe"
        assert table["family"].tolist() == ["normal", "horseshoe", "horseshoe"]
        assert table.loc[1:, "or_lower"].isna().all()

    def test_population_prevalence_from_counts(self):
        prior = PopulationPrevalence.from_counts(60, 1316)
        assert (prior.alpha, prior.beta) == (60.5, 1256.5)
        assert prior.mean == pytest.approx(60.5 / 1317)
        with pytest.raises(ValueError, match="need 0 <= cases <= total"):
            PopulationPrevalence.from_counts(70, 60)

    def test_spec_is_json_serialisable(self):
        import json

        for preset in PRESETS:
            json.dumps(resolve_priors(["age", "depression"], preset).to_dict())


def test_wide_preset_is_the_old_default_one_argument_away():
    wide = resolve_priors(["depression", "cement_volume_ml"], "wide")
    assert wide.name == "wide" and "wide" in PRESETS
    assert wide.coefficients["depression"] == Prior("normal", 0.0, WIDE_SCALE)
    assert wide.coefficients["cement_volume_ml"].sigma == pytest.approx(WIDE_SCALE / 0.46)
    default = resolve_priors(["depression"]).coefficients["depression"]
    assert default.sigma == DEFAULT_SCALE == 1.0
    assert wide.intercept == resolve_priors(["depression"]).intercept  # the intercept keeps Normal(0, 2.5)


def test_module_docstring_table_states_what_describe_priors_states():
    # The per-factor prior ranges in the module docstring are the describe_priors statements, word for word.
    import bayes_ubpr.priors as module
    from bayes_ubpr.paper import SIX_FACTORS

    doc = module.__doc__
    for preset in ("default", "wide", "sceptical", "paper"):
        table = describe_priors(SIX_FACTORS, preset).iloc[1:]
        for factor, statement in zip(table["parameter"], table["statement"], strict=True):
            line = f"{factor}: {statement.replace('95% prior mass on ', '')}"
            assert line in doc, (preset, line)


# --- The priors of a whole model, term by term (bayes_ubpr.model.describe_model_priors) ---


def _raw(n: int = 300, seed: int = 8):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    hospital = rng.choice(["North", "South", "West"], n)
    return pd.DataFrame(
        {
            "pain": rng.binomial(1, 0.3, n),
            "level": rng.choice(["thoracic", "thoracolumbar", "lumbar"], n),
            "injury": rng.binomial(1, 0.3, n),
            "volume": rng.gamma(9, 0.55, n).round(1),
            "hospital": hospital,
            "surgeon": [f"{h[0]}{k}" for h, k in zip(hospital, rng.integers(1, 4, n), strict=True)],
        }
    )


TERMS_FORMULA = "pain ~ C(level, Treatment('lumbar')) * injury + rcs(volume, 4) + (1 | hospital/surgeon)"


def test_describe_model_priors_says_what_each_terms_prior_does():
    from bayes_ubpr import ModelSpec
    from bayes_ubpr.model import describe_model_priors
    from bayes_ubpr.model._build import prepare_inputs

    data = _raw()
    spec = ModelSpec.from_formula(TERMS_FORMULA)
    table = describe_model_priors(spec, data=data).set_index("parameter")
    assert list(table.index) == [
        "intercept",
        "level[thoracic]",
        "level[thoracolumbar]",
        "injury",
        "level[thoracic]:injury",
        "level[thoracolumbar]:injury",
        "volume",
        "volume'",
        "volume''",
        "group_sd[hospital]",
        "group_sd[hospital:surgeon]",
    ]
    # the scales are those the fit uses: a spline's nonlinear part and an interaction at half a preset's
    used = prepare_inputs(data, spec).priors
    for column, prior in used.coefficients.items():
        assert table.loc[column, "sigma"] == pytest.approx(prior.sigma)
    unscaled = describe_priors(used.factors).set_index("parameter")
    for column in ("volume'", "volume''", "level[thoracic]:injury"):
        assert table.loc[column, "sigma"] == pytest.approx(0.5 * unscaled.loc[column, "sigma"])
    for column in ("volume", "injury", "level[thoracic]"):
        assert table.loc[column, "sigma"] == pytest.approx(unscaled.loc[column, "sigma"])
    assert table.loc["level[thoracic]", "term"] == "level" and table.loc["volume''", "role"] == "nonlinear"
    notes = table["note"]
    assert notes["level[thoracic]"] == notes["level[thoracolumbar]"]
    assert notes["level[thoracic]"] == "levels of level share one prior: Normal(0, 1) per level vs lumbar"
    assert notes["volume'"].startswith(
        "nonlinear part of the volume spline: half the main-effect scale, shrinking the curve toward a straight line;"
    )
    assert notes["level[thoracic]:injury"].startswith("interaction: half the main-effect scale; Normal(0, 0.5)")
    assert notes["volume"].startswith("linear part of the volume spline: Normal(0, ")
    assert notes["group_sd[hospital]"] == "HalfNormal(1) on the SD of hospital intercepts (log odds)"
    assert notes["group_sd[hospital:surgeon]"] == "HalfNormal(1) on the SD of hospital:surgeon intercepts (log odds)"
    assert table.loc["group_sd[hospital]", "statement"] == "95% prior mass on a between-group SD below 1.96 (log odds)"
    assert table.loc["level[thoracic]", "statement"].startswith("95% prior mass on OR 0.141 to 7.1 vs lumbar")


def test_describe_model_priors_keeps_a_given_prior_and_names_a_structure():
    from bayes_ubpr import ModelSpec
    from bayes_ubpr.model import describe_model_priors

    data = _raw()
    given = ModelSpec.from_formula("pain ~ rcs(volume, 3) + injury", priors={"volume'": Prior(sigma=0.2)})
    table = describe_model_priors(given, data=data).set_index("parameter")
    assert table.loc["volume'", "sigma"] == 0.2 and table.loc["volume'", "source"] == "user"
    assert table.loc["volume'", "note"] == "Normal(0, 0.2) per 1 SD of volume', as given"
    shrunk = describe_model_priors(
        ModelSpec.from_formula("pain ~ rcs(volume, 3) + injury", priors="horseshoe"), data=data
    )
    assert shrunk["note"].iloc[1:].str.startswith("horseshoe shrinkage: one joint prior").all()


def test_describe_model_priors_of_a_factor_list_matches_describe_priors():
    import bayes_ubpr as bu
    from bayes_ubpr.model import describe_model_priors

    cohort = bu.simulate_cohort(n=200, prevalence=0.3, seed=2).assign(site=lambda d: d.index % 3)
    spec = bu.ModelSpec(group="site", varying_slopes=["fascia_injury"])
    table = describe_model_priors(spec, data=cohort)
    plain = describe_priors(bu.SIX_FACTORS)
    assert table["parameter"].tolist() == [*plain["parameter"], "group_sd", "slope_sd[fascia_injury]"]
    assert table["sigma"].iloc[:7].tolist() == pytest.approx(plain["sigma"].tolist())
    assert table["note"].iloc[2] == "main effect: Normal(0, 1) per present vs absent"
    assert (
        table["note"].iloc[-1]
        == "HalfNormal(0.5) on the SD across site of the fascia_injury slope, per SD of fascia_injury"
    )


def test_describe_model_priors_errors():
    from bayes_ubpr import ModelSpec
    from bayes_ubpr.model import describe_model_priors

    with pytest.raises(ValueError, match=r"come from the data: pass data=\.\.\. \(or a fit\)"):
        describe_model_priors(ModelSpec.from_formula(TERMS_FORMULA))
    with pytest.raises(TypeError, match="model must be a bayes_ubpr.ModelSpec or a fit; got str"):
        describe_model_priors("pain ~ injury")
    with pytest.raises(TypeError, match=r"describe a ModelSpec \(or a fit\) with bayes_ubpr.describe_model_priors"):
        describe_priors(ModelSpec())


def test_a_catalogue_name_for_another_outcome_takes_its_scale_from_the_data():
    import bayes_ubpr as bu

    """Issue 25: a column named like a paper factor in another study is not given the paper's Table 4 SD."""
    cohort = bu.simulate_cohort(n=400, prevalence=0.3, seed=5).rename(columns={"ubpr": "pain"})
    theirs = bu.ModelSpec(factors=["bmd_tscore_abs", "depression"], outcome="pain")
    assert theirs.factors[0].scale is None  # read off the data when fitted
    asked = bu.ModelSpec(factors=[bu.paper.RISK_FACTORS["bmd_tscore_abs"], "depression"], outcome="pain")
    assert asked.factors[0].scale == bu.paper.RISK_FACTORS["bmd_tscore_abs"].scale
    assert bu.ModelSpec(factors=["bmd_tscore_abs"]).factors[0].scale == bu.paper.RISK_FACTORS["bmd_tscore_abs"].scale
    table = bu.describe_model_priors(theirs, data=cohort).set_index("parameter")
    note = table.loc["bmd_tscore_abs", "note"]
    sd = cohort["bmd_tscore_abs"].std()  # the sample SD (ddof 1), as Factor.resolve reads it
    assert "not the paper's" in note and "RISK_FACTORS['bmd_tscore_abs']" in note
    assert f"{sd:.3g}" in note
