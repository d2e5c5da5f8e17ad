"""Draw the figures of docs/validation.md into docs/figures/ and print the numbers the page quotes.

The development data are the tutorial's: the simulated paper cohort (1,316
patients at 60/1316 = 4.6%, seed 2016, as `bayes-ubpr reproduce`) and its 60:60
case-control sample, fitted with the case-control correction. The validation
cohort is a second hospital of the same simulated world (the same control laws
and Table 5's odds ratios) at a prevalence of 15%: 1,316 patients, seed 2018.

Run from the repository root (about a minute on two cores):

    .venv/bin/python docs/make_validation_figures.py [--output-dir docs/figures] [--seed 2016]
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import bayes_ubpr as bu

DPI = 90
VALIDATION_PREVALENCE = 0.15


def save(path: Path, draw: Callable[[Axes], object], size: tuple[float, float]) -> None:
    """Draw on a fresh off-screen figure and save it as a small PNG."""
    figure = Figure(figsize=size, layout="constrained")
    draw(figure.subplots())
    figure.savefig(path, dpi=DPI)
    print(f"wrote {path}")


def show(title: str, result: bu.ValidationResult) -> None:
    """Print the metrics (and apparent ones) of one validation."""
    columns = ["metric", "estimate", "median", "lower", "upper"]
    table = result.performance[columns].set_index("metric")
    if result.apparent is not None:
        table = table.join(result.apparent[columns].set_index("metric").add_prefix("apparent_"))
    print(f"\n{title}\n{table.to_string(float_format=lambda v: f'{v:.3f}')}")


def main(argv: Sequence[str] | None = None) -> int:
    """Fit the tutorial's model, validate it and the published model; save the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).parent / "figures")
    parser.add_argument("--seed", type=int, default=2016, help="seed of `bayes-ubpr reproduce` (default 2016)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore", message="PyTensor could not link to a BLAS", category=UserWarning)
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)

    cohort = bu.simulate_cohort(seed=args.seed)
    sample = bu.case_control_sample(cohort, seed=args.seed + 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bu.StatisticalWarning)  # the 60:60 design check warns, as it should
        fitted = bu.fit(sample, design="case_control", seed=args.seed)
    other = bu.simulate_cohort(prevalence=VALIDATION_PREVALENCE, seed=args.seed + 2)
    print(f"validation cohort: {len(other)} patients, {int(other['ubpr'].sum())} events")

    told = bu.validate_model(fitted, other, prevalence=VALIDATION_PREVALENCE, seed=args.seed)
    untold = bu.validate_model(fitted, other, seed=args.seed)
    paper = bu.validate_model("paper", other, prevalence=VALIDATION_PREVALENCE, seed=args.seed)
    show(f"fit, told the new prevalence ({VALIDATION_PREVALENCE:.0%})", told)
    show("fit, left at the paper's 4.6%", untold)
    show(f"published model, intercept set to {VALIDATION_PREVALENCE:.0%}", paper)
    with pd.option_context("display.width", 200):
        every = told.decision[told.decision["threshold"].round(6).mul(100) % 5 == 0]
        print("\ndecision curve of the fit, told the prevalence\n", every.to_string(index=False))

    save(out / "validation_calibration.png", lambda ax: bu.validation_calibration_plot(told, ax=ax), (5.0, 5.0))
    untold_plot = lambda ax: bu.validation_calibration_plot(untold, ax=ax)  # noqa: E731
    save(out / "validation_calibration_untold.png", untold_plot, (5.0, 5.0))
    save(out / "validation_decision_curve.png", lambda ax: bu.decision_curve_plot(told, ax=ax), (7.0, 4.5))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
