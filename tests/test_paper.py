"""The paper's numbers as data: contract, and transcription checked against itself.

Printed numbers are rounded; each check allows exactly the rounding the
printed digits imply (half a unit of the last printed digit), no more.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bayes_ubpr import paper


def _half_unit(text: str) -> float:
    """Half a unit of the last printed digit of a number as printed, e.g. '11.25' -> 0.005."""
    decimals = len(text.split(".")[1]) if "." in text else 0
    return 0.5 * 10.0**-decimals


@pytest.fixture
def printed5() -> pd.DataFrame:
    """Table 5 as the strings printed, to know each number's precision."""
    with resources.files("bayes_ubpr").joinpath("data", "table5.csv").open() as handle:
        return pd.read_csv(handle, dtype=str).set_index("factor")


def test_constants():
    assert paper.N_PATIENTS == 1316
    assert paper.N_CASES == 60
    assert pytest.approx(60 / 1316) == paper.PREVALENCE
    assert round(100 * paper.PREVALENCE, 1) == 4.6


def test_factor_metadata_covers_table4_and_table5():
    assert len(paper.RISK_FACTORS) == 15
    assert set(paper.table4()["factor"]) == set(paper.RISK_FACTORS)
    assert tuple(paper.table5()["factor"]) == paper.SIX_FACTORS
    assert set(paper.SIX_FACTORS).isdisjoint(paper.NULL_FACTORS)
    for name, factor in paper.RISK_FACTORS.items():
        assert factor.name == name
        assert factor.kind in {"continuous", "binary", "count"}
    assert sorted(sum(paper.DOMAINS.values(), ())) == sorted(paper.RISK_FACTORS)


def test_table5_contract():
    t5 = paper.table5()
    assert list(t5.columns[:1]) == ["factor"]
    for column in ["factor", "B", "SE", "wald", "p", "odds_ratio", "ci_lower", "ci_upper"]:
        assert column in t5.columns
    assert "source" in t5.attrs


def test_table5_odds_ratio_is_exp_b_within_rounding(printed5):
    t5 = paper.table5().set_index("factor")
    for factor, row in t5.iterrows():
        tolerance = (
            _half_unit(printed5.loc[factor, "B"]) + _half_unit(printed5.loc[factor, "odds_ratio"]) / row.odds_ratio
        )
        assert abs(np.log(row.odds_ratio) - row.B) <= tolerance, factor


@pytest.mark.parametrize(("column", "sign"), [("ci_lower", -1), ("ci_upper", 1)])
def test_table5_ci_is_b_plus_minus_1_96_se_within_rounding(printed5, column, sign):
    t5 = paper.table5().set_index("factor")
    z = stats.norm.ppf(0.975)
    for factor, row in t5.iterrows():
        tolerance = (
            _half_unit(printed5.loc[factor, "B"])
            + z * _half_unit(printed5.loc[factor, "SE"])
            + _half_unit(printed5.loc[factor, column]) / row[column]
        )
        assert abs(np.log(row[column]) - (row.B + sign * z * row.SE)) <= tolerance, factor


def test_table5_wald_and_p_within_rounding(printed5):
    t5 = paper.table5().set_index("factor")
    for factor, row in t5.iterrows():
        db, dse = _half_unit(printed5.loc[factor, "B"]), _half_unit(printed5.loc[factor, "SE"])
        tolerance = (
            2 * abs(row.B) / row.SE**2 * db + 2 * row.B**2 / row.SE**3 * dse + _half_unit(printed5.loc[factor, "wald"])
        )
        assert abs((row.B / row.SE) ** 2 - row.wald) <= tolerance, factor
        assert abs(stats.chi2.sf(row.wald, df=1) - row.p) <= _half_unit(printed5.loc[factor, "p"]), factor


def test_table4_counts_sum_to_group_size_and_percentages_match():
    binary = paper.table4().query("kind == 'binary'")
    for group in ("satisfactory", "unsatisfactory"):
        assert (binary[f"{group}_n1"] + binary[f"{group}_n0"] == 60).all()
        for level in ("1", "0"):
            recomputed = (100 * binary[f"{group}_n{level}"].astype(float) / 60).round(1)
            np.testing.assert_allclose(recomputed, binary[f"{group}_pct{level}"], atol=1e-9)


def test_table4_summaries_are_where_the_kind_says():
    t4 = paper.table4()
    numeric = t4[t4["kind"] != "binary"]
    binary = t4[t4["kind"] == "binary"]
    assert (
        numeric[["satisfactory_mean", "satisfactory_sd", "unsatisfactory_mean", "unsatisfactory_sd"]]
        .notna()
        .all()
        .all()
    )
    assert binary[["satisfactory_n1", "unsatisfactory_n1"]].notna().all().all()
    assert set(t4["statistic_name"]) == {"t", "chi2"}
    assert (t4.loc[t4["kind"] == "binary", "statistic_name"] == "chi2").all()


def test_table4_values_spot_checked_against_the_text():
    t4 = paper.table4().set_index("factor")
    # Results text: BMD -3.29 +/- 0.33 vs -3.04 +/- 0.25; cement 4.75 +/- 0.65 vs 5.55 +/- 0.46 mL;
    # number of OVCF 2.17 +/- 0.78 vs 1.37 +/- 0.60.
    assert tuple(t4.loc["bmd_tscore_abs", ["unsatisfactory_mean", "unsatisfactory_sd"]]) == (3.29, 0.33)
    assert tuple(t4.loc["cement_volume_ml", ["satisfactory_mean", "satisfactory_sd"]]) == (5.55, 0.46)
    assert tuple(t4.loc["n_fractures", ["unsatisfactory_mean", "unsatisfactory_sd"]]) == (2.17, 0.78)


class TestAudit:
    def test_contract_and_verdicts(self):
        findings = paper.audit()
        assert list(findings.columns) == paper.AUDIT_COLUMNS
        table5_rows = findings[findings["table"] == "Table 5"]
        assert len(table5_rows) == 6 * 6 and table5_rows["consistent"].all()
        percentages = findings[findings["quantity"].str.contains("%") & (findings["table"] == "Table 4")]
        assert len(percentages) == 9 * 4 and percentages["consistent"].all()  # nine binary factors

    def test_known_inconsistencies_are_found(self):
        findings = paper.audit().set_index(["quantity", "factor"])
        chi2 = findings.xs("chi2 from the 2x2 counts")
        assert not chi2.loc["fascia_injury", "consistent"]
        assert chi2.loc["fascia_injury", "recomputed"] == pytest.approx(22.5333, abs=1e-4)
        assert chi2.loc["general_anesthesia", "recomputed"] == 0.0
        assert not findings.loc[("male cases", "sex_male"), "consistent"]
        welch = findings.xs("|t| from means and SDs (Welch)")
        assert welch.loc["bmd_tscore_abs", "recomputed"] == pytest.approx(4.677, abs=1e-3)

    def test_chi_square_and_t_kernels_match_scipy(self):
        table = [[17, 43], [43, 17]]
        for yates in (False, True):
            expected = stats.chi2_contingency(table, correction=yates).statistic
            assert paper._chi_square(table, yates=yates) == pytest.approx(expected)
        row = paper.table4().set_index("factor").loc["cement_volume_ml"]
        text = pd.Series(
            {
                "satisfactory_mean": "5.55",
                "unsatisfactory_mean": "4.75",
                "satisfactory_sd": "0.46",
                "unsatisfactory_sd": "0.65",
            }
        )
        welch, pooled, low, high = paper._t_range(row, text)
        reference = stats.ttest_ind_from_stats(4.75, 0.65, 60, 5.55, 0.46, 60, equal_var=False).statistic
        assert welch == pytest.approx(reference)
        assert pooled == pytest.approx(stats.ttest_ind_from_stats(4.75, 0.65, 60, 5.55, 0.46, 60).statistic)
        assert low <= abs(welch) <= high

    def test_a_corrupted_table5_is_flagged(self, monkeypatch):
        corrupted = paper.table5()
        corrupted.loc[corrupted["factor"] == "depression", "odds_ratio"] = 4.426
        monkeypatch.setattr(paper, "table5", lambda: corrupted)
        findings = paper.audit().set_index(["quantity", "factor"])
        assert not findings.loc[("odds_ratio = exp(B)", "depression"), "consistent"]
        assert findings.loc[("odds_ratio = exp(B)", "fascia_injury"), "consistent"]
