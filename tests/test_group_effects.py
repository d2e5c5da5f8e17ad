"""Group effects: each grouping's SD as a median odds ratio, each group's offset as an odds ratio; the figure."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import special

import bayes_ubpr as bu
from bayes_ubpr.group_effects import GROUP_EFFECT_COLUMNS, IQR_OR_SCALE, MOR_SCALE, group_effects_table

QUARTILE = 0.6744897501960817  # the standard normal's 75th percentile


def test_the_scales_are_larsen_and_merlos_and_the_interquartile_range():
    # Larsen & Merlo (2005), Am J Epidemiol 161:81-88: MOR = exp(sqrt(2 * variance) * 0.6745) ~ exp(0.95 sd)
    assert math.isclose(MOR_SCALE, math.sqrt(2) * QUARTILE, rel_tol=1e-12)
    assert round(MOR_SCALE, 3) == 0.954
    assert math.isclose(IQR_OR_SCALE, 2 * QUARTILE, rel_tol=1e-12)


def test_a_fit_without_groups_gives_an_empty_table_with_the_columns(small_fit):
    table = group_effects_table(small_fit)
    assert table.empty and list(table.columns) == GROUP_EFFECT_COLUMNS
    with pytest.raises(ValueError, match="no group intercepts to plot"):
        bu.group_effects_plot(small_fit)


def test_errors(small_fit):
    with pytest.raises(ValueError, match="prob"):
        group_effects_table(small_fit, prob=1.5)
    with pytest.raises(TypeError, match="fit must be an arviz.InferenceData"):
        group_effects_table("fit.nc")


@pytest.fixture(scope="module")
def hospital_fit():
    cohort = bu.simulate_cohort(n=600, prevalence=0.3, seed=5).assign(hospital=lambda d: d.index % 4)
    return cohort, bu.fit(cohort, group="hospital", chains=2, seed=1)


def test_one_grouping_sd_row_then_each_hospital(hospital_fit):
    cohort, idata = hospital_fit
    table = group_effects_table(idata, prob=0.9)
    assert list(table.columns) == GROUP_EFFECT_COLUMNS
    assert table["parameter"].tolist() == ["sd", "offset", "offset", "offset", "offset"]
    assert (table["grouping"] == "hospital").all()
    assert table["group"].tolist() == ["", "0", "1", "2", "3"]
    assert table["n_groups"].iloc[0] == 4 and table["n_patients"].iloc[0] == 600
    assert table["n_patients"].iloc[1:].tolist() == cohort["hospital"].value_counts().sort_index().tolist()
    # the SD's quantiles, and the odds ratios as exact transforms of them (monotone in the SD)
    sd = idata.posterior["group_sd"].to_numpy().ravel()
    low, mid, high = np.quantile(sd, [0.05, 0.5, 0.95])
    row = table.iloc[0]
    assert (row["lower"], row["median"], row["upper"]) == pytest.approx((low, mid, high), rel=1e-12)
    assert row["or_median"] == pytest.approx(math.exp(MOR_SCALE * mid), rel=1e-12)
    assert row["iqr_or_upper"] == pytest.approx(math.exp(IQR_OR_SCALE * high), rel=1e-12)
    offsets = idata.posterior["group_offset"].sel(group=2).to_numpy().ravel()
    assert table.iloc[3]["or_median"] == pytest.approx(math.exp(np.median(offsets)), rel=1e-12)
    assert pd.isna(table.iloc[3]["iqr_or_median"])
    ax = bu.group_effects_plot(idata)
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == ["0", "1", "2", "3"]
    assert ax.get_legend().get_texts()[0].get_text().startswith("hospital: MOR ")
    plt.close(ax.figure)


def _nested_cohort(n: int = 900, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    hospital = rng.choice(["North", "South", "West"], n)
    surgeon = np.array([f"{h[0]}{k}" for h, k in zip(hospital, rng.integers(1, 4, n), strict=True)])
    effect = {"North": -0.6, "South": 0.0, "West": 0.6}
    injury = rng.binomial(1, 0.3, n)
    eta = -1.0 + 0.8 * injury + np.array([effect[h] for h in hospital])
    return pd.DataFrame(
        {"pain": rng.binomial(1, special.expit(eta)), "injury": injury, "hospital": hospital, "surgeon": surgeon}
    )


@pytest.mark.slow
def test_nested_groupings_each_with_its_sd_and_own_labels():
    data = _nested_cohort()
    # 4 chains: with 2 x 1,000 draws the surgeons' SD's R-hat came out at 1.013 (bulk ESS 412) on one realisation.
    sampling = bu.Sampling(draws=1000, tune=1000, chains=4)
    idata = bu.fit(data, "pain ~ injury + (1 | hospital/surgeon)", sampling=sampling, seed=2, check=False)
    table = group_effects_table(idata)
    sds = table[table["parameter"] == "sd"]
    assert sds["grouping"].tolist() == ["hospital", "hospital:surgeon"]
    assert sds["n_groups"].tolist() == [3, 9]
    hospitals = table[(table["grouping"] == "hospital") & (table["parameter"] == "offset")].set_index("group")
    assert hospitals.index.tolist() == ["North", "South", "West"]
    assert hospitals["n_patients"].tolist() == data["hospital"].value_counts().sort_index().tolist()
    surgeons = table[(table["grouping"] == "hospital:surgeon") & (table["parameter"] == "offset")]
    counts = (data["hospital"] + ":" + data["surgeon"]).value_counts()
    assert dict(zip(surgeons["group"], surgeons["n_patients"], strict=True)) == counts.to_dict()
    # the truth: North 0.6 below and West 0.6 above the middle hospital on the log-odds scale
    assert hospitals.loc["North", "median"] < hospitals.loc["South", "median"] < hospitals.loc["West", "median"]
    ax = bu.group_effects_plot(idata)
    assert len(ax.get_yticks()) == 12 and len(ax.get_legend().get_texts()) == 2
    plt.close(ax.figure)
