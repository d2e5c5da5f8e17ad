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


@pytest.mark.parametrize("name", ["table2", "table3"])
def test_tables_2_and_3_contract(name):
    table = getattr(paper, name)()
    assert list(table["time"]) == ["preoperative", "immediate", "1_month", "3_months", "12_months"]
    # the paper marks * beside the unsatisfactory group immediately, at 1 month and at 3 months
    assert list(table.loc[table["marked"], "time"]) == ["immediate", "1_month", "3_months"]
    assert table["marked"].dtype == bool
    high = 10 if name == "table2" else 100
    values = table[["satisfactory_mean", "satisfactory_sd", "unsatisfactory_mean", "unsatisfactory_sd"]]
    assert ((values >= 0) & (values <= high)).all().all()
    assert table.attrs["dataset"] == name and "Table" in table.attrs["source"]


def test_tables_2_and_3_spot_checked_against_the_text():
    t2, t3 = paper.table2().set_index("time"), paper.table3().set_index("time")
    # Table 2: unsatisfactory 4.6 +/- 0.4* at 1 month, satisfactory 1.3 +/- 0.2 at 12 months
    assert tuple(t2.loc["1_month", ["unsatisfactory_mean", "unsatisfactory_sd"]]) == (4.6, 0.4)
    assert tuple(t2.loc["12_months", ["satisfactory_mean", "satisfactory_sd"]]) == (1.3, 0.2)
    # Table 3: unsatisfactory 55.3 +/- 4.5* immediately, satisfactory 31.4 +/- 3.2 at 12 months
    assert tuple(t3.loc["immediate", ["unsatisfactory_mean", "unsatisfactory_sd"]]) == (55.3, 4.5)
    assert tuple(t3.loc["12_months", ["satisfactory_mean", "satisfactory_sd"]]) == (31.4, 3.2)


def test_as_printed_keeps_trailing_zeros():
    t4 = paper.as_printed("table4").set_index("factor")
    assert t4.loc["age", "unsatisfactory_sd"] == "4.30" and t4.loc["n_fractures", "satisfactory_sd"] == "0.60"
    assert t4.loc["age", "satisfactory_n1"] == ""
    assert paper.as_printed("table5").set_index("factor").loc["bmd_tscore_abs", "ci_upper"] == "11.25"
    with pytest.raises(ValueError, match="name must be one of 'table2'"):
        paper.as_printed("table6")
