"""Odds-ratio tables from posterior draws, checked against draws whose quantiles are known."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

import bayes_ubpr as bu


@pytest.fixture
def known_idata(rng) -> az.InferenceData:
    """Draws of beta for two factors (chain 4, draw 2500): fascia ~ N(1, 0.5), age = 0 exactly."""
    beta = np.stack([rng.normal(1.0, 0.5, size=(4, 2500)), np.zeros((4, 2500))], axis=-1)
    return az.from_dict(
        posterior={"beta": beta}, coords={"factor": ["fascia_injury", "age"]}, dims={"beta": ["factor"]}
    )


def test_odds_ratio_table_is_the_exponentiated_quantiles(known_idata):
    table = bu.odds_ratio_table(known_idata, prob=0.9)
    draws = known_idata.posterior["beta"].sel(factor="fascia_injury").to_numpy().ravel()
    row = table.set_index("factor").loc["fascia_injury"]
    assert row["or_median"] == pytest.approx(np.exp(np.median(draws)))
    assert row["or_lower"] == pytest.approx(np.exp(np.quantile(draws, 0.05)))
    assert row["or_upper"] == pytest.approx(np.exp(np.quantile(draws, 0.95)))
    assert row["prob_positive"] == pytest.approx((draws > 0).mean())
    assert table.attrs["prob"] == 0.9


def test_quantiles_agree_with_the_known_law(known_idata):
    # 10,000 draws of N(1, 0.5): the 5% quantile has MC SE sqrt(q(1-q)/n)/density.
    table = bu.odds_ratio_table(known_idata, prob=0.9).set_index("factor")
    from scipy import stats

    q = 0.05
    se = np.sqrt(q * (1 - q) / 10_000) / stats.norm.pdf(stats.norm.ppf(q), 1.0, 0.5)
    assert abs(np.log(table.loc["fascia_injury", "or_lower"]) - stats.norm.ppf(q, 1.0, 0.5)) < 4 * se


def test_paper_columns_sit_beside_and_missing_factors_are_nan(known_idata):
    table = bu.odds_ratio_table(known_idata).set_index("factor")
    assert table.loc["fascia_injury", ["paper_or", "paper_lower", "paper_upper"]].tolist() == [3.805, 1.661, 8.717]
    assert table.loc["age", ["paper_or", "paper_lower", "paper_upper"]].isna().all()
    assert table.loc["age", "or_median"] == 1.0
    assert table.loc["age", "label"] == "Age"


def test_table_from_a_real_fit(small_fit):
    table = bu.odds_ratio_table(small_fit)
    assert list(table["factor"]) == list(bu.SIX_FACTORS)
    assert (table["or_lower"] < table["or_median"]).all() and (table["or_median"] < table["or_upper"]).all()
    text = bu.format_odds_ratio_table(table)
    assert "Lumbodorsal fascia injury" in text and "3.81 (1.66 to 8.72)" in text


def test_errors(known_idata):
    with pytest.raises(ValueError, match="prob must be strictly between 0 and 1; got 95"):
        bu.odds_ratio_table(known_idata, prob=95)
    empty = az.from_dict(posterior={"alpha": np.zeros((2, 10))})
    with pytest.raises(ValueError, match="no posterior variable 'beta'"):
        bu.odds_ratio_table(empty)


def test_format_shows_dash_for_missing_paper_values(known_idata):
    text = bu.format_odds_ratio_table(bu.odds_ratio_table(known_idata))
    age_line = next(line for line in text.splitlines() if line.startswith("Age"))
    assert age_line.rstrip().endswith("-")
