"""Run the calibration studies of docs/calibration.md and write their tables and figures (issue 14).

Every study runs on a local Dask cluster and saves each finished replicate in
its own store folder, so a killed run resumes where it stopped and a study is
extended by asking for more replicates. Studies:

* ``candidates``: the paper's design (1,316-patient cohorts at 4.6%, all cases,
  one control per case, six factors, Table 5 as the truth) under each candidate
  prior; the offset and anchored population mappings are computed from the
  same fits of each replicate (paired comparison).
* ``design``: the chosen default at 1:2 and 1:4 controls per case and at
  cohorts of 658 and 5,264 patients.
* ``sbc``: simulation-based calibration of the default model.

Run from the repository root::

    PYTHONPATH=src .venv/bin/python docs/make_calibration_tables.py candidates --replicates 300 --workers 2
    PYTHONPATH=src .venv/bin/python docs/make_calibration_tables.py tables

``tables`` reads every store back (no fitting), writes docs/tables/calibration_*.csv
and docs/figures/calibration_*.png, and prints the comparison with MCSEs.
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

import bayes_ubpr as bu
from bayes_ubpr.model import expected_shrinkage, max_cox_snell_r2
from bayes_ubpr.model.design import ANTICIPATED_R2_FRACTION
from bayes_ubpr.paper import N_CASES, SIX_FACTORS
from bayes_ubpr.priors import Prior, default_prior
from bayes_ubpr.studies import STUDY_SPEC, sbc_verdicts

STORE_ROOT = Path(os.environ.get("CALIBRATION_STORES", "/tmp/calib-stores"))
DOCS = Path(__file__).resolve().parent
TABLES = DOCS / "tables"
FIGURES = DOCS / "figures"
SEED = 14
SBC_SEED = 15
SAMPLING = bu.Sampling(draws=1000, tune=1000, chains=4)
"""Sampler settings of every study (those of ``fit``'s defaults)."""


def scaled_priors(sigma: float) -> dict[str, Prior]:
    """Normal(0, sigma) on every log OR, per unit for binary factors and per reference SD otherwise."""
    return {f: Prior("normal", 0.0, sigma, per=default_prior(f).per) for f in SIX_FACTORS}


def riley_scale(n_sample: int = 2 * N_CASES, n_factors: int = len(SIX_FACTORS)) -> float:
    """Prior SD per SD of a factor whose shrinkage of a typical estimate equals Riley et al.'s expected S.

    A normal prior N(0, sigma^2) on a coefficient whose estimate has sampling
    SD se shrinks it by sigma^2 / (sigma^2 + se^2); with the typical per-SD
    standard error of a 1:1 sample, se = 1 / sqrt(n q (1 - q)) at q = 1/2,
    setting that to S gives sigma = se * sqrt(S / (1 - S)).
    """
    prevalence = 0.5
    r2 = ANTICIPATED_R2_FRACTION * max_cox_snell_r2(prevalence)
    shrinkage = expected_shrinkage(n_sample, n_factors, r2)
    se = 1.0 / math.sqrt(n_sample * prevalence * (1 - prevalence))
    return se * math.sqrt(shrinkage / (1 - shrinkage))


CANDIDATES = {
    "default": STUDY_SPEC,
    "wide": STUDY_SPEC.replace(priors="wide"),
    "sceptical": STUDY_SPEC.replace(priors="sceptical"),
    "riley": STUDY_SPEC.replace(priors=scaled_priors(riley_scale())),
    "horseshoe": STUDY_SPEC.replace(priors="horseshoe"),
}
"""Candidate priors (study name to the fitted model): the chosen default Normal(0, 1), the
old default Normal(0, 2.5) ("wide"), the sceptical prior, a normal prior scaled so that it shrinks a
typical estimate by Riley et al.'s expected shrinkage, and the regularised horseshoe."""

DEFAULT_CANDIDATE = "default"
"""The candidate whose model the design and SBC studies use (the chosen default)."""

DESIGNS = {
    "n658_1to1": {"n": 658, "controls_per_case": 1},
    "n1316_1to1": {"n": 1316, "controls_per_case": 1},
    "n1316_1to2": {"n": 1316, "controls_per_case": 2},
    "n1316_1to4": {"n": 1316, "controls_per_case": 4},
    "n5264_1to1": {"n": 5264, "controls_per_case": 1},
}


def _client(workers: int) -> object:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster)


def study(kind: str, name: str, replicates: int, client: object = None) -> object:
    """Run (or read back) one study from its store."""
    # Stores written by calibration_study(priors=None, ...) resume: a spec's "default" priors are the same priors.
    store = STORE_ROOT / _store_name(kind, name)
    common = {"n_replicates": replicates, "sampling": SAMPLING, "client": client, "store": store}
    if kind == "candidates":
        result = bu.coverage_study(CANDIDATES[name], seed=SEED, **common)
    elif kind == "design":
        result = bu.coverage_study(CANDIDATES[DEFAULT_CANDIDATE], seed=SEED, **DESIGNS[name], **common)
    else:
        result = bu.sbc_study(CANDIDATES[DEFAULT_CANDIDATE], seed=SBC_SEED, **common)
    # Reading hundreds of replicate files back takes minutes; keep the assembled result beside the store.
    with open(_cache(kind, name), "wb") as handle:
        pickle.dump((replicates, result), handle)
    return result


def _cache(kind: str, name: str) -> Path:
    return STORE_ROOT / f"{_store_name(kind, name)}.result.pickle"


def load(kind: str, name: str) -> object | None:
    """Return a study's result at the replicates its store holds (cached), or None if it has none."""
    n = stored_replicates(kind, name)
    if not n:
        return None
    if _cache(kind, name).exists():
        with open(_cache(kind, name), "rb") as handle:
            cached_n, result = pickle.load(handle)
        if cached_n == n:
            return result
    return study(kind, name, n)


def _store_name(kind: str, name: str) -> str:
    if kind == "sbc":
        return f"sbc_{DEFAULT_CANDIDATE}"
    if kind == "design" and name == "n1316_1to1":  # the paper's design: the default candidate's own study
        return f"candidates_{DEFAULT_CANDIDATE}"
    return f"{kind}_{name}"


def stored_replicates(kind: str, name: str) -> int:
    """Return the number of finished replicates in a study's store (replicates 0 to n - 1)."""
    folder = STORE_ROOT / _store_name(kind, name)
    n = 0
    while (folder / f"replicate_{n:06d}.nc").exists():
        n += 1
    return n


def fmt(value: float, mcse: float) -> str:
    """Value with as many decimals as its MCSE justifies, and the MCSE."""
    digits = max(0, 1 - math.floor(math.log10(mcse))) if mcse > 0 else 3
    return f"{value:.{digits}f} ({mcse:.{digits}f})"


def comparison_rows(name: str, result: object, mappings: tuple[str, ...] = ("offset", "anchored")) -> list[dict]:
    """One row per mapping: risk metrics and, per factor, 95% coverage, width and bias, all with MCSE."""
    rows = []
    summary = result.summary.set_index("factor")
    for mapping in mappings:
        predictive = result.predictive.set_index("model").loc[mapping]
        row: dict[str, object] = {
            "candidate": name,
            "mapping": mapping,
            "replicates": len(result.summary) and int(result.replicates["replicate"].nunique()),
        }
        for metric in ("calibration_in_the_large", "calibration_slope", "mean_abs_risk_error"):
            row[metric] = predictive[metric]
            row[f"{metric}_mcse"] = predictive[f"{metric}_mcse"]
        row["n_undefined"] = predictive["n_undefined"]
        for factor in summary.index:
            for column in ("coverage_0.95", "width_0.95", "bias"):
                row[f"{column}[{factor}]"] = summary.loc[factor, column]
                row[f"{column}[{factor}]_mcse"] = summary.loc[factor, f"{column}_mcse"]
        rows.append(row)
    return rows


def show(table: pd.DataFrame) -> str:
    """Return the comparison as a markdown table: risk metrics, coverage range and mean width, each with MCSE."""
    lines = [
        "| candidate | mapping | R | CITL | slope | mean abs. risk error | 95% coverage per factor (MCSE) "
        "| mean 95% width | bias per factor |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    factors = [
        c[len("coverage_0.95[") : -1]
        for c in table.columns
        if c.startswith("coverage_0.95[") and not c.endswith("_mcse")
    ]
    for _, row in table.iterrows():
        coverage = (
            ", ".join(f"{100 * row[f'coverage_0.95[{f}]']:.1f}" for f in factors)
            + f" ({100 * max(row[f'coverage_0.95[{f}]_mcse'] for f in factors):.1f})"
        )
        width = np.mean([row[f"width_0.95[{f}]"] for f in factors])
        bias = ", ".join(fmt(row[f"bias[{f}]"], row[f"bias[{f}]_mcse"]) for f in factors)
        lines.append(
            f"| {row['candidate']} | {row['mapping']} | {row['replicates']} "
            f"| {fmt(row['calibration_in_the_large'], row['calibration_in_the_large_mcse'])} "
            f"| {fmt(row['calibration_slope'], row['calibration_slope_mcse'])} "
            f"| {fmt(row['mean_abs_risk_error'], row['mean_abs_risk_error_mcse'])} | {coverage} | {width:.2f} "
            f"| {bias} |"
        )
    return "\n".join(lines)


def _figure_candidates(table: pd.DataFrame, path: Path) -> None:
    figure = Figure(figsize=(6.5, 4.2), layout="constrained")
    ax = figure.subplots()
    ax.axhspan(0.9, 1.1, color="0.9")
    ax.axvspan(-0.1, 0.1, color="0.9")
    markers = {"offset": "o", "anchored": "s"}
    for i, (name, group) in enumerate(table.groupby("candidate", sort=False)):
        for _, row in group.iterrows():
            ax.errorbar(
                row["calibration_in_the_large"],
                row["calibration_slope"],
                xerr=2 * row["calibration_in_the_large_mcse"],
                yerr=2 * row["calibration_slope_mcse"],
                fmt=markers[row["mapping"]],
                color=f"C{i}",
                label=f"{name}, {row['mapping']}",
            )
    ax.set_xlabel("calibration-in-the-large (0 = right on average)")
    ax.set_ylabel("calibration slope (1 = right spread)")
    ax.set_title("Population risks at 4.6% (bars: 2 MCSE; grey: the goal)", fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    figure.savefig(path, dpi=90)
    print(f"wrote {path}")


def _figure_design(table: pd.DataFrame, path: Path) -> None:
    figure = Figure(figsize=(8.0, 3.2), layout="constrained")
    axes = figure.subplots(1, 3)
    for ax, metric, target in zip(
        axes, ("calibration_in_the_large", "calibration_slope", "mean_abs_risk_error"), (0.0, 1.0, None), strict=True
    ):
        x = np.arange(len(table))
        ax.errorbar(x, table[metric], yerr=2 * table[f"{metric}_mcse"], fmt="o")
        if target is not None:
            ax.axhline(target, color="grey", linestyle="--", linewidth=1)
        ax.set_xticks(x, [d.replace("_", "\n") for d in table["design"]], fontsize=7)
        ax.set_title(metric.replace("_", " "), fontsize=9)
    figure.savefig(path, dpi=90)
    print(f"wrote {path}")


def write_tables() -> None:
    """Read every store back and write the CSV tables, figures and the printed comparison."""
    TABLES.mkdir(exist_ok=True)
    rows = []
    for name in CANDIDATES:
        if (result := load("candidates", name)) is not None:
            rows += comparison_rows(name, result)
    table = pd.DataFrame(rows)
    table.to_csv(TABLES / "calibration_candidates.csv", index=False, float_format="%.5g")
    print(show(table))
    _figure_candidates(table, FIGURES / "calibration_candidates.png")
    default = load("candidates", DEFAULT_CANDIDATE)
    if default is not None:
        for name, plot in (("coverage", bu.coverage_plot), ("predicted_vs_true", bu.predicted_vs_true_plot)):
            figure = Figure(figsize=(6.0, 4.5), layout="constrained")
            plot(default, ax=figure.subplots())
            figure.savefig(FIGURES / f"{name}.png", dpi=90)
            print(f"wrote {FIGURES / f'{name}.png'}")
    design_rows = []
    for name in DESIGNS:
        if (result := load("design", name)) is not None:
            for row in comparison_rows(DEFAULT_CANDIDATE, result, mappings=("corrected",)):
                design_rows.append({"design": name, **row})
    if design_rows:
        design = pd.DataFrame(design_rows)
        design.to_csv(TABLES / "calibration_design.csv", index=False, float_format="%.5g")
        print(show(design.assign(candidate=design["design"])))
        _figure_design(design, FIGURES / "calibration_design.png")
    sbc = load("sbc", "sbc")
    if sbc is not None:
        verdicts = sbc.verdicts.copy()
        # seven parameters tested at 95% each flag one by chance in about 30% of studies: Bonferroni as well
        joint = sbc_verdicts(sbc.ranks, sbc.n_values, prob=1 - 0.05 / len(verdicts))
        verdicts["verdict_bonferroni"] = joint["verdict"].to_numpy()
        verdicts.to_csv(TABLES / "calibration_sbc_verdicts.csv", index=False, float_format="%.5g")
        print(verdicts.to_string(index=False))
        sbc.predictive.to_csv(TABLES / "calibration_sbc_predictive.csv", index=False, float_format="%.5g")
        print(sbc)
        figure = Figure(figsize=(6.0, 4.0), layout="constrained")
        bu.sbc_ecdf_plot(sbc, ax=figure.subplots())
        figure.savefig(FIGURES / "sbc_ecdf.png", dpi=90)
        print(f"wrote {FIGURES / 'sbc_ecdf.png'}")


def main(argv: list[str] | None = None) -> None:
    """Command line: run a group of studies, or write the tables from the stores."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["candidates", "design", "sbc", "tables"])
    parser.add_argument("--names", nargs="*", help="studies of the group to run (default all)")
    parser.add_argument("--replicates", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.what == "tables":
        write_tables()
        return
    names = args.names or {"candidates": list(CANDIDATES), "design": list(DESIGNS), "sbc": ["sbc"]}[args.what]
    client = _client(args.workers)
    try:
        for name in names:
            start = time.perf_counter()
            study(args.what, name, args.replicates, client=client)
            print(f"{args.what} {name}: {args.replicates} replicates, {time.perf_counter() - start:.0f} s", flush=True)
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main())
