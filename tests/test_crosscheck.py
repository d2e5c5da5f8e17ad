"""Cross-table audit (bayes_ubpr.audit.across, formerly bayes_ubpr.crosscheck): the case group Table 5
implies, and how plausible Table 5's SEs are.

Deterministic results (closed forms, reference software, exact inequalities)
are checked to floating-point or solver precision; simulated ones within
four Monte Carlo standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

from bayes_ubpr import paper, simulate_cohort
from bayes_ubpr.audit import AUDIT_COLUMNS
from bayes_ubpr.audit import _fits as fits
from bayes_ubpr.audit import _plausibility as placement
from bayes_ubpr.audit import across as crosscheck
from bayes_ubpr.cli import main
from bayes_ubpr.exceptions import ConvergenceError, StatisticalWarning
from bayes_ubpr.simulate import control_laws

N_QUICK = 200


@pytest.fixture(scope="module")
def implied() -> pd.DataFrame:
    return crosscheck.implied_case_group(n_replicates=1000, seed=0).set_index("factor")


@pytest.fixture(scope="module")
def plausibility() -> pd.DataFrame:
    return crosscheck.standard_error_plausibility(n_replicates=1000, seed=0)


def _replicates(n: int, seed: int, case_group: str = "printed") -> np.ndarray:
    controls, cases = placement._sample_laws(case_group)
    generators, _ = fits.replicate_generators(seed, n)
    return fits._draw_samples(controls, cases, generators)


def _z_mcse(z: float, n: int) -> float:
    """Monte Carlo SE of z_simulated: its simulated SD has relative error 1/sqrt(2(n-1)), its bias SE/sqrt(n)."""
    return math.sqrt(z**2 / (2 * (n - 1)) + 1 / n)


# --------------------------------------------------------------------------------------------------
# The implied case group
# --------------------------------------------------------------------------------------------------


class TestImpliedCaseGroup:
    def test_tilting_matches_closed_forms(self, implied):
        t4 = paper.table4().set_index("factor")
        t5 = paper.table5().set_index("factor")
        for factor in ("bmd_tscore_abs", "cement_volume_ml"):  # normal: mean + B sd^2
            expected = (
                t4.loc[factor, "satisfactory_mean"] + t5.loc[factor, "B"] * t4.loc[factor, "satisfactory_sd"] ** 2
            )
            assert implied.loc[factor, "case_implied"] == pytest.approx(expected, rel=1e-12)
        for factor in ("fascia_injury", "cement_distribution_poor", "depression"):  # Bernoulli: odds x OR
            p0 = int(t4.loc[factor, "satisfactory_n1"]) / 60
            p1 = implied.loc[factor, "case_implied"]
            assert p1 / (1 - p1) == pytest.approx(p0 / (1 - p0) * math.exp(t5.loc[factor, "B"]), rel=1e-12)
            assert implied.loc[factor, "statistic"] == "proportion"

    def test_printed_columns_and_standard_errors(self, implied):
        row = implied.loc["fascia_injury"]
        assert row.control_printed == pytest.approx(17 / 60) and row.case_printed == pytest.approx(43 / 60)
        assert row.standard_error == pytest.approx(math.sqrt(43 / 60 * 17 / 60 / 60))
        assert implied.loc["bmd_tscore_abs", "standard_error"] == pytest.approx(0.33 / math.sqrt(60))
        assert (implied["difference"] == implied["case_printed"] - implied["case_implied"]).all()
        assert implied.attrs["threshold"] == pytest.approx(1.959964, abs=1e-6)
        assert "independent" in implied.attrs["assumption"]
        assert implied.attrs["seed"] == 0 and implied.attrs["n_used"] + implied.attrs["n_excluded"] == 1000

    def test_count_law_is_the_one_control_laws_builds(self):
        rebuilt = fits.group_law("count", 1.37, 0.60)
        np.testing.assert_allclose(rebuilt.pmf, control_laws()["n_fractures"].pmf, rtol=1e-12)

    def test_brute_force_cohort_cases_have_the_implied_means(self, implied):
        # simulate_cohort draws cases from the tilted laws whatever the prevalence; 0.5 gives ~100,000 cases.
        cohort = simulate_cohort(200_000, 0.5, seed=7)
        cases = cohort[cohort["ubpr"] == 1]
        for factor in paper.SIX_FACTORS:
            mcse = cases[factor].std() / math.sqrt(len(cases))
            assert abs(cases[factor].mean() - implied.loc[factor, "case_implied"]) < 4 * mcse, factor

    def test_verdicts_on_the_paper_are_beyond_monte_carlo_error(self, implied):
        flagged = set(implied.index[~implied["consistent"]])
        assert flagged == {"bmd_tscore_abs", "cement_volume_ml"}
        for factor, row in implied.iterrows():
            margin = abs(abs(row.z_simulated) - implied.attrs["threshold"])
            assert margin > 4 * _z_mcse(row.z_simulated, implied.attrs["n_used"]), factor
        # The case-group-only SE is the smaller one here: the difference varies more than the case mean.
        assert (implied["standard_error_simulated"] > implied["standard_error"]).all()

    def test_a_fabricated_self_consistent_case_group_passes(self):
        t4 = paper.table4().set_index("factor")
        laws = control_laws()
        odds_ratios = {}
        for factor in ("bmd_tscore_abs", "cement_volume_ml"):
            m0, s0, m1 = t4.loc[factor, ["satisfactory_mean", "satisfactory_sd", "unsatisfactory_mean"]]
            odds_ratios[factor] = math.exp((m1 - m0) / s0**2)
        for factor in ("fascia_injury", "cement_distribution_poor", "depression"):
            p0, p1 = int(t4.loc[factor, "satisfactory_n1"]) / 60, int(t4.loc[factor, "unsatisfactory_n1"]) / 60
            odds_ratios[factor] = (p1 / (1 - p1)) / (p0 / (1 - p0))
        beta = optimize.brentq(lambda b: laws["n_fractures"].tilt(b).moments()[0] - 2.17, 0.0, 5.0, xtol=1e-14)
        odds_ratios["n_fractures"] = math.exp(beta)
        fabricated = crosscheck.implied_case_group(odds_ratios=odds_ratios, n_replicates=N_QUICK, seed=3)
        np.testing.assert_allclose(fabricated["difference"], 0.0, atol=1e-9)
        assert fabricated["consistent"].all()
        assert "replaced by the caller's odds ratios" in fabricated.attrs["odds_ratio_source"]

    def test_odds_ratios_of_one_make_the_cases_look_like_controls(self):
        ones = crosscheck.implied_case_group(odds_ratios=dict.fromkeys(paper.SIX_FACTORS, 1.0), n_replicates=N_QUICK)
        np.testing.assert_allclose(ones["case_implied"], ones["control_printed"], atol=1e-8)
        assert not ones.set_index("factor").loc["fascia_injury", "consistent"]

    @pytest.mark.parametrize(
        ("odds_ratios", "error", "match"),
        [
            ([2.0], TypeError, "odds_ratios must be a mapping"),
            ({"bmd": 2.0}, ValueError, 'Unknown Table 5 factor in odds_ratios "bmd". Allowed: bmd_tscore_abs, '),
            ({"depresion": 2.0}, ValueError, 'Did you mean "depression"'),
            ({"age": 2.0}, ValueError, 'Unknown Table 5 factor in odds_ratios "age"'),
            ({"depression": 0.0}, ValueError, r'odds_ratios\["depression"\] must be a positive finite number; got 0.0'),
            ({"depression": float("nan")}, ValueError, "must be a positive finite number"),
            ({"depression": True}, ValueError, "must be a positive finite number; got True"),
            ({"depression": "3"}, ValueError, "must be a positive finite number; got '3'"),
        ],
    )
    def test_bad_odds_ratios(self, odds_ratios, error, match):
        with pytest.raises(error, match=match):
            crosscheck.implied_case_group(odds_ratios=odds_ratios)


# --------------------------------------------------------------------------------------------------
# The simulated 60:60 fits
# --------------------------------------------------------------------------------------------------


class TestFits:
    def test_newton_matches_statsmodels(self):
        import statsmodels.api as sm

        x = _replicates(5, seed=11)
        y = fits._outcome()
        coef, se, converged = fits.fit_logistic(x, y)
        assert converged.all()
        for k in range(len(x)):
            reference = sm.Logit(y, sm.add_constant(x[k])).fit(method="newton", tol=1e-12, maxiter=100, disp=0)
            # Both solve the same score equations; the stopping rules leave differences near 1e-8 at most.
            np.testing.assert_allclose(coef[k], reference.params, rtol=1e-6, atol=1e-8)
            np.testing.assert_allclose(se[k], reference.bse, rtol=1e-6)

    def test_non_convergence_is_separation(self):
        from scipy.optimize import linprog

        x = _replicates(470, seed=0)
        y = fits._outcome()
        _, se, converged = fits.fit_logistic(x, y)
        assert (~converged).sum() >= 1
        signs = 2 * y - 1

        def separable(design: np.ndarray) -> bool:
            # Albert & Anderson: separation iff some b gives signs * (X b) >= 0 everywhere, not all 0.
            signed = signs[:, None] * np.column_stack([np.ones(len(design)), design])
            result = linprog(-signed.sum(axis=0), A_ub=-signed, b_ub=np.zeros(len(design)), bounds=(-1, 1))
            return -result.fun > 1e-7

        for k in np.flatnonzero(~converged):
            assert separable(x[k]), k
        for k in np.flatnonzero(converged)[:40]:
            assert not separable(x[k]), k
        assert np.isnan(se[~converged]).all()

    def test_standard_errors_respect_the_floor(self):
        x = _replicates(N_QUICK, seed=5)
        _, se, converged = fits.fit_logistic(x, fits._outcome())
        total_ss = ((x - x.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        floor = 2 / np.sqrt(total_ss[converged])
        assert (se[converged, 1:] >= floor * (1 - 1e-12)).all()

    def test_floor_from_group_summaries_is_the_floor_of_the_pooled_sample(self):
        x = _replicates(1, seed=9)[0]
        n0 = paper.N_CONTROLS_SAMPLED
        controls, cases = x[:n0], x[n0:]
        groups = pd.DataFrame(
            {
                "n_controls": n0,
                "n_cases": len(cases),
                "control_mean": controls.mean(axis=0),
                "case_mean": cases.mean(axis=0),
                "within_ss_controls": ((controls - controls.mean(axis=0)) ** 2).sum(axis=0),
                "within_ss_cases": ((cases - cases.mean(axis=0)) ** 2).sum(axis=0),
            }
        )
        expected = 2 / np.sqrt(((x - x.mean(axis=0)) ** 2).sum(axis=0))
        np.testing.assert_allclose(placement._standard_error_floor(groups), expected, rtol=1e-12)

    def test_replicate_k_does_not_depend_on_the_number_of_replicates(self):
        np.testing.assert_array_equal(_replicates(40, seed=1), _replicates(80, seed=1)[:40])

    @pytest.mark.parametrize("seed", [0, 4, 2**40])
    def test_replicate_generators_are_the_spawned_generators_of_before(self, seed):
        # _rng.spawn_seeds replaced Generator.spawn: for an int seed, replicate k draws the same numbers
        generators, recorded = fits.replicate_generators(seed, 50)
        before = np.random.default_rng(seed).spawn(50)
        assert recorded == seed
        for new, old in zip(generators, before, strict=True):
            np.testing.assert_array_equal(new.random(5), old.random(5))

    def test_seed_is_recorded_and_reproduces_the_run(self):
        by_int = crosscheck.standard_error_plausibility(n_replicates=40, seed=4)
        assert by_int.attrs["seed"] == 4
        # seed=None draws fresh entropy, so this run is not fixed: 400 replicates keep it far from the limits
        # (about 0.3% of fits separate: >= 10 exclusions, the 2.5% warning level, has probability ~1e-6).
        fresh = crosscheck.standard_error_plausibility(n_replicates=400, seed=None)
        again = crosscheck.standard_error_plausibility(n_replicates=400, seed=fresh.attrs["seed"])
        pd.testing.assert_frame_equal(fresh, again)
        by_generator = crosscheck.standard_error_plausibility(n_replicates=40, seed=np.random.default_rng(4))
        assert by_generator.attrs["seed"] is None


# --------------------------------------------------------------------------------------------------
# Plausibility of Table 5's SEs and B
# --------------------------------------------------------------------------------------------------


class TestStandardErrorPlausibility:
    def test_contract(self, plausibility):
        assert list(plausibility["statistic"]) == ["SE"] * 6 + ["B"] * 6
        assert list(plausibility["factor"]) == list(paper.SIX_FACTORS) * 2
        assert (plausibility["simulated_lower"] <= plausibility["simulated_median"]).all()
        assert (plausibility["simulated_median"] <= plausibility["simulated_upper"]).all()
        attrs = plausibility.attrs
        assert attrs["n_used"] + attrs["n_excluded"] == attrs["n_replicates"] == 1000
        assert attrs["n_excluded"] == attrs["n_separated"] + attrs["n_large_se"] == len(attrs["excluded_replicates"])
        assert attrs["case_group"] == "printed" and attrs["seed"] == 0

    def test_every_printed_se_is_smaller_than_the_simulated_ones(self, plausibility):
        se = plausibility[plausibility["statistic"] == "SE"]
        n = plausibility.attrs["n_used"]
        # At percentile 0 the rule of three bounds the true percentile by 3/n (95%).
        assert (se["percentile"] + 3 / n < 0.025).all()
        assert not se["plausible"].any()
        assert se["reason"].str.startswith("smaller than all").all()
        # The printed SEs sit just above the floor that only zero effects could reach.
        assert (se["printed"] >= se["se_floor"]).all()
        assert (se["printed"] < 1.6 * se["se_floor"]).all()

    def test_printed_b_are_plausible(self, plausibility):
        b = plausibility[plausibility["statistic"] == "B"]
        robust = (b["percentile"] - 0.025).abs() > 4 * b["percentile_mcse"]
        assert robust.sum() >= 5
        assert b.loc[robust, "plausible"].all()

    def test_printed_ses_are_too_small_even_in_table5s_world(self):
        implied = crosscheck.standard_error_plausibility(n_replicates=1000, seed=0, case_group="implied")
        se = implied[implied["statistic"] == "SE"].set_index("factor")
        clear = se.drop(index="n_fractures")  # n_fractures sits near the 2.5% cut-off
        assert (clear["percentile"] + 4 * np.maximum(clear["percentile_mcse"], 1 / 1000) < 0.025).all()
        assert implied.attrs["case_group"] == "implied"

    def test_placement_flags_an_inflated_se_and_passes_the_median(self, plausibility):
        x = _replicates(N_QUICK, seed=2)
        coef, se, converged = fits.fit_logistic(x, fits._outcome())
        coef, se = coef[converged], se[converged]
        floor = np.zeros(6)
        index = list(paper.SIX_FACTORS)
        median = pd.DataFrame({"B": np.median(coef[:, 1:], axis=0), "SE": np.median(se[:, 1:], axis=0)}, index=index)
        rows = pd.DataFrame(placement._placement_rows(median, coef, se, floor, prob=0.95))
        n = len(coef)
        # The median sits at percentile 1/2 up to one replicate either side.
        assert (rows["percentile"] - 0.5).abs().max() <= 1 / n and rows["plausible"].all()
        inflated = median.assign(SE=3 * np.quantile(se[:, 1:], 0.975, axis=0))
        rows = pd.DataFrame(placement._placement_rows(inflated, coef, se, floor, prob=0.95))
        flagged = rows[rows["statistic"] == "SE"]
        assert (flagged["percentile"] > 0.975).all() and not flagged["plausible"].any()
        assert flagged["reason"].str.startswith("larger than").all()

    def test_plausible_flag_is_calibrated(self, plausibility):
        # Fits of samples from the same world as the reference must be plausible 95% of the time.
        reference = _replicates(1000, seed=21)
        coef, se, converged = fits.fit_logistic(reference, fits._outcome())
        coef, se = coef[converged], se[converged]
        studies = _replicates(200, seed=22)
        study_coef, study_se, study_converged = fits.fit_logistic(studies, fits._outcome())
        flags = []
        for k in np.flatnonzero(study_converged):
            printed = pd.DataFrame({"B": study_coef[k, 1:], "SE": study_se[k, 1:]}, index=list(paper.SIX_FACTORS))
            flags.extend(r["plausible"] for r in placement._placement_rows(printed, coef, se, np.zeros(6), prob=0.95))
        share, n = np.mean(flags), len(flags)
        # Rows of one study are correlated; 4 binomial SEs of 200 studies (not of 2,400 rows) is the honest band.
        assert abs(share - 0.95) < 4 * math.sqrt(0.95 * 0.05 / (n / 12))

    def test_exclusions_are_counted_and_warned_about(self):
        with pytest.warns(StatisticalWarning, match=r"simulated fits were excluded \(separation or huge SE\)"):
            result = crosscheck.standard_error_plausibility(n_replicates=200, seed=0, max_se=1.2)
        assert result.attrs["n_large_se"] > 0.025 * 200
        assert result.attrs["n_used"] == 200 - result.attrs["n_excluded"]

    def test_too_few_usable_fits_raise(self):
        with pytest.raises(ConvergenceError, match=r"only \d+ of 200 simulated fits converged with finite SEs"):
            crosscheck.standard_error_plausibility(n_replicates=200, seed=0, max_se=0.3)
        with pytest.raises(ConvergenceError, match="only 39 of 50"):
            fits._replicate_count_check(39, 50, 0.95)

    @pytest.mark.parametrize(
        ("options", "error", "match"),
        [
            ({"n_replicates": 39}, ValueError, "n_replicates must be >= 40; got 39"),
            ({"n_replicates": 100.0}, TypeError, "n_replicates must be an integer; got float"),
            ({"prob": 1.5}, ValueError, "prob must be strictly between 0 and 1; got 1.5"),
            ({"prob": "high"}, TypeError, "prob must be a number"),
            ({"max_se": 0}, ValueError, "max_se must be a positive number; got 0"),
            ({"max_se": "10"}, ValueError, "max_se must be a positive number; got '10'"),
            ({"case_group": "tilted"}, ValueError, "case_group must be one of 'printed', 'implied'; got 'tilted'"),
            ({"seed": "abc"}, TypeError, "seed must be None, an int or a numpy.random.Generator; got str"),
        ],
    )
    def test_bad_options(self, options, error, match):
        with pytest.raises(error, match=match):
            crosscheck.standard_error_plausibility(**options)

    def test_implied_case_group_checks_the_same_options(self):
        with pytest.raises(ValueError, match="n_replicates must be >= 40"):
            crosscheck.implied_case_group(n_replicates=10)
        with pytest.raises(ValueError, match="max_se must be a positive number"):
            crosscheck.implied_case_group(max_se=-1.0)


# --------------------------------------------------------------------------------------------------
# Audit-shaped rows and the command line
# --------------------------------------------------------------------------------------------------


class TestAuditRows:
    def test_rows_have_the_audit_columns(self):
        rows = crosscheck.audit_across_tables(n_replicates=N_QUICK, seed=0)
        assert list(rows.columns) == AUDIT_COLUMNS and len(rows) == 19  # 6 + 1 implied (by correlation), 12 SE/B
        assert set(rows["table"]) == {"Table 4 vs Table 5"}
        assert set(rows.attrs) == {"implied_case_group_by_correlation", "standard_error_plausibility"}
        se_rows = rows[rows["quantity"].str.startswith("SE within")]
        assert len(se_rows) == 6 and (se_rows["severity"] == "implausible").all()
        assert se_rows["quantity"].str.endswith("simulated from Table 4").all()
        # none of N_QUICK simulated SEs is as small: the rule of three bounds the tail share at 3/n
        assert (se_rows["probability"] <= 3 / (N_QUICK - 20)).all()
        assert se_rows["reason"].str.contains("Monte Carlo SE").all()

    def test_rows_carry_printed_and_recomputed_values(self, implied):
        rows = crosscheck.audit_rows(implied.reset_index()).set_index("factor")
        assert rows.loc["bmd_tscore_abs", "printed"] == 3.29
        assert rows.loc["bmd_tscore_abs", "recomputed"] == implied.loc["bmd_tscore_abs", "case_implied"]
        assert rows.loc["bmd_tscore_abs", "quantity"] == "case mean implied by the ORs (tilted control law)"
        assert rows.loc["bmd_tscore_abs", "severity"] == "implausible"
        assert rows.loc["fascia_injury", "severity"] == "ok"
        z = implied.loc["bmd_tscore_abs", "z_simulated"]
        assert rows.loc["bmd_tscore_abs", "probability"] == pytest.approx(2 * stats.norm.sf(abs(z)))

    def test_implied_world_rows_say_so(self):
        result = crosscheck.standard_error_plausibility(n_replicates=40, seed=1, case_group="implied")
        assert crosscheck.audit_rows(result)["quantity"].str.endswith("simulated from Table 5's world").all()

    def test_bad_input(self):
        with pytest.raises(TypeError, match="result must be a pandas DataFrame; got list"):
            crosscheck.audit_rows([1, 2])
        with pytest.raises(ValueError, match="must come from implied_case_group, implied_case_group_by_correlation"):
            crosscheck.audit_rows(pd.DataFrame({"factor": ["age"]}))


def test_old_import_path_reexports_the_same_functions():
    from bayes_ubpr import crosscheck as old

    for name in old.__all__:
        assert getattr(old, name) is getattr(crosscheck, name)


def test_cli_audit_runs_the_cross_table_checks(tmp_path, capsys):
    out = tmp_path / "audit.csv"
    assert main(["audit", "--across-tables", "--replicates", "100", "--seed", "1", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "Table 4 vs Table 5" in captured.out and "implied" in captured.out
    saved = pd.read_csv(out)
    assert (saved["table"] == "Table 4 vs Table 5").sum() == 19


def test_cli_audit_bad_replicates(capsys):
    assert main(["audit", "--across-tables", "--replicates", "5"]) == 2
    assert "--replicates must be at least 40; got 5" in capsys.readouterr().err
