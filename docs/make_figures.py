"""Draw the figures of the tutorial (docs/tutorial.md) into docs/figures/.

The tutorial follows the paper (Pain Physician, "Causes of Residual Back Pain at
Early Stage After Percutaneous Vertebroplasty: A Retrospective Analysis of 1,316
Cases") through bayes_ubpr with the seeds of ``bayes-ubpr reproduce``, so the
numbers printed in the tutorial and these figures come from the same fits.

Run from the repository root (about a minute on two cores):

    .venv/bin/python docs/make_figures.py [--output-dir docs/figures] [--seed 2016]
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import bayes_ubpr as bu

DPI = 90
PATIENTS = pd.DataFrame(
    {
        "bmd_tscore_abs": [3.0, 3.6],
        "fascia_injury": [0, 1],
        "cement_distribution_poor": [0, 0],
        "n_fractures": [1, 3],
        "cement_volume_ml": [5.5, 4.0],
        "depression": [0, 0],
    },
    index=["typical patient", "high-risk example"],
)
"""The two patients of the tutorial's absolute-risk step."""


def save(path: Path, draw: Callable[[Axes], object], size: tuple[float, float]) -> None:
    """Draw on a fresh off-screen figure and save it as a small PNG."""
    figure = Figure(figsize=size, layout="constrained")
    draw(figure.subplots())
    figure.savefig(path, dpi=DPI)
    print(f"wrote {path}")


def intervals(ax: Axes, rows: np.ndarray, centre: object, lower: object, upper: object, **style: object) -> None:
    """Horizontal interval bars (log odds-ratio axis) with a marker at the centre."""
    centre, lower, upper = (np.asarray(v, dtype=float) for v in (centre, lower, upper))
    ax.errorbar(centre, rows, xerr=[centre - lower, upper - centre], markersize=3, **style)


def finish_or_axis(ax: Axes, rows: np.ndarray, labels: list[str], xlabel: str, ncol: int) -> None:
    """Log odds-ratio axis, a line at OR 1, factor labels and a legend below."""
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(rows, labels)
    ax.set_xlabel(xlabel)
    ax.legend(fontsize="x-small", loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=ncol)


def prior_intervals(ax: Axes) -> None:
    """95% prior intervals of each odds ratio under three independent presets, beside Table 5."""
    rows = np.arange(len(bu.SIX_FACTORS))[::-1]
    for k, preset in enumerate(("default", "sceptical", "paper")):
        table = bu.describe_priors(bu.SIX_FACTORS, preset).set_index("parameter").loc[list(bu.SIX_FACTORS)]
        centre = np.exp(table["mu"])
        label = f'priors="{preset}"'
        intervals(
            ax, rows + 0.2 - 0.13 * k, centre, table["or_lower"], table["or_upper"], fmt="o", color=f"C{k}", label=label
        )
    paper = bu.table5().set_index("factor").loc[list(bu.SIX_FACTORS)]
    label = "paper (Table 5), 95% CI"
    intervals(
        ax, rows - 0.22, paper["odds_ratio"], paper["ci_lower"], paper["ci_upper"], fmt="s", color="C3", label=label
    )
    ax.set_xlim(1e-3, 1e3)
    labels = [f"{bu.RISK_FACTORS[f].label}\n(per {bu.RISK_FACTORS[f].unit})" for f in bu.SIX_FACTORS]
    finish_or_axis(ax, rows, labels, "odds ratio: central 95% prior interval", ncol=2)


def risk_histograms(idata: object, ax: Axes) -> None:
    """Posterior draws of the absolute risk of the two example patients."""
    draws = bu.risk_draws(idata, PATIENTS).stack(sample=("chain", "draw"))
    bins = np.geomspace(1e-3, 1.0, 61)
    for k, patient in enumerate(PATIENTS.index):
        ax.hist(draws.sel(patient=patient).to_numpy(), bins=bins, alpha=0.6, color=f"C{k}", label=patient)
    ax.set_xscale("log")
    ax.set_xlabel("risk of UBPR in the population (posterior draws, log scale)")
    ax.set_ylabel("draws")
    ax.legend(fontsize="small")


def main(argv: Sequence[str] | None = None) -> int:
    """Fit the tutorial's models and save its figures; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).parent / "figures")
    parser.add_argument("--seed", type=int, default=2016, help="seed of `bayes-ubpr reproduce` (default 2016)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS", category=UserWarning)
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)

    cohort = bu.simulate_cohort(seed=args.seed)
    sample = bu.case_control_sample(cohort, seed=args.seed + 1)
    save(out / "tutorial_priors.png", prior_intervals, (7.5, 5.0))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bu.StatisticalWarning)  # the 60:60 design check warns, as it should
        fitted = bu.fit(sample, design="case_control", seed=args.seed)
    save(out / "tutorial_forest.png", lambda ax: bu.forest_plot(fitted, ax=ax), (7.5, 5.0))
    summary = bu.ppc_summary(fitted, seed=args.seed)
    save(out / "tutorial_ppc.png", lambda ax: bu.ppc_plot(summary, fitted, seed=args.seed, ax=ax), (6.0, 3.5))
    save(out / "tutorial_calibration.png", lambda ax: bu.calibration_plot(fitted, seed=args.seed, ax=ax), (5.0, 5.0))
    save(out / "tutorial_risk.png", lambda ax: risk_histograms(fitted, ax), (6.5, 3.5))

    spec = bu.ModelSpec(design="case_control")
    grid = bu.prior_sensitivity(sample, spec, seed=args.seed)
    save(out / "tutorial_prior_sensitivity.png", lambda ax: bu.prior_sensitivity_plot(grid, ax=ax), (8.5, 6.5))
    truth = cohort.attrs["truth"]["log_odds_ratios"]
    resampled = bu.control_resampling(cohort, spec, n_draws=10, controls_per_case=(1, 4), truth=truth, seed=1)
    save(out / "tutorial_control_resampling.png", lambda ax: bu.control_resampling_plot(resampled, ax=ax), (7.5, 4.5))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
