"""Synthetic cohorts: prevalence, control marginals, case marginals and sampling, each against
its known truth with a tolerance of four Monte Carlo standard errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import bayes_ubpr as bu
from bayes_ubpr.exceptions import CohortValidationError
from bayes_ubpr.simulate import (
    BernoulliLaw,
    CurveEffect,
    DiscreteLaw,
    LevelEffects,
    NormalLaw,
    QuadraticEffect,
    control_laws,
    true_model,
)

Z = 4.0  # Monte Carlo standard errors allowed: a false alarm has probability ~6e-5 per check.
N_LARGE = 200_000


@pytest.fixture(scope="module")
def large_cohort() -> pd.DataFrame:
    return bu.simulate_cohort(n=N_LARGE, seed=1316)


def _assert_within_mc_error(values: np.ndarray, law, label: str) -> None:
    """Sample mean (and SD for non-binary laws) within Z standard errors of the law's."""
    mean, sd = law.moments()
    n = len(values)
    assert abs(values.mean() - mean) <= Z * sd / np.sqrt(n), f"{label}: mean {values.mean()} vs {mean}"
    if not isinstance(law, BernoulliLaw):
        # SE of a sample SD: sqrt((mu4 - sd^4) / (4 sd^2 n)), mu4 the law's fourth central moment.
        if isinstance(law, NormalLaw):
            mu4 = 3 * sd**4
        else:
            k, p = np.asarray(law.support, float), np.asarray(law.pmf)
            mu4 = p @ (k - mean) ** 4
        se_sd = np.sqrt((mu4 - sd**4) / (4 * sd**2 * n))
        assert abs(values.std(ddof=1) - sd) <= Z * se_sd, f"{label}: sd {values.std(ddof=1)} vs {sd}"


def test_control_laws_reproduce_table4_satisfactory_group():
    t4 = bu.table4().set_index("factor")
    for name, law in control_laws().items():
        mean, sd = law.moments()
        row = t4.loc[name]
        if row["kind"] == "binary":
            assert mean == pytest.approx(row["satisfactory_n1"] / 60)
        else:
            assert mean == pytest.approx(row["satisfactory_mean"], abs=1e-9)
            assert sd == pytest.approx(row["satisfactory_sd"], abs=1e-9)
    fractures = control_laws()["n_fractures"]
    assert isinstance(fractures, DiscreteLaw)
    assert min(fractures.support) == 1
    assert sum(fractures.pmf) == pytest.approx(1.0)


def test_prevalence_within_binomial_error(large_cohort):
    p = bu.PREVALENCE
    se = np.sqrt(p * (1 - p) / N_LARGE)
    assert abs(large_cohort["ubpr"].mean() - p) <= Z * se


def test_expected_prevalence_is_exact(large_cohort):
    # E[true_risk] = prevalence exactly; the sample mean of true_risk estimates it with SE sd/sqrt(n).
    risk = large_cohort["true_risk"]
    assert abs(risk.mean() - bu.PREVALENCE) <= Z * risk.std() / np.sqrt(N_LARGE)


@pytest.mark.parametrize("prevalence", [0.01, 0.2, 0.5])
def test_other_prevalences(prevalence):
    cohort = bu.simulate_cohort(n=50_000, prevalence=prevalence, seed=7)
    se = np.sqrt(prevalence * (1 - prevalence) / 50_000)
    assert abs(cohort["ubpr"].mean() - prevalence) <= Z * se


def test_control_group_marginals_match_table4(large_cohort):
    controls = large_cohort[large_cohort["ubpr"] == 0]
    for name, law in control_laws().items():
        _assert_within_mc_error(controls[name].to_numpy(dtype=float), law, name)


def test_case_group_marginals_are_the_tilted_control_laws(large_cohort):
    cases = large_cohort[large_cohort["ubpr"] == 1]
    model = true_model()
    for name, law in control_laws().items():
        tilted = law.tilt(float(model.log_odds_ratios[name]))
        _assert_within_mc_error(cases[name].to_numpy(dtype=float), tilted, f"cases {name}")


def test_true_risk_is_the_logistic_model(large_cohort):
    model = true_model()
    head = large_cohort.head(50)
    np.testing.assert_allclose(model.risk(head), head["true_risk"])
    truth = large_cohort.attrs["truth"]
    assert truth["log_odds_ratios"]["cement_volume_ml"] == -2.542
    assert truth["log_odds_ratios"]["age"] == 0.0
    assert truth["intercept"] == pytest.approx(model.intercept)


def test_columns_follow_the_contract():
    cohort = bu.simulate_cohort(n=20, seed=1)
    assert list(cohort.columns) == ["patient_id", *bu.RISK_FACTORS, "ubpr", "true_risk"]
    assert (
        bu.validate_cohort(cohort, factors=bu.RISK_FACTORS, require_outcome=False, id_column="patient_id") is not None
    )


def test_same_seed_same_cohort_and_different_seed_different():
    a = bu.simulate_cohort(n=500, seed=42)
    pd.testing.assert_frame_equal(a, bu.simulate_cohort(n=500, seed=42))
    assert not a.equals(bu.simulate_cohort(n=500, seed=43))
    generator_cohort = bu.simulate_cohort(n=500, seed=np.random.default_rng(42))
    pd.testing.assert_frame_equal(a, generator_cohort)


def test_odds_ratio_override_and_errors():
    model = true_model(odds_ratios={"age": 1.1, "depression": 1.0})
    assert model.log_odds_ratios["age"] == pytest.approx(np.log(1.1))
    assert model.log_odds_ratios["depression"] == 0.0
    assert model.log_odds_ratios["fascia_injury"] == 1.336
    with pytest.raises(ValueError, match=r'Unknown risk factor in odds_ratios "ages". Did you mean "age"'):
        true_model(odds_ratios={"ages": 1.1})
    with pytest.raises(ValueError, match='odds_ratios\\["age"\\] must be a positive finite number; got -1'):
        true_model(odds_ratios={"age": -1})
    with pytest.raises(ValueError, match=r"prevalence must be strictly between 0 and 1; got 1.5"):
        bu.simulate_cohort(prevalence=1.5)
    with pytest.raises(ValueError, match="n must be >= 1; got 0"):
        bu.simulate_cohort(n=0)


def test_null_odds_ratios_make_risk_independent_of_factors():
    null = dict.fromkeys(bu.SIX_FACTORS, 1.0)
    cohort = bu.simulate_cohort(n=100, prevalence=0.1, seed=3, odds_ratios=null)
    np.testing.assert_allclose(cohort["true_risk"], 0.1)


def test_law_kernels():
    assert BernoulliLaw(0.3).tilt(0.0) == BernoulliLaw(pytest.approx(0.3))
    assert BernoulliLaw(0.3).tilt(np.log(2)).p == pytest.approx(special.expit(special.logit(0.3) + np.log(2)))
    assert NormalLaw(1.0, 2.0).log_mgf(0.5) == pytest.approx(0.5 + 0.5 * 0.25 * 4)
    law = DiscreteLaw((1, 2), (0.5, 0.5))
    assert law.log_mgf(1.0) == pytest.approx(np.log(0.5 * np.e + 0.5 * np.e**2))


class TestCaseControlSample:
    def test_every_case_and_as_many_distinct_controls(self):
        cohort = bu.simulate_cohort(seed=5)
        sample = bu.case_control_sample(cohort, seed=6)
        n_cases = int(cohort["ubpr"].sum())
        assert int(sample["ubpr"].sum()) == n_cases
        assert (sample["ubpr"] == 0).sum() == n_cases
        assert sample["patient_id"].is_unique
        assert set(cohort.loc[cohort["ubpr"] == 1, "patient_id"]) <= set(sample["patient_id"])
        assert sample.attrs["cohort_prevalence"] == n_cases / len(cohort)
        assert sample.attrs["truth"] == cohort.attrs["truth"]
        pd.testing.assert_frame_equal(sample, cohort.loc[sample.index])

    def test_control_ratio_and_reproducibility(self):
        cohort = bu.simulate_cohort(seed=5)
        sample = bu.case_control_sample(cohort, controls_per_case=4, seed=6)
        assert (sample["ubpr"] == 0).sum() == 4 * cohort["ubpr"].sum()
        pd.testing.assert_frame_equal(sample, bu.case_control_sample(cohort, controls_per_case=4, seed=6))

    def test_controls_are_a_simple_random_sample(self):
        # Every control has the same inclusion probability q: over r draws its inclusion count is
        # Binomial(r, q), and the counts' chi-square homogeneity statistic is ~ chi2(n - 1).
        cohort = bu.simulate_cohort(n=200, prevalence=0.2, seed=8)
        n_cases = int(cohort["ubpr"].sum())
        controls = cohort.index[cohort["ubpr"] == 0]
        counts = pd.Series(0, index=controls)
        replicates = 400
        for seed in range(replicates):
            chosen = bu.case_control_sample(cohort, seed=seed)
            counts[chosen.index[chosen["ubpr"] == 0]] += 1
        q = n_cases / len(controls)
        statistic = ((counts - replicates * q) ** 2).sum() / (replicates * q * (1 - q))
        assert stats.chi2.sf(statistic, df=len(controls) - 1) > 1e-4

    def test_errors(self):
        cohort = bu.simulate_cohort(n=100, prevalence=0.5, seed=1)
        with pytest.raises(CohortValidationError, match=r"needs .* controls, but the cohort has only"):
            bu.case_control_sample(cohort, controls_per_case=5)
        with pytest.raises(CohortValidationError, match="no cases"):
            bu.case_control_sample(cohort.assign(ubpr=0))
        with pytest.raises(CohortValidationError, match='no "ubpr" column'):
            bu.case_control_sample(cohort.drop(columns="ubpr"))
        with pytest.raises(ValueError, match="controls_per_case must be >= 1"):
            bu.case_control_sample(cohort, controls_per_case=0)
        with pytest.raises(TypeError, match="cohort must be a pandas DataFrame"):
            bu.case_control_sample([1, 2])


class TestSites:
    def test_site_column_and_truth(self):
        cohort = bu.simulate_cohort(n=2000, seed=3, n_sites=8, site_sd=0.5)
        assert set(cohort["site"]) == set(range(1, 9))
        truth = cohort.attrs["truth"]
        assert truth["site_sd"] == 0.5 and len(truth["site_intercepts"]) == 8
        # true risk is the logistic model with the patient's site intercept
        beta = pd.Series(truth["log_odds_ratios"])
        eta = np.array(truth["site_intercepts"])[cohort["site"] - 1] + cohort[beta.index].to_numpy(float) @ beta
        np.testing.assert_allclose(cohort["true_risk"], special.expit(eta))

    def test_expected_prevalence_is_kept_over_sites(self):
        n = 200_000
        cohort = bu.simulate_cohort(n=n, seed=4, n_sites=5, site_sd=1.0)
        p = bu.PREVALENCE
        assert abs(cohort["ubpr"].mean() - p) <= Z * np.sqrt(p * (1 - p) / n)

    def test_one_site_changes_nothing(self):
        pd.testing.assert_frame_equal(bu.simulate_cohort(n=300, seed=5), bu.simulate_cohort(n=300, seed=5, site_sd=2.0))

    def test_errors(self):
        with pytest.raises(ValueError, match="site_sd must be a finite number >= 0; got -1"):
            bu.simulate_cohort(n=10, n_sites=2, site_sd=-1)
        with pytest.raises(ValueError, match="n_sites must be >= 1; got 0"):
            bu.simulate_cohort(n=10, n_sites=0)


CORRELATION = {("bmd_tscore_abs", "cement_volume_ml"): -0.4, ("bmd_tscore_abs", "n_fractures"): 0.3}


class TestCopula:
    def test_normal_scores_carry_the_asked_correlation_and_prevalence_is_kept(self):
        n = 200_000
        cohort = bu.simulate_cohort(n=n, seed=12, correlation=CORRELATION)
        # two normal margins: their Pearson correlation is the copula's; SE about (1 - r^2) / sqrt(n)
        r = np.corrcoef(cohort["bmd_tscore_abs"], cohort["cement_volume_ml"])[0, 1]
        assert abs(r + 0.4) < Z * (1 - 0.16) / np.sqrt(n)
        assert np.corrcoef(cohort["bmd_tscore_abs"], cohort["n_fractures"])[0, 1] > 0.2
        p = bu.PREVALENCE
        # the intercept is a Monte Carlo integral over 200,000 draws: allow its error too
        assert abs(cohort["ubpr"].mean() - p) <= Z * (
            np.sqrt(p * (1 - p) / n) + cohort["true_risk"].std() / np.sqrt(200_000)
        )
        assert cohort.attrs["truth"]["correlation"] == {
            "bmd_tscore_abs~cement_volume_ml": -0.4,
            "bmd_tscore_abs~n_fractures": 0.3,
        }

    def test_margins_are_kept(self):
        cohort = bu.simulate_cohort(
            n=200_000, seed=13, correlation=CORRELATION, odds_ratios=dict.fromkeys(bu.SIX_FACTORS, 1.0)
        )
        for name, law in control_laws().items():  # null effects: every patient follows the control law
            _assert_within_mc_error(cohort[name].to_numpy(dtype=float), law, name)

    def test_errors(self):
        with pytest.raises(ValueError, match="positive definite"):
            bu.simulate_cohort(
                n=10,
                correlation={("age", "height_cm"): 0.9, ("age", "weight_kg"): 0.9, ("height_cm", "weight_kg"): -0.9},
            )
        with pytest.raises(ValueError, match=r"must pair two factors with a value in \(-1, 1\)"):
            bu.simulate_cohort(n=10, correlation={("age", "age"): 0.5})
        with pytest.raises(ValueError, match='Unknown risk factor in correlation "bmd"'):
            bu.simulate_cohort(n=10, correlation={("bmd", "age"): 0.5})


LEVEL = LevelEffects(
    "fracture_level",
    ("lumbar", "thoracic", "thoracolumbar"),
    (0.3, 0.25, 0.45),
    odds_ratios={"thoracic": 1.5, "thoracolumbar": 2.5},
)
VOLUME = QuadraticEffect("cement_volume_ml", curvature=1.5, centre=5.5)


@pytest.fixture(scope="module")
def curved_cohort() -> pd.DataFrame:
    return bu.simulate_cohort(n=N_LARGE, prevalence=0.2, seed=23, effects=[LEVEL, VOLUME])


class TestEffects:
    """A categorical factor and a U-shaped curve in the world: exact laws, prevalence and risks."""

    def test_cumulant_functions_and_tilted_laws_in_closed_form(self):
        # against quadrature: log E exp(f(X)) for X ~ N(5.55, 0.46^2), and the tilted density's mean and SD
        law = VOLUME.law
        x = np.linspace(law.mean - 12 * law.sd, law.mean + 12 * law.sd, 200_001)
        weights = stats.norm.pdf(x, law.mean, law.sd) * np.exp(VOLUME.log_odds(x))
        mass = np.trapezoid(weights, x)
        assert VOLUME.log_mgf() == pytest.approx(np.log(mass), rel=1e-9)
        tilted = VOLUME.tilted_law()
        mean = np.trapezoid(x * weights, x) / mass
        assert tilted.mean == pytest.approx(mean, rel=1e-9)
        assert tilted.sd == pytest.approx(np.sqrt(np.trapezoid((x - mean) ** 2 * weights, x) / mass), rel=1e-9)
        # with a slope too (an asymmetric curve)
        skewed = QuadraticEffect("cement_volume_ml", curvature=-0.8, centre=5.0, slope=0.7)
        weights = stats.norm.pdf(x, law.mean, law.sd) * np.exp(skewed.log_odds(x))
        assert skewed.log_mgf() == pytest.approx(np.log(np.trapezoid(weights, x)), rel=1e-9)
        # levels: a finite sum
        assert LEVEL.log_mgf() == pytest.approx(np.log(0.3 + 0.25 * 1.5 + 0.45 * 2.5))
        np.testing.assert_allclose(LEVEL.tilted_pmf(), np.array([0.3, 0.375, 1.125]) / 1.8)

    def test_a_numeric_curve_agrees_with_the_closed_form_of_the_quadratic(self):
        # CurveEffect integrates on a grid what QuadraticEffect has in closed form: the same world
        numeric = CurveEffect("cement_volume_ml", lambda x: 1.5 * (x - 5.5) ** 2, label="quadratic")
        assert numeric.log_mgf() == pytest.approx(VOLUME.log_mgf(), rel=1e-9, abs=1e-12)
        draws = numeric.sample(np.random.default_rng(3), N_LARGE, tilted=True)
        _assert_within_mc_error(draws, VOLUME.tilted_law(), "numeric tilted law")
        a = true_model(prevalence=0.2, effects=[numeric])
        b = true_model(prevalence=0.2, effects=[VOLUME])
        assert a.intercept == pytest.approx(b.intercept, rel=1e-9)
        cohort = bu.simulate_cohort(n=N_LARGE, prevalence=0.2, seed=29, effects=[numeric])
        risk = cohort["true_risk"]
        assert abs(risk.mean() - 0.2) <= Z * risk.std() / np.sqrt(N_LARGE)
        assert numeric.contrasts == ((5.55 - 0.46, 5.55), (5.55 + 0.46, 5.55))  # the control law's mean -/+ 1 SD
        assert cohort.attrs["truth"]["effects"][0]["label"] == "quadratic"

    def test_controls_follow_the_stated_laws_and_cases_the_tilted_ones(self, curved_cohort):
        controls = curved_cohort[curved_cohort["ubpr"] == 0]
        cases = curved_cohort[curved_cohort["ubpr"] == 1]
        _assert_within_mc_error(controls["cement_volume_ml"].to_numpy(), VOLUME.law, "controls volume")
        _assert_within_mc_error(cases["cement_volume_ml"].to_numpy(), VOLUME.tilted_law(), "cases volume")
        for group, pmf in ((controls, np.asarray(LEVEL.pmf)), (cases, LEVEL.tilted_pmf())):
            share = group["fracture_level"].value_counts(normalize=True).reindex(LEVEL.levels).to_numpy()
            assert np.all(np.abs(share - pmf) <= Z * np.sqrt(pmf * (1 - pmf) / len(group))), (share, pmf)
        # the other factors keep Table 4's laws among controls
        _assert_within_mc_error(controls["bmd_tscore_abs"].to_numpy(), control_laws()["bmd_tscore_abs"], "bmd")

    def test_prevalence_is_kept_and_the_true_risk_is_the_model(self, curved_cohort):
        risk = curved_cohort["true_risk"]
        assert abs(risk.mean() - 0.2) <= Z * risk.std() / np.sqrt(N_LARGE)
        model = true_model(prevalence=0.2, effects=[LEVEL, VOLUME])
        head = curved_cohort.head(50)
        eta = (
            model.intercept
            + head[list(model.log_odds_ratios.index)].to_numpy(float) @ model.log_odds_ratios.to_numpy()
            + head["fracture_level"].map({"lumbar": 0.0, "thoracic": np.log(1.5), "thoracolumbar": np.log(2.5)})
            + 1.5 * (head["cement_volume_ml"] - 5.5) ** 2
        )
        np.testing.assert_allclose(head["true_risk"], special.expit(eta), rtol=1e-12)

    def test_columns_truth_and_contrasts(self, curved_cohort):
        assert list(curved_cohort.columns) == ["patient_id", *bu.RISK_FACTORS, "fracture_level", "ubpr", "true_risk"]
        truth = curved_cohort.attrs["truth"]
        assert "cement_volume_ml" not in truth["log_odds_ratios"]  # the curve replaces its log OR per unit
        assert [e["type"] for e in truth["effects"]] == ["levels", "quadratic"]
        assert truth["effects"][0]["log_odds_ratios"]["thoracolumbar"] == pytest.approx(np.log(2.5))
        model = true_model(effects=[LEVEL, VOLUME])
        assert model.log_odds_ratio("fracture_level", "thoracolumbar", "thoracic") == pytest.approx(np.log(2.5 / 1.5))
        assert model.log_odds_ratio("cement_volume_ml", 4.5, 5.5) == pytest.approx(1.5)
        assert model.log_odds_ratio("fascia_injury", 1, 0) == pytest.approx(1.336)
        assert VOLUME.contrasts == ((5.5 - 0.46, 5.5), (5.5 + 0.46, 5.5))
        assert QuadraticEffect("age", 0.01, 70.0, contrasts=[(60, 70)]).contrasts == ((60.0, 70.0),)
        # without effects the cohort draws exactly what it drew before they existed
        plain = bu.simulate_cohort(n=300, seed=5)
        pd.testing.assert_frame_equal(plain, bu.simulate_cohort(n=300, seed=5, effects=()))

    @pytest.mark.parametrize(
        ("make", "error", "message"),
        [
            (lambda: LevelEffects("level", ("a",), (1.0,)), ValueError, "needs two or more distinct levels"),
            (lambda: LevelEffects("level", "ab", (0.5, 0.5)), TypeError, 'levels of "level" must be a sequence'),
            (lambda: LevelEffects("level", ("a", "b"), (0.5, 0.6)), ValueError, "summing to 1; got"),
            (
                lambda: LevelEffects("level", ("a", "b"), (0.5, 0.5), odds_ratios={"c": 2.0}),
                ValueError,
                r"name level 'c', not one of \('a', 'b'\)",
            ),
            (
                lambda: LevelEffects("level", ("a", "b"), (0.5, 0.5), odds_ratios={"a": 2.0}),
                ValueError,
                "'a' is the reference level of \"level\", whose odds ratio is 1",
            ),
            (
                lambda: LevelEffects("level", ("a", "b"), (0.5, 0.5), odds_ratios={"b": 0.0}),
                ValueError,
                'odds_ratios\\["b"\\] of "level" must be a positive finite number; got 0.0',
            ),
            (
                lambda: QuadraticEffect("cement_volume_ml", curvature=2.5, centre=5.5),
                ValueError,
                r"curvature of \"cement_volume_ml\" must be below 1 / \(2 sd\^2\) = 2.363",
            ),
            (
                lambda: QuadraticEffect("crp", curvature=0.1, centre=5.0),
                ValueError,
                '"crp" has no normal law in the paper\'s catalogue.*pass law=NormalLaw',
            ),
            (
                lambda: QuadraticEffect("depression", curvature=0.1, centre=0.5),
                ValueError,
                '"depression" has no normal law',
            ),
            (
                lambda: QuadraticEffect("age", curvature=float("nan"), centre=70.0),
                ValueError,
                'curvature of "age" must be a finite number; got nan',
            ),
            (
                lambda: QuadraticEffect("age", curvature=0.01, centre=70.0, contrasts=[(60,)]),
                ValueError,
                'contrasts of "age" must be pairs of finite numbers',
            ),
            (
                lambda: true_model(effects=[LEVEL, LEVEL]),
                ValueError,
                "effects take each variable once; fracture_level is taken twice",
            ),
            (
                lambda: true_model(effects=[VOLUME], odds_ratios={"cement_volume_ml": 0.5}),
                ValueError,
                'an effect takes over "cement_volume_ml"',
            ),
            (
                lambda: true_model(effects=["level"]),
                TypeError,
                "effects must be LevelEffects, QuadraticEffect or CurveEffect",
            ),
            (
                lambda: true_model(effects=[QuadraticEffect("ubpr", 0.1, 0.0, law=NormalLaw(0.0, 1.0))]),
                ValueError,
                'an effect cannot take the column "ubpr"',
            ),
            (
                lambda: bu.simulate_cohort(n=10, effects=[LEVEL], correlation={("age", "height_cm"): 0.2}),
                ValueError,
                "correlation .* cannot be combined with effects",
            ),
            (
                lambda: true_model(effects=[LEVEL]).contribution("fracture_levels", ["lumbar"]),
                ValueError,
                'Did you mean "fracture_level"',
            ),
            (
                lambda: CurveEffect("age", lambda x: 0.2 * x**2, label="steep"),
                ValueError,
                'the curve of "age" rises so steeply that the law among cases has mass beyond 16 control SDs',
            ),
            (lambda: CurveEffect("age", 2.0, label="two"), TypeError, 'curve of "age" must be a function'),
            (
                lambda: CurveEffect("age", lambda x: np.zeros(3), label="bad"),
                ValueError,
                'curve of "age" must return one finite number per value',
            ),
            (
                lambda: LEVEL.log_odds(["lumbar", "sacral"]),
                ValueError,
                r"\"fracture_level\" has no level\(s\) \['sacral'\]",
            ),
        ],
    )
    def test_errors(self, make, error, message):
        with pytest.raises(error, match=message):
            make()
