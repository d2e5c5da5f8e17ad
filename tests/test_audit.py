"""The published-statistics audit: granularity kernels against published examples and brute force,
each group of checks against reference software and corrupted copies, and no alarms on honest papers.

Deterministic checks are compared exactly (exhaustive enumeration, scipy); simulated ones within
four Monte Carlo standard errors.
"""

from __future__ import annotations

import itertools
import math
import warnings
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayes_ubpr import paper
from bayes_ubpr.audit import (
    AUDIT_COLUMNS,
    SEVERITIES,
    across,
    audit,
    granularity,
    grim,
    grim_sums,
    grimmer,
    implied_case_group,
    implied_case_group_by_correlation,
    simulate_paper,
    summary,
    text,
    within,
)
from bayes_ubpr.audit import _copula as copula
from bayes_ubpr.audit import _time_course as time_course
from bayes_ubpr.exceptions import StatisticalWarning
from bayes_ubpr.simulate import BernoulliLaw, NormalLaw

# --------------------------------------------------------------------------------------------------
# GRIM and GRIMMER
# --------------------------------------------------------------------------------------------------


def _printed(value: Fraction | float, decimals: int) -> set[str]:
    """The value printed with ``decimals`` places, by either rounding convention."""
    exact = Decimal(value.numerator) / Decimal(value.denominator) if isinstance(value, Fraction) else Decimal(value)
    step = Decimal(1).scaleb(-decimals)
    return {str(exact.quantize(step, rounding=mode)) for mode in (ROUND_HALF_UP, ROUND_HALF_EVEN)}


def _enumerate(n: int, high: int) -> tuple[set[str], set[tuple[str, str]]]:
    """Every (printed mean) and (printed mean, printed SD) that n whole numbers in 0..high can give."""
    means, pairs = set(), set()
    for values in itertools.combinations_with_replacement(range(high + 1), n):
        mean = Fraction(sum(values), n)
        means |= _printed(mean, 2)
        if n > 1:
            sd = math.sqrt((sum(v * v for v in values) - Fraction(sum(values)) ** 2 / n) / (n - 1))
            pairs |= {(m, s) for m in _printed(mean, 2) for s in _printed(sd, 2)}
    return means, pairs


class TestGranularity:
    @pytest.mark.parametrize(
        ("mean", "n"),
        [
            ("3.48", 20),  # 20 rolls of a die (Brown & Heathers' GRIM, as retold in its Wikipedia article)
            ("5.93", 49),  # 49 ratings on a 1-7 scale (Brown & Heathers, quoted by The Economist, 18 June 2016)
            ("5.27", 43),  # scrutiny's GRIM vignette: grim(x = "5.27", n = 43) is FALSE
        ],
    )
    def test_published_grim_inconsistencies(self, mean, n):
        assert not grim(mean, n)

    def test_published_grimmer_inconsistency(self):
        # scrutiny's GRIMMER vignette: grimmer(x = "7.3", sd = "2.51", n = 12) is FALSE, while the mean passes GRIM
        assert grim("7.3", 12)
        assert not grimmer("7.3", "2.51", 12)

    @pytest.mark.parametrize("n", range(1, 8))
    def test_grim_is_exact_against_enumeration(self, n):
        means, _ = _enumerate(n, 5)
        for k in range(501):
            printed = f"{k / 100:.2f}"
            assert grim(printed, n, bounds=(0, 5)) == (printed in means), (printed, n)

    @pytest.mark.parametrize("n", range(2, 7))
    def test_grimmer_never_rejects_what_data_reach(self, n):
        _, pairs = _enumerate(n, 5)
        for mean, sd in pairs:
            assert grimmer(mean, sd, n, bounds=(0, 5)), (mean, sd, n)

    def test_grimmer_rejects_most_of_what_data_cannot_reach(self):
        n = 6
        means, pairs = _enumerate(n, 5)
        unreachable = [(m, f"{s / 100:.2f}") for m in sorted(means) for s in range(0, 300)]
        unreachable = [pair for pair in unreachable if pair not in pairs]
        rejected = sum(not grimmer(m, s, n, bounds=(0, 5)) for m, s in unreachable)
        # sound, not exact: a few sums of squares inside the bounds are not sums of six squares
        assert rejected / len(unreachable) > 0.95

    def test_the_known_loose_case_is_documented(self):
        # two values with sum 2 have sums of squares 2, 4, 10, ... (never 6), yet parity and bounds allow 6
        assert grimmer("1.00", "1.41", 2)
        assert all(
            sum(v * v for v in pair) != 6 for pair in itertools.product(range(-5, 6), repeat=2) if sum(pair) == 2
        )

    def test_sums_units_and_bounds(self):
        assert grim_sums("69.38", 60) == [4163]
        assert grim_sums("69.19", 60) == []
        assert grim_sums("1.37", 60) == [82]
        assert grim_sums("1.30", 60, bounds=(1, 6)) == [78]  # 77 / 60 = 1.283, 78 / 60 = 1.300
        assert grim_sums("1.3", 60) == [75, 76, 77, 78, 79, 80, 81]  # one decimal: 1.25 to 1.35
        assert grim_sums(1.3, 60, decimals=1) == grim_sums("1.3", 60)
        assert grim("3.04", 60, unit="0.1") and not grim("3.04", 60)
        assert grim_sums("0.50", 4, bounds=(1, None)) == []  # values of at least 1 cannot average 0.5
        # the paper's count of fractures: the only total is 82, whose sums of squares are even, but SD 0.60 needs 133
        assert not grimmer("1.37", "0.60", 60, bounds=(1, None))
        assert grimmer("1.37", "0.61", 60, bounds=(1, None))

    @pytest.mark.parametrize(
        ("call", "error", "match"),
        [
            (lambda: grim(1.3, 60), TypeError, "pass the value as the printed string"),
            (lambda: grim("abc", 60), ValueError, "mean must be a number as printed; got 'abc'"),
            (lambda: grim("nan", 60), ValueError, "mean must be a finite number"),
            (lambda: grim(True, 60), TypeError, "mean must be a number or the string printed"),
            (lambda: grim("1.3", 0), ValueError, "n must be >= 1"),
            (lambda: grim("1.3", 6.0), TypeError, "n must be an integer"),
            (lambda: grim("1.3", 6, unit=0), ValueError, "unit must be a positive number"),
            (lambda: grim("1.3", 6, bounds=(0.5, 10)), ValueError, "the low bound 0.5 is not a multiple of the unit 1"),
            (lambda: grim("1.3", 6, bounds=(5, 1)), ValueError, "bounds must satisfy low <= high"),
            (lambda: grim("1.3", 6, bounds=[0, 1]), TypeError, "bounds must be a pair"),
            (lambda: grimmer("1.3", "0.5", 1), ValueError, "n must be >= 2"),
            (lambda: grimmer("1.3", "-0.5", 6), ValueError, "sd must be >= 0"),
            (lambda: grimmer("1.3", 0.5, 6), TypeError, "give sd_decimals"),
            (lambda: grim("1.3", 6, decimals=-1), ValueError, "mean_decimals must be >= 0"),
        ],
    )
    def test_bad_input(self, call, error, match):
        with pytest.raises(error, match=match):
            call()


# A request whose size is set by the caller: answered in constant time, or refused before any work.

#: Run in a child process limited to 2 GB of address space and 60 s, with the granularity module
#: loaded on its own (not the package, whose import brings PyMC): code without the guards fails
#: these checks by running out of memory or time, instead of taking the machine down.
_BOUNDED_CHECKS = """
import resource, sys, types
resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
for name, folder in (("bayes_ubpr", ""), ("bayes_ubpr.audit", "/audit")):
    sys.modules[name] = package = types.ModuleType(name)
    package.__path__ = [sys.argv[1] + folder]
import pytest
from bayes_ubpr.audit.granularity import grim, grim_sums, grimmer

assert grim("3.5", 10**12)  # 10**11 totals fit: none is listed
with pytest.raises(ValueError, match=r"grim_sums: 100,000,000,001 whole-number totals .*more than MAX_TOTALS"):
    grim_sums("3.5", 10**12)
with pytest.raises(ValueError, match=r"mean_decimals must be at most 15 \\(MAX_DIGITS\\); got 1000000000"):
    grim("3.5", 10, decimals=10**9)
for call, name in [
    (lambda: grim("1e-999999999", 10), "mean"),
    (lambda: grim("1e999999999", 10), "mean"),
    (lambda: grimmer("3.5", "1e-999999999", 10), "sd"),
    (lambda: grim("3.5", 10, unit="1e-999999999"), "unit"),
    (lambda: grim("3.5", 10, bounds=(0, "1e999999999")), "the high bound"),
]:
    with pytest.raises(ValueError, match=f"{name} must have at most 15 digits before and after the point"):
        call()
print("bounded")
"""


class TestRequestSize:
    def test_grim_answers_in_constant_time_where_it_is_uninformative(self):
        # n >= 10**d: every mean printed to d decimals is attainable; 10**30 values could never be enumerated
        assert grim("3.5", 10**30) and grim("3.48", 10**30) and grim("3.48", 10**30, unit="0.5")
        assert not grim("3.5", 10**30, bounds=(0, 3))  # the bounds still decide
        assert grim("3.48", 99) and not grim("3.48", 20)  # below 10**2 GRIM still tells

    def test_grim_sums_and_grimmer_go_through_at_most_max_totals(self):
        assert len(grim_sums("3.5", 999_999)) == 100_000  # 3449997 .. 3549996
        message = (
            r"grim_sums: 100,001 whole-number totals of n=1,000,000 values fit the mean '3.5', more than MAX_TOTALS "
            r"\(100,000\) to go through. GRIM is uninformative here: n >= unit \* 10\*\*1 \(unit 1\), so every mean "
            r"printed to 1 decimal\(s\) is attainable; grim\(\) answers in constant time"
        )
        with pytest.raises(ValueError, match=message):
            grim_sums("3.5", 1_000_000)
        assert grimmer("3.5", "1.2", 999_999)
        with pytest.raises(ValueError, match=r"grimmer: 100,000,000,000,000,000,000,000,000,001 whole-number totals"):
            grimmer("3.5", "1.2", 10**30)
        with pytest.raises(ValueError, match=r"n >= unit \* 10\*\*2 \(unit '0.1'\).*GRIMMER is not run on samples so"):
            grimmer("3.50", "1.2", 10**8, unit="0.1")
        assert granularity.MAX_TOTALS == 100_000

    def test_huge_digits_and_lists_are_refused_within_memory_and_time(self):
        import subprocess
        import sys

        import bayes_ubpr

        run = subprocess.run(
            [sys.executable, "-c", _BOUNDED_CHECKS, bayes_ubpr.__path__[0]],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0 and run.stdout.strip() == "bounded", run.stderr[-2000:]


# --------------------------------------------------------------------------------------------------
# Within tables
# --------------------------------------------------------------------------------------------------


def _printed_copy(name: str, index: str, row: str, column: str, value: str) -> pd.DataFrame:
    table = paper.as_printed(name)
    table.loc[table[index] == row, column] = value
    return table


class TestWithin:
    def test_table5_is_internally_consistent_and_a_corrupted_copy_is_not(self):
        assert (within.check_table5()["severity"] == "ok").all()
        rows = within.check_table5(_printed_copy("table5", "factor", "depression", "odds_ratio", "4.426"))
        flagged = rows[rows["severity"] != "ok"]
        # the OR is also one input of the SE that OR and P imply
        assert set(zip(flagged["quantity"], flagged["factor"], strict=True)) == {
            ("odds_ratio = exp(B)", "depression"),
            ("SE implied by OR and P (Altman & Bland 2011)", "depression"),
        }

    @pytest.mark.parametrize(
        ("wald", "p", "severity"),
        [("0.000", "0.990", "ok"), ("0.001", "0.982", "ok"), ("0.000", "0.900", "inconsistent")],
    )
    def test_p_from_a_tiny_wald_statistic_allows_its_rounding(self, wald, p, severity):
        # honest synthetic papers printed these: a Wald of 0.0002 prints as 0.000 but gives P = 0.990
        table = paper.as_printed("table5")
        table.loc[0, ["B", "SE", "wald", "p"]] = ["0.010", "0.700", wald, p]
        rows = within.check_table5(table.iloc[:1]).set_index("quantity")
        assert rows.loc["p = P(chi2_1 > wald)", "severity"] == severity

    def test_se_from_or_and_p_allows_their_rounding_and_still_catches_a_wrong_se(self):
        table = paper.as_printed("table5")
        # an honest synthetic paper: B 0.056, SE 1.058 give OR 1.058 and P 0.957; z is tiny, so the rounding of
        # P alone moves the implied SE by more than 10%
        table.loc[0, ["B", "SE", "wald", "p", "odds_ratio", "ci_lower", "ci_upper"]] = [
            "0.056",
            "1.058",
            "0.003",
            "0.958",
            "1.058",
            "0.133",
            "8.413",
        ]
        table.loc[1, "SE"] = "0.846"  # fascia injury: twice the printed 0.423
        rows = within.check_table5(table.iloc[:2]).set_index(["quantity", "factor"])
        quantity = "SE implied by OR and P (Altman & Bland 2011)"
        assert rows.loc[(quantity, "bmd_tscore_abs"), "severity"] == "ok"
        assert rows.loc[(quantity, "fascia_injury"), "severity"] == "inconsistent"

    def test_table4_findings_are_the_known_ones(self):
        rows = within.check_table4()
        assert len(rows) == 9 * 6 + 6 * 2
        flagged = rows[rows["severity"] != "ok"]
        assert (flagged["severity"] == "inconsistent").all()
        assert set(flagged["quantity"]) == {"chi2 from the 2x2 counts", "|t| from means and SDs (Welch)"}
        assert len(flagged) == 15  # all nine chi-squares and all six t statistics
        chi2 = rows.set_index(["quantity", "factor"]).loc["chi2 from the 2x2 counts"]
        assert chi2.loc["fascia_injury", "recomputed"] == pytest.approx(22.5333, abs=1e-4)

    def test_a_corrupted_table4_percentage_is_flagged(self):
        rows = within.check_table4(_printed_copy("table4", "factor", "copd", "satisfactory_pct1", "23.7"))
        flagged = rows[(rows["severity"] != "ok") & (rows["factor"] == "copd")]
        assert "satisfactory % of Yes" in set(flagged["quantity"])

    def test_kernels_match_scipy(self):
        for table in ([[17, 43], [43, 17]], [[6, 54], [11, 49]]):
            for yates in (False, True):
                expected = stats.chi2_contingency(table, correction=yates).statistic
                assert within.chi_square(table, yates=yates) == pytest.approx(expected)
        welch, pooled, low, high = within.t_range((5.55, 4.75), (0.46, 0.65), (0.005,) * 4)
        reference = stats.ttest_ind_from_stats(4.75, 0.65, 60, 5.55, 0.46, 60, equal_var=False).statistic
        assert welch == pytest.approx(reference)
        assert pooled == pytest.approx(stats.ttest_ind_from_stats(4.75, 0.65, 60, 5.55, 0.46, 60).statistic)
        assert low <= abs(welch) <= high

    def test_time_course_markers(self):
        vas = within.check_time_course(name="Table 2").set_index("factor")
        assert vas.loc["12_months", "severity"] == "implausible"
        assert vas.loc["12_months", "recomputed"] == pytest.approx(
            abs(stats.ttest_ind_from_stats(1.5, 0.3, 60, 1.3, 0.2, 60).statistic)
        )
        assert 0 < vas.loc["12_months", "probability"] < 0.05
        assert (vas.drop(index="12_months")["severity"] == "ok").all()
        assert (within.check_time_course(name="Table 3")["severity"] == "ok").all()

    def test_share_of_the_rounding_box_matches_monte_carlo(self):
        # Student's P < 0.05 over means and SDs uniform within rounding: the grid against 200,000 uniform draws
        rng = np.random.default_rng(5)
        n = 200_000
        m0, m1 = 7.3 + rng.uniform(-0.05, 0.05, n), 7.1 + rng.uniform(-0.05, 0.05, n)
        s0, s1 = 0.4 + rng.uniform(-0.05, 0.05, n), 0.5 + rng.uniform(-0.05, 0.05, n)
        t = np.abs(m1 - m0) / np.sqrt((s0**2 + s1**2) / 60)
        share = float(np.mean(t > stats.t.ppf(0.975, 118)))
        grid = time_course._significant_share((7.3, 7.1), (0.4, 0.5), (0.05,) * 4)
        assert abs(grid - share) < 4 * math.sqrt(share * (1 - share) / n) + 2e-3  # plus the grid's own error

    def test_a_removed_marker_is_inconsistent(self):
        rows = within.check_time_course(
            _printed_copy("table2", "time", "1_month", "marked", "False"), name="Table 2"
        ).set_index("factor")
        assert rows.loc["1_month", "severity"] == "inconsistent"

    def test_granularity_findings_on_the_paper(self):
        rows = within.check_granularity()
        flagged = rows[rows["severity"] != "ok"]
        assert (flagged["severity"] == "inconsistent").all()
        assert set(zip(flagged["table"], flagged["quantity"], flagged["factor"], strict=True)) == {
            ("Table 4", "GRIM: satisfactory mean", "age"),
            ("Table 4", "GRIM: satisfactory mean", "height_cm"),
            ("Table 4", "GRIMMER: satisfactory SD", "n_fractures"),
            ("Table 2", "GRIMMER: unsatisfactory SD", "1_month"),
            ("Table 2", "GRIMMER: satisfactory SD", "3_months"),
            ("Table 2", "GRIMMER: satisfactory SD", "12_months"),
            ("Table 2", "GRIMMER: unsatisfactory SD", "12_months"),
            ("Table 2", "unsatisfactory mean and SD with every VAS >= 5", "1_month"),
        }
        assert rows["assumption"].str.len().gt(0).all()
        assert (rows.loc[rows["table"] == "Table 3", "severity"] == "ok").all()

    def test_bad_tables(self):
        with pytest.raises(TypeError, match="table4 must be a pandas DataFrame; got dict"):
            within.check_table4({})
        with pytest.raises(ValueError, match="table5 is missing column"):
            within.check_table5(paper.as_printed("table5").drop(columns="wald"))
        with pytest.raises(ValueError, match="name must be one of 'Table 2', 'Table 3'"):
            within.check_time_course(name="Table 9")


# --------------------------------------------------------------------------------------------------
# Across tables: the implied case group over within-group correlations
# --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def by_correlation() -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StatisticalWarning)
        return implied_case_group_by_correlation(correlations=(0.0, 0.1, 0.3), n_replicates=300, seed=0)


@pytest.fixture(scope="module")
def findings() -> pd.DataFrame:
    return audit(n_replicates=100)


class TestCorrelation:
    def test_tilted_means_match_the_gaussian_closed_form(self):
        # normal laws with correlation R: tilting by beta shifts the mean by D R D beta
        laws = [NormalLaw(1.0, 2.0), NormalLaw(-1.0, 0.5), NormalLaw(0.0, 1.0)]
        beta = np.array([0.3, -0.8, 0.5])
        rho = 0.4
        scores = copula.copula_scores(np.random.default_rng(1), 400_000, rho, np.sign(beta))
        signs = np.sign(beta)
        corr = rho * np.outer(signs, signs)
        np.fill_diagonal(corr, 1.0)
        sd = np.array([2.0, 0.5, 1.0])
        expected = np.array([1.0, -1.0, 0.0]) + (sd[:, None] * corr * sd[None, :]) @ beta
        got = copula.tilted_means(laws, beta, scores)
        # importance-weighted means: Monte Carlo SE well below 0.02 with 400,000 draws
        np.testing.assert_allclose(got, expected, atol=0.02)

    def test_independent_copula_gives_the_marginal_tilts(self):
        laws = [BernoulliLaw(0.3), NormalLaw(5.0, 0.5)]
        beta = np.array([1.2, -2.0])
        scores = copula.copula_scores(np.random.default_rng(2), 400_000, 0.0, np.sign(beta))
        got = copula.tilted_means(laws, beta, scores)
        assert got[0] == pytest.approx(laws[0].tilt(1.2).p, abs=0.005)
        assert got[1] == pytest.approx(laws[1].tilt(-2.0).mean, abs=0.01)

    def test_resampled_cases_follow_the_tilted_law(self):
        laws = [BernoulliLaw(0.3), NormalLaw(5.0, 0.5)]
        beta = np.array([1.2, -2.0])
        x = copula.correlated_replicates(laws, beta, 0.3, [np.random.default_rng(k) for k in range(300)])
        cases = x[:, 60:, :].reshape(-1, 2)
        scores = copula.copula_scores(np.random.default_rng(3), 400_000, 0.3, np.sign(beta))
        expected = copula.tilted_means(laws, beta, scores)
        # 18,000 resampled cases (SE about 0.004 and 0.004); resampling from 3,000 draws adds a bias of order 1/3,000
        np.testing.assert_allclose(cases.mean(axis=0), expected, atol=0.02)

    def test_independence_rows_are_those_of_implied_case_group(self, by_correlation):
        independent = implied_case_group(n_replicates=300, seed=0).set_index("factor")
        first = by_correlation[by_correlation["correlation"] == 0.0].set_index("factor")
        pd.testing.assert_series_equal(first["z_simulated"], independent["z_simulated"])

    def test_correlation_closes_the_gaps_for_bmd_and_cement_volume(self, by_correlation):
        table = by_correlation.set_index(["factor", "correlation"])
        assert not table.loc[("bmd_tscore_abs", 0.0), "consistent"]
        assert table.loc[("bmd_tscore_abs", 0.1), "consistent"]
        # positive risk-aligned correlation moves the implied case means away from the controls
        assert table.loc[("bmd_tscore_abs", 0.3), "case_implied"] > table.loc[("bmd_tscore_abs", 0.0), "case_implied"]
        assert (
            table.loc[("cement_volume_ml", 0.3), "case_implied"] < table.loc[("cement_volume_ml", 0.0), "case_implied"]
        )
        rows = across.audit_rows(by_correlation).set_index("factor")
        assert rows.loc["bmd_tscore_abs", "severity"] == "note"
        assert "correlation of 0.1 removes the flag" in rows.loc["bmd_tscore_abs", "reason"]
        assert rows.loc["", "severity"] == "ok"  # one correlation fits all six at once

    def test_a_factor_flagged_at_every_correlation_is_implausible(self):
        result = pd.DataFrame(
            {
                "factor": ["a"] * 3,
                "correlation": [0.0, 0.2, 0.4],
                "statistic": "mean",
                "case_printed": 1.0,
                "case_implied": 0.5,
                "z_simulated": [3.0, 2.5, 2.2],
                "consistent": False,
            }
        )
        row = across.audit_rows(result).iloc[0]
        assert row["severity"] == "implausible"
        assert row["probability"] == pytest.approx(2 * stats.norm.sf(2.2))

    @pytest.mark.parametrize(
        ("correlations", "error", "match"),
        [
            ((0.0, 0.9), ValueError, r"each correlation must be in \[0, 0.8\]"),
            ("0.3", TypeError, "correlations must be a non-empty sequence"),
            ((0.0, "x"), TypeError, "correlations must hold numbers"),
            ((), TypeError, "correlations must be a non-empty sequence"),
        ],
    )
    def test_bad_correlations(self, correlations, error, match):
        with pytest.raises(error, match=match):
            implied_case_group_by_correlation(correlations=correlations, n_replicates=40)


# --------------------------------------------------------------------------------------------------
# The text
# --------------------------------------------------------------------------------------------------


class TestText:
    def test_findings_on_the_paper(self):
        rows = text.check_text()
        bad = rows[rows["severity"].isin(["inconsistent", "implausible"])]
        assert set(zip(bad["quantity"], bad["factor"], bad["severity"], strict=True)) == {
            ("male cases", "sex_male", "inconsistent"),
            ("satisfactory relief, %", "", "inconsistent"),
            ("end of the study period (year)", "", "inconsistent"),
            ("treated vertebrae per patient", "n_fractures", "implausible"),
            ("univariate P < 0.001", "cement_distribution_poor", "inconsistent"),
            ("univariate P < 0.001", "depression", "inconsistent"),
            ("univariate P < 0.01", "depression", "inconsistent"),
        }
        vertebrae = rows.set_index("quantity").loc["treated vertebrae per patient"]
        assert vertebrae["probability"] < 0.001
        assert rows.set_index("quantity").loc["prevalence, %", "severity"] == "ok"
        assert (rows.loc[rows["quantity"] == "quoted rate, %", "severity"] == "ok").all()

    def test_a_corrected_table_clears_the_claim(self):
        t4 = paper.as_printed("table4")
        t4.loc[t4["factor"] == "sex_male", ["unsatisfactory_n1", "unsatisfactory_n0"]] = ["41", "19"]
        rows = text.check_text(table4=t4).set_index("quantity")
        assert rows.loc["male cases", "severity"] == "ok"


# --------------------------------------------------------------------------------------------------
# The whole audit, old import paths, negative controls
# --------------------------------------------------------------------------------------------------


class TestAudit:
    def test_contract(self, findings):
        assert list(findings.columns) == AUDIT_COLUMNS
        assert set(findings["severity"]) <= set(SEVERITIES)
        assert findings["probability"].notna().eq(findings["severity"] == "implausible").all()
        counts = summary(findings).set_index("severity")["checks"]
        assert counts.sum() == len(findings)
        assert counts["inconsistent"] == (findings["severity"] == "inconsistent").sum()

    def test_the_original_checks_keep_their_verdicts(self, findings):
        # the 107 checks of the former paper.audit(): 36 in Table 5, 66 in Table 4, 5 about the text;
        # 19 disagreed. The vertebra count is now graded implausible (with its probability) instead of impossible.
        table5 = findings[findings["table"] == "Table 5"].iloc[:36]
        assert (table5["severity"] == "ok").all()
        table4 = findings[(findings["table"] == "Table 4") & ~findings["quantity"].str.startswith("GRIM")]
        assert len(table4) == 66 and (table4["severity"] != "ok").sum() == 15
        legacy = [
            "male cases",
            "satisfactory relief, %",
            "prevalence, %",
            "treated vertebrae per patient",
            "end of the study period (year)",
        ]
        old_text = findings[findings["quantity"].isin(legacy)].set_index("quantity")["severity"]
        assert (old_text != "ok").sum() == 4 and old_text["prevalence, %"] == "ok"

    def test_tables_argument(self):
        with pytest.raises(ValueError, match="tables has unknown key"):
            audit(tables={"table6": paper.as_printed("table4")}, across=False)
        with pytest.raises(TypeError, match="tables must be a mapping"):
            audit(tables=[paper.as_printed("table4")], across=False)
        with pytest.raises(ValueError, match="n_replicates must be >= 40"):
            audit(n_replicates=10)
        with pytest.raises(ValueError, match="seed must be a non-negative integer; got -5"):
            audit(seed=-5, across=True, n_replicates=40)

    @pytest.mark.parametrize(
        ("name", "column", "key", "row"),
        [
            ("table5", "SE", "factor", "fascia_injury"),
            ("table4", "p", "factor", "sex_male"),
            ("table2", "satisfactory_mean", "time", "immediate"),
        ],
    )
    def test_a_non_number_cell_names_its_table_column_and_row(self, name, column, key, row):
        table = paper.as_printed(name)
        table.loc[1, column] = "abc"
        message = (
            rf'{name} column "{column}" is not a number in the row\(s\) with index label 1 \({key} {row}\): \'abc\''
        )
        with pytest.raises(ValueError, match=message):
            audit(tables={name: table}, across=False)

    def test_non_numbers_in_the_cross_table_checks_name_their_rows(self):
        table = paper.as_printed("table5")
        table.loc[[0, 3], "B"] = ["abc", "1,2"]
        message = (
            r"table5 column \"B\" .* index label 0 \(factor bmd_tscore_abs\): 'abc', 3 \(factor n_fractures\): '1,2'"
        )
        with pytest.raises(ValueError, match=message):
            across.audit_across_tables(table5=table, n_replicates=40)

    def test_old_paper_audit_path_still_works_with_a_warning(self):
        with pytest.warns(DeprecationWarning, match="use bayes_ubpr.audit.audit"):
            old = paper.audit
        assert old is audit
        with pytest.warns(DeprecationWarning):
            assert paper.AUDIT_COLUMNS == AUDIT_COLUMNS
        with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
            _ = paper.nothing

    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_honest_synthetic_papers_are_never_inconsistent(self, seed):
        synthetic = simulate_paper(seed=seed)
        findings = audit(tables=synthetic, across=False)
        assert not (findings["severity"] == "inconsistent").any(), findings[findings["severity"] != "ok"]
        assert "Text" not in set(findings["table"])  # the text's claims are the paper's, not the synthetic one's


@pytest.mark.slow
def test_honest_synthetic_papers_with_the_cross_table_checks():
    # a small version of benchmarks/audit_false_positives.py
    flags = []
    for seed in range(6):
        synthetic = simulate_paper(seed=100 + seed)
        if synthetic is None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", StatisticalWarning)
            findings = audit(tables=synthetic, n_replicates=100, seed=seed)
        flags.append(findings)
    findings = pd.concat(flags)
    assert not (findings["severity"] == "inconsistent").any()
    # the simulated checks flag about 5% of their rows by design (prob=0.95), far fewer with the correlation rule
    simulated = findings[findings["table"] == "Table 4 vs Table 5"]
    rate = (simulated["severity"] == "implausible").mean()
    assert rate < 0.05 + 4 * math.sqrt(0.05 * 0.95 / len(simulated))
