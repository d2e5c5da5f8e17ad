"""Draw the selection figure of docs/validation.md and print the LOO and selection numbers the page quotes.

The data are the tutorial's: the simulated paper cohort (1,316 patients at
60/1316 = 4.6%, seed 2016, as `bayes-ubpr reproduce`) and its 60:60
case-control sample (seed 2017). Three fits of the sample are compared by
PSIS-LOO (Table 5's six factors; all fifteen of Table 4 with default priors;
all fifteen with the regularised horseshoe), and projection-predictive
selection is run over the fifteen with 5-fold cross-validation of the search.

Run from the repository root (a few minutes on two cores):

    .venv/bin/python docs/make_selection_figures.py [--output-dir docs/figures] [--seed 2016]
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

import bayes_ubpr as bu

DPI = 90


def main(argv: Sequence[str] | None = None) -> int:
    """Compare three fits of the paper's sample by LOO, select factors, save the figure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).parent / "figures")
    parser.add_argument("--seed", type=int, default=2016, help="seed of `bayes-ubpr reproduce` (default 2016)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS", category=UserWarning)
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)

    cohort = bu.simulate_cohort(seed=args.seed)
    sample = bu.case_control_sample(cohort, seed=args.seed + 1)
    fifteen = list(bu.RISK_FACTORS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bu.StatisticalWarning)  # the 60:60 design check warns, as it should
        fits = {
            "six (Table 5)": bu.fit(sample, design="case_control", seed=args.seed),
            "fifteen, default priors": bu.fit(sample, factors=fifteen, design="case_control", seed=args.seed),
            "fifteen, horseshoe": bu.fit(
                sample, factors=fifteen, priors="horseshoe", design="case_control", seed=args.seed
            ),
        }
        for name, idata in fits.items():
            print(f"\n{name}\n{bu.loo(idata)}")
        comparison = bu.compare_models(fits)
        with pd.option_context("display.width", 200):
            print("\n", comparison.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        result = bu.select_factors(sample, seed=args.seed)
    with pd.option_context("display.width", 200):
        print("\n", result)
        print("\n", result.reference.to_string(index=False))
        print("\n", result.path.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
        print("\n", result.fold_orders.pivot(index="step", columns="fold", values="factor").to_string())

    figure = Figure(figsize=(8.0, 4.8), layout="constrained")
    bu.selection_plot(result, ax=figure.subplots())
    figure.savefig(out / "selection.png", dpi=DPI)
    print(f"wrote {out / 'selection.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
